/* tune.c - the quick autotuner: times forward, backward (dx with dalpha) and
 * reduce of prelu on resident buffers for candidate variants, one field at a
 * time from the device-type default (coordinate descent), and keeps the
 * variant with the lowest summed time relative to the start. The fastest
 * kernel shape differs by device type by 20-30x, and by driver more than a
 * table of defaults can know, hence measuring on the device itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "device/device.h"
#include "tune/tune.h"

#define LK_TUNE_DEFAULT_N ((size_t)16 << 20)
#define LK_TUNE_DEFAULT_REPEATS 5u
/* A candidate must beat the best by this much: timings on a busy machine
 * wobble by a few percent, and churning on noise picks nothing real. */
#define LK_TUNE_MARGIN 0.97

enum { OP_FORWARD, OP_BACKWARD, OP_REDUCE, OP_COUNT };

typedef struct tuner {
  leakycl_context *ctx;
  size_t n;
  unsigned repeats;
  cl_mem x, dy, out;
  float dalpha, neg_fraction, mean_abs;
  leakycl_progress_fn progress;
  void *user;
  leakycl_tune_report *report;
} tuner;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static leakycl_status run_op(tuner *t, int op) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PRELU);
  const leakycl_view view = leakycl_view_flat(t->n);
  const leakycl_grads grads = {&t->dalpha, &t->neg_fraction, &t->mean_abs, NULL, 0};
  switch (op) {
  case OP_FORWARD: {
    leakycl_status st = leakycl_forward_buffers(t->ctx, &p, view, t->x, t->out);
    return st == LEAKYCL_OK ? leakycl_finish(t->ctx) : st;
  }
  case OP_BACKWARD: /* with grads: the fused pass, blocking */
    return leakycl_backward_buffers(t->ctx, &p, view, LEAKYCL_FROM_X, t->x, t->dy, t->out, &grads);
  default:
    return leakycl_reduce_buffers(t->ctx, &p, view, t->x, t->dy, &grads);
  }
}

/* Median seconds of each op for the context's current variant; one untimed
 * call first pays the build and the first launch. */
static leakycl_status time_ops(tuner *t, double seconds[OP_COUNT]) {
  double samples[64];
  for (int op = 0; op < OP_COUNT; op++) {
    leakycl_status st = run_op(t, op);
    for (unsigned r = 0; r < t->repeats && st == LEAKYCL_OK; r++) {
      const double start = now_seconds();
      st = run_op(t, op);
      samples[r] = now_seconds() - start;
    }
    if (st != LEAKYCL_OK)
      return st;
    qsort(samples, t->repeats, sizeof samples[0], compare_doubles);
    seconds[op] = samples[t->repeats / 2];
  }
  return LEAKYCL_OK;
}

static bool same_variant(const leakycl_variant *a, const leakycl_variant *b) {
  return a->strategy == b->strategy && a->vector_width == b->vector_width &&
         a->work_group_size == b->work_group_size && a->vectors_per_item == b->vectors_per_item &&
         a->reduce_block == b->reduce_block && a->streaming_threshold == b->streaming_threshold;
}

/* Measures v (unless already measured) and returns its row, or -1 when the
 * device rejects it (an invalid shape is skipped, not an error). */
static long measure(tuner *t, const leakycl_variant *v, leakycl_status *failure) {
  leakycl_tune_report *rep = t->report;
  for (size_t i = 0; i < rep->count; i++) {
    if (same_variant(&rep->candidates[i].variant, v))
      return (long)i;
  }
  if (rep->count == LEAKYCL_TUNE_MAX_CANDIDATES)
    return -1;
  char why[LK_ERROR_MAX];
  if (lk_variant_check(v, &t->ctx->info, why, sizeof why) != LEAKYCL_OK)
    return -1;
  leakycl_tune_candidate *c = &rep->candidates[rep->count];
  c->variant = *v;
  leakycl_status st = leakycl_set_variant(t->ctx, v);
  if (st == LEAKYCL_OK)
    st = time_ops(t, c->seconds);
  if (st != LEAKYCL_OK) {
    *failure = st;
    return -1;
  }
  const double *base = rep->count == 0 ? c->seconds : rep->candidates[0].seconds;
  c->score = 0.0;
  for (int op = 0; op < OP_COUNT; op++)
    c->score += c->seconds[op] / base[op];
  if (t->progress) {
    char desc[128], line[256];
    leakycl_variant_describe(v, desc, sizeof desc);
    snprintf(line, sizeof line,
             "%-44s forward %8.3f ms  backward %8.3f ms  reduce %8.3f ms  score %.3f", desc,
             1e3 * c->seconds[OP_FORWARD], 1e3 * c->seconds[OP_BACKWARD],
             1e3 * c->seconds[OP_REDUCE], c->score);
    t->progress(line, t->user);
  }
  return (long)rep->count++;
}

