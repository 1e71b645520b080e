/* metrics.h - thread-safe request counters, elements processed and a latency
 * histogram, rendered in the Prometheus text format for GET /metrics. */
#ifndef LEAKYCLD_METRICS_H
#define LEAKYCLD_METRICS_H

#include <stdint.h>

#include "buffer.h"
#include "server.h"

/* A new, zeroed set of metrics, or NULL when out of memory. */
lkd_metrics *lkd_metrics_create(void);
void lkd_metrics_destroy(lkd_metrics *m);

/* Counts one finished request. `path` must be a string that lives as long
 * as the metrics (a route table entry or "other"); at most 32 distinct
 * paths are kept, later ones count as "other". status 0 (no response, the
 * connection closed) is counted as "none". */
void lkd_metrics_request(lkd_metrics *m, const char *path, int status, double seconds);
/* Counts tensor elements processed and jobs run (ok or failed). */
void lkd_metrics_elements(lkd_metrics *m, uint64_t elements);
void lkd_metrics_jobs(lkd_metrics *m, uint64_t ok, uint64_t failed);
/* Counts one library call (a packed batch group is one call). */
void lkd_metrics_launch(lkd_metrics *m);

/* Appends the Prometheus exposition text. */
void lkd_metrics_render(lkd_metrics *m, lkt_buf *out);
/* Appends the per-device series (leakycld_device_*, labelled with the
 * device's index and name) from each opened device's load. */
void lkd_metrics_render_devices(const lkd_server *s, lkt_buf *out);

#endif
