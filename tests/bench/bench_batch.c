/* bench_batch.c - microseconds per job of leakycl_run_jobs (packed: one
 * launch for the whole batch) against one leakycl_forward/leakycl_backward
 * call per job, for many small forward jobs and for a mixed batch (relu
 * forward, leaky_relu backward, prelu per-channel backward with dalpha,
 * phased_relu backward with dalpha). Medians of several runs with their
 * min-max range; figures only, never pass/fail. --dtype runs the jobs in
 * float16 or bfloat16 (their values: the float32 data's upper 16 bits, all
 * finite in either type), to compare their packing with float32's.
 *   bench_batch [--device SPEC] [--jobs N] [--n N] [--runs N] [--dtype T] [--json] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakycl.h"

#define PRELU_CHANNELS 16

typedef struct bench_cfg {
  const char *device;
  size_t jobs, n;
  int runs;
  int json;
  leakycl_dtype dtype;
} bench_cfg;

typedef struct bench_data {
  leakycl_job *jobs;
  unsigned char *x, *dy, *out; /* elements of the configured dtype */
  float alpha[PRELU_CHANNELS];
  float *dalpha, *neg, *mag;
  leakycl_grads *grads;
} bench_data;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A value in an element of es bytes: float32, or its upper 16 bits. */
static void put_value(unsigned char *at, size_t es, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  if (es == sizeof(float)) {
    memcpy(at, &bits, sizeof bits);
  } else {
    const uint16_t hi = (uint16_t)(bits >> 16);
    memcpy(at, &hi, sizeof hi);
  }
}

/* Job k of the forward batch cycles through the four activations (shared
 * alpha); of the mixed batch, through four different kinds of job. */
static void make_jobs(bench_data *d, const bench_cfg *c, int mixed) {
  const size_t total = c->jobs * c->n;
  const size_t es = leakycl_dtype_size(c->dtype);
  d->jobs = calloc(c->jobs, sizeof *d->jobs);
  d->x = malloc(total * es);
  d->dy = malloc(total * es);
  d->out = malloc(total * es);
  d->dalpha = malloc(c->jobs * PRELU_CHANNELS * sizeof(float));
  d->neg = malloc(c->jobs * PRELU_CHANNELS * sizeof(float));
  d->mag = malloc(c->jobs * PRELU_CHANNELS * sizeof(float));
  d->grads = calloc(c->jobs, sizeof *d->grads);
  if (!d->jobs || !d->x || !d->dy || !d->out || !d->dalpha || !d->neg || !d->mag || !d->grads) {
    fprintf(stderr, "bench_batch: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < total; i++) {
    const float x = (float)((int)(i * 2654435761u % 2001) - 1000) * 0.01f;
    const float dy = (float)((int)(i * 40503u % 201) - 100) * 0.01f;
    put_value(d->x + i * es, es, x);
    put_value(d->dy + i * es, es, dy);
  }
  for (int ch = 0; ch < PRELU_CHANNELS; ch++)
    d->alpha[ch] = 0.05f * (float)(ch + 1);
  for (size_t k = 0; k < c->jobs; k++) {
    leakycl_job *j = &d->jobs[k];
    const int kind = (int)(k % 4);
    leakycl_params_init(&j->params, (leakycl_activation)kind);
    j->view = leakycl_view_flat(c->n);
    j->dtype = c->dtype;
    j->x = d->x + k * c->n * es;
    j->dy = d->dy + k * c->n * es;
    j->out = d->out + k * c->n * es;
    d->grads[k] = (leakycl_grads){d->dalpha + k * PRELU_CHANNELS, d->neg + k * PRELU_CHANNELS,
                                  d->mag + k * PRELU_CHANNELS, NULL, 0};
    if (!mixed) {
      j->op = LEAKYCL_OP_FORWARD;
      continue;
    }
    j->op = kind == 0 ? LEAKYCL_OP_FORWARD : LEAKYCL_OP_BACKWARD;
    if (kind == LEAKYCL_PRELU && c->n % PRELU_CHANNELS == 0) {
      /* [1, C, n/C]: one alpha per channel, NCHW-like. */
      j->view = (leakycl_view){1, PRELU_CHANNELS, c->n / PRELU_CHANNELS};
      j->params.alpha = d->alpha;
      j->params.alpha_count = PRELU_CHANNELS;
    }
    if (kind >= LEAKYCL_PRELU)
      j->grads = &d->grads[k];
  }
}

static void free_jobs(bench_data *d) {
  free(d->jobs), free(d->x), free(d->dy), free(d->out);
  free(d->dalpha), free(d->neg), free(d->mag), free(d->grads);
}

/* Seconds of one pass over every job, packed or one call each. */
static double run_once(leakycl_context *ctx, bench_data *d, size_t count, int packed) {
  const double t0 = now_s();
  leakycl_status st = LEAKYCL_OK;
  if (packed) {
    st = leakycl_run_jobs(ctx, d->jobs, count);
  } else {
    for (size_t k = 0; k < count && st == LEAKYCL_OK; k++) {
      leakycl_job *j = &d->jobs[k];
      st = j->op == LEAKYCL_OP_FORWARD
               ? leakycl_forward_typed(ctx, &j->params, j->view, j->dtype, j->x, j->out)
               : leakycl_backward_typed(ctx, &j->params, j->view, j->dtype, j->source, j->x, j->dy,
                                        j->out, j->grads);
    }
  }
  const double t = now_s() - t0;
  if (st != LEAKYCL_OK) {
    fprintf(stderr, "bench_batch: %s: %s\n", leakycl_status_name(st), leakycl_last_error(ctx));
    exit(1);
  }
  return t;
}

static void measure(leakycl_context *ctx, const bench_cfg *c, int mixed) {
  bench_data d;
  make_jobs(&d, c, mixed);
  const char *op = mixed ? "mixed" : "forward";
  double median[2];
  for (int packed = 1; packed >= 0; packed--) {
    run_once(ctx, &d, c->jobs, packed); /* warm-up: builds, first launches, pools */
    double *us = malloc((size_t)c->runs * sizeof *us);
    for (int r = 0; r < c->runs; r++)
      us[r] = 1e6 * run_once(ctx, &d, c->jobs, packed) / (double)c->jobs;
    qsort(us, (size_t)c->runs, sizeof *us, cmp_double);
    median[packed] = us[c->runs / 2];
    const char *mode = packed ? "packed" : "single";
    if (c->json)
      printf("{\"bench\":\"batch\",\"jobs\":%zu,\"n\":%zu,\"dtype\":\"%s\",\"op\":\"%s\","
             "\"mode\":\"%s\",\"us_per_job\":%.3f,\"min\":%.3f,\"max\":%.3f}\n",
             c->jobs, c->n, leakycl_dtype_name(c->dtype), op, mode, median[packed], us[0],
             us[c->runs - 1]);
    else
      printf("%-7s %zu x %zu %s  %-6s %9.2f us/job  (min %.2f, max %.2f, %d runs)\n", op, c->jobs,
             c->n, leakycl_dtype_name(c->dtype), mode, median[packed], us[0], us[c->runs - 1],
             c->runs);
    free(us);
  }
  if (!c->json)
    printf("%-7s packed is %.1fx faster than one call per job\n", op, median[0] / median[1]);
  free_jobs(&d);
}

static size_t parse_size(const char *s, const char *flag) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v == 0) {
    fprintf(stderr, "bench_batch: %s wants a positive integer, not \"%s\"\n", flag, s);
    exit(2);
  }
  return (size_t)v;
}

