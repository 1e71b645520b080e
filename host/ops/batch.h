/* batch.h - what the files of leakycl_run_jobs share: a packed job (an
 * item), one launch's worth of them (a segment) and its buffers. batch.c
 * validates and groups the jobs, batch_device.c runs one segment, and
 * batch_tables.c and batch_copy.c fill what it sends. */
#ifndef LEAKYCL_BATCH_H
#define LEAKYCL_BATCH_H

#include <stdbool.h>

#include "core/core.h"
#include "leakycl.h"
#include "program/program.h"

/* Every job starts at a multiple of 16 elements (64 bytes, a cache line, for
 * float32) in the pooled buffers, so that vector loads are aligned for every
 * width. */
#define LK_BATCH_ALIGN 16

/* A valid, non-empty job and where it sits in its segment. */
typedef struct batch_item {
  size_t job; /* index into the caller's job list */
  lk_resolved r;
  bool backward, reduce;
  size_t base;          /* first element in the pooled x, dy and out */
  size_t param;         /* first (alpha, threshold) pair */
  size_t blocks;        /* reduction blocks per channel */
  size_t partial;       /* first partial block */
  size_t channel_first; /* first row of finals */
} batch_item;

/* One launch's worth of items (all of one dtype and conventions profile)
 * and the sizes of its tables; elems counts elements of that dtype. */
typedef struct segment {
  batch_item *items;
  size_t count;
  leakycl_dtype dtype;
  leakycl_conventions conventions;
  size_t elem_size;
  size_t elems, nparams, ntiles, nblocks, nchannels;
  size_t tile_elems, block;
  bool any_backward, wide;
  size_t wg, finish_wg;
  lk_program *prog;
} segment;

/* ---- the tables (batch_tables.c) ---- */
/* Places the items of a segment: offsets, table sizes, tile counts. */
void lk_batch_layout(segment *s);
/* Entries of the segment's index table (uint or ulong each). */
size_t lk_batch_index_len(const segment *s);
/* Writes the index table: the job records, the tiles, then the channel rows
 * of lk_batch_finish; says where the tiles and the channel rows begin. */
void lk_batch_fill_index(const segment *s, void *table, size_t *tiles_at, size_t *channels_at);
/* Writes the (alpha, threshold) pairs, 2 * s->nparams floats. */
void lk_batch_fill_params(const segment *s, float *pairs);

/* ---- copies between the jobs' arrays and packed memory (batch_copy.c) ---- */
typedef enum lk_copy_dir { LK_COPY_X_IN, LK_COPY_DY_IN, LK_COPY_OUT } lk_copy_dir;
/* Copies every item's x or dy into packed memory, or its output out of it;
 * large segments are split over a few threads. */
void lk_batch_copy(const segment *s, leakycl_job *const *jobs, void *packed, lk_copy_dir dir);

/* ---- one segment on the device (batch_device.c) ---- */
/* Builds (or finds) the segment's program, lays it out, runs it and writes
 * every item's outputs; on failure no output has been written and nothing
 * is left in flight. The context is locked. */
leakycl_status lk_batch_run_segment(leakycl_context *ctx, segment *s, leakycl_job *const *jobs);

#endif /* LEAKYCL_BATCH_H */
