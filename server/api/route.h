/* route.h - what every protocol's route table is made of: a route (path,
 * method, what its body is, handler), the request a handler reads, the
 * response it fills, and the lookup and error answer they share. */
#ifndef LEAKYCLD_ROUTE_H
#define LEAKYCLD_ROUTE_H

#include <stddef.h>

#include "buffer.h"
#include "errors.h"
#include "server.h"

typedef struct lkd_response {
  int status;
  /* The code of the error answered (lkd_response_error sets it), for the
   * access log; LKD_OK for an answer that is no error. */
  lkd_error_code code;
  lkt_buf body;             /* owned; handed to the HTTP layer */
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
/* Declares or defines a handler called name. */
#define LKD_HANDLER(name)                                                                          \
  void name(lkd_server *s, const lkd_request_info *info, char *body, size_t len, lkd_response *r)

/* What a route's body is. Job bodies over LKD_BIG_BODY hold one of the
 * server's LKD_BIG_SLOTS while they are handled (the HTTP layer takes it),
 * so that big tensors' memory stays bounded however many workers run. */
typedef enum lkd_body { LKD_NO_BODY, LKD_BODY, LKD_JOB_BODY } lkd_body;

typedef struct lkd_route {
  const char *path;
  const char *method; /* "GET" (HEAD too) or "POST" */
  lkd_body body;
  lkd_handler handler;
} lkd_route;

/* The route of (key, method) in table[0, n): key is a path, or the
 * template a path matched (/v2/models/{name}/infer). NULL with *code
 * LKD_NOT_FOUND (no such path) or LKD_METHOD_NOT_ALLOWED (*allow names the
 * path's method). */
const lkd_route *lkd_route_in(const lkd_route *table, size_t n, const char *key, const char *method,
                              lkd_error_code *code, const char **allow);

/* A protocol's error body: /v1's {"error":{"code","message"}} or KServe's
 * {"error":"message"}. */
typedef void (*lkd_error_body_fn)(lkt_buf *b, const lkd_error *e);

/* Replaces r with e's answer: its status, JSON, the body error_body writes. */
void lkd_response_error(lkd_response *r, const lkd_error *e, lkd_error_body_fn error_body);
/* Marks r a 200 JSON answer. */
void lkd_response_json(lkd_response *r);

#endif
