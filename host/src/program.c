/* program.c - builds the embedded kernel source for one set of variant
 * macros, once per (device, options), and keeps the programs and their
 * kernels on the context; binaries come from and go to the on-disk cache
 * (program_cache.c). A failed build reports the build log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const kernel_names[LK_KERNEL_COUNT] = {
    [LK_KERNEL_FORWARD] = "lk_forward",          [LK_KERNEL_BACKWARD] = "lk_backward",
    [LK_KERNEL_PARTIALS] = "lk_reduce_partials", [LK_KERNEL_FINISH] = "lk_reduce_finish",
    [LK_KERNEL_BATCH_TILES] = "lk_batch_tiles",  [LK_KERNEL_BATCH_FINISH] = "lk_batch_finish",
};

static void program_free(lk_program *p) {
  for (int k = 0; k < LK_KERNEL_COUNT; k++) {
    if (p->kernels[k])
      clReleaseKernel(p->kernels[k]);
  }
  if (p->program)
    clReleaseProgram(p->program);
  free(p);
}

void lk_programs_release(leakycl_context *ctx) {
  lk_program *p = ctx->programs;
  while (p) {
    lk_program *next = p->next;
    program_free(p);
    p = next;
  }
  ctx->programs = NULL;
}

/* Reports a failed build with the tail of its log (the errors come last). */
static leakycl_status build_failure(leakycl_context *ctx, cl_program program, cl_int rc,
                                    const char *options) {
  size_t len = 0;
  char *log = NULL;
  if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) ==
          CL_SUCCESS &&
      len > 0 && (log = malloc(len + 1)) != NULL) {
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) !=
        CL_SUCCESS)
      len = 0;
    log[len] = '\0';
  }
  const size_t keep = 3000;
  const char *tail = log ? log : "(no build log)";
  if (strlen(tail) > keep)
    tail += strlen(tail) - keep;
  leakycl_status st = lk_fail(ctx, LEAKYCL_BUILD_FAILED, "clBuildProgram(%s): %s (%d): %s", options,
                              leakycl_cl_error_name(rc), (int)rc, tail);
  free(log);
  return st;
}

leakycl_status lk_program_get(leakycl_context *ctx, leakycl_activation act, unsigned vw,
                              bool per_channel, bool wide_index, lk_program **out) {
  return lk_program_get_streaming(ctx, act, vw, per_channel, wide_index, false, out);
}

leakycl_status lk_program_get_streaming(leakycl_context *ctx, leakycl_activation act, unsigned vw,
                                        bool per_channel, bool wide_index, bool streaming,
                                        lk_program **out) {
  return lk_program_get_typed(ctx, act, vw, per_channel, wide_index, streaming, LEAKYCL_FLOAT32,
                              out);
}

leakycl_status lk_program_get_typed(leakycl_context *ctx, leakycl_activation act, unsigned vw,
                                    bool per_channel, bool wide_index, bool streaming,
                                    leakycl_dtype dtype, lk_program **out) {
  char options[256];
  /* No -cl-fast-relaxed-math or -cl-finite-math-only: NaN, Inf and -0 must
   * survive exactly as the semantics table says. */
  snprintf(options, sizeof options,
           "-cl-std=CL1.2 -DLK_ACT=%d -DLK_VW=%u -DLK_STRATEGY=%d -DLK_PER_CHANNEL=%d "
           "-DLK_IDX=%s -DLK_NT=%d -DLK_DTYPE=%d %s",
           (int)act, vw, (int)ctx->variant.strategy, per_channel ? 1 : 0,
           wide_index ? "ulong" : "uint", streaming ? 1 : 0, (int)dtype, ctx->extra_build_options);
  for (lk_program *p = ctx->programs; p; p = p->next) {
    if (strcmp(p->options, options) == 0) {
      *out = p;
      return LEAKYCL_OK;
    }
  }
  lk_program *p = calloc(1, sizeof *p);
  if (!p)
    return lk_fail(ctx, LEAKYCL_OUT_OF_MEMORY, "no memory for a program");
  memcpy(p->options, options, sizeof options);
  cl_int rc;
  leakycl_status st;
  const bool fault = lk_fault_take(ctx, LK_FAULT_BUILD);
  p->program = fault ? NULL : lk_cache_load(ctx, options);
  if (!p->program) {
    const char *src = (const char *)lk_kernel_source;
    p->program = clCreateProgramWithSource(ctx->cl_ctx, 1, &src, &lk_kernel_source_len, &rc);
    if (rc != CL_SUCCESS) {
      st = lk_fail_cl(ctx, rc, "clCreateProgramWithSource");
      goto fail;
    }
    rc = fault ? CL_BUILD_PROGRAM_FAILURE
               : clBuildProgram(p->program, 1, &ctx->device, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = build_failure(ctx, p->program, rc, options);
      goto fail;
    }
    lk_cache_store(ctx, options, p->program);
  }
  for (int k = 0; k < LK_KERNEL_COUNT; k++) {
    p->kernels[k] = clCreateKernel(p->program, kernel_names[k], &rc);
    if (rc != CL_SUCCESS) {
      st = lk_fail_cl(ctx, rc, kernel_names[k]);
      goto fail;
    }
    if (clGetKernelWorkGroupInfo(p->kernels[k], ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof p->max_work_group[k], &p->max_work_group[k],
                                 NULL) != CL_SUCCESS)
      p->max_work_group[k] = 0;
  }
  p->next = ctx->programs;
  ctx->programs = p;
  *out = p;
  return LEAKYCL_OK;
fail:
  program_free(p);
  return st;
}
