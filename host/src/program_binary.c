/* program_binary.c - what the on-disk program cache (program_cache.c) and
 * offline-compiled program bundles (program_bundle.c) share: the text that
 * identifies what a binary was built for, reading a built program's binary,
 * building a program from a binary, and reporting a failed build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int lk_binary_identity(const leakycl_device_info *d, const char *options, char *buf, size_t len) {
  /* The options line sits where the cache's key always had it, so cache
   * entries written before this file existed still match. */
  int w = snprintf(buf, len,
                   "leakycl %s\nsource %016llx\n%s%s%splatform %s\ndevice %s\nversion %s\n"
                   "driver %s\n",
                   LEAKYCL_VERSION, lk_kernel_source_hash, options ? "options " : "",
                   options ? options : "", options ? "\n" : "", d->platform_name, d->name,
                   d->version, d->driver_version);
  return w > 0 && (size_t)w < len ? 0 : -1;
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
  /* The errors come last in a log: keep its tail. */
  const size_t keep = 3000;
  const char *tail = log && *log ? log : "(no build log)";
  if (strlen(tail) > keep)
    tail += strlen(tail) - keep;
  leakycl_status st = lk_fail(ctx, LEAKYCL_BUILD_FAILED, "%s: %s (%d): %s", what,
                              leakycl_cl_error_name(rc), (int)rc, tail);
  free(log);
  return st;
}
