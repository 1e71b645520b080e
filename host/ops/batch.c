/* batch.c - leakycl_run_jobs: many small jobs in one launch. Each job is
 * validated as its single call would be (lk_check_host_call); a valid job
 * over LEAKYCL_PACKED_JOB_MAX_ELEMENTS runs as that single call (decided
 * here, once, for every caller), and the rest are packed into segments of
 * one storage type that fit one device buffer (normally one segment per
 * dtype). Per segment, the jobs' inputs are copied into pooled buffers
 * through one map each, a table of tiles tells lk_batch_tiles
 * (kernels/batch.cl, built for the segment's dtype) which job and range each
 * tile holds, one lk_batch_finish launch sums the gradient partials per
 * (job, channel), and the outputs come back through one map. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/ops.h"
#include "program/program.h"

/* Every job starts at a multiple of 16 elements (64 bytes, a cache line, for
 * float32) in the pooled buffers, so that vector loads are aligned for every
 * width. */
#define LK_BATCH_ALIGN 16
/* GPU strategy: an element-wise tile is this many vectors per work-item, so
 * that reading the tile's record is amortized and a 4 Ki-element job still
 * fills one work-group of 256 float4 items. */
#define LK_BATCH_GPU_ROUNDS 4

/* The job record of kernels/batch.cl, field by field (keep in step). */
enum {
  JOB_FLAGS,
  JOB_N,
  JOB_BASE,
  JOB_INNER,
  JOB_CHANNELS,
  JOB_PARAM,
  JOB_PER_CHANNEL,
  JOB_BLOCKS,
  JOB_PARTIAL,
  JOB_FIELDS
};
enum { FLAG_BACKWARD = 4, FLAG_PER_CHANNEL_ALPHA = 8, FLAG_REDUCE = 16 };

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

/* ---- validation ---- */

/* A job's message: the context's detail, cut to the job's field. */
static void set_job_error(leakycl_job *job, const char *detail) {
  const size_t len = strnlen(detail, sizeof job->error - 1);
  memcpy(job->error, detail, len);
  job->error[len] = '\0';
}

/* The single call a job stands for. */
static lk_host_call host_call_of(const leakycl_job *job) {
  const lk_host_call call = {job->op == LEAKYCL_OP_FORWARD ? LK_CALL_FORWARD : LK_CALL_BACKWARD,
                             &job->params,
                             job->view,
                             job->source,
                             job->x,
                             job->dy,
                             job->out,
                             job->grads,
                             job->dtype,
                             job->mask};
  return call;
}

/* Checks job j as its single call would and records the outcome in it. */
static leakycl_status check_job(leakycl_context *ctx, leakycl_job *job, lk_resolved *r) {
  ctx->error.text[0] = '\0';
  leakycl_status st;
  if (job->op != LEAKYCL_OP_FORWARD && job->op != LEAKYCL_OP_BACKWARD) {
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "op %d is neither forward (0) nor backward (1)", (int)job->op);
  } else if (job->op == LEAKYCL_OP_FORWARD && (job->grads || job->source != LEAKYCL_FROM_X)) {
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "a forward job takes no grads and reads x (source must be LEAKYCL_FROM_X)");
  } else if (job->op == LEAKYCL_OP_BACKWARD && job->mask) {
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "a backward job writes no mask (it reads one as x with LEAKYCL_FROM_MASK)");
  } else {
    const lk_host_call call = host_call_of(job);
    st = lk_check_host_call(ctx, &call, r);
  }
  job->status = st;
  set_job_error(job, st == LEAKYCL_OK ? "" : ctx->error.text);
  return st;
}

/* Whether a valid job runs as its single call would (zero-copy where the
 * device allows) rather than packed: when it is too big to gain from
 * packing (copying it into a packed buffer and back costs more than its own
 * launch), and for a float16 job whose single call lowers the vector width
 * (per-channel alpha with inner not a multiple of the variant's width). The
 * packed kernel converts float16 at the variant's width, and OpenCL
 * implementations need not give a NaN the same payload at every width
 * (PoCL's vload_half and vload_half4 do not), while packed results must be
 * the single call's bits. bfloat16 and float32 move bits exactly at any
 * width. And what the packed kernels do not compute: phased_relu's dbeta
 * (its own program, LK_DBETA, in the single call) and the packed masks
 * (mask.cl), written or read. */
static bool runs_alone(const leakycl_context *ctx, const lk_resolved *r, const leakycl_job *job) {
  return r->n > LEAKYCL_PACKED_JOB_MAX_ELEMENTS ||
         (r->dtype == LEAKYCL_FLOAT16 &&
          lk_call_vector_width(ctx, r) != ctx->variant.vector_width) ||
         (job->grads && job->grads->dbeta) || job->mask || job->source == LEAKYCL_FROM_MASK;
}

