/* test_server_coalesce.c - the daemon's coalescer under contention: threads
 * that submit small forward jobs at once share launches, each request comes
 * back with its own exact answer and its launch's times, a bad job fails
 * only itself, and the counters add up (every wake-up and hand-off of the
 * lead accounted for: a lost one would hang this test, a doubled one would
 * hand a request an unfinished answer). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coalesce.h"
#include "load.h"
#include "test.h"

enum { THREADS = 8, ROUNDS = 200, MAX_JOBS = 3, MAX_N = 40 };

static leakycl_context *ctx;
static lkd_coalescer coalescer;
static lkd_load load;

typedef struct worker {
  unsigned seed;
  unsigned long calls, jobs, led, wrong, bad_ok, times_wrong;
} worker;

static unsigned next_rand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return *s >> 8;
}

/* leaky_relu with slope a, in float64 then rounded: the kernel's float32
 * product is exact to one rounding. */
static float leaky_ref(float x, float a) { return x >= 0.0f ? x : (float)((double)x * (double)a); }

static void *work(void *arg) {
  worker *w = arg;
  float x[MAX_JOBS][MAX_N], y[MAX_JOBS][MAX_N], alpha[MAX_JOBS];
  leakycl_job jobs[MAX_JOBS];
  leakycl_job *list[MAX_JOBS];
  for (int r = 0; r < ROUNDS; r++) {
    const size_t count = 1 + next_rand(&w->seed) % MAX_JOBS;
    /* One round in ten carries a bad job (two alphas for one channel). */
    const size_t bad = next_rand(&w->seed) % 10 == 0 ? next_rand(&w->seed) % count : MAX_JOBS;
    memset(jobs, 0, sizeof jobs);
    for (size_t k = 0; k < count; k++) {
      const size_t n = 1 + next_rand(&w->seed) % MAX_N;
      alpha[k] = (float)(next_rand(&w->seed) % 100) / 64.0f;
      for (size_t i = 0; i < n; i++) {
        x[k][i] = (float)((int)(next_rand(&w->seed) % 2001) - 1000) / 37.0f;
        y[k][i] = NAN;
      }
      leakycl_params_init(&jobs[k].params, LEAKYCL_LEAKY_RELU);
      jobs[k].params.alpha = &alpha[k];
      jobs[k].params.alpha_count = k == bad ? 2 : 1;
      jobs[k].view = leakycl_view_flat(n);
      jobs[k].x = x[k];
      jobs[k].out = y[k];
      list[k] = &jobs[k];
    }
    double launch[2] = {-1.0, -1.0};
    const double before = lkd_load_clock();
    w->led += lkd_coalesce_run(&coalescer, &load, ctx, list, count, launch);
    const double after = lkd_load_clock();
    if (!(before <= launch[0] && launch[0] <= launch[1] && launch[1] <= after))
      w->times_wrong++;
    w->calls++;
    w->jobs += count;
    for (size_t k = 0; k < count; k++) {
      if (k == bad) {
        w->bad_ok += jobs[k].status == LEAKYCL_OK || !isnan(y[k][0]);
        continue;
      }
      if (jobs[k].status != LEAKYCL_OK) {
        w->wrong++;
        continue;
      }
      for (size_t i = 0; i < jobs[k].view.inner; i++)
        w->wrong += y[k][i] != leaky_ref(x[k][i], alpha[k]);
    }
  }
  return NULL;
}

static void test_threads_share_launches(void) {
  worker w[THREADS];
  pthread_t ids[THREADS];
  memset(w, 0, sizeof w);
  for (int t = 0; t < THREADS; t++) {
    w[t].seed = 7919u * (unsigned)(t + 1);
    CHECK(pthread_create(&ids[t], NULL, work, &w[t]) == 0);
  }
  unsigned long calls = 0, jobs = 0, led = 0, wrong = 0, bad_ok = 0, times_wrong = 0;
  for (int t = 0; t < THREADS; t++) {
    pthread_join(ids[t], NULL);
    calls += w[t].calls;
    jobs += w[t].jobs;
    led += w[t].led;
    wrong += w[t].wrong;
    bad_ok += w[t].bad_ok;
    times_wrong += w[t].times_wrong;
  }
  if (wrong || bad_ok || times_wrong)
    printf("  %lu wrong elements or statuses, %lu bad jobs that ran, %lu launch times "
           "outside their call\n",
           wrong, bad_ok, times_wrong);
  CHECK_INT_EQ(calls, (unsigned long)THREADS * ROUNDS);
  CHECK_INT_EQ(wrong, 0);
  CHECK_INT_EQ(bad_ok, 0);
  CHECK_INT_EQ(times_wrong, 0);
  /* Every launch had one leader, every job was in one launch. */
  CHECK_INT_EQ(led, coalescer.launches);
  CHECK_INT_EQ(jobs, coalescer.jobs);
  /* Eight threads that submit back to back overlap: launches were shared. */
  printf("  %lu calls in %lu launches\n", calls, coalescer.launches);
  CHECK(coalescer.launches < calls);
  CHECK(!coalescer.running && coalescer.head == NULL);
}

int main(void) {
  /* A lost wake-up would hang the threads: end the run as a failure. */
  alarm(300);
  char err[512];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  lkd_load_init(&load);
  if (lkd_coalescer_init(&coalescer) != 0) {
    printf("FAIL lkd_coalescer_init\n");
    return 1;
  }
  RUN_TEST(test_threads_share_launches);
  lkd_coalescer_destroy(&coalescer);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
