/* test_server_schedule.c - unit tests of the daemon's device scheduler
 * without OpenCL: size classes and estimates, the moving average of
 * measured speeds, where unnamed and named jobs go and what they charge to
 * each queue, and the per-device metrics text. */
#include "../../server/exec/schedule.c"
#include "fake_device.h"
#include "metrics.h"
#include "test.h"

/* A server of n devices with no context (the scheduler needs none). */
static void fake_server(lkd_server *s, size_t n) {
  memset(s, 0, sizeof *s);
  s->device_count = n;
  for (size_t d = 0; d < n; d++) {
    s->devices[d].info = fake_device(0, (unsigned)d, LEAKYCL_DEVICE_CPU, "cpu", "fake");
    lkd_load_init(&s->devices[d].load);
  }
}

/* A decoded forward job of count elements on device (LKD_DEVICE_ANY: none). */
static lkd_job fake_job(size_t count, size_t device) {
  lkd_job job;
  memset(&job, 0, sizeof job);
  job.run.op = LEAKYCL_OP_FORWARD;
  job.run.view = leakycl_view_flat(count);
  job.count = count;
  job.device = device;
  return job;
}

static void test_classes_and_estimates(void) {
  CHECK_INT_EQ(lkd_size_class_of(LEAKYCL_PACKED_JOB_MAX_ELEMENTS), LKD_SIZE_SMALL);
  CHECK_INT_EQ(lkd_size_class_of(LEAKYCL_PACKED_JOB_MAX_ELEMENTS + 1), LKD_SIZE_LARGE);
  lkd_load l;
  lkd_load_init(&l);
  CHECK_DBL_NEAR(lkd_load_estimate(&l, LEAKYCL_OP_FORWARD, 1000), 1000 * 1e-9, 1e-15);
  lkd_load_observe(&l, LEAKYCL_OP_BACKWARD, LKD_SIZE_LARGE, 4e-9); /* first: as is */
  CHECK_DBL_NEAR(lkd_load_estimate(&l, LEAKYCL_OP_BACKWARD, 1 << 20), (1 << 20) * 4e-9, 1e-12);
  lkd_load_observe(&l, LEAKYCL_OP_BACKWARD, LKD_SIZE_LARGE, 8e-9); /* then a quarter */
  CHECK_DBL_NEAR(l.spe[1][LKD_SIZE_LARGE], 5e-9, 1e-18);
  lkd_load_observe(&l, LEAKYCL_OP_BACKWARD, LKD_SIZE_LARGE, NAN); /* not a speed */
  CHECK_DBL_NEAR(l.spe[1][LKD_SIZE_LARGE], 5e-9, 1e-18);
  CHECK(l.spe[0][LKD_SIZE_LARGE] == 0); /* the forward's is its own */
}

static void test_launch_samples(void) {
  lkd_load l;
  lkd_load_init(&l);
  lkd_job big = fake_job(1 << 20, 0), small = fake_job(1000, 0), bad = fake_job(1 << 20, 0);
  bad.run.status = LEAKYCL_INVALID_ARGUMENT; /* skipped by the library: no sample */
  leakycl_job *one[] = {&big.run, &bad.run};
  lkd_load_launch(&l, one, 2, (1 << 20) * 2e-9);
  CHECK_DBL_NEAR(l.spe[0][LKD_SIZE_LARGE], 2e-9, 1e-18);
  CHECK_INT_EQ(l.launches, 1);
  CHECK_INT_EQ(l.busy_ns, 2097152);
  /* Two classes: twice the predicted time moves each toward twice its
   * speed, by a quarter of its share of the prediction. */
  lkd_load_observe(&l, LEAKYCL_OP_FORWARD, LKD_SIZE_SMALL, 1e-7);
  leakycl_job *two[] = {&big.run, &small.run};
  const double big_s = (1 << 20) * 2e-9, small_s = 1000 * 1e-7, predicted = big_s + small_s;
  lkd_load_launch(&l, two, 2, 2 * predicted);
  CHECK_DBL_NEAR(l.spe[0][LKD_SIZE_LARGE], 2e-9 * (1 + 0.25 * big_s / predicted), 1e-18);
  CHECK_DBL_NEAR(l.spe[0][LKD_SIZE_SMALL], 1e-7 * (1 + 0.25 * small_s / predicted), 1e-16);
}

