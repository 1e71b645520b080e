/* test_binaries.c - offline-compiled program bundles (program_bundle.c,
 * bundle_compile.c): compiled on PoCL, loaded in a fresh context, every
 * activation x op bit-identical to the source-built path with no source
 * build; bundles for another device, driver, source or version refused with
 * a message naming the field; truncated, garbled, empty and directory files
 * are errors, never crashes; a damaged binary (checksum) is refused at load
 * naming the entry, before any driver sees it; a format 1 bundle is refused
 * clearly; a program the bundle lacks is a clear error; the checksum
 * (program_binary.c) against XXH64's published values. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"
#include "test.h"

/* Streaming stores from 256 elements, so both store flavours are used. */
#define BUNDLE_VARIANT "cpu vw2 nt256"

static char dir[128], bundle[256], scratch[256];
static unsigned char *bundle_data;
static size_t bundle_size;

static leakycl_context *open_cpu(void) {
  char err[LK_ERROR_MAX];
  leakycl_context *ctx = NULL;
  if (leakycl_context_create(test_device_spec(), &ctx, err, sizeof err) != LEAKYCL_OK)
    fprintf(stderr, "  context_create: %s\n", err);
  return ctx;
}

static int set_variant(leakycl_context *ctx, const char *text) {
  leakycl_variant v;
  char err[256];
  if (leakycl_variant_parse(text, &ctx->info, &v, err, sizeof err) != LEAKYCL_OK ||
      leakycl_set_variant(ctx, &v) != LEAKYCL_OK) {
    fprintf(stderr, "  variant %s: %s\n", text, err);
    return -1;
  }
  return 0;
}

