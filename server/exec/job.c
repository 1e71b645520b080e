/* job.c - a job's outputs and the checks both protocols make alike. */
#include "job.h"

#include <math.h>
#include <stdlib.h>

int lkd_job_succeeded(const lkd_job *job) {
  return job->ran && job->err.code == LKD_OK && job->run.out;
}

void lkd_job_release(lkd_job *job) {
  free(job->run.out);
  free(job->run.mask);
  free(job->grads.dalpha);
  free(job->grads.neg_fraction);
  free(job->grads.mean_abs_grad);
  job->run.out = NULL;
  job->run.mask = NULL;
  job->run.grads = NULL;
  job->grads = (leakycl_grads){NULL, NULL, NULL, NULL, 0};
}

int lkd_alpha_values_check(const float *values, size_t count, size_t channels, lkd_error *e) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(values[i]))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "alpha[%zu] is not finite", i);
  if (count != 1 && count != channels)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "alpha has %zu values but the channel axis has %zu channels", count, channels);
  return 0;
}
