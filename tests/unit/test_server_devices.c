/* test_server_devices.c - unit tests of the daemon's pure helpers: the
 * device SPEC match among opened devices, the error table and the JSON
 * string escaping of error messages. */
#include "../../server/api/errors.c"
#include "../../server/exec/devices.c"
#include "fake_device.h"
#include "test.h"

static void test_match_specs(void) {
  leakycl_device_info devs[3] = {
      fake_device(0, 0, LEAKYCL_DEVICE_CPU, "pthread-skylake", "Portable Computing Language"),
      fake_device(1, 0, LEAKYCL_DEVICE_GPU, "NVIDIA H100", "NVIDIA CUDA"),
      fake_device(1, 1, LEAKYCL_DEVICE_GPU, "NVIDIA A100", "NVIDIA CUDA")};
  CHECK_INT_EQ(lkd_device_match(devs, 3, NULL), 0);
  CHECK_INT_EQ(lkd_device_match(devs, 3, ""), 0);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "default"), 0);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "auto"), 1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "cpu"), 0);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "gpu"), 1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "gpu:1"), 2);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "gpu:2"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "gpu:x"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "accelerator"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "1:1"), 2);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "2:0"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "2"), 2);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "3"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "a100"), 2);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "portable"), 0);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "rocm"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 3, "99999999999999999999"), -1);
  CHECK_INT_EQ(lkd_device_match(devs, 0, "cpu"), -1);
  /* auto with only a CPU open is the CPU. */
  CHECK_INT_EQ(lkd_device_match(devs, 1, "auto"), 0);
}

static void test_error_table(void) {
  CHECK_INT_EQ(lkd_error_status(LKD_INVALID_ARGUMENT), 400);
  CHECK_INT_EQ(lkd_error_status(LKD_UNAUTHORIZED), 401);
  CHECK_INT_EQ(lkd_error_status(LKD_NOT_FOUND), 404);
  CHECK_INT_EQ(lkd_error_status(LKD_METHOD_NOT_ALLOWED), 405);
  CHECK_INT_EQ(lkd_error_status(LKD_PAYLOAD_TOO_LARGE), 413);
  CHECK_INT_EQ(lkd_error_status(LKD_DEVICE_ERROR), 503);
  CHECK_STR_EQ(lkd_error_name(LKD_PAYLOAD_TOO_LARGE), "payload_too_large");
  CHECK_STR_EQ(lkd_error_name((lkd_error_code)999), "internal");
}

static void test_error_body_escapes(void) {
  lkd_error e;
  lkd_fail(&e, LKD_INVALID_ARGUMENT, "bad \"x\"\\\n\x01 %d", 3);
  lkt_buf b = {0};
  lkd_error_append_body(&b, &e);
  CHECK(!b.oom);
  CHECK_STR_EQ(b.data, "{\"error\":{\"code\":\"invalid_argument\",\"message\":"
                       "\"bad \\\"x\\\"\\\\\\n\\u0001 3\"}}");
  lkt_buf_free(&b);
  lkd_error d = {LKD_NOT_FOUND, ""};
  lkt_buf c = {0};
  lkd_error_append_body(&c, &d);
  CHECK_STR_EQ(c.data, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such path\"}}");
  lkt_buf_free(&c);
}

int main(void) {
  RUN_TEST(test_match_specs);
  RUN_TEST(test_error_table);
  RUN_TEST(test_error_body_escapes);
  return TEST_SUMMARY();
}
