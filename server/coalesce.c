/* coalesce.c - group commit for device launches. A request thread queues
 * its jobs; if no launch is in flight it becomes the leader, takes every
 * queued request (its own first) and runs them all in one leakycl_run_jobs
 * call, then wakes the others. Requests that arrive during a launch wait for
 * the next one, which one of them leads. A launch with clFinish costs
 * 20-60 us on PoCL whatever its size, so under load many small requests
 * share that cost; alone, a request pays it as before and waits for no
 * timer. Each job keeps its own status: one bad job fails only itself. */
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"

struct lkd_pending {
  leakycl_job *jobs;
  size_t count;
  int done;
  lkd_pending *next;
};

int lkd_coalescer_init(lkd_coalescer *c) {
  memset(c, 0, sizeof *c);
  c->tail = &c->head;
  if (pthread_mutex_init(&c->lock, NULL) != 0)
    return -1;
  if (pthread_cond_init(&c->done, NULL) != 0) {
    pthread_mutex_destroy(&c->lock);
    return -1;
  }
  return 0;
}

void lkd_coalescer_destroy(lkd_coalescer *c) {
  pthread_cond_destroy(&c->done);
  pthread_mutex_destroy(&c->lock);
}

/* Runs the taken requests, in queue order, as one array of jobs; statuses
 * and errors are copied back to each request's own jobs. Without memory
 * for the array, each request runs alone. */
static void run_group(lkd_pending *group, leakycl_context *ctx, pthread_mutex_t *ctx_lock) {
  size_t total = 0;
  for (lkd_pending *p = group; p; p = p->next)
    total += p->count;
  leakycl_job *all = group->next ? malloc(total * sizeof *all) : NULL;
  pthread_mutex_lock(ctx_lock);
  if (!all) {
    for (lkd_pending *p = group; p; p = p->next)
      leakycl_run_jobs(ctx, p->jobs, p->count);
  } else {
    size_t at = 0;
    for (lkd_pending *p = group; p; p = p->next) {
      memcpy(all + at, p->jobs, p->count * sizeof *all);
      at += p->count;
    }
    leakycl_run_jobs(ctx, all, total);
    at = 0;
    for (lkd_pending *p = group; p; p = p->next) {
      for (size_t k = 0; k < p->count; k++, at++) {
        p->jobs[k].status = all[at].status;
        memcpy(p->jobs[k].error, all[at].error, sizeof p->jobs[k].error);
      }
    }
  }
  pthread_mutex_unlock(ctx_lock);
  free(all);
}

unsigned lkd_coalesce_run(lkd_coalescer *c, leakycl_context *ctx, pthread_mutex_t *ctx_lock,
                          leakycl_job *jobs, size_t count) {
  /* On this thread's stack: a leader takes the whole queue (and resets
   * tail) before it marks me done, so nothing refers to me once the loop
   * below ends. */
  lkd_pending me = {jobs, count, 0, NULL};
  unsigned led = 0;
  pthread_mutex_lock(&c->lock);
  *c->tail = &me;
  /* cppcheck-suppress autoVariables */
  c->tail = &me.next;
  while (!me.done) {
    if (c->running) {
      pthread_cond_wait(&c->done, &c->lock);
      continue;
    }
    /* Lead: take the whole queue (this request is in it). */
    lkd_pending *group = c->head;
    c->head = NULL;
    c->tail = &c->head;
    c->running = 1;
    pthread_mutex_unlock(&c->lock);
    run_group(group, ctx, ctx_lock);
    pthread_mutex_lock(&c->lock);
    size_t njobs = 0;
    for (lkd_pending *p = group, *next; p; p = next) {
      next = p->next; /* p may be gone once done is set and the lock dropped */
      njobs += p->count;
      p->done = 1;
    }
    c->launches++;
    c->jobs += njobs;
    c->running = 0;
    led++;
    pthread_cond_broadcast(&c->done);
  }
  pthread_mutex_unlock(&c->lock);
  return led;
}
