/* coalesce.c - group commit for device launches. A request thread queues
 * its jobs; if no launch is in flight it becomes the leader, takes every
 * queued request (its own first) and runs them all in one
 * leakycl_run_job_list call, then wakes the others. Requests that arrive
 * during a launch wait for the next one, which one of them leads. A launch
 * with clFinish costs 20-60 us on PoCL whatever its size, so under load many
 * small requests share that cost; alone, a request pays it as before and
 * waits for no timer. Each job keeps its own status: one bad job fails only
 * itself. */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"

/* What a queued request is told when it is woken. */
enum { PENDING_WAITING, PENDING_DONE, PENDING_LEAD };

struct lkd_pending {
  leakycl_job *const *jobs;
  size_t count;
  int state;           /* PENDING_*, set under the lock before the wake-up */
  double began, ended; /* the launch that carried it (set with done) */
  sem_t *wake;         /* its thread's semaphore */
  lkd_pending *next;
};

/* Where a waiting request sleeps: its thread's own semaphore, posted once
 * for each wait. Woken, a request needs no lock (it reads its state, which
 * the post publishes), so the twenty-odd requests one launch finishes do not
 * all queue on the coalescer's lock again, as pthread_cond_wait would make
 * them (a futex wait and wake each, measured under wrk). */
static _Thread_local sem_t thread_wake;
static _Thread_local int thread_wake_made;

static sem_t *my_wake(void) {
  if (!thread_wake_made) {
    sem_init(&thread_wake, 0, 0);
    thread_wake_made = 1;
  }
  return &thread_wake;
}

static void sleep_until_posted(sem_t *wake) {
  while (sem_wait(wake) != 0 && errno == EINTR)
    ;
}

int lkd_coalescer_init(lkd_coalescer *c) {
  memset(c, 0, sizeof *c);
  c->tail = &c->head;
  return pthread_mutex_init(&c->lock, NULL) == 0 ? 0 : -1;
}

void lkd_coalescer_destroy(lkd_coalescer *c) { pthread_mutex_destroy(&c->lock); }

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

/* Records wake for a post after the lock (wakes), or posts it now when
 * there was no memory for that list: under the lock, slower but right. */
static void post_later(sem_t **wakes, size_t *nw, sem_t *wake) {
  if (wakes)
    wakes[(*nw)++] = wake;
  else
    sem_post(wake);
}

/* Marks the group done (its launch ran from began to ended), hands the
 * lead to the first request queued meanwhile (running stays set, so no
 * newcomer leads in between) and, outside the lock, wakes them. Called with
 * c->lock held; returns with it released. */
static void finish_group(lkd_coalescer *c, lkd_pending *group, const lkd_pending *me, double began,
                         double ended) {
  enum { STACK_WAKES = 64 };
  sem_t *stack_wakes[STACK_WAKES];
  size_t n = 1; /* the next leader */
  for (lkd_pending *p = group; p; p = p->next)
    n += p != me;
  sem_t **wakes = n <= STACK_WAKES ? stack_wakes : malloc(n * sizeof *wakes);
  size_t nw = 0, njobs = 0;
  for (lkd_pending *p = group, *next; p; p = next) {
    next = p->next; /* p may be gone once it is posted */
    njobs += p->count;
    p->began = began;
    p->ended = ended;
    p->state = PENDING_DONE;
    if (p != me)
      post_later(wakes, &nw, p->wake);
  }
  c->launches++;
  c->jobs += njobs;
  c->running = c->head != NULL;
  if (c->head) {
    c->head->state = PENDING_LEAD;
    post_later(wakes, &nw, c->head->wake);
  }
  pthread_mutex_unlock(&c->lock);
  for (size_t i = 0; i < nw; i++)
    sem_post(wakes[i]);
  if (wakes != stack_wakes)
    free(wakes);
}

/* Takes the whole queue (the caller's request is in it), runs it and
 * finishes it. Called with c->lock held and running set for the caller;
 * returns with the lock released. */
static void lead(lkd_coalescer *c, lkd_load *load, leakycl_context *ctx, const lkd_pending *me) {
  lkd_pending *group = c->head;
  c->head = NULL;
  c->tail = &c->head;
  pthread_mutex_unlock(&c->lock);
  const double began = lkd_load_clock();
  run_group(group, load, ctx);
  const double ended = lkd_load_clock();
  pthread_mutex_lock(&c->lock);
  finish_group(c, group, me, began, ended);
}

unsigned lkd_coalesce_run(lkd_coalescer *c, lkd_load *load, leakycl_context *ctx,
                          leakycl_job *const *jobs, size_t count, double launch[2]) {
  /* On this thread's stack: a leader takes the whole queue (and resets
   * tail) before it marks me done, so nothing refers to me once I am
   * posted. */
  lkd_pending me = {jobs, count, PENDING_WAITING, 0, 0, my_wake(), NULL};
  unsigned led = 0;
  pthread_mutex_lock(&c->lock);
  *c->tail = &me;
  /* cppcheck-suppress autoVariables */
  c->tail = &me.next;
  if (!c->running) {
    c->running = 1;
    lead(c, load, ctx, &me);
    led = 1;
  } else {
    pthread_mutex_unlock(&c->lock);
    sleep_until_posted(me.wake);
    if (me.state == PENDING_LEAD) { /* handed the lead: my request heads the queue */
      pthread_mutex_lock(&c->lock);
      lead(c, load, ctx, &me);
      led = 1;
    }
  }
  if (launch) {
    launch[0] = me.began;
    launch[1] = me.ended;
  }
  return led;
}
