/* test_dbeta.c - phased_relu's dbeta boundary estimate (leakycl_grads.dbeta
 * and dbeta_window) against a float64 oracle written here:
 *   dbeta = sum over x < 0 with |alpha*x + beta| < h/2 of dy*|alpha|*x/h
 * on random data (per-channel and shared alpha, alpha <= 0 included),
 * several windows, float32, float16 and bfloat16 storage, reduce-only and
 * backward + grads, host arrays and device buffers, odd sizes (n not a
 * multiple of the vector width, several channels, inner > 1), CPU and GPU
 * strategies, an empty tensor, packed jobs (leakycl_run_jobs) and the
 * errors. dbeta must be within dalpha's bound, 1e-6 * sum |terms|, and
 * bit-identical on repeat; dx, dalpha and the diagnostics must be
 * bit-identical with and without dbeta asked for. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "core/core.h"
#include "device/device.h"
#include "half_oracle.h"
#include "op_cases.h"
#include "oracle.h"
#include "program/program.h"
#include "test.h"

static leakycl_context *ctx;

/* Widths h of the window: narrow, middling and wide against the data. */
static const float windows[] = {0.0625f, 0.5f, 3.0f};
#define NWINDOWS (sizeof windows / sizeof windows[0])

/* Odd sizes: flat 1001 (no multiple of any width), 5 channels of inner 21,
 * 3 channels of inner 37, 16 channels of inner 8 (whole vectors), one
 * channel, and a tensor with no element. */
static const shape_case shapes[] = {
    {1, {1001}, 0},     {4, {3, 5, 7, 3}, 1}, {3, {2, 3, 37}, 1},
    {3, {4, 16, 8}, 1}, {2, {7, 1}, 1},       {2, {0, 3}, 1},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* ---- the oracle ---- */

/* Which elements are in the window is decided by the kernel's own float32
 * expression (alpha*x rounded, then + beta rounded, doubled exactly, against
 * h; the build has no fp contraction), so an element on the window's edge
 * cannot make the comparison flaky; each term and the sum are float64.
 * The ieee profile lets NaN in x poison dbeta, as it does dalpha. *abs_sum
 * gets sum |terms|, the bound's scale. */
static double ref_dbeta(const call_setup *cs, leakycl_conventions conv, const float *x,
                        const float *dy, float h, double *abs_sum) {
  double sum = 0.0, abs = 0.0;
  for (size_t i = 0; i < cs->n; i++) {
    float a, t;
    params_at(cs, i, &a, &t);
    const float u = a * x[i];
    const float v = u + cs->params.beta;
    const bool in =
        (x[i] < 0.0f && fabsf(v) * 2.0f < h) || (conv == LEAKYCL_CONVENTIONS_IEEE && isnan(x[i]));
    if (!in)
      continue;
    const double term = (double)dy[i] * fabs((double)a) * (double)x[i] / (double)h;
    sum += term;
    abs += fabs(term);
  }
  *abs_sum = abs;
  return sum;
}

static void check_dbeta(float got, double want, double abs_sum, const char *what) {
  const bool ok = isnan(want) ? isnan(got) : fabs((double)got - want) <= 1e-6 * abs_sum;
  if (!ok) {
    fprintf(stderr, "  %s: dbeta %.9g, oracle %.17g (sum |terms| %.6g)\n", what, (double)got, want,
            abs_sum);
    test_case_failed_ = 1;
  }
}

/* x spread over [-s, s/4) with s = max(4, 2|t|), so that each channel's
 * threshold and its windows hold elements; dy in [-1, 1). */
static void fill(const call_setup *cs, float *x, float *dy) {
  for (size_t i = 0; i < cs->n; i++) {
    float a, t;
    params_at(cs, i, &a, &t);
    const double s = isfinite(t) && fabs((double)t) > 2.0 ? 2.0 * fabs((double)t) : 4.0;
    x[i] = (float)((rng_uniform() * 1.25 - 1.0) * s);
    dy[i] = (float)(rng_uniform() * 2.0 - 1.0);
  }
}

/* ---- one call, by path ---- */

enum { PATH_BACKWARD, PATH_REDUCE, PATH_BUFFERS, PATH_REDUCE_BUFFERS, PATHS };
static const char *const path_names[PATHS] = {"backward", "reduce", "backward_buffers",
                                              "reduce_buffers"};

/* A device buffer holding `bytes` of p (at least 16 bytes: n may be 0). */
static cl_mem buffer_of(const void *p, size_t bytes) {
  cl_context cl;
  cl_command_queue q;
  CHECK_INT_EQ(leakycl_context_cl(ctx, &cl, NULL, &q), LEAKYCL_OK);
  cl_int rc;
  cl_mem m = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes > 16 ? bytes : 16, NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  if (bytes > 0 && p)
    CHECK_INT_EQ(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, bytes, p, 0, NULL, NULL), CL_SUCCESS);
  return m;
}

