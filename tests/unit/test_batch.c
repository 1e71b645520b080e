/* test_batch.c - leakycl_run_jobs gives every job its single call's answer:
 * mixed batches (every activation x op x alpha layout x size, NaN/Inf, in
 * place, from y, with and without the gradient) compared bit for bit with
 * the single-job calls and with a float64 oracle (tests/unit/oracle.h);
 * both strategies, several variants, every vector width (partial-vector
 * tails, PoCL 3.1's miscompile), the wide index, several segments and two
 * threads on one context. Invalid jobs and failures: test_batch_errors.c. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "core/core.h"
#include "device/device.h"
#include "float_bits.h"
#include "ops/ops.h"
#include "program/program.h"
#define ORACLE_RNG_SEED 0x2545F4914F6CDD1DULL
#include "op_cases.h"
#include "oracle.h"
#include "test.h"

static leakycl_context *ctx;

/* Finite values with zeros of both signs, subnormals and the phased
 * threshold's neighbours; NaN, +Inf and -Inf every 7th element when asked. */
static void fill(float *v, size_t n, float t, bool specials) {
  for (size_t i = 0; i < n; i++) {
    if (!rng_edge_value(t, &v[i]))
      v[i] = (float)(rng_uniform() * 16.0 - 8.0);
  }
  for (size_t i = 0; specials && i < n; i += 7) {
    const float s[3] = {NAN, INFINITY, -INFINITY};
    v[i] = s[rng_next() % 3];
  }
}

/* ---- one job of a test batch, with what its single call gave ---- */

/* Sizes 0, 1, 17, 4096, 70001, and views whose inner is not a multiple of
 * any vector width (7, 9, 1) or is one (16). */
