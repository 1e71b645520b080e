/* metrics.c - Prometheus counters: the per-path requests and the latency
 * histogram behind one mutex, the job counters atomic (they are bumped on
 * every job request, by threads that just left the launch together). */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LKD_METRIC_PATHS 32
#define LKD_METRIC_STATUSES 600

static const double lkd_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define LKD_LATENCY_BUCKETS (sizeof lkd_latency_bounds / sizeof lkd_latency_bounds[0])

struct lkd_metrics {
  pthread_mutex_t lock;
  const char *paths[LKD_METRIC_PATHS];
  size_t path_count;
  uint64_t requests[LKD_METRIC_PATHS][LKD_METRIC_STATUSES];
  uint64_t latency_buckets[LKD_LATENCY_BUCKETS];
  uint64_t latency_count;
  double latency_sum;
  _Atomic uint64_t elements;
  _Atomic uint64_t jobs_ok, jobs_failed, launches;
};

lkd_metrics *lkd_metrics_create(void) {
  lkd_metrics *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m);
    return NULL;
  }
  return m;
}

void lkd_metrics_destroy(lkd_metrics *m) {
  if (!m)
    return;
  pthread_mutex_destroy(&m->lock);
  free(m);
}

/* The slot of path, adding it while there is room; the last slot is
 * "other". Called with the lock held. */
static size_t lkd_metrics_path_slot(lkd_metrics *m, const char *path) {
  for (size_t i = 0; i < m->path_count; i++)
    if (strcmp(m->paths[i], path) == 0)
      return i;
  if (m->path_count < LKD_METRIC_PATHS - 1) {
    m->paths[m->path_count] = path;
    return m->path_count++;
  }
  m->paths[LKD_METRIC_PATHS - 1] = "other";
  return LKD_METRIC_PATHS - 1;
}

void lkd_metrics_request(lkd_metrics *m, const char *path, int status, double seconds) {
  if (!m)
    return;
  if (status < 0 || status >= LKD_METRIC_STATUSES)
    status = 0;
  pthread_mutex_lock(&m->lock);
  size_t slot = lkd_metrics_path_slot(m, path ? path : "other");
  m->requests[slot][status]++;
  for (size_t i = 0; i < LKD_LATENCY_BUCKETS; i++)
    if (seconds <= lkd_latency_bounds[i])
      m->latency_buckets[i]++;
  m->latency_count++;
  m->latency_sum += seconds;
  pthread_mutex_unlock(&m->lock);
}

void lkd_metrics_elements(lkd_metrics *m, uint64_t elements) {
  if (!m)
    return;
  atomic_fetch_add_explicit(&m->elements, elements, memory_order_relaxed);
}

void lkd_metrics_jobs(lkd_metrics *m, uint64_t ok, uint64_t failed) {
  if (!m)
    return;
  atomic_fetch_add_explicit(&m->jobs_ok, ok, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->jobs_failed, failed, memory_order_relaxed);
}

void lkd_metrics_launch(lkd_metrics *m) {
  if (!m)
    return;
  atomic_fetch_add_explicit(&m->launches, 1, memory_order_relaxed);
}

/* Appends printf-formatted text (short lines only). */
static void lkd_appendf(lkt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lkd_appendf(lkt_buf *b, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  lkt_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void lkd_metrics_render(lkd_metrics *m, lkt_buf *out) {
  pthread_mutex_lock(&m->lock);
  lkt_buf_append_str(out, "# HELP leakycld_requests_total HTTP requests by path and status.\n"
                          "# TYPE leakycld_requests_total counter\n");
  for (size_t p = 0; p < LKD_METRIC_PATHS; p++) {
    if (!m->paths[p])
      continue;
    for (int s = 0; s < LKD_METRIC_STATUSES; s++) {
      if (!m->requests[p][s])
        continue;
      char code[16];
      if (s == 0)
        snprintf(code, sizeof code, "none");
      else
        snprintf(code, sizeof code, "%d", s);
      lkd_appendf(out, "leakycld_requests_total{path=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                  m->paths[p], code, m->requests[p][s]);
    }
  }
  lkt_buf_append_str(out, "# HELP leakycld_request_duration_seconds Time from the first byte of a "
                          "request to its completion.\n"
                          "# TYPE leakycld_request_duration_seconds histogram\n");
  for (size_t i = 0; i < LKD_LATENCY_BUCKETS; i++)
    lkd_appendf(out, "leakycld_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                lkd_latency_bounds[i], m->latency_buckets[i]);
  lkd_appendf(out, "leakycld_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
              m->latency_count);
  lkd_appendf(out, "leakycld_request_duration_seconds_sum %.9g\n", m->latency_sum);
  lkd_appendf(out, "leakycld_request_duration_seconds_count %" PRIu64 "\n", m->latency_count);
  lkd_appendf(out,
              "# HELP leakycld_elements_processed_total Tensor elements run through the "
              "library.\n# TYPE leakycld_elements_processed_total counter\n"
              "leakycld_elements_processed_total %" PRIu64 "\n",
              (uint64_t)atomic_load(&m->elements));
  lkd_appendf(out,
              "# HELP leakycld_jobs_total Jobs (single requests and batch entries) by "
              "outcome.\n# TYPE leakycld_jobs_total counter\n"
              "leakycld_jobs_total{outcome=\"ok\"} %" PRIu64 "\n"
              "leakycld_jobs_total{outcome=\"error\"} %" PRIu64 "\n",
              (uint64_t)atomic_load(&m->jobs_ok), (uint64_t)atomic_load(&m->jobs_failed));
  lkd_appendf(out,
              "# HELP leakycld_library_calls_total Library calls (a packed batch group is "
              "one).\n# TYPE leakycld_library_calls_total counter\n"
              "leakycld_library_calls_total %" PRIu64 "\n",
              (uint64_t)atomic_load(&m->launches));
  pthread_mutex_unlock(&m->lock);
}