/* The call of `path` on x and dy of `dtype` (the reduce paths are float32
 * only: the API has no typed reduce); dx as it came back. */
static leakycl_status run_call(int path, leakycl_dtype dtype, const call_setup *cs, const void *x,
                               const void *dy, void *dx, const leakycl_grads *g) {
  const leakycl_params *p = &cs->params;
  if (path == PATH_BACKWARD)
    return leakycl_backward_typed(ctx, p, cs->view, dtype, LEAKYCL_FROM_X, x, dy, dx, g);
  if (path == PATH_REDUCE)
    return leakycl_reduce(ctx, p, cs->view, x, dy, g);
  const size_t bytes = cs->n * leakycl_dtype_size(dtype);
  cl_mem xb = buffer_of(x, bytes), dyb = buffer_of(dy, bytes), dxb = buffer_of(dx, bytes);
  leakycl_status st;
  if (path == PATH_BUFFERS) {
    st = leakycl_backward_buffers_typed(ctx, p, cs->view, dtype, LEAKYCL_FROM_X, xb, dyb, dxb, g);
    cl_command_queue q;
    leakycl_context_cl(ctx, NULL, NULL, &q);
    if (st == LEAKYCL_OK && bytes > 0)
      CHECK_INT_EQ(clEnqueueReadBuffer(q, dxb, CL_TRUE, 0, bytes, dx, 0, NULL, NULL), CL_SUCCESS);
  } else {
    st = leakycl_reduce_buffers(ctx, p, cs->view, xb, dyb, g);
  }
  clReleaseMemObject(xb);
  clReleaseMemObject(dyb);
  clReleaseMemObject(dxb);
  return st;
}

/* ---- the matrix ---- */

/* The gradient outputs of one call: dalpha and both diagnostics (C each),
 * and dbeta. */
typedef struct grad_out {
  float *v;
  float dbeta;
  leakycl_grads g;
} grad_out;

static void grad_out_init(grad_out *o, size_t C, bool dbeta, float h) {
  o->v = malloc(3 * C * sizeof(float));
  o->dbeta = 42.0f;
  o->g = (leakycl_grads){o->v, o->v + C, o->v + 2 * C, dbeta ? &o->dbeta : NULL, h};
}

/* One case: data of `dtype` (half types drawn as floats, rounded to the
 * type, and widened back for the oracle), then per window the call without
 * dbeta and twice with it. */