static const shape_case shapes[] = {
    {1, {0}, 0},    {1, {1}, 0},       {1, {17}, 0},      {1, {4096}, 0},   {1, {70001}, 0},
    {2, {0, 3}, 1}, {3, {3, 5, 7}, 1}, {3, {2, 6, 9}, 1}, {2, {40, 3}, -1}, {3, {2, 8, 16}, 1},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* A batch job's alpha: default, one shared value, or one per channel. */
enum { BATCH_ALPHA_DEFAULT, BATCH_ALPHA_SHARED, BATCH_ALPHA_PER_CHANNEL, BATCH_ALPHA_MODES };

typedef struct test_job {
  leakycl_activation act;
  leakycl_op op;
  int alpha_mode;
  bool want_grads, from_y, in_place, specials;
  leakycl_params params;
  leakycl_view view;
  size_t n, nalpha;
  float *alpha;
  float *x, *dy;         /* the inputs as given (x is y when from_y) */
  float *x_orig;         /* from_y: the x that y came from */
  float *in_copy;        /* in place: the input the job overwrites */
  float *out;            /* the batch's output (may be in_copy) */
  float *single;         /* the single call's output */
  float *grad[3];        /* batch: dalpha, neg_fraction, mean_abs_grad */
  float *single_grad[3]; /* the single call's */
  leakycl_grads grads;
} test_job;

static float alpha_of(const test_job *j, size_t i) {
  if (j->params.alpha_count == 0)
    return leakycl_default_alpha(j->act);
  return j->params.alpha[j->params.alpha_count > 1 ? (i / j->view.inner) % j->view.channels : 0];
}

static void job_setup(test_job *j, leakycl_activation act, leakycl_op op, int alpha_mode,
                      const shape_case *sc, bool want_grads, bool from_y, bool in_place,
                      bool specials) {
  memset(j, 0, sizeof *j);
  j->act = act;
  j->op = op;
  j->alpha_mode = alpha_mode;
  j->want_grads = want_grads;
  j->from_y = from_y;
  j->in_place = in_place;
  j->specials = specials;
  CHECK_INT_EQ(leakycl_view_from_shape(sc->shape, sc->rank, sc->axis, &j->view, NULL, 0),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_view_count(j->view, &j->n), LEAKYCL_OK);
  leakycl_params_init(&j->params, act);
  /* Mixed profiles in one batch: each is a segment of its own. */
  j->params.conventions = (leakycl_conventions)(rng_next() % LEAKYCL_CONVENTIONS_COUNT);
  if (act == LEAKYCL_PHASED_RELU)
    j->params.beta = 0.75f;
  const size_t C = j->view.channels ? j->view.channels : 1;
  j->alpha = malloc(C * sizeof(float));
  if (act != LEAKYCL_RELU && alpha_mode == BATCH_ALPHA_PER_CHANNEL && C > 1) {
    for (size_t c = 0; c < C; c++) /* from y needs alpha > 0 */
      j->alpha[c] = from_y ? (float)(0.1 + rng_uniform()) : (float)(rng_uniform() * 3.0 - 1.0);
    j->params.alpha = j->alpha;
    j->params.alpha_count = C;
  } else if (act != LEAKYCL_RELU && alpha_mode != BATCH_ALPHA_DEFAULT) {
    j->alpha[0] = from_y ? 1.5f : -0.5f;
    j->params.alpha = j->alpha;
    j->params.alpha_count = 1;
  }
  j->nalpha = j->params.alpha_count > 1 ? j->params.alpha_count : 1;
  const size_t nb = (j->n ? j->n : 1) * sizeof(float);
  j->x = malloc(nb), j->dy = malloc(nb), j->single = malloc(nb), j->out = malloc(nb);
  const float t0 = threshold(alpha_of(j, 0), j->params.beta);
  fill(j->x, j->n, t0, specials);
  fill(j->dy, j->n, t0, false);
  if (from_y) {
    /* The sign source is y = forward(x), from the single call. */
    j->x_orig = j->x;
    j->x = malloc(nb);
    CHECK_INT_EQ(leakycl_forward(ctx, &j->params, j->view, j->x_orig, j->x), LEAKYCL_OK);
  }
  for (int k = 0; k < 3; k++) {
    j->grad[k] = malloc(j->nalpha * sizeof(float));
    j->single_grad[k] = malloc(j->nalpha * sizeof(float));
  }
  j->grads = (leakycl_grads){j->grad[0], j->grad[1], j->grad[2], NULL, 0};
}

static void job_free(test_job *j) {
  free(j->alpha), free(j->x), free(j->dy), free(j->x_orig), free(j->single), free(j->out);
  free(j->in_copy);
  for (int k = 0; k < 3; k++)
    free(j->grad[k]), free(j->single_grad[k]);
}

/* The single call's answer, into j->single and j->single_grad. */
static void job_run_single(test_job *j) {
  leakycl_grads g = {j->single_grad[0], j->single_grad[1], j->single_grad[2], NULL, 0};
  leakycl_status st =
      j->op == LEAKYCL_OP_FORWARD
          ? leakycl_forward(ctx, &j->params, j->view, j->x, j->single)
          : leakycl_backward(ctx, &j->params, j->view, j->from_y ? LEAKYCL_FROM_Y : LEAKYCL_FROM_X,
                             j->x, j->dy, j->single, j->want_grads ? &g : NULL);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  single call: %s\n", leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_OK);
}

/* The batch entry for the test job; in place writes over a copy of x or dy. */
static leakycl_job job_entry(test_job *j) {
  leakycl_job e;
  memset(&e, 0, sizeof e);
  e.op = j->op;
  e.params = j->params;
  e.view = j->view;
  e.source = j->from_y ? LEAKYCL_FROM_Y : LEAKYCL_FROM_X;
  e.x = j->x;
  e.dy = j->op == LEAKYCL_OP_BACKWARD ? j->dy : NULL;
  e.out = j->out;
  e.grads = j->want_grads ? &j->grads : NULL;
  if (j->in_place) {
    const float *src = j->op == LEAKYCL_OP_FORWARD ? j->x : j->dy;
    free(j->in_copy);
    j->in_copy = malloc((j->n ? j->n : 1) * sizeof(float));
    memcpy(j->in_copy, src, j->n * sizeof(float));
    if (j->op == LEAKYCL_OP_FORWARD)
      e.x = j->in_copy;
    else
      e.dy = j->in_copy;
    e.out = j->in_copy;
  }
  e.status = (leakycl_status)-1; /* the call must set it */
  return e;
}

static size_t mismatches;
static void report(const test_job *j, const char *what, size_t i, float got, float want) {
  if (mismatches++ < 8)
    fprintf(stderr, "  %s %s%s alpha mode %d n %zu [%zu,%zu,%zu]%s%s: %s[%zu] got %a, want %a\n",
            leakycl_activation_name(j->act), j->op == LEAKYCL_OP_FORWARD ? "forward" : "backward",
            j->want_grads ? "+grads" : "", j->alpha_mode, j->n, j->view.outer, j->view.channels,
            j->view.inner, j->from_y ? " from y" : "", j->in_place ? " in place" : "", what, i,
            (double)got, (double)want);
}

typedef struct channel_ref {
  double sum, sum_abs, neg_abs;
  size_t count, neg;
  bool poisoned;
} channel_ref;

/* The batch output against the single call (bits) and the oracle. */
static void job_check(const test_job *j, const leakycl_job *e) {
  if (e->status != LEAKYCL_OK) {
    fprintf(stderr, "  job failed: %s: %s\n", leakycl_status_name(e->status), e->error);
    mismatches++;
    return;
  }
  const float *out = e->out;
  for (size_t i = 0; i < j->n; i++) {
    if (bits_of(out[i]) != bits_of(j->single[i]))
      report(j, "vs single", i, out[i], j->single[i]);
    const float a = alpha_of(j, i), t = threshold(a, j->params.beta);
    const float want = j->op == LEAKYCL_OP_FORWARD
                           ? ref_forward(j->params.conventions, j->act, j->x[i], a, t)
                           : ref_backward(j->params.conventions, j->act, j->x[i], j->dy[i], a, t);
    if (!same_float(out[i], want))
      report(j, "vs oracle", i, out[i], want);
  }
  if (!j->want_grads)
    return;
  /* Per channel in float64, in one pass: the sum, sum |terms|, counts. */
  channel_ref *ref = calloc(j->nalpha, sizeof *ref);
  for (size_t i = 0; i < j->n; i++) {
    channel_ref *r = &ref[j->nalpha > 1 ? (i / j->view.inner) % j->view.channels : 0];
    const double term = ref_alpha_term(j->params.conventions, j->act, j->x[i], j->dy[i],
                                       threshold(alpha_of(j, i), j->params.beta));
    r->poisoned |= isnan(term) || isinf(term);
    r->sum += term;
    r->sum_abs += fabs(term);
    r->count++;
    if (j->x[i] < 0) {
      r->neg++;
      r->neg_abs += fabs((double)j->dy[i] * (double)j->x[i]);
    }
  }
  for (size_t c = 0; c < j->nalpha; c++) {
    const double sum = ref[c].sum, sum_abs = ref[c].sum_abs, neg_abs = ref[c].neg_abs;
    const size_t count = ref[c].count, neg = ref[c].neg;
    const bool poisoned = ref[c].poisoned;
    const float da = j->grad[0][c], nf = j->grad[1][c], ma = j->grad[2][c];
    if (count == 0) {
      if (da != 0.0f || !isnan(nf) || !isnan(ma))
        report(j, "empty channel dalpha", c, da, 0.0f);
    } else if (poisoned) {
      if (!isnan(da) && !isinf(da))
        report(j, "poisoned dalpha", c, da, (float)sum);
    } else {
      if (fabs((double)da - sum) > 1e-6 * sum_abs + 1e-30)
        report(j, "dalpha", c, da, (float)sum);
      const double want_nf = (double)neg / (double)count, want_ma = neg_abs / (double)count;
      if (fabs((double)nf - want_nf) > 1e-6 * want_nf)
        report(j, "neg_fraction", c, nf, (float)want_nf);
      if (fabs((double)ma - want_ma) > 1e-6 * want_ma + 1e-37)
        report(j, "mean_abs_grad", c, ma, (float)want_ma);
    }
    /* The single call keeps the same bound. */
    if (count > 0 && !poisoned &&
        fabs((double)da - (double)j->single_grad[0][c]) > 2e-6 * sum_abs + 1e-30)
      report(j, "dalpha vs single", c, da, j->single_grad[0][c]);
  }
  free(ref);
}

/* ---- the mixed batch ---- */

typedef struct mixed_batch {
  test_job *jobs;
  size_t count;
} mixed_batch;

/* Every activation x op x alpha layout x shape, the gradient on for most
 * backward jobs that have one, from y and in place now and then, in a
 * shuffled order. */
static void mixed_make(mixed_batch *b) {
  b->jobs = calloc(4 * 2 * BATCH_ALPHA_MODES * NSHAPES, sizeof *b->jobs);
  b->count = 0;
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
    for (int op = 0; op < 2; op++) {
      for (int mode = 0; mode < BATCH_ALPHA_MODES; mode++) {
        if (act == LEAKYCL_RELU && mode != BATCH_ALPHA_DEFAULT)
          continue;
        for (size_t s = 0; s < NSHAPES; s++) {
          const bool backward = op == LEAKYCL_OP_BACKWARD;
          const bool grads = backward && leakycl_activation_has_gradient((leakycl_activation)act) &&
                             rng_next() % 4 != 0;
          const bool from_y = backward && !grads && act != LEAKYCL_PHASED_RELU &&
                              mode != BATCH_ALPHA_DEFAULT && rng_next() % 3 == 0;
          const bool in_place = rng_next() % 4 == 0;
          const bool specials = rng_next() % 2 == 0;
          job_setup(&b->jobs[b->count++], (leakycl_activation)act, (leakycl_op)op, mode, &shapes[s],
                    grads, from_y, in_place, specials);
        }
      }
    }
  }
  for (size_t i = b->count - 1; i > 0; i--) { /* shuffle */
    size_t k = rng_next() % (i + 1);
    test_job tmp = b->jobs[i];
    b->jobs[i] = b->jobs[k];
    b->jobs[k] = tmp;
  }
}

