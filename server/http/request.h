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

/* The longest X-Request-ID taken from a client. */
#define LKD_REQUEST_ID_MAX 128

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
  lkd_error_code error; /* the code of the JSON error answered; LKD_OK: none */
  size_t bytes;
  struct timespec start; /* CLOCK_MONOTONIC, for its duration */
  struct timespec wall;  /* CLOCK_REALTIME, the access log line's time */
  const char *model;     /* the /v2 model its path names, for the metrics; or NULL */
  char method[16];
  char path[128];
  char client[56];                 /* "IP:port" ("[IP]:port" for IPv6), or "-" */
  char id[LKD_REQUEST_ID_MAX + 1]; /* X-Request-ID: the client's, or one made up */
} lkd_http_request;

/* Copies text for the access log: printable ASCII without spaces, truncated
 * with "...". */
void lkd_log_copy(char *dst, size_t cap, const char *src);

/* A request's state from its first sight on connection c (its client
 * address and start times), or NULL when out of memory. */
lkd_http_request *lkd_request_new(lkd_http *h, struct MHD_Connection *c);

/* (access_log.c) Writes addr as "IP:port" ("[IP]:port" for IPv6, an
 * IPv4-mapped address as IPv4), or "-" for another family or NULL. */
void lkd_client_text(const struct sockaddr *addr, char *out, size_t cap);
/* Sets req->id from the X-Request-ID header when it is a sane token (1 to
 * LKD_REQUEST_ID_MAX characters of printable ASCII, no space), else to 16
 * hex digits made up for it, unique in the process. */
void lkd_request_id_take(lkd_http_request *req, struct MHD_Connection *c);
/* Writes req's access log line (its level by status: 5xx error, 4xx warn,
 * else info). by_mhd: libmicrohttpd answered it itself; toe: how it
 * ended; seconds: its duration. */
void lkd_access_log(lkd_http_request *req, int by_mhd, enum MHD_RequestTerminationCode toe,
                    double seconds);

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