static leakycl_status run_lone_job(leakycl_context *ctx, leakycl_job *job) {
  const lk_host_call call = host_call_of(job);
  job->status = lk_run_host_call(ctx, &call);
  set_job_error(job, job->status == LEAKYCL_OK ? "" : ctx->error.text);
  return job->status;
}

/* ---- layout ---- */

/* Places the items of a segment: offsets, tables, tile counts. */
static void segment_layout(segment *s) {
  s->elems = s->nparams = s->ntiles = s->nblocks = s->nchannels = 0;
  s->any_backward = false;
  for (size_t k = 0; k < s->count; k++) {
    batch_item *it = &s->items[k];
    const lk_resolved *r = &it->r;
    it->base = s->elems;
    s->elems += lk_round_up(r->n, LK_BATCH_ALIGN);
    it->param = s->nparams;
    s->nparams += r->alpha_count;
    s->any_backward |= it->backward;
    if (it->reduce) {
      const size_t per_channel = r->n / r->channels;
      it->blocks = (per_channel + s->block - 1) / s->block;
      it->partial = s->nblocks;
      s->nblocks += r->channels * it->blocks;
      it->channel_first = s->nchannels;
      s->nchannels += r->channels;
      s->ntiles += r->channels * it->blocks;
    } else {
      s->ntiles += (r->n + s->tile_elems - 1) / s->tile_elems;
    }
  }
}

/* Writes index i of a table of uint or ulong. */
static void put_index(void *table, bool wide, size_t i, size_t v) {
  if (wide)
    ((cl_ulong *)table)[i] = (cl_ulong)v;
  else
    ((cl_uint *)table)[i] = (cl_uint)v;
}

/* The job records, then the tiles (reductions first: they are the longest,
 * so they start first and the short ones fill in), then the channel rows of
 * lk_batch_finish. Returns where the tiles and channels begin. */
static void fill_index(const segment *s, void *table, size_t *tiles_at, size_t *channels_at) {
  const bool w = s->wide;
  for (size_t k = 0; k < s->count; k++) {
    const batch_item *it = &s->items[k];
    const lk_resolved *r = &it->r;
    const size_t f = k * JOB_FIELDS;
    put_index(table, w, f + JOB_FLAGS,
              (size_t)r->activation | (it->backward ? FLAG_BACKWARD : 0) |
                  (r->per_channel ? FLAG_PER_CHANNEL_ALPHA : 0) | (it->reduce ? FLAG_REDUCE : 0));
    put_index(table, w, f + JOB_N, r->n);
    put_index(table, w, f + JOB_BASE, it->base);
    put_index(table, w, f + JOB_INNER, r->inner);
    put_index(table, w, f + JOB_CHANNELS, r->channels);
    put_index(table, w, f + JOB_PARAM, it->param);
    put_index(table, w, f + JOB_PER_CHANNEL, r->n / r->channels);
    put_index(table, w, f + JOB_BLOCKS, it->blocks);
    put_index(table, w, f + JOB_PARTIAL, it->partial);
  }
  size_t t = *tiles_at = s->count * JOB_FIELDS;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t k = 0; k < s->count; k++) {
      const batch_item *it = &s->items[k];
      if (it->reduce != (pass == 0))
        continue;
      const size_t count =
          it->reduce ? it->r.channels * it->blocks : (it->r.n + s->tile_elems - 1) / s->tile_elems;
      for (size_t i = 0; i < count; i++) {
        put_index(table, w, t++, k);
        put_index(table, w, t++, it->reduce ? i : i * s->tile_elems);
      }
    }
  }
  *channels_at = t;
  for (size_t k = 0; k < s->count; k++) {
    const batch_item *it = &s->items[k];
    for (size_t c = 0; it->reduce && c < it->r.channels; c++) {
      put_index(table, w, t++, it->partial + c * it->blocks);
      put_index(table, w, t++, it->blocks);
    }
  }
}

static void fill_params(const segment *s, float *pairs) {
  for (size_t k = 0; k < s->count; k++) {
    const lk_resolved *r = &s->items[k].r;
    float *p = pairs + 2 * s->items[k].param;
    for (size_t c = 0; c < r->alpha_count; c++) {
      p[2 * c] = r->per_channel ? r->alpha_c[c] : r->alpha;
      p[2 * c + 1] = r->per_channel ? r->thresh_c[c] : r->thresh;
    }
  }
}

