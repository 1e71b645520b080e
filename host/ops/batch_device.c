/* batch_device.c - one segment of packed jobs on the device: its program,
 * its pooled buffers, the transfers in (staged or mapped), the lk_batch_tiles
 * and lk_batch_finish launches (kernels/batch.cl), and the transfers out. */
#include "core/core.h"
#include "device/device.h"
#include "ops/batch.h"
#include "ops/ops.h"
#include "program/program.h"

/* GPU strategy: an element-wise tile is this many vectors per work-item, so
 * that reading the tile's record is amortized and a 4 Ki-element job still
 * fills one work-group of 256 float4 items. */
#define LK_BATCH_GPU_ROUNDS 4

/* Segments sending at most this many data bytes (x, or x and dy) stage
 * their data too (run_transfers): copied into the context's host memory and
 * sent with non-blocking writes, the outputs fetched with one blocking
 * read. Every blocking command costs a wait on the device's thread (context
 * switches on PoCL), and a small segment is mostly commands. Larger segments
 * map their data: one memcpy a job instead of two. Measured on PoCL, 2
 * cores, us a launch mapped / staged: 22 x 16-element forward jobs 148-151 /
 * 96-97; 22 x 16 prelu backward with dalpha 230 / 103; 64 x 1 Ki forward
 * 215 / 172; 32 x 4 Ki (512 KiB) 307-320 / 274-312; 64 x 4 Ki 439-473 /
 * 526-569; 128 x 4 Ki 839 / 862. */
#define LK_STAGE_MAX_BYTES ((size_t)512 << 10)

/* The buffers of one segment. */
typedef struct segment_mem {
  cl_mem x, dy, out, index, params, partials, finals;
} segment_mem;

/* Byte sizes of what a segment sends and fetches. */
typedef struct segment_bytes {
  size_t data, index, params, finals;
} segment_bytes;

static leakycl_status launch(leakycl_context *ctx, const segment *s, const segment_mem *m,
                             size_t tiles_at, size_t channels_at) {
  const bool gpu = ctx->variant.strategy == LEAKYCL_STRATEGY_GPU;
  lk_args a = {s->prog->kernels[LK_KERNEL_BATCH_TILES], 0, CL_SUCCESS};
  lk_arg_idx(&a, s->wide, s->ntiles);
  lk_arg_mem(&a, m->index);
  lk_arg_idx(&a, s->wide, tiles_at);
  lk_arg_idx(&a, s->wide, s->tile_elems);
  lk_arg_idx(&a, s->wide, s->block);
  lk_arg_mem(&a, m->params);
  lk_arg_mem(&a, m->x);
  lk_arg_mem(&a, m->dy ? m->dy : m->x); /* never read by forward jobs */
  lk_arg_mem(&a, m->out);
  lk_arg_mem(&a, m->partials ? m->partials : m->out); /* never written without reductions */
  lk_arg(&a, (gpu ? 5 * s->wg : 1) * sizeof(float), NULL);
  /* CPU: a work-item per tile; GPU: a work-group per tile. */
  const size_t global = gpu ? s->ntiles * s->wg : lk_round_up(s->ntiles, s->wg);
  leakycl_status st = lk_enqueue_args(ctx, &a, global, s->wg, "lk_batch_tiles");
  if (st != LEAKYCL_OK || s->nchannels == 0)
    return st;
  lk_args f = {s->prog->kernels[LK_KERNEL_BATCH_FINISH], 0, CL_SUCCESS};
  lk_arg_idx(&f, s->wide, s->nchannels);
  lk_arg_mem(&f, m->index);
  lk_arg_idx(&f, s->wide, channels_at);
  lk_arg_mem(&f, m->partials);
  lk_arg_mem(&f, m->finals);
  return lk_enqueue_args(ctx, &f, lk_round_up(s->nchannels, s->finish_wg), s->finish_wg,
                         "lk_batch_finish");
}

/* ---- transfers ---- */

/* Where a segment's transfers sit in the context's host staging memory,
 * each on its own cache lines: the tables and the gradient rows always, x,
 * dy and out when the data is staged too. */
typedef struct stage_layout {
  size_t index, params, finals, x, dy, out, total;
} stage_layout;

static size_t cache_lines(size_t bytes) { return lk_round_up(bytes, 64); }

static stage_layout stage_layout_of(const segment *s, const segment_bytes *b, bool staged) {
  stage_layout l = {0};
  l.params = l.index + cache_lines(b->index);
  l.finals = l.params + cache_lines(b->params);
  l.x = l.finals + cache_lines(b->finals);
  l.dy = l.x + (staged ? cache_lines(b->data) : 0);
  l.out = l.dy + (staged && s->any_backward ? cache_lines(b->data) : 0);
  l.total = l.out + (staged ? b->data : 0);
  return l;
}

