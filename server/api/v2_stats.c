/* v2_stats.c - each /v2 inference's times into its model's counters, and
 * Triton's statistics answers (v2_stats.h). */
#include "v2_stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "json_write.h"

int64_t lkd_v2_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t lkd_span(int64_t from, int64_t to) { return to > from ? (uint64_t)(to - from) : 0; }

void lkd_v2_stats_record(lkd_server *s, const lkd_kserve_model *m, const lkd_job *job, int ok,
                         const lkd_v2_timing *t) {
  lkd_model_stats *st = &s->model_stats[m - lkd_kserve_models];
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  const uint64_t total = lkd_span(t->start, t->answered);
  if (ok) {
    atomic_fetch_add_explicit(&st->input_ns, lkd_span(t->start, t->decoded), memory_order_relaxed);
    atomic_fetch_add_explicit(&st->queue_ns, lkd_span(0, job->wait_ns), memory_order_relaxed);
    atomic_fetch_add_explicit(&st->infer_ns, lkd_span(0, job->run_ns), memory_order_relaxed);
    atomic_fetch_add_explicit(&st->output_ns, lkd_span(t->ran, t->answered), memory_order_relaxed);
    atomic_fetch_add_explicit(&st->success_ns, total, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->success, 1, memory_order_release);
  } else {
    atomic_fetch_add_explicit(&st->fail_ns, total, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->fail, 1, memory_order_release);
  }
  atomic_store_explicit(&st->last_ms,
                        (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000,
                        memory_order_relaxed);
}

lkd_v2_counts lkd_v2_stats_read(lkd_server *s, size_t i) {
  lkd_model_stats *st = &s->model_stats[i];
  lkd_v2_counts c;
  c.success = atomic_load_explicit(&st->success, memory_order_acquire);
  c.fail = atomic_load_explicit(&st->fail, memory_order_acquire);
  c.success_ns = atomic_load_explicit(&st->success_ns, memory_order_relaxed);
  c.fail_ns = atomic_load_explicit(&st->fail_ns, memory_order_relaxed);
  c.input_ns = atomic_load_explicit(&st->input_ns, memory_order_relaxed);
  c.queue_ns = atomic_load_explicit(&st->queue_ns, memory_order_relaxed);
  c.infer_ns = atomic_load_explicit(&st->infer_ns, memory_order_relaxed);
  c.output_ns = atomic_load_explicit(&st->output_ns, memory_order_relaxed);
  c.last_ms = atomic_load_explicit(&st->last_ms, memory_order_relaxed);
  return c;
}

/* Appends "key":{"count":N,"ns":T}, after a comma unless first. */
static void lkd_duration(lkt_buf *b, const char *key, uint64_t count, uint64_t ns, int first) {
  char text[96];
  int n = snprintf(text, sizeof text, "%s\"%s\":{\"count\":%" PRIu64 ",\"ns\":%" PRIu64 "}",
                   first ? "" : ",", key, count, ns);
  lkt_buf_append(b, text, (size_t)n);
}

/* Appends the $model_stat of the model at index i. Every request is one
 * inference and one execution (max_batch_size 0); there is no cache. */
static void lkd_append_model_stats(lkt_buf *b, lkd_server *s, size_t i) {
  const lkd_v2_counts c = lkd_v2_stats_read(s, i);
  char text[160];
  lkt_buf_append_str(b, "{\"name\":");
  lkt_json_string(b, lkd_kserve_models[i].name);
  int n = snprintf(text, sizeof text,
                   ",\"version\":\"" LKD_KSERVE_VERSION "\",\"last_inference\":%" PRIu64
                   ",\"inference_count\":%" PRIu64 ",\"execution_count\":%" PRIu64
                   ",\"inference_stats\":{",
                   c.last_ms, c.success, c.success);
  lkt_buf_append(b, text, (size_t)n);
  lkd_duration(b, "success", c.success, c.success_ns, 1);
  lkd_duration(b, "fail", c.fail, c.fail_ns, 0);
  lkd_duration(b, "queue", c.success, c.queue_ns, 0);
  lkd_duration(b, "compute_input", c.success, c.input_ns, 0);
  lkd_duration(b, "compute_infer", c.success, c.infer_ns, 0);
  lkd_duration(b, "compute_output", c.success, c.output_ns, 0);
  lkd_duration(b, "cache_hit", 0, 0, 0);
  lkd_duration(b, "cache_miss", 0, 0, 0);
  lkt_buf_append_str(b, "},\"response_stats\":{},\"batch_stats\":[],\"memory_usage\":[]}");
}

LKD_HANDLER(lkd_v2_model_stats) {
  const lkd_kserve_model *m = lkd_model_of_path(info->path, r);
  if (!m)
    return;
  lkd_response_json(r);
  lkt_buf_append_str(&r->body, "{\"model_stats\":[");
  lkd_append_model_stats(&r->body, s, (size_t)(m - lkd_kserve_models));
  lkt_buf_append_str(&r->body, "]}");
}

LKD_HANDLER(lkd_v2_all_stats) {
  lkd_response_json(r);
  lkt_buf_append_str(&r->body, "{\"model_stats\":[");
  for (size_t i = 0; i < lkd_kserve_model_count; i++) {
    if (i)
      lkt_buf_append(&r->body, ",", 1);
    lkd_append_model_stats(&r->body, s, i);
  }
  lkt_buf_append_str(&r->body, "]}");
}