static size_t program_count(const leakycl_context *ctx) {
  size_t n = 0;
  for (const lk_program *p = ctx->programs; p; p = p->next)
    n++;
  return n;
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    fclose(f);
  }
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = malloc(*len + 1);
  if (data && fread(data, 1, *len, f) != *len) {
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

/* Loads `path` into a fresh context; returns the status, the message in msg. */
static leakycl_status load_fresh(const char *path, char *msg, size_t msglen) {
  leakycl_context *ctx = open_cpu();
  if (!ctx)
    return LEAKYCL_NO_DEVICE;
  const leakycl_status st = leakycl_load_program_bundle(ctx, path);
  snprintf(msg, msglen, "%s", leakycl_last_error(ctx));
  if (st != LEAKYCL_OK)
    CHECK(leakycl_program_bundle_path(ctx) == NULL); /* refused: context unchanged */
  leakycl_context_release(ctx);
  return st;
}

/* A copy of the bundle with the header line starting `prefix` replaced. */
static void write_with_line(const char *path, const char *prefix, const char *replacement) {
  const unsigned char *at = (const unsigned char *)strstr((const char *)bundle_data, prefix);
  CHECK(at != NULL);
  if (!at)
    return;
  /* The line's own end (prefixes start with the previous line's '\n'). */
  const unsigned char *eol = memchr(at + 1, '\n', bundle_size - (size_t)(at + 1 - bundle_data));
  FILE *f = fopen(path, "wb");
  fwrite(bundle_data, 1, (size_t)(at - bundle_data), f);
  fputs(replacement, f);
  fwrite(eol, 1, bundle_size - (size_t)(eol - bundle_data), f);
  fclose(f);
}

/* ---- compiling ---- */

static void test_compile_writes_every_program(void) {
  leakycl_context *ctx = open_cpu();
  if (!ctx || set_variant(ctx, BUNDLE_VARIANT) != 0)
    return;
  size_t programs = 0;
  CHECK_INT_EQ(leakycl_compile_program_bundle(ctx, bundle, NULL, NULL, &programs), LEAKYCL_OK);
  /* Element-wise: 4 shared + 3 per-channel activations x widths 2 and 1;
   * the reduction: prelu and phased_relu, shared + per channel x widths 2
   * and 1; each plain and streaming; and the packed jobs' program. ulong
   * indices only where 2^31 floats fit one buffer. */
  const size_t wide = ctx->info.max_alloc_bytes / 4 >= ((uint64_t)1 << 31) ? 2 : 1;
  CHECK_INT_EQ(programs, ((4 + 3 * 2) * 2 + 2 * (1 + 2) * 2 + 1) * wide);
  free(bundle_data);
  bundle_data = read_file(bundle, &bundle_size);
  CHECK(bundle_data != NULL);
  if (bundle_data) {
    bundle_data[bundle_size] = '\0';
    CHECK(memcmp(bundle_data, "leakycl-program-bundle 2\nleakycl " LEAKYCL_VERSION "\n", 33) == 0);
    char line[300];
    snprintf(line, sizeof line, "\ndevice %s\n", ctx->info.name);
    CHECK_CONTAINS((const char *)bundle_data, line);
    snprintf(line, sizeof line, "\ndriver %s\n", ctx->info.driver_version);
    CHECK_CONTAINS((const char *)bundle_data, line);
    CHECK_CONTAINS((const char *)bundle_data, "\nvariant cpu vw2 ");
  }
  /* Bad paths: an error with the path, nothing written. */
  CHECK_INT_EQ(leakycl_compile_program_bundle(ctx, "", NULL, NULL, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_compile_program_bundle(ctx, "/proc/leakycl-no/such.bin", NULL, NULL, NULL),
               LEAKYCL_IO_ERROR);
  CHECK_CONTAINS(leakycl_last_error(ctx), "/proc/leakycl-no/such.bin");
  CHECK_INT_EQ(leakycl_compile_program_bundle(NULL, bundle, NULL, NULL, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  leakycl_context_release(ctx);
}

static void test_failed_compile_leaves_old_file(void) {
  leakycl_context *ctx = open_cpu();
  if (!ctx || set_variant(ctx, BUNDLE_VARIANT) != 0)
    return;
  /* Every build fails: the bundle already there stays whole. */
  lk_context_set_extra_build_options(ctx, "-DLK_VW=3");
  CHECK_INT_EQ(leakycl_compile_program_bundle(ctx, bundle, NULL, NULL, NULL), LEAKYCL_BUILD_FAILED);
  size_t len = 0;
  unsigned char *now = read_file(bundle, &len);
  CHECK(now && len == bundle_size && memcmp(now, bundle_data, len) == 0);
  free(now);
  char cmd[400]; /* and no temporary file is left beside it */
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", dir);
  CHECK(system(cmd) != 0);
  leakycl_context_release(ctx);
}

/* ---- loading and running ---- */

typedef struct outputs {
  float *y, *dx, *da, *neg, *mag;
} outputs;

/* Forward, backward (with grads when the activation has them) and reduce of
 * one activation and alpha layout on ctx. */
static void run_all_ops(leakycl_context *ctx, leakycl_activation act, int per_channel,
                        leakycl_view view, const float *x, const float *dy, outputs *o) {
  const float alphas[5] = {0.25f, -0.5f, 2.0f, 0.0f, 0.125f};
  leakycl_params p;
  leakycl_params_init(&p, act);
  if (per_channel) {
    p.alpha = alphas;
    p.alpha_count = view.channels;
  }
  size_t n = 0;
  leakycl_view_count(view, &n);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, view, x, o->y), LEAKYCL_OK);
  const leakycl_grads g = {o->da, o->neg, o->mag, NULL, 0};
  const int grads = leakycl_activation_has_gradient(act);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, view, LEAKYCL_FROM_X, x, dy, o->dx, grads ? &g : NULL),
               LEAKYCL_OK);
  if (grads)
    CHECK_INT_EQ(leakycl_reduce(ctx, &p, view, x, dy, &g), LEAKYCL_OK);
  (void)n;
}

