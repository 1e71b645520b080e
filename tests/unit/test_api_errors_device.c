/* test_api_errors_device.c - bad input to the device side of the API
 * (cl_mem buffers, set_variant, the device list, a context on a caller's
 * own command queue): a status, never a crash, a last_error naming the
 * problem, outputs untouched on failure; and the caller's queue and buffers
 * accepted, checked against the float64 formulas of api_errors.h. */
#include <stdint.h>
#include <string.h>

#include "api_errors.h"
#include "test.h"

/* ---- device-resident buffers ---- */

static cl_mem make_buffer(cl_context c, size_t floats) {
  cl_int rc;
  cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, floats * sizeof(float), NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  return m;
}

static void read_buffer(cl_mem m, float *out, size_t floats) {
  cl_command_queue q;
  leakycl_context_cl(ctx, NULL, NULL, &q);
  CHECK_INT_EQ(clEnqueueReadBuffer(q, m, CL_TRUE, 0, floats * sizeof(float), out, 0, NULL, NULL),
               CL_SUCCESS);
}

static void write_buffer(cl_mem m, const float *in, size_t floats) {
  cl_command_queue q;
  leakycl_context_cl(ctx, NULL, NULL, &q);
  CHECK_INT_EQ(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, floats * sizeof(float), in, 0, NULL, NULL),
               CL_SUCCESS);
}

static cl_context other_cl;      /* a second cl_context on the same device */
static cl_command_queue other_q; /* its in-order queue */

static void test_buffers_bad(void) {
  cl_context c;
  leakycl_context_cl(ctx, &c, NULL, NULL);
  cl_mem x = make_buffer(c, N), y = make_buffer(c, N), dy = make_buffer(c, N);
  cl_mem small = make_buffer(c, N - 1);
  cl_mem foreign = other_cl ? make_buffer(other_cl, N) : NULL;
  const leakycl_view v = leakycl_view_flat(N);
  leakycl_params lp = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_params pp = params_of(LEAKYCL_PRELU, 0, NULL);
  float da[1];
  leakycl_grads g = {da, NULL, NULL, NULL, 0};

  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, NULL, y), LEAKYCL_INVALID_ARGUMENT,
              "buffer x is NULL");
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, x, NULL), LEAKYCL_INVALID_ARGUMENT,
              "buffer y is NULL");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, NULL, dy, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer x is NULL");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, NULL, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dy is NULL");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, dy, NULL, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dx is NULL");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, NULL, dy, &g), LEAKYCL_INVALID_ARGUMENT,
              "buffer x is NULL");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, x, NULL, &g), LEAKYCL_INVALID_ARGUMENT,
              "buffer dy is NULL");

  /* Too small by one float: the message gives the sizes. */
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, small, y), LEAKYCL_INVALID_ARGUMENT, "buffer x");
  CHECK_CONTAINS(leakycl_last_error(ctx), "4008 bytes");
  CHECK_CONTAINS(leakycl_last_error(ctx), "1003 floats");
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, x, small), LEAKYCL_INVALID_ARGUMENT, "buffer y");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, small, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dy");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, dy, small, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dx");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, x, small, &g), LEAKYCL_INVALID_ARGUMENT,
              "buffer dy");
  /* A view that overflows the byte count of any buffer. */
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, leakycl_view_flat(SIZE_MAX / 2), x, y),
              LEAKYCL_INVALID_ARGUMENT, "buffer x");

  /* A buffer of another cl_context. */
  if (foreign) {
    CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, foreign, y), LEAKYCL_INVALID_ARGUMENT,
                "another cl_context");
    CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, x, foreign), LEAKYCL_INVALID_ARGUMENT,
                "another cl_context");
    CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, foreign, y, NULL),
                LEAKYCL_INVALID_ARGUMENT, "another cl_context");
    CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, foreign, dy, &g), LEAKYCL_INVALID_ARGUMENT,
                "another cl_context");
  }

  /* The output buffer is untouched by a rejected call. */
  float host[N];
  fill(host, N, SENTINEL);
  write_buffer(y, host, N);
  write_buffer(x, xs, N);
  const float nan_alpha = NAN;
  leakycl_params bad = params_of(LEAKYCL_LEAKY_RELU, 1, &nan_alpha);
  CHECK_FAILS(leakycl_forward_buffers(ctx, &bad, v, x, y), LEAKYCL_INVALID_ARGUMENT, "alpha");
  CHECK_OK(leakycl_finish(ctx));
  read_buffer(y, host, N);
  CHECK(all_equal(host, N, SENTINEL));

  /* And a valid call on the same buffers works, in place too. */
  CHECK_OK(leakycl_forward_buffers(ctx, &lp, v, x, y));
  CHECK_OK(leakycl_forward_buffers(ctx, &lp, v, x, x));
  CHECK_OK(leakycl_finish(ctx));
  float hy[N], hx[N];
  read_buffer(y, hy, N);
  read_buffer(x, hx, N);
  int bad_y = 0, bad_x = 0;
  for (int i = 0; i < N; i++) {
    bad_y += !(hy[i] == leaky_forward_ref(xs[i], 0.01f));
    bad_x += !(hx[i] == leaky_forward_ref(xs[i], 0.01f));
  }
  CHECK_INT_EQ(bad_y, 0);
  CHECK_INT_EQ(bad_x, 0);
  /* An empty view with real buffers is a no-op. */
  CHECK_OK(leakycl_forward_buffers(ctx, &lp, leakycl_view_flat(0), x, y));

  clReleaseMemObject(x);
  clReleaseMemObject(y);
  clReleaseMemObject(dy);
  clReleaseMemObject(small);
  if (foreign)
    clReleaseMemObject(foreign);
}

