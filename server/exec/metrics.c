/* metrics.c - Prometheus counters: the requests and the latency histogram
 * per path (and /v2 model) behind one mutex, the job counters and the
 * requests in flight atomic (they are bumped on every job request, by
 * threads that just left the launch together). */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Routes, and each /v2 model route once per model (8 and "unknown"). */
#define LKD_METRIC_PATHS 64
#define LKD_METRIC_STATUSES 600

static const double lkd_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define LKD_LATENCY_BUCKETS (sizeof lkd_latency_bounds / sizeof lkd_latency_bounds[0])

/* One path (and model): its requests by status and its latencies. */
typedef struct lkd_metric_slot {
  const char *path, *model; /* model NULL: the series have no model label */
  uint64_t requests[LKD_METRIC_STATUSES];
  uint64_t latency_buckets[LKD_LATENCY_BUCKETS];
  uint64_t latency_count;
  double latency_sum;
} lkd_metric_slot;

struct lkd_metrics {
  pthread_mutex_t lock;
  lkd_metric_slot slots[LKD_METRIC_PATHS];
  size_t slot_count;
  _Atomic uint64_t elements;
  _Atomic uint64_t jobs_ok, jobs_failed, launches;
  atomic_long in_flight;
};

lkd_metrics *lkd_metrics_create(void) {
  lkd_metrics *m = calloc(1, sizeof *m);
  if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m);
    m = NULL;
  }
  return m;
}

