/* v1_compare.c - POST /v1/compare: a /v1 job (with its "op") decoded once,
 * run first as /v1 runs it (exec/run.c) for the answer's outputs, then on
 * each listed device timed around the library's own call after a warm-up,
 * as `leakycl bench` times it, and held against the first device and the
 * float64 oracle of the CLI (clients/cli/bench_measure.c). */
#include "v1_compare.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_measure.h"
#include "devices.h"
#include "json_write.h"
#include "metrics.h"
#include "run.h"
#include "v1_answer.h"
#include "v1_request.h"

/* What the compare's own fields ask for. */
typedef struct lkd_compare {
  size_t devices[LKD_MAX_DEVICES]; /* indexes of opened devices, in order */
  size_t count;
  int repeats;
} lkd_compare;

/* One device's figures. */
typedef struct lkd_compare_row {
  size_t device;
  bench_stats time;
  bench_agreement first, oracle;
} lkd_compare_row;

/* "devices" (SPECs or the daemon's indexes; default every opened device)
 * and "repeats" from the request's root. 0, or -1 with e set. */
static int lkd_compare_options(const lkd_server *s, const leakycl_device_info *infos,
                               const cJSON *root, lkd_compare *c, lkd_error *e) {
  char t1[64];
  if (cJSON_GetObjectItemCaseSensitive(root, "device"))
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "a compare takes devices (a list of SPECs or indexes), not device");
  c->repeats = LKD_COMPARE_DEFAULT_REPEATS;
  const cJSON *rep = cJSON_GetObjectItemCaseSensitive(root, "repeats");
  double v;
  if (rep) {
    if (lkd_json_integer(rep, 1, LKD_COMPARE_MAX_REPEATS, &v) != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "repeats must be an integer from 1 to %d",
                      LKD_COMPARE_MAX_REPEATS);
    c->repeats = (int)v;
  }
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "devices");
  c->count = 0;
  if (!list) {
    for (size_t d = 0; d < s->device_count; d++)
      c->devices[c->count++] = d;
    return 0;
  }
  if (!cJSON_IsArray(list) || !list->child)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "devices must be a non-empty array of device SPECs or indexes");
  for (const cJSON *item = list->child; item; item = item->next) {
    long d = -1;
    if (c->count == LKD_MAX_DEVICES)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "devices lists more than %d devices",
                      LKD_MAX_DEVICES);
    if (cJSON_IsString(item)) {
      d = lkd_device_match(infos, s->device_count, item->valuestring);
      if (d < 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "device \"%s\" matches none of the %zu open devices (see /v1/devices)",
                        lkd_user_text(item->valuestring, t1, sizeof t1), s->device_count);
    } else if (lkd_json_integer(item, 0, 1e15, &v) == 0) {
      if (v >= (double)s->device_count)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "device %.0f is not open: the indexes are 0 to %zu (see /v1/devices)", v,
                        s->device_count - 1);
      d = (long)v;
    } else {
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "devices[%zu] must be a device SPEC (a string) or an index (an integer >= 0)",
                      c->count);
    }
    c->devices[c->count++] = (size_t)d;
  }
  return 0;
}

static double lkd_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The job's own library call on ctx, into out (and grads). */
static leakycl_status lkd_compare_call(leakycl_context *ctx, const leakycl_job *run, void *out,
                                       const leakycl_grads *grads) {
  if (run->op == LEAKYCL_OP_FORWARD)
    return leakycl_forward_typed(ctx, &run->params, run->view, run->dtype, run->x, out);
  return leakycl_backward_typed(ctx, &run->params, run->view, run->dtype, run->source, run->x,
                                run->dy, out, grads);
}

/* One warm-up call, then `repeats` timed ones on device d, the last one's
 * outputs left in out and grads. 0, or -1 with e set. */
