/* v2_metrics.c - the nv_inference_* counters of every /v2 model in the
 * Prometheus text format (v2_metrics.h). */
#include "v2_metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "v2_models.h"
#include "v2_stats.h"

/* Which of a model's counters a series shows. */
typedef enum lkd_nv_value {
  LKD_NV_SUCCESS,
  LKD_NV_FAIL,
  LKD_NV_REQUEST_US,
  LKD_NV_QUEUE_US,
  LKD_NV_INPUT_US,
  LKD_NV_INFER_US,
  LKD_NV_OUTPUT_US
} lkd_nv_value;

static uint64_t lkd_nv_of(const lkd_v2_counts *c, lkd_nv_value v) {
  switch (v) {
  case LKD_NV_SUCCESS:
    return c->success;
  case LKD_NV_FAIL:
    return c->fail;
  case LKD_NV_REQUEST_US:
    return c->success_ns / 1000;
  case LKD_NV_QUEUE_US:
    return c->queue_ns / 1000;
  case LKD_NV_INPUT_US:
    return c->input_ns / 1000;
  case LKD_NV_INFER_US:
    return c->infer_ns / 1000;
  case LKD_NV_OUTPUT_US:
    return c->output_ns / 1000;
  }
  return 0;
}

void lkd_v2_metrics_render(lkd_server *s, lkt_buf *out) {
  /* Triton's names and help texts; inference and execution counts are the
   * successes (no batching, no cache). */
  static const struct {
    const char *name, *help;
    lkd_nv_value value;
  } series[] = {
      {"nv_inference_request_success", "Number of successful inference requests, all batch sizes",
       LKD_NV_SUCCESS},
      {"nv_inference_request_failure", "Number of failed inference requests, all batch sizes",
       LKD_NV_FAIL},
      {"nv_inference_count", "Number of inferences performed (does not include cached requests)",
       LKD_NV_SUCCESS},
      {"nv_inference_exec_count",
       "Number of model executions performed (does not include cached requests)", LKD_NV_SUCCESS},
      {"nv_inference_request_duration_us",
       "Cumulative inference request duration in microseconds (includes cached requests)",
       LKD_NV_REQUEST_US},
      {"nv_inference_queue_duration_us",
       "Cumulative inference queuing duration in microseconds (includes cached requests)",
       LKD_NV_QUEUE_US},
      {"nv_inference_compute_input_duration_us",
       "Cumulative compute input duration in microseconds (does not include cached requests)",
       LKD_NV_INPUT_US},
      {"nv_inference_compute_infer_duration_us",
       "Cumulative compute inference duration in microseconds (does not include cached requests)",
       LKD_NV_INFER_US},
      {"nv_inference_compute_output_duration_us",
       "Cumulative inference compute output duration in microseconds (does not include cached "
       "requests)",
       LKD_NV_OUTPUT_US},
  };
  lkd_v2_counts counts[LKD_KSERVE_MODELS];
  for (size_t m = 0; m < lkd_kserve_model_count; m++)
    counts[m] = lkd_v2_stats_read(s, m);
  for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
    char line[256];
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n", series[k].name,
                     series[k].help, series[k].name);
    lkt_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    for (size_t m = 0; m < lkd_kserve_model_count; m++) {
      /* Model names are the table's: no label escaping needed. */
      n = snprintf(
          line, sizeof line, "%s{model=\"%s\",version=\"" LKD_KSERVE_VERSION "\"} %" PRIu64 "\n",
          series[k].name, lkd_kserve_models[m].name, lkd_nv_of(&counts[m], series[k].value));
      lkt_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
  }
}