static void run_case(leakycl_conventions conv, const shape_case *sc, int alpha_mode, float beta,
                     leakycl_dtype dtype, int path) {
  call_setup cs;
  setup_call(&cs, LEAKYCL_PHASED_RELU, sc, alpha_mode);
  cs.params.beta = beta;
  cs.params.conventions = conv;
  const size_t n = cs.n, C = cs.params.alpha_count > 1 ? cs.params.alpha_count : 1;
  const size_t es = leakycl_dtype_size(dtype), m = n ? n : 1;
  float *x = malloc(m * sizeof(float)), *dy = malloc(m * sizeof(float));
  unsigned char *xs = malloc(m * es), *dys = malloc(m * es);
  unsigned char *dx0 = malloc(m * es), *dx1 = malloc(m * es), *dx2 = malloc(m * es);
  fill(&cs, x, dy);
  if (conv == LEAKYCL_CONVENTIONS_IEEE && n > 3)
    x[n / 2] = NAN;
  for (size_t i = 0; i < n; i++) {
    if (dtype == LEAKYCL_FLOAT32) {
      memcpy(xs + 4 * i, &x[i], 4);
      memcpy(dys + 4 * i, &dy[i], 4);
    } else { /* what the kernel sees: the stored value, widened */
      const uint16_t hx = ref_narrow(dtype, x[i]), hdy = ref_narrow(dtype, dy[i]);
      memcpy(xs + 2 * i, &hx, 2);
      memcpy(dys + 2 * i, &hdy, 2);
      x[i] = ref_widen(dtype, hx);
      dy[i] = ref_widen(dtype, hdy);
    }
  }
  const bool want_dx = path == PATH_BACKWARD || path == PATH_BUFFERS;
  for (size_t w = 0; w < NWINDOWS; w++) {
    const float h = windows[w];
    grad_out plain, with, again;
    grad_out_init(&plain, C, false, 0.0f);
    grad_out_init(&with, C, true, h);
    grad_out_init(&again, C, true, h);
    memset(dx0, 0x5a, m * es);
    memset(dx1, 0x5a, m * es);
    memset(dx2, 0x5a, m * es);
    CHECK_INT_EQ(run_call(path, dtype, &cs, xs, dys, dx0, &plain.g), LEAKYCL_OK);
    leakycl_status st = run_call(path, dtype, &cs, xs, dys, dx1, &with.g);
    if (st != LEAKYCL_OK)
      fprintf(stderr, "  %s\n", leakycl_last_error(ctx));
    CHECK_INT_EQ(st, LEAKYCL_OK);
    CHECK_INT_EQ(run_call(path, dtype, &cs, xs, dys, dx2, &again.g), LEAKYCL_OK);
    double abs_sum;
    const double want = ref_dbeta(&cs, conv, x, dy, h, &abs_sum);
    char what[160];
    snprintf(what, sizeof what, "%s %s %s shape %zu/%zu/%zu alpha mode %d beta %g h %g",
             path_names[path], leakycl_dtype_name(dtype), leakycl_conventions_name(conv),
             cs.view.outer, cs.view.channels, cs.view.inner, alpha_mode, (double)beta, (double)h);
    check_dbeta(with.dbeta, want, abs_sum, what);
    if (n == 0)
      CHECK(with.dbeta == 0.0f);
    CHECK(memcmp(&with.dbeta, &again.dbeta, sizeof(float)) == 0); /* on repeat */
    CHECK(plain.dbeta == 42.0f);                                  /* not asked: untouched */
    /* dbeta changes nothing else: dalpha, the diagnostics and dx. */
    CHECK(memcmp(plain.v, with.v, 3 * C * sizeof(float)) == 0);
    if (want_dx && memcmp(dx0, dx1, n * es) != 0) {
      fprintf(stderr, "  %s: dx differs with dbeta\n", what);
      test_case_failed_ = 1;
    }
    free(plain.v);
    free(with.v);
    free(again.v);
  }
  free(x);
  free(dy);
  free(xs);
  free(dys);
  free(dx0);
  free(dx1);
  free(dx2);
  free(cs.alpha);
}

/* Every shape under shared and per-channel alpha, on the paths given. */
static void run_shapes(leakycl_dtype dtype, const int *paths, size_t npaths) {
  for (size_t s = 0; s < NSHAPES; s++)
    for (int mode = ALPHA_DEFAULT; mode < ALPHA_MODES; mode++)
      for (size_t k = 0; k < npaths; k++)
        run_case(LEAKYCL_CONVENTIONS_PYTORCH, &shapes[s], mode, 0.75f, dtype, paths[k]);
}