static void test_bundle_matches_source_build(void) {
  leakycl_context *src = open_cpu(), *bin = open_cpu();
  if (!src || !bin || set_variant(src, BUNDLE_VARIANT) != 0)
    return;
  CHECK_INT_EQ(leakycl_load_program_bundle(bin, bundle), LEAKYCL_OK);
  CHECK_STR_EQ(leakycl_program_bundle_path(bin), bundle);
  CHECK_STR_EQ(leakycl_variant_origin(bin), "bundle");
  leakycl_variant vs, vb;
  leakycl_get_variant(src, &vs);
  leakycl_get_variant(bin, &vb);
  CHECK(memcmp(&vs, &vb, sizeof vs) == 0);
  const unsigned hits_before = bin->test.cache_hits;
  /* Views: flat (shared alpha, streaming), per channel with inner even
   * (width 2) and odd (width 1), and a small one under the streaming size. */
  const leakycl_view views[4] = {{1, 1, 4099}, {3, 4, 130}, {2, 5, 77}, {1, 1, 100}};
  const size_t max_n = 4099, bytes = (max_n * 4 + 63) / 64 * 64; /* aligned_alloc's rule */
  float *x = aligned_alloc(64, bytes), *dy = aligned_alloc(64, bytes);
  for (size_t i = 0; i < max_n; i++) {
    x[i] = (float)((int)(i % 29) - 14) * 0.375f;
    dy[i] = (float)((int)(i % 11) - 5) * 0.25f;
  }
  x[7] = NAN;
  x[8] = -INFINITY;
  x[9] = -0.0f;
  outputs a, b;
  float *mem[10];
  for (int k = 0; k < 10; k++)
    mem[k] = aligned_alloc(64, bytes);
  a = (outputs){mem[0], mem[1], mem[2], mem[3], mem[4]};
  b = (outputs){mem[5], mem[6], mem[7], mem[8], mem[9]};
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
    for (int v = 0; v < 4; v++) {
      const int per_channel = views[v].channels > 1;
      if (per_channel && act == LEAKYCL_RELU)
        continue;
      for (int k = 0; k < 10; k++)
        memset(mem[k], k < 5 ? 0x11 : 0x22, max_n * 4);
      run_all_ops(src, (leakycl_activation)act, per_channel, views[v], x, dy, &a);
      run_all_ops(bin, (leakycl_activation)act, per_channel, views[v], x, dy, &b);
      const size_t n = views[v].outer * views[v].channels * views[v].inner;
      const size_t c = views[v].channels;
      const int same = memcmp(a.y, b.y, n * 4) == 0 && memcmp(a.dx, b.dx, n * 4) == 0 &&
                       (!leakycl_activation_has_gradient((leakycl_activation)act) ||
                        (memcmp(a.da, b.da, c * 4) == 0 && memcmp(a.neg, b.neg, c * 4) == 0 &&
                         memcmp(a.mag, b.mag, c * 4) == 0));
      if (!same)
        fprintf(stderr, "  %s view %d: bundle and source results differ\n",
                leakycl_activation_name((leakycl_activation)act), v);
      CHECK(same);
    }
  }
  /* Packed jobs (batch.c) and the warm-up's list come from the bundle too. */
  CHECK_INT_EQ(leakycl_warm_up(bin), LEAKYCL_OK);
  /* Nothing built from source, nothing from the on-disk cache. */
  CHECK_INT_EQ(bin->test.source_builds, 0);
  CHECK_INT_EQ(bin->test.cache_hits, hits_before);
  CHECK_INT_EQ(bin->test.bundle_builds, program_count(bin));
  CHECK(program_count(bin) >= 10);
  CHECK(src->test.source_builds + src->test.cache_hits > 0);
  for (int k = 0; k < 10; k++)
    free(mem[k]);
  free(x);
  free(dy);
  leakycl_context_release(src);
  leakycl_context_release(bin);
}

static void test_missing_program_is_a_clear_error(void) {
  leakycl_context *ctx = open_cpu();
  if (!ctx)
    return;
  CHECK_INT_EQ(leakycl_load_program_bundle(ctx, bundle), LEAKYCL_OK);
  float x[64] = {-1.0f, 2.0f}, y[64];
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  /* Another vector width: no such program, and no source build either. */
  CHECK_INT_EQ(set_variant(ctx, "cpu vw8"), 0);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(64), x, y), LEAKYCL_UNSUPPORTED);
  CHECK_CONTAINS(leakycl_last_error(ctx), "has no program for build options");
  CHECK_CONTAINS(leakycl_last_error(ctx), "-DLK_VW=8");
  CHECK_CONTAINS(leakycl_last_error(ctx), bundle);
  /* ulong indices (not in a bundle for a device under 8 GiB a buffer). */
  CHECK_INT_EQ(set_variant(ctx, BUNDLE_VARIANT), 0);
  if (ctx->info.max_alloc_bytes / 4 < ((uint64_t)1 << 31)) {
    lk_context_force_wide_index(ctx, true);
    CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(64), x, y), LEAKYCL_UNSUPPORTED);
    CHECK_CONTAINS(leakycl_last_error(ctx), "-DLK_IDX=ulong");
    lk_context_force_wide_index(ctx, false);
  }
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(64), x, y), LEAKYCL_OK);
  CHECK(y[0] == 0.0f && y[1] == 2.0f);
  CHECK_INT_EQ(ctx->test.source_builds, 0);
  leakycl_context_release(ctx);
}

