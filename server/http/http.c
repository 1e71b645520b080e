/* http.c - the libmicrohttpd lifecycle (after doc/examples/largepost.c):
 * per-request state in *req_cls, the status decided as early as possible,
 * a body accumulated up to --max-body and never parsed when truncated, the
 * rest drained, state freed in the completion callback; our own count of
 * open connections (503 over --max-connections) and a graceful stop. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bufpool.h"
#include "errors.h"
#include "metrics.h"
#include "routes.h"
#include "user_text.h"

/* Bytes drained past --max-body before the connection is simply closed: a
 * client that keeps sending after its 413 is decided gets cut off. */
#define LKD_DRAIN_EXTRA ((size_t)256 << 20)

/* On a stop, how long no request may have begun or ended before the daemon
 * is stopped: a request sent on a kept-alive connection just before the
 * signal sits unread while its worker thread finishes another job; this
 * gives the worker time to pick it up instead of cutting it off. */
#define LKD_STOP_QUIET_NS 250000000L

struct lkd_http {
  lkd_server *server;
  struct MHD_Daemon *daemon;
  /* Connections open now, counted by us: libmicrohttpd's own limit drops a
   * connection without a word, ours answers 503 first. */
  atomic_uint open_connections;
  atomic_int stopping; /* set on a stop: every response closes its connection */
  pthread_mutex_t lock;
  pthread_cond_t changed;        /* signalled when inflight drops to 0 */
  size_t inflight;               /* requests between their headers and completion */
  struct timespec last_activity; /* CLOCK_MONOTONIC: a request's begin or end */
};

/* The socket context of a connection accepted over --max-connections; its
 * requests are answered 503 and it is closed. */
static char lkd_over_limit;

/* One request, from its first call to its completion. */
typedef struct lkd_http_request {
  lkd_http *http;
  lkd_server *server;
  const lkd_route *route;
  lkd_error early; /* decided before the body: 401, 404, 405, 413, 503 */
  char *body;      /* from lkt_mem_alloc (the buffer pool) */
  size_t len, cap;
  size_t declared; /* Content-Length when given and within --max-body, else 0 */
  size_t received;
  const char *allow; /* the Allow header of a 405 */
  int responded;
  int status;
  size_t bytes;
  struct timespec start;
  char method[16];
  char path[128];
} lkd_http_request;

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

/* Copies text for the access log: printable ASCII without spaces, truncated. */
static void lkd_log_copy(char *dst, size_t cap, const char *src) {
  lkt_printable(src, dst, cap, cap, 0, 0);
}

/* Queues r (taking its body) on the connection; records status and size.
 * The connection is closed after it when the daemon is stopping (so that
 * kept-alive clients send nothing more) or at its connection limit. */