static const int all_paths[] = {PATH_BACKWARD, PATH_REDUCE, PATH_BUFFERS, PATH_REDUCE_BUFFERS};

static void test_float32_default_variant(void) { run_shapes(LEAKYCL_FLOAT32, all_paths, PATHS); }

/* Small blocks and vectors of 16: many blocks a channel, groups and tails. */
static void test_float32_cpu_small_blocks(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 16, 4, 3, 100);
  const int paths[] = {PATH_BACKWARD, PATH_REDUCE};
  run_shapes(LEAKYCL_FLOAT32, paths, 2);
}

/* The GPU strategy (a work-group a block, the tree in local memory), with a
 * block that is no power of two. */
static void test_float32_gpu_strategy(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 2, 8, 1, 37);
  const int paths[] = {PATH_BACKWARD, PATH_REDUCE_BUFFERS};
  run_shapes(LEAKYCL_FLOAT32, paths, 2);
}

static void test_half_storage(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  const int paths[] = {PATH_BACKWARD, PATH_BUFFERS};
  run_shapes(LEAKYCL_FLOAT16, paths, 2);
  run_shapes(LEAKYCL_BFLOAT16, paths, 1);
}

/* alpha <= 0: a negative alpha flips the branch test (x >= t is
 * alpha*x + beta <= 0), which |alpha| in the term accounts for; beta of
 * either sign puts t on either side of 0. alpha = 0: y is 0 on x < 0
 * whatever beta is, and dbeta is 0. */
static void test_alpha_not_positive(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  const float betas[] = {0.75f, -0.75f};
  for (size_t b = 0; b < 2; b++) {
    run_case(LEAKYCL_CONVENTIONS_PYTORCH, &shapes[0], ALPHA_NEGATIVE, betas[b], LEAKYCL_FLOAT32,
             PATH_BACKWARD);
    run_case(LEAKYCL_CONVENTIONS_PYTORCH, &shapes[2], ALPHA_PER_CHANNEL, betas[b], LEAKYCL_FLOAT32,
             PATH_REDUCE);
  }
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PHASED_RELU);
  const float zero = 0.0f;
  p.alpha = &zero;
  p.alpha_count = 1;
  p.beta = 0.25f; /* |beta| < h/2: every x < 0 is in the window */
  float x[64], dy[64], dx[64], da, db = 42.0f;
  for (int i = 0; i < 64; i++) {
    x[i] = (float)(i - 40) * 0.5f;
    dy[i] = 1.0f + (float)i;
  }
  const leakycl_grads g = {&da, NULL, NULL, &db, 1.0f};
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(64), LEAKYCL_FROM_X, x, dy, dx, &g),
               LEAKYCL_OK);
  CHECK(db == 0.0f);
}

/* A long channel: 3 * 2^17 + 5 elements in blocks of 1000, so the
 * compensated sums see many groups and blocks; both strategies. */
static void test_long_tensor(void) {
  const shape_case big = {2, {3, 131077}, 0};
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 1000);
  run_case(LEAKYCL_CONVENTIONS_PYTORCH, &big, ALPHA_PER_CHANNEL, 0.75f, LEAKYCL_FLOAT32,
           PATH_REDUCE);
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  run_case(LEAKYCL_CONVENTIONS_PYTORCH, &big, ALPHA_LARGE, 0.75f, LEAKYCL_FLOAT32, PATH_BACKWARD);
}

/* The other profiles: ieee lets a NaN in x poison dbeta, jax is pytorch's. */
static void test_profiles(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  run_case(LEAKYCL_CONVENTIONS_IEEE, &shapes[1], ALPHA_PER_CHANNEL, 0.75f, LEAKYCL_FLOAT32,
           PATH_BACKWARD);
  run_case(LEAKYCL_CONVENTIONS_JAX, &shapes[0], ALPHA_DEFAULT, 0.75f, LEAKYCL_FLOAT32, PATH_REDUCE);
}

/* ---- packed jobs ---- */

