/* test_mask.c - seed 004's packed masks (leakycl_forward_mask, backward
 * with LEAKYCL_FROM_MASK) against the tests' own reading of the README's
 * layout and the float64 oracle of oracle.h: every activation x profile x
 * alpha mode x odd shapes (n = 0, 1, 31, 32, 33, several channels), float32
 * and both half types, CPU and GPU variants at several vector widths,
 * streaming stores, the copy path, device buffers, packed jobs, in place,
 * and the errors. y must be the plain forward's bits; each mask bit the
 * oracle's branch; the bits past n zero and the words after the mask
 * untouched; dx from the mask the bits of dx from x (NaN in x under ieee
 * aside, where the oracle gives dx from the bit). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "float_bits.h"
#include "half_oracle.h"
#include "op_cases.h"
#include "oracle.h"
#include "test.h"

static leakycl_context *ctx;

#define GUARD_WORDS 2
#define GUARD 0xDEADBEEFu

static const shape_case shapes[] = {
    {1, {0}, 0},        {1, {1}, 0},        {1, {31}, 0},       {1, {32}, 0},
    {1, {33}, 0},       {2, {3, 40}, 0},    {3, {2, 3, 64}, 1}, {4, {2, 5, 3, 7}, 1},
    {2, {129, 16}, -1}, {3, {2, 4, 96}, 1},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* The identity branch as the profile's backward takes it (README). */
static bool ref_identity(leakycl_conventions conv, leakycl_activation act, float x) {
  switch (act) {
  case LEAKYCL_RELU:
    return x > 0 || (conv == LEAKYCL_CONVENTIONS_PYTORCH && isnan(x));
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    return conv == LEAKYCL_CONVENTIONS_JAX ? x >= 0 : x > 0;
  default:
    return x >= 0;
  }
}

/* dx from the branch bits alone: what a mask gives where x was NaN under
 * ieee (no bit carries NaN). */
static float ref_dx_from_bits(leakycl_activation act, bool id, bool band, float dy, float a) {
  if (id)
    return dy;
  if (act == LEAKYCL_LEAKY_RELU || act == LEAKYCL_PRELU || (act == LEAKYCL_PHASED_RELU && band))
    return ref_mul(a, dy);
  return 0.0f;
}

/* One random element, as float (the value the kernels compute on). */
static float draw(float t) {
  float v;
  if (rng_edge_value(t, &v))
    return v;
  switch (rng_next() % 12) {
  case 0:
    return NAN;
  case 1:
    return rng_next() & 1 ? INFINITY : -INFINITY;
  case 2:
    return rng_next() & 1 ? FLT_MAX : -FLT_MAX;
  default:
    return (float)(rng_uniform() * 16.0 - 10.0);
  }
}

/* Element storage of either type. */
typedef struct tensor {
  leakycl_dtype dtype;
  size_t n;
  void *data;
} tensor;

static float get(const tensor *t, size_t i) {
  if (t->dtype == LEAKYCL_FLOAT32)
    return ((const float *)t->data)[i];
  return ref_widen(t->dtype, ((const uint16_t *)t->data)[i]);
}

static void put(tensor *t, size_t i, float v) {
  if (t->dtype == LEAKYCL_FLOAT32)
    ((float *)t->data)[i] = v;
  else
    ((uint16_t *)t->data)[i] = ref_narrow(t->dtype, v);
}

static tensor make(leakycl_dtype dtype, size_t n) {
  const tensor t = {dtype, n, calloc(n ? n : 1, leakycl_dtype_size(dtype))};
  return t;
}

static bool same_elem(const tensor *a, const tensor *b, size_t i) {
  if (a->dtype == LEAKYCL_FLOAT32)
    return same_float(get(a, i), get(b, i));
  return same_half(a->dtype, ((const uint16_t *)a->data)[i], ((const uint16_t *)b->data)[i]);
}

/* The stored value of a float32 result in the tensor's type. */
static bool elem_is(const tensor *t, size_t i, float want) {
  if (t->dtype == LEAKYCL_FLOAT32)
    return same_float(get(t, i), want);
  return same_half(t->dtype, ((const uint16_t *)t->data)[i], ref_narrow(t->dtype, want));
}

static uint32_t *make_mask(size_t words) {
  uint32_t *m = malloc((words + GUARD_WORDS) * sizeof *m);
  for (size_t w = 0; w < words + GUARD_WORDS; w++)
    m[w] = GUARD;
  return m;
}