/* ---- one segment on the device ---- */

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

/* ---- host copies between the jobs' arrays and a mapped buffer ---- */

/* One memcpy per job, split over a few threads when there is enough to
 * copy: a single thread copies ~7 GB/s here, under what memory gives, and
 * these copies are most of a packed batch's time (1000 x 4 Ki forward jobs
 * on PoCL, 2 cores: 2.4 ms in and 2 ms out on one thread; ~1.2 ms and
 * ~1.4 ms on two; the kernel ~2 ms). */
#define LK_COPY_MAX_THREADS 4
#define LK_COPY_BYTES_PER_THREAD ((size_t)1 << 20) /* below, a thread costs more than it saves */

typedef enum copy_dir { COPY_X_IN, COPY_DY_IN, COPY_OUT } copy_dir;

typedef struct copy_task {
  const segment *s;
  leakycl_job *const *jobs;
  unsigned char *mapped;
  copy_dir dir;
  size_t from, to; /* items */
} copy_task;

static void *copy_items(void *arg) {
  const copy_task *t = arg;
  for (size_t k = t->from; k < t->to; k++) {
    const batch_item *it = &t->s->items[k];
    leakycl_job *job = t->jobs[it->job];
    const size_t bytes = it->r.n * t->s->elem_size;
    unsigned char *packed = t->mapped + it->base * t->s->elem_size;
    if (t->dir == COPY_X_IN)
      memcpy(packed, job->x, bytes);
    else if (t->dir == COPY_DY_IN && it->backward)
      memcpy(packed, job->dy, bytes);
    else if (t->dir == COPY_OUT)
      memcpy(job->out, packed, bytes);
  }
  return NULL;
}

/* Copies every item in direction dir, the items split into runs of about
 * equal bytes, one thread each (the caller's thread takes the first). */
static void copy_all(const segment *s, leakycl_job *const *jobs, void *mapped, copy_dir dir) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t threads = s->elems * s->elem_size / LK_COPY_BYTES_PER_THREAD;
  if (threads > (size_t)(cpus > 0 ? cpus : 1))
    threads = (size_t)(cpus > 0 ? cpus : 1);
  if (threads > LK_COPY_MAX_THREADS)
    threads = LK_COPY_MAX_THREADS;
  if (threads < 1)
    threads = 1;
  copy_task tasks[LK_COPY_MAX_THREADS] = {{0}};
  pthread_t ids[LK_COPY_MAX_THREADS];
  bool started[LK_COPY_MAX_THREADS] = {false};
  size_t k = 0;
  for (size_t t = 0; t < threads; t++) {
    /* Items up to the t+1-th share of the elements. */
    const size_t upto = s->elems / threads * (t + 1);
    tasks[t] = (copy_task){s, jobs, mapped, dir, k, k};
    while (tasks[t].to < s->count && (t + 1 == threads || s->items[tasks[t].to].base < upto))
      tasks[t].to++;
    k = tasks[t].to;
  }
  for (size_t t = 1; t < threads; t++)
    started[t] = pthread_create(&ids[t], NULL, copy_items, &tasks[t]) == 0;
  copy_items(&tasks[0]);
  for (size_t t = 1; t < threads; t++) {
    if (started[t])
      pthread_join(ids[t], NULL);
    else
      copy_items(&tasks[t]); /* no thread to be had: copy here */
  }
}

/* The buffers of one segment. */
typedef struct segment_mem {
  cl_mem x, dy, out, index, params, partials, finals;
} segment_mem;

/* Copies each item's input (x, or dy) into its place: one map, then one
 * memcpy per job. Measured on PoCL (1000 x 4 Ki forward jobs, medians of 7):
 * 3.8-4.4 us a job this way, 6.1-8.2 us with one non-blocking
 * clEnqueueWriteBuffer per job instead (every command costs microseconds). */
static leakycl_status upload_inputs(leakycl_context *ctx, const segment *s,
                                    leakycl_job *const *jobs, cl_mem mem, copy_dir dir) {
  void *p;
  leakycl_status st = map(ctx, mem, CL_MAP_WRITE_INVALIDATE_REGION, s->elems * s->elem_size, &p);
  if (st != LEAKYCL_OK)
    return st;
  copy_all(s, jobs, p, dir);
  return unmap(ctx, mem, p);
}

