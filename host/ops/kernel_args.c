/* kernel_args.c - what every launcher (launch.c, batch.c) does the same way:
 * set a kernel's arguments in order (the first failing clSetKernelArg is
 * remembered and reported once, at the enqueue), size the launch, and
 * enqueue it. */
#include <stdio.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/ops.h"
#include "program/program.h"

void lk_arg(lk_args *a, size_t size, const void *value) {
  if (a->rc == CL_SUCCESS)
    a->rc = clSetKernelArg(a->kernel, a->next, size, value);
  a->next++;
}

void lk_arg_idx(lk_args *a, bool wide, size_t v) {
  if (wide) {
    const cl_ulong w = v;
    lk_arg(a, sizeof w, &w);
  } else {
    const cl_uint u = (cl_uint)v;
    lk_arg(a, sizeof u, &u);
  }
}

void lk_arg_mem(lk_args *a, cl_mem m) { lk_arg(a, sizeof m, &m); }
void lk_arg_float(lk_args *a, float f) { lk_arg(a, sizeof f, &f); }
void lk_arg_uint(lk_args *a, cl_uint u) { lk_arg(a, sizeof u, &u); }

leakycl_status lk_enqueue_args(leakycl_context *ctx, const lk_args *a, size_t global, size_t local,
                               const char *kernel_name) {
  char what[96];
  if (a->rc != CL_SUCCESS) {
    snprintf(what, sizeof what, "clSetKernelArg(%s)", kernel_name);
    return lk_fail_cl(&ctx->error, a->rc, what);
  }
  const cl_int rc =
      lk_fault_take(ctx, LK_FAULT_ENQUEUE)
          ? CL_OUT_OF_RESOURCES
          : clEnqueueNDRangeKernel(ctx->queue, a->kernel, 1, NULL, &global, &local, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    return LEAKYCL_OK;
  snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", kernel_name);
  return lk_fail_cl(&ctx->error, rc, what);
}

size_t lk_round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

size_t lk_kernel_wg(const leakycl_context *ctx, const lk_program *prog, int which) {
  size_t wg = ctx->variant.work_group_size;
  const size_t kmax = prog->max_work_group[which];
  while (kmax > 0 && wg > kmax)
    wg /= 2;
  return wg > 0 ? wg : 1;
}

/* Tensors of 2^31 elements or more index with ulong; smaller ones with uint,
 * which is faster on GPUs. */
bool lk_needs_wide_index(const leakycl_context *ctx, size_t n) {
  return ctx->test.force_wide_index || n >= ((size_t)1 << 31);
}