/* Tries each value of one field on top of the best so far. */
typedef void (*set_field_fn)(leakycl_variant *v, size_t value);
static void set_vw(leakycl_variant *v, size_t x) { v->vector_width = (unsigned)x; }
static void set_wg(leakycl_variant *v, size_t x) { v->work_group_size = x; }
static void set_chunk(leakycl_variant *v, size_t x) { v->vectors_per_item = x; }
static void set_block(leakycl_variant *v, size_t x) { v->reduce_block = x; }
static void set_nt(leakycl_variant *v, size_t x) { v->streaming_threshold = x; }

static leakycl_status sweep(tuner *t, set_field_fn set, const size_t *values, size_t count) {
  leakycl_tune_report *rep = t->report;
  leakycl_status failure = LEAKYCL_OK;
  for (size_t i = 0; i < count && failure == LEAKYCL_OK; i++) {
    leakycl_variant v = rep->candidates[rep->best_index].variant;
    set(&v, values[i]);
    const long row = measure(t, &v, &failure);
    if (row >= 0 &&
        rep->candidates[row].score < LK_TUNE_MARGIN * rep->candidates[rep->best_index].score)
      rep->best_index = (size_t)row;
  }
  return failure;
}

static leakycl_status search(tuner *t) {
  leakycl_tune_report *rep = t->report;
  leakycl_status failure = LEAKYCL_OK;
  /* Row 0: the device-type default, the yardstick of every score. */
  measure(t, &rep->start, &failure);
  if (failure != LEAKYCL_OK)
    return failure;
  rep->best_index = 0;
  /* The other strategy's default: on some devices it wins outright. */
  leakycl_variant other;
  (void)lk_variant_default(&t->ctx->info,
                           rep->start.strategy == LEAKYCL_STRATEGY_CPU ? LEAKYCL_STRATEGY_GPU
                                                                       : LEAKYCL_STRATEGY_CPU,
                           &other);
  const long row = measure(t, &other, &failure);
  if (failure != LEAKYCL_OK)
    return failure;
  if (row >= 0 && rep->candidates[row].score < LK_TUNE_MARGIN * rep->candidates[0].score)
    rep->best_index = (size_t)row;

  const size_t nt_values[] = {0, (size_t)1 << 18, (size_t)1 << 20, (size_t)1 << 22};
  if (rep->candidates[rep->best_index].variant.strategy == LEAKYCL_STRATEGY_CPU) {
    const size_t vws[] = {4, 8, 16}, chunks[] = {16, 64, 256}, wgs[] = {8, 16, 64};
    const size_t blocks[] = {4096, 16384, 65536};
    if ((failure = sweep(t, set_vw, vws, 3)) == LEAKYCL_OK &&
        (failure = sweep(t, set_chunk, chunks, 3)) == LEAKYCL_OK &&
        (failure = sweep(t, set_wg, wgs, 3)) == LEAKYCL_OK &&
        (failure = sweep(t, set_block, blocks, 3)) == LEAKYCL_OK)
      failure = sweep(t, set_nt, nt_values, 4);
  } else {
    const size_t vws[] = {1, 2, 4, 8}, wgs[] = {64, 128, 256};
    const size_t wg = rep->candidates[rep->best_index].variant.work_group_size;
    const size_t blocks[] = {4 * wg, 16 * wg, 64 * wg};
    if ((failure = sweep(t, set_vw, vws, 4)) == LEAKYCL_OK &&
        (failure = sweep(t, set_wg, wgs, 3)) == LEAKYCL_OK &&
        (failure = sweep(t, set_block, blocks, 3)) == LEAKYCL_OK)
      failure = sweep(t, set_nt, nt_values, 4);
  }
  return failure;
}