static void test_placement_and_queues(void) {
  static lkd_server s;
  fake_server(&s, 2);
  lkd_load_observe(&s.devices[0].load, LEAKYCL_OP_FORWARD, LKD_SIZE_LARGE, 1e-9);
  lkd_load_observe(&s.devices[1].load, LEAKYCL_OP_FORWARD, LKD_SIZE_LARGE, 1.5e-9);
  const size_t n = 1 << 20;
  /* Idle: the faster device. */
  lkd_job a = fake_job(n, LKD_DEVICE_ANY);
  lkd_job *ja[] = {&a};
  lkd_sched_place(&s, ja, 1);
  CHECK_INT_EQ(a.device, 0);
  CHECK_INT_EQ(s.devices[0].load.queued_jobs, 1);
  CHECK_INT_EQ(s.devices[0].load.queued_elements, n);
  CHECK_INT_EQ(s.devices[0].load.queued_ns, (int64_t)(n * 1e-9 * 1e9));
  /* Device 0 busy with it: 2 x 1.05 ms there against 1.57 ms on device 1.
   * A named job and a job that failed to decode stay where they are. */
  lkd_job b = fake_job(n, LKD_DEVICE_ANY), named = fake_job(10, 0),
          bad = fake_job(n, LKD_DEVICE_ANY);
  lkd_fail(&bad.err, LKD_INVALID_ARGUMENT, "bad");
  lkd_job *jb[] = {&b, &named, &bad};
  lkd_sched_place(&s, jb, 3);
  CHECK_INT_EQ(b.device, 1);
  CHECK_INT_EQ(named.device, 0);
  CHECK(bad.device == LKD_DEVICE_ANY && !bad.queued);
  CHECK_INT_EQ(s.devices[0].load.queued_jobs, 2);
  CHECK_INT_EQ(s.devices[1].load.queued_jobs, 1);
  /* Device 0's jobs done: its queue is empty again, device 1's is not. */
  lkd_job *all[] = {&a, &b, &named, &bad};
  lkd_sched_discharge(&s, all, 4, 0);
  CHECK_INT_EQ(s.devices[0].load.queued_jobs, 0);
  CHECK_INT_EQ(s.devices[0].load.queued_elements, 0);
  CHECK_INT_EQ(s.devices[0].load.queued_ns, 0);
  CHECK_INT_EQ(s.devices[1].load.queued_jobs, 1);
  CHECK(!a.queued && b.queued);
  lkd_sched_discharge(&s, all, 4, 1);
  CHECK_INT_EQ(s.devices[1].load.queued_ns, 0);
}

static void test_one_device_takes_all(void) {
  static lkd_server s;
  fake_server(&s, 1);
  lkd_job a = fake_job(1 << 20, LKD_DEVICE_ANY), b = fake_job(5, LKD_DEVICE_ANY);
  lkd_job *j[] = {&a, &b};
  lkd_sched_place(&s, j, 2);
  CHECK(a.device == 0 && b.device == 0);
  CHECK_INT_EQ(s.devices[0].load.queued_jobs, 2);
  lkd_sched_discharge(&s, j, 2, 0);
  CHECK_INT_EQ(s.devices[0].load.queued_jobs, 0);
}

static void test_device_metrics_text(void) {
  static lkd_server s;
  fake_server(&s, 2);
  snprintf(s.devices[1].info.name, sizeof s.devices[1].info.name, "odd \"name\"\\");
  atomic_store(&s.devices[1].load.jobs, 7);
  atomic_store(&s.devices[1].load.busy_ns, 1500000000);
  lkd_load_observe(&s.devices[0].load, LEAKYCL_OP_BACKWARD, LKD_SIZE_SMALL, 1e-8);
  lkt_buf b = {0};
  lkd_metrics_render_devices(&s, &b);
  CHECK(!b.oom);
  CHECK_CONTAINS(b.data, "# TYPE leakycld_device_queue_depth gauge\n");
  CHECK_CONTAINS(b.data, "leakycld_device_jobs_total{device=\"0\",name=\"cpu\"} 0\n");
  CHECK_CONTAINS(b.data,
                 "leakycld_device_jobs_total{device=\"1\",name=\"odd \\\"name\\\"\\\\\"} 7\n");
  CHECK_CONTAINS(b.data,
                 "leakycld_device_busy_seconds_total{device=\"1\",name=\"odd \\\"name\\\"\\\\\"} "
                 "1.500000000\n");
  CHECK_CONTAINS(b.data,
                 "leakycld_device_elements_per_second{device=\"0\",name=\"cpu\",op=\"backward\","
                 "size=\"small\"} 1e+08\n");
  CHECK(!strstr(b.data, "op=\"forward\"")); /* unmeasured speeds are left out */
  lkt_buf_free(&b);
}

int main(void) {
  RUN_TEST(test_classes_and_estimates);
  RUN_TEST(test_launch_samples);
  RUN_TEST(test_placement_and_queues);
  RUN_TEST(test_one_device_takes_all);
  RUN_TEST(test_device_metrics_text);
  return TEST_SUMMARY();
}