static void mixed_free(mixed_batch *b) {
  for (size_t i = 0; i < b->count; i++)
    job_free(&b->jobs[i]);
  free(b->jobs);
}

/* Runs the mixed batch on the current variant twice: checked against the
 * single calls and the oracle, and bit-identical on repeat. */
static void run_mixed(void) {
  mixed_batch b;
  mixed_make(&b);
  for (size_t i = 0; i < b.count; i++)
    job_run_single(&b.jobs[i]);
  leakycl_job *entries = calloc(b.count, sizeof *entries);
  for (size_t i = 0; i < b.count; i++)
    entries[i] = job_entry(&b.jobs[i]);
  mismatches = 0;
  leakycl_status st = leakycl_run_jobs(ctx, entries, b.count);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  run_jobs: %s: %s\n", leakycl_status_name(st), leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_OK);
  for (size_t i = 0; i < b.count; i++)
    job_check(&b.jobs[i], &entries[i]);

  /* Repeat: every output and gradient bit-identical. */
  float **first = calloc(3 * b.count, sizeof *first);
  for (size_t i = 0; i < b.count; i++) {
    for (int k = 0; k < 3; k++) {
      first[3 * i + k] = malloc(b.jobs[i].nalpha * sizeof(float));
      memcpy(first[3 * i + k], b.jobs[i].grad[k], b.jobs[i].nalpha * sizeof(float));
    }
  }
  for (size_t i = 0; i < b.count; i++)
    entries[i] = job_entry(&b.jobs[i]);
  CHECK_INT_EQ(leakycl_run_jobs(ctx, entries, b.count), LEAKYCL_OK);
  for (size_t i = 0; i < b.count; i++) {
    const test_job *j = &b.jobs[i];
    for (size_t c = 0; j->want_grads && c < j->nalpha; c++) {
      for (int k = 0; k < 3; k++)
        if (bits_of(first[3 * i + k][c]) != bits_of(j->grad[k][c]))
          report(j, "repeat grads", c, j->grad[k][c], first[3 * i + k][c]);
    }
    for (size_t e = 0; e < j->n; e++)
      if (bits_of(((const float *)entries[i].out)[e]) != bits_of(j->single[e]))
        report(j, "repeat vs single", e, ((const float *)entries[i].out)[e], j->single[e]);
  }
  if (mismatches) {
    char desc[128];
    leakycl_variant_describe(&ctx->variant, desc, sizeof desc);
    fprintf(stderr, "  ^ %zu mismatches in %zu jobs, variant %s%s\n", mismatches, b.count, desc,
            ctx->test.force_wide_index ? ", wide index" : "");
    test_case_failed_ = 1;
  }
  for (size_t i = 0; i < 3 * b.count; i++)
    free(first[i]);
  free(first);
  free(entries);
  mixed_free(&b);
}

