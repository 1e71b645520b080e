/* bundle_compile.c - leakycl_compile_program_bundle: builds every program
 * that calls on the context's variant can ask for and writes them as one
 * bundle (bundle.c) for loading where no compiler is available.
 *
 * The set, from what launch.c and batch.c pass to lk_program_get:
 * - each activation, with a shared alpha at the variant's vector width;
 * - each activation that takes an alpha, per channel, at the vector width
 *   and every half of it down to 1 (launch.c lowers the width until it
 *   divides the channel's inner size);
 * - uint indices, and ulong ones only where the device can hold a tensor of
 *   2^31 floats in one buffer (smaller tensors never index with ulong);
 * - plain stores, and streaming stores when the variant's threshold is set;
 * each as an element-wise program, and for prelu and phased_relu a reduction
 * program too; and the packed-job program (batch.c) at the variant's width,
 * one per index width. Every program is float32 (bundles hold no half-type
 * programs) and without phased_relu's dbeta estimate (LK_DBETA: off by
 * default, and a bundle holds what calls use by default; a dbeta call on a
 * bundle fails UNSUPPORTED naming the options, as for any program it
 * lacks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"

typedef struct compiled {
  size_t count;
  const char *options[LK_BUNDLE_SET_MAX];
  unsigned char *binaries[LK_BUNDLE_SET_MAX];
  size_t lens[LK_BUNDLE_SET_MAX];
} compiled;

static bool device_needs_wide_index(const leakycl_device_info *d) {
  return d->max_alloc_bytes / sizeof(float) >= ((uint64_t)1 << 31);
}

/* Builds one program of the set (from source, or the on-disk cache) and
 * keeps its binary. */
static leakycl_status compile_one(leakycl_context *ctx, const lk_program_key *key, compiled *c,
                                  leakycl_progress_fn progress, void *user) {
  if (c->count == LK_BUNDLE_SET_MAX)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "more than %d programs in a bundle",
                   LK_BUNDLE_SET_MAX);
  lk_program *p;
  leakycl_status st = lk_program_get(ctx, key, &p);
  if (st != LEAKYCL_OK)
    return st;
  size_t len = 0;
  unsigned char *binary = lk_binary_of(p->program, LK_BINARY_MAX, &len);
  if (!binary)
    return lk_fail(&ctx->error, LEAKYCL_OPENCL_ERROR,
                   "the driver gave no program binary for build options \"%s\"", p->options);
  c->options[c->count] = p->options;
  c->binaries[c->count] = binary;
  c->lens[c->count] = len;
  c->count++;
  if (progress) {
    char line[400];
    snprintf(line, sizeof line, "%zu bytes  %s", len, p->options);
    progress(line, user);
  }
  return LEAKYCL_OK;
}

static leakycl_status compile_set(leakycl_context *ctx, compiled *c, leakycl_progress_fn progress,
                                  void *user) {
  const leakycl_variant *v = &ctx->variant;
  const bool widths[2] = {false, true};
  const int nwidths = device_needs_wide_index(&ctx->info) ? 2 : 1;
  const int nstores = v->streaming_threshold > 0 ? 2 : 1;
  leakycl_status st = LEAKYCL_OK;
  for (int f = LK_FAMILY_ELEMENTWISE; f <= LK_FAMILY_REDUCE; f++) {
    for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT && st == LEAKYCL_OK; a++) {
      const leakycl_activation act = (leakycl_activation)a;
      if (f == LK_FAMILY_REDUCE && !leakycl_activation_has_gradient(act))
        continue; /* no parameter gradient to reduce */
      for (int per_channel = 0; per_channel < (act == LEAKYCL_RELU ? 1 : 2); per_channel++) {
        for (unsigned vw = v->vector_width; vw >= 1 && st == LEAKYCL_OK; vw /= 2) {
          for (int w = 0; w < nwidths && st == LEAKYCL_OK; w++) {
            for (int nt = 0; nt < nstores && st == LEAKYCL_OK; nt++) {
              /* The default profile only: a bundle is what a device without
               * a compiler runs, and it takes leakycl_params_init's. */
              const lk_program_key key = {(lk_family)f,
                                          act,
                                          vw,
                                          per_channel != 0,
                                          widths[w],
                                          nt == 1,
                                          LEAKYCL_FLOAT32,
                                          LEAKYCL_CONVENTIONS_PYTORCH,
                                          false};
              st = compile_one(ctx, &key, c, progress, user);
            }
          }
          if (!per_channel)
            break; /* a shared alpha always runs at the variant's width */
        }
      }
    }
  }
  /* Packed jobs: one program per index width, at the variant's width. */
  for (int w = 0; w < nwidths && st == LEAKYCL_OK; w++) {
    const lk_program_key key = {.family = LK_FAMILY_BATCH,
                                .vector_width = v->vector_width,
                                .wide_index = widths[w],
                                .dtype = LEAKYCL_FLOAT32};
    st = compile_one(ctx, &key, c, progress, user);
  }
  return st;
}

leakycl_status leakycl_compile_program_bundle(leakycl_context *ctx, const char *path,
                                              leakycl_progress_fn progress, void *user,
                                              size_t *programs) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (!path || !*path)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "the bundle's path is empty");
  compiled *c = calloc(1, sizeof *c);
  if (!c)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for a program bundle");
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  leakycl_status st = compile_set(ctx, c, progress, user);
  if (st == LEAKYCL_OK)
    st = lk_bundle_write(ctx, path, c->options, c->binaries, c->lens, c->count);
  if (st == LEAKYCL_OK && programs)
    *programs = c->count;
  pthread_mutex_unlock(&ctx->lock);
  for (size_t i = 0; i < c->count; i++)
    free(c->binaries[i]);
  free(c);
  return st;
}
