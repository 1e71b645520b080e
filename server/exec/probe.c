/* probe.c - start-up timing of each opened device (probe.h). */
#include "probe.h"

#include <stdlib.h>

#include "load.h"
#include "log.h"

#define LKD_PROBE_REPEATS 3
/* One job of each size class: 4 Ki elements (packed) and 1 Mi (alone). */
static const size_t lkd_probe_elements[LKD_SIZE_CLASSES] = {(size_t)1 << 12, (size_t)1 << 20};

static int lkd_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median seconds of one job run alone; a negative value when it failed
 * (the library's message is in the job). */
static double lkd_probe_time(leakycl_context *ctx, leakycl_job *job) {
  double t[LKD_PROBE_REPEATS];
  for (size_t r = 0; r < LKD_PROBE_REPEATS; r++) {
    leakycl_job *one = job;
    double t0 = lkd_load_clock();
    if (leakycl_run_job_list(ctx, &one, 1) != LEAKYCL_OK)
      return -1;
    t[r] = lkd_load_clock() - t0;
  }
  qsort(t, LKD_PROBE_REPEATS, sizeof t[0], lkd_cmp_double);
  return t[LKD_PROBE_REPEATS / 2];
}

/* Times every op and class on device d with the shared inputs x, dy and
 * the output buffer out (each of the largest size). */
static void lkd_probe_device(lkd_server *s, size_t d, const float *x, const float *dy, float *out) {
  lkd_device *dev = &s->devices[d];
  for (int op = LEAKYCL_OP_FORWARD; op <= LEAKYCL_OP_BACKWARD; op++) {
    for (lkd_size_class k = 0; k < LKD_SIZE_CLASSES; k++) {
      size_t n = lkd_probe_elements[k];
      leakycl_job job = {.op = (leakycl_op)op,
                         .view = leakycl_view_flat(n),
                         .source = LEAKYCL_FROM_X,
                         .x = x,
                         .dy = op ? dy : NULL,
                         .out = out};
      leakycl_params_init(&job.params, LEAKYCL_LEAKY_RELU);
      double seconds = lkd_probe_time(dev->ctx, &job);
      if (seconds < 0) {
        lkd_log(LKD_LOG_WARN, "timing device %zu (%s) failed: %s: %s", d, dev->info.name,
                leakycl_status_name(job.status), job.error);
        continue;
      }
      lkd_load_observe(&dev->load, job.op, k, seconds / (double)n);
    }
  }
}

void lkd_probe_devices(lkd_server *s) {
  if (s->device_count < 2)
    return;
  size_t n = lkd_probe_elements[LKD_SIZE_CLASSES - 1];
  float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy), *out = malloc(n * sizeof *out);
  if (x && dy && out) {
    /* Normal numbers of both signs, so both branches of the kernels run. */
    for (size_t i = 0; i < n; i++) {
      x[i] = (float)((int)(i % 17) - 8) * 0.25f;
      dy[i] = (float)((int)(i % 5) - 2) * 0.5f;
    }
    for (size_t d = 0; d < s->device_count; d++)
      lkd_probe_device(s, d, x, dy, out);
  } else {
    lkd_log(LKD_LOG_WARN, "no memory to time the devices: the scheduler starts unmeasured");
  }
  free(x);
  free(dy);
  free(out);
}
