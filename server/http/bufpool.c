/* bufpool.c - big buffers kept for reuse: a registry of mmap'd blocks
 * (in use or idle), best fit on allocation, idle blocks kept up to a byte
 * limit and unmapped when idle too long. Blocks start on a 2 MiB boundary
 * and are marked for transparent huge pages, so that even a first touch
 * faults once per 2 MiB. */
#include "bufpool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "buffer.h"

#define LKD_BUFPOOL_ALIGN ((size_t)2 << 20)
/* Blocks known at once; past that, big sizes fall back to malloc. */
#define LKD_BUFPOOL_SLOTS 64

typedef struct lkd_block {
  char *data; /* LKD_BUFPOOL_ALIGN-aligned; the mapping */
  size_t cap; /* mapped bytes, a multiple of LKD_BUFPOOL_ALIGN */
  int in_use;
  int64_t idle_since; /* CLOCK_MONOTONIC ns of its release, when idle */
} lkd_block;

static struct {
  pthread_mutex_t lock;
  lkd_block blocks[LKD_BUFPOOL_SLOTS];
  size_t count;
  size_t idle_bytes; /* sum of cap over idle blocks */
  size_t keep_bytes; /* the most idle_bytes may be */
} lkd_pool = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, 0, (size_t)512 << 20};

/* A fresh mapping of cap bytes starting on a LKD_BUFPOOL_ALIGN boundary. */
static char *lkd_map_aligned(size_t cap) {
  const size_t len = cap + LKD_BUFPOOL_ALIGN;
  char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  const uintptr_t start =
      ((uintptr_t)raw + LKD_BUFPOOL_ALIGN - 1) & ~(uintptr_t)(LKD_BUFPOOL_ALIGN - 1);
  char *data = (char *)start;
  const size_t head = (size_t)(data - raw);
  if (head)
    munmap(raw, head);
  munmap(data + cap, len - head - cap);
#ifdef MADV_HUGEPAGE
  madvise(data, cap, MADV_HUGEPAGE); /* advice only: fine when refused */
#endif
  return data;
}

void *lkd_bufpool_alloc(size_t size, size_t *cap) {
  if (size < LKD_BUFPOOL_MIN || size > SIZE_MAX - 2 * LKD_BUFPOOL_ALIGN) {
    if (cap)
      *cap = size;
    return malloc(size ? size : 1);
  }
  pthread_mutex_lock(&lkd_pool.lock);
  lkd_block *best = NULL;
  for (size_t i = 0; i < lkd_pool.count; i++) {
    lkd_block *b = &lkd_pool.blocks[i];
    if (!b->in_use && b->cap >= size && (!best || b->cap < best->cap))
      best = b;
  }
  if (best) {
    best->in_use = 1;
    lkd_pool.idle_bytes -= best->cap;
    pthread_mutex_unlock(&lkd_pool.lock);
    if (cap)
      *cap = best->cap;
    return best->data;
  }
  pthread_mutex_unlock(&lkd_pool.lock);

  const size_t rounded = (size + LKD_BUFPOOL_ALIGN - 1) & ~(LKD_BUFPOOL_ALIGN - 1);
  char *data = lkd_map_aligned(rounded);
  if (!data)
    return NULL;
  pthread_mutex_lock(&lkd_pool.lock);
  const int registered = lkd_pool.count < LKD_BUFPOOL_SLOTS;
  if (registered)
    lkd_pool.blocks[lkd_pool.count++] = (lkd_block){data, rounded, 1, 0};
  pthread_mutex_unlock(&lkd_pool.lock);
  if (!registered) { /* the registry is full: an unpooled buffer instead */
    munmap(data, rounded);
    if (cap)
      *cap = size;
    return malloc(size);
  }
  if (cap)
    *cap = rounded;
  return data;
}

/* Takes block i out of the registry into the unmap list (lock held). */
static void lkd_forget_locked(size_t i, char **unmap, size_t *unmap_len, size_t *n) {
  unmap[*n] = lkd_pool.blocks[i].data;
  unmap_len[(*n)++] = lkd_pool.blocks[i].cap;
  lkd_pool.idle_bytes -= lkd_pool.blocks[i].cap;
  lkd_pool.blocks[i] = lkd_pool.blocks[--lkd_pool.count];
}

/* Unmaps idle blocks, largest first, until idle_bytes <= keep_bytes. Called
 * with the lock held; the blocks' memory is unmapped after it is let go. */
