/* activation.c - activation names and defaults, call parameters, and their
 * resolution into what the kernels take (shared or per-channel alpha, the
 * phased_relu threshold computed once in float32). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static const char *const activation_names[LEAKYCL_ACTIVATION_COUNT] = {"relu", "leaky_relu",
                                                                       "prelu", "phased_relu"};

const char *leakycl_activation_name(leakycl_activation activation) {
  return LK_NAME_OF(activation_names, activation, NULL);
}

/* The index of name in names[0..count), or -1. */
static int name_index(const char *const *names, unsigned count, const char *name) {
  for (unsigned i = 0; name && i < count; i++)
    if (strcmp(name, names[i]) == 0)
      return (int)i;
  return -1;
}

leakycl_status leakycl_activation_from_name(const char *name, leakycl_activation *out) {
  const int i = name_index(activation_names, LEAKYCL_ACTIVATION_COUNT, name);
  if (i < 0 || !out)
    return LEAKYCL_INVALID_ARGUMENT;
  *out = (leakycl_activation)i;
  return LEAKYCL_OK;
}

static const char *const conventions_names[LEAKYCL_CONVENTIONS_COUNT] = {"pytorch", "ieee", "jax"};

const char *leakycl_conventions_name(leakycl_conventions conventions) {
  return LK_NAME_OF(conventions_names, conventions, NULL);
}

leakycl_status leakycl_conventions_from_name(const char *name, leakycl_conventions *out) {
  const int i = name_index(conventions_names, LEAKYCL_CONVENTIONS_COUNT, name);
  if (i < 0 || !out)
    return LEAKYCL_INVALID_ARGUMENT;
  *out = (leakycl_conventions)i;
  return LEAKYCL_OK;
}

int leakycl_activation_has_gradient(leakycl_activation activation) {
  return activation == LEAKYCL_PRELU || activation == LEAKYCL_PHASED_RELU;
}

float leakycl_default_alpha(leakycl_activation activation) {
  switch (activation) {
  case LEAKYCL_LEAKY_RELU:
    return LEAKYCL_DEFAULT_LEAKY_ALPHA;
  case LEAKYCL_PRELU:
    return LEAKYCL_DEFAULT_PRELU_ALPHA;
  case LEAKYCL_PHASED_RELU:
    return LEAKYCL_DEFAULT_PHASED_ALPHA;
  default:
    return 0.0f;
  }
}

double leakycl_init_gain(double alpha) { return sqrt(2.0 / (1.0 + alpha * alpha)); }

leakycl_status leakycl_params_init(leakycl_params *params, leakycl_activation activation) {
  if (!params || (unsigned)activation >= LEAKYCL_ACTIVATION_COUNT)
    return LEAKYCL_INVALID_ARGUMENT;
  memset(params, 0, sizeof *params);
  params->activation = activation;
  params->beta = activation == LEAKYCL_PHASED_RELU ? LEAKYCL_DEFAULT_PHASED_BETA : 0.0f;
  return LEAKYCL_OK;
}

void lk_resolved_free(lk_resolved *r) {
  if (!r)
    return;
  free(r->alpha_c);
  free(r->thresh_c);
  r->alpha_c = r->thresh_c = NULL;
}

/* t = -beta/alpha in float32, as the README's semantics fix it (alpha = 0 gives -Inf or
 * NaN and the formulas then degrade to ReLU). */
static float phased_threshold(float alpha, float beta) { return -beta / alpha; }

leakycl_status lk_resolve(lk_error *err, const leakycl_params *params, leakycl_view view,
                          lk_resolved *out) {
  memset(out, 0, sizeof *out);
  if (!params)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT, "params is NULL");
  const leakycl_activation act = params->activation;
  if ((unsigned)act >= LEAKYCL_ACTIVATION_COUNT)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT, "unknown activation %d", (int)act);
  size_t n;
  if (leakycl_view_count(view, &n) != LEAKYCL_OK)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT,
                   "view [%zu, %zu, %zu] has more elements than size_t holds", view.outer,
                   view.channels, view.inner);
  if (act == LEAKYCL_RELU && params->alpha_count != 0)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT, "relu takes no alpha (alpha_count %zu)",
                   params->alpha_count);
  if (params->alpha_count > 1 && params->alpha_count != view.channels)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT,
                   "alpha has %zu values but the tensor has %zu channels (give 1 or %zu)",
                   params->alpha_count, view.channels, view.channels);
  if (params->alpha_count > 0 && !params->alpha)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT, "alpha_count is %zu but alpha is NULL",
                   params->alpha_count);
  for (size_t c = 0; c < params->alpha_count; c++) {
    if (!isfinite(params->alpha[c]))
      return lk_fail(err, LEAKYCL_INVALID_ARGUMENT, "alpha[%zu] is not finite", c);
  }
  if (act == LEAKYCL_PHASED_RELU && !isfinite(params->beta))
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT, "beta is not finite");
  if ((unsigned)params->conventions >= LEAKYCL_CONVENTIONS_COUNT)
    return lk_fail(err, LEAKYCL_INVALID_ARGUMENT,
                   "unknown conventions %d (pytorch 0, ieee 1, jax 2)", (int)params->conventions);

  out->activation = act;
  out->conventions = params->conventions;
  out->dtype = LEAKYCL_FLOAT32;
  out->elem_size = sizeof(float);
  out->n = n;
  out->per_channel = params->alpha_count > 1;
  out->alpha_count = out->per_channel ? params->alpha_count : 1;
  out->alpha = params->alpha_count == 1 ? params->alpha[0] : leakycl_default_alpha(act);
  out->beta = act == LEAKYCL_PHASED_RELU ? params->beta : 0.0f;
  out->thresh = act == LEAKYCL_PHASED_RELU ? phased_threshold(out->alpha, params->beta) : 0.0f;
  if (out->per_channel) {
    out->channels = view.channels;
    out->inner = view.inner;
    out->alpha_c = malloc(out->alpha_count * sizeof(float));
    out->thresh_c = malloc(out->alpha_count * sizeof(float));
    if (!out->alpha_c || !out->thresh_c) {
      lk_resolved_free(out);
      return lk_fail(err, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu alphas", out->alpha_count);
    }
    for (size_t c = 0; c < out->alpha_count; c++) {
      out->alpha_c[c] = params->alpha[c];
      out->thresh_c[c] =
          act == LEAKYCL_PHASED_RELU ? phased_threshold(params->alpha[c], params->beta) : 0.0f;
    }
  } else {
    /* One alpha: the channel structure does not matter, one flat range. */
    out->channels = 1;
    out->inner = n > 0 ? n : 1;
  }
  return LEAKYCL_OK;
}
