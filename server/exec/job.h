/* job.h - the daemon's one job type, from the decoder to the kernel and
 * back: the library's leakycl_job (what runs, and its own status and
 * message) and what the daemon keeps beside it (device, storage for a
 * scalar alpha and the gradients, the error it answers). /v1 and /v2
 * decode into it, exec/run.c runs it, each protocol encodes it. */
#ifndef LEAKYCLD_JOB_H
#define LEAKYCLD_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "arrays.h"
#include "errors.h"
#include "leakycl.h"

struct cJSON;

/* A job's device when the request named none: the scheduler picks one
 * (exec/schedule.c). */
#define LKD_DEVICE_ANY ((size_t)-1)

/* How a job's tensors travel (and its answer is written): a flat or nested
 * JSON number array, or base64 of little-endian values. */
typedef enum lkd_encoding { LKD_ENC_FLAT, LKD_ENC_NESTED, LKD_ENC_B64 } lkd_encoding;

/* A decoded job satisfies: count is the view's element count
 * (leakycl_view_count: 0 when any part is 0); params.alpha_count is 0
 * (the default), 1 or view.channels, every alpha finite; beta is set only
 * for phased_relu; source is FROM_Y or FROM_MASK only for backward; dy
 * (backward only) has count elements of the job's dtype, like x; from the
 * mask, x holds leakycl_mask_words(activation, count) words. Inputs are
 * borrowed from the request; out, the mask a forward writes and the
 * gradients are owned (lkd_job_release). */
typedef struct lkd_job {
  leakycl_job run;     /* run.out and run.grads are set by lkd_jobs_run */
  size_t device;       /* index into the opened devices, or LKD_DEVICE_ANY */
  size_t count;        /* elements of x, dy and out */
  float alpha_scalar;  /* run.params.alpha points here for one number */
  int want_grads;      /* backward of prelu or phased_relu from x */
  int want_mask;       /* forward that also writes the packed mask (run.mask) */
  size_t grad_count;   /* values of dalpha and each diagnostic */
  leakycl_grads grads; /* run.grads points here when want_grads */
  /* phased_relu's dbeta boundary estimate, when the job gives
   * "dbeta_window" (want_grads then holds): grads.dbeta points at dbeta. */
  int want_dbeta;
  float dbeta_window;
  float dbeta;
  /* How the answer is written: the inputs' encoding and nesting, and the
   * id a batch job echoes back (borrowed from the request's tree). */
  lkd_encoding encoding;
  size_t out_rank;
  size_t out_shape[LKT_MAX_RANK];
  const struct cJSON *id;
  int ran; /* lkd_jobs_run took it, whatever the outcome */
  /* What the scheduler charged to its device's queue until it ran
   * (exec/schedule.c): queued is set from the charge to the discharge. */
  int queued;
  int64_t queued_ns;
  /* Measured by lkd_jobs_run: from handing the job to its device's
   * coalescer to the start of the library call that carried it (waiting
   * behind other launches), and that call's wall time (shared with the
   * jobs it carried). */
  int64_t wait_ns, run_ns;
  lkd_error err; /* why it failed (decode or run), LKD_OK else */
} lkd_job;

/* Whether the job ran and has its outputs. */
int lkd_job_succeeded(const lkd_job *job);
/* Frees the job's outputs; the job can be released again. */
void lkd_job_release(lkd_job *job);
/* Checks a per-channel alpha: every value finite, and 1 (shared) or one per
 * channel. Returns 0, or -1 with e set (/v1 and /v2 give the same words). */
int lkd_alpha_values_check(const float *values, size_t count, size_t channels, lkd_error *e);

#endif