/* A job asking for dbeta runs as its own single call inside
 * leakycl_run_jobs: its dbeta, dalpha and dx are the single call's bits,
 * the packed jobs beside it keep theirs, and a bad dbeta job fails alone. */
static void test_packed_jobs(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  enum { N = 600, C = 3, NJOBS = 5 };
  const shape_case sc = {3, {4, C, N / 12}, 1};
  call_setup cs;
  setup_call(&cs, LEAKYCL_PHASED_RELU, &sc, ALPHA_PER_CHANNEL);
  float x[N], dy[N], outs[NJOBS][N], dx_single[N], dx_prelu[N];
  fill(&cs, x, dy);
  for (int k = 0; k < NJOBS; k++)
    for (int i = 0; i < N; i++)
      outs[k][i] = 42.0f;
  float gv[NJOBS][3 * C], dbeta[NJOBS], single[3 * C], single_dbeta = 0, prelu_single[3 * C];
  for (int k = 0; k < NJOBS; k++)
    dbeta[k] = 42.0f;
  leakycl_grads g[NJOBS];
  leakycl_job jobs[NJOBS];
  memset(jobs, 0, sizeof jobs);
  for (int k = 0; k < NJOBS; k++) {
    g[k] = (leakycl_grads){gv[k], gv[k] + C, gv[k] + 2 * C, &dbeta[k], 0.5f};
    jobs[k].op = LEAKYCL_OP_BACKWARD;
    jobs[k].params = cs.params;
    jobs[k].view = cs.view;
    jobs[k].x = x;
    jobs[k].dy = dy;
    jobs[k].out = outs[k];
    jobs[k].grads = &g[k];
  }
  jobs[0].op = LEAKYCL_OP_FORWARD; /* packed */
  jobs[0].grads = NULL;
  jobs[0].dy = NULL;
  g[2].dbeta = NULL;                         /* phased_relu with dalpha, packed */
  jobs[3].params.activation = LEAKYCL_PRELU; /* prelu with dalpha, packed */
  g[3].dbeta = NULL;
  jobs[4].params.activation = LEAKYCL_PRELU; /* prelu asking for dbeta: refused */
  CHECK_INT_EQ(leakycl_run_jobs(ctx, jobs, NJOBS), LEAKYCL_INVALID_ARGUMENT);
  for (int k = 0; k < 4; k++)
    CHECK_INT_EQ(jobs[k].status, LEAKYCL_OK);
  CHECK_INT_EQ(jobs[4].status, LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(jobs[4].error, "dbeta");
  CHECK(outs[4][0] == 42.0f && dbeta[4] == 42.0f);
  CHECK(dbeta[2] == 42.0f && dbeta[3] == 42.0f);

  /* Job 1 against its single call, and the oracle. */
  const leakycl_grads gs = {single, single + C, single + 2 * C, &single_dbeta, 0.5f};
  CHECK_INT_EQ(leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, x, dy, dx_single, &gs),
               LEAKYCL_OK);
  CHECK(memcmp(&single_dbeta, &dbeta[1], sizeof(float)) == 0);
  CHECK(memcmp(single, gv[1], sizeof single) == 0);
  CHECK(memcmp(dx_single, outs[1], sizeof dx_single) == 0);
  double abs_sum;
  const double want = ref_dbeta(&cs, LEAKYCL_CONVENTIONS_PYTORCH, x, dy, 0.5f, &abs_sum);
  check_dbeta(dbeta[1], want, abs_sum, "packed job 1");
  /* Job 3 (prelu, packed beside it) as its single call gives dx. */
  leakycl_params pp = cs.params;
  pp.activation = LEAKYCL_PRELU;
  const leakycl_grads gp = {prelu_single, prelu_single + C, prelu_single + 2 * C, NULL, 0};
  CHECK_INT_EQ(leakycl_backward(ctx, &pp, cs.view, LEAKYCL_FROM_X, x, dy, dx_prelu, &gp),
               LEAKYCL_OK);
  CHECK(memcmp(dx_prelu, outs[3], sizeof dx_prelu) == 0);
  free(cs.alpha);
}