void lkd_metrics_destroy(lkd_metrics *m) {
  if (!m)
    return;
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static int lkd_same_label(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* The slot of (path, model), adding it while there is room; the last slot
 * is "other". Called with the lock held. */
static lkd_metric_slot *lkd_metrics_slot(lkd_metrics *m, const char *path, const char *model) {
  for (size_t i = 0; i < m->slot_count; i++)
    if (strcmp(m->slots[i].path, path) == 0 && lkd_same_label(m->slots[i].model, model))
      return &m->slots[i];
  if (m->slot_count < LKD_METRIC_PATHS - 1) {
    m->slots[m->slot_count].path = path;
    m->slots[m->slot_count].model = model;
    return &m->slots[m->slot_count++];
  }
  lkd_metric_slot *other = &m->slots[LKD_METRIC_PATHS - 1];
  other->path = "other";
  other->model = NULL;
  return other;
}

void lkd_metrics_request(lkd_metrics *m, const char *path, const char *model, int status,
                         double seconds) {
  if (!m)
    return;
  if (status < 0 || status >= LKD_METRIC_STATUSES)
    status = 0;
  pthread_mutex_lock(&m->lock);
  lkd_metric_slot *slot = lkd_metrics_slot(m, path ? path : "other", model);
  slot->requests[status]++;
  for (size_t i = 0; i < LKD_LATENCY_BUCKETS; i++)
    if (seconds <= lkd_latency_bounds[i])
      slot->latency_buckets[i]++;
  slot->latency_count++;
  slot->latency_sum += seconds;
  pthread_mutex_unlock(&m->lock);
}

void lkd_metrics_in_flight(lkd_metrics *m, int delta) {
  if (m)
    atomic_fetch_add_explicit(&m->in_flight, delta, memory_order_relaxed);
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

/* The labels of a slot: path="..." and, for a /v2 model route,
 * ,model="..." (both static strings, nothing to escape). */
static void lkd_slot_labels(const lkd_metric_slot *slot, char *out, size_t cap) {
  snprintf(out, cap, "path=\"%s\"%s%s%s", slot->path, slot->model ? ",model=\"" : "",
           slot->model ? slot->model : "", slot->model ? "\"" : "");
}

void lkd_metrics_render(lkd_metrics *m, lkt_buf *out) {
  pthread_mutex_lock(&m->lock);
  lkt_buf_append_str(out, "# HELP leakycld_requests_total HTTP requests by path (the route; "
                          "with the model for /v2 model routes) and status.\n"
                          "# TYPE leakycld_requests_total counter\n");
  char labels[160];
  for (size_t p = 0; p < LKD_METRIC_PATHS; p++) {
    const lkd_metric_slot *slot = &m->slots[p];
    if (!slot->path)
      continue;
    lkd_slot_labels(slot, labels, sizeof labels);
    for (int s = 0; s < LKD_METRIC_STATUSES; s++) {
      if (!slot->requests[s])
        continue;
      char code[16];
      if (s == 0)
        snprintf(code, sizeof code, "none");
      else
        snprintf(code, sizeof code, "%d", s);
      lkd_appendf(out, "leakycld_requests_total{%s,status=\"%s\"} %" PRIu64 "\n", labels, code,
                  slot->requests[s]);
    }
  }
  lkt_buf_append_str(out, "# HELP leakycld_request_duration_seconds Time from the first byte of a "
                          "request to its completion, by path (and model).\n"
                          "# TYPE leakycld_request_duration_seconds histogram\n");
  for (size_t p = 0; p < LKD_METRIC_PATHS; p++) {
    const lkd_metric_slot *slot = &m->slots[p];
    if (!slot->path || !slot->latency_count)
      continue;
    lkd_slot_labels(slot, labels, sizeof labels);
    for (size_t i = 0; i < LKD_LATENCY_BUCKETS; i++)
      lkd_appendf(out, "leakycld_request_duration_seconds_bucket{%s,le=\"%g\"} %" PRIu64 "\n",
                  labels, lkd_latency_bounds[i], slot->latency_buckets[i]);
    lkd_appendf(out, "leakycld_request_duration_seconds_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n",
                labels, slot->latency_count);
    lkd_appendf(out, "leakycld_request_duration_seconds_sum{%s} %.9g\n", labels, slot->latency_sum);
    lkd_appendf(out, "leakycld_request_duration_seconds_count{%s} %" PRIu64 "\n", labels,
                slot->latency_count);
  }
  /* The scrape that renders this is itself in flight: it is left out. */
  const long in_flight = atomic_load(&m->in_flight) - 1;
  lkd_appendf(out,
              "# HELP leakycld_requests_in_flight Requests between their headers and their "
              "completion, not counting this scrape.\n# TYPE leakycld_requests_in_flight gauge\n"
              "leakycld_requests_in_flight %ld\n",
              in_flight > 0 ? in_flight : 0);
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

/* A label value: backslash, quote and newline escaped (device names are
 * the driver's text). */
static void lkd_label_value(const char *in, char *out, size_t cap) {
  size_t o = 0;
  for (; *in && o + 3 < cap; in++) {
    char c = *in;
    if (c == '\\' || c == '"' || c == '\n')
      out[o++] = '\\';
    out[o++] = c == '\n' ? 'n' : c;
  }
  out[o] = '\0';
}

void lkd_metrics_render_devices(const lkd_server *s, lkt_buf *out) {
  uint64_t queued = 0;
  for (size_t d = 0; d < s->device_count; d++)
    queued += (uint64_t)atomic_load(&s->devices[d].load.queued_jobs);
  lkd_appendf(out,
              "# HELP leakycld_queued_jobs Jobs waiting for or running on any device (the sum of "
              "leakycld_device_queue_depth).\n# TYPE leakycld_queued_jobs gauge\n"
              "leakycld_queued_jobs %" PRIu64 "\n",
              queued);
  static const struct {
    const char *name, *type, *help;
  } series[] = {
      {"leakycld_device_jobs_total", "counter", "Jobs run on the device (any outcome)."},
      {"leakycld_device_elements_total", "counter", "Tensor elements of the device's ok jobs."},
      {"leakycld_device_library_calls_total", "counter", "Library calls on the device."},
      {"leakycld_device_busy_seconds_total", "counter",
       "Wall time inside the device's library calls."},
      {"leakycld_device_queue_depth", "gauge", "Jobs waiting for or running on the device."},
      {"leakycld_device_queued_elements", "gauge",
       "Tensor elements of the jobs waiting for or running on the device."},
  };
  for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
    lkd_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help, series[k].name,
                series[k].type);
    for (size_t d = 0; d < s->device_count; d++) {
      const lkd_load *l = &s->devices[d].load;
      char name[256];
      lkd_label_value(s->devices[d].info.name, name, sizeof name);
      const uint64_t v[] = {atomic_load(&l->jobs),
                            atomic_load(&l->elements),
                            atomic_load(&l->launches),
                            atomic_load(&l->busy_ns),
                            (uint64_t)atomic_load(&l->queued_jobs),
                            (uint64_t)atomic_load(&l->queued_elements)};
      if (k == 3)
        lkd_appendf(out, "%s{device=\"%zu\",name=\"%s\"} %.9f\n", series[k].name, d, name,
                    (double)v[k] / 1e9);
      else
        lkd_appendf(out, "%s{device=\"%zu\",name=\"%s\"} %" PRIu64 "\n", series[k].name, d, name,
                    v[k]);
    }
  }
  lkt_buf_append_str(out, "# HELP leakycld_device_elements_per_second The device's measured "
                          "speed by op and size class (small: packed, up to 64 Ki elements).\n"
                          "# TYPE leakycld_device_elements_per_second gauge\n");
  for (size_t d = 0; d < s->device_count; d++) {
    char name[256];
    lkd_label_value(s->devices[d].info.name, name, sizeof name);
    for (size_t o = 0; o < LKD_OPS; o++)
      for (lkd_size_class k = 0; k < LKD_SIZE_CLASSES; k++) {
        double spe = atomic_load(&s->devices[d].load.spe[o][k]);
        if (spe > 0)
          lkd_appendf(out,
                      "leakycld_device_elements_per_second{device=\"%zu\",name=\"%s\",op=\"%s\","
                      "size=\"%s\"} %.6g\n",
                      d, name, o ? "backward" : "forward", lkd_size_class_name(k), 1.0 / spe);
      }
  }
}