static enum MHD_Result lkd_queue(struct MHD_Connection *c, lkd_http_request *req, lkd_response *r,
                                 const char *allow) {
  struct MHD_Response *resp;
  size_t len = r->body.len;
  if (r->body.oom) {
    lkt_buf_free(&r->body);
    lkd_error oom = {LKD_OUT_OF_MEMORY, "out of memory writing the response"};
    lkd_respond_error(r, &oom, req->path);
    len = r->body.len;
  }
  if (len > 0 && !r->body.oom) {
    /* No copy: the response sends from our buffer and gives it back to
     * the pool when done. */
    resp = MHD_create_response_from_buffer_with_free_callback(len, r->body.data, lkt_mem_release);
    if (resp)
      r->body.data = NULL; /* now owned by the response */
  } else {
    len = 0;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  lkt_buf_free(&r->body);
  if (!resp)
    return MHD_NO;
  enum MHD_Result ok = MHD_YES;
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                              r->content_type ? r->content_type : "application/json") != MHD_YES)
    ok = MHD_NO;
  if (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)
    ok = MHD_NO;
  if (r->extra_header && MHD_add_response_header(resp, r->extra_header, r->extra_value) != MHD_YES)
    ok = MHD_NO;
  if (r->status == 401 &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer") != MHD_YES)
    ok = MHD_NO;
  int unavailable = req->early.code == LKD_UNAVAILABLE;
  if (unavailable && MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1") != MHD_YES)
    ok = MHD_NO;
  if ((unavailable || atomic_load(&req->http->stopping)) &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
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

static enum MHD_Result lkd_queue_error(struct MHD_Connection *c, lkd_http_request *req,
                                       const lkd_error *e, const char *allow) {
  lkd_response r;
  memset(&r, 0, sizeof r);
  lkd_respond_error(&r, e, req->path);
  return lkd_queue(c, req, &r, allow);
}

/* The first call of a request: state, connection limit, token, route,
 * declared length. */
static enum MHD_Result lkd_begin(lkd_http *h, struct MHD_Connection *c, const char *url,
                                 const char *method, void **req_cls) {
  lkd_server *s = h->server;
  lkd_http_request *req = calloc(1, sizeof *req);
  if (!req)
    return MHD_NO;
  req->http = h;
  req->server = s;
  clock_gettime(CLOCK_MONOTONIC, &req->start);
  lkd_log_copy(req->method, sizeof req->method, method);
  lkd_log_copy(req->path, sizeof req->path, url);
  pthread_mutex_lock(&h->lock);
  h->inflight++;
  h->last_activity = req->start;
  pthread_mutex_unlock(&h->lock);
  *req_cls = req;

  lkd_error_code code = LKD_OK;
  req->route = lkd_route_find(method, url, &code, &req->allow);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (ci && ci->socket_context == &lkd_over_limit)
    lkd_fail(&req->early, LKD_UNAVAILABLE,
             "over the limit of %u open connections (--max-connections); retry later",
             s->config.max_connections);
  else if (s->token) {
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
  if (req->early.code == LKD_OK && req->route && req->route->body != LKD_NO_BODY && cl) {
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

/* Forgets the stored body (413 or out of memory: it is never parsed). */
static void lkd_drop_body(lkd_http_request *req) {
  lkt_mem_release(req->body);
  req->body = NULL;
  req->len = req->cap = 0;
}

/* Makes room for need bytes (the body and its NUL): the declared length at
 * once, so that a big body is written once into one (pooled, already
 * faulted-in) buffer; doubling for a chunked body. */
static int lkd_body_reserve(lkd_server *s, lkd_http_request *req, size_t need) {
  if (need <= req->cap)
    return 0;
  size_t want = req->declared + 1 >= need ? req->declared + 1 : 0;
  if (!want) {
    want = req->cap ? req->cap * 2 : 4096;
    if (want < need)
      want = need;
    if (want > s->config.max_body + 1)
      want = s->config.max_body + 1;
  }
  size_t cap = 0;
  char *grown = lkt_mem_alloc(want, &cap);
  if (!grown)
    return -1;
  if (req->len)
    memcpy(grown, req->body, req->len);
  lkt_mem_release(req->body);
  req->body = grown;
  req->cap = cap;
  return 0;
}

/* Stores (or drains) one piece of the body. */
static enum MHD_Result lkd_take_body(lkd_server *s, lkd_http_request *req, const char *data,
                                     size_t size) {
  req->received += size;
  if (req->early.code != LKD_OK || !req->route || !req->route->body != LKD_NO_BODY) {
    return req->received > s->config.max_body + LKD_DRAIN_EXTRA ? MHD_NO : MHD_YES;
  }
  if (req->len + size > s->config.max_body) {
    /* Chunked or lying about its length: stop storing, never parse it. */
    lkd_fail(&req->early, LKD_PAYLOAD_TOO_LARGE,
             "the body is over the limit of %zu bytes (--max-body)", s->config.max_body);
    lkd_drop_body(req);
    return MHD_YES;
  }
  if (lkd_body_reserve(s, req, req->len + size + 1) != 0) {
    lkd_fail(&req->early, LKD_OUT_OF_MEMORY, "out of memory reading the body");
    lkd_drop_body(req);
    return MHD_YES;
  }
  memcpy(req->body + req->len, data, size);
  req->len += size;
  return MHD_YES;
}

static enum MHD_Result lkd_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls) {
  lkd_http *h = cls;
  lkd_server *s = h->server;
  if (!*req_cls)
    return lkd_begin(h, c, url, method, req_cls);
  lkd_http_request *req = *req_cls;
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
  if (req->route->body != LKD_NO_BODY) {
    if (!req->body) {
      body = empty;
    } else {
      req->body[req->len] = '\0'; /* cap always leaves room for it */
      body = req->body;
    }
  }
  const lkd_request_info info = {
      url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Inference-Header-Content-Length")};
  /* A big job body holds one of the few big slots while it decodes, runs
   * and answers: workers are many (small requests need them to share
   * launches), big tensors' memory must stay bounded. */
  const int big = req->route->body == LKD_JOB_BODY && req->len > LKD_BIG_BODY;
  if (big) {
    while (sem_wait(&s->big_slots) != 0 && errno == EINTR)
      ;
  }
  req->route->handler(s, &info, body, req->len, &r);
  if (big)
    sem_post(&s->big_slots);
  return lkd_queue(c, req, &r, NULL);
}

static void lkd_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                             enum MHD_RequestTerminationCode toe) {
  lkd_http *h = cls;
  lkd_server *s = h->server;
  lkd_http_request *req = *req_cls;
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
  lkt_mem_release(req->body);
  free(req);
  pthread_mutex_lock(&h->lock);
  h->inflight--;
  clock_gettime(CLOCK_MONOTONIC, &h->last_activity);
  if (h->inflight == 0)
    pthread_cond_broadcast(&h->changed);
  pthread_mutex_unlock(&h->lock);
}

/* Counts connections as they open and close. One that opens over
 * --max-connections is marked: its request gets a 503 and it is closed. */
static void lkd_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
  lkd_http *h = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    unsigned open = atomic_fetch_add(&h->open_connections, 1) + 1;
    *socket_context = open > h->server->config.max_connections ? &lkd_over_limit : NULL;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    atomic_fetch_sub(&h->open_connections, 1);
  }
}

/* Whether addr is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped
 * loopback). */
static int lkd_is_loopback(const struct sockaddr_storage *addr) {
  if (addr->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a))
      return 1;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
  }
  return 0;
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
  /* Big bodies, tensors and responses from a pool reused across requests
   * (first, before any thread allocates). */
  lkd_bufpool_install();
  atomic_init(&h->open_connections, 0);
  atomic_init(&h->stopping, 0);
  /* The stop waits on a monotonic clock: a wall-clock jump must not cut
   * requests short or hold the stop. */
  pthread_condattr_t cattr;
  int cond_ok = pthread_condattr_init(&cattr) == 0;
  if (cond_ok) {
    cond_ok = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&h->changed, &cattr) == 0;
    pthread_condattr_destroy(&cattr);
  }
  if (!cond_ok || pthread_mutex_init(&h->lock, NULL) != 0) {
    if (cond_ok)
      pthread_cond_destroy(&h->changed);
    snprintf(err, errlen, "cannot create the HTTP layer's lock");
    free(h);
    return -1;
  }
  /* poll(), not epoll (which MHD_USE_AUTO picks on Linux): with epoll,
   * libmicrohttpd 0.9.75 misses a client that closes in the middle of its
   * body, and the connection and its buffer stay until --timeout (the
   * disconnect checks of tests/e2e/test_faults.py). */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_POLL;
  if (addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  /* libmicrohttpd's limit sits above ours, so that connections over ours
   * still get their 503; only past this margin are they dropped unanswered
   * (the thread pool splits the limit among its workers, hence the fixed
   * part). */
  unsigned mhd_limit = s->config.max_connections + s->config.max_connections / 4 + 64;
  struct MHD_OptionItem opts[10];
  size_t n = 0;
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, mhd_limit, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, s->config.timeout_s, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)lkd_on_completed, h};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)lkd_on_connection, h};
  if (s->config.threads > 1)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, s->config.threads, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, lkd_on_request, h, MHD_OPTION_ARRAY, opts,
                               MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot listen on %s:%u (in use, or not an address of this host?)",
             s->config.host, s->config.port);
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return -1;
  }
  if (!lkd_is_loopback(&addr) && !s->token)
    fprintf(stderr,
            "leakycld: warning: listening on %s, beyond this host, without "
            "--token-file: whoever reaches the port can use the devices\n",
            s->config.host);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *port = info && info->port ? info->port : s->config.port;
  *out = h;
  return 0;
}

