/* run.c - decoded jobs onto their devices through the coalescer, and the
 * library's verdict back into each job's error. */
#include "run.h"

#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "metrics.h"
#include "schedule.h"

/* The daemon's error for a failed library status and its message: the
 * caller's mistakes are 400s, the device's failures 503s. */
static void lkd_status_error(lkd_job *job) {
  const leakycl_status st = job->run.status;
  const char *detail = job->run.error[0] ? job->run.error : leakycl_status_message(st);
  if (st == LEAKYCL_INVALID_ARGUMENT || st == LEAKYCL_UNSUPPORTED)
    lkd_fail(&job->err, LKD_INVALID_ARGUMENT, "%s", detail);
  else
    lkd_fail(&job->err, LKD_DEVICE_ERROR, "%s: %s", leakycl_status_name(st), detail);
}

/* y or dx, the mask and the gradient when the job wants them. 0, or -1
 * with the job's error set. */
static int lkd_job_alloc_outputs(lkd_job *job) {
  job->run.out = malloc((job->count ? job->count : 1) * leakycl_dtype_size(job->run.dtype));
  if (job->want_mask) {
    const size_t words = leakycl_mask_words(job->run.params.activation, job->count);
    job->run.mask = malloc((words ? words : 1) * sizeof(uint32_t));
  }
  if (job->want_grads) {
    job->grads.dalpha = malloc(job->grad_count * sizeof(float));
    job->grads.neg_fraction = malloc(job->grad_count * sizeof(float));
    job->grads.mean_abs_grad = malloc(job->grad_count * sizeof(float));
    if (job->want_dbeta) {
      job->grads.dbeta = &job->dbeta;
      job->grads.dbeta_window = job->dbeta_window;
    }
    job->run.grads = &job->grads;
  }
  if (!job->run.out || (job->want_mask && !job->run.mask) ||
      (job->want_grads &&
       (!job->grads.dalpha || !job->grads.neg_fraction || !job->grads.mean_abs_grad))) {
    lkd_job_release(job);
    return lkd_fail(&job->err, LKD_OUT_OF_MEMORY, "out of memory for %zu elements", job->count);
  }
  return 0;
}

/* Runs the m prepared jobs of device d (batch) and counts them. */
static void lkd_device_run(lkd_server *s, size_t d, lkd_job *const *jobs, size_t n,
                           leakycl_job *const *batch, size_t m) {
  lkd_device *dev = &s->devices[d];
  const double handed = lkd_load_clock();
  double launch[2] = {handed, handed};
  if (lkd_coalesce_run(&dev->coalescer, &dev->load, dev->ctx, batch, m, launch) > 0)
    lkd_metrics_launch(s->metrics);
  uint64_t elements = 0;
  for (size_t i = 0; i < n; i++) {
    lkd_job *job = jobs[i];
    if (job->device != d || !job->ran || job->err.code != LKD_OK)
      continue;
    job->wait_ns = (int64_t)((launch[0] - handed) * 1e9);
    job->run_ns = (int64_t)((launch[1] - launch[0]) * 1e9);
    if (job->run.status == LEAKYCL_OK) {
      elements += job->count;
    } else {
      lkd_status_error(job);
      lkd_job_release(job);
    }
  }
  lkd_metrics_elements(s->metrics, elements);
  atomic_fetch_add_explicit(&dev->load.jobs, m, memory_order_relaxed);
  atomic_fetch_add_explicit(&dev->load.elements, elements, memory_order_relaxed);
}

void lkd_jobs_run(lkd_server *s, lkd_job *const *jobs, size_t n) {
  lkd_sched_place(s, jobs, n);
  leakycl_job **batch = malloc((n ? n : 1) * sizeof *batch);
  for (size_t d = 0; d < s->device_count; d++) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      lkd_job *job = jobs[i];
      if (job->err.code != LKD_OK || job->device != d || job->ran)
        continue;
      job->ran = 1;
      if (!batch) {
        lkd_fail(&job->err, LKD_OUT_OF_MEMORY, "out of memory for %zu jobs", n);
        continue;
      }
      if (lkd_job_alloc_outputs(job) == 0)
        batch[m++] = &job->run;
    }
    if (m > 0)
      lkd_device_run(s, d, jobs, n, batch, m);
    lkd_sched_discharge(s, jobs, n, d);
  }
  free(batch);
}
