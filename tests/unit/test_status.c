/* test_status.c - status names and messages, OpenCL error names, activation
 * names and defaults, the initialisation gain, parameter defaults, strategy
 * names and variant descriptions: the library's pure lookup functions. */
#include <math.h>

#include "core/core.h"
#include "test.h"

static void test_status_names_distinct_and_messages_non_empty(void) {
  const char *expected[] = {"OK",           "INVALID_ARGUMENT", "NO_DEVICE",   "OPENCL_ERROR",
                            "BUILD_FAILED", "OUT_OF_MEMORY",    "UNSUPPORTED", "IO_ERROR"};
  CHECK_INT_EQ(LEAKYCL_STATUS_COUNT_, sizeof expected / sizeof expected[0]);
  for (int s = 0; s < LEAKYCL_STATUS_COUNT_; s++) {
    const char *name = leakycl_status_name((leakycl_status)s);
    const char *msg = leakycl_status_message((leakycl_status)s);
    CHECK(name != NULL);
    CHECK(msg != NULL);
    if (!name || !msg)
      continue;
    CHECK_STR_EQ(name, expected[s]);
    CHECK(msg[0] != '\0');
    CHECK(strcmp(name, "UNKNOWN_STATUS") != 0);
    for (int t = 0; t < s; t++) {
      const char *other = leakycl_status_name((leakycl_status)t);
      const char *other_msg = leakycl_status_message((leakycl_status)t);
      if (strcmp(name, other) == 0)
        fprintf(stderr, "  status %d and %d share the name %s\n", s, t, name);
      CHECK(strcmp(name, other) != 0);
      CHECK(strcmp(msg, other_msg) != 0);
    }
  }
  /* The enum values the public header promises. */
  CHECK_INT_EQ(LEAKYCL_OK, 0);
  CHECK_STR_EQ(leakycl_status_message(LEAKYCL_OK), "success");
}

static void test_status_out_of_range_is_unknown(void) {
  CHECK_STR_EQ(leakycl_status_name(LEAKYCL_STATUS_COUNT_), "UNKNOWN_STATUS");
  CHECK_STR_EQ(leakycl_status_name((leakycl_status)-1), "UNKNOWN_STATUS");
  CHECK_STR_EQ(leakycl_status_name((leakycl_status)1000), "UNKNOWN_STATUS");
  const char *m = leakycl_status_message((leakycl_status)1000);
  CHECK(m != NULL && m[0] != '\0');
  m = leakycl_status_message((leakycl_status)-7);
  CHECK(m != NULL && m[0] != '\0');
}

static void test_cl_error_names(void) {
  CHECK_STR_EQ(leakycl_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_OUT_OF_HOST_MEMORY), "CL_OUT_OF_HOST_MEMORY");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_DEVICE_NOT_FOUND), "CL_DEVICE_NOT_FOUND");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_MEM_OBJECT_ALLOCATION_FAILURE),
               "CL_MEM_OBJECT_ALLOCATION_FAILURE");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_INVALID_VALUE), "CL_INVALID_VALUE");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_INVALID_MEM_OBJECT), "CL_INVALID_MEM_OBJECT");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_INVALID_WORK_GROUP_SIZE), "CL_INVALID_WORK_GROUP_SIZE");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_INVALID_KERNEL_ARGS), "CL_INVALID_KERNEL_ARGS");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_INVALID_BUFFER_SIZE), "CL_INVALID_BUFFER_SIZE");
  CHECK_STR_EQ(leakycl_cl_error_name(CL_INVALID_DEVICE_PARTITION_COUNT),
               "CL_INVALID_DEVICE_PARTITION_COUNT");
  CHECK_STR_EQ(leakycl_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
  /* Codes OpenCL does not define, including gaps in its numbering. */
  CHECK_STR_EQ(leakycl_cl_error_name(1), "CL_UNKNOWN_ERROR");
  CHECK_STR_EQ(leakycl_cl_error_name(-20), "CL_UNKNOWN_ERROR");
  CHECK_STR_EQ(leakycl_cl_error_name(-29), "CL_UNKNOWN_ERROR");
  CHECK_STR_EQ(leakycl_cl_error_name(-9999), "CL_UNKNOWN_ERROR");
  CHECK_STR_EQ(leakycl_cl_error_name(INT32_MIN), "CL_UNKNOWN_ERROR");
  /* Every defined code in -1..-19 and -30..-68 has a name of its own. */
  for (cl_int c = -1; c >= -68; c--) {
    if (c <= -20 && c >= -29)
      continue;
    const char *name = leakycl_cl_error_name(c);
    CHECK(strncmp(name, "CL_", 3) == 0);
    if (strcmp(name, "CL_UNKNOWN_ERROR") == 0)
      fprintf(stderr, "  OpenCL code %d has no name\n", (int)c);
    CHECK(strcmp(name, "CL_UNKNOWN_ERROR") != 0);
  }
}

