/* watch.c - the connection table (a list under one lock), per-address
 * counts (a tree), the phase clocks and the reaper thread that cuts
 * connections whose time is up. */
#include "watch.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "log.h"

#define LKD_NS ((int64_t)1000000000)
/* How often the reaper looks: the resolution of every deadline. */
#define LKD_REAP_NS (LKD_NS / 5)
/* How long a connection must have waited for its body before it may be
 * dropped for a new client: sending a body may take a while. One waiting
 * for its headers may be dropped at once: a client's headers come in one
 * packet right after the connect, so only the slow are found waiting. A
 * refused connection that has not sent its headers after LKD_REFUSED_NS is
 * closed unanswered. */
#define LKD_SLOW_BODY_NS LKD_NS
#define LKD_REFUSED_NS (LKD_NS / 10)
/* Files besides the connections: the listening socket, one wake-up fd per
 * thread, the OpenCL runtime's, the token and log files. */
#define LKD_FILE_MARGIN 64

/* A thread serving connections, and how long it has run handlers. */
typedef struct lkd_worker {
  pthread_t thread;
  atomic_int_least64_t busy_since; /* ns, 0 when no handler runs */
  atomic_int_least64_t busy_total; /* ns over finished handlers */
} lkd_worker;

/* Open connections from one address. */
typedef struct lkd_address {
  unsigned char family, len, bytes[16];
  unsigned count;
} lkd_address;

struct lkd_conn {
  lkd_conn *prev, *next;
  lkd_worker *worker; /* NULL when the table of threads was full */
  lkd_address *address;
  int fd;
  int refused; /* 0, or 1 over --max-connections, 2 over --max-per-address */
  int cut;
  lkd_phase phase;
  int64_t since;   /* when the phase's clock started */
  int64_t busy_at; /* the worker's busy time then */
  uint64_t mark;   /* the TCP byte count the clock measures from */
  int marked;
  atomic_size_t body; /* body bytes taken in this request */
  char name[48];      /* the address, for messages */
};

struct lkd_watch {
  lkd_watch_config cfg;
  pthread_mutex_t lock;
  pthread_cond_t wake; /* the stop, for the reaper */
  pthread_t reaper;
  int stopping;
  lkd_conn *head;
  unsigned open, doomed; /* doomed: cut, not yet closed */
  void *addresses;       /* tsearch tree of lkd_address */
  lkd_worker *workers;
  size_t worker_count, worker_cap;
};

static int64_t lkd_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * LKD_NS + t.tv_nsec;
}

/* The worker's handler time up to now. Read busy_since first: the worker
 * adds to busy_total before clearing busy_since, so a race counts a
 * handler twice (a clock is slowed) and never not at all. */
static int64_t lkd_busy(lkd_worker *wk, int64_t now) {
  if (!wk)
    return 0;
  int64_t since = atomic_load(&wk->busy_since);
  int64_t total = atomic_load(&wk->busy_total);
  return total + (since ? now - since : 0);
}

/* How long k has been in its phase while its thread was free to serve it. */
static int64_t lkd_waited(const lkd_conn *k, int64_t now) {
  return now - k->since - (lkd_busy(k->worker, now) - k->busy_at);
}

static void lkd_clock_restart(lkd_conn *k, int64_t now) {
  k->since = now;
  k->busy_at = lkd_busy(k->worker, now);
  k->marked = 0;
}

/* Bytes the kernel received on fd, and bytes of ours the peer acked. */
static int lkd_tcp_bytes(int fd, uint64_t *received, uint64_t *acked) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
      len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
    return -1; /* not TCP, or a kernel before 4.1: those clocks stay off */
  *received = ti.tcpi_bytes_received;
  *acked = ti.tcpi_bytes_acked;
  return 0;
}

/* Shuts k's socket down under libmicrohttpd, which sees the end of the
 * stream and closes the connection on its own thread; with a zero linger
 * the close resets it, so that megabytes already queued for a slow
 * reader are dropped instead of trickling out after the cut. The lock is
 * held: libmicrohttpd closes the socket only after lkd_watch_close, so the
 * fd is still k's. */
static void lkd_cut(lkd_watch *w, lkd_conn *k, const char *why) {
  const struct linger reset = {1, 0};
  setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  shutdown(k->fd, SHUT_RDWR);
  k->cut = 1;
  w->doomed++;
  lkd_log(LKD_LOG_INFO, "closed a connection from %s: %s", k->name, why);
}

