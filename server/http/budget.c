/* budget.c - the in-flight byte budget: a lock-free counter of body and
 * answer bytes held, its default from the machine's (or cgroup's) memory,
 * and giving memory back to the system after bursts. */
#include "budget.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bufpool.h"

/* Pool blocks idle this long are unmapped: long enough that a steady
 * stream of big requests keeps reusing them (page faults on a fresh 64 MiB
 * buffer cost tens of milliseconds), short enough that a burst's memory
 * goes back within seconds. */
#define LKD_POOL_IDLE_NS ((int64_t)5 * 1000000000)
/* A burst worth trimming malloc's arenas after (malloc_trim walks them
 * all: milliseconds, so not after every small request). */
#define LKD_TRIM_AFTER ((size_t)16 << 20)

/* The limit in a cgroup v2 (or v1) memory file, or SIZE_MAX. */
static size_t lkd_cgroup_file_limit(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return SIZE_MAX;
  char line[64] = "";
  size_t limit = SIZE_MAX;
  if (fgets(line, sizeof line, f)) {
    char *end = NULL;
    unsigned long long v = strtoull(line, &end, 10);
    if (end != line && (*end == '\n' || *end == '\0') && v > 0 && v < SIZE_MAX)
      limit = (size_t)v; /* "max" (v2) does not parse: no limit */
  }
  fclose(f);
  return limit;
}

/* The memory limit of this process's cgroup: in a container the cgroup
 * namespace makes it the root's; elsewhere /proc/self/cgroup names it. */
static size_t lkd_cgroup_limit(void) {
  size_t limit = lkd_cgroup_file_limit("/sys/fs/cgroup/memory.max");
  size_t v1 = lkd_cgroup_file_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (v1 < limit)
    limit = v1;
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (!f)
    return limit;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::/", 4) != 0)
      continue;
    line[strcspn(line, "\n")] = '\0';
    char path[600];
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
    size_t own = lkd_cgroup_file_limit(path);
    if (own < limit)
      limit = own;
  }
  fclose(f);
  return limit;
}

size_t lkd_budget_default(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t memory = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)4 << 30;
  size_t cgroup = lkd_cgroup_limit();
  if (cgroup < memory)
    memory = cgroup;
  return memory / 4;
}

void lkd_budget_init(lkd_budget *b, size_t limit) {
  atomic_init(&b->used, 0);
  atomic_init(&b->peak, 0);
  b->limit = limit;
}

static void lkd_budget_note_peak(lkd_budget *b, size_t used) {
  size_t peak = atomic_load(&b->peak);
  while (used > peak && !atomic_compare_exchange_weak(&b->peak, &peak, used))
    ;
}

int lkd_budget_take(lkd_budget *b, size_t own, size_t n) {
  size_t cur = atomic_load(&b->used);
  for (;;) {
    if (cur != own && (n > b->limit || cur > b->limit - n))
      return -1;
    if (atomic_compare_exchange_weak(&b->used, &cur, cur + n)) {
      lkd_budget_note_peak(b, cur + n);
      return 0;
    }
  }
}

void lkd_budget_charge(lkd_budget *b, size_t n) {
  lkd_budget_note_peak(b, atomic_fetch_add(&b->used, n) + n);
}

void lkd_budget_give(lkd_budget *b, size_t n) { atomic_fetch_sub(&b->used, n); }

size_t lkd_budget_used(lkd_budget *b) { return atomic_load(&b->used); }

void lkd_budget_housekeep(lkd_budget *b) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  size_t unmapped =
      lkd_bufpool_decay((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, LKD_POOL_IDLE_NS);
  /* malloc's arenas (bodies under a MiB, JSON trees, blocks the pool could
   * not register) keep freed memory until trimmed: trim when a burst is
   * over (much was held since the last call, a quarter of it or less now)
   * or the pool just gave a burst's blocks back; never in steady load. */
  size_t used = atomic_load(&b->used);
  size_t peak = atomic_exchange(&b->peak, used);
  if (unmapped > 0 || (peak >= LKD_TRIM_AFTER && used <= peak / 4))
    malloc_trim(0);
}
