/* test_spec.c - device SPEC parsing and matching on hand-built device lists
 * (no OpenCL), then leakycl_context_create with specs that do and do not
 * match the devices of this machine, and $LEAKYCL_DEVICE. */
#include <stdlib.h>

#include "core/core.h"
#include "fake_device.h"
#include "test.h"
#include "tune/tune.h"

/* A machine with every kind, CPUs listed first so that "first device" and
 * "best device" differ:
 *   0 0:0 cpu   Portable Computing Language / pthread-haswell
 *   1 1:0 other Vendor X                    / Custom Thing
 *   2 2:0 accel Intel(R) FPGA SDK           / Arria 10 FPGA
 *   3 3:0 gpu   NVIDIA CUDA                 / NVIDIA GeForce RTX 3080
 *   4 3:1 gpu   NVIDIA CUDA                 / NVIDIA A100
 *   5 4:0 cpu   Intel(R) OpenCL             / Intel(R) Core(TM) i7 */
static leakycl_device_info mixed[6];

static void init_devices(void) {
  mixed[0] =
      fake_device(0, 0, LEAKYCL_DEVICE_CPU, "pthread-haswell", "Portable Computing Language");
  mixed[1] = fake_device(1, 0, LEAKYCL_DEVICE_OTHER, "Custom Thing", "Vendor X");
  mixed[2] = fake_device(2, 0, LEAKYCL_DEVICE_ACCELERATOR, "Arria 10 FPGA", "Intel(R) FPGA SDK");
  mixed[3] = fake_device(3, 0, LEAKYCL_DEVICE_GPU, "NVIDIA GeForce RTX 3080", "NVIDIA CUDA");
  mixed[4] = fake_device(3, 1, LEAKYCL_DEVICE_GPU, "NVIDIA A100", "NVIDIA CUDA");
  mixed[5] = fake_device(4, 0, LEAKYCL_DEVICE_CPU, "Intel(R) Core(TM) i7", "Intel(R) OpenCL");
}

/* Matches `spec` over devices with the public leakycl_device_match; returns
 * the status, the index (SIZE_MAX sentinel when not written) and the error. */
static leakycl_status resolve(const char *spec, const leakycl_device_info *devs, size_t count,
                              size_t *index, char *err, size_t errlen) {
  *index = SIZE_MAX;
  err[0] = '\0';
  return leakycl_device_match(spec, devs, count, index, err, errlen);
}

/* `spec` over `devs` must pick device `want`. */
static void expect_pick(const char *spec, const leakycl_device_info *devs, size_t count,
                        size_t want) {
  size_t index;
  char err[2048];
  leakycl_status st = resolve(spec, devs, count, &index, err, sizeof err);
  if (st != LEAKYCL_OK || index != want)
    fprintf(stderr, "  spec \"%s\": status %s index %zu (want %zu) %s\n", spec ? spec : "(NULL)",
            leakycl_status_name(st), index, want, err);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  CHECK_INT_EQ(index, want);
}

/* `spec` over `devs` must match nothing: NO_DEVICE, the index untouched,
 * and a message that names the spec and every device seen. */
static void expect_no_device(const char *spec, const leakycl_device_info *devs, size_t count) {
  size_t index;
  char err[2048];
  leakycl_status st = resolve(spec, devs, count, &index, err, sizeof err);
  CHECK_INT_EQ(st, LEAKYCL_NO_DEVICE);
  CHECK(index == SIZE_MAX);
  char quoted[300];
  snprintf(quoted, sizeof quoted, "\"%s\"", spec);
  CHECK_CONTAINS(err, quoted);
  for (size_t i = 0; i < count; i++) {
    CHECK_CONTAINS(err, devs[i].name);
    char at[32];
    snprintf(at, sizeof at, "%u:%u", devs[i].platform_index, devs[i].device_index);
    CHECK_CONTAINS(err, at);
  }
}

/* `spec` must fail to parse with INVALID_ARGUMENT and a message naming it. */
static void expect_bad_spec(const char *spec, const char *want_in_message) {
  lk_spec parsed;
  char err[512] = "";
  leakycl_status st = lk_spec_parse(spec, &parsed, err, sizeof err);
  if (st != LEAKYCL_INVALID_ARGUMENT)
    fprintf(stderr, "  spec \"%.60s\" was accepted (kind %d)\n", spec, (int)parsed.kind);
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  if (want_in_message)
    CHECK_CONTAINS(err, want_in_message);
}