/* One connection's clocks at one round of the reaper. */
static void lkd_reap_one(lkd_watch *w, lkd_conn *k, int64_t now) {
  char why[160];
  uint64_t received, acked;
  const int64_t grace = (int64_t)w->cfg.header_timeout_s * LKD_NS;
  const double rate = (double)w->cfg.min_rate;
  switch (k->phase) {
  case LKD_PHASE_IDLE:
    /* The next request's first byte starts its header clock. */
    if (lkd_tcp_bytes(k->fd, &received, &acked) != 0)
      break;
    if (!k->marked) {
      k->mark = received;
      k->marked = 1;
    } else if (received > k->mark) {
      k->phase = LKD_PHASE_HEADERS;
      lkd_clock_restart(k, now);
    }
    break;
  case LKD_PHASE_HEADERS:
    /* A refused connection holds a slot of libmicrohttpd's until its 503
     * is sent, after its headers: one that does not send them at once is
     * closed unanswered, or a flood of them would stop the accepts. */
    if (k->refused && lkd_waited(k, now) > LKD_REFUSED_NS) {
      lkd_cut(w, k, "refused (a connection limit), and its headers did not come at once");
    } else if (lkd_waited(k, now) > grace) {
      snprintf(why, sizeof why, "its request headers took over %u s (--header-timeout)",
               w->cfg.header_timeout_s);
      lkd_cut(w, k, why);
    }
    break;
  case LKD_PHASE_BODY:
    if (rate > 0 && lkd_waited(k, now) >
                        grace + (int64_t)((double)atomic_load(&k->body) / rate * (double)LKD_NS)) {
      snprintf(why, sizeof why, "its body came slower than %zu bytes/s (--min-rate)",
               w->cfg.min_rate);
      lkd_cut(w, k, why);
    }
    break;
  case LKD_PHASE_SENDING:
    if (rate <= 0 || lkd_tcp_bytes(k->fd, &received, &acked) != 0)
      break;
    if (!k->marked) {
      lkd_clock_restart(k, now);
      k->mark = acked;
      k->marked = 1;
    } else if (lkd_waited(k, now) >
               grace + (int64_t)((double)(acked - k->mark) / rate * (double)LKD_NS)) {
      snprintf(why, sizeof why, "it read its answer slower than %zu bytes/s (--min-rate)",
               w->cfg.min_rate);
      lkd_cut(w, k, why);
    }
    break;
  case LKD_PHASE_WORKING:
    break;
  }
}

static void *lkd_reaper(void *arg) {
  lkd_watch *w = arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stopping) {
    int64_t now = lkd_now();
    for (lkd_conn *k = w->head; k; k = k->next)
      if (!k->cut)
        lkd_reap_one(w, k, now);
    pthread_mutex_unlock(&w->lock);
    if (w->cfg.tick)
      w->cfg.tick(w->cfg.tick_arg);
    pthread_mutex_lock(&w->lock);
    int64_t until = lkd_now() + LKD_REAP_NS;
    struct timespec ts = {(time_t)(until / LKD_NS), (long)(until % LKD_NS)};
    if (!w->stopping)
      pthread_cond_timedwait(&w->wake, &w->lock, &ts);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int lkd_cond_init_monotonic(pthread_cond_t *cond) {
  pthread_condattr_t cattr;
  if (pthread_condattr_init(&cattr) != 0)
    return -1;
  int rc = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) == 0 &&
                   pthread_cond_init(cond, &cattr) == 0
               ? 0
               : -1;
  pthread_condattr_destroy(&cattr);
  return rc;
}

lkd_watch *lkd_watch_start(const lkd_watch_config *cfg, char *err, size_t errlen) {
  lkd_watch *w = calloc(1, sizeof *w);
  if (w) {
    w->cfg = *cfg;
    w->worker_cap = cfg->workers + 2; /* MHD's pool, or its one thread */
    w->workers = calloc(w->worker_cap, sizeof *w->workers);
  }
  if (!w || !w->workers) {
    snprintf(err, errlen, "out of memory");
    if (w)
      free(w);
    return NULL;
  }
  /* The reaper sleeps on a monotonic clock: a wall-clock jump must not
   * make it miss or rush a round. */
  int ok = lkd_cond_init_monotonic(&w->wake) == 0;
  if (ok && pthread_mutex_init(&w->lock, NULL) != 0) {
    pthread_cond_destroy(&w->wake);
    ok = 0;
  }
  if (ok && pthread_create(&w->reaper, NULL, lkd_reaper, w) != 0) {
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    ok = 0;
  }
  if (!ok) {
    snprintf(err, errlen, "cannot start the connection watch");
    free(w->workers);
    free(w);
    return NULL;
  }
  return w;
}

