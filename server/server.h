/* server.h - leakycld's configuration and the state shared by its modules:
 * the open device contexts, the token, the metrics and the /v2 models'
 * statistics. */
#ifndef LEAKYCLD_SERVER_H
#define LEAKYCLD_SERVER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "coalesce.h"
#include "leakycl.h"
#include "log.h"

#define LKD_MAX_DEVICES 32
#define LKD_DEFAULT_PORT 8080u
/* Deepest JSON nesting of a body (objects and arrays), --max-depth. */
#define LKD_DEFAULT_MAX_DEPTH 64
/* Most jobs in one batch, --max-jobs (each costs a few hundred bytes of
 * state before anything runs). */
#define LKD_DEFAULT_MAX_JOBS 65536
/* --header-timeout: seconds for a request's headers (nginx's
 * client_header_timeout is 60; ours are a few hundred bytes), also the
 * grace before --min-rate applies to a body or an answer. */
#define LKD_DEFAULT_HEADER_TIMEOUT 10
/* --min-rate: bytes/s a body must arrive and an answer be read at, past
 * the grace (a slow mobile link still does tens of KiB/s). */
#define LKD_DEFAULT_MIN_RATE 4096

typedef struct lkd_metrics lkd_metrics;

/* Everything the command line sets. */
typedef struct lkd_config {
  char host[256];
  unsigned port; /* 0: any free port, printed on stdout */
  const char *device_specs[LKD_MAX_DEVICES];
  size_t device_spec_count; /* 0 means $LEAKYCL_DEVICE or "auto" */
  unsigned threads;
  size_t max_body;          /* bytes of one request body */
  size_t max_elements;      /* numbers in one tensor */
  size_t max_depth;         /* JSON nesting of one body */
  size_t max_jobs;          /* jobs in one batch */
  unsigned max_connections; /* open at once; more are answered 503 and closed */
  unsigned timeout_s;       /* a connection idle this long is closed */
  /* The HTTP layer's protections (server/http/watch.c, budget.c, memory.c). */
  size_t max_inflight_bytes; /* bodies and answers held at once; 0: a quarter of memory */
  unsigned header_timeout_s; /* a request's headers must arrive within it */
  size_t min_rate;           /* bytes/s of a body or an answer read, after the grace; 0: off */
  unsigned max_per_address;  /* connections open from one address; 0: no limit */
  const char *token_file;
  /* --program-binary: bundles, each loaded into the opened device it was
   * compiled for. */
  const char *bundles[LKD_MAX_DEVICES];
  size_t bundle_count;
  lkd_log_level log_level; /* --log-level (--quiet: warn); default info */
  int log_json;            /* --log-format json */
} lkd_config;

/* One opened device. */
typedef struct lkd_device {
  leakycl_context *ctx;
  leakycl_device_info info;
  /* Jobs of concurrent requests share one launch (exec/coalesce.c). */
  lkd_coalescer coalescer;
  /* Its queue, totals and speeds, for the scheduler (exec/schedule.c). */
  lkd_load load;
} lkd_device;

/* The Open Inference Protocol's models (api/v2_models.c names them). */
#define LKD_KSERVE_MODELS 8

/* One /v2 model's inferences since start, for Triton's statistics
 * extension and its nv_inference_* metrics (api/v2_stats.c): requests by
 * outcome and the nanoseconds they took, added by the request threads. */
typedef struct lkd_model_stats {
  _Atomic uint64_t success, fail;       /* inference requests */
  _Atomic uint64_t success_ns, fail_ns; /* from the handler's start to the answer */
  /* Of the successes: decoding, waiting for the device, the library call
   * that carried the job, writing the answer. */
  _Atomic uint64_t input_ns, queue_ns, infer_ns, output_ns;
  _Atomic uint64_t last_ms; /* the last inference, ms since the epoch (0: none) */
} lkd_model_stats;

typedef struct lkd_server {
  lkd_config config;
  lkd_device devices[LKD_MAX_DEVICES]; /* opened, the first is the default */
  size_t device_count;
  leakycl_device_info *seen; /* every device listed at start */
  size_t seen_count;
  char *token; /* NULL: no authentication */
  size_t token_len;
  lkd_metrics *metrics;
  /* By the model's index in the /v2 model table. */
  lkd_model_stats model_stats[LKD_KSERVE_MODELS];
  /* Job bodies over LKD_BIG_BODY hold one of LKD_BIG_SLOTS while they
   * decode, run and answer (the HTTP layer takes it; see route.h). */
  sem_t big_slots;
} lkd_server;

#define LKD_BIG_BODY ((size_t)1 << 20)
#define LKD_BIG_SLOTS 4

#endif