static void test_env_loads_at_create(void) {
  setenv("LEAKYCL_PROGRAM_BINARY", bundle, 1);
  leakycl_context *ctx = open_cpu();
  CHECK(ctx != NULL);
  if (ctx) {
    CHECK_STR_EQ(leakycl_program_bundle_path(ctx), bundle);
    CHECK_STR_EQ(leakycl_variant_origin(ctx), "bundle");
  }
  leakycl_context_release(ctx);
  setenv("LEAKYCL_PROGRAM_BINARY", dir, 1); /* a directory: create fails */
  char err[LK_ERROR_MAX] = "";
  ctx = NULL;
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err), LEAKYCL_IO_ERROR);
  CHECK(ctx == NULL);
  CHECK_CONTAINS(err, "LEAKYCL_PROGRAM_BINARY");
  CHECK_CONTAINS(err, "directory");
  unsetenv("LEAKYCL_PROGRAM_BINARY");
}

/* ---- refused bundles ---- */

static void test_mismatch_names_the_field(void) {
  static const struct {
    const char *prefix, *replacement, *named;
  } cases[] = {
      {"\ndevice ", "\ndevice Some FPGA", "device \"Some FPGA\""},
      {"\ndriver ", "\ndriver 99.9", "driver version \"99.9\""},
      {"\nsource ", "\nsource 0123456789abcdef", "kernel source hash \"0123456789abcdef\""},
      {"\nleakycl ", "\nleakycl 9.9.9", "leakycl version \"9.9.9\""},
      {"\nplatform ", "\nplatform Other", "platform \"Other\""},
      {"\nversion ", "\nversion OpenCL 1.0", "device version \"OpenCL 1.0\""},
  };
  char msg[LK_ERROR_MAX];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_with_line(scratch, cases[i].prefix, cases[i].replacement);
    CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_UNSUPPORTED);
    CHECK_CONTAINS(msg, cases[i].named);
    CHECK_CONTAINS(msg, scratch);
    CHECK(strchr(msg, '\n') == NULL);
  }
  /* A variant this device cannot run is refused too. */
  write_with_line(scratch, "\nvariant ", "\nvariant cpu vw3");
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(msg, "variant");
}

