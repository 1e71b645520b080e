/* test_streaming.c - streaming (non-temporal) stores change where bytes go,
 * never which bytes: every activation x op x shape gives bit-identical y, dx
 * and dalpha with the streaming threshold at 1 (always) as at 0 (never), on
 * aligned and misaligned host arrays, zero-copy and copies, resident
 * buffers, and the cpu and gpu strategies. test_ops checks the never-stream
 * results against a float64 oracle; here the two store flavours must agree,
 * and the streaming programs must really have been used. */
#include <stdint.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"
#include "test.h"

static leakycl_context *ctx;

typedef struct shape3 {
  size_t outer, channels, inner;
} shape3;

static const shape3 shapes[] = {
    {1, 1, 1}, {1, 1, 17}, {1, 1, 4096}, {1, 1, 70001}, {3, 4, 64}, {2, 3, 40}, {5, 2, 1000},
};

static uint32_t rng_state = 12345u;
static float rng_value(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  const int k = (int)(rng_state >> 20) % 512 - 256;
  if (k == 255)
    return NAN;
  if (k == 254)
    return -INFINITY;
  return (float)k / 32.0f; /* exact zeros and both signs included */
}

static bool same_bits(const float *a, const float *b, size_t n) {
  return n == 0 || memcmp(a, b, n * sizeof(float)) == 0;
}

/* Whether a program of vector width vw built with LK_NT=1 is cached on the
 * context (per-channel calls may lower the width, hence the width). */
static bool streaming_program_built(unsigned vw) {
  char width[32];
  snprintf(width, sizeof width, "-DLK_VW=%u ", vw);
  for (const lk_program *p = ctx->programs; p; p = p->next) {
    if (strstr(p->options, "-DLK_NT=1") && strstr(p->options, width))
      return true;
  }
  return false;
}

static void set_threshold(size_t threshold) {
  leakycl_variant v;
  leakycl_get_variant(ctx, &v);
  v.streaming_threshold = threshold;
  CHECK_INT_EQ(leakycl_set_variant(ctx, &v), LEAKYCL_OK);
}

/* One activation on one shape: forward, backward and (for learnable alphas)
 * backward with grads, through host arrays at `offset` floats past a
 * 64-byte boundary. Results with streaming on and off must be identical. */
static void compare_case(leakycl_activation act, const shape3 *s, bool per_channel, size_t offset) {
  const size_t n = s->outer * s->channels * s->inner;
  const leakycl_view view = {s->outer, s->channels, s->inner};
  float *mem[5];
  for (int k = 0; k < 5; k++) {
    mem[k] = aligned_alloc(64, ((n + offset) * sizeof(float) + 63) / 64 * 64);
    if (!mem[k]) {
      CHECK(mem[k] != NULL);
      return;
    }
  }
  float *x = mem[0] + offset, *dy = mem[1] + offset;
  float *out[3] = {mem[2] + offset, mem[3] + offset, mem[4] + offset};
  for (size_t i = 0; i < n; i++) {
    x[i] = rng_value();
    dy[i] = rng_value();
  }
  float alphas[4] = {0.25f, -0.5f, 1.5f, 0.125f};
  leakycl_params p;
  leakycl_params_init(&p, act);
  if (per_channel) {
    p.alpha = alphas;
    p.alpha_count = s->channels;
  }
  const bool grads_ok = leakycl_activation_has_gradient(act);
  float da[2][4], nf[2][4], mag[2][4];
  float *y[2], *dx[2];
  for (int k = 0; k < 2; k++) {
    y[k] = malloc(n * sizeof(float) + 1);
    dx[k] = malloc(n * sizeof(float) + 1);
  }
  for (int streaming = 0; streaming < 2; streaming++) {
    set_threshold(streaming ? 1 : 0);
    leakycl_grads g = {da[streaming], nf[streaming], mag[streaming], NULL, 0};
    CHECK_INT_EQ(leakycl_forward(ctx, &p, view, x, out[0]), LEAKYCL_OK);
    CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_X, x, dy, out[1], NULL), LEAKYCL_OK);
    if (grads_ok)
      CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_X, x, dy, out[2], &g), LEAKYCL_OK);
    memcpy(y[streaming], out[0], n * sizeof(float));
    memcpy(dx[streaming], grads_ok ? out[2] : out[1], n * sizeof(float));
    CHECK(same_bits(out[1], dx[streaming], n));
  }
  CHECK(same_bits(y[0], y[1], n));
  CHECK(same_bits(dx[0], dx[1], n));
  if (grads_ok) {
    const size_t count = per_channel ? s->channels : 1;
    CHECK(same_bits(da[0], da[1], count) && same_bits(nf[0], nf[1], count) &&
          same_bits(mag[0], mag[1], count));
  }
  for (int k = 0; k < 2; k++) {
    free(y[k]);
    free(dx[k]);
  }
  for (int k = 0; k < 5; k++)
    free(mem[k]);
}

static void run_all(size_t offset) {
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      compare_case((leakycl_activation)act, &shapes[s], false, offset);
      if (act == LEAKYCL_PRELU || act == LEAKYCL_PHASED_RELU) {
        if (shapes[s].channels <= 4)
          compare_case((leakycl_activation)act, &shapes[s], true, offset);
      }
    }
  }
}

static void use(const char *desc) {
  leakycl_device_info d;
  leakycl_context_device(ctx, &d);
  leakycl_variant v;
  char err[512];
  CHECK_INT_EQ(leakycl_variant_parse(desc, &d, &v, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_set_variant(ctx, &v), LEAKYCL_OK);
  lk_programs_release(ctx); /* so that streaming_program_built() sees this variant's */
}

static void test_cpu_aligned_streams(void) {
  use("cpu vw8 wg16 chunk64 block16384");
  run_all(0);
  CHECK(streaming_program_built(8));
}

/* One float past the boundary: the zero-copy buffers wrap misaligned host
 * memory, so streaming must stay off there (a misaligned streaming store of
 * a vector faults on x86), and the results stay the same. */
static void test_cpu_misaligned_falls_back(void) {
  use("cpu vw8 wg16 chunk64 block16384");
  run_all(1);
  CHECK(!streaming_program_built(8));
}

static void test_cpu_vw16_odd_block(void) {
  use("cpu vw16 wg4 chunk3 block100"); /* block % vw != 0: fused dx plain */
  run_all(0);
}

static void test_gpu_strategy(void) {
  use("gpu vw4 wg64 block1024");
  run_all(0);
  CHECK(streaming_program_built(4));
}

static void test_copy_path(void) {
  lk_context_set_zero_copy(ctx, false);
  use("cpu vw8 wg16 chunk64 block16384");
  run_all(1); /* host alignment is irrelevant: the device buffers are aligned */
  CHECK(streaming_program_built(8));
  lk_context_set_zero_copy(ctx, true);
}

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_cpu_aligned_streams);
  RUN_TEST(test_cpu_misaligned_falls_back);
  RUN_TEST(test_cpu_vw16_odd_block);
  RUN_TEST(test_gpu_strategy);
  RUN_TEST(test_copy_path);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