/* ---- variants ---- */

static int variant_equal(const leakycl_variant *a, const leakycl_variant *b) {
  return a->strategy == b->strategy && a->vector_width == b->vector_width &&
         a->work_group_size == b->work_group_size && a->vectors_per_item == b->vectors_per_item &&
         a->reduce_block == b->reduce_block;
}

static void expect_variant_rejected(const leakycl_variant *bad, const char *needle) {
  leakycl_variant before, after;
  CHECK_OK(leakycl_get_variant(ctx, &before));
  CHECK_FAILS(leakycl_set_variant(ctx, bad), LEAKYCL_INVALID_ARGUMENT, needle);
  CHECK_OK(leakycl_get_variant(ctx, &after));
  if (!variant_equal(&before, &after)) {
    char b[128], a[128];
    leakycl_variant_describe(&before, b, sizeof b);
    leakycl_variant_describe(&after, a, sizeof a);
    fprintf(stderr, "  variant changed by a rejected set: %s -> %s\n", b, a);
  }
  CHECK(variant_equal(&before, &after));
}

static void test_set_variant_bad_fields(void) {
  leakycl_variant base;
  CHECK_OK(leakycl_get_variant(ctx, &base));
  leakycl_device_info info;
  CHECK_OK(leakycl_context_device(ctx, &info));
  leakycl_variant v;

  CHECK_FAILS(leakycl_set_variant(ctx, NULL), LEAKYCL_INVALID_ARGUMENT, "variant");
  const unsigned bad_vw[] = {0, 3, 5, 32};
  for (size_t i = 0; i < sizeof bad_vw / sizeof bad_vw[0]; i++) {
    v = base;
    v.vector_width = bad_vw[i];
    expect_variant_rejected(&v, "vector_width");
  }
  v = base;
  v.strategy = (leakycl_strategy)7;
  expect_variant_rejected(&v, "strategy");

  v = base;
  v.work_group_size = 0;
  expect_variant_rejected(&v, "work_group_size");
  CHECK_CONTAINS(leakycl_last_error(ctx), "[1, ");
  v.work_group_size = info.max_work_group_size + 1;
  expect_variant_rejected(&v, "work_group_size");
  char max[64];
  snprintf(max, sizeof max, "%zu", info.max_work_group_size);
  CHECK_CONTAINS(leakycl_last_error(ctx), max);

  v = base;
  v.strategy = LEAKYCL_STRATEGY_GPU;
  v.work_group_size = 48;
  expect_variant_rejected(&v, "power of two");
  /* Not a power of two is fine for the CPU strategy. */
  v.strategy = LEAKYCL_STRATEGY_CPU;
  CHECK_OK(leakycl_set_variant(ctx, &v));

  v = base;
  v.vectors_per_item = 0;
  expect_variant_rejected(&v, "vectors_per_item");
  v = base;
  v.reduce_block = 0;
  expect_variant_rejected(&v, "reduce_block");
  v.reduce_block = ((size_t)1 << 24) + 1;
  expect_variant_rejected(&v, "reduce_block");
  CHECK_CONTAINS(leakycl_last_error(ctx), "16777216");
  v.reduce_block = (size_t)1 << 24; /* the top of the range */
  CHECK_OK(leakycl_set_variant(ctx, &v));
  leakycl_variant got;
  CHECK_OK(leakycl_get_variant(ctx, &got));
  CHECK(variant_equal(&got, &v));
  CHECK_STR_EQ(leakycl_last_error(ctx), "");

  CHECK_OK(leakycl_set_variant(ctx, &base));
}

