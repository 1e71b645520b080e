/* coalesce.c - group commit for device launches. A request thread queues
 * its jobs; if no launch is in flight it becomes the leader, takes every
 * queued request (its own first) and runs them all in one
 * leakycl_run_job_list call, then wakes the others. Requests that arrive during a launch wait for
 * the next one, which one of them leads. A launch with clFinish costs
 * 20-60 us on PoCL whatever its size, so under load many small requests
 * share that cost; alone, a request pays it as before and waits for no
 * timer. Each job keeps its own status: one bad job fails only itself. */
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"

struct lkd_pending {
  leakycl_job *const *jobs;
  size_t count;
  int done;
  /* Signalled when this request's jobs ran or it is to lead: each waiter
   * has its own, so a launch's end wakes exactly the threads it concerns
   * (a shared broadcast woke every waiter to find most with nothing to do). */
  pthread_cond_t wake;
  lkd_pending *next;
};

int lkd_coalescer_init(lkd_coalescer *c) {
  memset(c, 0, sizeof *c);
  c->tail = &c->head;
  return pthread_mutex_init(&c->lock, NULL) == 0 ? 0 : -1;
}

void lkd_coalescer_destroy(lkd_coalescer *c) { pthread_mutex_destroy(&c->lock); }

/* Runs the taken requests, in queue order, as one list of jobs (each job
 * keeps its own status and message). Without memory for the list, each
 * request runs alone. */
static void run_group(lkd_pending *group, leakycl_context *ctx) {
  size_t total = 0;
  for (lkd_pending *p = group; p; p = p->next)
    total += p->count;
  if (!group->next) {
    leakycl_run_job_list(ctx, group->jobs, group->count);
    return;
  }
  leakycl_job **all = malloc(total * sizeof *all);
  if (!all) {
    for (lkd_pending *p = group; p; p = p->next)
      leakycl_run_job_list(ctx, p->jobs, p->count);
    return;
  }
  size_t at = 0;
  for (lkd_pending *p = group; p; p = p->next) {
    memcpy(all + at, p->jobs, p->count * sizeof *all);
    at += p->count;
  }
  leakycl_run_job_list(ctx, all, total);
  free(all);
}

unsigned lkd_coalesce_run(lkd_coalescer *c, leakycl_context *ctx, leakycl_job *const *jobs,
                          size_t count) {
  /* On this thread's stack: a leader takes the whole queue (and resets
   * tail) before it marks me done, so nothing refers to me once the loop
   * below ends. */
  lkd_pending me = {jobs, count, 0, PTHREAD_COND_INITIALIZER, NULL};
  unsigned led = 0;
  pthread_mutex_lock(&c->lock);
  *c->tail = &me;
  /* cppcheck-suppress autoVariables */
  c->tail = &me.next;
  while (!me.done) {
    if (c->running) {
      pthread_cond_wait(&me.wake, &c->lock);
      continue;
    }
    /* Lead: take the whole queue (this request is in it). */
    lkd_pending *group = c->head;
    c->head = NULL;
    c->tail = &c->head;
    c->running = 1;
    pthread_mutex_unlock(&c->lock);
    run_group(group, ctx);
    pthread_mutex_lock(&c->lock);
    size_t njobs = 0;
    for (lkd_pending *p = group, *next; p; p = next) {
      next = p->next; /* p may be gone once done is set and the lock dropped */
      njobs += p->count;
      p->done = 1;
      if (p != &me)
        pthread_cond_signal(&p->wake);
    }
    c->launches++;
    c->jobs += njobs;
    c->running = 0;
    led++;
    /* Requests that queued during the launch: the first leads the next. */
    if (c->head)
      pthread_cond_signal(&c->head->wake);
  }
  pthread_mutex_unlock(&c->lock);
  pthread_cond_destroy(&me.wake);
  return led;
}