static void test_damaged_files_are_errors(void) {
  char msg[LK_ERROR_MAX];
  CHECK_INT_EQ(load_fresh(dir, msg, sizeof msg), LEAKYCL_IO_ERROR);
  CHECK_CONTAINS(msg, "directory");
  snprintf(scratch + strlen(scratch), 8, ".none");
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_IO_ERROR);
  scratch[strlen(scratch) - 5] = '\0';
  /* A FIFO: refused at once, never an open that waits for a writer. */
  snprintf(scratch + strlen(scratch), 8, ".fifo");
  CHECK(mkfifo(scratch, 0600) == 0);
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_IO_ERROR);
  CHECK_CONTAINS(msg, "not a regular file");
  unlink(scratch);
  scratch[strlen(scratch) - 5] = '\0';
  write_file(scratch, "", 0);
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(msg, "empty");
  write_file(scratch, "GIF89a", 6);
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(msg, "not a leakycl program bundle");
  leakycl_context *ctx = open_cpu();
  CHECK_INT_EQ(leakycl_load_program_bundle(ctx, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_load_program_bundle(NULL, bundle), LEAKYCL_INVALID_ARGUMENT);
  leakycl_context_release(ctx);

  /* Every cut inside the header and the first entry's line, then cuts
   * through the binaries: all refused (a bundle is whole or nothing). */
  const char *first = strstr((const char *)bundle_data, "\nprogram ");
  const size_t head = first ? (size_t)(first - (const char *)bundle_data) + 120 : 400;
  size_t refused = 0, tried = 0;
  for (size_t len = 1; len < bundle_size; len += len < head ? 1 : bundle_size / 23) {
    write_file(scratch, bundle_data, len);
    tried++;
    refused += load_fresh(scratch, msg, sizeof msg) == LEAKYCL_INVALID_ARGUMENT;
  }
  CHECK_INT_EQ(refused, tried);
  /* One byte too many. */
  FILE *f = fopen(scratch, "wb");
  fwrite(bundle_data, 1, bundle_size, f);
  fputc('x', f);
  fclose(f);
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(msg, "after its last program");
  /* Counts and lengths that lie. */
  write_with_line(scratch, "\nprograms ", "\nprograms 999");
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  write_with_line(scratch, "\nprograms ", "\nprograms 18446744073709551617");
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  write_with_line(scratch, "\nprogram ", "\nprogram 99999999999 -cl-std=CL1.2");
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  write_with_line(scratch, "\nprogram ", "\nprogram -1 x");
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);

  /* Garbled: random bytes over the text part (seeded). Whatever the
   * outcome, no crash, and a refusal says why. */
  unsigned char *copy = malloc(bundle_size);
  unsigned seed = 12345;
  size_t errors = 0;
  for (int round = 0; round < 60; round++) {
    memcpy(copy, bundle_data, bundle_size);
    for (int k = 0; k < 4; k++) {
      seed = seed * 1103515245u + 12345u;
      const size_t at = (seed >> 8) % head;
      seed = seed * 1103515245u + 12345u;
      copy[at] = (unsigned char)(seed >> 16);
    }
    write_file(scratch, copy, bundle_size);
    if (load_fresh(scratch, msg, sizeof msg) != LEAKYCL_OK) {
      errors++;
      CHECK(msg[0] != '\0');
    }
  }
  CHECK(errors > 30);
  free(copy);
}

/* ---- damaged binaries: refused at load, before a driver sees them ---- */

/* Where entry k's binary starts in bundle_data, its length, and where its
 * "program" line starts; -1 when there is no such entry. */
static long entry_at(size_t k, size_t *len, size_t *line_at) {
  const char *text = (const char *)bundle_data;
  const char *line = strstr(text, "\nprogram ");
  for (size_t i = 0; line && i < k; i++) {
    const size_t n = strtoull(line + 9, NULL, 10);
    const char *bin = strchr(line + 1, '\n') + 1;
    line = bin + n; /* the '\n' after the binary */
    if (strncmp(line, "\nprogram ", 9) != 0)
      return -1;
  }
  if (!line)
    return -1;
  *len = strtoull(line + 9, NULL, 10);
  *line_at = (size_t)(line + 1 - text);
  return (long)(strchr(line + 1, '\n') + 1 - text);
}

/* Loads a copy of the bundle with `edit` applied on a context that has run
 * a call already: refused with INVALID_ARGUMENT and a message naming the
 * file, entry k and its checksum; the context keeps its variant and its
 * programs and still computes. */
static void expect_damaged_entry(unsigned char *copy, size_t k, const char *what) {
  write_file(scratch, copy, bundle_size);
  leakycl_context *ctx = open_cpu();
  if (!ctx)
    return;
  float x[8] = {-2, -1, 0, 1, 2, 3, -4, 5}, y[8];
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(8), x, y), LEAKYCL_OK);
  leakycl_variant before, after;
  leakycl_get_variant(ctx, &before);
  const char *origin = leakycl_variant_origin(ctx);
  const size_t programs = program_count(ctx);
  const leakycl_status st = leakycl_load_program_bundle(ctx, scratch);
  if (st != LEAKYCL_INVALID_ARGUMENT)
    fprintf(stderr, "  %s: %s: %s\n", what, leakycl_status_name(st), leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  char entry[64];
  snprintf(entry, sizeof entry, "program %zu of ", k + 1);
  CHECK_CONTAINS(leakycl_last_error(ctx), scratch);
  CHECK_CONTAINS(leakycl_last_error(ctx), entry);
  CHECK_CONTAINS(leakycl_last_error(ctx), "checksum");
  CHECK_CONTAINS(leakycl_last_error(ctx), "-DLK_ACT=");
  CHECK(strchr(leakycl_last_error(ctx), '\n') == NULL);
  CHECK(leakycl_program_bundle_path(ctx) == NULL);
  leakycl_get_variant(ctx, &after);
  CHECK(memcmp(&before, &after, sizeof before) == 0);
  CHECK_STR_EQ(leakycl_variant_origin(ctx), origin);
  CHECK_INT_EQ(program_count(ctx), programs);
  memset(y, 0, sizeof y);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(8), x, y), LEAKYCL_OK);
  CHECK(y[0] == 0.0f && y[3] == 1.0f && y[7] == 5.0f);
  leakycl_context_release(ctx);
}

