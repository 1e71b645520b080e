/* v1_decode.c - /v1's job requests decoded and validated: the envelope
 * (envelope.c) holds the tensors, each job object becomes an lkd_job that
 * borrows them, or carries its own error. Nothing here touches OpenCL. */
#include "v1_request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

/* A base64 field of `dtype` values, decoded by the splice straight from the
 * body into the table: checked here in the order the limits and errors have
 * always been reported (size estimate, text, whole values, count). */
static int lkd_decode_b64(const lkd_decode_cfg *cfg, const char *field, const cJSON *item,
                          const lkd_envelope *env, leakycl_dtype dtype, const void **values,
                          size_t *count, lkd_error *e) {
  const size_t esize = leakycl_dtype_size(dtype);
  const lkt_tensor *t = lkd_envelope_base64(env, item);
  if (!t)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s must be a base64 string", field);
  /* 4 base64 characters carry 3 bytes; the estimate comes first. */
  size_t approx = t->text_len / 4 * 3 / esize;
  if (approx > cfg->max_elements + 1)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                    "%s has about %zu elements, over the limit of %zu (--max-elements)", field,
                    approx, cfg->max_elements);
  if (t->error[0])
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s: %s", field, t->error);
  if (t->nbytes % esize != 0)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s has %zu bytes, not a multiple of %zu (%s values)",
                    field, t->nbytes, esize, leakycl_dtype_name(dtype));
  *count = t->nbytes / esize;
  if (*count > cfg->max_elements)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                    "%s has %zu elements, over the limit of %zu (--max-elements)", field, *count,
                    cfg->max_elements);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < *count; i++) { /* little-endian on the wire */
    unsigned char *v = (unsigned char *)t->values + esize * i;
    for (size_t k = 0; k < esize / 2; k++) {
      const unsigned char tmp = v[k];
      v[k] = v[esize - 1 - k];
      v[esize - 1 - k] = tmp;
    }
  }
#endif
  *values = *count ? t->values : NULL;
  return 0;
}

/* One tensor field: "name" (a spliced JSON array) or "name_b64". Sets
 * *found = 0 when neither is present. */
static int lkd_tensor_field(const lkd_decode_cfg *cfg, const cJSON *obj, const lkd_envelope *env,
                            const char *name, leakycl_dtype dtype, int *found, const void **values,
                            size_t *count, lkd_encoding *encoding, size_t *rank, size_t *shape,
                            lkd_error *e) {
  char b64name[16];
  snprintf(b64name, sizeof b64name, "%s_b64", name);
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
  const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(obj, b64name);
  *found = arr || b64;
  if (!*found)
    return 0;
  if (arr && b64)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "give %s or %s, not both", name, b64name);
  if (b64) {
    if (lkd_decode_b64(cfg, b64name, b64, env, dtype, values, count, e) != 0)
      return -1;
    *encoding = LKD_ENC_B64;
    *rank = 1;
    shape[0] = *count;
    return 0;
  }
  /* Half storage is a binary format: JSON numbers are float32. */
  if (dtype != LEAKYCL_FLOAT32)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "dtype \"%s\" applies to base64 tensors: give %s (JSON number arrays are "
                    "float32)",
                    leakycl_dtype_name(dtype), b64name);
  const lkt_tensor *t = lkd_envelope_tensor(env, arr);
  if (!t)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s must be an array of numbers", name);
  if (t->error[0])
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", t->error);
  if (t->count > cfg->max_elements)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                    "%s has %zu elements, over the limit of %zu (--max-elements)", name, t->count,
                    cfg->max_elements);
  *values = t->values;
  *count = t->count;
  *rank = t->rank;
  memcpy(shape, t->shape, sizeof(size_t) * (t->rank < LKT_MAX_RANK ? t->rank : LKT_MAX_RANK));
  *encoding = t->rank > 1 ? LKD_ENC_NESTED : LKD_ENC_FLAT;
  return 0;
}

/* mask_b64: the packed mask of backward from the mask, little-endian
 * uint32 words, as many as leakycl_mask_words gives for the job's
 * activation and element count (job->count, from dy). */
static int lkd_decode_mask(const cJSON *item, const lkd_envelope *env,
                           leakycl_activation activation, lkd_job *job, lkd_error *e) {
  const lkt_tensor *t = lkd_envelope_base64(env, item);
  if (!t)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "mask_b64 must be a base64 string");
  if (t->error[0])
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "mask_b64: %s", t->error);
  const size_t words = leakycl_mask_words(activation, job->count);
  if (t->nbytes != words * sizeof(uint32_t))
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "mask_b64 has %zu bytes; %s of %zu elements needs %zu (%zu uint32 words)",
                    t->nbytes, leakycl_activation_name(activation), job->count,
                    words * sizeof(uint32_t), words);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t w = 0; w < words; w++) /* little-endian on the wire */
    ((uint32_t *)t->values)[w] = __builtin_bswap32(((uint32_t *)t->values)[w]);
