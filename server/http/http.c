/* http.c - the libmicrohttpd lifecycle (after doc/examples/largepost.c):
 * per-request state in *req_cls, the status decided as early as possible
 * (strictness, limits, token, route, size, memory budget), a body
 * accumulated up to --max-body and never parsed when truncated, the rest
 * drained, the body freed once handled, state freed in the completion
 * callback; connections tracked by the watch (watch.c) and a graceful
 * stop. */
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
#include "encoding.h"
#include "log.h"
#include "memory.h"
#include "metrics.h"
#include "request.h"
#include "routes.h"
#include "v2_models.h"

/* Bytes drained past --max-body before the connection is simply closed: a
 * client that keeps sending after its 413 is decided gets cut off. */
#define LKD_DRAIN_EXTRA ((size_t)256 << 20)

/* On a stop, how long no request may have begun or ended before the daemon
 * is stopped: a request sent on a kept-alive connection just before the
 * signal sits unread while its worker thread finishes another job; this
 * gives the worker time to pick it up instead of cutting it off. */
#define LKD_STOP_QUIET_NS 250000000L

/* The most the buffer pool keeps idle: enough for a few of the biggest
 * bodies to be reused without page faults, never more than half the
 * in-flight budget (idle pooled memory is memory too). */
#define LKD_POOL_KEEP ((size_t)512 << 20)

static double lkd_seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* Queues r (taking its body) on the connection; records status and size.
 * The connection is closed after it when the daemon is stopping (so that
 * kept-alive clients send nothing more), over a limit, or after a request
 * broken enough that the next one cannot be trusted to start where it
 * seems to. The answer counts against the in-flight budget until it is
 * sent (or the connection closes): a client that does not read holds it. */
