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

/* Counts one finished request. `path` and `model` (NULL: none, the series
 * get no model label) must be strings that live as long as the metrics (a
 * route table entry or "other", a model table entry); at most 63 distinct
 * (path, model) pairs are kept, later ones count as "other". status 0 (no
 * response, the connection closed) is counted as "none". */
void lkd_metrics_request(lkd_metrics *m, const char *path, const char *model, int status,
                         double seconds);
/* A request began (delta 1, once its headers are in) or completed (-1). */
void lkd_metrics_in_flight(lkd_metrics *m, int delta);
/* Counts tensor elements processed and jobs run (ok or failed). */
void lkd_metrics_elements(lkd_metrics *m, uint64_t elements);
void lkd_metrics_jobs(lkd_metrics *m, uint64_t ok, uint64_t failed);
/* Counts one library call (a packed batch group is one call). */
void lkd_metrics_launch(lkd_metrics *m);

/* Appends the Prometheus exposition text. Called by the scrape, which is
 * itself a request in flight: leakycld_requests_in_flight leaves it out. */
void lkd_metrics_render(lkd_metrics *m, lkt_buf *out);
/* Appends the jobs queued on all devices (leakycld_queued_jobs) and the
 * per-device series (leakycld_device_*, labelled with the device's index
 * and name) from each opened device's load. */
void lkd_metrics_render_devices(const lkd_server *s, lkt_buf *out);

#endif