/* Enqueues a non-blocking write of `bytes` from the staging memory (none
 * for 0 bytes: OpenCL refuses an empty write). */
static cl_int send(leakycl_context *ctx, cl_mem mem, size_t bytes, const unsigned char *from) {
  if (bytes == 0)
    return CL_SUCCESS;
  return clEnqueueWriteBuffer(ctx->queue, mem, CL_FALSE, 0, bytes, from, 0, NULL, NULL);
}

/* Maps `bytes` of a pooled buffer for the host (blocking). */
static leakycl_status map(leakycl_context *ctx, cl_mem mem, cl_map_flags flags, size_t bytes,
                          void **out) {
  cl_int rc;
  *out = clEnqueueMapBuffer(ctx->queue, mem, CL_TRUE, flags, 0, bytes, 0, NULL, NULL, &rc);
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "clEnqueueMapBuffer");
}

static leakycl_status unmap(leakycl_context *ctx, cl_mem mem, void *p) {
  cl_int rc = clEnqueueUnmapMemObject(ctx->queue, mem, p, 0, NULL, NULL);
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "clEnqueueUnmapMemObject");
}

/* Large data: each item's x (or dy) copied into its place through one map
 * of the buffer. Measured on PoCL (1000 x 4 Ki forward jobs, medians of 7):
 * 3.8-4.4 us a job this way, 6.1-8.2 us with one non-blocking
 * clEnqueueWriteBuffer per job instead (every command costs microseconds). */
static leakycl_status upload_mapped(leakycl_context *ctx, const segment *s,
                                    leakycl_job *const *jobs, cl_mem mem, lk_copy_dir dir,
                                    size_t bytes) {
  void *p;
  leakycl_status st = map(ctx, mem, CL_MAP_WRITE_INVALIDATE_REGION, bytes, &p);
  if (st != LEAKYCL_OK)
    return st;
  lk_batch_copy(s, jobs, p, dir);
  return unmap(ctx, mem, p);
}

/* Small data: into the staging memory, then one non-blocking write. */
static leakycl_status upload_staged(leakycl_context *ctx, const segment *s,
                                    leakycl_job *const *jobs, cl_mem mem, lk_copy_dir dir,
                                    size_t bytes, unsigned char *at) {
  lk_batch_copy(s, jobs, at, dir);
  const cl_int rc = send(ctx, mem, bytes, at);
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "clEnqueueWriteBuffer");
}

/* y and dx back to the jobs, after the blocking read or map that finds
 * every earlier command done (the queue is in order, context.c). */