static leakycl_dtype parse_dtype(const char *s) {
  for (int t = 0; t < 3; t++) {
    const char *name = leakycl_dtype_name((leakycl_dtype)t);
    if (name && strcmp(name, s) == 0)
      return (leakycl_dtype)t;
  }
  fprintf(stderr, "bench_batch: --dtype wants float32, float16 or bfloat16, not \"%s\"\n", s);
  exit(2);
}

int main(int argc, char **argv) {
  bench_cfg c = {"auto", 1000, 4096, 9, 0, LEAKYCL_FLOAT32};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0)
      c.json = 1;
    else if (strcmp(a, "--device") == 0 && i + 1 < argc)
      c.device = argv[++i];
    else if (strcmp(a, "--jobs") == 0 && i + 1 < argc)
      c.jobs = parse_size(argv[++i], a);
    else if (strcmp(a, "--n") == 0 && i + 1 < argc)
      c.n = parse_size(argv[++i], a);
    else if (strcmp(a, "--runs") == 0 && i + 1 < argc)
      c.runs = (int)parse_size(argv[++i], a);
    else if (strcmp(a, "--dtype") == 0 && i + 1 < argc)
      c.dtype = parse_dtype(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_batch [--device SPEC] [--jobs N] [--n N] [--runs N] "
                      "[--dtype float32|float16|bfloat16] [--json]\n");
      return 2;
    }
  }
  char err[512];
  leakycl_context *ctx;
  if (leakycl_context_create(c.device, &ctx, err, sizeof err) != LEAKYCL_OK) {
    fprintf(stderr, "bench_batch: %s\n", err);
    return 1;
  }
  if (!c.json) {
    leakycl_device_info info;
    leakycl_variant v;
    char desc[128] = "";
    leakycl_context_device(ctx, &info);
    leakycl_get_variant(ctx, &v);
    leakycl_variant_describe(&v, desc, sizeof desc);
    printf("# %s (%s), variant %s\n", info.name, info.platform_name, desc);
  }
  measure(ctx, &c, 0);
  measure(ctx, &c, 1);
  leakycl_context_release(ctx);
  return 0;
}