static leakycl_status upload_tables(leakycl_context *ctx, const segment *s, const segment_mem *m,
                                    size_t index_len, size_t *tiles_at, size_t *channels_at) {
  void *p;
  const size_t idx_bytes = s->wide ? sizeof(cl_ulong) : sizeof(cl_uint);
  leakycl_status st = map(ctx, m->index, CL_MAP_WRITE_INVALIDATE_REGION, index_len * idx_bytes, &p);
  if (st != LEAKYCL_OK)
    return st;
  fill_index(s, p, tiles_at, channels_at);
  st = unmap(ctx, m->index, p);
  if (st == LEAKYCL_OK)
    st = map(ctx, m->params, CL_MAP_WRITE_INVALIDATE_REGION, 2 * s->nparams * sizeof(float), &p);
  if (st != LEAKYCL_OK)
    return st;
  fill_params(s, p);
  return unmap(ctx, m->params, p);
}

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

/* The outputs back to the jobs: the gradients first (a blocking read), then
 * y and dx through one map, so that a failure leaves every output as it was. */
static leakycl_status download(leakycl_context *ctx, const segment *s, const segment_mem *m,
                               leakycl_job *const *jobs) {
  float *finals = NULL;
  leakycl_status st = LEAKYCL_OK;
  if (s->nchannels > 0) {
    const size_t bytes = 4 * s->nchannels * sizeof(float);
    finals = malloc(bytes);
    if (!finals)
      return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu gradient rows",
                     s->nchannels);
    cl_int rc =
        clEnqueueReadBuffer(ctx->queue, m->finals, CL_TRUE, 0, bytes, finals, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = lk_fail_cl(&ctx->error, rc, "clEnqueueReadBuffer(dalpha)");
  }
  void *p = NULL;
  if (st == LEAKYCL_OK)
    st = map(ctx, m->out, CL_MAP_READ, s->elems * s->elem_size, &p);
  if (st != LEAKYCL_OK) {
    free(finals);
    return st;
  }
  copy_all(s, jobs, p, COPY_OUT);
  for (size_t k = 0; k < s->count; k++) {
    const batch_item *it = &s->items[k];
    if (it->reduce)
      lk_write_grads(&it->r, finals + 4 * it->channel_first, it->r.n / it->r.channels,
                     jobs[it->job]->grads);
  }
  free(finals);
  return unmap(ctx, m->out, p);
}

static leakycl_status run_segment(leakycl_context *ctx, segment *s, leakycl_job *const *jobs) {
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
  segment_layout(s);

  segment_mem m = {0};
  const size_t index_len = s->count * JOB_FIELDS + 2 * s->ntiles + 2 * s->nchannels;
  const size_t idx_bytes = s->wide ? sizeof(cl_ulong) : sizeof(cl_uint);
  const size_t data_bytes = s->elems * s->elem_size;
  st = lk_pool_get(ctx, LK_POOL_IN, data_bytes, &m.x);
  if (st == LEAKYCL_OK && s->any_backward)
    st = lk_pool_get(ctx, LK_POOL_DY, data_bytes, &m.dy);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_OUT, data_bytes, &m.out);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_BATCH_INDEX, index_len * idx_bytes, &m.index);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_BATCH_PARAMS, 2 * s->nparams * sizeof(float), &m.params);
  if (st == LEAKYCL_OK && s->nchannels > 0)
    st = lk_pool_get(ctx, LK_POOL_PARTIALS, 3 * s->nblocks * sizeof(float), &m.partials);
  if (st == LEAKYCL_OK && s->nchannels > 0)
    st = lk_pool_get(ctx, LK_POOL_FINALS, 4 * s->nchannels * sizeof(float), &m.finals);
  size_t tiles_at = 0, channels_at = 0;
  if (st == LEAKYCL_OK)
    st = upload_inputs(ctx, s, jobs, m.x, COPY_X_IN);
  if (st == LEAKYCL_OK && s->any_backward)
    st = upload_inputs(ctx, s, jobs, m.dy, COPY_DY_IN);
  if (st == LEAKYCL_OK)
    st = upload_tables(ctx, s, &m, index_len, &tiles_at, &channels_at);
  if (st == LEAKYCL_OK)
    st = launch(ctx, s, &m, tiles_at, channels_at);
  if (st == LEAKYCL_OK)
    st = download(ctx, s, &m, jobs);
  if (st != LEAKYCL_OK)
    clFinish(ctx->queue); /* leave nothing in flight on the pooled buffers */
  return st;
}

/* The most elements of elem_size bytes one segment packs: one device
 * allocation. A job larger than that forms a segment of its own (and fails
 * as the allocation does). */
static size_t segment_capacity(const leakycl_context *ctx, size_t elem_size) {
  return (size_t)(ctx->info.max_alloc_bytes / elem_size);
}

