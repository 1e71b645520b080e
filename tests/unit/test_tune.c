/* test_tune.c - variant descriptions both ways, the on-disk table of tuned
 * variants and how a context picks its variant (LEAKYCL_VARIANT, the table,
 * the default), the autotuner itself, the warm-up, and the on-disk program
 * cache (hits; zeroed, flipped, cut, padded, old-format and wrong-program
 * entries, and a FIFO in an entry's place, are misses, rebuilt and
 * replaced; switched off). Each test points
 * the files at a fresh temporary directory. */
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "device/device.h"
#include "fake_device.h"
#include "program/program.h"
#include "test.h"

static char dir[256];
static char table_path[300];
static char cache_dir[300];

/* The info of the device the tests open (test_device_spec()). */
static leakycl_device_info test_device(void) {
  leakycl_device_info d[16];
  size_t count = 0, index = 0;
  char err[256];
  leakycl_list_devices(d, 16, &count, err, sizeof err);
  if (leakycl_device_match(test_device_spec(), d, count < 16 ? count : 16, &index, err,
                           sizeof err) != LEAKYCL_OK)
    fprintf(stderr, "  device_match: %s\n", err);
  return d[index];
}

static leakycl_context *open_test_device(void) {
  char err[LK_ERROR_MAX];
  leakycl_context *ctx = NULL;
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  context_create: %s\n", err);
  return ctx;
}

