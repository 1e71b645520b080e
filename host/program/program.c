/* program.c - builds the embedded kernel source for one set of variant
 * macros, once per (device, options), and keeps the programs and their
 * kernels on the context. The one place that chooses where a program comes
 * from: the on-disk cache (cache.c) or a source build stored there, or only
 * a loaded program bundle (bundle.c; leakycl_load_program_bundle switches
 * to it). A cached program whose kernels cannot be made is a miss, rebuilt
 * from source. A failed build reports the build log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"

static const char *const kernel_names[LK_KERNEL_COUNT] = {
    [LK_KERNEL_FORWARD] = "lk_forward",           [LK_KERNEL_BACKWARD] = "lk_backward",
    [LK_KERNEL_PARTIALS] = "lk_reduce_partials",  [LK_KERNEL_FINISH] = "lk_reduce_finish",
    [LK_KERNEL_BATCH_TILES] = "lk_batch_tiles",   [LK_KERNEL_BATCH_FINISH] = "lk_batch_finish",
    [LK_KERNEL_FORWARD_MASK] = "lk_forward_mask", [LK_KERNEL_BACKWARD_MASK] = "lk_backward_mask",
};

const char *lk_kernel_name(int which) {
  return which >= 0 && which < LK_KERNEL_COUNT ? kernel_names[which] : "?";
}

/* Releases the kernels and the program (p itself stays). */
static void program_clear(lk_program *p) {
  for (int k = 0; k < LK_KERNEL_COUNT; k++) {
    if (p->kernels[k])
      clReleaseKernel(p->kernels[k]);
    p->kernels[k] = NULL;
  }
  if (p->program)
    clReleaseProgram(p->program);
  p->program = NULL;
}

static void program_free(lk_program *p) {
  program_clear(p);
  free(p);
}

/* Creates the family's kernels of p->program and reads their work-group
 * limits. On failure, *failed names the kernel and *rc says why. */