/* Packed items by dtype and profile (each its own program), then in the
 * caller's order within one. */
static int compare_items(const void *a, const void *b) {
  const batch_item *x = a, *y = b;
  if (x->r.dtype != y->r.dtype)
    return x->r.dtype < y->r.dtype ? -1 : 1;
  if (x->r.conventions != y->r.conventions)
    return x->r.conventions < y->r.conventions ? -1 : 1;
  return (x->job > y->job) - (x->job < y->job);
}

/* ---- the public calls ---- */

/* Validates every job, runs the big ones alone and packs the rest; the
 * context is locked. */
static leakycl_status run_job_list(leakycl_context *ctx, leakycl_job *const *jobs, size_t count) {
  for (size_t j = 0; j < count; j++) {
    if (!jobs[j])
      return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "job %zu is NULL", j);
  }
  batch_item *items = malloc(count * sizeof *items);
  if (!items)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu jobs", count);
  size_t nitems = 0;
  for (size_t j = 0; j < count; j++) {
    leakycl_job *job = jobs[j];
    batch_item *it = &items[nitems];
    memset(it, 0, sizeof *it);
    if (check_job(ctx, job, &it->r) != LEAKYCL_OK)
      continue;
    if (runs_alone(ctx, &it->r, job)) {
      lk_resolved_free(&it->r);
      ctx->error.text[0] = '\0';
      run_lone_job(ctx, job);
      continue;
    }
    it->job = j;
    it->backward = job->op == LEAKYCL_OP_BACKWARD;
    it->reduce = it->backward && job->grads != NULL;
    if (it->r.n == 0) { /* nothing to launch, as in the single call */
      if (it->reduce)
        lk_write_grads(&it->r, NULL, 0, job->grads); /* as the single call */
      lk_resolved_free(&it->r);
      continue;
    }
    nitems++;
  }
  qsort(items, nitems, sizeof *items, compare_items);

  for (size_t k = 0; k < nitems;) {
    segment s = {.items = items + k,
                 .dtype = items[k].r.dtype,
                 .conventions = items[k].r.conventions,
                 .elem_size = items[k].r.elem_size,
                 .block = ctx->variant.reduce_block};
    const size_t capacity = segment_capacity(ctx, s.elem_size);
    while (k + s.count < nitems && items[k + s.count].r.dtype == s.dtype &&
           items[k + s.count].r.conventions == s.conventions) {
      /* No overflow: n * elem_size fits in size_t (checked), and elems <=
       * capacity. */
      const size_t add = lk_round_up(items[k + s.count].r.n, LK_BATCH_ALIGN);
      if (s.count > 0 && s.elems + add > capacity)
        break;
      s.elems += add;
      s.count++;
    }
    ctx->error.text[0] = '\0';
    leakycl_status st = run_segment(ctx, &s, jobs);
    for (size_t i = 0; i < s.count; i++) {
      leakycl_job *job = jobs[s.items[i].job];
      job->status = st;
      set_job_error(job, st == LEAKYCL_OK ? "" : ctx->error.text);
    }
    k += s.count;
  }
  for (size_t k = 0; k < nitems; k++)
    lk_resolved_free(&items[k].r);
  free(items);

  /* The context's detail is the first failed job's, as its status is. */
  ctx->error.text[0] = '\0';
  for (size_t j = 0; j < count; j++) {
    if (jobs[j]->status != LEAKYCL_OK) {
      snprintf(ctx->error.text, sizeof ctx->error.text, "job %zu: %s", j, jobs[j]->error);
      return jobs[j]->status;
    }
  }
  return LEAKYCL_OK;
}

leakycl_status leakycl_run_job_list(leakycl_context *ctx, leakycl_job *const *jobs, size_t count) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (count == 0)
    return LEAKYCL_OK;
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  const leakycl_status st =
      jobs ? run_job_list(ctx, jobs, count)
           : lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "jobs is NULL for %zu jobs", count);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

leakycl_status leakycl_run_jobs(leakycl_context *ctx, leakycl_job *jobs, size_t count) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (count == 0)
    return LEAKYCL_OK;
  if (!jobs)
    return leakycl_run_job_list(ctx, NULL, count);
  leakycl_job **list = malloc(count * sizeof *list);
  if (!list) {
    pthread_mutex_lock(&ctx->lock);
    const leakycl_status st =
        lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu jobs", count);
    pthread_mutex_unlock(&ctx->lock);
    return st;
  }
  for (size_t j = 0; j < count; j++)
    list[j] = &jobs[j];
  const leakycl_status st = leakycl_run_job_list(ctx, list, count);
  free(list);
  return st;
}