static bool bit(const uint32_t *mask, size_t plane_words, int plane, size_t i) {
  return (mask[plane * plane_words + i / 32] >> (i % 32)) & 1u;
}

/* The mask against the oracle: each bit, zero bits past n, guards kept.
 * Returns the mismatches. */
static size_t check_mask_bits(const call_setup *cs, leakycl_conventions conv, const tensor *x,
                              const uint32_t *mask) {
  const leakycl_activation act = cs->params.activation;
  const size_t n = cs->n, words = leakycl_mask_words(act, n);
  const size_t plane_words = n / 32 + (n % 32 != 0);
  const int planes = act == LEAKYCL_PHASED_RELU ? 2 : 1;
  size_t bad = 0;
  CHECK_INT_EQ(words, planes * plane_words);
  for (size_t i = 0; i < n; i++) {
    float a, t;
    params_at(cs, i, &a, &t);
    const float xv = get(x, i);
    if (bit(mask, plane_words, 0, i) != ref_identity(conv, act, xv))
      bad++;
    if (planes == 2 && bit(mask, plane_words, 1, i) != (xv < 0 && xv >= t))
      bad++;
  }
  for (int p = 0; p < planes; p++) {
    if (n % 32 && mask[p * plane_words + n / 32] >> (n % 32) != 0)
      bad++;
  }
  for (size_t w = words; w < words + GUARD_WORDS; w++)
    bad += mask[w] != GUARD;
  return bad;
}

/* One case: forward with the mask against the plain forward and the
 * oracle, then backward from the mask against backward from x and the
 * oracle. in_place runs y over x and dx over dy. */
static void run_case(leakycl_conventions conv, leakycl_dtype dtype, leakycl_activation act,
                     const shape_case *sc, int alpha_mode, bool in_place) {
  call_setup cs;
  setup_call(&cs, act, sc, alpha_mode);
  cs.params.conventions = conv;
  const size_t n = cs.n;
  tensor x = make(dtype, n), dy = make(dtype, n), y_plain = make(dtype, n);
  tensor y = make(dtype, n), dx_x = make(dtype, n), dx_m = make(dtype, n);
  for (size_t i = 0; i < n; i++) {
    float a, t;
    params_at(&cs, i, &a, &t);
    put(&x, i, draw(t));
    put(&dy, i, rng_next() % 9 == 0 ? -0.0f : (float)(rng_uniform() * 4.0 - 2.0));
  }
  tensor x_copy = make(dtype, n);
  memcpy(x_copy.data, x.data, n * leakycl_dtype_size(dtype));
  const size_t words = leakycl_mask_words(act, n);
  uint32_t *mask = make_mask(words);
  char what[160];
  snprintf(what, sizeof what, "%s %s %s shape#%td alpha_mode %d%s", leakycl_conventions_name(conv),
           leakycl_dtype_name(dtype), leakycl_activation_name(act), sc - shapes, alpha_mode,
           in_place ? " in place" : "");

  leakycl_status st = leakycl_forward_typed(ctx, &cs.params, cs.view, dtype, x.data, y_plain.data);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  tensor *yt = in_place ? &x : &y;
  st = leakycl_forward_mask(ctx, &cs.params, cs.view, dtype, x.data, yt->data, mask);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  %s: %s\n", what, leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_OK);
  size_t bad_y = 0, bad_dx = 0;
  for (size_t i = 0; i < n; i++)
    bad_y += !same_elem(yt, &y_plain, i);
  const size_t bad_mask = check_mask_bits(&cs, conv, &x_copy, mask);

  st = leakycl_backward_typed(ctx, &cs.params, cs.view, dtype, LEAKYCL_FROM_X, x_copy.data, dy.data,
                              dx_x.data, NULL);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  tensor dy_copy = make(dtype, n);
  memcpy(dy_copy.data, dy.data, n * leakycl_dtype_size(dtype));
  tensor *dxt = in_place ? &dy : &dx_m;
  st = leakycl_backward_typed(ctx, &cs.params, cs.view, dtype, LEAKYCL_FROM_MASK, mask, dy.data,
                              dxt->data, NULL);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  %s: %s\n", what, leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_OK);
  const size_t plane_words = n / 32 + (n % 32 != 0);
  for (size_t i = 0; i < n; i++) {
    float a, t;
    params_at(&cs, i, &a, &t);
    const float xv = get(&x_copy, i), dyv = get(&dy_copy, i);
    if (conv == LEAKYCL_CONVENTIONS_IEEE && isnan(xv)) {
      const bool band = act == LEAKYCL_PHASED_RELU && bit(mask, plane_words, 1, i);
      bad_dx += !elem_is(dxt, i, ref_dx_from_bits(act, bit(mask, plane_words, 0, i), band, dyv, a));
    } else {
      bad_dx += !same_elem(dxt, &dx_x, i);
      bad_dx += !elem_is(dxt, i, ref_backward(conv, act, xv, dyv, a, t));
    }
  }
  if (bad_y || bad_mask || bad_dx) {
    fprintf(stderr, "  %s n=%zu: %zu y, %zu mask, %zu dx mismatches\n", what, n, bad_y, bad_mask,
            bad_dx);
    test_case_failed_ = 1;
  }
  free(x.data);
  free(dy.data);
  free(y_plain.data);
  free(y.data);
  free(dx_x.data);
  free(dx_m.data);
  free(x_copy.data);
  free(dy_copy.data);
  free(mask);
  free(cs.alpha);
}

