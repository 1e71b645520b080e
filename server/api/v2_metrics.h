/* v2_metrics.h - Triton's per-model inference metrics (nv_inference_*) in
 * GET /metrics, beside leakycld's own. */
#ifndef LEAKYCLD_V2_METRICS_H
#define LEAKYCLD_V2_METRICS_H

#include "buffer.h"
#include "server.h"

/* Appends the nv_inference_* counters, as Triton exports them: one series
 * a /v2 model labelled {model="NAME",version="1"}, read from the same
 * counters as GET /v2/models/stats (durations in whole microseconds). */
void lkd_v2_metrics_render(lkd_server *s, lkt_buf *out);

#endif
