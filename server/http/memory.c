/* memory.c - the daemon's memory, seen and tuned: glibc malloc's settings
 * for a long-running, many-threaded process, and the memory gauges of
 * GET /metrics (resident and peak memory, the buffer pool, malloc's heap,
 * the in-flight budget). */
#include "memory.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufpool.h"

/* Arenas malloc may create: one a thread (up to 8 a core) keeps each
 * thread's freed memory apart, so fragmentation grows with the threads. */
#define LKD_ARENA_MAX 2
/* Allocations this big or bigger get a mapping of their own, unmapped on
 * free. glibc's threshold starts at 128 KiB but rises (to 32 MiB) each time
 * a bigger mapped chunk is freed; after that, bodies and answers of a few
 * hundred KiB come from the arenas and leave holes there. A fixed value
 * keeps it (and the trim threshold) where it is. The pool serves 1 MiB and
 * more. */
#define LKD_MMAP_THRESHOLD ((int)256 << 10)

void lkd_malloc_tune(void) {
  const char *tunables = getenv("GLIBC_TUNABLES");
  int tuned = tunables && strstr(tunables, "glibc.malloc.") != NULL;
  if (!tuned && !getenv("MALLOC_ARENA_MAX"))
    mallopt(M_ARENA_MAX, LKD_ARENA_MAX);
  if (!tuned && !getenv("MALLOC_MMAP_THRESHOLD_"))
    mallopt(M_MMAP_THRESHOLD, LKD_MMAP_THRESHOLD);
}

/* VmRSS and VmHWM of /proc/self/status, in bytes (0 when unknown). */
static void lkd_proc_memory(size_t *rss, size_t *hwm) {
  *rss = *hwm = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return;
  char line[128];
  unsigned long long kb;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
      *rss = (size_t)kb * 1024;
    else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
      *hwm = (size_t)kb * 1024;
  }
  fclose(f);
}

static void lkd_gauge(lkt_buf *out, const char *name, const char *help, const char *labels,
                      size_t v) {
  char line[512];
  int n =
      help ? snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name) : 0;
  if (n > 0)
    lkt_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  n = snprintf(line, sizeof line, "%s%s %zu\n", name, labels, v);
  if (n > 0)
    lkt_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The daemon's budget, shown by /metrics (one daemon a process). */
static lkd_budget *_Atomic lkd_budget_shown;

void lkd_memory_show_budget(lkd_budget *b) { atomic_store(&lkd_budget_shown, b); }

void lkd_memory_render(lkt_buf *out) {
  lkd_budget *b = atomic_load(&lkd_budget_shown);
  size_t rss, hwm, blocks, in_use, idle;
  lkd_proc_memory(&rss, &hwm);
  lkd_bufpool_stats(&blocks, &in_use, &idle);
  lkd_gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "", rss);
  lkd_gauge(out, "leakycld_resident_memory_peak_bytes", "The most resident memory so far (VmHWM).",
            "", hwm);
  lkd_gauge(out, "leakycld_pool_bytes", "Bytes mapped by the buffer pool, by state.",
            "{state=\"in_use\"}", in_use);
  lkd_gauge(out, "leakycld_pool_bytes", NULL, "{state=\"idle\"}", idle);
  lkd_gauge(out, "leakycld_pool_blocks", "Blocks the buffer pool holds.", "", blocks);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  lkd_gauge(out, "leakycld_malloc_bytes",
            "malloc's memory (mallinfo2): in use, free in its arenas, mmapped chunks.",
            "{state=\"in_use\"}", mi.uordblks);
  lkd_gauge(out, "leakycld_malloc_bytes", NULL, "{state=\"free\"}", mi.fordblks);
  lkd_gauge(out, "leakycld_malloc_bytes", NULL, "{state=\"mmapped\"}", mi.hblkhd);
#endif
  if (b) {
    lkd_gauge(out, "leakycld_inflight_bytes",
              "Request and answer bytes reserved now under --max-inflight-bytes.", "",
              lkd_budget_used(b));
    lkd_gauge(out, "leakycld_inflight_limit_bytes", "The in-flight byte budget.", "", b->limit);
  }
}