static cl_int make_kernels(leakycl_context *ctx, lk_program *p, lk_family family,
                           const char **failed) {
  for (int k = 2 * (int)family; k < 2 * (int)family + 2; k++) {
    cl_int rc;
    p->kernels[k] = clCreateKernel(p->program, kernel_names[k], &rc);
    if (rc != CL_SUCCESS) {
      p->kernels[k] = NULL;
      *failed = kernel_names[k];
      return rc;
    }
    if (clGetKernelWorkGroupInfo(p->kernels[k], ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof p->max_work_group[k], &p->max_work_group[k],
                                 NULL) != CL_SUCCESS)
      p->max_work_group[k] = 0;
  }
  return CL_SUCCESS;
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

void lk_program_options(const leakycl_context *ctx, const lk_program_key *key, char *buf,
                        size_t len) {
  /* Packed jobs carry their activation, alpha layout and stores at run
   * time: one program serves them all. */
  const bool batch = key->family == LK_FAMILY_BATCH;
  /* dbeta exists in phased_relu's reduction alone (common.cl checks). */
  const bool dbeta =
      key->dbeta && key->family == LK_FAMILY_REDUCE && key->activation == LEAKYCL_PHASED_RELU;
  /* No -cl-fast-relaxed-math or -cl-finite-math-only: NaN, Inf and -0 must
   * survive exactly as the semantics table says. */
  snprintf(buf, len,
           "-cl-std=CL1.2 -DLK_FAMILY=%d -DLK_ACT=%d -DLK_VW=%u -DLK_STRATEGY=%d "
           "-DLK_PER_CHANNEL=%d -DLK_IDX=%s -DLK_NT=%d -DLK_DTYPE=%d -DLK_CONV=%d -DLK_DBETA=%d %s",
           (int)key->family, batch ? 0 : (int)key->activation, key->vector_width,
           (int)ctx->variant.strategy, !batch && key->per_channel ? 1 : 0,
           key->wide_index ? "ulong" : "uint", !batch && key->streaming ? 1 : 0, (int)key->dtype,
           (int)key->conventions, dbeta ? 1 : 0, ctx->test.extra_build_options);
}

/* The program from the on-disk cache when its entry is whole and usable
 * (every kernel made: a binary the driver loads may still lack them, as
 * rusticl's damaged ones did), else false with p cleared and the entry
 * dropped, so that the source build stores it again. */
static bool load_cached(leakycl_context *ctx, lk_program *p, lk_family family) {
  p->program = lk_cache_load(ctx, p->options);
  if (!p->program)
    return false;
  const char *failed = NULL;
  if (make_kernels(ctx, p, family, &failed) == CL_SUCCESS) {
    ctx->test.cache_hits++;
    return true;
  }
  program_clear(p);
  lk_cache_drop(ctx, p->options);
  return false;
}

/* From the embedded source; a fresh build is stored in the on-disk cache. */
static leakycl_status build_from_source(leakycl_context *ctx, const char *options, bool fault,
                                        cl_program *out) {
  cl_int rc;
  const char *src = (const char *)lk_kernel_source;
  cl_program program = clCreateProgramWithSource(ctx->cl_ctx, 1, &src, &lk_kernel_source_len, &rc);
  if (rc != CL_SUCCESS)
    return lk_fail_cl(&ctx->error, rc, "clCreateProgramWithSource");
  rc = fault ? CL_BUILD_PROGRAM_FAILURE
             : clBuildProgram(program, 1, &ctx->device, options, NULL, NULL);
  if (rc != CL_SUCCESS) {
    char what[320];
    snprintf(what, sizeof what, "clBuildProgram(%s)", options);
    const leakycl_status st = lk_build_failure(ctx, program, rc, what);
    clReleaseProgram(program);
    return st;
  }
  ctx->test.source_builds++;
  lk_cache_store(ctx, options, program);
  *out = program;
  return LEAKYCL_OK;
}

leakycl_status lk_program_get(leakycl_context *ctx, const lk_program_key *key, lk_program **out) {
  char options[256];
  lk_program_options(ctx, key, options, sizeof options);
  for (lk_program *p = ctx->programs; p; p = p->next) {
    if (strcmp(p->options, options) == 0) {
      *out = p;
      return LEAKYCL_OK;
    }
  }
  lk_program *p = calloc(1, sizeof *p);
  if (!p)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for a program");
  memcpy(p->options, options, sizeof options);
  const bool fault = lk_fault_take(ctx, LK_FAULT_BUILD);
  lk_runtime_cache_keep();
  /* With a bundle loaded, programs come from it alone: the devices that
   * need bundles (FPGAs) have no compiler to fall back on. */
  leakycl_status st = LEAKYCL_OK;
  if (ctx->bundle || fault || !load_cached(ctx, p, key->family)) {
    st = ctx->bundle ? lk_bundle_build(ctx, options, fault, &p->program)
                     : build_from_source(ctx, options, fault, &p->program);
    if (st == LEAKYCL_OK) {
      const char *failed = NULL;
      const cl_int rc = make_kernels(ctx, p, key->family, &failed);
      if (rc != CL_SUCCESS)
        st = lk_fail_cl(&ctx->error, rc, failed);
    }
  }
  if (st != LEAKYCL_OK)
    goto fail;
  p->next = ctx->programs;
  ctx->programs = p;
  *out = p;
  return LEAKYCL_OK;
fail:
  program_free(p);
  return st;
}

/* ---- program bundles: from now on, programs come from one ---- */

leakycl_status leakycl_load_program_bundle(leakycl_context *ctx, const char *path) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  lk_bundle *b = NULL;
  leakycl_variant v;
  char why[512];
  leakycl_status st = lk_bundle_read(path, &ctx->info, &b, ctx->error.text, sizeof ctx->error.text);
  if (st == LEAKYCL_OK) {
    st = leakycl_variant_parse(b->variant, &ctx->info, &v, why, sizeof why);
    if (st != LEAKYCL_OK)
      st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "program bundle \"%s\": its variant \"%s\" does not fit this device: %s",
                   b->path, b->variant, why);
  }
  if (st == LEAKYCL_OK) {
    /* Programs built so far came from elsewhere: from now on, the bundle's
     * alone, and the variant they were compiled for. */
    lk_programs_release(ctx);
    lk_bundle_free(ctx->bundle);
    ctx->bundle = b;
    ctx->variant = v;
    ctx->variant_origin = "bundle";
    b = NULL;
  }
  lk_bundle_free(b);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

const char *leakycl_program_bundle_path(const leakycl_context *ctx) {
  return ctx && ctx->bundle ? ctx->bundle->path : NULL;
}
