/* jobs.h - activation and gradient jobs: decode and validate a request (a
 * single job or a batch) from its spliced tensors and cJSON envelope, run it
 * on the library (packing compatible batch jobs into one call), encode the
 * results. */
#ifndef LEAKYCLD_JOBS_H
#define LEAKYCLD_JOBS_H

#include <stddef.h>

#include "codec.h"
#include "errors.h"
#include "server.h"

struct cJSON;

typedef enum lkd_endpoint {
  LKD_ENDPOINT_FORWARD,
  LKD_ENDPOINT_BACKWARD,
  LKD_ENDPOINT_BATCH
} lkd_endpoint;

typedef enum lkd_op { LKD_OP_FORWARD, LKD_OP_BACKWARD } lkd_op;
typedef enum lkd_encoding { LKD_ENC_FLAT, LKD_ENC_NESTED, LKD_ENC_B64 } lkd_encoding;

/* One job from decode to encode. Inputs are borrowed (from the request's
 * splice table) or owned (*_owned, decoded from base64); outputs are owned.
 * A decoded job satisfies: count is the view's element count
 * (leakycl_view_count: 0 when any part is 0); alpha_count is 0 (the
 * default), 1 or view.channels, every alpha finite; beta is set only for
 * phased_relu; source is FROM_Y only for backward; dy (backward only) has
 * count values. */
typedef struct lkd_job {
  lkd_op op;
  size_t device; /* index into the opened devices */
  leakycl_params params;
  float alpha_scalar;
  leakycl_view view;
  leakycl_source source;
  /* The sign source (x, or y when source is FROM_Y) and dy: float32
   * values, or 16-bit patterns when dtype is float16 or bfloat16 (base64
   * tensors only; JSON number arrays are float32). out is in the same. */
  const void *x;
  const void *dy;
  leakycl_dtype dtype;
  size_t count;
  float *x_owned, *dy_owned;
  lkd_encoding encoding;
  size_t out_rank;
  size_t out_shape[LK_CODEC_MAX_RANK];
  int want_grads;
  size_t grad_count;
  const struct cJSON *id; /* echoed back in a batch result */
  /* results */
  int done;
  void *out; /* y or dx, count elements of dtype */
  float *dalpha, *neg_fraction, *mean_abs_grad;
  lkd_error err;
} lkd_job;

/* What decoding needs to know of the daemon: its limits (elements per
 * tensor, JSON nesting of the envelope, jobs per batch) and the opened
 * devices, among which a job's "device" SPEC is matched. No contexts:
 * decoding never touches OpenCL. */
typedef struct lkd_decode_cfg {
  size_t max_elements; /* the daemon passes --max-elements */
  size_t max_depth;    /* --max-depth: deepest JSON nesting in a body */
  size_t max_jobs;     /* --max-jobs: most jobs in one batch */
  const leakycl_device_info *devices;
  size_t device_count;
} lkd_decode_cfg;

/* A decoded request. The jobs borrow tensors from the splice table and
 * their "id" from the cJSON tree, so all of it lives until
 * lkd_request_free. */
typedef struct lkd_request {
  lkd_job *jobs; /* njobs entries */
  int *decoded;  /* decoded[i]: 1 when jobs[i] is valid, else jobs[i].err says why */
  size_t njobs;  /* 1 for /v1/forward and /v1/backward */
  lkd_error err; /* why the whole request failed, when decoding returned -1 */
  lk_splice_table table;
  struct cJSON *root;
} lkd_request;

/* Decodes and validates the body of POST /v1/forward, /v1/backward or
 * /v1/batch without running anything. body has len bytes and a NUL at
 * body[len]; it is modified in place and must outlive out. Returns 0 when
 * the request as a whole is well-formed: then every job is decoded or
 * carries its own error (decoded[i] == 0, jobs[i].err; a single-job
 * endpoint fails as a whole on it). Returns -1 with out->err set (a code of
 * the error table, a 4xx status unless memory ran out, a message) when the
 * body itself is bad. Either way, release out with lkd_request_free. */
int lkd_request_decode(const lkd_decode_cfg *cfg, lkd_endpoint endpoint, char *body, size_t len,
                       lkd_request *out);
/* Frees everything the request and its jobs own (outputs included); the
 * request is zeroed. */
void lkd_request_free(lkd_request *req);

/* Handles the body of POST /v1/forward, /v1/backward or /v1/batch. body has
 * len bytes and a NUL at body[len]; it is modified in place. Writes the JSON
 * response (a result or {"error":...}) to out and returns the HTTP status.
 * A batch answers 200 with a result or an error per job. */
int lkd_jobs_handle(lkd_server *s, lkd_endpoint endpoint, char *body, size_t len, lk_buf *out);

/* Shared with the Open Inference Protocol (kserve.c), which builds its own
 * jobs and runs them the same way. */

/* Runs one decoded job on its device (a small one coalesced with other
 * requests' small jobs), allocating its outputs and counting its elements
 * and launches in the metrics. Returns 0, or -1 with job->err set. */
int lkd_job_run(lkd_server *s, lkd_job *job);
/* A per-channel alpha: every value finite, and 1 (shared) or one per
 * channel. Returns 0, or -1 with e set (/v1 and /v2 give the same words). */
int lkd_alpha_values_check(const float *values, size_t count, size_t channels, lkd_error *e);
/* Frees a job's outputs and its owned inputs (x_owned, dy_owned). */
void lkd_job_release(lkd_job *job);
/* How many values cJSON would allocate for the JSON text p[0, len): a
 * bound checked before parsing an envelope. */
size_t lkd_envelope_values(const char *p, size_t len);
/* Copies user text for an error message: printable ASCII only, at most 40
 * characters ("..." after), so that messages stay short and valid JSON. */
const char *lkd_user_text(const char *s, char *out, size_t outlen);

#endif
