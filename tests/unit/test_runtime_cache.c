/* test_runtime_cache.c - where PoCL keeps its kernel cache and what an
 * unusable cache directory does: PoCL's goes to <program cache>/pocl
 * (unless POCL_CACHE_DIR is set or the cache is off) and survives that
 * directory being deleted under a running process; a cache directory that
 * cannot be made is named, with the reason, when PoCL then offers no
 * device; an unusable program cache is only misses; leakycl_program_cache_dir
 * names the directory. Each case with a device runs in a child process of
 * its own, since PoCL reads its environment once. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device/device.h"
#include "test.h"

static char dir[256];

/* Runs scenario in a fresh process (no OpenCL call made yet there); its
 * failed checks fail the case. */
static void in_fresh_process(void (*scenario)(void)) {
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    scenario();
    fflush(stdout);
    fflush(stderr);
    _exit(test_case_failed_ ? 1 : 0);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static bool is_pocl(const leakycl_context *ctx) {
  return strstr(ctx->info.platform_name, "Portable Computing Language") != NULL;
}

/* One forward call of `act` on a few values, checked. */
static void forward_once(leakycl_context *ctx, leakycl_activation act) {
  float x[64], y[64];
  for (int i = 0; i < 64; i++)
    x[i] = (float)(i - 32);
  leakycl_params p;
  leakycl_params_init(&p, act);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(64), x, y), LEAKYCL_OK);
  CHECK(y[40] == 8.0f && y[0] <= 0.0f);
}

static void pocl_beside_programs(void) {
  char programs[300], pocl[320], cmd[400];
  snprintf(programs, sizeof programs, "%s/one/programs", dir);
  snprintf(pocl, sizeof pocl, "%s/pocl", programs);
  unsetenv("POCL_CACHE_DIR");
  setenv("LEAKYCL_CACHE_DIR", programs, 1);
  char err[LK_ERROR_MAX];
  leakycl_context *ctx = NULL;
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err), LEAKYCL_OK);
  CHECK_STR_EQ(getenv("POCL_CACHE_DIR"), pocl);
  struct stat sb;
  CHECK(stat(pocl, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
  if (!ctx)
    return;
  forward_once(ctx, LEAKYCL_RELU);
  if (is_pocl(ctx)) {
    snprintf(cmd, sizeof cmd, "test -n \"$(ls -A '%s')\"", pocl);
    CHECK_INT_EQ(system(cmd), 0); /* PoCL wrote there */
  }
  /* The cache deleted under the running process (the remedy for a damaged
   * one): the next build still works, and PoCL's directory is back. */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", programs);
  CHECK_INT_EQ(system(cmd), 0);
  forward_once(ctx, LEAKYCL_LEAKY_RELU);
  CHECK(stat(pocl, &sb) == 0 && S_ISDIR(sb.st_mode));
  leakycl_context_release(ctx);
}

/* A POCL_CACHE_DIR of the user's, or the cache switched off: left alone. */
static void pocl_cache_dir_kept(void) {
  char mine[300], programs[300];
  snprintf(mine, sizeof mine, "%s/mine", dir);
  snprintf(programs, sizeof programs, "%s/two/programs", dir);
  setenv("POCL_CACHE_DIR", mine, 1);
  setenv("LEAKYCL_CACHE_DIR", programs, 1);
  size_t count = 0;
  char err[512];
  CHECK_INT_EQ(leakycl_list_devices(NULL, 0, &count, err, sizeof err), LEAKYCL_OK);
  CHECK_STR_EQ(getenv("POCL_CACHE_DIR"), mine);
}

static void pocl_cache_off(void) {
  unsetenv("POCL_CACHE_DIR");
  setenv("LEAKYCL_CACHE", "off", 1);
  size_t count = 0;
  char err[512];
  CHECK_INT_EQ(leakycl_list_devices(NULL, 0, &count, err, sizeof err), LEAKYCL_OK);
  CHECK(getenv("POCL_CACHE_DIR") == NULL);
}

/* A regular file where a directory must be. */
static void make_file(char *path, size_t len) {
  snprintf(path, len, "%s/a-file", dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f)
    fclose(f);
}

/* XDG_CACHE_HOME and HOME name a file: neither leakycl nor PoCL can make
 * a cache there, and PoCL then offers no device. The error names PoCL's
 * directory and why, not only "seen: none". */
static void unusable_cache_named(void) {
  char file[300], want[400];
  make_file(file, sizeof file);
  unsetenv("POCL_CACHE_DIR");
  unsetenv("LEAKYCL_CACHE_DIR");
  unsetenv("POCL_KERNEL_CACHE");
  setenv("XDG_CACHE_HOME", file, 1);
  setenv("HOME", file, 1);
  char err[LK_ERROR_MAX] = "";
  leakycl_context *ctx = NULL;
  const leakycl_status st = leakycl_context_create("cpu", &ctx, err, sizeof err);
  if (st == LEAKYCL_OK) {
    printf("# %s opens without a cache directory: not PoCL, nothing to name\n",
           ctx->info.platform_name);
    leakycl_context_release(ctx);
    return;
  }
  CHECK_INT_EQ(st, LEAKYCL_NO_DEVICE);
  snprintf(want, sizeof want, "\"%s/pocl/kcache\" cannot be used (Not a directory)", file);
  CHECK_CONTAINS(err, want);
  CHECK_CONTAINS(err, "POCL_CACHE_DIR");
}

/* Only the program cache unusable: the device opens (PoCL keeps its own
 * default), and every program is a miss that stores nothing. */
static void unusable_program_cache_is_misses(void) {
  char file[300], programs[400];
  make_file(file, sizeof file);
  snprintf(programs, sizeof programs, "%s/programs", file);
  unsetenv("POCL_CACHE_DIR");
  setenv("LEAKYCL_CACHE_DIR", programs, 1);
  char err[LK_ERROR_MAX] = "";
  leakycl_context *ctx = NULL;
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err), LEAKYCL_OK);
  CHECK(getenv("POCL_CACHE_DIR") == NULL);
  if (!ctx)
    return;
  forward_once(ctx, LEAKYCL_RELU);
  CHECK_INT_EQ(ctx->test.cache_hits + ctx->test.cache_stores, 0);
  CHECK_INT_EQ(ctx->test.source_builds, 1);
  leakycl_context_release(ctx);
}

