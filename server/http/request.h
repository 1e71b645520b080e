/* request.h - what the HTTP layer's files share: the layer's state, one
 * request's state, and the admission checks (admission.c) that decide a
 * request's early answer before its body is stored. Internal to
 * server/http. */
#ifndef LEAKYCLD_REQUEST_H
#define LEAKYCLD_REQUEST_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "budget.h"
#include "encoding.h"
#include "errors.h"
#include "http.h"
#include "route.h"
#include "strict.h"
#include "watch.h"

struct lkd_http {
  lkd_server *server;
  struct MHD_Daemon *daemon;
  /* Every connection and its clocks; our own limits, which answer 503
   * where libmicrohttpd's would drop a connection without a word. */
  lkd_watch *watch;
  lkd_budget budget;   /* bodies and answers held (--max-inflight-bytes) */
  atomic_int stopping; /* set on a stop: every response closes its connection */
  pthread_mutex_t lock;
  pthread_cond_t changed;        /* signalled when inflight drops to 0 */
  size_t inflight;               /* requests between their headers and completion */
  struct timespec last_activity; /* CLOCK_MONOTONIC: a request's begin or end */
};

/* One request, from its first call to its completion. */
typedef struct lkd_http_request {
  lkd_http *http;
  lkd_server *server;
  lkd_conn *conn; /* its connection in the watch */
  const lkd_route *route;
  lkd_error early; /* decided before the body: 400, 401, 404, 405, 413, 503 */
  char *body;      /* from lkt_mem_alloc (the buffer pool) */
  size_t len, cap;
  size_t declared;   /* Content-Length when given and within --max-body, else 0 */
  lkd_coding coding; /* its Content-Encoding: inflated before the handler (encoding.c) */
  size_t received;
  size_t charged;    /* bytes of the in-flight budget held: the body's, then the answer's */
  const char *allow; /* the Allow header of a 405 */
  int begun;         /* the access handler has seen it (else only its request line came) */
  int close;         /* close the connection after the answer */
  int responded;
  int status;
  size_t bytes;
  struct timespec start;
  char method[16];
  char path[128];
} lkd_http_request;

/* Copies text for the access log: printable ASCII without spaces, truncated. */
void lkd_log_copy(char *dst, size_t cap, const char *src);

/* A request's state, or NULL when out of memory. */
lkd_http_request *lkd_request_new(lkd_http *h);

/* libmicrohttpd's URI log callback (cls: the lkd_http): the request's
 * state from its request line on, the target checked as it came. */
void *lkd_on_target(void *cls, const char *uri, struct MHD_Connection *c);

/* Decides req->early before the body: a broken request (400), a refused
 * connection (503), the token (401), the route (404, 405, and sets
 * req->route), --max-body (413), the in-flight budget (503: otherwise the
 * declared body's bytes are reserved), and a Content-Encoding it cannot
 * decode (415) for routes that take a body. Returns the strictness
 * verdict. */
lkd_strict_verdict lkd_check_early(lkd_http *h, lkd_http_request *req, struct MHD_Connection *c,
                                   const char *url, const char *method, const char *version);

#endif