static void lkd_trim_locked(char **unmap, size_t *unmap_len, size_t *n, size_t max) {
  while (lkd_pool.idle_bytes > lkd_pool.keep_bytes && *n < max) {
    size_t worst = lkd_pool.count;
    for (size_t i = 0; i < lkd_pool.count; i++)
      if (!lkd_pool.blocks[i].in_use &&
          (worst == lkd_pool.count || lkd_pool.blocks[i].cap > lkd_pool.blocks[worst].cap))
        worst = i;
    if (worst == lkd_pool.count)
      return;
    lkd_forget_locked(worst, unmap, unmap_len, n);
  }
}

static int64_t lkd_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void lkd_unmap_all(char **unmap, const size_t *unmap_len, size_t n) {
  for (size_t i = 0; i < n; i++)
    munmap(unmap[i], unmap_len[i]);
}

void lkd_bufpool_release(void *p) {
  if (!p)
    return;
  /* Blocks are aligned; malloc'd memory almost never is: skip the lock. */
  if ((uintptr_t)p % LKD_BUFPOOL_ALIGN != 0) {
    free(p);
    return;
  }
  char *unmap[LKD_BUFPOOL_SLOTS];
  size_t unmap_len[LKD_BUFPOOL_SLOTS], n = 0;
  int found = 0;
  pthread_mutex_lock(&lkd_pool.lock);
  for (size_t i = 0; i < lkd_pool.count; i++) {
    lkd_block *b = &lkd_pool.blocks[i];
    if (b->data == p && b->in_use) {
      b->in_use = 0;
      b->idle_since = lkd_now_ns();
      lkd_pool.idle_bytes += b->cap;
      found = 1;
      break;
    }
  }
  if (found)
    lkd_trim_locked(unmap, unmap_len, &n, LKD_BUFPOOL_SLOTS);
  pthread_mutex_unlock(&lkd_pool.lock);
  if (!found)
    free(p);
  lkd_unmap_all(unmap, unmap_len, n);
}

void lkd_bufpool_set_limit(size_t keep_bytes) {
  char *unmap[LKD_BUFPOOL_SLOTS];
  size_t unmap_len[LKD_BUFPOOL_SLOTS], n = 0;
  pthread_mutex_lock(&lkd_pool.lock);
  lkd_pool.keep_bytes = keep_bytes;
  lkd_trim_locked(unmap, unmap_len, &n, LKD_BUFPOOL_SLOTS);
  pthread_mutex_unlock(&lkd_pool.lock);
  lkd_unmap_all(unmap, unmap_len, n);
}

size_t lkd_bufpool_decay(int64_t now_ns, int64_t max_idle_ns) {
  char *unmap[LKD_BUFPOOL_SLOTS];
  size_t unmap_len[LKD_BUFPOOL_SLOTS], n = 0, bytes = 0;
  pthread_mutex_lock(&lkd_pool.lock);
  for (size_t i = lkd_pool.count; i-- > 0;)
    if (!lkd_pool.blocks[i].in_use && now_ns - lkd_pool.blocks[i].idle_since >= max_idle_ns) {
      bytes += lkd_pool.blocks[i].cap;
      lkd_forget_locked(i, unmap, unmap_len, &n);
    }
  pthread_mutex_unlock(&lkd_pool.lock);
  lkd_unmap_all(unmap, unmap_len, n);
  return bytes;
}

void lkd_bufpool_stats(size_t *blocks, size_t *in_use_bytes, size_t *idle_bytes) {
  size_t mapped = 0;
  pthread_mutex_lock(&lkd_pool.lock);
  for (size_t i = 0; i < lkd_pool.count; i++)
    mapped += lkd_pool.blocks[i].cap;
  *blocks = lkd_pool.count;
  *idle_bytes = lkd_pool.idle_bytes;
  *in_use_bytes = mapped - lkd_pool.idle_bytes;
  pthread_mutex_unlock(&lkd_pool.lock);
}

int lkd_bufpool_regrow(char **p, size_t len, size_t size, size_t *cap) {
  size_t got = 0;
  char *grown = lkt_mem_alloc(size, &got);
  if (!grown)
    return -1;
  if (len)
    memcpy(grown, *p, len);
  lkt_mem_release(*p);
  *p = grown;
  *cap = got;
  return 0;
}

void lkd_bufpool_install(void) {
  static const lkt_memory_hooks hooks = {lkd_bufpool_alloc, lkd_bufpool_release};
  lkt_set_memory_hooks(&hooks);
}