static void test_mixed_default_variant(void) {
  leakycl_variant v;
  CHECK_INT_EQ(leakycl_get_variant(ctx, &v), LEAKYCL_OK);
  CHECK_INT_EQ(v.strategy, device_default_strategy(ctx));
  run_mixed();
}
/* The same batch with every segment mapped (batch_device.c stages small
 * segments, as all of this batch's are, and maps large ones): both ways
 * give the single calls' bits. */
static void test_mixed_staged_and_mapped(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  const unsigned staged = ctx->test.staged_segments, mapped = ctx->test.mapped_segments;
  run_mixed();
  CHECK(ctx->test.staged_segments > staged);
  CHECK_INT_EQ(ctx->test.mapped_segments, mapped);
  lk_context_force_mapped(ctx, true);
  run_mixed();
  lk_context_force_mapped(ctx, false);
  CHECK(ctx->test.mapped_segments > mapped);
}
static void test_mixed_cpu_vw16_small_blocks(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 16, 4, 3, 100);
  run_mixed();
}
static void test_mixed_cpu_scalar(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 1, 1, 1, 7);
  run_mixed();
}
static void test_mixed_gpu(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  run_mixed();
}
static void test_mixed_gpu_odd_block(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 2, 8, 1, 37);
  run_mixed();
}
static void test_mixed_wide_index(void) {
  lk_context_force_wide_index(ctx, true);
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  run_mixed();
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  run_mixed();
  lk_context_force_wide_index(ctx, false);
}

