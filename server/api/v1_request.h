/* v1_request.h - a /v1 job request (POST /v1/forward, /v1/backward,
 * /v1/batch) decoded and validated into lkd_jobs, without running
 * anything. */
#ifndef LEAKYCLD_V1_REQUEST_H
#define LEAKYCLD_V1_REQUEST_H

#include <stddef.h>

#include "envelope.h"
#include "errors.h"
#include "job.h"

/* COMPARE (POST /v1/compare) is one job that says its op, with the
 * compare's own fields (devices, repeats) left in the envelope for its
 * handler (v1_compare.c). */
typedef enum lkd_endpoint {
  LKD_ENDPOINT_FORWARD,
  LKD_ENDPOINT_BACKWARD,
  LKD_ENDPOINT_BATCH,
  LKD_ENDPOINT_COMPARE
} lkd_endpoint;

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

struct lkd_server;
/* The limits and opened devices of server s as decoding needs them; infos
 * (LKD_MAX_DEVICES entries, living as long as the result) receives the
 * devices' descriptions. */
lkd_decode_cfg lkd_decode_cfg_of(const struct lkd_server *s, leakycl_device_info *infos);

/* A decoded request. The jobs borrow tensors and their "id" from the
 * envelope, so all of it lives until lkd_request_free. */
typedef struct lkd_request {
  lkd_job *jobs; /* njobs entries; jobs[i].err.code is LKD_OK when it is valid */
  size_t njobs;  /* 1 for /v1/forward and /v1/backward */
  lkd_error err; /* why the whole request failed, when decoding returned -1 */
  lkd_envelope envelope;
} lkd_request;

/* Decodes and validates the body of POST /v1/forward, /v1/backward,
 * /v1/batch or /v1/compare without running anything. body has len bytes
 * and a NUL at body[len]; it is modified in place and must outlive out.
 * Returns 0 when the request as a whole is well-formed: then every job is
 * decoded or carries its own error (a single-job endpoint fails as a whole
 * on it).
 * Returns -1 with out->err set (a code of the error table, a 4xx status
 * unless memory ran out, a message) when the body itself is bad. Either
 * way, release out with lkd_request_free. */
int lkd_request_decode(const lkd_decode_cfg *cfg, lkd_endpoint endpoint, char *body, size_t len,
                       lkd_request *out);
/* Frees everything the request and its jobs own (outputs included); the
 * request is zeroed. */
void lkd_request_free(lkd_request *req);

#endif