/* leakycl_program_cache_dir names the directory the cache uses: the
 * override, "" when the cache is off; a buffer too small is refused. */
static void test_program_cache_dir_named(void) {
  char got[512], programs[300], tiny[4];
  snprintf(programs, sizeof programs, "%s/named/programs", dir);
  setenv("LEAKYCL_CACHE_DIR", programs, 1);
  CHECK_INT_EQ(leakycl_program_cache_dir(got, sizeof got), LEAKYCL_OK);
  CHECK_STR_EQ(got, programs);
  CHECK_INT_EQ(leakycl_program_cache_dir(tiny, sizeof tiny), LEAKYCL_INVALID_ARGUMENT);
  CHECK_STR_EQ(tiny, "");
  CHECK_INT_EQ(leakycl_program_cache_dir(NULL, 10), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_program_cache_dir(got, 0), LEAKYCL_INVALID_ARGUMENT);
  setenv("LEAKYCL_CACHE", "off", 1);
  CHECK_INT_EQ(leakycl_program_cache_dir(got, sizeof got), LEAKYCL_OK);
  CHECK_STR_EQ(got, "");
  unsetenv("LEAKYCL_CACHE");
  unsetenv("LEAKYCL_CACHE_DIR");
}

static void test_pocl_cache_beside_programs(void) { in_fresh_process(pocl_beside_programs); }
static void test_pocl_cache_dir_of_the_user_kept(void) { in_fresh_process(pocl_cache_dir_kept); }
static void test_pocl_cache_left_alone_when_off(void) { in_fresh_process(pocl_cache_off); }
static void test_unusable_cache_dir_named(void) { in_fresh_process(unusable_cache_named); }
static void test_unusable_program_cache_is_misses(void) {
  in_fresh_process(unusable_program_cache_is_misses);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/leakycl-test-runtime-cache-XXXXXX");
  if (!mkdtemp(dir)) {
    printf("FAIL mkdtemp\n");
    return 1;
  }
  unsetenv("LEAKYCL_CACHE");
  RUN_TEST(test_pocl_cache_beside_programs);
  RUN_TEST(test_pocl_cache_dir_of_the_user_kept);
  RUN_TEST(test_pocl_cache_left_alone_when_off);
  RUN_TEST(test_unusable_cache_dir_named);
  RUN_TEST(test_unusable_program_cache_is_misses);
  RUN_TEST(test_program_cache_dir_named);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    printf("# could not remove %s\n", dir);
  return TEST_SUMMARY();
}