static void test_activation_names_round_trip(void) {
  const char *names[LEAKYCL_ACTIVATION_COUNT] = {"relu", "leaky_relu", "prelu", "phased_relu"};
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++) {
    const char *name = leakycl_activation_name((leakycl_activation)a);
    CHECK_STR_EQ(name, names[a]);
    leakycl_activation back = (leakycl_activation)99;
    CHECK_INT_EQ(leakycl_activation_from_name(names[a], &back), LEAKYCL_OK);
    CHECK_INT_EQ(back, a);
  }
  CHECK(leakycl_activation_name((leakycl_activation)LEAKYCL_ACTIVATION_COUNT) == NULL);
  CHECK(leakycl_activation_name((leakycl_activation)-1) == NULL);
}

static void test_activation_from_name_rejects(void) {
  const char *bad[] = {"",      "ReLU",   "RELU",   "leaky",      "leaky_relu ", " relu",
                       "relu6", "p_relu", "phased", "leaky-relu", "prelu\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    leakycl_activation out = (leakycl_activation)77;
    leakycl_status st = leakycl_activation_from_name(bad[i], &out);
    if (st != LEAKYCL_INVALID_ARGUMENT)
      fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
    CHECK_INT_EQ(out, 77); /* untouched on failure */
  }
  leakycl_activation out = (leakycl_activation)77;
  CHECK_INT_EQ(leakycl_activation_from_name(NULL, &out), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(out, 77);
  CHECK_INT_EQ(leakycl_activation_from_name("relu", NULL), LEAKYCL_INVALID_ARGUMENT);
}

static void test_has_gradient(void) {
  CHECK_INT_EQ(leakycl_activation_has_gradient(LEAKYCL_RELU), 0);
  CHECK_INT_EQ(leakycl_activation_has_gradient(LEAKYCL_LEAKY_RELU), 0);
  CHECK(leakycl_activation_has_gradient(LEAKYCL_PRELU) != 0);
  CHECK(leakycl_activation_has_gradient(LEAKYCL_PHASED_RELU) != 0);
  CHECK_INT_EQ(leakycl_activation_has_gradient((leakycl_activation)17), 0);
  CHECK_INT_EQ(leakycl_activation_has_gradient((leakycl_activation)-1), 0);
}

static void test_default_alphas(void) {
  /* Exact float equality: the defaults are these float constants. */
  CHECK(leakycl_default_alpha(LEAKYCL_RELU) == 0.0f);
  CHECK(leakycl_default_alpha(LEAKYCL_LEAKY_RELU) == 0.01f);
  CHECK(leakycl_default_alpha(LEAKYCL_PRELU) == 0.25f);
  CHECK(leakycl_default_alpha(LEAKYCL_PHASED_RELU) == 0.1f);
  CHECK_DBL_NEAR(leakycl_default_alpha(LEAKYCL_LEAKY_RELU), 0.01, 1e-9);
  CHECK_DBL_NEAR(leakycl_default_alpha(LEAKYCL_PHASED_RELU), 0.1, 1e-8);
  CHECK(LEAKYCL_DEFAULT_PHASED_BETA == 0.5f);
}

static void test_init_gain(void) {
  /* Seed 002: g = sqrt(2 / (1 + a^2)), evaluated here in double. */
  CHECK_DBL_NEAR(leakycl_init_gain(0.0), sqrt(2.0), 1e-15);
  CHECK_DBL_NEAR(leakycl_init_gain(1.0), 1.0, 1e-15);
  CHECK_DBL_NEAR(leakycl_init_gain(-1.0), 1.0, 1e-15);
  const double alphas[] = {0.01, 0.1, 0.25, 0.5, 2.0, -0.3, 1e-6, 100.0};
  for (size_t i = 0; i < sizeof alphas / sizeof alphas[0]; i++) {
    const double a = alphas[i];
    const double expect = sqrt(2.0 / (1.0 + a * a));
    CHECK_DBL_NEAR(leakycl_init_gain(a), expect, 1e-14 * expect);
  }
  /* The gain falls as |alpha| grows: more of the signal passes the
   * negative side, so less amplification is needed. */
  CHECK(leakycl_init_gain(0.25) < leakycl_init_gain(0.01));
  CHECK(leakycl_init_gain(0.01) < sqrt(2.0));
}

static void test_params_init_defaults(void) {
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++) {
    leakycl_params p;
    memset(&p, 0xAB, sizeof p);
    CHECK_INT_EQ(leakycl_params_init(&p, (leakycl_activation)a), LEAKYCL_OK);
    CHECK_INT_EQ(p.activation, a);
    CHECK_INT_EQ(p.alpha_count, 0);
    CHECK(p.alpha == NULL);
    if (a == LEAKYCL_PHASED_RELU)
      CHECK(p.beta == 0.5f);
    else
      CHECK(p.beta == 0.0f);
  }
}

