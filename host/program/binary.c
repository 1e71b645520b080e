/* binary.c - what the on-disk program cache (cache.c) and
 * offline-compiled program bundles (bundle.c) share: the text that
 * identifies what a binary was built for, the checksum each stored binary
 * carries, reading a built program's binary, building a program from a
 * binary, and reporting a failed build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"

int lk_binary_identity(const leakycl_device_info *d, const char *options, char *buf, size_t len) {
  /* The options line sits where the cache's key always had it: the key
   * text is the same in every cache format (the magic line tells them
   * apart). */
  int w = snprintf(buf, len,
                   "leakycl %s\nsource %016llx\n%s%s%splatform %s\ndevice %s\nversion %s\n"
                   "driver %s\n",
                   LEAKYCL_VERSION, lk_kernel_source_hash, options ? "options " : "",
                   options ? options : "", options ? "\n" : "", d->platform_name, d->name,
                   d->version, d->driver_version);
  return w > 0 && (size_t)w < len ? 0 : -1;
}

/* ---- the checksum: XXH64 (seed 0) ----
 * Drivers trust the bytes handed to clCreateProgramWithBinary: PoCL 3.1
 * asserts or segfaults on a binary whose second half is zeroed, rusticl
 * panics ("unknown version"); either takes the whole process down. So every
 * stored binary carries a 64-bit hash that is checked before a driver sees
 * it. XXH64 mixes every 8-byte lane through multiply-rotate rounds with
 * length folded in, so zeroed, cut or shifted blocks change it (FNV-1a, one
 * byte at a time with a single multiply, is weak against runs of zeros).
 * It is a published algorithm with published test values (tests check
 * them), computed here byte-order independently. */
#define LK_XXH_P1 0x9E3779B185EBCA87ull
#define LK_XXH_P2 0xC2B2AE3D27D4EB4Full
#define LK_XXH_P3 0x165667B19E3779F9ull
#define LK_XXH_P4 0x85EBCA77C2B2AE63ull
#define LK_XXH_P5 0x27D4EB2F165667C5ull

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t read_le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static uint64_t read_le32(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static uint64_t xxh_round(uint64_t acc, uint64_t input) {
  acc += input * LK_XXH_P2;
  return rotl64(acc, 31) * LK_XXH_P1;
}

static uint64_t xxh_merge(uint64_t h, uint64_t v) {
  h ^= xxh_round(0, v);
  return h * LK_XXH_P1 + LK_XXH_P4;
}

uint64_t lk_binary_checksum(const void *data, size_t len) {
  const unsigned char *p = data;
  size_t left = len;
  uint64_t h;
  if (left >= 32) {
    uint64_t v1 = LK_XXH_P1 + LK_XXH_P2, v2 = LK_XXH_P2, v3 = 0, v4 = 0 - LK_XXH_P1;
    for (; left >= 32; p += 32, left -= 32) {
      v1 = xxh_round(v1, read_le64(p));
      v2 = xxh_round(v2, read_le64(p + 8));
      v3 = xxh_round(v3, read_le64(p + 16));
      v4 = xxh_round(v4, read_le64(p + 24));
    }
    h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    h = xxh_merge(h, v1);
    h = xxh_merge(h, v2);
    h = xxh_merge(h, v3);
    h = xxh_merge(h, v4);
  } else {
    h = LK_XXH_P5;
  }
  h += (uint64_t)len;
  for (; left >= 8; p += 8, left -= 8) {
    h ^= xxh_round(0, read_le64(p));
    h = rotl64(h, 27) * LK_XXH_P1 + LK_XXH_P4;
  }
  if (left >= 4) {
    h ^= read_le32(p) * LK_XXH_P1;
    h = rotl64(h, 23) * LK_XXH_P2 + LK_XXH_P3;
    p += 4;
    left -= 4;
  }
  for (; left > 0; p++, left--) {
    h ^= *p * LK_XXH_P5;
    h = rotl64(h, 11) * LK_XXH_P1;
  }
  h ^= h >> 33;
  h *= LK_XXH_P2;
  h ^= h >> 29;
  h *= LK_XXH_P3;
  h ^= h >> 32;
  return h;
}

unsigned char *lk_binary_of(cl_program program, size_t max_len, size_t *len) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
      size == 0 || size > max_len)
    return NULL;
  unsigned char *binary = malloc(size);
  unsigned char *bins[1] = {binary};
  if (!binary ||
      clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
    free(binary);
    return NULL;
  }
  *len = size;
  return binary;
}

