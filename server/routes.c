/* routes.c - the route table and the handlers of the small endpoints
 * (health, devices, activations, metrics); the job endpoints hand over to
 * jobs.c. */
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "jobs.h"
#include "kserve.h"
#include "metrics.h"

static void lkd_json_ok(lkd_response *r) {
  r->status = 200;
  r->content_type = "application/json";
}

static void lkd_on_health(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                          lkd_response *r) {
  lkd_json_ok(r);
  lk_buf_append_str(&r->body, "{\"status\":\"ok\"}");
}

static void lkd_on_devices(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                           lkd_response *r) {
  lkd_json_ok(r);
  lkd_devices_append_json(s, &r->body);
}

/* Appends a float through the codec (shortest round-trip text). */
static void lkd_append_float(lk_buf *b, float v) {
  char text[LK_FLOAT_TEXT_MAX + 1];
  lk_buf_append(b, text, lk_float_print(v, text));
}

static void lkd_on_activations(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                               lkd_response *r) {
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
  lkd_json_ok(r);
  lk_buf *b = &r->body;
  lk_buf_append_str(b, "{\"init_gain_formula\":\"sqrt(2/(1+alpha^2))\",\"activations\":[");
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    leakycl_activation a = rows[i].activation;
    float alpha = leakycl_default_alpha(a);
    if (i)
      lk_buf_append(b, ",", 1);
    lk_buf_append_str(b, "{\"name\":");
    lkd_json_append_string(b, leakycl_activation_name(a));
    lk_buf_append_str(b, ",\"formula\":");
    lkd_json_append_string(b, rows[i].formula);
    lk_buf_append_str(b, ",\"parameters\":");
    lk_buf_append_str(b, rows[i].params);
    if (a != LEAKYCL_RELU) {
      lkd_append_float(b, alpha);
      lk_buf_append(b, "}", 1);
      if (a == LEAKYCL_PHASED_RELU) {
        lk_buf_append_str(b, ",{\"name\":\"beta\",\"type\":\"number\",\"per_channel\":false,"
                             "\"learnable\":false,\"default\":");
        lkd_append_float(b, LEAKYCL_DEFAULT_PHASED_BETA);
        lk_buf_append(b, "}", 1);
      }
      lk_buf_append(b, "]", 1);
    }
    lk_buf_append_str(b, ",\"has_gradient\":");
    lk_buf_append_str(b, leakycl_activation_has_gradient(a) ? "true" : "false");
    lk_buf_append_str(b, ",\"init_gain\":");
    lkd_append_float(b, (float)leakycl_init_gain(alpha));
    lk_buf_append(b, "}", 1);
  }
  lk_buf_append_str(b, "]}");
}

static void lkd_on_metrics(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                           lkd_response *r) {
  r->status = 200;
  r->content_type = "text/plain; version=0.0.4; charset=utf-8";
  lkd_metrics_render(s->metrics, &r->body);
}

/* docs/openapi.json, embedded by tools/embed.c (build/gen/openapi.c): a
 * byte array, not a C string, to which embed adds one newline. */
extern const unsigned char lkd_openapi_json[];
extern const size_t lkd_openapi_json_len;

/* Serves the document byte for byte (without embed's added newline). */
static void lkd_on_openapi(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                           lkd_response *r) {
  lkd_json_ok(r);
  lk_buf_append(&r->body, (const char *)lkd_openapi_json, lkd_openapi_json_len - 1);
}

static void lkd_on_job(lkd_server *s, lkd_endpoint endpoint, char *body, size_t len,
                       lkd_response *r) {
  r->content_type = "application/json";
  const int big = len > LKD_BIG_BODY;
  if (big) {
    while (sem_wait(&s->big_slots) != 0 && errno == EINTR)
      ;
  }
  r->status = lkd_jobs_handle(s, endpoint, body, len, &r->body);
  if (big)
    sem_post(&s->big_slots);
}
static void lkd_on_forward(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                           lkd_response *r) {
  lkd_on_job(s, LKD_ENDPOINT_FORWARD, body, len, r);
}
static void lkd_on_backward(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                            lkd_response *r) {
  lkd_on_job(s, LKD_ENDPOINT_BACKWARD, body, len, r);
}
static void lkd_on_batch(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                         lkd_response *r) {
  lkd_on_job(s, LKD_ENDPOINT_BATCH, body, len, r);
}

static const lkd_route lkd_routes[] = {
    {"/v1/health", "GET", 0, lkd_on_health},
    {"/v1/devices", "GET", 0, lkd_on_devices},
    {"/v1/activations", "GET", 0, lkd_on_activations},
    {"/v1/forward", "POST", 1, lkd_on_forward},
    {"/v1/backward", "POST", 1, lkd_on_backward},
    {"/v1/batch", "POST", 1, lkd_on_batch},
    {"/metrics", "GET", 0, lkd_on_metrics},
    {"/openapi.json", "GET", 0, lkd_on_openapi},
};

const lkd_route *lkd_route_in(const lkd_route *table, size_t n, const char *key, const char *method,
                              lkd_error_code *code, const char **allow) {
  for (size_t i = 0; i < n; i++) {
    const lkd_route *r = &table[i];
    if (strcmp(r->path, key) != 0)
      continue;
    if (strcmp(r->method, method) == 0 ||
        (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0))
      return r;
    *code = LKD_METHOD_NOT_ALLOWED;
    *allow = strcmp(r->method, "GET") == 0 ? "GET, HEAD" : r->method;
    return NULL;
  }
  *code = LKD_NOT_FOUND;
  *allow = NULL;
  return NULL;
}

const lkd_route *lkd_route_find(const char *method, const char *path, lkd_error_code *code,
                                const char **allow) {
  if (lkd_kserve_path(path))
    return lkd_kserve_route_find(method, path, code, allow);
  return lkd_route_in(lkd_routes, sizeof lkd_routes / sizeof lkd_routes[0], path, method, code,
                      allow);
}

void lkd_respond_error(lkd_response *r, const lkd_error *e, const char *path) {
  r->body.len = 0;
  r->status = lkd_error_status(e->code);
  r->content_type = "application/json";
  r->extra_header = NULL;
  if (path && lkd_kserve_path(path))
    lkd_kserve_error_body(&r->body, e);
  else
    lkd_error_append_body(&r->body, e);
}