/* A device allocation made small on purpose: the batch splits into several
 * launches and still gives every job its answer. */
static void test_several_segments(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  const uint64_t saved = ctx->info.max_alloc_bytes;
  ctx->info.max_alloc_bytes = 300000; /* 75000 floats */
  run_mixed();
  ctx->info.max_alloc_bytes = saved;
}

/* ---- every vector width under both strategies ---- */

/* The variant for one (strategy, width): reduction blocks of 100 elements
 * (CPU) or 1000 (GPU), so that a channel spans several blocks and most
 * blocks end in a partial vector. */
static void use_width(leakycl_strategy strategy, unsigned vw) {
  if (strategy == LEAKYCL_STRATEGY_CPU)
    use_variant(ctx, strategy, vw, 16, 4, 100);
  else
    use_variant(ctx, strategy, vw, 64, 1, 1000);
}

static const unsigned widths[] = {1, 2, 4, 8, 16};
#define NWIDTHS (sizeof widths / sizeof widths[0])

/* PoCL 3.1 gave dalpha -24 (vw4) or NaN (vw2) and neg_fraction 0.8 here
 * under the cpu strategy: the reduction's zero-padded tail (5 elements: one
 * vector of 4 and one lane) lost its first lanes (kernels/batch.cl,
 * LK_LANES). Exact answers: dalpha 5 * 3 * -2, every x negative, |dy*x| 6. */