#endif
  job->run.x = words ? t->values : NULL;
  return 0;
}

/* A job's fields; the last LKD_COMPARE_FIELDS are POST /v1/compare's own. */
static const char *const lkd_job_fields[] = {
    "op",       "activation",   "conventions", "alpha", "beta",    "shape",  "channel_axis", "x",
    "x_b64",    "dy",           "dy_b64",      "y",     "y_b64",   "dtype",  "from",         "mask",
    "mask_b64", "dbeta_window", "device",      "id",    "devices", "repeats"};
#define LKD_COMPARE_FIELDS 2

/* Fills job from one job object. op_fixed is the endpoint's op, or -1 when
 * the job must say "op" (batch, compare); compare allows the compare's own
 * fields. Returns 0, or -1 with job->err set. */
static int lkd_job_decode(const lkd_decode_cfg *cfg, const cJSON *obj, const lkd_envelope *env,
                          int op_fixed, int compare, lkd_job *job) {
  lkd_error *e = &job->err;
  char t1[64];
  if (!cJSON_IsObject(obj))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "a job must be a JSON object");
  const size_t nfields =
      sizeof lkd_job_fields / sizeof lkd_job_fields[0] - (compare ? 0 : LKD_COMPARE_FIELDS);
  const cJSON *unknown = lkd_json_unknown_field(obj, lkd_job_fields, nfields);
  if (unknown)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "unknown field \"%s\"",
                    lkd_user_text(unknown->string ? unknown->string : "", t1, sizeof t1));
  /* Echoed back as given; only a string or a number, since a structured id
   * could hold tensor keys that the splice lifts out of the body. */
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
  if (id && !cJSON_IsString(id) && !(cJSON_IsNumber(id) && isfinite(id->valuedouble)))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "id must be a string or a finite number");
  job->id = id;

  /* op */
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(obj, "op");
  if (op && !(cJSON_IsString(op) && (strcmp(op->valuestring, "forward") == 0 ||
                                     strcmp(op->valuestring, "backward") == 0)))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "op must be \"forward\" or \"backward\"");
  if (op_fixed >= 0) {
    job->run.op = (leakycl_op)op_fixed;
    if (op && (strcmp(op->valuestring, "forward") == 0) != (op_fixed == LEAKYCL_OP_FORWARD))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "op \"%s\" does not match the endpoint",
                      op->valuestring);
  } else {
    if (!op)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "op is required (\"forward\" or \"backward\")");
    job->run.op =
        strcmp(op->valuestring, "forward") == 0 ? LEAKYCL_OP_FORWARD : LEAKYCL_OP_BACKWARD;
  }

  /* activation */
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(obj, "activation");
  if (!act)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "activation is required (relu, leaky_relu, prelu or phased_relu)");
  leakycl_activation activation;
  if (!cJSON_IsString(act) ||
      leakycl_activation_from_name(act->valuestring, &activation) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "unknown activation \"%s\" (expected relu, leaky_relu, prelu or phased_relu)",
                    cJSON_IsString(act) ? lkd_user_text(act->valuestring, t1, sizeof t1)
                                        : "(not a string)");
  if (leakycl_params_init(&job->run.params, activation) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INTERNAL, "cannot initialise parameters");

  /* conventions: the profile of the formulas' corners (default pytorch) */
  const cJSON *conv = cJSON_GetObjectItemCaseSensitive(obj, "conventions");
  if (conv && (!cJSON_IsString(conv) ||
               leakycl_conventions_from_name(conv->valuestring, &job->run.params.conventions) !=
                   LEAKYCL_OK))
    return lkd_fail(
        e, LKD_INVALID_ARGUMENT, "unknown conventions \"%s\" (expected pytorch, ieee or jax)",
        cJSON_IsString(conv) ? lkd_user_text(conv->valuestring, t1, sizeof t1) : "(not a string)");

  /* device */
  const cJSON *dev = cJSON_GetObjectItemCaseSensitive(obj, "device");
  job->device = LKD_DEVICE_ANY; /* none named: the scheduler picks */
  if (dev) {
    if (!cJSON_IsString(dev))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "device must be a string (a device SPEC)");
    long d = lkd_device_match(cfg->devices, cfg->device_count, dev->valuestring);
    if (d < 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "device \"%s\" matches none of the %zu open devices (see /v1/devices)",
                      lkd_user_text(dev->valuestring, t1, sizeof t1), cfg->device_count);
    job->device = (size_t)d;
  }

  /* dtype */
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
  if (dtype) {
    if (!cJSON_IsString(dtype))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "dtype must be a string");
    if (strcmp(dtype->valuestring, "float16") == 0)
      job->run.dtype = LEAKYCL_FLOAT16;
    else if (strcmp(dtype->valuestring, "bfloat16") == 0)
      job->run.dtype = LEAKYCL_BFLOAT16;
    else if (strcmp(dtype->valuestring, "float32") != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "unknown dtype \"%s\" (expected float32, float16 or bfloat16)",
                      lkd_user_text(dtype->valuestring, t1, sizeof t1));
  }

  /* from */
  job->run.source = LEAKYCL_FROM_X;
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(obj, "from");
  if (from) {
    if (job->run.op != LEAKYCL_OP_BACKWARD)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "from applies to backward only");
    if (!cJSON_IsString(from) ||
        (strcmp(from->valuestring, "x") != 0 && strcmp(from->valuestring, "y") != 0 &&
         strcmp(from->valuestring, "mask") != 0))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "from must be \"x\", \"y\" or \"mask\"");
    if (from->valuestring[0] == 'y')
      job->run.source = LEAKYCL_FROM_Y;
    else if (from->valuestring[0] == 'm')
      job->run.source = LEAKYCL_FROM_MASK;
  }
  const int from_mask = job->run.source == LEAKYCL_FROM_MASK;

  /* mask: a forward asks for it (true); backward from it reads mask_b64 */
  const cJSON *want_mask = cJSON_GetObjectItemCaseSensitive(obj, "mask");
  if (want_mask) {
    if (!cJSON_IsBool(want_mask))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "mask must be true or false");
    if (job->run.op != LEAKYCL_OP_FORWARD)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "mask (true) asks a forward for the packed mask; backward reads one as "
                      "mask_b64 with from \"mask\"");
    job->want_mask = cJSON_IsTrue(want_mask);
  }
  const cJSON *mask_b64 = cJSON_GetObjectItemCaseSensitive(obj, "mask_b64");
  if (mask_b64 && !from_mask)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "mask_b64 is an input only for backward with from \"mask\"");
  if (from_mask && !mask_b64)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "with from \"mask\" give mask_b64 (the packed mask a forward wrote)");

  /* the sign source: x, or y (or x holding y) when from is "y"; from the
   * mask, dy gives the shape */
  int found = 0;
  size_t rank = 0, shape[LKT_MAX_RANK];
  const char *src_name = from_mask ? "dy" : "x";
  if (from_mask) {
    if (cJSON_GetObjectItemCaseSensitive(obj, "x") ||
        cJSON_GetObjectItemCaseSensitive(obj, "x_b64") ||
        cJSON_GetObjectItemCaseSensitive(obj, "y") ||
        cJSON_GetObjectItemCaseSensitive(obj, "y_b64"))
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "with from \"mask\" give mask_b64 and dy; x and y are not used");
  } else if (job->run.source == LEAKYCL_FROM_Y &&
             (cJSON_GetObjectItemCaseSensitive(obj, "y") ||
              cJSON_GetObjectItemCaseSensitive(obj, "y_b64"))) {
    if (cJSON_GetObjectItemCaseSensitive(obj, "x") ||
        cJSON_GetObjectItemCaseSensitive(obj, "x_b64"))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "with from \"y\" give y (or x holding y), not both");
    src_name = "y";
  } else if (cJSON_GetObjectItemCaseSensitive(obj, "y") ||
             cJSON_GetObjectItemCaseSensitive(obj, "y_b64")) {
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "y is an input only for backward with from \"y\"");
  }
  if (!from_mask) {
    if (lkd_tensor_field(cfg, obj, env, src_name, job->run.dtype, &found, &job->run.x, &job->count,
                         &job->encoding, &rank, shape, e) != 0)
      return -1;
    if (!found)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s (or %s_b64) is required", src_name, src_name);
  }

  /* dy */
  size_t dy_count = 0, dy_rank = 0, dy_shape[LKT_MAX_RANK];
  lkd_encoding dy_encoding;
  if (lkd_tensor_field(cfg, obj, env, "dy", job->run.dtype, &found, &job->run.dy, &dy_count,
                       &dy_encoding, &dy_rank, dy_shape, e) != 0)
    return -1;
  if (from_mask && found) { /* the answer follows dy's encoding and shape */
    job->count = dy_count;
    job->encoding = dy_encoding;
    rank = dy_rank;
    memcpy(shape, dy_shape, sizeof shape);
  }
  job->out_rank = rank;
  memcpy(job->out_shape, shape, sizeof shape);
  if (job->run.op == LEAKYCL_OP_FORWARD && found)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy is an input of backward, not forward");
  if (job->run.op == LEAKYCL_OP_BACKWARD) {
    if (!found)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy (or dy_b64) is required for backward");
    if (dy_count != job->count)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy has %zu elements but %s has %zu", dy_count,
                      src_name, job->count);
  }

  /* shape */
  const cJSON *shp = cJSON_GetObjectItemCaseSensitive(obj, "shape");
  if (shp) {
    if (!cJSON_IsArray(shp))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "shape must be an array of sizes");
    int n = cJSON_GetArraySize(shp);
    if (n > LEAKYCL_MAX_RANK)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "shape has rank %d, over the maximum of %d", n,
                      LEAKYCL_MAX_RANK);
    rank = 0;
    size_t product = 1;
    int overflow = 0, has_zero = 0;
    for (const cJSON *d = shp->child; d; d = d->next) {
      double v;
      /* 2^53: every integer up to it is exact in a double. */
      if (lkd_json_integer(d, 0, 9007199254740992.0, &v) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "shape[%zu] is not a size (an integer >= 0)",
                        rank);
      shape[rank] = (size_t)v;
      if (shape[rank] == 0)
        has_zero = 1;
      else if (product > SIZE_MAX / shape[rank])
        overflow = 1;
      else
        product *= shape[rank];
      rank++;
    }
    if (has_zero)
      product = 0; /* [0, 2^40, 2^40] holds no element: no overflow */
    if (overflow && !has_zero)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "shape overflows: its product is over %zu",
                      (size_t)SIZE_MAX);
    if (product != job->count)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "shape needs %zu elements but %s has %zu", product,
                      src_name, job->count);
  }

  /* channel_axis */
  long axis = rank >= 2 ? 1 : 0;
  const cJSON *ax = cJSON_GetObjectItemCaseSensitive(obj, "channel_axis");
  if (ax) {
    double v;
    if (lkd_json_integer(ax, -1e6, 1e6, &v) != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "channel_axis must be an integer");
    axis = (long)v;
  }
  char verr[200] = "";
  if (leakycl_view_from_shape(shape, rank, axis, &job->run.view, verr, sizeof verr) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", verr[0] ? verr : "bad shape or channel_axis");

  /* alpha */
  const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(obj, "alpha");
  if (alpha) {
    if (activation == LEAKYCL_RELU)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "relu takes no alpha");
    const lkt_tensor *t = lkd_envelope_tensor(env, alpha);
    if (t && t->error[0])
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", t->error);
    if (t) {
      if (t->rank > 1)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "alpha must be a number or a flat array");
      if (t->count == 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "alpha must not be empty");
      if (lkd_alpha_values_check(t->values, t->count, job->run.view.channels, e) != 0)
        return -1;
      job->run.params.alpha = t->values;
      job->run.params.alpha_count = t->count;
    } else {
      if (lkd_envelope_float(env, alpha, &job->alpha_scalar) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "alpha must be a finite number or an array of numbers");
      job->run.params.alpha = &job->alpha_scalar;
      job->run.params.alpha_count = 1;
    }
  }

  /* beta */
  const cJSON *beta = cJSON_GetObjectItemCaseSensitive(obj, "beta");
  if (beta) {
    if (activation != LEAKYCL_PHASED_RELU)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "beta applies to phased_relu only");
    if (lkd_envelope_float(env, beta, &job->run.params.beta) != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "beta must be a finite number");
  }

  if (from_mask && lkd_decode_mask(mask_b64, env, activation, job, e) != 0)
    return -1;

  /* dbeta_window: phased_relu's dbeta boundary estimate, in a backward
   * job's gradient (beta's own gradient is zero almost everywhere). */
  const cJSON *window = cJSON_GetObjectItemCaseSensitive(obj, "dbeta_window");
  if (window) {
    if (compare)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "dbeta_window is not compared across devices (ask /v1/backward)");
    if (activation != LEAKYCL_PHASED_RELU)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "dbeta_window applies to phased_relu only (beta's boundary estimate)");
    if (job->run.op != LEAKYCL_OP_BACKWARD || job->run.source != LEAKYCL_FROM_X)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "dbeta_window applies to backward from x only (it comes with dalpha)");
    if (lkd_envelope_float(env, window, &job->dbeta_window) != 0 || !(job->dbeta_window > 0.0f))
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "dbeta_window must be a finite number > 0 (the window's width h)");
    job->want_dbeta = 1;
  }

  job->want_grads = job->run.op == LEAKYCL_OP_BACKWARD && job->run.source == LEAKYCL_FROM_X &&
                    leakycl_activation_has_gradient(activation);
  job->grad_count = job->run.params.alpha_count ? job->run.params.alpha_count : 1;
  return 0;
}

