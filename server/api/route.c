/* route.c - route lookup in a protocol's table, and the answers every protocol writes alike. */
#include "route.h"

#include <string.h>

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

void lkd_response_error(lkd_response *r, const lkd_error *e, lkd_error_body_fn error_body) {
  r->body.len = 0;
  r->status = lkd_error_status(e->code);
  r->code = e->code;
  r->content_type = "application/json";
  r->extra_header = NULL;
  error_body(&r->body, e);
}

void lkd_response_json(lkd_response *r) {
  r->status = 200;
  r->code = LKD_OK;
  r->content_type = "application/json";
}
