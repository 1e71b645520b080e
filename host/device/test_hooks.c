/* test_hooks.c - switches tests use to reach paths a device would not take
 * by itself: explicit copies on a shared-memory device, ulong indices on
 * small tensors, small packed segments mapped, a build that fails on
 * purpose. */
#include <stdio.h>

#include "device/device.h"
#include "program/program.h"

void lk_context_set_extra_build_options(leakycl_context *ctx, const char *options) {
  if (!ctx)
    return;
  snprintf(ctx->test.extra_build_options, sizeof ctx->test.extra_build_options, "%s",
           options ? options : "");
  lk_programs_release(ctx);
}

void lk_context_force_wide_index(leakycl_context *ctx, bool wide) {
  if (ctx)
    ctx->test.force_wide_index = wide;
}

void lk_context_force_mapped(leakycl_context *ctx, bool mapped) {
  if (ctx)
    ctx->test.force_mapped = mapped;
}

void lk_context_set_zero_copy(leakycl_context *ctx, bool zero_copy) {
  if (ctx)
    ctx->zero_copy = zero_copy && ctx->info.unified_memory;
}