lkd_decode_cfg lkd_decode_cfg_of(const lkd_server *s, leakycl_device_info *infos) {
  for (size_t i = 0; i < s->device_count; i++)
    infos[i] = s->devices[i].info;
  const lkd_decode_cfg cfg = {s->config.max_elements, s->config.max_depth, s->config.max_jobs,
                              infos, s->device_count};
  return cfg;
}

int lkd_request_decode(const lkd_decode_cfg *cfg, lkd_endpoint endpoint, char *body, size_t len,
                       lkd_request *out) {
  static const char *const keys[] = {"x", "dy", "y", "alpha"};
  /* Scalars spliced too, so that they are correctly rounded to float32. */
  static const char *const scalar_keys[] = {"alpha", "beta", "dbeta_window"};
  /* Base64 decoded straight from the body: cJSON never copies it. */
  static const char *const b64_keys[] = {"x_b64", "dy_b64", "y_b64", "mask_b64"};
  static const lkt_splice_keys splice_keys = {
      keys,        sizeof keys / sizeof keys[0],
      scalar_keys, sizeof scalar_keys / sizeof scalar_keys[0],
      b64_keys,    sizeof b64_keys / sizeof b64_keys[0]};
  static const lkd_envelope_spec spec = {
      &splice_keys,
      0,
      "malformed tensor array",
      "too many JSON values outside the tensors",
      "the body must be a JSON object",
      "x, dy, y, alpha, beta and dbeta_window must be arrays or numbers, not objects"};
  lkd_error *e = &out->err;
  memset(out, 0, sizeof *out);
  if (memchr(body, '\0', len))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "the body contains a NUL byte");
  lkd_envelope_spec sized = spec;
  sized.max_values = 16 * cfg->max_jobs + 4096;
  if (lkd_envelope_decode(&sized, body, len, cfg->max_depth, &out->envelope, e) != 0)
    return -1;
  const cJSON *root = out->envelope.root;
  const cJSON *list = NULL;
  size_t n = 1;
  if (endpoint == LKD_ENDPOINT_BATCH) {
    list = cJSON_GetObjectItemCaseSensitive(root, "jobs");
    if (!cJSON_IsArray(list))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "jobs must be an array of job objects");
    static const char *const batch_fields[] = {"jobs"};
    const cJSON *unknown = lkd_json_unknown_field(root, batch_fields, 1);
    if (unknown) {
      char t1[64];
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "unknown field \"%s\" (a batch has only jobs)",
                      lkd_user_text(unknown->string ? unknown->string : "", t1, sizeof t1));
    }
    n = (size_t)cJSON_GetArraySize(list);
    if (n > cfg->max_jobs)
      return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                      "the batch has %zu jobs, over the limit of %zu (--max-jobs)", n,
                      cfg->max_jobs);
  }
  out->jobs = calloc(n ? n : 1, sizeof *out->jobs);
  if (!out->jobs)
    return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for %zu jobs", n);
  out->njobs = n;
  if (endpoint != LKD_ENDPOINT_BATCH) {
    const int op = endpoint == LKD_ENDPOINT_FORWARD    ? LEAKYCL_OP_FORWARD
                   : endpoint == LKD_ENDPOINT_BACKWARD ? LEAKYCL_OP_BACKWARD
                                                       : -1;
    lkd_job_decode(cfg, root, &out->envelope, op, endpoint == LKD_ENDPOINT_COMPARE, &out->jobs[0]);
    return 0;
  }
  size_t i = 0;
  for (const cJSON *c = list->child; c && i < n; c = c->next, i++)
    lkd_job_decode(cfg, c, &out->envelope, -1, 0, &out->jobs[i]);
  return 0;
}

void lkd_request_free(lkd_request *req) {
  for (size_t k = 0; req->jobs && k < req->njobs; k++)
    lkd_job_release(&req->jobs[k]);
  free(req->jobs);
  lkd_envelope_free(&req->envelope);
  memset(req, 0, sizeof *req);
}
