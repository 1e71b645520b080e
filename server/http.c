/* http.c - the libmicrohttpd lifecycle (after doc/examples/largepost.c):
 * per-request state in *req_cls, the status decided as early as possible,
 * a body accumulated up to --max-body and never parsed when truncated, the
 * rest drained, state freed in the completion callback. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "metrics.h"
#include "routes.h"

/* Bytes drained past --max-body before the connection is simply closed: a
 * client that keeps sending after its 413 is decided gets cut off. */
#define LKD_DRAIN_EXTRA ((size_t)256 << 20)

struct lkd_http {
  lkd_server *server;
  struct MHD_Daemon *daemon;
};

/* One request, from its first call to its completion. */
typedef struct lkd_request {
  lkd_server *server;
  const lkd_route *route;
  lkd_error early; /* decided before the body: 401, 404, 405, 413 */
  char *body;
  size_t len, cap;
  size_t received;
  const char *allow; /* the Allow header of a 405 */
  int responded;
  int status;
  size_t bytes;
  struct timespec start;
  char method[16];
  char path[128];
} lkd_request;

static double lkd_seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

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

/* Copies text for the access log: printable ASCII, truncated. */
static void lkd_log_copy(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  for (; src && *src && n + 1 < cap; src++)
    dst[n++] = (*src > 0x20 && *src < 0x7f) ? *src : '?';
  dst[n] = '\0';
}

/* Queues r (taking its body) on the connection; records status and size. */
static enum MHD_Result lkd_queue(struct MHD_Connection *c, lkd_request *req, lkd_response *r,
                                 const char *allow) {
  struct MHD_Response *resp;
  size_t len = r->body.len;
  if (r->body.oom) {
    lk_buf_free(&r->body);
    lkd_error oom = {LKD_OUT_OF_MEMORY, "out of memory writing the response"};
    lkd_respond_error(r, &oom);
    len = r->body.len;
  }
  if (len > 0 && !r->body.oom) {
    resp = MHD_create_response_from_buffer(len, r->body.data, MHD_RESPMEM_MUST_FREE);
    if (resp)
      r->body.data = NULL; /* now owned by the response */
  } else {
    len = 0;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  lk_buf_free(&r->body);
  if (!resp)
    return MHD_NO;
  enum MHD_Result ok = MHD_YES;
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                              r->content_type ? r->content_type : "application/json") != MHD_YES)
    ok = MHD_NO;
  if (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)
    ok = MHD_NO;
  if (r->status == 401 &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer") != MHD_YES)
    ok = MHD_NO;
  if (ok == MHD_YES)
    ok = MHD_queue_response(c, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  if (ok == MHD_YES) {
    req->responded = 1;
    req->status = r->status;
    req->bytes = len;
  }
  return ok;
}

static enum MHD_Result lkd_queue_error(struct MHD_Connection *c, lkd_request *req,
                                       const lkd_error *e, const char *allow) {
  lkd_response r;
  memset(&r, 0, sizeof r);
  lkd_respond_error(&r, e);
  return lkd_queue(c, req, &r, allow);
}

/* The first call of a request: state, token, route, declared length. */
static enum MHD_Result lkd_begin(lkd_server *s, struct MHD_Connection *c, const char *url,
                                 const char *method, void **req_cls) {
  lkd_request *req = calloc(1, sizeof *req);
  if (!req)
    return MHD_NO;
  req->server = s;
  clock_gettime(CLOCK_MONOTONIC, &req->start);
  lkd_log_copy(req->method, sizeof req->method, method);
  lkd_log_copy(req->path, sizeof req->path, url);
  pthread_mutex_lock(&s->inflight_lock);
  s->inflight++;
  pthread_mutex_unlock(&s->inflight_lock);
  *req_cls = req;

  lkd_error_code code = LKD_OK;
  req->route = lkd_route_find(method, url, &code, &req->allow);
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
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (req->early.code == LKD_OK && req->route && req->route->takes_body && cl) {
    errno = 0;
    char *end = NULL;
    unsigned long long declared = strtoull(cl, &end, 10);
    if (errno == 0 && end != cl && declared > s->config.max_body)
      lkd_fail(&req->early, LKD_PAYLOAD_TOO_LARGE,
               "the body has %llu bytes, over the limit of %zu (--max-body)", declared,
               s->config.max_body);
  }
  if (req->early.code == LKD_OK)
    return MHD_YES;
  /* Answer now when no body will come, or when the client waits for
   * "100 Continue" (it then never sends the body); otherwise drain it
   * first: closing on a client still sending would reset the connection
   * before it reads the answer. */
  const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
  const char *te =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
  int no_body = (!cl || strcmp(cl, "0") == 0) && !te;
  if (no_body || (expect && strcasecmp(expect, "100-continue") == 0))
    return lkd_queue_error(c, req, &req->early,
                           req->early.code == LKD_METHOD_NOT_ALLOWED ? req->allow : NULL);
  return MHD_YES;
}

/* Stores (or drains) one piece of the body. */
static enum MHD_Result lkd_take_body(lkd_server *s, lkd_request *req, const char *data,
                                     size_t size) {
  req->received += size;
  if (req->early.code != LKD_OK || !req->route || !req->route->takes_body) {
    return req->received > s->config.max_body + LKD_DRAIN_EXTRA ? MHD_NO : MHD_YES;
  }
  if (req->len + size > s->config.max_body) {
    /* Chunked or lying about its length: stop storing, never parse it. */
    lkd_fail(&req->early, LKD_PAYLOAD_TOO_LARGE,
             "the body is over the limit of %zu bytes (--max-body)", s->config.max_body);
    free(req->body);
    req->body = NULL;
    req->len = req->cap = 0;
    return MHD_YES;
  }
  if (req->len + size + 1 > req->cap) {
    size_t cap = req->cap ? req->cap : 4096;
    while (cap < req->len + size + 1)
      cap *= 2;
    if (cap > s->config.max_body + 1)
      cap = s->config.max_body + 1;
    char *grown = realloc(req->body, cap);
    if (!grown) {
      lkd_fail(&req->early, LKD_OUT_OF_MEMORY, "out of memory reading the body");
      free(req->body);
      req->body = NULL;
      req->len = req->cap = 0;
      return MHD_YES;
    }
    req->body = grown;
    req->cap = cap;
  }
  memcpy(req->body + req->len, data, size);
  req->len += size;
  return MHD_YES;
}

static enum MHD_Result lkd_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls) {
  lkd_server *s = cls;
  if (!*req_cls)
    return lkd_begin(s, c, url, method, req_cls);
  lkd_request *req = *req_cls;
  if (*upload_data_size > 0) {
    size_t size = *upload_data_size;
    *upload_data_size = 0;
    if (req->responded)
      return MHD_YES;
    return lkd_take_body(s, req, upload_data, size);
  }
  if (req->responded)
    return MHD_YES;
  if (req->early.code != LKD_OK)
    return lkd_queue_error(c, req, &req->early,
                           req->early.code == LKD_METHOD_NOT_ALLOWED ? req->allow : NULL);
  lkd_response r;
  memset(&r, 0, sizeof r);
  char empty[1] = "";
  char *body = NULL;
  if (req->route->takes_body) {
    if (!req->body) {
      body = empty;
    } else {
      req->body[req->len] = '\0'; /* cap always leaves room for it */
      body = req->body;
    }
  }
  req->route->handler(s, body, req->len, &r);
  return lkd_queue(c, req, &r, NULL);
}

