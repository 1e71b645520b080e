/* v1.c - the /v1 protocol: its route table, the small endpoints (health,
 * devices, activations, metrics, the OpenAPI document) and the job
 * endpoints, which decode (v1_decode.c), run (exec/run.c) and answer
 * (v1_answer.c). */
#include "v1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "json_write.h"
#include "memory.h"
#include "metrics.h"
#include "process.h"
#include "run.h"
#include "v1_answer.h"
#include "v1_request.h"
#include "v2_metrics.h"

LKD_HANDLER(lkd_v1_health) {
  lkd_response_json(r);
  lkt_buf_append_str(&r->body, "{\"status\":\"ok\"}");
}

LKD_HANDLER(lkd_v1_devices) {
  lkd_response_json(r);
  lkd_devices_append_json(s, &r->body);
}

LKD_HANDLER(lkd_v1_activations) {
  static const struct {
    leakycl_activation activation;
    const char *formula;
    const char *params; /* JSON array of parameter descriptions, defaults after */
  } rows[] = {
      {LEAKYCL_RELU, "y = x > 0 ? x : 0", "[]"},
      {LEAKYCL_LEAKY_RELU, "y = x > 0 ? x : alpha*x",
       "[{\"name\":\"alpha\",\"type\":\"number\",\"per_channel\":true,\"default\":"},
      {LEAKYCL_PRELU, "y = x > 0 ? x : alpha[c]*x",
       "[{\"name\":\"alpha\",\"type\":\"number or array of C numbers\",\"per_channel\":true,"
       "\"learnable\":true,\"default\":"},
      {LEAKYCL_PHASED_RELU, "t = -beta/alpha; y = x >= 0 ? x : (x >= t ? alpha*x : 0)",
       "[{\"name\":\"alpha\",\"type\":\"number\",\"per_channel\":true,\"learnable\":true,"
       "\"default\":"},
  };
  /* What phased_relu's beta has for a gradient (README's "Learnable beta"). */
  static const char beta_gradient[] =
      "zero almost everywhere: beta only moves the branch point t = -beta/alpha (torch's "
      "beta.grad is None). A backward job with \"dbeta_window\": h (finite, > 0) also answers "
      "the boundary estimate \"dbeta\" = sum over x < 0 with |alpha*x + beta| < h/2 of "
      "dy*|alpha|*x/h, one number for all channels";
  /* The conventions profiles, by leakycl_conventions value. */
  static const char *const profiles[LEAKYCL_CONVENTIONS_COUNT] = {
      "bit for bit what torch autograd gives in float32 for nn.ReLU, nn.LeakyReLU, nn.PReLU and "
      "seed 003's PhasedReLU: relu(-0) = -0, NaN in x passes dy (relu) or alpha*dy, "
      "phased_relu sends NaN to its zero branch, where()'s +0 fills",
      "NaN in x gives NaN in y, dx and dalpha; relu(-0) = +0; no fills",
      "the identity branch at x >= 0 (jax.nn.leaky_relu) with where()'s fills; relu's "
      "derivative is 0 at 0 and at NaN"};
  lkd_response_json(r);
  lkt_buf *b = &r->body;
  lkt_buf_append_str(b, "{\"init_gain_formula\":\"sqrt(2/(1+alpha^2))\",\"conventions\":[");
  for (int c = 0; c < LEAKYCL_CONVENTIONS_COUNT; c++) {
    lkt_buf_append_str(b, c ? ",{\"name\":" : "{\"name\":");
    lkt_json_string(b, leakycl_conventions_name((leakycl_conventions)c));
    lkt_buf_append_str(b, c == LEAKYCL_CONVENTIONS_PYTORCH ? ",\"default\":true,\"description\":"
                                                           : ",\"default\":false,\"description\":");
    lkt_json_string(b, profiles[c]);
    lkt_buf_append(b, "}", 1);
  }
  lkt_buf_append_str(b, "],\"activations\":[");
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    leakycl_activation a = rows[i].activation;
    float alpha = leakycl_default_alpha(a);
    if (i)
      lkt_buf_append(b, ",", 1);
    lkt_buf_append_str(b, "{\"name\":");
    lkt_json_string(b, leakycl_activation_name(a));
    lkt_buf_append_str(b, ",\"formula\":");
    lkt_json_string(b, rows[i].formula);
    lkt_buf_append_str(b, ",\"parameters\":");
    lkt_buf_append_str(b, rows[i].params);
    if (a != LEAKYCL_RELU) {
      lkt_json_float(b, alpha);
      lkt_buf_append(b, "}", 1);
      if (a == LEAKYCL_PHASED_RELU) {
        lkt_buf_append_str(b, ",{\"name\":\"beta\",\"type\":\"number\",\"per_channel\":false,"
                              "\"learnable\":false,\"gradient\":");
        lkt_json_string(b, beta_gradient);
        lkt_buf_append_str(b, ",\"default\":");
        lkt_json_float(b, LEAKYCL_DEFAULT_PHASED_BETA);
        lkt_buf_append(b, "}", 1);
      }
      lkt_buf_append(b, "]", 1);
    }
    lkt_buf_append_str(b, ",\"has_gradient\":");
    lkt_buf_append_str(b, leakycl_activation_has_gradient(a) ? "true" : "false");
    lkt_buf_append_str(b, ",\"init_gain\":");
    lkt_json_float(b, (float)leakycl_init_gain(alpha));
    lkt_buf_append(b, "}", 1);
  }
  lkt_buf_append_str(b, "]}");
}

