/* schedule.c - the device choice for jobs that name none, and the queue
 * charges behind it (schedule.h). */
#include "schedule.h"

#include <math.h>

/* Whether the scheduler is to place the job: decoded, not run, unnamed. */
static int lkd_unplaced(const lkd_job *job) {
  return job->err.code == LKD_OK && !job->ran && job->device == LKD_DEVICE_ANY;
}

/* The device that finishes the request's unplaced jobs first: the work
 * already queued on it plus theirs, each at the device's own measured
 * speed for the job's op and size class. Decided without waiting or
 * locking: a request that races another to the same idle device costs one
 * queue's wait, not a wrong answer. */
static size_t lkd_sched_best(lkd_server *s, lkd_job *const *jobs, size_t n) {
  size_t best = 0;
  double best_s = INFINITY;
  for (size_t d = 0; d < s->device_count; d++) {
    const lkd_load *l = &s->devices[d].load;
    double t = (double)atomic_load_explicit(&l->queued_ns, memory_order_relaxed) * 1e-9;
    for (size_t i = 0; i < n; i++)
      if (lkd_unplaced(jobs[i]))
        t += lkd_load_estimate(l, jobs[i]->run.op, jobs[i]->count);
    if (t < best_s)
      best = d, best_s = t;
  }
  return best;
}

void lkd_sched_place(lkd_server *s, lkd_job *const *jobs, size_t n) {
  /* One device: no estimate, every job to it, as before the scheduler. */
  size_t best = s->device_count > 1 ? lkd_sched_best(s, jobs, n) : 0;
  for (size_t i = 0; i < n; i++) {
    lkd_job *job = jobs[i];
    if (lkd_unplaced(job))
      job->device = best;
    if (job->err.code != LKD_OK || job->ran || job->queued || job->device >= s->device_count)
      continue;
    lkd_load *l = &s->devices[job->device].load;
    job->queued = 1;
    job->queued_ns = (int64_t)(lkd_load_estimate(l, job->run.op, job->count) * 1e9);
    atomic_fetch_add_explicit(&l->queued_jobs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->queued_elements, (int64_t)job->count, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->queued_ns, job->queued_ns, memory_order_relaxed);
  }
}

void lkd_sched_discharge(lkd_server *s, lkd_job *const *jobs, size_t n, size_t d) {
  lkd_load *l = &s->devices[d].load;
  for (size_t i = 0; i < n; i++) {
    lkd_job *job = jobs[i];
    if (!job->queued || job->device != d)
      continue;
    job->queued = 0;
    atomic_fetch_sub_explicit(&l->queued_jobs, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&l->queued_elements, (int64_t)job->count, memory_order_relaxed);
    atomic_fetch_sub_explicit(&l->queued_ns, job->queued_ns, memory_order_relaxed);
  }
}