cl_int lk_program_from_binary(leakycl_context *ctx, const char *options,
                              const unsigned char *binary, size_t len, cl_program *out) {
  cl_int rc, binary_rc = CL_SUCCESS;
  const unsigned char *bins[1] = {binary};
  cl_program program =
      clCreateProgramWithBinary(ctx->cl_ctx, 1, &ctx->device, &len, bins, &binary_rc, &rc);
  if (rc == CL_SUCCESS && binary_rc != CL_SUCCESS)
    rc = binary_rc;
  /* A binary still needs clBuildProgram (it may finish code generation). */
  if (rc == CL_SUCCESS)
    rc = clBuildProgram(program, 1, &ctx->device, options, NULL, NULL);
  if (rc != CL_SUCCESS) {
    if (program)
      clReleaseProgram(program);
    return rc;
  }
  *out = program;
  return CL_SUCCESS;
}

/* How much of a long build log a message keeps: its head, where compilers
 * put the first error (NVIDIA and rusticl go on for pages after it), and its
 * tail, where others summarise. A log that fits is kept whole. */
#define LK_LOG_HEAD 2000
#define LK_LOG_TAIL 1500
/* Room left in the message for lk_fail's own suffix (LEAKYCL_FAULT). */
#define LK_LOG_RESERVE 48

leakycl_status lk_build_failure(leakycl_context *ctx, cl_program program, cl_int rc,
                                const char *what) {
  size_t len = 0;
  char *log = NULL;
  if (program &&
      clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) ==
          CL_SUCCESS &&
      len > 0 && (log = malloc(len + 1)) != NULL) {
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) !=
        CL_SUCCESS)
      len = 0;
    log[len] = '\0';
  }
  const char *text = log && *log ? log : "(no build log)";
  char prefix[LK_ERROR_MAX];
  const int w =
      snprintf(prefix, sizeof prefix, "%s: %s (%d): ", what, leakycl_cl_error_name(rc), (int)rc);
  const size_t used = w > 0 ? (size_t)w : 0;
  /* What the message has room for after the prefix, and the log cut to it:
   * head and tail in the proportion above, with the cut marked. */
  const size_t room =
      used + LK_LOG_RESERVE < LK_ERROR_MAX ? LK_ERROR_MAX - LK_LOG_RESERVE - used : 0;
  const size_t text_len = strlen(text);
  char excerpt[LK_ERROR_MAX];
  if (text_len < room) {
    snprintf(excerpt, sizeof excerpt, "%s", text);
  } else {
    char marker[64];
    /* The marker's own length depends on the count; its widest form bounds it. */
    const size_t marker_max =
        (size_t)snprintf(marker, sizeof marker, "\n[... %zu bytes ...]\n", (size_t)-1);
    const size_t keep = room > marker_max + 1 ? room - marker_max - 1 : 0;
    size_t head = keep * LK_LOG_HEAD / (LK_LOG_HEAD + LK_LOG_TAIL);
    if (head > LK_LOG_HEAD)
      head = LK_LOG_HEAD;
    size_t tail = keep - head;
    if (tail > LK_LOG_TAIL)
      tail = LK_LOG_TAIL;
    snprintf(marker, sizeof marker, "\n[... %zu bytes ...]\n", text_len - head - tail);
    snprintf(excerpt, sizeof excerpt, "%.*s%s%s", (int)head, text, marker, text + text_len - tail);
  }
  const leakycl_status st = lk_fail(&ctx->error, LEAKYCL_BUILD_FAILED, "%s%s", prefix, excerpt);
  free(log);
  return st;
}