static void test_params_init_bad_input(void) {
  CHECK_INT_EQ(leakycl_params_init(NULL, LEAKYCL_RELU), LEAKYCL_INVALID_ARGUMENT);
  leakycl_params p;
  memset(&p, 0x5A, sizeof p);
  leakycl_params before = p;
  CHECK_INT_EQ(leakycl_params_init(&p, (leakycl_activation)LEAKYCL_ACTIVATION_COUNT),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_params_init(&p, (leakycl_activation)-1), LEAKYCL_INVALID_ARGUMENT);
  CHECK(memcmp(&p, &before, sizeof p) == 0); /* untouched on failure */
}

static void test_strategy_names(void) {
  CHECK_STR_EQ(leakycl_strategy_name(LEAKYCL_STRATEGY_CPU), "cpu");
  CHECK_STR_EQ(leakycl_strategy_name(LEAKYCL_STRATEGY_GPU), "gpu");
}

static void test_device_type_names(void) {
  CHECK_STR_EQ(leakycl_device_type_name(LEAKYCL_DEVICE_CPU), "cpu");
  CHECK_STR_EQ(leakycl_device_type_name(LEAKYCL_DEVICE_GPU), "gpu");
  CHECK_STR_EQ(leakycl_device_type_name(LEAKYCL_DEVICE_ACCELERATOR), "accelerator");
  CHECK_STR_EQ(leakycl_device_type_name(LEAKYCL_DEVICE_OTHER), "other");
}

