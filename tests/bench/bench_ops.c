/* bench_ops.c - resident throughput (GB/s) of forward, backward and the
 * dalpha reduction per variant on one device, beside a plain C loop on the
 * same data. Warm-up, then the median and range of several timed runs; it
 * prints figures and never passes or fails on time.
 *   bench_ops [--device SPEC] [--n N] [--reps R] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakycl.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef enum { OP_FORWARD, OP_BACKWARD, OP_REDUCE } bench_op;
static const char *const op_names[] = {"forward", "backward", "reduce"};
/* Bytes moved per element: read x (+dy), write y/dx. */
static const double op_bytes[] = {8, 12, 8};

typedef struct bench_data {
  leakycl_context *ctx;
  leakycl_params params;
  size_t n;
  cl_mem x, dy, out;
  float *hx, *hdy, *hout;
} bench_data;

static int run_op(bench_data *d, bench_op op) {
  leakycl_view v = leakycl_view_flat(d->n);
  float dalpha;
  leakycl_grads g = {&dalpha, NULL, NULL, NULL, 0};
  leakycl_status st;
  if (op == OP_FORWARD)
    st = leakycl_forward_buffers(d->ctx, &d->params, v, d->x, d->out);
  else if (op == OP_BACKWARD)
    st = leakycl_backward_buffers(d->ctx, &d->params, v, LEAKYCL_FROM_X, d->x, d->dy, d->out, NULL);
  else
    st = leakycl_reduce_buffers(d->ctx, &d->params, v, d->x, d->dy, &g);
  if (st == LEAKYCL_OK)
    st = leakycl_finish(d->ctx);
  if (st != LEAKYCL_OK) {
    fprintf(stderr, "bench_ops: %s: %s\n", leakycl_status_name(st), leakycl_last_error(d->ctx));
    return -1;
  }
  return 0;
}

/* The same op as a plain C loop (the compiler vectorizes it). */
static void run_c_loop(bench_data *d, bench_op op) {
  const float a = 0.25f;
  if (op == OP_FORWARD) {
    for (size_t i = 0; i < d->n; i++)
      d->hout[i] = d->hx[i] > 0 ? d->hx[i] : a * d->hx[i];
  } else if (op == OP_BACKWARD) {
    for (size_t i = 0; i < d->n; i++)
      d->hout[i] = d->hx[i] > 0 ? d->hdy[i] : a * d->hdy[i];
  } else {
    float s = 0;
    for (size_t i = 0; i < d->n; i++)
      s += d->hx[i] > 0 ? 0.0f : d->hdy[i] * d->hx[i];
    d->hout[0] = s;
  }
}

static void report(const char *who, bench_op op, size_t n, double *t, int reps) {
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  const double gb = op_bytes[op] * (double)n / 1e9;
  printf("%-28s %-9s n=%zu  median %.2f GB/s  (range %.2f-%.2f)  %.3f ms\n", who, op_names[op], n,
         gb / t[reps / 2], gb / t[reps - 1], gb / t[0], 1e3 * t[reps / 2]);
}

int main(int argc, char **argv) {
  const char *spec = "auto";
  size_t n = (size_t)1 << 26;
  int reps = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--device") == 0)
      spec = argv[i + 1];
    else if (strcmp(argv[i], "--n") == 0)
      n = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--reps") == 0)
      reps = atoi(argv[i + 1]);
  }
  if (n == 0 || reps < 1 || reps > 101) {
    fprintf(stderr, "usage: bench_ops [--device SPEC] [--n N>0] [--reps 1..101]\n");
    return 2;
  }
  char err[4096];
  bench_data d = {0};
  d.n = n;
  if (leakycl_context_create(spec, &d.ctx, err, sizeof err) != LEAKYCL_OK) {
    fprintf(stderr, "bench_ops: %s\n", err);
    return 1;
  }
  leakycl_device_info info;
  leakycl_context_device(d.ctx, &info);
  printf("device %u:%u %s (%s)\n", info.platform_index, info.device_index, info.name,
         info.platform_name);
  leakycl_params_init(&d.params, LEAKYCL_PRELU);
  d.hx = malloc(n * 4), d.hdy = malloc(n * 4), d.hout = malloc(n * 4);
  if (!d.hx || !d.hdy || !d.hout) {
    fprintf(stderr, "bench_ops: no memory for %zu floats\n", n);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    d.hx[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    d.hdy[i] = (float)((i * 40503u) % 1001) / 1000.0f;
  }
  cl_context cl;
  leakycl_context_cl(d.ctx, &cl, NULL, NULL);
  cl_int rc1, rc2, rc3;
  d.x = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, d.hx, &rc1);
  d.dy = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, d.hdy, &rc2);
  d.out = clCreateBuffer(cl, CL_MEM_READ_WRITE, n * 4, NULL, &rc3);
  if (rc1 != CL_SUCCESS || rc2 != CL_SUCCESS || rc3 != CL_SUCCESS) {
    fprintf(stderr, "bench_ops: clCreateBuffer failed (%d %d %d)\n", rc1, rc2, rc3);
    return 1;
  }
  leakycl_variant defaults;
  leakycl_get_variant(d.ctx, &defaults);
  leakycl_variant variants[2] = {defaults, defaults};
  /* The other strategy too, so both families are measured on every device. */
  leakycl_default_variant(&info,
                          defaults.strategy == LEAKYCL_STRATEGY_CPU ? LEAKYCL_STRATEGY_GPU
                                                                    : LEAKYCL_STRATEGY_CPU,
                          &variants[1]);
  double *t = malloc((size_t)reps * sizeof *t);
  for (int op = OP_FORWARD; op <= OP_REDUCE; op++) {
    for (int vi = 0; vi < 2; vi++) {
      char name[128];
      if (leakycl_set_variant(d.ctx, &variants[vi]) != LEAKYCL_OK) {
        printf("variant skipped: %s\n", leakycl_last_error(d.ctx));
        continue;
      }
      leakycl_variant_describe(&variants[vi], name, sizeof name);
      if (run_op(&d, (bench_op)op) != 0 || run_op(&d, (bench_op)op) != 0) /* warm up */
        return 1;
      for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (run_op(&d, (bench_op)op) != 0)
          return 1;
        t[r] = now() - t0;
      }
      report(name, (bench_op)op, n, t, reps);
    }
    run_c_loop(&d, (bench_op)op);
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      run_c_loop(&d, (bench_op)op);
      t[r] = now() - t0;
    }
    report("plain C loop (1 thread)", (bench_op)op, n, t, reps);
  }
  free(t);
  clReleaseMemObject(d.x), clReleaseMemObject(d.dy), clReleaseMemObject(d.out);
  free(d.hx), free(d.hdy), free(d.hout);
  leakycl_context_release(d.ctx);
  return 0;
}