static void test_reproducer_every_width(void) {
  for (int strategy = 0; strategy < 2; strategy++) {
    for (size_t w = 0; w < NWIDTHS; w++) {
      use_width((leakycl_strategy)strategy, widths[w]);
      float x0[5] = {1, 2, 3, 4, 5}, y0[5], alpha = 1.5f, x1[5], dy1[5], dx1[5];
      float da = 0, nf = 0, ma = 0, sdx[5], sda, snf, sma;
      for (int i = 0; i < 5; i++)
        x1[i] = -2.0f, dy1[i] = 3.0f;
      leakycl_grads g = {&da, &nf, &ma, NULL, 0}, sg = {&sda, &snf, &sma, NULL, 0};
      leakycl_job jobs[2];
      memset(jobs, 0, sizeof jobs);
      leakycl_params_init(&jobs[0].params, LEAKYCL_RELU);
      jobs[0].view = leakycl_view_flat(5);
      jobs[0].x = x0;
      jobs[0].out = y0;
      leakycl_params_init(&jobs[1].params, LEAKYCL_PRELU);
      jobs[1].params.alpha = &alpha;
      jobs[1].params.alpha_count = 1;
      jobs[1].op = LEAKYCL_OP_BACKWARD;
      jobs[1].view = leakycl_view_flat(5);
      jobs[1].x = x1;
      jobs[1].dy = dy1;
      jobs[1].out = dx1;
      jobs[1].grads = &g;
      CHECK_INT_EQ(leakycl_run_jobs(ctx, jobs, 2), LEAKYCL_OK);
      bool ok = da == -30.0f && nf == 1.0f && ma == 6.0f;
      for (int i = 0; i < 5; i++)
        ok = ok && y0[i] == x0[i] && dx1[i] == 4.5f;
      CHECK_INT_EQ(
          leakycl_backward(ctx, &jobs[1].params, jobs[1].view, LEAKYCL_FROM_X, x1, dy1, sdx, &sg),
          LEAKYCL_OK);
      ok = ok && bits_of(da) == bits_of(sda) && bits_of(nf) == bits_of(snf) &&
           bits_of(ma) == bits_of(sma);
      if (!ok) {
        fprintf(stderr,
                "  %s vw%u: dalpha %g neg_fraction %g mean_abs_grad %g dx[4] %g y[4] %g "
                "(want -30 1 6 4.5 5; single call %g %g %g)\n",
                leakycl_strategy_name((leakycl_strategy)strategy), widths[w], (double)da,
                (double)nf, (double)ma, (double)dx1[4], (double)y0[4], (double)sda, (double)snf,
                (double)sma);
        test_case_failed_ = 1;
      }
    }
  }
}

/* Shapes whose runs end in a partial vector at every width above 1: flat
 * sizes around the widths, and per-channel views with inner 1, 3, 5, 9
 * (the single call then narrows its width) or 16 (it does not). */
static const shape_case tail_shapes[] = {
    {1, {1}, 0},       {1, {5}, 0},       {1, {7}, 0},        {1, {17}, 0},
    {1, {31}, 0},      {1, {250}, 0},     {1, {1001}, 0},     {2, {37, 3}, 1},
    {3, {2, 3, 5}, 1}, {3, {3, 2, 9}, 1}, {3, {2, 3, 16}, 1}, {3, {5, 4, 3}, 1},
};
#define NTAIL_SHAPES (sizeof tail_shapes / sizeof tail_shapes[0])

/* Whether the single call reduces a job exactly as the batch does, so that
 * dalpha and the diagnostics must agree bit for bit: the same blocks, and
 * the same vector width (CPU strategy: the single call halves it for a
 * per-channel alpha whose inner is not a multiple) or the same work-group
 * (GPU strategy: the tree's shape). */