LKD_HANDLER(lkd_v1_metrics) {
  r->status = 200;
  r->content_type = "text/plain; version=0.0.4; charset=utf-8";
  lkd_metrics_render(s->metrics, &r->body);
  lkd_metrics_render_devices(s, &r->body);
  lkd_memory_render(&r->body);
  lkd_v2_metrics_render(s, &r->body);
  lkd_process_render(&r->body);
}

/* docs/openapi.json, embedded by tools/embed.c (build/gen/openapi.c): a
 * byte array, not a C string, to which embed adds one newline. */
extern const unsigned char lkd_openapi_json[];
extern const size_t lkd_openapi_json_len;

/* Serves the document byte for byte (without embed's added newline). */
LKD_HANDLER(lkd_v1_openapi) {
  lkd_response_json(r);
  lkt_buf_append(&r->body, (const char *)lkd_openapi_json, lkd_openapi_json_len - 1);
}

/* Decodes, runs and answers a /v1 job request into r. A batch answers 200
 * with a result or an error per job; a single job answers its error. An
 * answer that runs out of memory is the HTTP layer's to replace. */
static void lkd_on_jobs(lkd_server *s, lkd_endpoint endpoint, char *body, size_t len,
                        lkd_response *r) {
  /* The opened devices' descriptions, for a job's "device" SPEC. */
  leakycl_device_info infos[LKD_MAX_DEVICES];
  const lkd_decode_cfg cfg = lkd_decode_cfg_of(s, infos);
  lkd_request req;
  lkd_job *one[1];
  lkd_job **jobs = one;
  if (lkd_request_decode(&cfg, endpoint, body, len, &req) != 0) {
    lkd_response_error(r, &req.err, lkd_error_append_body);
    goto done;
  }
  if (req.njobs > 1 && !(jobs = malloc(req.njobs * sizeof *jobs))) {
    lkd_error oom = {LKD_OUT_OF_MEMORY, "out of memory for the batch's jobs"};
    lkd_response_error(r, &oom, lkd_error_append_body);
    goto done;
  }
  for (size_t i = 0; i < req.njobs; i++)
    jobs[i] = &req.jobs[i];
  lkd_jobs_run(s, jobs, req.njobs);
  size_t ok = 0;
  for (size_t i = 0; i < req.njobs; i++)
    ok += lkd_job_succeeded(&req.jobs[i]);
  lkd_metrics_jobs(s->metrics, ok, req.njobs - ok);
  if (endpoint != LKD_ENDPOINT_BATCH) {
    if (ok)
      lkd_v1_append_result(&r->body, &req.jobs[0]);
    else
      lkd_response_error(r, &req.jobs[0].err, lkd_error_append_body);
    goto done;
  }
  lkt_buf_append_str(&r->body, "{\"results\":[");
  for (size_t i = 0; i < req.njobs; i++) {
    lkd_job *job = &req.jobs[i];
    if (i)
      lkt_buf_append(&r->body, ",", 1);
    if (lkd_job_succeeded(job))
      lkd_v1_append_result(&r->body, job);
    else
      lkd_v1_append_job_error(&r->body, job);
  }
  lkt_buf_append_str(&r->body, "]}");
done:
  if (jobs != one)
    free(jobs);
  lkd_request_free(&req);
}

LKD_HANDLER(lkd_v1_forward) {
  lkd_response_json(r);
  lkd_on_jobs(s, LKD_ENDPOINT_FORWARD, body, len, r);
}
LKD_HANDLER(lkd_v1_backward) {
  lkd_response_json(r);
  lkd_on_jobs(s, LKD_ENDPOINT_BACKWARD, body, len, r);
}
LKD_HANDLER(lkd_v1_batch) {
  lkd_response_json(r);
  lkd_on_jobs(s, LKD_ENDPOINT_BATCH, body, len, r);
}