/* Every activation, profile and alpha mode on every shape, float32. */
static void run_float32_matrix(void) {
  for (int conv = 0; conv < LEAKYCL_CONVENTIONS_COUNT; conv++) {
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      for (size_t s = 0; s < NSHAPES; s++) {
        for (int mode = 0; mode < ALPHA_MODES; mode++) {
          if (act == LEAKYCL_RELU && mode != ALPHA_DEFAULT)
            continue;
          run_case((leakycl_conventions)conv, LEAKYCL_FLOAT32, (leakycl_activation)act, &shapes[s],
                   mode, s % 3 == 1);
        }
      }
    }
  }
}

/* Both half types, the default profile, per-channel and shared alpha. */
static void run_half_matrix(void) {
  const leakycl_dtype types[2] = {LEAKYCL_FLOAT16, LEAKYCL_BFLOAT16};
  for (int k = 0; k < 2; k++) {
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      for (size_t s = 0; s < NSHAPES; s++) {
        const int mode = act == LEAKYCL_RELU ? ALPHA_DEFAULT : ALPHA_PER_CHANNEL;
        run_case(LEAKYCL_CONVENTIONS_PYTORCH, types[k], (leakycl_activation)act, &shapes[s], mode,
                 s % 4 == 2);
      }
    }
  }
}

static void test_cpu_default_variant(void) {
  leakycl_variant v;
  leakycl_device_info info;
  CHECK_INT_EQ(leakycl_context_device(ctx, &info), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_default_variant(&info, device_default_strategy(ctx), &v), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_set_variant(ctx, &v), LEAKYCL_OK);
  run_float32_matrix();
  run_half_matrix();
}

/* Vector widths 1 and 16 (the bit packing at both ends), GPU strategy at
 * 4, and streaming stores from the first element. */
static void test_other_variants(void) {
  const leakycl_variant variants[] = {
      {LEAKYCL_STRATEGY_CPU, 1, 1, 3, 7, 0},
      {LEAKYCL_STRATEGY_CPU, 16, 16, 2, 1024, 1},
      {LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024, 0},
  };
  for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
    CHECK_INT_EQ(leakycl_set_variant(ctx, &variants[v]), LEAKYCL_OK);
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      for (size_t s = 0; s < NSHAPES; s++) {
        const int mode = act == LEAKYCL_RELU ? ALPHA_DEFAULT : ALPHA_PER_CHANNEL;
        run_case(LEAKYCL_CONVENTIONS_PYTORCH, LEAKYCL_FLOAT32, (leakycl_activation)act, &shapes[s],
                 mode, false);
      }
    }
  }
}

/* Pooled copies (the discrete-device path). */
static void test_copy_path(void) {
  use_variant(ctx, device_default_strategy(ctx), 8, 16, 64, 16384);
  lk_context_set_zero_copy(ctx, false);
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
    const int mode = act == LEAKYCL_RELU ? ALPHA_DEFAULT : ALPHA_PER_CHANNEL;
    for (size_t s = 4; s < NSHAPES; s++)
      run_case(LEAKYCL_CONVENTIONS_PYTORCH, LEAKYCL_FLOAT32, (leakycl_activation)act, &shapes[s],
               mode, s == 5);
  }
  lk_context_set_zero_copy(ctx, true);
}

/* The buffer calls give the host calls' y, mask and dx; a mask buffer too
 * small is refused. */