void lkd_watch_stop(lkd_watch *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  w->stopping = 1;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->reaper, NULL);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w->workers);
  free(w);
}

static int lkd_address_cmp(const void *a, const void *b) {
  const lkd_address *x = a, *y = b;
  if (x->family != y->family)
    return x->family < y->family ? -1 : 1;
  return memcmp(x->bytes, y->bytes, x->len);
}

/* The address of sa (IPv4-mapped IPv6 as IPv4) into key and k->name; 0,
 * or -1 for another family (not counted). */
static int lkd_address_of(const struct sockaddr *sa, lkd_address *key, lkd_conn *k) {
  memset(key, 0, sizeof *key);
  if (sa && sa->sa_family == AF_INET) {
    key->len = 4;
    memcpy(key->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else if (sa && sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    key->len = IN6_IS_ADDR_V4MAPPED(a) ? 4 : 16;
    memcpy(key->bytes, key->len == 4 ? a->s6_addr + 12 : a->s6_addr, key->len);
  } else {
    snprintf(k->name, sizeof k->name, "a local socket");
    return -1;
  }
  key->family = key->len == 4 ? AF_INET : AF_INET6;
  inet_ntop(key->family, key->bytes, k->name, sizeof k->name);
  return 0;
}

/* Counts k under its address (lock held); NULL when it is not counted. */
static lkd_address *lkd_address_add(lkd_watch *w, const lkd_address *key) {
  lkd_address **found = tfind(key, &w->addresses, lkd_address_cmp);
  if (found) {
    (*found)->count++;
    return *found;
  }
  lkd_address *a = malloc(sizeof *a);
  if (!a)
    return NULL;
  *a = *key;
  a->count = 1;
  if (!tsearch(a, &w->addresses, lkd_address_cmp)) {
    free(a);
    return NULL;
  }
  return a;
}

/* Which connections may be dropped for a new client, best first: kept
 * alive with no request (as nginx reuses them), waiting for its headers,
 * waiting for its body for LKD_SLOW_BODY_NS or more. -1: not droppable. */
static int lkd_drop_rank(const lkd_conn *k, int64_t waited) {
  if (k->cut)
    return -1;
  switch (k->phase) {
  case LKD_PHASE_IDLE:
    return 0;
  case LKD_PHASE_HEADERS:
    return 1;
  case LKD_PHASE_BODY:
    return waited >= LKD_SLOW_BODY_NS ? 2 : -1;
  default:
    return -1;
  }
}

/* The connection to drop for newcomer: of the best rank, the one that has
 * waited longest (lock held). NULL when none may be dropped. */
static lkd_conn *lkd_droppable(lkd_watch *w, const lkd_conn *newcomer, int64_t now) {
  lkd_conn *best = NULL;
  int best_rank = -1;
  int64_t best_waited = 0;
  for (lkd_conn *k = w->head; k; k = k->next) {
    if (k == newcomer)
      continue;
    int64_t waited = lkd_waited(k, now);
    int rank = lkd_drop_rank(k, waited);
    if (rank < 0)
      continue;
    if (!best || rank < best_rank || (rank == best_rank && waited > best_waited)) {
      best = k;
      best_rank = rank;
      best_waited = waited;
    }
  }
  return best;
}

/* The worker running the calling thread, registered on its first call
 * (lock held). */
static lkd_worker *lkd_self(lkd_watch *w) {
  pthread_t self = pthread_self();
  for (size_t i = 0; i < w->worker_count; i++)
    if (pthread_equal(w->workers[i].thread, self))
      return &w->workers[i];
  if (w->worker_count == w->worker_cap)
    return NULL;
  lkd_worker *wk = &w->workers[w->worker_count++];
  wk->thread = self;
  atomic_init(&wk->busy_since, 0);
  atomic_init(&wk->busy_total, 0);
  return wk;
}

lkd_conn *lkd_watch_open(lkd_watch *w, int fd, const struct sockaddr *addr) {
  lkd_conn *k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->fd = fd;
  atomic_init(&k->body, 0);
  lkd_address key;
  int counted = lkd_address_of(addr, &key, k) == 0;
  int64_t now = lkd_now();
  pthread_mutex_lock(&w->lock);
  k->worker = lkd_self(w);
  k->phase = LKD_PHASE_HEADERS; /* the header clock starts at the accept */
  lkd_clock_restart(k, now);
  if (counted)
    k->address = lkd_address_add(w, &key);
  k->next = w->head;
  if (w->head)
    w->head->prev = k;
  w->head = k;
  w->open++;
  if (w->cfg.max_per_address && k->address && k->address->count > w->cfg.max_per_address) {
    k->refused = 2; /* answered 503 soon: no other connection is dropped for it */
  } else if (w->open - w->doomed > w->cfg.max_connections) {
    lkd_conn *victim = lkd_droppable(w, k, now);
    if (victim) {
      char why[160];
      snprintf(why, sizeof why, "%s, dropped to make room for a new client (--max-connections %u)",
               victim->phase == LKD_PHASE_IDLE ? "the longest idle kept-alive connection"
                                               : "the oldest slow connection",
               w->cfg.max_connections);
      lkd_cut(w, victim, why);
    } else {
      k->refused = 1;
    }
  }
  pthread_mutex_unlock(&w->lock);
  return k;
}

void lkd_watch_close(lkd_watch *w, lkd_conn *k) {
  if (!k)
    return;
  pthread_mutex_lock(&w->lock);
  if (k->prev)
    k->prev->next = k->next;
  else
    w->head = k->next;
  if (k->next)
    k->next->prev = k->prev;
  w->open--;
  if (k->cut)
    w->doomed--;
  if (k->address && --k->address->count == 0) {
    tdelete(k->address, &w->addresses, lkd_address_cmp);
    free(k->address);
  }
  pthread_mutex_unlock(&w->lock);
  free(k);
}

unsigned lkd_watch_open_count(lkd_watch *w) {
  pthread_mutex_lock(&w->lock);
  unsigned open = w->open;
  pthread_mutex_unlock(&w->lock);
  return open;
}

int lkd_watch_refused(const lkd_watch *w, const lkd_conn *k, lkd_error *e) {
  if (!k || !k->refused)
    return 0;
  if (k->refused == 2)
    lkd_fail(e, LKD_UNAVAILABLE,
             "over the limit of %u open connections from %s (--max-per-address); retry later",
             w->cfg.max_per_address, k->name);
  else
    lkd_fail(e, LKD_UNAVAILABLE,
             "over the limit of %u open connections (--max-connections); retry later",
             w->cfg.max_connections);
  return 1;
}

void lkd_watch_phase(lkd_watch *w, lkd_conn *k, lkd_phase p) {
  if (!k)
    return;
  int64_t now = lkd_now();
  pthread_mutex_lock(&w->lock);
  k->phase = p;
  lkd_clock_restart(k, now);
  if (p == LKD_PHASE_BODY)
    atomic_store(&k->body, 0);
  pthread_mutex_unlock(&w->lock);
}

void lkd_watch_body(lkd_conn *k, size_t n) {
  if (k)
    atomic_fetch_add(&k->body, n);
}

void lkd_watch_busy(lkd_conn *k, int busy) {
  if (!k || !k->worker)
    return;
  lkd_worker *wk = k->worker;
  int64_t now = lkd_now();
  if (busy) {
    atomic_store(&wk->busy_since, now);
  } else {
    int64_t since = atomic_load(&wk->busy_since);
    if (since)
      atomic_fetch_add(&wk->busy_total, now - since);
    atomic_store(&wk->busy_since, 0); /* after the total: see lkd_busy */
  }
}

void lkd_watch_check_files(unsigned connections, unsigned threads) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  const rlim_t need = (rlim_t)connections + threads + LKD_FILE_MARGIN;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    /* The soft limit may rise up to the hard one without privileges. */
    struct rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    lkd_log(LKD_LOG_WARN,
            "the open-file limit (RLIMIT_NOFILE, ulimit -n) is %llu, below the %llu that "
            "--max-connections and --threads need: connections past it are refused "
            "unanswered; raise it or lower --max-connections",
            (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}
