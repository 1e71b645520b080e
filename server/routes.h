/* routes.h - the table of (path, method, handler) leakycld serves, and the
 * response a handler fills. */
#ifndef LEAKYCLD_ROUTES_H
#define LEAKYCLD_ROUTES_H

#include <stddef.h>

#include "codec.h"
#include "errors.h"
#include "server.h"

typedef struct lkd_response {
  int status;
  lk_buf body;              /* owned; handed to the HTTP layer */
  const char *content_type; /* static string */
  /* One more header when extra_header is set (a static name): KServe's
   * binary responses carry Inference-Header-Content-Length. */
  const char *extra_header;
  char extra_value[32];
} lkd_response;

/* What a handler may read of its request besides the body. */
typedef struct lkd_request_info {
  const char *path; /* the URL path as routed (a model name lives in it) */
  /* The Inference-Header-Content-Length header (KServe's binary tensor
   * data extension), or NULL. */
  const char *inference_header_length;
} lkd_request_info;

/* A handler answers one request. body (len bytes, NUL at body[len]) is the
 * request body for routes that take one, else NULL; it may be modified. */
typedef void (*lkd_handler)(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                            lkd_response *r);

typedef struct lkd_route {
  const char *path;
  const char *method; /* "GET" (HEAD too) or "POST" */
  int takes_body;
  lkd_handler handler;
} lkd_route;

/* Finds the route of (method, path). Returns it, or NULL with *code set to
 * LKD_NOT_FOUND (no such path) or LKD_METHOD_NOT_ALLOWED (the path exists;
 * *allow names its method). */
const lkd_route *lkd_route_find(const char *method, const char *path, lkd_error_code *code,
                                const char **allow);
/* The same in one table whose paths are compared with key (a path, or the
 * template a /v2 path matched): shared by /v1 and /v2. */
const lkd_route *lkd_route_in(const lkd_route *table, size_t n, const char *key, const char *method,
                              lkd_error_code *code, const char **allow);

/* Fills r with a JSON error body: {"error":{"code","message"}}, or
 * KServe's {"error":"message"} under /v2 (path may be NULL). */
void lkd_respond_error(lkd_response *r, const lkd_error *e, const char *path);

#endif