static void test_parse_kinds(void) {
  lk_spec s;
  char err[256];
  CHECK_INT_EQ(lk_spec_parse("auto", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_AUTO);
  CHECK_INT_EQ(lk_spec_parse(NULL, &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_AUTO);
  CHECK_INT_EQ(lk_spec_parse("", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_AUTO);

  CHECK_INT_EQ(lk_spec_parse("cpu", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_TYPE);
  CHECK_INT_EQ(s.type, LEAKYCL_DEVICE_CPU);
  CHECK_INT_EQ(s.ordinal, 0);
  CHECK_INT_EQ(lk_spec_parse("gpu", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_TYPE);
  CHECK_INT_EQ(s.type, LEAKYCL_DEVICE_GPU);
  CHECK_INT_EQ(lk_spec_parse("accelerator", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_TYPE);
  CHECK_INT_EQ(s.type, LEAKYCL_DEVICE_ACCELERATOR);
  CHECK_INT_EQ(lk_spec_parse("gpu:1", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_TYPE);
  CHECK_INT_EQ(s.type, LEAKYCL_DEVICE_GPU);
  CHECK_INT_EQ(s.ordinal, 1);
  CHECK_INT_EQ(lk_spec_parse("accelerator:12", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.ordinal, 12);

  CHECK_INT_EQ(lk_spec_parse("1:2", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_INDEX);
  CHECK_INT_EQ(s.platform, 1);
  CHECK_INT_EQ(s.device, 2);
  CHECK_INT_EQ(lk_spec_parse("0:0", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_INDEX);

  CHECK_INT_EQ(lk_spec_parse("NVIDIA", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_SUBSTRING);
  CHECK_STR_EQ(s.text, "NVIDIA");
  /* Not a type and not two numbers: a name substring. */
  CHECK_INT_EQ(lk_spec_parse("Core(TM) i7", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_SUBSTRING);
  CHECK_INT_EQ(lk_spec_parse("a:b", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_SUBSTRING);
  CHECK_INT_EQ(lk_spec_parse("gpus", &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_SUBSTRING);
}

static void test_parse_bad_ordinals(void) {
  expect_bad_spec("gpu:x", "gpu:x");
  expect_bad_spec("gpu:", "gpu:");
  expect_bad_spec("cpu:-1", "cpu:-1");
  expect_bad_spec("gpu:1x", "1x");
  expect_bad_spec("gpu: 1", "gpu: 1");
  expect_bad_spec("gpu:+1", NULL);
  expect_bad_spec("accelerator:1:2", NULL);
  expect_bad_spec("gpu:0x10", NULL);
  /* More digits than an unsigned safely holds: rejected, never wrapped. */
  expect_bad_spec("gpu:99999999999999999999", NULL);
  expect_bad_spec("cpu:4294967296", NULL);
}

static void test_parse_too_long(void) {
  char spec[600];
  memset(spec, 'a', sizeof spec);
  spec[sizeof spec - 1] = '\0';
  expect_bad_spec(spec, "599");
  /* The limit: 255 characters parse, 256 do not. */
  lk_spec s;
  char err[256];
  spec[255] = '\0';
  CHECK_INT_EQ(lk_spec_parse(spec, &s, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(s.kind, LK_SPEC_SUBSTRING);
  CHECK_INT_EQ(strlen(s.text), 255);
  spec[255] = 'a';
  spec[256] = '\0';
  expect_bad_spec(spec, "256");
}

static void test_parse_null_args(void) {
  char err[128] = "";
  CHECK_INT_EQ(lk_spec_parse("cpu", NULL, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  /* A NULL error buffer is fine. */
  lk_spec s;
  CHECK_INT_EQ(lk_spec_parse("gpu:x", &s, NULL, 0), LEAKYCL_INVALID_ARGUMENT);

  lk_spec_parse("auto", &s, NULL, 0);
  size_t index = SIZE_MAX;
  CHECK_INT_EQ(lk_spec_match(NULL, mixed, 6, &index, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(lk_spec_match(&s, mixed, 6, NULL, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(lk_spec_match(&s, NULL, 3, &index, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(index == SIZE_MAX);
}

static void test_auto_order(void) {
  /* GPU first, wherever it is in the list. */
  expect_pick("auto", mixed, 6, 3);
  expect_pick(NULL, mixed, 6, 3);
  expect_pick("", mixed, 6, 3);
  /* No GPU: the accelerator. */
  leakycl_device_info no_gpu[4] = {mixed[0], mixed[1], mixed[2], mixed[5]};
  expect_pick("auto", no_gpu, 4, 2);
  /* CPU over "other". */
  leakycl_device_info cpu_other[3] = {mixed[1], mixed[5], mixed[0]};
  expect_pick("auto", cpu_other, 3, 1);
  /* Only "other": still a device. */
  expect_pick("auto", &mixed[1], 1, 0);
  /* The first of the best type, not the last. */
  leakycl_device_info two_acc[3] = {mixed[0], mixed[2], mixed[2]};
  two_acc[2].platform_index = 7;
  expect_pick("auto", two_acc, 3, 1);
}

static void test_type_specs(void) {
  expect_pick("cpu", mixed, 6, 0);
  expect_pick("cpu:0", mixed, 6, 0);
  expect_pick("cpu:1", mixed, 6, 5); /* ordinals count across platforms */
  expect_pick("gpu", mixed, 6, 3);
  expect_pick("gpu:0", mixed, 6, 3);
  expect_pick("gpu:1", mixed, 6, 4);
  expect_pick("accelerator", mixed, 6, 2);
  expect_no_device("gpu:2", mixed, 6);
  expect_no_device("cpu:2", mixed, 6);
  expect_no_device("accelerator:1", mixed, 6);
  /* A type with no device of it: never another type instead. */
  leakycl_device_info cpus[2] = {mixed[0], mixed[5]};
  expect_no_device("gpu", cpus, 2);
  expect_no_device("accelerator", cpus, 2);
  leakycl_device_info gpus[2] = {mixed[3], mixed[4]};
  expect_no_device("cpu", gpus, 2);
}

/* Keywords in any case, as users type them: "GPU", "Cpu:0", "AUTO". */
static void test_keywords_any_case(void) {
  expect_pick("GPU", mixed, 6, 3);
  expect_pick("Gpu:1", mixed, 6, 4);
  expect_pick("CPU", mixed, 6, 0);
  expect_pick("AUTO", mixed, 6, 3);
  expect_pick("Accelerator", mixed, 6, 2);
}

/* The default variant of each strategy, and bad input. */
static void test_default_variant(void) {
  leakycl_variant v;
  CHECK_INT_EQ(leakycl_default_variant(&mixed[3], LEAKYCL_STRATEGY_GPU, &v), LEAKYCL_OK);
  CHECK_INT_EQ(v.strategy, LEAKYCL_STRATEGY_GPU);
  CHECK((v.work_group_size & (v.work_group_size - 1)) == 0);
  CHECK(v.work_group_size <= mixed[3].max_work_group_size);
  CHECK_INT_EQ(leakycl_default_variant(&mixed[0], LEAKYCL_STRATEGY_CPU, &v), LEAKYCL_OK);
  CHECK_INT_EQ(v.strategy, LEAKYCL_STRATEGY_CPU);
  CHECK_INT_EQ(leakycl_default_variant(NULL, LEAKYCL_STRATEGY_CPU, &v), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_default_variant(&mixed[0], (leakycl_strategy)7, &v),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_default_variant(&mixed[0], LEAKYCL_STRATEGY_CPU, NULL),
               LEAKYCL_INVALID_ARGUMENT);
}

/* The vendor level of the defaults: NVIDIA, AMD and Intel GPUs get their
 * row (gpu strategy only), anything else and every CPU the type's. */
static leakycl_device_info vendor_device(leakycl_device_type type, const char *vendor) {
  leakycl_device_info d = fake_device(0, 0, type, "some device", "some platform");
  snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
  d.max_work_group_size = 1024;
  d.local_mem_bytes = 64 << 10;
  return d;
}

static void test_vendor_defaults(void) {
  const struct {
    const char *vendor;
    leakycl_device_type type;
    size_t wg, block;
    const char *level;
  } rows[] = {
      {"NVIDIA Corporation", LEAKYCL_DEVICE_GPU, 256, 64 * 256, "vendor"},
      {"Advanced Micro Devices, Inc.", LEAKYCL_DEVICE_GPU, 256, 64 * 256, "vendor"},
      {"AMD", LEAKYCL_DEVICE_GPU, 256, 64 * 256, "vendor"},
      {"Intel(R) Corporation", LEAKYCL_DEVICE_GPU, 128, 16 * 128, "vendor"},
      {"University of Bristol", LEAKYCL_DEVICE_GPU, 256, 16 * 256, "default"},
      {"Intel(R) Corporation", LEAKYCL_DEVICE_CPU, 16, 16384, "default"},
      {"AuthenticAMD", LEAKYCL_DEVICE_CPU, 16, 16384, "default"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const leakycl_device_info d = vendor_device(rows[i].type, rows[i].vendor);
    leakycl_variant v, type_level;
    const leakycl_strategy s = lk_strategy_of_type(rows[i].type);
    CHECK_STR_EQ(lk_variant_default(&d, s, &v), rows[i].level);
    CHECK_INT_EQ(v.strategy, s);
    CHECK_INT_EQ(v.work_group_size, rows[i].wg);
    CHECK_INT_EQ(v.reduce_block, rows[i].block);
    CHECK_INT_EQ(lk_variant_check(&v, &d, NULL, 0), LEAKYCL_OK);
    CHECK((lk_variant_vendor_reason(&d) != NULL) == (strcmp(rows[i].level, "vendor") == 0));
    /* The other strategy on a vendor's GPU is the plain type default. */
    if (rows[i].type == LEAKYCL_DEVICE_GPU) {
      CHECK_STR_EQ(lk_variant_default(&d, LEAKYCL_STRATEGY_CPU, &type_level), "default");
      CHECK_INT_EQ(type_level.work_group_size, 16);
    }
  }
  /* A small local memory still bounds the vendor's work-group size. */
  leakycl_device_info small = vendor_device(LEAKYCL_DEVICE_GPU, "NVIDIA Corporation");
  small.local_mem_bytes = 2048; /* 5 floats an item: at most 102 items -> 64 */
  leakycl_variant v;
  CHECK_STR_EQ(lk_variant_default(&small, LEAKYCL_STRATEGY_GPU, &v), "vendor");
  CHECK_INT_EQ(v.work_group_size, 64);
  CHECK_INT_EQ(v.reduce_block, 64 * 64);
}

static void test_index_specs(void) {
  expect_pick("0:0", mixed, 6, 0);
  expect_pick("3:0", mixed, 6, 3);
  expect_pick("3:1", mixed, 6, 4);
  expect_pick("4:0", mixed, 6, 5);
  expect_pick("03:01", mixed, 6, 4); /* leading zeros are still numbers */
  expect_no_device("3:2", mixed, 6);
  expect_no_device("5:0", mixed, 6);
  expect_no_device("0:1", mixed, 6);
}

static void test_substring_specs(void) {
  expect_pick("pthread", mixed, 6, 0);
  expect_pick("PTHREAD", mixed, 6, 0);
  expect_pick("HasWell", mixed, 6, 0);
  expect_pick("portable", mixed, 6, 0); /* platform name */
  expect_pick("computing language", mixed, 6, 0);
  expect_pick("a100", mixed, 6, 4);
  expect_pick("geforce", mixed, 6, 3);
  expect_pick("nvidia", mixed, 6, 3); /* the first of two matches */
  expect_pick("cuda", mixed, 6, 3);   /* platform name */
  expect_pick("fpga", mixed, 6, 2);
  expect_pick("Core(TM)", mixed, 6, 5);
  expect_pick("intel(r) opencl", mixed, 6, 5); /* platform name, case folded */
  expect_pick("custom", mixed, 6, 1);
  expect_no_device("nosuchdevice", mixed, 6);
  expect_no_device("amd", mixed, 6);
  expect_no_device("a:b", mixed, 6);
}

static void test_no_device_message(void) {
  size_t index;
  char err[2048];
  leakycl_status st = resolve("gpu", &mixed[0], 1, &index, err, sizeof err);
  CHECK_INT_EQ(st, LEAKYCL_NO_DEVICE);
  CHECK(index == SIZE_MAX);
  CHECK_CONTAINS(err, "\"gpu\"");
  CHECK_CONTAINS(err, "0:0");
  CHECK_CONTAINS(err, "cpu");
  CHECK_CONTAINS(err, "pthread-haswell");
  CHECK_CONTAINS(err, "Portable Computing Language");

  /* No device at all: every spec, auto included, is NO_DEVICE, and the
   * message says none were seen. */
  const char *specs[] = {"auto", "cpu", "0:0", "pthread"};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    st = resolve(specs[i], NULL, 0, &index, err, sizeof err);
    CHECK_INT_EQ(st, LEAKYCL_NO_DEVICE);
    CHECK(index == SIZE_MAX);
    CHECK_CONTAINS(err, specs[i]);
    CHECK_CONTAINS(err, "none");
  }

  /* A short error buffer is truncated, never overrun. */
  char tiny[16];
  memset(tiny, 'z', sizeof tiny);
  st = resolve("nosuchdevice", mixed, 6, &index, tiny, 10);
  CHECK_INT_EQ(st, LEAKYCL_NO_DEVICE);
  CHECK(memchr(tiny, '\0', 10) != NULL);
  CHECK(tiny[10] == 'z');
}

static void test_no_device_many_long_names(void) {
  /* More devices than the message has room for: still a terminated,
   * bounded message (run under ASan to see an overrun). */
  leakycl_device_info many[40];
  for (unsigned i = 0; i < 40; i++) {
    char name[128];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    many[i] = fake_device(i, 0, LEAKYCL_DEVICE_CPU, "", "");
    memcpy(many[i].name, name, sizeof name);
    memcpy(many[i].platform_name, name, sizeof name);
  }
  size_t index;
  char err[4096];
  leakycl_status st = resolve("gpu", many, 40, &index, err, sizeof err);
  CHECK_INT_EQ(st, LEAKYCL_NO_DEVICE);
  CHECK(strlen(err) < sizeof err);
  CHECK_CONTAINS(err, "\"gpu\"");
  CHECK_CONTAINS(err, "0:0");
}

/* ---- leakycl_context_create on this machine's devices ---- */

/* Opens spec; expects OK and a device of the given type (0: any). */
static void expect_open(const char *spec, leakycl_device_type type) {
  leakycl_context *ctx = NULL;
  char err[1024] = "";
  leakycl_status st = leakycl_context_create(spec, &ctx, err, sizeof err);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  spec \"%s\": %s: %s\n", spec ? spec : "(NULL)", leakycl_status_name(st),
            err);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  CHECK(ctx != NULL);
  if (ctx) {
    leakycl_device_info info;
    CHECK_INT_EQ(leakycl_context_device(ctx, &info), LEAKYCL_OK);
    CHECK(info.name[0] != '\0');
    if (type)
      CHECK_INT_EQ(info.type, type);
    CHECK_STR_EQ(leakycl_last_error(ctx), "");
  }
  leakycl_context_release(ctx);
}

static void expect_open_fails(const char *spec, leakycl_status want, const char *named) {
  leakycl_context *ctx = (leakycl_context *)&ctx; /* not NULL: must be cleared */
  char err[2048] = "";
  leakycl_status st = leakycl_context_create(spec, &ctx, err, sizeof err);
  CHECK_INT_EQ(st, want);
  CHECK(ctx == NULL);
  CHECK(err[0] != '\0');
  if (named)
    CHECK_CONTAINS(err, named);
  if (st == LEAKYCL_OK)
    leakycl_context_release(ctx);
}

static size_t machine_count;
static leakycl_device_info machine[16];

static int have_cpu_pocl(void) {
  char err[256] = "";
  if (leakycl_list_devices(machine, 16, &machine_count, err, sizeof err) != LEAKYCL_OK)
    return 0;
  for (size_t i = 0; i < machine_count && i < 16; i++) {
    if (machine[i].type == LEAKYCL_DEVICE_CPU && strstr(machine[i].name, "pthread") &&
        strstr(machine[i].platform_name, "Portable"))
      return 1;
  }
  return 0;
}

static int have_type(leakycl_device_type type) {
  for (size_t i = 0; i < machine_count && i < 16; i++)
    if (machine[i].type == type)
      return 1;
  return 0;
}

static void test_context_create_specs(void) {
  unsetenv("LEAKYCL_DEVICE");
  expect_open("cpu", LEAKYCL_DEVICE_CPU);
  expect_open("cpu:0", LEAKYCL_DEVICE_CPU);
  expect_open("auto", 0);
  expect_open("pthread", LEAKYCL_DEVICE_CPU);
  expect_open("PThread", LEAKYCL_DEVICE_CPU);
  expect_open("portable", 0);
  /* 0:0 opens the first device listed. */
  leakycl_context *ctx = NULL;
  CHECK_INT_EQ(leakycl_context_create("0:0", &ctx, NULL, 0), LEAKYCL_OK);
  if (ctx) {
    leakycl_device_info info;
    leakycl_context_device(ctx, &info);
    CHECK_STR_EQ(info.name, machine[0].name);
    CHECK_INT_EQ(info.platform_index, 0);
    CHECK_INT_EQ(info.device_index, 0);
  }
  leakycl_context_release(ctx);
}

static void test_context_create_no_device(void) {
  unsetenv("LEAKYCL_DEVICE");
  if (!have_type(LEAKYCL_DEVICE_GPU)) {
    expect_open_fails("gpu", LEAKYCL_NO_DEVICE, "\"gpu\"");
    /* The devices seen are listed. */
    expect_open_fails("gpu", LEAKYCL_NO_DEVICE, machine[0].name);
  }
  if (!have_type(LEAKYCL_DEVICE_ACCELERATOR))
    expect_open_fails("accelerator", LEAKYCL_NO_DEVICE, "\"accelerator\"");
  expect_open_fails("nosuchdevice", LEAKYCL_NO_DEVICE, "\"nosuchdevice\"");
  expect_open_fails("nosuchdevice", LEAKYCL_NO_DEVICE, "pthread");
  expect_open_fails("cpu:9", LEAKYCL_NO_DEVICE, "\"cpu:9\"");
  expect_open_fails("9:0", LEAKYCL_NO_DEVICE, "\"9:0\"");
  expect_open_fails("gpu:x", LEAKYCL_INVALID_ARGUMENT, "gpu:x");
  char err[128] = "";
  CHECK_INT_EQ(leakycl_context_create("cpu", NULL, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
}

static void test_context_create_env(void) {
  /* NULL and "" read $LEAKYCL_DEVICE: a spec that matches nothing proves
   * it was used (auto would have opened the CPU). */
  setenv("LEAKYCL_DEVICE", "nosuchdevice", 1);
  expect_open_fails(NULL, LEAKYCL_NO_DEVICE, "\"nosuchdevice\"");
  expect_open_fails("", LEAKYCL_NO_DEVICE, "\"nosuchdevice\"");
  /* An explicit spec wins over the variable. */
  expect_open("cpu", LEAKYCL_DEVICE_CPU);
  setenv("LEAKYCL_DEVICE", "pthread", 1);
  expect_open(NULL, LEAKYCL_DEVICE_CPU);
  setenv("LEAKYCL_DEVICE", "gpu:x", 1);
  expect_open_fails(NULL, LEAKYCL_INVALID_ARGUMENT, "gpu:x");
  /* Empty or unset: auto. */
  setenv("LEAKYCL_DEVICE", "", 1);
  expect_open(NULL, 0);
  unsetenv("LEAKYCL_DEVICE");
  expect_open(NULL, 0);
  expect_open("", 0);
}

int main(void) {
  init_devices();
  RUN_TEST(test_parse_kinds);
  RUN_TEST(test_parse_bad_ordinals);
  RUN_TEST(test_parse_too_long);
  RUN_TEST(test_parse_null_args);
  RUN_TEST(test_auto_order);
  RUN_TEST(test_type_specs);
  RUN_TEST(test_keywords_any_case);
  RUN_TEST(test_default_variant);
  RUN_TEST(test_vendor_defaults);
  RUN_TEST(test_index_specs);
  RUN_TEST(test_substring_specs);
  RUN_TEST(test_no_device_message);
  RUN_TEST(test_no_device_many_long_names);
  if (have_cpu_pocl()) {
    RUN_TEST(test_context_create_specs);
    RUN_TEST(test_context_create_no_device);
    RUN_TEST(test_context_create_env);
  } else {
    printf("SKIP test_context_create_* (no PoCL pthread CPU device on this machine)\n");
  }
  return TEST_SUMMARY();
}