static int lkd_compare_time(lkd_server *s, const lkd_job *job, size_t d, int repeats, void *out,
                            const leakycl_grads *grads, bench_stats *time, lkd_error *e) {
  lkd_device *dev = &s->devices[d];
  double samples[LKD_COMPARE_MAX_REPEATS];
  leakycl_status st = lkd_compare_call(dev->ctx, &job->run, out, grads);
  for (int k = 0; k < repeats && st == LEAKYCL_OK; k++) {
    const double t0 = lkd_now();
    st = lkd_compare_call(dev->ctx, &job->run, out, grads);
    samples[k] = lkd_now() - t0;
  }
  lkd_metrics_elements(s->metrics, (uint64_t)job->count * (uint64_t)(repeats + 1));
  if (st != LEAKYCL_OK) /* the job ran on the first device: the device's failure */
    return lkd_fail(e,
                    st == LEAKYCL_INVALID_ARGUMENT || st == LEAKYCL_UNSUPPORTED
                        ? LKD_INVALID_ARGUMENT
                        : LKD_DEVICE_ERROR,
                    "device %zu (%s): %s: %s", d, dev->info.name, leakycl_status_name(st),
                    leakycl_last_error(dev->ctx));
  bench_stats_of(samples, repeats, time);
  return 0;
}

/* x (or y) and dy as float32 values for the oracle: the job's own arrays,
 * or half patterns widened exactly into wx and wdy. 0, or -1. */
static int lkd_compare_oracle(const lkd_job *job, float **wx, float **wdy, bench_oracle *o) {
  const leakycl_job *run = &job->run;
  const int backward = run->op == LEAKYCL_OP_BACKWARD;
  const float *x = run->x, *dy = run->dy;
  if (run->dtype != LEAKYCL_FLOAT32) {
    const size_t n = job->count ? job->count : 1;
    *wx = malloc(n * sizeof(float));
    *wdy = backward ? malloc(n * sizeof(float)) : NULL;
    if (!*wx || (backward && !*wdy))
      return -1;
    for (size_t i = 0; i < job->count; i++) {
      (*wx)[i] = ck_value(run->dtype, ck_out_pattern(run->dtype, run->x, i));
      if (backward)
        (*wdy)[i] = ck_value(run->dtype, ck_out_pattern(run->dtype, run->dy, i));
    }
    x = *wx, dy = *wdy;
  }
  const ck_call call = {
      run->params.activation, run->dtype,       backward,   run->view, run->params.alpha_count,
      run->params.alpha,      run->params.beta, job->count, x,         dy,
      run->params.conventions};
  return bench_oracle_init(o, &call, job->want_grads);
}

/* Bytes read + written, as bench counts them, at the job's storage size. */
static double lkd_compare_bytes(const lkd_job *job) {
  const double arrays = job->run.op == LEAKYCL_OP_FORWARD ? 2 : 3;
  return arrays * (double)job->count * (double)leakycl_dtype_size(job->run.dtype) +
         (job->want_grads ? 4.0 * (double)job->grad_count : 0);
}

/* The answer: the first device's result as /v1 writes it, with "repeats"
 * and a "devices" row each added to it. */
static void lkd_compare_answer(const lkd_server *s, const lkd_job *job, const lkd_compare *c,
                               const lkd_compare_row *rows, lkt_buf *b) {
  lkd_v1_append_result(b, job);
  if (b->len > 0 && b->data[b->len - 1] == '}')
    b->len--; /* reopened to add the compare's members */
  char text[48];
  snprintf(text, sizeof text, ",\"repeats\":%d,\"devices\":[", c->repeats);
  lkt_buf_append_str(b, text);
  const double bytes = lkd_compare_bytes(job);
  for (size_t k = 0; k < c->count; k++) {
    const lkd_compare_row *row = &rows[k];
    snprintf(text, sizeof text, "%s{\"device\":%zu,", k ? "," : "", row->device);
    lkt_buf_append_str(b, text);
    lkt_json_string_member(b, "name", s->devices[row->device].info.name);
    lkt_buf_append(b, ",", 1);
    bench_measure_json(b, &row->time, bytes, &row->first, &row->oracle);
    lkt_buf_append(b, "}", 1);
  }
  lkt_buf_append_str(b, "]}");
}