static enum MHD_Result lkd_queue(struct MHD_Connection *c, lkd_http_request *req, lkd_response *r,
                                 const char *allow) {
  struct MHD_Response *resp;
  if (r->body.oom) {
    lkt_buf_free(&r->body);
    lkd_error oom = {LKD_OUT_OF_MEMORY, "out of memory writing the response"};
    lkd_respond_error(r, &oom, req->path);
  }
  /* Compressed for a client that accepts it, when long enough to gain. */
  const int compressible = r->body.len > LKD_COMPRESS_MIN;
  const lkd_coding coding = compressible ? lkd_coding_accepted(MHD_lookup_connection_value(
                                               c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING))
                                         : LKD_CODING_IDENTITY;
  const char *coding_name =
      lkd_body_compress(&r->body, coding) == 0 ? lkd_coding_name(coding) : NULL;
  size_t len = r->body.len;
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
  if (coding_name &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, coding_name) != MHD_YES)
    ok = MHD_NO;
  if (compressible && MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                                              MHD_HTTP_HEADER_ACCEPT_ENCODING) != MHD_YES)
    ok = MHD_NO;
  if (MHD_add_response_header(resp, "X-Request-ID", req->id) != MHD_YES)
    ok = MHD_NO;
  if (r->status == 401 &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer") != MHD_YES)
    ok = MHD_NO;
  int unavailable = req->early.code == LKD_UNAVAILABLE;
  if (unavailable && MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1") != MHD_YES)
    ok = MHD_NO;
  if ((unavailable || req->close || atomic_load(&req->http->stopping)) &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
    ok = MHD_NO;
  if (ok == MHD_YES)
    ok = MHD_queue_response(c, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  if (ok == MHD_YES) {
    req->responded = 1;
    req->status = r->status;
    req->error = r->code;
    req->bytes = len;
    lkd_budget_charge(&req->http->budget, len);
    req->charged += len;
    lkd_watch_phase(req->http->watch, req->conn, LKD_PHASE_SENDING);
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

/* The first call of a request: its state (begun at its request line when
 * it could be allocated then), its phase in the watch, its early checks. */
static enum MHD_Result lkd_begin(lkd_http *h, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, void **req_cls) {
  lkd_http_request *req = *req_cls ? *req_cls : lkd_request_new(h, c);
  if (!req)
    return MHD_NO;
  *req_cls = req;
  req->begun = 1;
  lkd_log_copy(req->method, sizeof req->method, method);
  lkd_log_copy(req->path, sizeof req->path, url);
  lkd_request_id_take(req, c);
  lkd_metrics_in_flight(h->server->metrics, 1);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  req->conn = ci ? ci->socket_context : NULL;
  lkd_watch_phase(h->watch, req->conn, LKD_PHASE_BODY);
  pthread_mutex_lock(&h->lock);
  h->inflight++;
  clock_gettime(CLOCK_MONOTONIC, &h->last_activity);
  pthread_mutex_unlock(&h->lock);

  lkd_strict_verdict verdict = lkd_check_early(h, req, c, url, method, version);
  /* Model routes are labelled with the model (not /v2/models/stats). */
  req->model = req->route && strstr(req->route->path, "{name}") ? lkd_model_label(url) : NULL;
  if (req->early.code == LKD_OK)
    return MHD_YES;
  /* Answer now when no body will come, when the client waits for "100
   * Continue" (it then never sends the body), or when where the body ends
   * is unknown (the connection closes after); otherwise drain it first:
   * closing on a client still sending would reset the connection before
   * it reads the answer. */
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
  const char *te =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
  int no_body = (!cl || strcmp(cl, "0") == 0) && !te;
  if (no_body || verdict == LKD_STRICT_BAD_NOW ||
      (expect && strcasecmp(expect, "100-continue") == 0))
    return lkd_queue_error(c, req, &req->early,
                           req->early.code == LKD_METHOD_NOT_ALLOWED ? req->allow : NULL);
  return MHD_YES;
}

/* Forgets the stored body and gives its memory back to the budget: once
 * handled, or never to be parsed (413, 503, out of memory). */
static void lkd_drop_body(lkd_http_request *req) {
  lkt_mem_release(req->body);
  req->body = NULL;
  req->len = req->cap = 0;
  lkd_budget_give(&req->http->budget, req->charged);
  req->charged = 0;
}

/* Makes room for need bytes (the body and its NUL): the declared length at
 * once, so that a big body is written once into one (pooled, already
 * faulted-in) buffer; doubling for a chunked body, each step taken from
 * the in-flight budget. -1 when out of memory, -2 over the budget. */
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
  if (want > req->charged) {
    if (lkd_budget_take(&req->http->budget, req->charged, want - req->charged) != 0)
      return -2;
    req->charged = want;
  }
  return lkd_bufpool_regrow(&req->body, req->len, want, &req->cap);
}

/* Stores (or drains) one piece of the body. */
static enum MHD_Result lkd_take_body(lkd_server *s, lkd_http_request *req, const char *data,
                                     size_t size) {
  req->received += size;
  lkd_watch_body(req->conn, size);
  if (req->early.code != LKD_OK || !req->route || req->route->body == LKD_NO_BODY) {
    return req->received > s->config.max_body + LKD_DRAIN_EXTRA ? MHD_NO : MHD_YES;
  }
  if (req->len + size > s->config.max_body) {
    /* Chunked or lying about its length: stop storing, never parse it. */
    lkd_fail(&req->early, LKD_PAYLOAD_TOO_LARGE,
             "the body is over the limit of %zu bytes (--max-body)", s->config.max_body);
    lkd_drop_body(req);
    return MHD_YES;
  }
  int reserved = lkd_body_reserve(s, req, req->len + size + 1);
  if (reserved != 0) {
    if (reserved == -2)
      lkd_fail(&req->early, LKD_UNAVAILABLE,
               "the daemon holds %zu bytes of request and answer bodies: this chunked body "
               "would pass the %zu of --max-inflight-bytes; retry later",
               lkd_budget_used(&req->http->budget), req->http->budget.limit);
    else
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
  if (!*req_cls || !((lkd_http_request *)*req_cls)->begun)
    return lkd_begin(h, c, url, method, version, req_cls);
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
  /* While the body inflates and the handler runs, this thread serves none
   * of its other connections: their clocks stand still meanwhile. */
  lkd_watch_phase(h->watch, req->conn, LKD_PHASE_WORKING);
  lkd_watch_busy(req->conn, 1);
  if (lkd_body_decode(req, s->config.max_body) != 0) {
    lkd_watch_busy(req->conn, 0);
    lkd_drop_body(req);
    return lkd_queue_error(c, req, &req->early, NULL);
  }
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
  lkd_watch_busy(req->conn, 0);
  lkd_drop_body(req); /* used: its memory goes before the answer is sent */
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
  /* A request libmicrohttpd answered itself (a header too big, a bad
   * chunk) is logged with its status; one whose headers never came
   * whole is not a request. */
  const union MHD_ConnectionInfo *mhd_status =
      req->responded ? NULL : MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
  if (mhd_status)
    req->status = (int)mhd_status->http_status;
  if (req->begun || mhd_status) {
    lkd_access_log(req, mhd_status != NULL, toe, seconds);
    lkd_metrics_request(s->metrics, req->route ? req->route->path : "other", req->model,
                        req->status, seconds);
  }
  if (req->begun)
    lkd_metrics_in_flight(s->metrics, -1);
  lkd_drop_body(req); /* and the answer's share of the budget, sent or abandoned */
  int begun = req->begun;
  if (begun && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
    lkd_watch_phase(h->watch, req->conn, LKD_PHASE_IDLE);
  free(req);
  if (!begun)
    return;
  pthread_mutex_lock(&h->lock);
  h->inflight--;
  clock_gettime(CLOCK_MONOTONIC, &h->last_activity);
  if (h->inflight == 0)
    pthread_cond_broadcast(&h->changed);
  pthread_mutex_unlock(&h->lock);
}

/* Enters connections in the watch as they open (one over a limit is
 * marked: its request gets a 503 and it is closed) and takes them out as
 * they close. */
static void lkd_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
  lkd_http *h = cls;
  const union MHD_ConnectionInfo *addr =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (lkd_log_on(LKD_LOG_DEBUG)) {
    char client[56];
    lkd_client_text(addr ? addr->client_addr : NULL, client, sizeof client);
    lkd_log(LKD_LOG_DEBUG, "connection from %s %s", client,
            code == MHD_CONNECTION_NOTIFY_STARTED ? "opened" : "closed");
  }
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context =
        fd ? lkd_watch_open(h->watch, fd->connect_fd, addr ? addr->client_addr : NULL) : NULL;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    lkd_watch_close(h->watch, *socket_context);
    *socket_context = NULL;
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
/* Why the address cannot be listened on, as the system says it
 * (libmicrohttpd only reports a failed start): a probe socket bound as
 * libmicrohttpd binds it. */
static const char *lkd_bind_error(const struct sockaddr_storage *addr, socklen_t addrlen) {
  const int fd = socket(addr->ss_family, SOCK_STREAM, 0);
  if (fd < 0)
    return strerror(errno);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int rc = bind(fd, (const struct sockaddr *)addr, addrlen);
  if (rc == 0)
    rc = listen(fd, 1);
  const int saved = errno;
  close(fd);
  return rc == 0 ? "libmicrohttpd could not start (the address itself can be bound)"
                 : strerror(saved);
}

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

static void lkd_housekeep(void *arg) { lkd_budget_housekeep(&((lkd_http *)arg)->budget); }

/* The budget (--max-inflight-bytes, else a quarter of memory), the pool's
 * idle cap under it, and the watch with its clocks and limits. */
static int lkd_http_limits(lkd_http *h, char *err, size_t errlen) {
  const lkd_config *cfg = &h->server->config;
  lkd_budget_init(&h->budget,
                  cfg->max_inflight_bytes ? cfg->max_inflight_bytes : lkd_budget_default());
  lkd_bufpool_set_limit(h->budget.limit / 2 < LKD_POOL_KEEP ? h->budget.limit / 2 : LKD_POOL_KEEP);
  lkd_memory_show_budget(&h->budget);
  const lkd_watch_config wc = {.max_connections = cfg->max_connections,
                               .max_per_address = cfg->max_per_address,
                               .header_timeout_s = cfg->header_timeout_s,
                               .min_rate = cfg->min_rate,
                               .workers = cfg->threads,
                               .tick = lkd_housekeep,
                               .tick_arg = h};
  h->watch = lkd_watch_start(&wc, err, errlen);
  return h->watch ? 0 : -1;
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
  atomic_init(&h->stopping, 0);
  /* The stop waits on a monotonic clock: a wall-clock jump must not cut
   * requests short or hold the stop. */
  int cond_ok = lkd_cond_init_monotonic(&h->changed) == 0;
  if (!cond_ok || pthread_mutex_init(&h->lock, NULL) != 0) {
    if (cond_ok)
      pthread_cond_destroy(&h->changed);
    snprintf(err, errlen, "cannot create the HTTP layer's lock");
    free(h);
    return -1;
  }
  if (lkd_http_limits(h, err, errlen) != 0) {
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
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
  lkd_watch_check_files(mhd_limit, s->config.threads);
  struct MHD_OptionItem opts[12];
  size_t n = 0;
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, mhd_limit, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, s->config.timeout_s, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)lkd_on_completed, h};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)lkd_on_connection, h};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)lkd_on_target, h};
  /* The same margin per address: one client past ours still gets its
   * 503s, and cannot hold every socket. */
  if (s->config.max_per_address)
    opts[n++] = (struct MHD_OptionItem){
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        s->config.max_per_address + s->config.max_per_address / 4 + 16, NULL};
  if (s->config.threads > 1)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, s->config.threads, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, lkd_on_request, h, MHD_OPTION_ARRAY, opts,
                               MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot listen on %s:%u: %s", s->config.host, s->config.port,
             lkd_bind_error(&addr, addrlen));
    lkd_watch_stop(h->watch);
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return -1;
  }
  if (!lkd_is_loopback(&addr) && !s->token)
    lkd_log(LKD_LOG_WARN,
            "listening on %s, beyond this host, without --token-file: whoever reaches the "
            "port can use the devices",
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
      if (lkd_watch_open_count(h->watch) == 0 || quiet_left <= 0)
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
  MHD_stop_daemon(h->daemon); /* closes every connection: the watch is empty */
  lkd_watch_stop(h->watch);
  pthread_cond_destroy(&h->changed);
  pthread_mutex_destroy(&h->lock);
  lkd_memory_show_budget(NULL);
  free(h);
}