static bool same_variant(const leakycl_variant *a, const leakycl_variant *b) {
  return a->strategy == b->strategy && a->vector_width == b->vector_width &&
         a->work_group_size == b->work_group_size && a->vectors_per_item == b->vectors_per_item &&
         a->reduce_block == b->reduce_block && a->streaming_threshold == b->streaming_threshold;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

/* ---- descriptions ---- */

static void test_describe_parse_round_trip(void) {
  const leakycl_device_info d = test_device();
  for (int s = 0; s < 2; s++) {
    leakycl_variant v, back;
    leakycl_default_variant(&d, (leakycl_strategy)s, &v);
    char text[128], err[256];
    CHECK_INT_EQ(leakycl_variant_describe(&v, text, sizeof text), LEAKYCL_OK);
    CHECK_INT_EQ(leakycl_variant_parse(text, &d, &back, err, sizeof err), LEAKYCL_OK);
    CHECK(same_variant(&v, &back));
  }
  leakycl_variant v;
  char err[256];
  CHECK_INT_EQ(leakycl_variant_parse("cpu  nt7 vw16\tchunk3 wg4 block100", &d, &v, err, sizeof err),
               LEAKYCL_OK);
  CHECK(v.strategy == LEAKYCL_STRATEGY_CPU && v.vector_width == 16 && v.work_group_size == 4 &&
        v.vectors_per_item == 3 && v.reduce_block == 100 && v.streaming_threshold == 7);
  /* Fields not named keep the strategy's default. */
  leakycl_variant gpu;
  leakycl_default_variant(&d, LEAKYCL_STRATEGY_GPU, &gpu);
  CHECK_INT_EQ(leakycl_variant_parse("gpu vw2", &d, &v, err, sizeof err), LEAKYCL_OK);
  gpu.vector_width = 2;
  CHECK(same_variant(&v, &gpu));
}

static void test_parse_rejects_bad_text(void) {
  const leakycl_device_info d = test_device();
  const char *bad[][2] = {
      {"", "cpu or gpu"},
      {"fpu vw8", "cpu or gpu"},
      {"vw8 cpu", "cpu or gpu"},
      {"cpu vw3", "vector_width"},
      {"cpu vw", "is not one of"},
      {"cpu vw8x", "is not one of"},
      {"cpu vw-8", "is not one of"},
      {"cpu color7", "is not one of"},
      {"cpu wg99999999999999999999", "is not one of"},
      {"cpu wg0", "work_group_size"},
      {"gpu wg48", "power of two"},
      {"cpu block0", "reduce_block"},
      {"cpu chunk0", "vectors_per_item"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    leakycl_variant v;
    memset(&v, 0x5a, sizeof v);
    const leakycl_variant before = v;
    char err[256] = "";
    CHECK_INT_EQ(leakycl_variant_parse(bad[i][0], &d, &v, err, sizeof err),
                 LEAKYCL_INVALID_ARGUMENT);
    CHECK_CONTAINS(err, bad[i][1]);
    CHECK(memcmp(&v, &before, sizeof v) == 0); /* untouched */
  }
  leakycl_variant v;
  CHECK_INT_EQ(leakycl_variant_parse(NULL, &d, &v, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
}

/* ---- the table and the context's choice ---- */

static void test_table_save_lookup_replace(void) {
  unlink(table_path);
  leakycl_device_info a = fake_device(0, 0, LEAKYCL_DEVICE_GPU, "Fake|GPU\tA", "Plat");
  leakycl_device_info b = fake_device(0, 1, LEAKYCL_DEVICE_GPU, "Fake GPU B", "Plat");
  a.local_mem_bytes = b.local_mem_bytes = 65536;
  snprintf(a.driver_version, sizeof a.driver_version, "1.0");
  snprintf(b.driver_version, sizeof b.driver_version, "1.0");
  leakycl_variant va, vb, got;
  leakycl_default_variant(&a, LEAKYCL_STRATEGY_GPU, &va);
  leakycl_default_variant(&b, LEAKYCL_STRATEGY_CPU, &vb);
  int found = -1;
  char err[512];
  CHECK_INT_EQ(leakycl_tune_table_lookup(&a, &got, &found, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(found, 0); /* no file yet */
  CHECK_INT_EQ(leakycl_tune_table_save(&a, &va, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_tune_table_save(&b, &vb, err, sizeof err), LEAKYCL_OK);
  va.vector_width = 2;
  CHECK_INT_EQ(leakycl_tune_table_save(&a, &va, err, sizeof err), LEAKYCL_OK); /* replaces */
  CHECK_INT_EQ(leakycl_tune_table_lookup(&a, &got, &found, err, sizeof err), LEAKYCL_OK);
  CHECK(found == 1 && same_variant(&got, &va));
  CHECK_INT_EQ(leakycl_tune_table_lookup(&b, &got, &found, err, sizeof err), LEAKYCL_OK);
  CHECK(found == 1 && same_variant(&got, &vb));
  /* A header line and one line per device; separators in names flattened. */
  FILE *f = fopen(table_path, "r");
  char line[1024];
  int lines = 0;
  while (f && fgets(line, sizeof line, f))
    lines++;
  if (f)
    fclose(f);
  CHECK_INT_EQ(lines, 3);
  /* Another driver version is another key: not found. */
  snprintf(a.driver_version, sizeof a.driver_version, "2.0");
  CHECK_INT_EQ(leakycl_tune_table_lookup(&a, &got, &found, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(found, 0);
  /* An invalid variant is refused before anything is written. */
  leakycl_variant bad = vb;
  bad.vector_width = 3;
  CHECK_INT_EQ(leakycl_tune_table_save(&b, &bad, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_tune_table_lookup(&b, &got, &found, err, sizeof err), LEAKYCL_OK);
  CHECK(found == 1 && same_variant(&got, &vb));
}

static void test_context_uses_table_then_env(void) {
  unlink(table_path);
  const leakycl_device_info d = test_device();
  leakycl_variant tuned, got;
  char err[512];
  CHECK_INT_EQ(
      leakycl_variant_parse("cpu vw4 wg8 chunk32 block8192 nt0", &d, &tuned, err, sizeof err),
      LEAKYCL_OK);
  leakycl_context *ctx = open_test_device();
  CHECK_STR_EQ(leakycl_variant_origin(ctx), "default");
  leakycl_context_release(ctx);

  CHECK_INT_EQ(leakycl_tune_table_save(&d, &tuned, err, sizeof err), LEAKYCL_OK);
  ctx = open_test_device();
  CHECK_STR_EQ(leakycl_variant_origin(ctx), "tuned");
  leakycl_get_variant(ctx, &got);
  CHECK(same_variant(&got, &tuned));
  /* The tuned variant computes correctly: relu of a mix of signs. */
  float x[1000], y[1000];
  for (int i = 0; i < 1000; i++)
    x[i] = (float)(i - 500) * 0.5f;
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(1000), x, y), LEAKYCL_OK);
  CHECK(y[0] == 0.0f && y[999] == 249.5f && y[500] == 0.0f && y[501] == 0.5f);
  CHECK_INT_EQ(leakycl_set_variant(ctx, &got), LEAKYCL_OK);
  CHECK_STR_EQ(leakycl_variant_origin(ctx), "set");
  leakycl_context_release(ctx);

  setenv("LEAKYCL_VARIANT", "gpu vw2 wg32", 1);
  ctx = open_test_device();
  CHECK_STR_EQ(leakycl_variant_origin(ctx), "env");
  leakycl_get_variant(ctx, &got);
  CHECK(got.strategy == LEAKYCL_STRATEGY_GPU && got.vector_width == 2 && got.work_group_size == 32);
  leakycl_context_release(ctx);

  /* A bad LEAKYCL_VARIANT fails the open, naming the variable. */
  setenv("LEAKYCL_VARIANT", "cpu vw5", 1);
  ctx = NULL;
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK(ctx == NULL);
  CHECK_CONTAINS(err, "LEAKYCL_VARIANT");
  unsetenv("LEAKYCL_VARIANT");

  /* So does a damaged line for this device, naming the file. */
  char text[1024], key_line[900];
  FILE *f = fopen(table_path, "r");
  CHECK(f && fgets(key_line, sizeof key_line, f) && fgets(key_line, sizeof key_line, f));
  if (f)
    fclose(f);
  *strchr(key_line, '\t') = '\0';
  snprintf(text, sizeof text, "%s\tcpu vw8 wg0\n", key_line);
  write_text(table_path, text);
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(err, table_path);
  CHECK_CONTAINS(err, "work_group_size");
  unlink(table_path);
}

/* ---- the tuner ---- */

static void count_lines(const char *line, void *user) {
  (void)line;
  (*(int *)user)++;
}

static void test_tune_small(void) {
  leakycl_context *ctx = open_test_device();
  if (!ctx)
    return;
  leakycl_variant before, after;
  leakycl_get_variant(ctx, &before);
  leakycl_tune_report *r = calloc(1, sizeof *r);
  int progress_lines = 0;
  CHECK_INT_EQ(leakycl_tune(ctx, 1 << 16, 1, count_lines, &progress_lines, r), LEAKYCL_OK);
  CHECK(r->n == 1 << 16);
  CHECK(r->count >= 10 && r->count <= LEAKYCL_TUNE_MAX_CANDIDATES);
  CHECK_INT_EQ(progress_lines, (long long)r->count);
  CHECK(same_variant(&r->candidates[0].variant, &r->start));
  CHECK(same_variant(&r->best, &r->candidates[r->best_index].variant));
  CHECK_DBL_NEAR(r->candidates[0].score, 3.0, 1e-12); /* the yardstick */
  for (size_t i = 0; i < r->count; i++) {
    for (int op = 0; op < 3; op++)
      CHECK(r->candidates[i].seconds[op] > 0);
  }
  CHECK(r->confirmed_speedup > 0);
  leakycl_get_variant(ctx, &after);
  CHECK(same_variant(&after, &r->best));
  CHECK_STR_EQ(leakycl_variant_origin(ctx), "tuned");
  /* Bad arguments change nothing. */
  CHECK_INT_EQ(leakycl_tune(ctx, 1 << 16, 65, NULL, NULL, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_tune(ctx, (size_t)1 << 62, 1, NULL, NULL, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "largest buffer");
  leakycl_get_variant(ctx, &before);
  CHECK(same_variant(&after, &before));
  free(r);
  leakycl_context_release(ctx);
}

/* ---- warm-up and the program cache ---- */

static size_t program_count(const leakycl_context *ctx) {
  size_t n = 0;
  for (const lk_program *p = ctx->programs; p; p = p->next)
    n++;
  return n;
}

/* The files in the cache directory (PoCL's kernel cache, the directory
 * "pocl" beside them, is not counted). */
static size_t files_in(const char *path) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ls -1 '%s' 2>/dev/null | grep -vx pocl | wc -l", path);
  FILE *p = popen(cmd, "r");
  size_t n = 0;
  if (p) {
    if (fscanf(p, "%zu", &n) != 1)
      n = 0;
    pclose(p);
  }
  return n;
}

static void test_warm_up_builds_everything_once(void) {
  leakycl_context *ctx = open_test_device();
  if (!ctx)
    return;
  CHECK_INT_EQ(leakycl_warm_up(ctx), LEAKYCL_OK);
  const size_t built = program_count(ctx);
  /* Element-wise: 4 activations + per-channel prelu and phased_relu; the
   * reduction: prelu and phased_relu, shared and per channel; each plain, and
   * streaming too when the device's variant streams (the gpu default does
   * not); and the packed jobs' program. */
  CHECK_INT_EQ(built, (ctx->variant.streaming_threshold ? 2 : 1) * (6 + 4) + 1);
  /* Calls of the same kinds build nothing more. */
  const size_t n = 1 << 12;
  float *x = aligned_alloc(64, n * 4), *y = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)i - 2048.0f;
  float alpha[4] = {0.5f, 0.25f, 0.125f, 2.0f}, da[4];
  leakycl_grads g = {da, NULL, NULL, NULL, 0};
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
    leakycl_params p;
    leakycl_params_init(&p, (leakycl_activation)act);
    CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(n), x, y), LEAKYCL_OK);
    if (act == LEAKYCL_PRELU) {
      p.alpha = alpha;
      p.alpha_count = 4;
      CHECK_INT_EQ(
          leakycl_backward(ctx, &p, (leakycl_view){2, 4, n / 8}, LEAKYCL_FROM_X, x, x, y, &g),
          LEAKYCL_OK);
    }
  }
  CHECK_INT_EQ(program_count(ctx), built);
  CHECK_INT_EQ(leakycl_warm_up(NULL), LEAKYCL_INVALID_ARGUMENT);
  free(x);
  free(y);
  leakycl_context_release(ctx);
}

static void relu_of_mix(leakycl_context *ctx, float *y, size_t n) {
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((int)(i % 7) - 3);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(n), x, y), LEAKYCL_OK);
  for (size_t i = 0; i < n; i++) {
    const double want = x[i] > 0 ? x[i] : (double)(0.01f * x[i]);
    if ((double)y[i] != want) {
      CHECK((double)y[i] == want);
      break;
    }
  }
  free(x);
}

/* The path of the one entry in the cache directory ("" when none). */
static void entry_path(char *path, size_t len) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ls -1 '%s'/*.bin 2>/dev/null | head -1", cache_dir);
  path[0] = '\0';
  FILE *p = popen(cmd, "r");
  if (p) {
    if (!fgets(path, (int)len, p))
      path[0] = '\0';
    pclose(p);
  }
  path[strcspn(path, "\n")] = '\0';
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = malloc(*len ? *len : 1);
  if (data && fread(data, 1, *len, f) != *len) {
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

static void spill(const char *path, const unsigned char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    fclose(f);
  }
}

/* One context's leaky_relu call, right (as y1), with what the cache did:
 * hits, stores and unusable entries removed. */
static void cache_round(const float *y1, unsigned hits, unsigned stores, unsigned drops,
                        const char *what) {
  float y[100];
  leakycl_context *ctx = open_test_device();
  if (!ctx)
    return;
  relu_of_mix(ctx, y, 100);
  if (ctx->test.cache_hits != hits || ctx->test.cache_stores != stores ||
      ctx->test.cache_drops != drops || memcmp(y, y1, sizeof y) != 0) {
    fprintf(stderr,
            "  %s: hits %u (want %u), stores %u (want %u), drops %u (want %u), results %s\n", what,
            ctx->test.cache_hits, hits, ctx->test.cache_stores, stores, ctx->test.cache_drops,
            drops, memcmp(y, y1, sizeof y) == 0 ? "right" : "WRONG");
    test_case_failed_ = 1;
  }
  leakycl_context_release(ctx);
}

/* The entry damaged by `how`, then: a miss (the damage never reaches the
 * driver, which PoCL and rusticl do not survive), rebuilt from source with
 * the right results, and the file replaced by a whole one (the next
 * context hits it). */
enum {
  ZERO_SECOND_HALF,
  FLIP_MIDDLE,
  TRUNCATE_HEAD,
  TRUNCATE_BINARY,
  ZERO_TAIL,
  EXTRA_BYTE,
  OLD_FORMAT,
  DAMAGE_KINDS
};
static const char *const damage_names[DAMAGE_KINDS] = {"second half zeroed",
                                                       "bytes flipped in the middle",
                                                       "cut after the head",
                                                       "cut inside the binary",
                                                       "last 64 bytes zeroed",
                                                       "a byte appended",
                                                       "format 1"};

static void damage_then_rebuild(const float *y1, int how) {
  char path[1200];
  entry_path(path, sizeof path);
  CHECK(path[0] != '\0');
  size_t len = 0;
  unsigned char *data = slurp(path, &len);
  CHECK(data != NULL && len > 400);
  if (!data || len <= 400)
    return;
  switch (how) {
  case ZERO_SECOND_HALF:
    memset(data + len / 2, 0, len - len / 2);
    break;
  case FLIP_MIDDLE:
    for (size_t i = len / 2; i < len / 2 + 16; i += 3)
      data[i] ^= 0x5A;
    break;
  case TRUNCATE_HEAD:
    len = 200;
    break;
  case TRUNCATE_BINARY:
    len = len * 3 / 4;
    break;
  case ZERO_TAIL:
    memset(data + len - 64, 0, 64);
    break;
  case EXTRA_BYTE:
    data = realloc(data, len + 1);
    data[len++] = 'x';
    break;
  default: /* the magic's format digit back to 1 */
    CHECK(memcmp(data, "leakycl-program-binary 2\n", 25) == 0);
    data[23] = '1';
    break;
  }
  spill(path, data, len);
  free(data);
  /* Whole heads with damage after them are removed at once; a cut head or
   * another format reads as another key's file, which the store replaces. */
  const unsigned drops = how == TRUNCATE_HEAD || how == OLD_FORMAT ? 0 : 1;
  cache_round(y1, 0, 1, drops, damage_names[how]);
  char again[1200];
  entry_path(again, sizeof again);
  CHECK_STR_EQ(again, path);
  size_t now_len = 0;
  unsigned char *now = slurp(path, &now_len);
  CHECK(now && now_len > 400 && memcmp(now, "leakycl-program-binary 2\n", 25) == 0);
  free(now);
  cache_round(y1, 1, 0, 0, damage_names[how]);
}

/* A FIFO where the entry goes (a regular file is all a cache file may be):
 * a miss at once, never an open that waits for a writer (the alarm ends a
 * test that hangs); the store's rename puts a whole entry in its place. */
static void fifo_then_rebuild(const float *y1) {
  char path[1200];
  entry_path(path, sizeof path);
  CHECK(path[0] != '\0' && unlink(path) == 0 && mkfifo(path, 0600) == 0);
  alarm(120);
  cache_round(y1, 0, 1, 0, "a FIFO in the entry's place");
  alarm(0);
  struct stat sb;
  CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode));
  cache_round(y1, 1, 0, 0, "the FIFO replaced");
}

/* A whole entry whose program lacks leakycl's kernels (another program's
 * binary stored under this key, checksum and all: the driver loads it, as
 * rusticl loaded damaged ones, but no kernel can be made from it): a miss,
 * dropped and rebuilt, never every later call failing. */
static void wrong_program_then_rebuild(const float *y1) {
  leakycl_context *ctx = open_test_device();
  if (!ctx)
    return;
  float y[100];
  relu_of_mix(ctx, y, 100);
  CHECK(ctx->programs != NULL);
  const char *src = "__kernel void not_leakycl(__global float *p) { p[0] = 1.0f; }";
  cl_int rc;
  cl_program other = clCreateProgramWithSource(ctx->cl_ctx, 1, &src, NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  if (rc == CL_SUCCESS) {
    CHECK_INT_EQ(clBuildProgram(other, 1, &ctx->device, NULL, NULL, NULL), CL_SUCCESS);
    lk_cache_store(ctx, ctx->programs->options, other);
    clReleaseProgram(other);
  }
  leakycl_context_release(ctx);
  cache_round(y1, 0, 1, 1, "no leakycl kernels");
  cache_round(y1, 1, 0, 0, "no leakycl kernels, rebuilt");
}

static void test_program_cache_hits_and_damage(void) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
  CHECK_INT_EQ(system(cmd), 0);
  float y1[100], y2[100];
  leakycl_context *ctx = open_test_device();
  relu_of_mix(ctx, y1, 100);
  CHECK_INT_EQ(ctx->test.cache_hits, 0);
  CHECK_INT_EQ(ctx->test.cache_stores, 1);
  leakycl_context_release(ctx);
  CHECK_INT_EQ(files_in(cache_dir), 1);
  struct stat st;
  CHECK(stat(cache_dir, &st) == 0 && (st.st_mode & 0777) == 0700);

  ctx = open_test_device(); /* a new process would see the same: the file is read */
  relu_of_mix(ctx, y2, 100);
  CHECK_INT_EQ(ctx->test.cache_hits, 1);
  CHECK_INT_EQ(ctx->test.cache_stores, 0);
  CHECK(memcmp(y1, y2, sizeof y1) == 0);
  leakycl_context_release(ctx);

  /* Every kind of damage: a miss, rebuilt, the file whole again. */
  for (int how = 0; how < DAMAGE_KINDS; how++)
    damage_then_rebuild(y1, how);
  wrong_program_then_rebuild(y1);
  fifo_then_rebuild(y1);
  /* Still one entry, and no temporary file left beside it. */
  CHECK_INT_EQ(files_in(cache_dir), 1);

  /* Switched off: nothing read, nothing written. */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
  CHECK_INT_EQ(system(cmd), 0);
  setenv("LEAKYCL_CACHE", "off", 1);
  ctx = open_test_device();
  relu_of_mix(ctx, y2, 100);
  CHECK_INT_EQ(ctx->test.cache_hits + ctx->test.cache_stores, 0);
  leakycl_context_release(ctx);
  unsetenv("LEAKYCL_CACHE");
  CHECK_INT_EQ(files_in(cache_dir), 0);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/leakycl-test-tune-XXXXXX");
  if (!mkdtemp(dir)) {
    printf("FAIL mkdtemp\n");
    return 1;
  }
  snprintf(table_path, sizeof table_path, "%s/variants.tsv", dir);
  snprintf(cache_dir, sizeof cache_dir, "%s/programs", dir);
  setenv("LEAKYCL_TUNE_FILE", table_path, 1);
  setenv("LEAKYCL_CACHE_DIR", cache_dir, 1);
  unsetenv("LEAKYCL_VARIANT");
  unsetenv("LEAKYCL_CACHE");
  RUN_TEST(test_describe_parse_round_trip);
  RUN_TEST(test_parse_rejects_bad_text);
  RUN_TEST(test_table_save_lookup_replace);
  RUN_TEST(test_context_uses_table_then_env);
  RUN_TEST(test_program_cache_hits_and_damage);
  RUN_TEST(test_warm_up_builds_everything_once);
  RUN_TEST(test_tune_small);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    printf("# could not remove %s\n", dir);
  return TEST_SUMMARY();
}
