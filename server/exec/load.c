/* load.c - a device's queue, totals and measured speeds (load.h). */
#include "load.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json_write.h"

/* How far one measurement moves a known speed: a quarter, so that one slow
 * launch (a page fault, another process on the CPU) does not swing the
 * scheduler, while a lasting change shows within a few launches. */
#define LKD_EMA_WEIGHT 0.25
/* Seconds per element assumed while a class is unmeasured. */
#define LKD_UNMEASURED_SPE 1e-9

void lkd_load_init(lkd_load *l) { memset(l, 0, sizeof *l); }

double lkd_load_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

lkd_size_class lkd_size_class_of(size_t elements) {
  return elements <= LEAKYCL_PACKED_JOB_MAX_ELEMENTS ? LKD_SIZE_SMALL : LKD_SIZE_LARGE;
}

const char *lkd_size_class_name(lkd_size_class k) {
  return k == LKD_SIZE_SMALL ? "small" : "large";
}

static size_t lkd_op_index(leakycl_op op) { return op == LEAKYCL_OP_BACKWARD ? 1 : 0; }

double lkd_load_estimate(const lkd_load *l, leakycl_op op, size_t elements) {
  double spe = atomic_load_explicit(&l->spe[lkd_op_index(op)][lkd_size_class_of(elements)],
                                    memory_order_relaxed);
  return (double)elements * (spe > 0 ? spe : LKD_UNMEASURED_SPE);
}

/* Moves the speed of (o, k) toward sample by weight times the EMA's step;
 * the first measurement is taken as is. One writer at a time (load.h). */
static void lkd_load_blend(lkd_load *l, size_t o, lkd_size_class k, double sample, double weight) {
  if (!(sample > 0) || sample > 1) /* NaN, zero, or a second an element: not a speed */
    return;
  double old = atomic_load_explicit(&l->spe[o][k], memory_order_relaxed);
  double now = old > 0 ? old + LKD_EMA_WEIGHT * weight * (sample - old) : sample;
  atomic_store_explicit(&l->spe[o][k], now, memory_order_relaxed);
}

void lkd_load_observe(lkd_load *l, leakycl_op op, lkd_size_class k, double seconds_per_element) {
  lkd_load_blend(l, lkd_op_index(op), k, seconds_per_element, 1.0);
}

void lkd_load_launch(lkd_load *l, leakycl_job *const *jobs, size_t n, double seconds) {
  atomic_fetch_add_explicit(&l->launches, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&l->busy_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
  double elems[LKD_OPS][LKD_SIZE_CLASSES] = {{0}};
  for (size_t i = 0; i < n; i++) {
    size_t count;
    if (jobs[i]->status == LEAKYCL_OK && leakycl_view_count(jobs[i]->view, &count) == LEAKYCL_OK)
      elems[lkd_op_index(jobs[i]->op)][lkd_size_class_of(count)] += (double)count;
  }
  /* One class: the launch's seconds per element is its sample. Several:
   * the launch's time over the time the speeds predicted scales each
   * class, weighted by its share of the prediction (a class that was a
   * sliver of the launch learns little from it). */
  size_t kinds = 0, only_o = 0;
  lkd_size_class only_k = LKD_SIZE_SMALL;
  double predicted = 0;
  int unmeasured = 0;
  for (size_t o = 0; o < LKD_OPS; o++)
    for (lkd_size_class k = 0; k < LKD_SIZE_CLASSES; k++) {
      if (elems[o][k] == 0)
        continue;
      double spe = atomic_load_explicit(&l->spe[o][k], memory_order_relaxed);
      unmeasured |= !(spe > 0);
      predicted += elems[o][k] * spe;
      kinds++, only_o = o, only_k = k;
    }
  if (kinds == 1) {
    lkd_load_blend(l, only_o, only_k, seconds / elems[only_o][only_k], 1.0);
    return;
  }
  if (kinds == 0 || unmeasured || !(predicted > 0))
    return;
  for (size_t o = 0; o < LKD_OPS; o++)
    for (lkd_size_class k = 0; k < LKD_SIZE_CLASSES; k++) {
      if (elems[o][k] == 0)
        continue;
      double spe = atomic_load_explicit(&l->spe[o][k], memory_order_relaxed);
      lkd_load_blend(l, o, k, spe * seconds / predicted, elems[o][k] * spe / predicted);
    }
}

/* {"small":N|null,"large":N|null}: elements per second of one op. */
static void lkd_speeds_json(const lkd_load *l, size_t o, lkt_buf *b) {
  char num[64];
  for (lkd_size_class k = 0; k < LKD_SIZE_CLASSES; k++) {
    double spe = atomic_load_explicit(&l->spe[o][k], memory_order_relaxed);
    lkt_buf_append(b, k ? "," : "{", 1);
    lkt_json_key(b, lkd_size_class_name(k));
    if (spe > 0)
      snprintf(num, sizeof num, "%.6g", 1.0 / spe);
    else
      snprintf(num, sizeof num, "null");
    lkt_buf_append_str(b, num);
  }
  lkt_buf_append(b, "}", 1);
}

void lkd_load_append_json(const lkd_load *l, lkt_buf *b) {
  char text[320];
  snprintf(text, sizeof text,
           "{\"queued_jobs\":%" PRId64 ",\"queued_elements\":%" PRId64 ",\"jobs\":%" PRIu64
           ",\"elements\":%" PRIu64 ",\"library_calls\":%" PRIu64
           ",\"busy_seconds\":%.6f,\"elements_per_second\":{\"forward\":",
           atomic_load(&l->queued_jobs), atomic_load(&l->queued_elements), atomic_load(&l->jobs),
           atomic_load(&l->elements), atomic_load(&l->launches),
           (double)atomic_load(&l->busy_ns) / 1e9);
  lkt_buf_append_str(b, text);
  lkd_speeds_json(l, 0, b);
  lkt_buf_append_str(b, ",\"backward\":");
  lkd_speeds_json(l, 1, b);
  lkt_buf_append_str(b, "}}");
}
