/* jobs.h - activation and gradient jobs: decode and validate a request (a
 * single job or a batch) from its spliced tensors and cJSON envelope, run it
 * on the library (packing compatible batch jobs into one call), encode the
 * results. */
#ifndef LEAKYCLD_JOBS_H
#define LEAKYCLD_JOBS_H

#include <stddef.h>

#include "codec.h"
#include "server.h"

typedef enum lkd_endpoint {
  LKD_ENDPOINT_FORWARD,
  LKD_ENDPOINT_BACKWARD,
  LKD_ENDPOINT_BATCH
} lkd_endpoint;

/* Most jobs in one batch (each costs a few hundred bytes of state). */
#define LKD_MAX_JOBS 65536
/* Deepest JSON nesting accepted anywhere in a body. */
#define LKD_MAX_NESTING 64

/* Handles the body of POST /v1/forward, /v1/backward or /v1/batch. body has
 * len bytes and a NUL at body[len]; it is modified in place. Writes the JSON
 * response (a result or {"error":...}) to out and returns the HTTP status.
 * A batch answers 200 with a result or an error per job. */
int lkd_jobs_handle(lkd_server *s, lkd_endpoint endpoint, char *body, size_t len, lk_buf *out);

#endif