/* a - b in nanoseconds. */
static int64_t lkd_ns_between(const struct timespec *a, const struct timespec *b) {
  return (int64_t)(a->tv_sec - b->tv_sec) * 1000000000 + (a->tv_nsec - b->tv_nsec);
}

void lkd_http_stop(lkd_http *h, unsigned grace_s) {
  if (!h)
    return;
  atomic_store(&h->stopping, 1);
  MHD_socket listener = MHD_quiesce_daemon(h->daemon);
  if (listener != MHD_INVALID_SOCKET)
    close(listener); /* quiesce leaves it to us */
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += grace_s;
  pthread_mutex_lock(&h->lock);
  for (;;) {
    struct timespec now, until = deadline;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (lkd_ns_between(&deadline, &now) <= 0)
      break;
    if (h->inflight == 0) {
      /* Done when no connection is left, or no request has begun or ended
       * for a while (idle kept-alive connections would otherwise hold the
       * stop for their whole --timeout). */
      int64_t quiet_left = LKD_STOP_QUIET_NS - lkd_ns_between(&now, &h->last_activity);
      if (atomic_load(&h->open_connections) == 0 || quiet_left <= 0)
        break;
      struct timespec wake = now;
      wake.tv_nsec += (long)quiet_left;
      wake.tv_sec += wake.tv_nsec / 1000000000;
      wake.tv_nsec %= 1000000000;
      if (lkd_ns_between(&wake, &until) < 0)
        until = wake;
    }
    pthread_cond_timedwait(&h->changed, &h->lock, &until);
  }
  pthread_mutex_unlock(&h->lock);
  MHD_stop_daemon(h->daemon);
  pthread_cond_destroy(&h->changed);
  pthread_mutex_destroy(&h->lock);
  free(h);
}