static void test_damaged_binary_refused_at_load(void) {
  size_t len = 0, line = 0, last_len = 0, last_line = 0, count = 0;
  while (entry_at(count, &last_len, &last_line) >= 0)
    count++;
  CHECK(count >= 10);
  unsigned char *copy = malloc(bundle_size);
  /* One flipped byte in the middle of the first, a middle and the last
   * binary (the last one's final byte too): each is named. */
  const size_t picks[3] = {0, count / 2, count - 1};
  for (int i = 0; i < 3; i++) {
    const long at = entry_at(picks[i], &len, &line);
    CHECK(at >= 0);
    memcpy(copy, bundle_data, bundle_size);
    copy[at + (long)(len / 2)] ^= 0x01;
    expect_damaged_entry(copy, picks[i], "flipped byte");
  }
  const long last = entry_at(count - 1, &len, &line);
  memcpy(copy, bundle_data, bundle_size);
  copy[last + (long)len - 1] ^= 0x80;
  expect_damaged_entry(copy, count - 1, "last byte");
  /* The second half of the first binary zeroed (PoCL asserted on that once
   * it reached the driver; rusticl panicked). */
  const long first = entry_at(0, &len, &line);
  memcpy(copy, bundle_data, bundle_size);
  memset(copy + first + (long)(len / 2), 0, len - len / 2);
  expect_damaged_entry(copy, 0, "zeroed half");
  /* Its magic zeroed. */
  memcpy(copy, bundle_data, bundle_size);
  memset(copy + first, 0, 64);
  expect_damaged_entry(copy, 0, "zeroed magic");
  /* A checksum that lies about a whole binary: refused the same way. */
  memcpy(copy, bundle_data, bundle_size);
  char *sum = strchr((char *)copy + line + 8, ' ') + 1;
  sum[0] = sum[0] == '0' ? '1' : '0';
  expect_damaged_entry(copy, 0, "wrong checksum");
  /* A checksum that is not 16 hex digits: damaged. */
  memcpy(copy, bundle_data, bundle_size);
  sum = strchr((char *)copy + line + 8, ' ') + 1;
  sum[3] = 'g';
  write_file(scratch, copy, bundle_size);
  char msg[LK_ERROR_MAX];
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(msg, "program 1 of");
  free(copy);
}

/* A format 1 bundle (no checksums) is refused, saying to compile again. */
static void test_old_format_refused(void) {
  write_with_line(scratch, "leakycl-program-bundle ", "leakycl-program-bundle 1");
  char msg[LK_ERROR_MAX];
  CHECK_INT_EQ(load_fresh(scratch, msg, sizeof msg), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(msg, "format 1");
  CHECK_CONTAINS(msg, "leakycl compile");
  CHECK_CONTAINS(msg, scratch);
}

/* A whole binary that fails its build is a BUILD_FAILED naming the bundle
 * when the program is first used, never a crash or a source build: made
 * here by LEAKYCL_FAULT=build on every device; and with a real binary the
 * driver rejects (its magic zeroed, the checksum made to match) on PoCL
 * only, which refuses such a binary cleanly: rusticl ends the process on
 * it, which is why a damaged entry never gets that far. */
static void expect_build_failed(const char *path) {
  leakycl_context *ctx = open_cpu();
  if (!ctx)
    return;
  CHECK_INT_EQ(leakycl_load_program_bundle(ctx, path), LEAKYCL_OK);
  float x[16] = {0}, y[16];
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU); /* the first program is relu's */
  const leakycl_status st = leakycl_forward(ctx, &p, leakycl_view_flat(16), x, y);
  CHECK_INT_EQ(st, LEAKYCL_BUILD_FAILED);
  CHECK_CONTAINS(leakycl_last_error(ctx), path);
  CHECK_INT_EQ(ctx->test.source_builds, 0);
  leakycl_context_release(ctx);
}