static leakycl_status download(leakycl_context *ctx, const segment *s, leakycl_job *const *jobs,
                               cl_mem out, size_t bytes, unsigned char *staged_at) {
  if (staged_at) {
    const cl_int rc =
        clEnqueueReadBuffer(ctx->queue, out, CL_TRUE, 0, bytes, staged_at, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      return lk_fail_cl(&ctx->error, rc, "clEnqueueReadBuffer");
    lk_batch_copy(s, jobs, staged_at, LK_COPY_OUT);
    return LEAKYCL_OK;
  }
  void *p;
  const leakycl_status st = map(ctx, out, CL_MAP_READ, bytes, &p);
  if (st != LEAKYCL_OK)
    return st;
  lk_batch_copy(s, jobs, p, LK_COPY_OUT);
  return unmap(ctx, out, p);
}

/* Each reduced item's gradients from its rows of finals. */
static void write_grads(const segment *s, leakycl_job *const *jobs, const float *finals) {
  for (size_t k = 0; k < s->count; k++) {
    const batch_item *it = &s->items[k];
    if (it->reduce)
      lk_write_grads(&it->r, finals + 4 * it->channel_first, it->r.n / it->r.channels,
                     jobs[it->job]->grads);
  }
}

/* The tables go from the staging memory with non-blocking writes and the
 * gradient rows come back into it with a non-blocking read, whatever the
 * size; the data is staged too when small (one wait on the device in all),
 * else copied through maps (one memcpy a job instead of two). The jobs'
 * outputs are written only once everything has come back. */
static leakycl_status run_transfers(leakycl_context *ctx, const segment *s,
                                    leakycl_job *const *jobs, const segment_mem *m,
                                    const segment_bytes *b, bool staged) {
  const stage_layout l = stage_layout_of(s, b, staged);
  void *stage_p;
  leakycl_status st = lk_pool_host(ctx, l.total, &stage_p);
  if (st != LEAKYCL_OK)
    return st;
  unsigned char *stage = stage_p;
  size_t tiles_at = 0, channels_at = 0;
  lk_batch_fill_index(s, stage + l.index, &tiles_at, &channels_at);
  lk_batch_fill_params(s, (float *)(stage + l.params));
  cl_int rc = send(ctx, m->index, b->index, stage + l.index);
  if (rc == CL_SUCCESS)
    rc = send(ctx, m->params, b->params, stage + l.params);
  if (rc != CL_SUCCESS)
    return lk_fail_cl(&ctx->error, rc, "clEnqueueWriteBuffer");
  st = staged ? upload_staged(ctx, s, jobs, m->x, LK_COPY_X_IN, b->data, stage + l.x)
              : upload_mapped(ctx, s, jobs, m->x, LK_COPY_X_IN, b->data);
  if (st == LEAKYCL_OK && s->any_backward)
    st = staged ? upload_staged(ctx, s, jobs, m->dy, LK_COPY_DY_IN, b->data, stage + l.dy)
                : upload_mapped(ctx, s, jobs, m->dy, LK_COPY_DY_IN, b->data);
  if (st == LEAKYCL_OK)
    st = launch(ctx, s, m, tiles_at, channels_at);
  if (st == LEAKYCL_OK && s->nchannels > 0) {
    rc = clEnqueueReadBuffer(ctx->queue, m->finals, CL_FALSE, 0, b->finals, stage + l.finals, 0,
                             NULL, NULL);
    if (rc != CL_SUCCESS)
      st = lk_fail_cl(&ctx->error, rc, "clEnqueueReadBuffer(dalpha)");
  }
  if (st == LEAKYCL_OK)
    st = download(ctx, s, jobs, m->out, b->data, staged ? stage + l.out : NULL);
  if (st == LEAKYCL_OK)
    write_grads(s, jobs, (const float *)(stage + l.finals));
  return st;
}

/* ---- the segment ---- */

/* The segment's pooled buffers (dy, partials and finals only when used). */
static leakycl_status get_buffers(leakycl_context *ctx, const segment *s, const segment_bytes *b,
                                  segment_mem *m) {
  leakycl_status st = lk_pool_get(ctx, LK_POOL_IN, b->data, &m->x);
  if (st == LEAKYCL_OK && s->any_backward)
    st = lk_pool_get(ctx, LK_POOL_DY, b->data, &m->dy);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_OUT, b->data, &m->out);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_BATCH_INDEX, b->index, &m->index);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_BATCH_PARAMS, b->params, &m->params);
  if (st == LEAKYCL_OK && s->nchannels > 0)
    st = lk_pool_get(ctx, LK_POOL_PARTIALS, 3 * s->nblocks * sizeof(float), &m->partials);
  if (st == LEAKYCL_OK && s->nchannels > 0)
    st = lk_pool_get(ctx, LK_POOL_FINALS, b->finals, &m->finals);
  return st;
}

leakycl_status lk_batch_run_segment(leakycl_context *ctx, segment *s, leakycl_job *const *jobs) {
  const leakycl_variant *v = &ctx->variant;
  /* s->elems is known already: launch.c's rule on the packed range. */
  s->wide = lk_needs_wide_index(ctx, s->elems);
  const lk_program_key key = {.family = LK_FAMILY_BATCH,
                              .vector_width = v->vector_width,
                              .wide_index = s->wide,
                              .dtype = s->dtype,
                              .conventions = s->conventions};
  leakycl_status st = lk_program_get(ctx, &key, &s->prog);
  if (st != LEAKYCL_OK)
    return st;
  s->wg = lk_kernel_wg(ctx, s->prog, LK_KERNEL_BATCH_TILES);
  s->finish_wg = lk_kernel_wg(ctx, s->prog, LK_KERNEL_BATCH_FINISH);
  s->tile_elems = v->strategy == LEAKYCL_STRATEGY_GPU
                      ? s->wg * v->vector_width * LK_BATCH_GPU_ROUNDS
                      : v->vectors_per_item * v->vector_width;
  lk_batch_layout(s);

  const segment_bytes b = {.data = s->elems * s->elem_size,
                           .index = lk_batch_index_len(s) *
                                    (s->wide ? sizeof(cl_ulong) : sizeof(cl_uint)),
                           .params = 2 * s->nparams * sizeof(float),
                           .finals = 4 * s->nchannels * sizeof(float)};
  segment_mem m = {0};
  st = get_buffers(ctx, s, &b, &m);
  if (st == LEAKYCL_OK) {
    const size_t sent = b.data * (s->any_backward ? 2 : 1);
    const bool staged = sent <= LK_STAGE_MAX_BYTES && !ctx->test.force_mapped;
    if (staged)
      ctx->test.staged_segments++;
    else
      ctx->test.mapped_segments++;
    st = run_transfers(ctx, s, jobs, &m, &b, staged);
  }
  if (st != LEAKYCL_OK)
    clFinish(ctx->queue); /* leave nothing in flight on the pooled buffers */
  return st;
}
