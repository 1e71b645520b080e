/* op_cases.h - what the operation tests (test_ops, test_half, test_batch)
 * build their cases from: a shape with its channel axis, one call's
 * parameters and view under an alpha mode, the alpha and threshold of one
 * element, and switching the context's variant. Include after test.h and
 * oracle.h. */
#ifndef LEAKYCL_TEST_OP_CASES_H
#define LEAKYCL_TEST_OP_CASES_H

#include <stdlib.h>

#include "leakycl.h"
#include "oracle.h"
#include "test.h"

typedef struct shape_case {
  size_t rank;
  size_t shape[4];
  long axis;
} shape_case;

/* alpha modes: default, shared negative, shared above 1, per channel. */
enum { ALPHA_DEFAULT, ALPHA_NEGATIVE, ALPHA_LARGE, ALPHA_PER_CHANNEL, ALPHA_MODES };

typedef struct call_setup {
  leakycl_params params;
  leakycl_view view;
  size_t n;
  float *alpha; /* per channel storage; the caller frees it */
} call_setup;

static inline void setup_call(call_setup *cs, leakycl_activation act, const shape_case *sc,
                              int alpha_mode) {
  CHECK_INT_EQ(leakycl_view_from_shape(sc->shape, sc->rank, sc->axis, &cs->view, NULL, 0),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_view_count(cs->view, &cs->n), LEAKYCL_OK);
  leakycl_params_init(&cs->params, act);
  const size_t C = cs->view.channels;
  cs->alpha = malloc((C ? C : 1) * sizeof(float));
  if (act == LEAKYCL_PHASED_RELU)
    cs->params.beta = 0.75f;
  if (act == LEAKYCL_RELU || alpha_mode == ALPHA_DEFAULT)
    return;
  if (alpha_mode == ALPHA_PER_CHANNEL && C > 1) {
    for (size_t c = 0; c < C; c++)
      cs->alpha[c] = (float)(rng_uniform() * 3.0 - 1.0); /* [-1, 2): any sign */
    cs->params.alpha_count = C;
  } else {
    cs->alpha[0] = alpha_mode == ALPHA_NEGATIVE ? -0.5f : 1.5f;
    cs->params.alpha_count = 1;
  }
  cs->params.alpha = cs->alpha;
}

/* alpha and t for element i under the call's parameters. */
static inline void params_at(const call_setup *cs, size_t i, float *a, float *t) {
  const leakycl_params *p = &cs->params;
  size_t c = 0;
  if (p->alpha_count > 1)
    c = (i / cs->view.inner) % cs->view.channels;
  *a = p->alpha_count ? p->alpha[c] : leakycl_default_alpha(p->activation);
  *t = threshold(*a, p->beta);
}

/* Sets a variant (no streaming stores) and checks it was taken. */
static inline void use_variant(leakycl_context *ctx, leakycl_strategy strategy, unsigned vw,
                               size_t wg, size_t per_item, size_t block) {
  const leakycl_variant v = {strategy, vw, wg, per_item, block, 0};
  const leakycl_status st = leakycl_set_variant(ctx, &v);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  set_variant: %s\n", leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_OK);
}

/* The strategy a context opens with on its device: cpu on CPUs, gpu on the
 * rest (the vendor level of the defaults keeps the type's strategy). */
static inline leakycl_strategy device_default_strategy(leakycl_context *ctx) {
  leakycl_device_info info;
  CHECK_INT_EQ(leakycl_context_device(ctx, &info), LEAKYCL_OK);
  return info.type == LEAKYCL_DEVICE_CPU ? LEAKYCL_STRATEGY_CPU : LEAKYCL_STRATEGY_GPU;
}

#endif