static void test_rejected_binary_fails_its_build(void) {
  setenv("LEAKYCL_FAULT", "build", 1);
  expect_build_failed(bundle);
  unsetenv("LEAKYCL_FAULT");

  leakycl_context *probe = open_cpu();
  const bool pocl = probe && strstr(probe->info.platform_name, "Portable Computing Language");
  leakycl_context_release(probe);
  size_t len = 0, line = 0;
  const long first = entry_at(0, &len, &line);
  if (!pocl || first < 0)
    return;
  unsigned char *copy = malloc(bundle_size);
  memcpy(copy, bundle_data, bundle_size);
  memset(copy + first, 0, 64);
  char *sum = strchr((char *)copy + line + 8, ' ') + 1, hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)lk_binary_checksum(copy + first, len));
  memcpy(sum, hex, 16);
  write_file(scratch, copy, bundle_size);
  free(copy);
  expect_build_failed(scratch);
}

/* XXH64's published values, and that zeroed blocks and single flipped bits
 * anywhere in a buffer change it. */
static void test_checksum_values(void) {
  CHECK(lk_binary_checksum("", 0) == 0xEF46DB3751D8E999ull);
  CHECK(lk_binary_checksum("a", 1) == 0xD24EC4F1A98C6E5Bull);
  CHECK(lk_binary_checksum("abc", 3) == 0x44BC2CF5AD770999ull);
  CHECK(lk_binary_checksum("Nobody inspects the spammish repetition", 39) == 0xFBCEA83C8A378BF1ull);
  enum { N = 4096 };
  unsigned char *buf = malloc(N);
  for (size_t i = 0; i < N; i++)
    buf[i] = (unsigned char)(i * 131u + 7u);
  const uint64_t good = lk_binary_checksum(buf, N);
  size_t same = 0;
  for (size_t bit = 0; bit < 8 * N; bit += 13) {
    buf[bit / 8] ^= (unsigned char)(1u << bit % 8);
    same += lk_binary_checksum(buf, N) == good;
    buf[bit / 8] ^= (unsigned char)(1u << bit % 8);
  }
  unsigned char *zeroed = malloc(N);
  for (size_t at = 0; at + 64 <= N; at += 64) {
    memcpy(zeroed, buf, N);
    memset(zeroed + at, 0, 64);
    same += lk_binary_checksum(zeroed, N) == good;
  }
  CHECK_INT_EQ(same, 0);
  CHECK(lk_binary_checksum(buf, N - 1) != good);
  free(zeroed);
  free(buf);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/leakycl-test-binaries-XXXXXX");
  if (!mkdtemp(dir)) {
    printf("FAIL mkdtemp\n");
    return 1;
  }
  snprintf(bundle, sizeof bundle, "%s/cpu.lkbin", dir);
  snprintf(scratch, sizeof scratch, "%s/edited.lkbin", dir);
  unsetenv("LEAKYCL_PROGRAM_BINARY");
  unsetenv("LEAKYCL_VARIANT");
  RUN_TEST(test_compile_writes_every_program);
  if (bundle_data) {
    RUN_TEST(test_failed_compile_leaves_old_file);
    RUN_TEST(test_bundle_matches_source_build);
    RUN_TEST(test_missing_program_is_a_clear_error);
    RUN_TEST(test_env_loads_at_create);
    RUN_TEST(test_mismatch_names_the_field);
    RUN_TEST(test_damaged_files_are_errors);
    RUN_TEST(test_damaged_binary_refused_at_load);
    RUN_TEST(test_old_format_refused);
    RUN_TEST(test_rejected_binary_fails_its_build);
  }
  RUN_TEST(test_checksum_values);
  free(bundle_data);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    printf("# could not remove %s\n", dir);
  return TEST_SUMMARY();
}
