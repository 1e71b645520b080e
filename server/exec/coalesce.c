/* coalesce.c - group commit for device launches. A request thread queues
 * its jobs; if no launch is in flight it becomes the leader, takes every
 * queued request (its own first) and runs them all in one
 * leakycl_run_job_list call, then wakes the others. Requests that arrive
 * during a launch wait for the next one, which one of them leads. A launch
 * with clFinish costs 20-60 us on PoCL whatever its size, so under load many
 * small requests share that cost; alone, a request pays it as before and
 * waits for no timer. Each job keeps its own status: one bad job fails only
 * itself. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"

/* Where a waiting request sleeps. A slot outlives the request that used
 * it (slots are reused, and freed with the coalescer), so a leader can
 * signal after it has released the lock: signalled under the lock, every
 * woken waiter would block at once on that lock and sleep again, two more
 * context switches a request. A late signal that reaches a slot's next user
 * is a spurious wake-up, which its loop absorbs. */
struct lkd_waiter {
  pthread_cond_t wake;
  lkd_waiter *next_idle;
  lkd_waiter *next_made;
};

struct lkd_pending {
  leakycl_job *const *jobs;
  size_t count;
  int done;
  double began, ended; /* the launch that carried it (set with done) */
  lkd_waiter *waiter;
  lkd_pending *next;
};

int lkd_coalescer_init(lkd_coalescer *c) {
  memset(c, 0, sizeof *c);
  c->tail = &c->head;
  return pthread_mutex_init(&c->lock, NULL) == 0 ? 0 : -1;
}

void lkd_coalescer_destroy(lkd_coalescer *c) {
  for (lkd_waiter *w = c->all, *next; w; w = next) {
    next = w->next_made;
    pthread_cond_destroy(&w->wake);
    free(w);
  }
  pthread_mutex_destroy(&c->lock);
}

/* An idle slot, or a new one (NULL without memory). Under c->lock. */
static lkd_waiter *waiter_take(lkd_coalescer *c) {
  lkd_waiter *w = c->idle;
  if (w) {
    c->idle = w->next_idle;
    return w;
  }
  w = calloc(1, sizeof *w);
  if (!w || pthread_cond_init(&w->wake, NULL) != 0) {
    free(w);
    return NULL;
  }
  w->next_made = c->all;
  c->all = w;
  return w;
}

/* One library call, timed into the device's load (its busy time and the
 * speeds the scheduler reads). */
static void run_list(lkd_load *load, leakycl_context *ctx, leakycl_job *const *jobs, size_t n) {
  double t0 = lkd_load_clock();
  leakycl_run_job_list(ctx, jobs, n);
  lkd_load_launch(load, jobs, n, lkd_load_clock() - t0);
}

/* Runs the taken requests, in queue order, as one list of jobs (each job
 * keeps its own status and message). Without memory for the list, each
 * request runs alone. */
static void run_group(lkd_pending *group, lkd_load *load, leakycl_context *ctx) {
  size_t total = 0;
  for (lkd_pending *p = group; p; p = p->next)
    total += p->count;
  if (!group->next) {
    run_list(load, ctx, group->jobs, group->count);
    return;
  }
  leakycl_job **all = malloc(total * sizeof *all);
  if (!all) {
    for (lkd_pending *p = group; p; p = p->next)
      run_list(load, ctx, p->jobs, p->count);
    return;
  }
  size_t at = 0;
  for (lkd_pending *p = group; p; p = p->next) {
    memcpy(all + at, p->jobs, p->count * sizeof *all);
    at += p->count;
  }
  run_list(load, ctx, all, total);
  free(all);
}

/* Wakes w now (under the lock) or records it for after the lock (wakes). */
static void wake_later(lkd_waiter **wakes, size_t *nw, lkd_waiter *w) {
  if (wakes)
    wakes[(*nw)++] = w;
  else /* no memory for the list: signal under the lock, slower but right */
    pthread_cond_signal(&w->wake);
}

/* Marks the group done (its launch ran from began to ended) and, outside
 * the lock, wakes its waiters and the next leader. Called with c->lock
 * held; returns with it released. */
static void finish_group(lkd_coalescer *c, lkd_pending *group, const lkd_pending *me, double began,
                         double ended) {
  enum { STACK_WAKES = 64 };
  lkd_waiter *stack_wakes[STACK_WAKES];
  size_t n = 1; /* the next leader */
  for (lkd_pending *p = group; p; p = p->next)
    n += p != me;
  lkd_waiter **wakes = n <= STACK_WAKES ? stack_wakes : malloc(n * sizeof *wakes);
  size_t nw = 0, njobs = 0;
  for (lkd_pending *p = group, *next; p; p = next) {
    next = p->next; /* p may be gone once done is set and the lock dropped */
    njobs += p->count;
    if (p != me)
      wake_later(wakes, &nw, p->waiter);
    p->began = began;
    p->ended = ended;
    p->done = 1;
  }
  c->launches++;
  c->jobs += njobs;
  c->running = 0;
  /* Requests that queued during the launch: the first leads the next. */
  if (c->head)
    wake_later(wakes, &nw, c->head->waiter);
  pthread_mutex_unlock(&c->lock);
  for (size_t i = 0; i < nw; i++)
    pthread_cond_signal(&wakes[i]->wake);
  if (wakes != stack_wakes)
    free(wakes);
}

unsigned lkd_coalesce_run(lkd_coalescer *c, lkd_load *load, leakycl_context *ctx,
                          leakycl_job *const *jobs, size_t count, double launch[2]) {
  /* On this thread's stack: a leader takes the whole queue (and resets
   * tail) before it marks me done, so nothing refers to me once the loop
   * below ends (only to my waiter slot, which stays). */
  lkd_pending me = {jobs, count, 0, 0, 0, NULL, NULL};
  unsigned led = 0;
  pthread_mutex_lock(&c->lock);
  me.waiter = waiter_take(c);
  if (!me.waiter) {      /* no memory for a slot: run alone, outside the queue */
    while (c->running) { /* never woken for us: poll the running flag */
      pthread_mutex_unlock(&c->lock);
      sched_yield();
      pthread_mutex_lock(&c->lock);
    }
  }
  *c->tail = &me;
  /* cppcheck-suppress autoVariables */
  c->tail = &me.next;
  while (!me.done) {
    if (c->running) {
      pthread_cond_wait(&me.waiter->wake, &c->lock);
      continue;
    }
    /* Lead: take the whole queue (this request is in it). */
    lkd_pending *group = c->head;
    c->head = NULL;
    c->tail = &c->head;
    c->running = 1;
    pthread_mutex_unlock(&c->lock);
    const double began = lkd_load_clock();
    run_group(group, load, ctx);
    const double ended = lkd_load_clock();
    pthread_mutex_lock(&c->lock);
    finish_group(c, group, &me, began, ended);
    led++;
    pthread_mutex_lock(&c->lock);
  }
  if (me.waiter) {
    me.waiter->next_idle = c->idle;
    c->idle = me.waiter;
  }
  pthread_mutex_unlock(&c->lock);
  if (launch) {
    launch[0] = me.began;
    launch[1] = me.ended;
  }
  return led;
}
