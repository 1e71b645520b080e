/* v2_stats.h - Triton's statistics extension on /v2: every inference timed
 * into its model's counters (lkd_server.model_stats), read back by GET
 * /v2/models[/{name}[/versions/1]]/stats and by the nv_inference_* metrics
 * (v2_metrics.c). */
#ifndef LEAKYCLD_V2_STATS_H
#define LEAKYCLD_V2_STATS_H

#include <stdint.h>

#include "job.h"
#include "route.h"
#include "v2_models.h"

/* When one inference passed its steps (CLOCK_MONOTONIC nanoseconds,
 * lkd_v2_clock_ns): the handler began, the request was decoded, the job
 * ran, the answer was written. */
typedef struct lkd_v2_timing {
  int64_t start, decoded, ran, answered;
} lkd_v2_timing;

/* One model's counters read at once (lkd_model_stats without atomics). */
typedef struct lkd_v2_counts {
  uint64_t success, fail, success_ns, fail_ns;
  uint64_t input_ns, queue_ns, infer_ns, output_ns;
  uint64_t last_ms;
} lkd_v2_counts;

int64_t lkd_v2_clock_ns(void);

/* Counts one inference of model m: ok with its job's wait and run times
 * (job->wait_ns, run_ns) and the steps of t, or failed (decoding or
 * running) taking t->answered - t->start. */
void lkd_v2_stats_record(lkd_server *s, const lkd_kserve_model *m, const lkd_job *job, int ok,
                         const lkd_v2_timing *t);

/* The counters of the model at index i of lkd_kserve_models. */
lkd_v2_counts lkd_v2_stats_read(lkd_server *s, size_t i);

/* GET /v2/models/{name}[/versions/1]/stats: {"model_stats":[one model]}. */
LKD_HANDLER(lkd_v2_model_stats);
/* GET /v2/models/stats: {"model_stats":[every model]}. */
LKD_HANDLER(lkd_v2_all_stats);

#endif
