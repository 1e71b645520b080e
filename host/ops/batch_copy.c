/* batch_copy.c - the host copies of a packed launch: each job's x or dy
 * into packed memory and its output back, one memcpy per job, split over a
 * few threads when there is enough to copy. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "ops/batch.h"

/* A single thread copies ~7 GB/s here, under what memory gives, and these
 * copies are most of a large packed batch's time (1000 x 4 Ki forward jobs
 * on PoCL, 2 cores: 2.4 ms in and 2 ms out on one thread; ~1.2 ms and
 * ~1.4 ms on two; the kernel ~2 ms). Below LK_COPY_BYTES_PER_THREAD a
 * thread costs more than it saves. */
#define LK_COPY_MAX_THREADS 4
#define LK_COPY_BYTES_PER_THREAD ((size_t)1 << 20)

typedef struct copy_task {
  const segment *s;
  leakycl_job *const *jobs;
  unsigned char *packed;
  lk_copy_dir dir;
  size_t from, to; /* items */
} copy_task;

static void *copy_items(void *arg) {
  const copy_task *t = arg;
  for (size_t k = t->from; k < t->to; k++) {
    const batch_item *it = &t->s->items[k];
    leakycl_job *job = t->jobs[it->job];
    const size_t bytes = it->r.n * t->s->elem_size;
    unsigned char *packed = t->packed + it->base * t->s->elem_size;
    if (t->dir == LK_COPY_X_IN)
      memcpy(packed, job->x, bytes);
    else if (t->dir == LK_COPY_DY_IN && it->backward)
      memcpy(packed, job->dy, bytes);
    else if (t->dir == LK_COPY_OUT)
      memcpy(job->out, packed, bytes);
  }
  return NULL;
}

/* The items are split into runs of about equal bytes, one thread each (the
 * caller's thread takes the first). */
void lk_batch_copy(const segment *s, leakycl_job *const *jobs, void *packed, lk_copy_dir dir) {
  size_t threads = s->elems * s->elem_size / LK_COPY_BYTES_PER_THREAD;
  if (threads > LK_COPY_MAX_THREADS)
    threads = LK_COPY_MAX_THREADS;
  if (threads > 1) {
    /* Asked only then: glibc reads /sys for it, a few syscalls that a small
     * batch (a busy daemon's) would pay on every copy. */
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > (size_t)(cpus > 0 ? cpus : 1))
      threads = (size_t)(cpus > 0 ? cpus : 1);
  }
  if (threads < 1)
    threads = 1;
  copy_task tasks[LK_COPY_MAX_THREADS] = {{0}};
  pthread_t ids[LK_COPY_MAX_THREADS];
  bool started[LK_COPY_MAX_THREADS] = {false};
  size_t k = 0;
  for (size_t t = 0; t < threads; t++) {
    /* Items up to the t+1-th share of the elements. */
    const size_t upto = s->elems / threads * (t + 1);
    tasks[t] = (copy_task){s, jobs, packed, dir, k, k};
    while (tasks[t].to < s->count && (t + 1 == threads || s->items[tasks[t].to].base < upto))
      tasks[t].to++;
    k = tasks[t].to;
  }
  for (size_t t = 1; t < threads; t++)
    started[t] = pthread_create(&ids[t], NULL, copy_items, &tasks[t]) == 0;
  copy_items(&tasks[0]);
  for (size_t t = 1; t < threads; t++) {
    if (started[t])
      pthread_join(ids[t], NULL);
    else
      copy_items(&tasks[t]); /* no thread to be had: copy here */
  }
}