static void test_buffers(void) {
  use_variant(ctx, device_default_strategy(ctx), 8, 16, 64, 16384);
  cl_context cl;
  cl_command_queue q;
  CHECK_INT_EQ(leakycl_context_cl(ctx, &cl, NULL, &q), LEAKYCL_OK);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PHASED_RELU);
  const size_t n = 1000;
  const leakycl_view view = {1, 1, n};
  const size_t words = leakycl_mask_words(LEAKYCL_PHASED_RELU, n);
  CHECK_INT_EQ(words, 64);
  float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy);
  float *y_host = malloc(n * sizeof *x), *dx_host = malloc(n * sizeof *x);
  float *y_buf = malloc(n * sizeof *x), *dx_buf = malloc(n * sizeof *x);
  uint32_t *m_host = make_mask(words), *m_buf = make_mask(words);
  const float t = threshold(LEAKYCL_DEFAULT_PHASED_ALPHA, LEAKYCL_DEFAULT_PHASED_BETA);
  for (size_t i = 0; i < n; i++) {
    x[i] = draw(t);
    dy[i] = (float)(rng_uniform() * 2.0 - 1.0);
  }
  CHECK_INT_EQ(leakycl_forward_mask(ctx, &p, view, LEAKYCL_FLOAT32, x, y_host, m_host), LEAKYCL_OK);
  CHECK_INT_EQ(
      leakycl_backward(ctx, &p, view, LEAKYCL_FROM_MASK, (const float *)m_host, dy, dx_host, NULL),
      LEAKYCL_OK);
  cl_int rc;
  cl_mem bx = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, x, &rc);
  cl_mem bdy = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, dy, &rc);
  cl_mem by = clCreateBuffer(cl, CL_MEM_READ_WRITE, n * 4, NULL, &rc);
  cl_mem bdx = clCreateBuffer(cl, CL_MEM_READ_WRITE, n * 4, NULL, &rc);
  cl_mem bm = clCreateBuffer(cl, CL_MEM_READ_WRITE, words * 4, NULL, &rc);
  cl_mem small = clCreateBuffer(cl, CL_MEM_READ_WRITE, words * 4 - 4, NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  CHECK_INT_EQ(leakycl_forward_mask_buffers(ctx, &p, view, LEAKYCL_FLOAT32, bx, by, bm),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_backward_buffers(ctx, &p, view, LEAKYCL_FROM_MASK, bm, bdy, bdx, NULL),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_finish(ctx), LEAKYCL_OK);
  clEnqueueReadBuffer(q, by, CL_TRUE, 0, n * 4, y_buf, 0, NULL, NULL);
  clEnqueueReadBuffer(q, bdx, CL_TRUE, 0, n * 4, dx_buf, 0, NULL, NULL);
  clEnqueueReadBuffer(q, bm, CL_TRUE, 0, words * 4, m_buf, 0, NULL, NULL);
  CHECK(memcmp(y_host, y_buf, n * 4) == 0);
  CHECK(memcmp(dx_host, dx_buf, n * 4) == 0);
  CHECK(memcmp(m_host, m_buf, words * 4) == 0);
  CHECK_INT_EQ(leakycl_forward_mask_buffers(ctx, &p, view, LEAKYCL_FLOAT32, bx, by, small),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "buffer mask holds 252 bytes; the view needs 256");
  CHECK_INT_EQ(leakycl_backward_buffers(ctx, &p, view, LEAKYCL_FROM_MASK, small, bdy, bdx, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  clReleaseMemObject(bx);
  clReleaseMemObject(bdy);
  clReleaseMemObject(by);
  clReleaseMemObject(bdx);
  clReleaseMemObject(bm);
  clReleaseMemObject(small);
  free(x);
  free(dy);
  free(y_host);
  free(dx_host);
  free(y_buf);
  free(dx_buf);
  free(m_host);
  free(m_buf);
}

/* Mask jobs in a batch with packed ones give their single calls' bits; a
 * backward job with a mask to write is refused alone. */
static void test_jobs(void) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  const float neg = -0.5f; /* backward from y could not do this one */
  p.alpha = &neg;
  p.alpha_count = 1;
  const size_t n = 77;
  const leakycl_view view = {1, 1, n};
  float x[77], dy[77], y1[77], y2[77], dx1[77], dx2[77], plain[77], plain_want[77];
  uint32_t m1[3 + GUARD_WORDS], m2[3 + GUARD_WORDS];
  for (size_t i = 0; i < n; i++) {
    x[i] = draw(0.0f);
    dy[i] = (float)(rng_uniform() * 2.0 - 1.0);
  }
  for (size_t w = 0; w < 3 + GUARD_WORDS; w++)
    m1[w] = m2[w] = GUARD;
  CHECK_INT_EQ(leakycl_forward_mask(ctx, &p, view, LEAKYCL_FLOAT32, x, y1, m1), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_MASK, (const float *)m1, dy, dx1, NULL),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_X, x, dy, plain_want, NULL),
               LEAKYCL_OK);
  leakycl_job jobs[4];
  memset(jobs, 0, sizeof jobs);
  jobs[0] = (leakycl_job){
      .op = LEAKYCL_OP_FORWARD, .params = p, .view = view, .x = x, .out = y2, .mask = m2};
  jobs[1] = (leakycl_job){
      .op = LEAKYCL_OP_BACKWARD, .params = p, .view = view, .x = x, .dy = dy, .out = plain};
  jobs[2] = (leakycl_job){.op = LEAKYCL_OP_BACKWARD,
                          .params = p,
                          .view = view,
                          .x = x,
                          .dy = dy,
                          .out = dx2,
                          .mask = m2};
  CHECK_INT_EQ(leakycl_run_jobs(ctx, jobs, 3), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(jobs[0].status, LEAKYCL_OK);
  CHECK_INT_EQ(jobs[1].status, LEAKYCL_OK);
  CHECK_INT_EQ(jobs[2].status, LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(jobs[2].error, "a backward job writes no mask");
  CHECK(memcmp(y1, y2, sizeof y1) == 0);
  CHECK(memcmp(m1, m2, sizeof m1) == 0);
  CHECK(memcmp(plain, plain_want, sizeof plain) == 0);
  jobs[3] = (leakycl_job){.op = LEAKYCL_OP_BACKWARD,
                          .params = p,
                          .view = view,
                          .source = LEAKYCL_FROM_MASK,
                          .x = m2,
                          .dy = dy,
                          .out = dx2};
  CHECK_INT_EQ(leakycl_run_jobs(ctx, &jobs[3], 1), LEAKYCL_OK);
  CHECK(memcmp(dx1, dx2, sizeof dx1) == 0);
}

/* What a mask call refuses, with nothing written. */
static void test_errors(void) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PRELU);
  const size_t n = 64;
  const leakycl_view view = {1, 1, n};
  float x[64] = {0}, y[64], dy[64] = {0}, dx[64];
  uint32_t mask[2] = {GUARD, GUARD};
  float dalpha;
  leakycl_grads g = {&dalpha, NULL, NULL, NULL, 0};
  CHECK_INT_EQ(leakycl_forward_mask(ctx, &p, view, LEAKYCL_FLOAT32, x, y, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "mask is NULL");
  CHECK_INT_EQ(leakycl_forward_mask(ctx, &p, view, LEAKYCL_FLOAT32, x, y, (uint32_t *)(x + 63)),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "the mask overlaps another array");
  CHECK_INT_EQ(leakycl_forward_mask(ctx, &p, view, (leakycl_dtype)7, x, y, mask),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_MASK, (const float *)mask, dy, dx, &g),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "backward from the mask cannot compute dalpha");
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_MASK, NULL, dy, dx, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "mask is NULL for 64 elements");
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_MASK, dy + 1, dy, dx, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "the mask overlaps another array");
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, (leakycl_source)3, x, dy, dx, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "is not x (0), y (1) or mask (2)");
  CHECK(mask[0] == GUARD && mask[1] == GUARD);
  CHECK_INT_EQ(leakycl_mask_words(LEAKYCL_RELU, 0), 0);
  CHECK_INT_EQ(leakycl_mask_words(LEAKYCL_RELU, 32), 1);
  CHECK_INT_EQ(leakycl_mask_words(LEAKYCL_PRELU, 33), 2);
  CHECK_INT_EQ(leakycl_mask_words(LEAKYCL_PHASED_RELU, 33), 4);
  CHECK_INT_EQ(leakycl_mask_words((leakycl_activation)9, 33), 0);
}

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_errors);
  RUN_TEST(test_cpu_default_variant);
  RUN_TEST(test_other_variants);
  RUN_TEST(test_copy_path);
  RUN_TEST(test_buffers);
  RUN_TEST(test_jobs);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