static void lkd_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                             enum MHD_RequestTerminationCode toe) {
  lkd_server *s = cls;
  lkd_request *req = *req_cls;
  if (!req)
    return;
  *req_cls = NULL;
  double seconds = lkd_seconds_since(&req->start);
  if (!s->config.quiet)
    fprintf(stderr, "%s %s %d %zu %.3fms%s\n", req->method, req->path, req->status, req->bytes,
            seconds * 1e3,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK      ? ""
            : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)"
                                                            : " (aborted)");
  lkd_metrics_request(s->metrics, req->route ? req->route->path : "other", req->status, seconds);
  free(req->body);
  free(req);
  pthread_mutex_lock(&s->inflight_lock);
  s->inflight--;
  if (s->inflight == 0)
    pthread_cond_broadcast(&s->inflight_zero);
  pthread_mutex_unlock(&s->inflight_lock);
}

/* Resolves host (a name, an IPv4 address or a bracketless IPv6 address)
 * into addr. */
static int lkd_resolve(const char *host, unsigned port, struct sockaddr_storage *addr,
                       socklen_t *addrlen, char *err, size_t errlen) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  char service[16];
  snprintf(service, sizeof service, "%u", port);
  int rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
  if (rc != 0 || !res) {
    snprintf(err, errlen, "cannot resolve listen address \"%s\": %s", host, gai_strerror(rc));
    if (res)
      freeaddrinfo(res);
    return -1;
  }
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  *addrlen = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

int lkd_http_start(lkd_server *s, lkd_http **out, unsigned *port, char *err, size_t errlen) {
  struct sockaddr_storage addr;
  socklen_t addrlen = 0;
  if (lkd_resolve(s->config.host, s->config.port, &addr, &addrlen, err, errlen) != 0)
    return -1;
  lkd_http *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  h->server = s;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_AUTO;
  if (addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  struct MHD_OptionItem opts[8];
  size_t n = 0;
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, s->config.max_connections, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, s->config.timeout_s, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)lkd_on_completed, s};
  if (s->config.threads > 1)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, s->config.threads, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, lkd_on_request, s, MHD_OPTION_ARRAY, opts,
                               MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot listen on %s:%u (in use, or not an address of this host?)",
             s->config.host, s->config.port);
    free(h);
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *port = info && info->port ? info->port : s->config.port;
  *out = h;
  return 0;
}

void lkd_http_stop(lkd_http *h, unsigned grace_s) {
  if (!h)
    return;
  lkd_server *s = h->server;
  MHD_socket listener = MHD_quiesce_daemon(h->daemon);
  if (listener != MHD_INVALID_SOCKET)
    close(listener); /* quiesce leaves it to us */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += grace_s;
  pthread_mutex_lock(&s->inflight_lock);
  while (s->inflight > 0) {
    if (pthread_cond_timedwait(&s->inflight_zero, &s->inflight_lock, &deadline) == ETIMEDOUT)
      break;
  }
  pthread_mutex_unlock(&s->inflight_lock);
  MHD_stop_daemon(h->daemon);
  free(h);
}
