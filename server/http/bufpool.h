/* bufpool.h - the daemon's big buffers (request bodies, decoded tensors,
 * responses of a MiB and more), kept for reuse across requests. A fresh
 * 64-90 MB buffer costs tens of milliseconds of page faults on first touch;
 * a reused one costs nothing. Sizes under LKD_BUFPOOL_MIN go to malloc. */
#ifndef LEAKYCLD_BUFPOOL_H
#define LEAKYCLD_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Smallest size served from the pool; smaller ones are plain malloc. */
#define LKD_BUFPOOL_MIN ((size_t)1 << 20)

/* At least size bytes (*cap, when not NULL, gets the usable size), or NULL
 * when out of memory. Thread-safe. */
void *lkd_bufpool_alloc(size_t size, size_t *cap);

/* Gives back memory from lkd_bufpool_alloc, or from malloc (then it is
 * free()d): the pool recognises its own blocks, so that memory allocated
 * before the pool was installed as the codec's hooks is still released
 * right. Blocks are kept for reuse while the pool holds at most
 * keep_bytes (lkd_bufpool_set_limit); beyond that they are unmapped.
 * NULL is ignored. */
void lkd_bufpool_release(void *p);

/* Sets how many bytes of idle blocks the pool may keep (default 512 MiB)
 * and unmaps idle blocks over it; 0 keeps nothing. */
void lkd_bufpool_set_limit(size_t keep_bytes);

/* Unmaps the blocks idle for max_idle_ns or longer at now_ns (both
 * CLOCK_MONOTONIC): a burst's memory goes back to the system once it is
 * over. Returns the bytes unmapped. */
size_t lkd_bufpool_decay(int64_t now_ns, int64_t max_idle_ns);

/* The pool's blocks and mapped bytes now, in use and idle (for /metrics). */
void lkd_bufpool_stats(size_t *blocks, size_t *in_use_bytes, size_t *idle_bytes);

/* Moves the first len bytes of *p (from lkt_mem_alloc, or NULL) into a
 * new buffer of at least size bytes from lkt_mem_alloc (*cap gets its
 * usable size) and releases the old one. 0, or -1 when out of memory, *p
 * then unchanged. */
int lkd_bufpool_regrow(char **p, size_t len, size_t size, size_t *cap);

/* Installs the pool as the codec's memory hooks (lkt_set_memory_hooks). */
void lkd_bufpool_install(void);

#endif