static bool same_reduction(const test_job *j) {
  const leakycl_variant *v = &ctx->variant;
  unsigned vw = v->vector_width;
  const bool per_channel = j->nalpha > 1;
  while (per_channel && vw > 1 && j->view.inner % vw != 0)
    vw /= 2;
  if (v->strategy == LEAKYCL_STRATEGY_CPU)
    return vw == v->vector_width;
  const lk_program_key single_key = {
      LK_FAMILY_REDUCE,      j->act, vw, per_channel, false, false, LEAKYCL_FLOAT32,
      j->params.conventions, false};
  const lk_program_key batch_key = {.family = LK_FAMILY_BATCH,
                                    .vector_width = v->vector_width,
                                    .dtype = LEAKYCL_FLOAT32,
                                    .conventions = j->params.conventions};
  lk_program *single, *batch;
  if (lk_program_get(ctx, &single_key, &single) != LEAKYCL_OK ||
      lk_program_get(ctx, &batch_key, &batch) != LEAKYCL_OK)
    return false;
  return lk_kernel_wg(ctx, single, LK_KERNEL_PARTIALS) ==
         lk_kernel_wg(ctx, batch, LK_KERNEL_BATCH_TILES);
}

/* Forward jobs of every activation next to backward jobs with dalpha
 * (prelu and phased_relu, shared and per-channel alpha) and one without,
 * over the shapes above, at the widths that PoCL 3.1 miscompiled: each job
 * against the float64 oracle and the single call (y and dx bit for bit;
 * dalpha and the diagnostics too where the single call reduces alike). */
static void test_mixed_many_jobs(void) {
  enum { PER_SHAPE = 9 };
  static const struct {
    leakycl_activation act;
    leakycl_op op;
    int mode;
    bool grads;
  } kinds[PER_SHAPE] = {
      {LEAKYCL_RELU, LEAKYCL_OP_FORWARD, BATCH_ALPHA_DEFAULT, false},
      {LEAKYCL_PRELU, LEAKYCL_OP_BACKWARD, BATCH_ALPHA_SHARED, true},
      {LEAKYCL_LEAKY_RELU, LEAKYCL_OP_FORWARD, BATCH_ALPHA_SHARED, false},
      {LEAKYCL_PRELU, LEAKYCL_OP_BACKWARD, BATCH_ALPHA_PER_CHANNEL, true},
      {LEAKYCL_PRELU, LEAKYCL_OP_FORWARD, BATCH_ALPHA_PER_CHANNEL, false},
      {LEAKYCL_PHASED_RELU, LEAKYCL_OP_BACKWARD, BATCH_ALPHA_SHARED, true},
      {LEAKYCL_PHASED_RELU, LEAKYCL_OP_FORWARD, BATCH_ALPHA_PER_CHANNEL, false},
      {LEAKYCL_PHASED_RELU, LEAKYCL_OP_BACKWARD, BATCH_ALPHA_PER_CHANNEL, true},
      {LEAKYCL_LEAKY_RELU, LEAKYCL_OP_BACKWARD, BATCH_ALPHA_DEFAULT, false},
  };
  const size_t count = NTAIL_SHAPES * PER_SHAPE;
  test_job *tj = calloc(count, sizeof *tj);
  leakycl_job *entries = calloc(count, sizeof *entries);
  for (size_t s = 0; s < NTAIL_SHAPES; s++)
    for (size_t k = 0; k < PER_SHAPE; k++)
      job_setup(&tj[s * PER_SHAPE + k], kinds[k].act, kinds[k].op, kinds[k].mode, &tail_shapes[s],
                kinds[k].grads, false, false, false);
  /* The widths PoCL 3.1 miscompiled (cpu vw2, vw4) and the gpu default:
   * each width builds every single call's program too, and `leakycl check
   * --quick` (tests/e2e/test_check.py) runs mixed batches at every width. */
  static const struct {
    leakycl_strategy strategy;
    unsigned vw;
  } runs[] = {{LEAKYCL_STRATEGY_CPU, 2}, {LEAKYCL_STRATEGY_CPU, 4}, {LEAKYCL_STRATEGY_GPU, 4}};
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    const leakycl_strategy strategy = runs[r].strategy;
    const unsigned width = runs[r].vw;
    use_width(strategy, width);
    mismatches = 0;
    for (size_t i = 0; i < count; i++) {
      job_run_single(&tj[i]);
      entries[i] = job_entry(&tj[i]);
    }
    const leakycl_status st = leakycl_run_jobs(ctx, entries, count);
    if (st != LEAKYCL_OK)
      fprintf(stderr, "  run_jobs: %s: %s\n", leakycl_status_name(st), leakycl_last_error(ctx));
    CHECK_INT_EQ(st, LEAKYCL_OK);
    for (size_t i = 0; i < count; i++) {
      const test_job *j = &tj[i];
      job_check(j, &entries[i]);
      for (size_t c = 0; j->want_grads && same_reduction(j) && c < j->nalpha; c++) {
        for (int g = 0; g < 3; g++)
          if (!same_float(j->grad[g][c], j->single_grad[g][c]))
            report(j, g == 0 ? "dalpha bits vs single" : "diagnostic bits vs single", c,
                   j->grad[g][c], j->single_grad[g][c]);
      }
    }
    if (mismatches) {
      fprintf(stderr, "  ^ %zu mismatches in %zu jobs, %s vw%u\n", mismatches, count,
              leakycl_strategy_name(strategy), width);
      test_case_failed_ = 1;
    }
  }
  for (size_t i = 0; i < count; i++)
    job_free(&tj[i]);
  free(tj);
  free(entries);
}

