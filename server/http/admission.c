/* admission.c - what a request must pass before its body is stored, in
 * order: HTTP strictness (strict.c), the connection's limits (watch.c),
 * the bearer token, the route, --max-body and the in-flight budget. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"
#include "routes.h"
#include "user_text.h"

int lkd_token_matches(const char *header, const char *token, size_t token_len) {
  static const char prefix[] = "Bearer ";
  if (!header || strncasecmp(header, prefix, sizeof prefix - 1) != 0)
    return 0;
  const char *given = header + sizeof prefix - 1;
  size_t given_len = strlen(given);
  /* Touch every byte of the token whatever the given length, so that the
   * time does not depend on where the first difference is. */
  unsigned char diff = (unsigned char)(given_len != token_len);
  for (size_t i = 0; i < token_len; i++) {
    unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
    diff |= (unsigned char)(g ^ (unsigned char)token[i]);
  }
  return diff == 0;
}

/* Copies text for the access log: printable ASCII without spaces,
 * truncated with "...". */
void lkd_log_copy(char *dst, size_t cap, const char *src) {
  lkt_printable(src, dst, cap, cap, 0, 1);
}

/* A request's state, from its request line (or first call) on. */
lkd_http_request *lkd_request_new(lkd_http *h, struct MHD_Connection *c) {
  lkd_http_request *req = calloc(1, sizeof *req);
  if (!req)
    return NULL;
  req->http = h;
  req->server = h->server;
  clock_gettime(CLOCK_MONOTONIC, &req->start);
  clock_gettime(CLOCK_REALTIME, &req->wall);
  const union MHD_ConnectionInfo *addr =
      c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
  lkd_client_text(addr ? addr->client_addr : NULL, req->client, sizeof req->client);
  return req;
}

/* Called by libmicrohttpd with the request target as it came, before it
 * unescapes it (a %00 would silently end the path): the request's state
 * starts here and becomes its *req_cls. */
void *lkd_on_target(void *cls, const char *uri, struct MHD_Connection *c) {
  lkd_http_request *req = lkd_request_new(cls, c);
  if (req) {
    snprintf(req->method, sizeof req->method, "-");
    lkd_log_copy(req->path, sizeof req->path, uri);
    if (lkd_strict_target(uri, &req->early) != LKD_STRICT_OK)
      req->close = 1;
  }
  return req;
}

/* The request's errors decided before its body, in order: a broken
 * request (400), a refused connection (503), the token (401), the route
 * (404, 405), the Content-Encoding (415), --max-body (413), the in-flight
 * budget (503). Returns the strictness verdict. */
lkd_strict_verdict lkd_check_early(lkd_http *h, lkd_http_request *req, struct MHD_Connection *c,
                                   const char *url, const char *method, const char *version) {
  lkd_server *s = h->server;
  lkd_strict_verdict verdict = req->early.code != LKD_OK
                                   ? LKD_STRICT_BAD
                                   : lkd_strict_request(c, method, version, &req->early);
  if (verdict != LKD_STRICT_OK)
    req->close = 1;
  lkd_error_code code = LKD_OK;
  req->route = lkd_route_find(method, url, &code, &req->allow);
  if (req->early.code != LKD_OK || lkd_watch_refused(h->watch, req->conn, &req->early))
    return verdict;
  if (!req->conn) {
    lkd_fail(&req->early, LKD_OUT_OF_MEMORY, "out of memory accepting the connection");
    return verdict;
  }
  if (s->token) {
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!lkd_token_matches(auth, s->token, s->token_len))
      lkd_fail(&req->early, LKD_UNAUTHORIZED,
               auth ? "wrong bearer token" : "missing Authorization: Bearer token");
  }
  if (req->early.code == LKD_OK && !req->route) {
    char path[64];
    lkd_log_copy(path, sizeof path, url);
    if (code == LKD_NOT_FOUND)
      lkd_fail(&req->early, code, "no such path: %s", path);
    else
      lkd_fail(&req->early, code, "%s %s is not allowed (allowed: %s)", req->method, path,
               req->allow);
  }
  const int takes_body = req->early.code == LKD_OK && req->route && req->route->body != LKD_NO_BODY;
  if (takes_body)
    lkd_coding_parse(
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING),
        &req->coding, &req->early);
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (req->early.code == LKD_OK && takes_body && cl) {
    errno = 0;
    char *end = NULL;
    unsigned long long declared = strtoull(cl, &end, 10);
    if (errno == 0 && end != cl && declared > s->config.max_body)
      lkd_fail(&req->early, LKD_PAYLOAD_TOO_LARGE,
               "the body has %llu bytes, over the limit of %zu (--max-body)", declared,
               s->config.max_body);
    else if (errno == 0 && end != cl && *end == '\0')
      req->declared = (size_t)declared;
  }
  /* Memory for the whole body is promised now, before a byte of it is
   * read: over the budget, the body is drained unstored. */
  if (req->early.code == LKD_OK && req->declared > 0) {
    if (lkd_budget_take(&h->budget, 0, req->declared + 1) == 0)
      req->charged = req->declared + 1;
    else
      lkd_fail(&req->early, LKD_UNAVAILABLE,
               "the daemon holds %zu bytes of request and answer bodies: this body's %zu "
               "would pass the %zu of --max-inflight-bytes; retry later",
               lkd_budget_used(&h->budget), req->declared, h->budget.limit);
  }
  return verdict;
}