/* ---- errors ---- */

/* Refused calls write nothing: dx, dalpha and dbeta keep their sentinels. */
static void expect_refused(leakycl_status st, const char *needle, const float *dx, float da,
                           float db) {
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), needle);
  CHECK(dx[0] == 42.0f && da == 42.0f && db == 42.0f);
}

static void test_errors(void) {
  enum { N = 32 };
  float x[N], dy[N], dx[N];
  for (int i = 0; i < N; i++) {
    x[i] = (float)(i - 20) * 0.5f;
    dy[i] = 1.0f;
    dx[i] = 42.0f;
  }
  const leakycl_view view = leakycl_view_flat(N);
  float da = 42.0f, db = 42.0f;
  leakycl_params p;

  /* dbeta is phased_relu's: prelu has no beta (leaky_relu and relu have no
   * gradient at all, refused before). */
  leakycl_params_init(&p, LEAKYCL_PRELU);
  leakycl_grads g = {&da, NULL, NULL, &db, 1.0f};
  expect_refused(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_X, x, dy, dx, &g), "dbeta", dx, da,
                 db);
  expect_refused(leakycl_reduce(ctx, &p, view, x, dy, &g), "prelu has no beta", dx, da, db);

  /* The window: finite and > 0. */
  leakycl_params_init(&p, LEAKYCL_PHASED_RELU);
  const float bad[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY, -INFINITY};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    g.dbeta_window = bad[k];
    expect_refused(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_X, x, dy, dx, &g), "dbeta_window",
                   dx, da, db);
    expect_refused(leakycl_reduce(ctx, &p, view, x, dy, &g), "finite and > 0", dx, da, db);
  }
  /* Empty tensors are checked too. */
  g.dbeta_window = 0.0f;
  expect_refused(leakycl_reduce(ctx, &p, leakycl_view_flat(0), NULL, NULL, &g), "dbeta_window", dx,
                 da, db);
  /* Backward from y takes no grads at all. */
  g.dbeta_window = 1.0f;
  expect_refused(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_Y, x, dy, dx, &g), "needs x", dx, da,
                 db);
  /* dbeta NULL ignores the window: the default call. */
  g.dbeta = NULL;
  g.dbeta_window = NAN;
  CHECK_INT_EQ(leakycl_reduce(ctx, &p, view, x, dy, &g), LEAKYCL_OK);
  CHECK(db == 42.0f);
}

/* A program with LK_DBETA is its own build, and the programs without it
 * say LK_DBETA=0: an element-wise program never has it. */
static void test_program_key(void) {
  lk_program_key key = {LK_FAMILY_REDUCE, LEAKYCL_PHASED_RELU,         8,   false, false, false,
                        LEAKYCL_FLOAT32,  LEAKYCL_CONVENTIONS_PYTORCH, true};
  char with[256], without[256], other[256];
  lk_program_options(ctx, &key, with, sizeof with);
  key.dbeta = false;
  lk_program_options(ctx, &key, without, sizeof without);
  key.dbeta = true;
  key.family = LK_FAMILY_ELEMENTWISE;
  lk_program_options(ctx, &key, other, sizeof other);
  CHECK_CONTAINS(with, "-DLK_DBETA=1");
  CHECK_CONTAINS(without, "-DLK_DBETA=0");
  CHECK_CONTAINS(other, "-DLK_DBETA=0");
}

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_program_key);
  RUN_TEST(test_errors);
  RUN_TEST(test_float32_default_variant);
  RUN_TEST(test_float32_cpu_small_blocks);
  RUN_TEST(test_float32_gpu_strategy);
  RUN_TEST(test_half_storage);
  RUN_TEST(test_alpha_not_positive);
  RUN_TEST(test_long_tensor);
  RUN_TEST(test_profiles);
  RUN_TEST(test_packed_jobs);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
