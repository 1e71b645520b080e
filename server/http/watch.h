/* watch.h - every open connection and the clocks on it: a deadline for a
 * request's headers, a minimum rate for its body and for the reading of
 * its answer, limits on connections in all and per client address, and
 * room made for a new client by dropping the oldest slow connection. One
 * reaper thread enforces the clocks; a connection whose time is up is shut
 * down under libmicrohttpd, which then closes it as if the client had. */
#ifndef LEAKYCLD_WATCH_H
#define LEAKYCLD_WATCH_H

#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>

#include "errors.h"

typedef struct lkd_watch lkd_watch;
typedef struct lkd_conn lkd_conn;

typedef struct lkd_watch_config {
  unsigned max_connections;
  unsigned max_per_address; /* 0: no limit */
  unsigned header_timeout_s;
  size_t min_rate;  /* bytes/s, after header_timeout_s of grace; 0: off */
  unsigned workers; /* threads serving connections */
  /* Called by the reaper after each round (a few times a second). */
  void (*tick)(void *arg);
  void *tick_arg;
} lkd_watch_config;

/* Where a connection's current request is. The clocks run in HEADERS
 * (from the accept, or from the first byte of a kept-alive connection's
 * next request), BODY and SENDING; they stand still while the thread that
 * serves the connection runs a handler, since nothing is read or sent for
 * it then. */
typedef enum lkd_phase {
  LKD_PHASE_IDLE,    /* kept alive between requests: --timeout applies */
  LKD_PHASE_HEADERS, /* waiting for the request's headers */
  LKD_PHASE_BODY,    /* reading (or draining) its body */
  LKD_PHASE_WORKING, /* the handler runs: no clock */
  LKD_PHASE_SENDING, /* the answer is being sent */
} lkd_phase;

/* Starts the reaper. NULL with a message in err on failure. */
lkd_watch *lkd_watch_start(const lkd_watch_config *cfg, char *err, size_t errlen);
/* Stops the reaper and frees w; every connection must be closed. */
void lkd_watch_stop(lkd_watch *w);

/* A connection accepted on socket fd from addr, called on the thread that
 * will serve it. When the table is full it first drops another: the
 * longest idle kept-alive one, else the one waiting longest for its
 * headers, else for its body (a second or more); with none to drop, or
 * over the per-address limit, the new one is marked refused (answered 503
 * once its headers are in, closed if they do not come at once). NULL when
 * out of memory. */
lkd_conn *lkd_watch_open(lkd_watch *w, int fd, const struct sockaddr *addr);
/* Forgets k (libmicrohttpd closes the socket after this). */
void lkd_watch_close(lkd_watch *w, lkd_conn *k);
/* Connections open now. */
unsigned lkd_watch_open_count(lkd_watch *w);

/* Whether k's requests are refused (its message, a 503, in e). */
int lkd_watch_refused(const lkd_watch *w, const lkd_conn *k, lkd_error *e);

/* k's request moved to phase p. */
void lkd_watch_phase(lkd_watch *w, lkd_conn *k, lkd_phase p);
/* n more body bytes of k's request were taken. */
void lkd_watch_body(lkd_conn *k, size_t n);
/* The thread serving k starts (busy) or ends running a handler. */
void lkd_watch_busy(lkd_conn *k, int busy);

/* Initializes cond to time its waits on CLOCK_MONOTONIC (a wall-clock
 * jump must not shorten or stretch them); 0 or -1. */
int lkd_cond_init_monotonic(pthread_cond_t *cond);

/* Raises the soft open-file limit toward what `connections` connections
 * and `threads` threads need, and warns on stderr when it stays below. */
void lkd_watch_check_files(unsigned connections, unsigned threads);

#endif