static void test_variant_describe(void) {
  leakycl_variant v = {LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384, 0};
  char buf[128];
  CHECK_INT_EQ(leakycl_variant_describe(&v, buf, sizeof buf), LEAKYCL_OK);
  CHECK_STR_EQ(buf, "cpu vw8 wg16 chunk64 block16384 nt0");
  leakycl_variant g = {LEAKYCL_STRATEGY_GPU, 4, 256, 1, 4096, 0};
  CHECK_INT_EQ(leakycl_variant_describe(&g, buf, sizeof buf), LEAKYCL_OK);
  CHECK_STR_EQ(buf, "gpu vw4 wg256 chunk1 block4096 nt0");
  /* Exactly enough room: the text plus its terminator. */
  const size_t need = strlen("gpu vw4 wg256 chunk1 block4096 nt0") + 1;
  CHECK_INT_EQ(leakycl_variant_describe(&g, buf, need), LEAKYCL_OK);
  CHECK_STR_EQ(buf, "gpu vw4 wg256 chunk1 block4096 nt0");
}

static void test_variant_describe_bad_input(void) {
  leakycl_variant v = {LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384, 0};
  char buf[64];
  CHECK_INT_EQ(leakycl_variant_describe(NULL, buf, sizeof buf), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_variant_describe(&v, NULL, sizeof buf), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_variant_describe(&v, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  memset(buf, 'z', sizeof buf);
  CHECK_INT_EQ(leakycl_variant_describe(&v, buf, 0), LEAKYCL_INVALID_ARGUMENT);
  CHECK(buf[0] == 'z'); /* buflen 0: nothing written */
  /* Too small: rejected, and what was written stays a terminated string
   * inside the buffer. */
  memset(buf, 'z', sizeof buf);
  CHECK_INT_EQ(leakycl_variant_describe(&v, buf, 8), LEAKYCL_INVALID_ARGUMENT);
  CHECK(memchr(buf, '\0', 8) != NULL);
  CHECK(buf[8] == 'z');
  const size_t need = strlen("cpu vw8 wg16 chunk64 block16384 nt0") + 1;
  CHECK_INT_EQ(leakycl_variant_describe(&v, buf, need - 1), LEAKYCL_INVALID_ARGUMENT);
}

static void test_fail_buf(void) {
  char buf[16];
  memset(buf, 'z', sizeof buf);
  CHECK_INT_EQ(lk_fail_buf(buf, sizeof buf, LEAKYCL_NO_DEVICE, "spec %s", "gpu"),
               LEAKYCL_NO_DEVICE);
  CHECK_STR_EQ(buf, "spec gpu");
  /* Truncates inside the buffer. */
  CHECK_INT_EQ(lk_fail_buf(buf, 6, LEAKYCL_IO_ERROR, "%s", "0123456789"), LEAKYCL_IO_ERROR);
  CHECK_STR_EQ(buf, "01234");
  /* NULL or empty buffers are fine: only the status comes back. */
  CHECK_INT_EQ(lk_fail_buf(NULL, 100, LEAKYCL_OPENCL_ERROR, "x"), LEAKYCL_OPENCL_ERROR);
  buf[0] = 'q';
  CHECK_INT_EQ(lk_fail_buf(buf, 0, LEAKYCL_OPENCL_ERROR, "x"), LEAKYCL_OPENCL_ERROR);
  CHECK(buf[0] == 'q');
}

int main(void) {
  RUN_TEST(test_status_names_distinct_and_messages_non_empty);
  RUN_TEST(test_status_out_of_range_is_unknown);
  RUN_TEST(test_cl_error_names);
  RUN_TEST(test_activation_names_round_trip);
  RUN_TEST(test_activation_from_name_rejects);
  RUN_TEST(test_has_gradient);
  RUN_TEST(test_default_alphas);
  RUN_TEST(test_init_gain);
  RUN_TEST(test_params_init_defaults);
  RUN_TEST(test_params_init_bad_input);
  RUN_TEST(test_strategy_names);
  RUN_TEST(test_device_type_names);
  RUN_TEST(test_variant_describe);
  RUN_TEST(test_variant_describe_bad_input);
  RUN_TEST(test_fail_buf);
  return TEST_SUMMARY();
}