/* Times the decoded job on every listed device and answers into r. The
 * first device's outputs stay in the job (the answer's); the others go to
 * one scratch output, each held against the first as soon as it ran. */
static void lkd_compare_devices(lkd_server *s, lkd_job *job, const lkd_compare *c,
                                lkd_response *r) {
  lkd_error e = {LKD_OK, ""};
  const size_t esize = leakycl_dtype_size(job->run.dtype);
  void *out = malloc((job->count ? job->count : 1) * esize);
  float *dalpha = malloc(job->grad_count * sizeof(float));
  float *wx = NULL, *wdy = NULL;
  lkd_compare_row *rows = calloc(c->count, sizeof *rows);
  bench_oracle oracle = {0};
  if (!out || !dalpha || !rows || lkd_compare_oracle(job, &wx, &wdy, &oracle) != 0) {
    lkd_fail(&e, LKD_OUT_OF_MEMORY, "out of memory to compare %zu elements", job->count);
    goto done;
  }
  for (size_t k = 0; k < c->count && e.code == LKD_OK; k++) {
    const int first = k == 0;
    /* The first device's outputs are the answer's (diagnostics too). */
    const leakycl_grads grads = first ? job->grads : (leakycl_grads){dalpha, NULL, NULL, NULL, 0};
    void *o = first ? job->run.out : out;
    rows[k].device = c->devices[k];
    if (lkd_compare_time(s, job, c->devices[k], c->repeats, o, job->want_grads ? &grads : NULL,
                         &rows[k].time, &e) != 0)
      break;
    const float *da = job->want_grads ? grads.dalpha : NULL;
    bench_agree_device(&oracle, o, da, job->run.out, job->want_grads ? job->grads.dalpha : NULL,
                       &rows[k].first);
    bench_agree_oracle(&oracle, o, da, &rows[k].oracle);
  }
  if (e.code == LKD_OK)
    lkd_compare_answer(s, job, c, rows, &r->body);
done:
  if (e.code != LKD_OK)
    lkd_response_error(r, &e, lkd_error_append_body);
  bench_oracle_free(&oracle);
  free(out);
  free(dalpha);
  free(wx);
  free(wdy);
  free(rows);
}

LKD_HANDLER(lkd_v1_compare) {
  (void)info;
  lkd_response_json(r);
  leakycl_device_info infos[LKD_MAX_DEVICES];
  const lkd_decode_cfg cfg = lkd_decode_cfg_of(s, infos);
  lkd_request req;
  lkd_compare c = {.count = 0};
  lkd_error e = {LKD_OK, ""};
  if (lkd_request_decode(&cfg, LKD_ENDPOINT_COMPARE, body, len, &req) != 0)
    e = req.err;
  else if (req.jobs[0].err.code != LKD_OK)
    e = req.jobs[0].err;
  else if (req.jobs[0].want_mask || req.jobs[0].run.source == LEAKYCL_FROM_MASK)
    lkd_fail(&e, LKD_INVALID_ARGUMENT,
             "compare takes jobs on x or y: its oracle needs x, which a mask job lacks");
  else
    lkd_compare_options(s, infos, req.envelope.root, &c, &e);
  if (e.code != LKD_OK) {
    lkd_response_error(r, &e, lkd_error_append_body);
    lkd_request_free(&req);
    return;
  }
  /* First as /v1 runs it, through the device's coalescer: the answer's
   * outputs, and the library's own verdict on the job (a 400 or 503). */
  lkd_job *job = &req.jobs[0];
  job->device = c.devices[0];
  lkd_jobs_run(s, &job, 1);
  const int ok = lkd_job_succeeded(job);
  lkd_metrics_jobs(s->metrics, ok, !ok);
  if (ok)
    lkd_compare_devices(s, job, &c, r);
  else
    lkd_response_error(r, &job->err, lkd_error_append_body);
  lkd_request_free(&req);
}