/* ---- threads ---- */

/* Two threads sharing the context: each batch comes out whole. */
typedef struct thread_arg {
  float x[4096], y[4096];
  int ok;
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *a = p;
  leakycl_job jobs[8];
  memset(jobs, 0, sizeof jobs);
  a->ok = 1;
  for (int rep = 0; rep < 5; rep++) {
    for (int k = 0; k < 8; k++) {
      leakycl_params_init(&jobs[k].params, LEAKYCL_RELU);
      jobs[k].view = leakycl_view_flat(512);
      jobs[k].x = a->x + 512 * k;
      jobs[k].out = a->y + 512 * k;
    }
    if (leakycl_run_jobs(ctx, jobs, 8) != LEAKYCL_OK)
      a->ok = 0;
    for (int i = 0; i < 4096; i++)
      if (!same_float(a->y[i],
                      ref_forward(LEAKYCL_CONVENTIONS_PYTORCH, LEAKYCL_RELU, a->x[i], 0, 0)))
        a->ok = 0;
  }
  return NULL;
}

static void test_two_threads(void) {
  thread_arg *args = calloc(2, sizeof *args);
  for (int t = 0; t < 2; t++)
    fill(args[t].x, 4096, -1.0f, true);
  pthread_t th[2];
  for (int t = 0; t < 2; t++)
    pthread_create(&th[t], NULL, thread_main, &args[t]);
  for (int t = 0; t < 2; t++)
    pthread_join(th[t], NULL);
  CHECK(args[0].ok && args[1].ok);
  free(args);
}

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_mixed_default_variant);
  RUN_TEST(test_mixed_staged_and_mapped);
  RUN_TEST(test_mixed_cpu_vw16_small_blocks);
  RUN_TEST(test_mixed_cpu_scalar);
  RUN_TEST(test_mixed_gpu);
  RUN_TEST(test_mixed_gpu_odd_block);
  RUN_TEST(test_mixed_wide_index);
  RUN_TEST(test_several_segments);
  RUN_TEST(test_reproducer_every_width);
  RUN_TEST(test_mixed_many_jobs);
  RUN_TEST(test_two_threads);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