/* ---- devices ---- */

static void test_list_devices(void) {
  char err[256] = "";
  leakycl_device_info one;
  CHECK_INT_EQ(leakycl_list_devices(&one, 1, NULL, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  size_t count = 0;
  err[0] = '\0';
  CHECK_INT_EQ(leakycl_list_devices(NULL, 1, &count, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  CHECK_INT_EQ(leakycl_list_devices(NULL, 1, &count, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  /* Counting only. */
  CHECK_INT_EQ(leakycl_list_devices(NULL, 0, &count, err, sizeof err), LEAKYCL_OK);
  CHECK(count >= 1);
  /* A normal listing; a capacity above the count leaves the rest alone. */
  leakycl_device_info devs[8];
  memset(devs, 0x7f, sizeof devs);
  size_t n2 = 0;
  CHECK_INT_EQ(leakycl_list_devices(devs, 8, &n2, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(n2, count);
  for (size_t i = 0; i < n2 && i < 8; i++) {
    CHECK(devs[i].name[0] != '\0');
    CHECK(devs[i].platform_name[0] != '\0');
    CHECK(devs[i].vendor[0] != '\0');
    CHECK(devs[i].version[0] != '\0');
    CHECK(strncmp(devs[i].version, "OpenCL ", 7) == 0);
    CHECK(devs[i].driver_version[0] != '\0');
    CHECK(devs[i].compute_units >= 1);
    CHECK(devs[i].global_mem_bytes > 0);
    CHECK(devs[i].local_mem_bytes > 0);
    CHECK(devs[i].max_alloc_bytes > 0);
    CHECK(devs[i].max_work_group_size >= 1);
    CHECK(devs[i].unified_memory == 0 || devs[i].unified_memory == 1);
    CHECK(devs[i].type == LEAKYCL_DEVICE_CPU || devs[i].type == LEAKYCL_DEVICE_GPU ||
          devs[i].type == LEAKYCL_DEVICE_ACCELERATOR || devs[i].type == LEAKYCL_DEVICE_OTHER);
    CHECK(memchr(devs[i].name, '\0', sizeof devs[i].name) != NULL);
  }
  if (n2 < 8) {
    const unsigned char *rest = (const unsigned char *)&devs[n2];
    CHECK(rest[0] == 0x7f);
  }
  /* Capacity below the count: the first entries and the full count. */
  size_t n3 = 0;
  CHECK_INT_EQ(leakycl_list_devices(&one, 1, &n3, NULL, 0), LEAKYCL_OK);
  CHECK_INT_EQ(n3, count);
  CHECK_STR_EQ(one.name, devs[0].name);
  /* The context's device is one of the listed ones. */
  leakycl_device_info mine;
  CHECK_OK(leakycl_context_device(ctx, &mine));
  int found = 0;
  for (size_t i = 0; i < n2 && i < 8; i++)
    found |= strcmp(devs[i].name, mine.name) == 0 &&
             devs[i].platform_index == mine.platform_index &&
             devs[i].device_index == mine.device_index;
  CHECK(found);
}

/* ---- bring your own queue ---- */

static void test_create_from_queue_bad(void) {
  char err[256] = "";
  leakycl_context *c = (leakycl_context *)&c;
  CHECK_INT_EQ(leakycl_context_create_from_queue(NULL, &c, err, sizeof err),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  CHECK(c == NULL || c == (leakycl_context *)&c);
  if (other_q) {
    err[0] = '\0';
    CHECK_INT_EQ(leakycl_context_create_from_queue(other_q, NULL, err, sizeof err),
                 LEAKYCL_INVALID_ARGUMENT);
    CHECK(err[0] != '\0');
  }
  CHECK_INT_EQ(leakycl_context_create(NULL, NULL, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  /* An out-of-order queue is refused (leakycl relies on in-order). */
  cl_device_id dev;
  leakycl_context_cl(ctx, NULL, &dev, NULL);
  if (other_cl) {
    cl_int rc;
    cl_command_queue ooo =
        clCreateCommandQueue(other_cl, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &rc);
    if (rc == CL_SUCCESS) {
      c = NULL;
      err[0] = '\0';
      CHECK_INT_EQ(leakycl_context_create_from_queue(ooo, &c, err, sizeof err),
                   LEAKYCL_UNSUPPORTED);
      CHECK(c == NULL);
      CHECK_CONTAINS(err, "order");
      clReleaseCommandQueue(ooo);
    }
  }
}

static void test_create_from_queue_runs(void) {
  if (!other_q) {
    fprintf(stderr, "  could not create a raw OpenCL queue\n");
    CHECK(other_q != NULL);
    return;
  }
  leakycl_context *c = NULL;
  char err[512] = "";
  leakycl_status st = leakycl_context_create_from_queue(other_q, &c, err, sizeof err);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  create_from_queue: %s\n", err);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  if (!c)
    return;
  /* The context hands back the caller's objects. */
  cl_context cc;
  cl_command_queue cq;
  CHECK_INT_EQ(leakycl_context_cl(c, &cc, NULL, &cq), LEAKYCL_OK);
  CHECK(cc == other_cl);
  CHECK(cq == other_q);
  leakycl_device_info info;
  CHECK_INT_EQ(leakycl_context_device(c, &info), LEAKYCL_OK);
  CHECK(info.name[0] != '\0');

  const float a = 0.3f;
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 1, &a);
  float y[N];
  fill(y, N, SENTINEL);
  st = leakycl_forward(c, &p, leakycl_view_flat(N), xs, y);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  forward through the caller's queue: %s\n", leakycl_last_error(c));
  CHECK_INT_EQ(st, LEAKYCL_OK);
  int bad = 0;
  for (int i = 0; i < N; i++)
    bad += !(y[i] == leaky_forward_ref(xs[i], a));
  CHECK_INT_EQ(bad, 0);

  /* Buffers of the caller's cl_context are this context's buffers. */
  cl_int rc;
  cl_mem xb =
      clCreateBuffer(other_cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof xs, xs, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  cl_mem yb = clCreateBuffer(other_cl, CL_MEM_READ_WRITE, sizeof xs, NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  CHECK_INT_EQ(leakycl_forward_buffers(c, &p, leakycl_view_flat(N), xb, yb), LEAKYCL_OK);
  /* The work is on the caller's queue: wait on it directly. */
  CHECK_INT_EQ(clEnqueueReadBuffer(other_q, yb, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
               CL_SUCCESS);
  bad = 0;
  for (int i = 0; i < N; i++)
    bad += !(y[i] == leaky_forward_ref(xs[i], a));
  CHECK_INT_EQ(bad, 0);
  /* And a buffer of our main context is foreign to it. */
  cl_context mainc;
  leakycl_context_cl(ctx, &mainc, NULL, NULL);
  cl_mem mb = make_buffer(mainc, N);
  CHECK_INT_EQ(leakycl_forward_buffers(c, &p, leakycl_view_flat(N), mb, yb),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(c), "another cl_context");
  clReleaseMemObject(mb);
  clReleaseMemObject(xb);
  clReleaseMemObject(yb);
  leakycl_context_release(c);
  /* The queue was retained, not taken: it still works after the release. */
  CHECK_INT_EQ(clFinish(other_q), CL_SUCCESS);
}

static void open_other_cl(void) {
  cl_device_id dev;
  leakycl_context_cl(ctx, NULL, &dev, NULL);
  cl_int rc;
  other_cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    other_cl = NULL;
    return;
  }
  other_q = clCreateCommandQueue(other_cl, dev, 0, &rc);
  if (rc != CL_SUCCESS)
    other_q = NULL;
}

int main(void) {
  if (!api_errors_open())
    return 1;
  open_other_cl();
  RUN_TEST(test_buffers_bad);
  RUN_TEST(test_set_variant_bad_fields);
  RUN_TEST(test_list_devices);
  RUN_TEST(test_create_from_queue_bad);
  RUN_TEST(test_create_from_queue_runs);
  if (other_q)
    clReleaseCommandQueue(other_q);
  if (other_cl)
    clReleaseContext(other_cl);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
