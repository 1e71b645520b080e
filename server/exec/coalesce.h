/* coalesce.h - concurrent requests' jobs for one device run together in one
 * leakycl_run_job_list call (dynamic batching, as Triton's batcher does, but
 * with no waiting window: a lone request runs at once). */
#ifndef LEAKYCLD_COALESCE_H
#define LEAKYCLD_COALESCE_H

#include <pthread.h>
#include <stddef.h>

#include "leakycl.h"
#include "load.h"

typedef struct lkd_pending lkd_pending;

typedef struct lkd_coalescer {
  pthread_mutex_t lock;
  lkd_pending *head; /* jobs waiting for the next launch */
  lkd_pending **tail;
  int running;                  /* a leader's launch is in flight, or handed on */
  unsigned long launches, jobs; /* totals, for the metrics */
} lkd_coalescer;

/* 0, or -1 when the mutex cannot be made. */
int lkd_coalescer_init(lkd_coalescer *c);
void lkd_coalescer_destroy(lkd_coalescer *c);

/* Runs *jobs[0..count) on ctx, together with whatever other threads submit
 * meanwhile; returns when they ran, each with its own status and message
 * (as leakycl_run_job_list leaves them: no lock is needed around it). The
 * leader times each library call into load (the device's). launch (may be
 * NULL) gets when the call that carried the jobs began and ended
 * (lkd_load_clock seconds). Returns the number of launches this call
 * performed as the leader (0 when another thread's launch carried its
 * jobs). */
unsigned lkd_coalesce_run(lkd_coalescer *c, lkd_load *load, leakycl_context *ctx,
                          leakycl_job *const *jobs, size_t count, double launch[2]);

#endif