/* Candidates were timed one after another, so a burst of load elsewhere
 * can favour one of them. The winner must beat the start again with the
 * two interleaved (start, best, start, best, ...); otherwise the start
 * stays. Fills report->confirmed with the winner's interleaved speed-up. */
static leakycl_status confirm(tuner *t) {
  leakycl_tune_report *rep = t->report;
  rep->confirmed_speedup = 1.0;
  if (rep->best_index == 0)
    return LEAKYCL_OK;
  const leakycl_variant *pair[2] = {&rep->candidates[0].variant,
                                    &rep->candidates[rep->best_index].variant};
  double sum[2] = {0.0, 0.0};
  for (unsigned round = 0; round < 3; round++) {
    for (int k = 0; k < 2; k++) {
      double seconds[OP_COUNT];
      leakycl_status st = leakycl_set_variant(t->ctx, pair[k]);
      if (st == LEAKYCL_OK)
        st = time_ops(t, seconds);
      if (st != LEAKYCL_OK)
        return st;
      for (int op = 0; op < OP_COUNT; op++)
        sum[k] += seconds[op] / rep->candidates[0].seconds[op];
    }
  }
  rep->confirmed_speedup = sum[0] / sum[1];
  if (sum[1] >= LK_TUNE_MARGIN * sum[0])
    rep->best_index = 0;
  return LEAKYCL_OK;
}

static cl_mem filled_buffer(leakycl_context *ctx, size_t n, float first, float step, cl_int *rc) {
  float *host = malloc(n * sizeof(float));
  if (!host) {
    *rc = CL_OUT_OF_HOST_MEMORY;
    return NULL;
  }
  /* A mix of signs, so every branch of every formula runs. */
  for (size_t i = 0; i < n; i++)
    host[i] = first + step * (float)(i % 1024) - 0.5f * step * 1024.0f;
  cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                            n * sizeof(float), host, rc);
  free(host);
  return m;
}

leakycl_status leakycl_tune(leakycl_context *ctx, size_t n, unsigned repeats,
                            leakycl_progress_fn progress, void *user, leakycl_tune_report *report) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (repeats > 64)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "repeats %u is over the limit of 64",
                   repeats);
  leakycl_tune_report *rep = calloc(1, sizeof *rep);
  if (!rep)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for the tune report");
  tuner t = {.ctx = ctx,
             .n = n ? n : LK_TUNE_DEFAULT_N,
             .repeats = repeats ? repeats : LK_TUNE_DEFAULT_REPEATS,
             .progress = progress,
             .user = user,
             .report = rep};
  rep->n = t.n;
  (void)lk_variant_default(&ctx->info, lk_strategy_of_type(ctx->info.type), &rep->start);
  const leakycl_variant before = ctx->variant;
  const char *origin_before = ctx->variant_origin;
  cl_int rc = CL_SUCCESS;
  leakycl_status st = LEAKYCL_OK;
  if (t.n > SIZE_MAX / sizeof(float) / 2 || t.n * sizeof(float) > ctx->info.max_alloc_bytes)
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "n = %zu is over the device's largest buffer", t.n);
  if (st == LEAKYCL_OK) {
    t.x = filled_buffer(ctx, t.n, 0.0f, 1.0f / 256.0f, &rc);
    if (rc == CL_SUCCESS)
      t.dy = filled_buffer(ctx, t.n, 0.25f, 1.0f / 512.0f, &rc);
    if (rc == CL_SUCCESS)
      t.out = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, t.n * sizeof(float), NULL, &rc);
    st = rc == CL_SUCCESS ? search(&t) : lk_fail_cl(&ctx->error, rc, "clCreateBuffer(tune)");
    if (st == LEAKYCL_OK)
      st = confirm(&t);
  }
  const cl_mem buffers[3] = {t.x, t.dy, t.out};
  for (int i = 0; i < 3; i++) {
    if (buffers[i])
      clReleaseMemObject(buffers[i]);
  }
  pthread_mutex_lock(&ctx->lock);
  if (st == LEAKYCL_OK) {
    rep->best = rep->candidates[rep->best_index].variant;
    ctx->variant = rep->best;
    ctx->variant_origin = "tuned";
  } else {
    ctx->variant = before; /* a failed tune changes nothing */
    ctx->variant_origin = origin_before;
  }
  pthread_mutex_unlock(&ctx->lock);
  if (report && st == LEAKYCL_OK)
    *report = *rep;
  free(rep);
  return st;
}
