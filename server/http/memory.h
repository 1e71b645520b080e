/* memory.h - glibc malloc's settings for the daemon, and its memory gauges
 * for GET /metrics. */
#ifndef LKD_MEMORY_H
#define LKD_MEMORY_H

#include "budget.h"
#include "buffer.h"

/* Tunes glibc's malloc for a long-running daemon with many threads; call
 * first thing in main, before any thread starts. Measured with the soak
 * (tests/soak/soak.sh): with glibc's defaults, memory freed by requests of
 * a few hundred KiB stayed in per-thread arenas (mallinfo2 fordblks grew
 * from 2 to 60 MiB in two minutes, RSS with it). Settings from the
 * environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, GLIBC_TUNABLES)
 * win over these. */
void lkd_malloc_tune(void);

/* Appends the memory gauges of GET /metrics (Prometheus text): the
 * process's resident and peak memory, the buffer pool's blocks, malloc's
 * heap (mallinfo2) and the in-flight budget last shown. */
void lkd_memory_render(lkt_buf *out);

/* Makes b the budget /metrics shows (the HTTP layer's, once started). */
void lkd_memory_show_budget(lkd_budget *b);

#endif
