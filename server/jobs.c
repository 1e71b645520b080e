/* jobs.c - decoding, validating, running and encoding activation jobs. The
 * request's tensors are lifted out of the body by lk_splice_tensors (exact
 * and fast), cJSON parses the small envelope left, and each job borrows its
 * tensors from the splice table. */
#include "jobs.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "errors.h"
#include "metrics.h"

/* ---- helpers ---- */

/* Copies user text for an error message: printable ASCII only, at most 40
 * characters, so that messages stay short and valid JSON. */
const char *lkd_user_text(const char *s, char *out, size_t outlen) {
  size_t n = 0;
  for (; *s && n + 4 < outlen && n < 40; s++)
    out[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
  if (*s && n + 4 <= outlen) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}

/* Marker for a spliced tensor placeholder: the "{}" left by the splice gets
 * its tensor index + 1 in valuedouble (unused by cJSON for objects). */
static lk_tensor *lkd_spliced(const cJSON *item, lk_splice_table *table) {
  if (!item || !cJSON_IsObject(item) || item->child || item->valuedouble < 1)
    return NULL;
  size_t k = (size_t)item->valuedouble - 1;
  return k < table->count && !table->tensors[k].is_b64 ? &table->tensors[k] : NULL;
}

/* The same for a base64 string the splice decoded: its "" placeholder
 * carries the index in valuedouble (unused by cJSON for strings). */
static lk_tensor *lkd_spliced_b64(const cJSON *item, lk_splice_table *table) {
  if (!item || !cJSON_IsString(item) || item->valuedouble < 1)
    return NULL;
  size_t k = (size_t)item->valuedouble - 1;
  return k < table->count && table->tensors[k].is_b64 ? &table->tensors[k] : NULL;
}

static int lkd_is_b64_key(const char *key) {
  return key &&
         (strcmp(key, "x_b64") == 0 || strcmp(key, "dy_b64") == 0 || strcmp(key, "y_b64") == 0);
}

static int lkd_is_tensor_key(const char *key) {
  return key && (strcmp(key, "x") == 0 || strcmp(key, "dy") == 0 || strcmp(key, "y") == 0 ||
                 strcmp(key, "alpha") == 0 || strcmp(key, "beta") == 0);
}

/* Walks the tree in document order (the splice's order) and tags the k-th
 * empty-object member with a tensor key, or string member with a base64
 * key (the splice lifts every one of those), as tensor k. Returns how many
 * were tagged. Recursion depth is bounded by the splice's nesting limit. */
static size_t lkd_tag_placeholders(cJSON *node, size_t next, size_t limit) {
  for (cJSON *c = node->child; c; c = c->next) {
    if ((cJSON_IsObject(c) && !c->child && lkd_is_tensor_key(c->string)) ||
        (cJSON_IsString(c) && lkd_is_b64_key(c->string))) {
      if (next < limit)
        c->valuedouble = (double)(next + 1);
      next++;
    } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
      next = lkd_tag_placeholders(c, next, limit);
    }
  }
  return next;
}

/* Counts the values cJSON would allocate for the envelope (commas, colons
 * and openers outside strings), so that a body of many tiny values outside
 * tensors cannot make cJSON allocate gigabytes. */
size_t lkd_envelope_values(const char *p, size_t len) {
  size_t n = 1;
  int in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = p[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
      n++;
    } else if (c == ',' || c == '[' || c == '{') {
      n++;
    }
  }
  return n;
}

/* Reads a JSON number that must be an integer in [lo, hi] from valuedouble
 * (never cJSON's saturated valueint). */
static int lkd_integral(const cJSON *item, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(item))
    return -1;
  double v = item->valuedouble;
  if (!isfinite(v) || v != floor(v) || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* Reads a finite number that fits a float: the splice's correctly rounded
 * scalar when it lifted one, else cJSON's (a single digit, exact). */
static int lkd_float_value(const cJSON *item, lk_splice_table *table, float *out) {
  const lk_tensor *t = lkd_spliced(item, table);
  if (t) {
    if (t->rank != 0 || t->count != 1 || !isfinite(t->values[0]))
      return -1;
    *out = t->values[0];
    return 0;
  }
  if (!cJSON_IsNumber(item))
    return -1;
  double v = item->valuedouble;
  if (!isfinite(v) || fabs(v) > (double)FLT_MAX)
    return -1;
  *out = (float)v;
  return 0;
}

/* A base64 field of `dtype` values, decoded by the splice straight from the
 * body into the table: checked here in the order the limits and errors have
 * always been reported (size estimate, text, whole values, count). */
static int lkd_decode_b64(const lkd_decode_cfg *cfg, const char *field, const cJSON *item,
                          lk_splice_table *table, leakycl_dtype dtype, const void **values,
                          size_t *count, lkd_error *e) {
  const size_t esize = leakycl_dtype_size(dtype);
  lk_tensor *t = lkd_spliced_b64(item, table);
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

/* Appends count values of esize bytes (4: float32, 2: 16-bit patterns) as
 * little-endian base64. */
static void lkd_append_b64(lk_buf *b, const void *values, size_t count, size_t esize) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  lk_base64_encode(b, (const unsigned char *)values, count * esize);
#else
  unsigned char *bytes = malloc(count * esize + 1);
  if (!bytes) {
    b->oom = 1;
    return;
  }
  for (size_t i = 0; i < count; i++) {
    uint32_t u = 0;
    if (esize == 4)
      memcpy(&u, (const float *)values + i, sizeof u);
    else
      u = ((const uint16_t *)values)[i];
    for (size_t k = 0; k < esize; k++)
      bytes[esize * i + k] = (unsigned char)(u >> (8 * k));
  }
  lk_base64_encode(b, bytes, count * esize);
  free(bytes);
#endif
}

/* One tensor field: "name" (a spliced JSON array) or "name_b64". Sets
 * *found = 0 when neither is present. */
static int lkd_tensor_field(const lkd_decode_cfg *cfg, const cJSON *obj, lk_splice_table *table,
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
    if (lkd_decode_b64(cfg, b64name, b64, table, dtype, values, count, e) != 0)
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
  lk_tensor *t = lkd_spliced(arr, table);
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
  memcpy(shape, t->shape,
         sizeof(size_t) * (t->rank < LK_CODEC_MAX_RANK ? t->rank : LK_CODEC_MAX_RANK));
  *encoding = t->rank > 1 ? LKD_ENC_NESTED : LKD_ENC_FLAT;
  return 0;
}

static const char *const lkd_job_fields[] = {
    "op", "activation", "alpha", "beta",  "shape", "channel_axis", "x",      "x_b64",
    "dy", "dy_b64",     "y",     "y_b64", "dtype", "from",         "device", "id"};

/* Fills job from one job object. op_fixed is the endpoint's op, or -1 when
 * the job must say "op" (batch). Returns 0, or -1 with job->err set. */
static int lkd_job_decode(const lkd_decode_cfg *cfg, const cJSON *obj, lk_splice_table *table,
                          int op_fixed, lkd_job *job) {
  lkd_error *e = &job->err;
  char t1[64];
  if (!cJSON_IsObject(obj))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "a job must be a JSON object");
  for (const cJSON *c = obj->child; c; c = c->next) {
    int known = 0;
    for (size_t i = 0; i < sizeof lkd_job_fields / sizeof lkd_job_fields[0]; i++)
      if (c->string && strcmp(c->string, lkd_job_fields[i]) == 0)
        known = 1;
    if (!known)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "unknown field \"%s\"",
                      lkd_user_text(c->string ? c->string : "", t1, sizeof t1));
  }
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
    job->op = (lkd_op)op_fixed;
    if (op && (strcmp(op->valuestring, "forward") == 0) != (op_fixed == LKD_OP_FORWARD))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "op \"%s\" does not match the endpoint",
                      op->valuestring);
  } else {
    if (!op)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "op is required (\"forward\" or \"backward\")");
    job->op = strcmp(op->valuestring, "forward") == 0 ? LKD_OP_FORWARD : LKD_OP_BACKWARD;
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
  if (leakycl_params_init(&job->params, activation) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INTERNAL, "cannot initialise parameters");

  /* device */
  const cJSON *dev = cJSON_GetObjectItemCaseSensitive(obj, "device");
  job->device = 0;
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
      job->dtype = LEAKYCL_FLOAT16;
    else if (strcmp(dtype->valuestring, "bfloat16") == 0)
      job->dtype = LEAKYCL_BFLOAT16;
    else if (strcmp(dtype->valuestring, "float32") != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "unknown dtype \"%s\" (expected float32, float16 or bfloat16)",
                      lkd_user_text(dtype->valuestring, t1, sizeof t1));
  }

  /* from */
  job->source = LEAKYCL_FROM_X;
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(obj, "from");
  if (from) {
    if (job->op != LKD_OP_BACKWARD)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "from applies to backward only");
    if (!cJSON_IsString(from) ||
        (strcmp(from->valuestring, "x") != 0 && strcmp(from->valuestring, "y") != 0))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "from must be \"x\" or \"y\"");
    if (from->valuestring[0] == 'y')
      job->source = LEAKYCL_FROM_Y;
  }

  /* the sign source: x, or y (or x holding y) when from is "y" */
  int found = 0;
  size_t rank = 0, shape[LK_CODEC_MAX_RANK];
  const char *src_name = "x";
  if (job->source == LEAKYCL_FROM_Y && (cJSON_GetObjectItemCaseSensitive(obj, "y") ||
                                        cJSON_GetObjectItemCaseSensitive(obj, "y_b64"))) {
    if (cJSON_GetObjectItemCaseSensitive(obj, "x") ||
        cJSON_GetObjectItemCaseSensitive(obj, "x_b64"))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "with from \"y\" give y (or x holding y), not both");
    src_name = "y";
  } else if (cJSON_GetObjectItemCaseSensitive(obj, "y") ||
             cJSON_GetObjectItemCaseSensitive(obj, "y_b64")) {
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "y is an input only for backward with from \"y\"");
  }
  if (lkd_tensor_field(cfg, obj, table, src_name, job->dtype, &found, &job->x, &job->count,
                       &job->encoding, &rank, shape, e) != 0)
    return -1;
  if (!found)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s (or %s_b64) is required", src_name, src_name);
  job->out_rank = rank;
  memcpy(job->out_shape, shape, sizeof shape);

  /* dy */
  size_t dy_count = 0, dy_rank = 0, dy_shape[LK_CODEC_MAX_RANK];
  lkd_encoding dy_encoding;
  if (lkd_tensor_field(cfg, obj, table, "dy", job->dtype, &found, &job->dy, &dy_count, &dy_encoding,
                       &dy_rank, dy_shape, e) != 0)
    return -1;
  if (job->op == LKD_OP_FORWARD && found)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy is an input of backward, not forward");
  if (job->op == LKD_OP_BACKWARD) {
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
      if (lkd_integral(d, 0, 9007199254740992.0, &v) != 0)
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
    if (lkd_integral(ax, -1e6, 1e6, &v) != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "channel_axis must be an integer");
    axis = (long)v;
  }
  char verr[200] = "";
  if (leakycl_view_from_shape(shape, rank, axis, &job->view, verr, sizeof verr) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", verr[0] ? verr : "bad shape or channel_axis");

  /* alpha */
  const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(obj, "alpha");
  if (alpha) {
    if (activation == LEAKYCL_RELU)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "relu takes no alpha");
    lk_tensor *t = lkd_spliced(alpha, table);
    if (t && t->error[0])
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", t->error);
    if (t) {
      if (t->rank > 1)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "alpha must be a number or a flat array");
      if (t->count == 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "alpha must not be empty");
      if (lkd_alpha_values_check(t->values, t->count, job->view.channels, e) != 0)
        return -1;
      job->params.alpha = t->values;
      job->params.alpha_count = t->count;
    } else {
      if (lkd_float_value(alpha, table, &job->alpha_scalar) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "alpha must be a finite number or an array of numbers");
      job->params.alpha = &job->alpha_scalar;
      job->params.alpha_count = 1;
    }
  }

  /* beta */
  const cJSON *beta = cJSON_GetObjectItemCaseSensitive(obj, "beta");
  if (beta) {
    if (activation != LEAKYCL_PHASED_RELU)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "beta applies to phased_relu only");
    if (lkd_float_value(beta, table, &job->params.beta) != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "beta must be a finite number");
  }

  job->want_grads = job->op == LKD_OP_BACKWARD && job->source == LEAKYCL_FROM_X &&
                    leakycl_activation_has_gradient(activation);
  job->grad_count = job->params.alpha_count ? job->params.alpha_count : 1;
  return 0;
}

int lkd_alpha_values_check(const float *values, size_t count, size_t channels, lkd_error *e) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(values[i]))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "alpha[%zu] is not finite", i);
  if (count != 1 && count != channels)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "alpha has %zu values but the channel axis has %zu channels", count, channels);
  return 0;
}

/* Maps a failed library status, with its detail, to the job's error. */
static void lkd_status_error(lkd_job *job, leakycl_status st, const char *detail) {
  if (!detail || !*detail)
    detail = leakycl_status_message(st);
  switch (st) {
  case LEAKYCL_INVALID_ARGUMENT:
  case LEAKYCL_UNSUPPORTED:
    lkd_fail(&job->err, LKD_INVALID_ARGUMENT, "%s", detail);
    break;
  default:
    lkd_fail(&job->err, LKD_DEVICE_ERROR, "%s: %s", leakycl_status_name(st), detail);
  }
}

/* The same for a failed single call. Called with the device lock held (the
 * message lives in the context). */
static void lkd_library_error(lkd_job *job, leakycl_status st, const leakycl_context *ctx) {
  lkd_status_error(job, st, leakycl_last_error(ctx));
}

static void lkd_job_free_outputs(lkd_job *job) {
  free(job->out);
  free(job->dalpha);
  free(job->neg_fraction);
  free(job->mean_abs_grad);
  job->out = job->dalpha = job->neg_fraction = job->mean_abs_grad = NULL;
}

/* The library's description of a decoded job; grads is its gradient
 * storage when it wants one. */
static leakycl_job lkd_library_job(lkd_job *job, leakycl_grads *grads) {
  leakycl_job lj;
  memset(&lj, 0, sizeof lj);
  lj.op = job->op == LKD_OP_FORWARD ? LEAKYCL_OP_FORWARD : LEAKYCL_OP_BACKWARD;
  lj.params = job->params;
  lj.view = job->view;
  lj.source = job->source;
  lj.x = job->x;
  lj.dy = job->op == LKD_OP_BACKWARD ? job->dy : NULL;
  lj.out = job->out;
  *grads = (leakycl_grads){job->dalpha, job->neg_fraction, job->mean_abs_grad};
  lj.grads = job->want_grads ? grads : NULL;
  return lj;
}

/* Allocates a job's outputs: y or dx, and the gradient when it has
 * one. Returns 0, or -1 with job->err set. */
static int lkd_job_alloc_outputs(lkd_job *job) {
  job->out = malloc((job->count ? job->count : 1) * leakycl_dtype_size(job->dtype));
  if (job->want_grads) {
    job->dalpha = malloc(job->grad_count * sizeof(float));
    job->neg_fraction = malloc(job->grad_count * sizeof(float));
    job->mean_abs_grad = malloc(job->grad_count * sizeof(float));
  }
  if (!job->out ||
      (job->want_grads && (!job->dalpha || !job->neg_fraction || !job->mean_abs_grad))) {
    lkd_job_free_outputs(job);
    return lkd_fail(&job->err, LKD_OUT_OF_MEMORY, "out of memory for %zu elements", job->count);
  }
  return 0;
}

/* Runs one job on its device, a small one together with other requests'
 * small jobs. Returns 0, or -1 with job->err set. */
int lkd_job_run(lkd_server *s, lkd_job *job) {
  job->done = 1;
  if (lkd_job_alloc_outputs(job) != 0)
    return -1;
  if (job->count == 0) {
    /* Nothing to launch; the library's contract for empty channels. */
    for (size_t c = 0; c < job->grad_count && job->want_grads; c++) {
      job->dalpha[c] = 0.0f;
      job->neg_fraction[c] = job->mean_abs_grad[c] = NAN;
    }
    return 0;
  }
  lkd_device *dev = &s->devices[job->device];
  leakycl_grads grads = {job->dalpha, job->neg_fraction, job->mean_abs_grad};
  leakycl_status st;
  if (job->count <= LKD_COALESCE_MAX_ELEMENTS && job->dtype == LEAKYCL_FLOAT32) {
    /* Small: shares a launch with other requests' small jobs (packed
     * launches are float32 only; half jobs take their own call). */
    leakycl_job lj = lkd_library_job(job, &grads);
    if (lkd_coalesce_run(&dev->coalescer, dev->ctx, &dev->lock, &lj, 1) > 0)
      lkd_metrics_launch(s->metrics);
    st = lj.status;
    if (st != LEAKYCL_OK)
      lkd_status_error(job, st, lj.error);
  } else {
    /* Big: its own call, zero-copy where the device allows (packing would
     * copy it). */
    pthread_mutex_lock(&dev->lock);
    st =
        job->op == LKD_OP_FORWARD
            ? leakycl_forward_typed(dev->ctx, &job->params, job->view, job->dtype, job->x, job->out)
            : leakycl_backward_typed(dev->ctx, &job->params, job->view, job->dtype, job->source,
                                     job->x, job->dy, job->out, job->want_grads ? &grads : NULL);
    if (st != LEAKYCL_OK)
      lkd_library_error(job, st, dev->ctx);
    pthread_mutex_unlock(&dev->lock);
    lkd_metrics_launch(s->metrics);
  }
  if (st != LEAKYCL_OK) {
    lkd_job_free_outputs(job);
    return -1;
  }
  lkd_metrics_elements(s->metrics, job->count);
  return 0;
}

/* Runs every decoded job of a batch: all the jobs of one device in one
 * leakycl_run_jobs call (one launch for all of them, whatever their
 * activation, op or shape), each job keeping its own error. */
static void lkd_batch_run(lkd_server *s, lkd_job *jobs, const int *decoded, size_t n) {
  leakycl_job *lj = malloc((n ? n : 1) * sizeof *lj);
  leakycl_grads *grads = malloc((n ? n : 1) * sizeof *grads);
  size_t *idx = malloc((n ? n : 1) * sizeof *idx);
  if (!lj || !grads || !idx) {
    for (size_t i = 0; i < n; i++) /* no memory to pack: one call each */
      if (decoded[i])
        lkd_job_run(s, &jobs[i]);
    free(lj), free(grads), free(idx);
    return;
  }
  for (size_t d = 0; d < s->device_count; d++) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      if (!decoded[i] || jobs[i].device != d)
        continue;
      if (jobs[i].dtype != LEAKYCL_FLOAT32) {
        lkd_job_run(s, &jobs[i]); /* packed launches are float32 only */
        continue;
      }
      jobs[i].done = 1;
      if (lkd_job_alloc_outputs(&jobs[i]) != 0)
        continue;
      lj[m] = lkd_library_job(&jobs[i], &grads[m]);
      idx[m++] = i;
    }
    if (m == 0)
      continue;
    lkd_device *dev = &s->devices[d];
    if (lkd_coalesce_run(&dev->coalescer, dev->ctx, &dev->lock, lj, m) > 0)
      lkd_metrics_launch(s->metrics);
    uint64_t elements = 0;
    for (size_t k = 0; k < m; k++) {
      lkd_job *job = &jobs[idx[k]];
      if (lj[k].status != LEAKYCL_OK) {
        lkd_status_error(job, lj[k].status, lj[k].error);
        lkd_job_free_outputs(job);
      } else {
        elements += job->count;
      }
    }
    lkd_metrics_elements(s->metrics, elements);
  }
  free(lj), free(grads), free(idx);
}

/* Appends one output tensor as "name":[...] or "name_b64":"...". */
static void lkd_append_tensor(lk_buf *b, const lkd_job *job, const char *name, const void *v) {
  lk_buf_append(b, "\"", 1);
  lk_buf_append_str(b, name);
  if (job->encoding == LKD_ENC_B64) {
    lk_buf_append_str(b, "_b64\":\"");
    lkd_append_b64(b, v, job->count, leakycl_dtype_size(job->dtype));
    lk_buf_append_str(b, "\",\"dtype\":\"");
    lk_buf_append_str(b, leakycl_dtype_name(job->dtype));
    lk_buf_append(b, "\"", 1);
    return;
  }
  lk_buf_append(b, "\":", 2);
  if (job->encoding == LKD_ENC_NESTED)
    lk_array_print(b, v, job->count, job->out_shape, job->out_rank);
  else
    lk_array_print(b, v, job->count, &job->count, 1);
}

/* Appends "id":<the job's id>, when it has one. A number is printed as the
 * shortest text that reads back to the same double: cJSON's printer
 * compares with a relative epsilon, so it echoed 0.30000000000000004 as 0.3
 * and -1.7976931348623155e308 as -1.79769313486232e+308, which overflows
 * (found by schemathesis). */
static void lkd_append_id(lk_buf *b, const lkd_job *job) {
  if (!job->id)
    return;
  lk_buf_append_str(b, "\"id\":");
  if (cJSON_IsNumber(job->id)) {
    char text[32];
    double v = job->id->valuedouble;
    for (int digits = 1; digits <= 17; digits++) {
      snprintf(text, sizeof text, "%.*g", digits, v);
      if (strtod(text, NULL) == v)
        break;
    }
    lk_buf_append_str(b, text);
  } else {
    char *id = cJSON_PrintUnformatted(job->id);
    if (id) {
      lk_buf_append_str(b, id);
      cJSON_free(id);
    } else {
      b->oom = 1;
    }
  }
  lk_buf_append(b, ",", 1);
}

/* Appends a successful job's result object. */
static void lkd_append_result(lk_buf *b, const lkd_job *job) {
  lk_buf_append(b, "{", 1);
  lkd_append_id(b, job);
  lkd_append_tensor(b, job, job->op == LKD_OP_FORWARD ? "y" : "dx", job->out);
  if (job->want_grads) {
    size_t c = job->grad_count;
    lk_buf_append_str(b, ",\"dalpha\":");
    lk_array_print(b, job->dalpha, c, &c, 1);
    lk_buf_append_str(b, ",\"stats\":{\"neg_fraction\":");
    lk_array_print(b, job->neg_fraction, c, &c, 1);
    lk_buf_append_str(b, ",\"mean_abs_grad\":");
    lk_array_print(b, job->mean_abs_grad, c, &c, 1);
    lk_buf_append(b, "}", 1);
  }
  lk_buf_append(b, "}", 1);
}

static void lkd_append_job_error(lk_buf *b, const lkd_job *job) {
  lk_buf_append_str(b, "{");
  lkd_append_id(b, job);
  lk_buf_append_str(b, "\"error\":");
  lkd_error_append_object(b, &job->err);
  lk_buf_append(b, "}", 1);
}

void lkd_job_release(lkd_job *job) {
  lkd_job_free_outputs(job);
  free(job->x_owned);
  free(job->dy_owned);
  job->x_owned = job->dy_owned = NULL;
}

/* Writes an error body and returns its status. */
static int lkd_reply_error(lk_buf *out, const lkd_error *e) {
  out->len = 0;
  lkd_error_append_body(out, e);
  return lkd_error_status(e->code);
}

void lkd_request_free(lkd_request *req) {
  for (size_t k = 0; req->jobs && k < req->njobs; k++)
    lkd_job_release(&req->jobs[k]);
  free(req->jobs);
  free(req->decoded);
  cJSON_Delete(req->root);
  lk_splice_table_free(&req->table);
  memset(req, 0, sizeof *req);
}

int lkd_request_decode(const lkd_decode_cfg *cfg, lkd_endpoint endpoint, char *body, size_t len,
                       lkd_request *out) {
  static const char *const keys[] = {"x", "dy", "y", "alpha"};
  /* Scalars spliced too, so that they are correctly rounded to float32. */
  static const char *const scalar_keys[] = {"alpha", "beta"};
  /* Base64 decoded straight from the body: cJSON never copies it. */
  static const char *const b64_keys[] = {"x_b64", "dy_b64", "y_b64"};
  static const lk_splice_keys splice_keys = {
      keys,        sizeof keys / sizeof keys[0],
      scalar_keys, sizeof scalar_keys / sizeof scalar_keys[0],
      b64_keys,    sizeof b64_keys / sizeof b64_keys[0]};
  lkd_error *e = &out->err;
  memset(out, 0, sizeof *out);

  if (memchr(body, '\0', len))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "the body contains a NUL byte");
  /* Each element takes at least two characters, so a body within --max-body
   * can never hit this count; the per-tensor limit is checked afterwards so
   * that it answers 413, not a parse error. */
  lk_limits limits = {len / 2 + 2, LK_CODEC_MAX_RANK};
  char err[256] = "";
  /* The splice leaves the envelope compacted at the start of the body. */
  size_t envelope_len = len;
  if (lk_splice_body(body, len, &splice_keys, &limits, cfg->max_depth, &out->table, &envelope_len,
                     err, sizeof err) != 0)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", err[0] ? err : "malformed tensor array");
  if (lkd_envelope_values(body, envelope_len) > 16 * cfg->max_jobs + 4096)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE, "too many JSON values outside the tensors");
  const char *parse_end = NULL;
  /* + 1: with require_null_terminated cJSON wants to see the NUL. */
  out->root = cJSON_ParseWithLengthOpts(body, envelope_len + 1, &parse_end, 1);
  cJSON *root = out->root;
  if (!root) {
    size_t off = parse_end && parse_end >= body ? (size_t)(parse_end - body) : 0;
    off = lk_splice_body_offset(&out->table, off > envelope_len ? envelope_len : off);
    if (off > len)
      off = len;
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "malformed JSON at offset %zu", off);
  }
  if (!cJSON_IsObject(root))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "the body must be a JSON object");
  /* A literal {} under a tensor key would shift the tensors' order. */
  if (lkd_tag_placeholders(root, 0, out->table.count) != out->table.count)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "x, dy, y and alpha must be arrays or numbers, not objects");

  const cJSON *list = NULL;
  size_t n = 1;
  if (endpoint == LKD_ENDPOINT_BATCH) {
    list = cJSON_GetObjectItemCaseSensitive(root, "jobs");
    if (!cJSON_IsArray(list))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "jobs must be an array of job objects");
    for (const cJSON *c = root->child; c; c = c->next)
      if (!c->string || strcmp(c->string, "jobs") != 0) {
        char t1[64];
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "unknown field \"%s\" (a batch has only jobs)",
                        lkd_user_text(c->string ? c->string : "", t1, sizeof t1));
      }
    n = (size_t)cJSON_GetArraySize(list);
    if (n > cfg->max_jobs)
      return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                      "the batch has %zu jobs, over the limit of %zu (--max-jobs)", n,
                      cfg->max_jobs);
  }
  out->jobs = calloc(n ? n : 1, sizeof *out->jobs);
  out->decoded = calloc(n ? n : 1, sizeof *out->decoded);
  if (!out->jobs || !out->decoded)
    return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for %zu jobs", n);
  out->njobs = n;
  if (endpoint != LKD_ENDPOINT_BATCH) {
    int op = endpoint == LKD_ENDPOINT_FORWARD ? LKD_OP_FORWARD : LKD_OP_BACKWARD;
    out->decoded[0] = lkd_job_decode(cfg, root, &out->table, op, &out->jobs[0]) == 0;
    return 0;
  }
  size_t i = 0;
  for (const cJSON *c = list->child; c && i < n; c = c->next, i++)
    out->decoded[i] = lkd_job_decode(cfg, c, &out->table, -1, &out->jobs[i]) == 0;
  return 0;
}

int lkd_jobs_handle(lkd_server *s, lkd_endpoint endpoint, char *body, size_t len, lk_buf *out) {
  /* The opened devices' descriptions, for a job's "device" SPEC. */
  leakycl_device_info infos[LKD_MAX_DEVICES];
  for (size_t i = 0; i < s->device_count; i++)
    infos[i] = s->devices[i].info;
  lkd_decode_cfg cfg = {s->config.max_elements, s->config.max_depth, s->config.max_jobs, infos,
                        s->device_count};
  lkd_request req;
  int status = 200;

  if (lkd_request_decode(&cfg, endpoint, body, len, &req) != 0) {
    status = lkd_reply_error(out, &req.err);
    goto done;
  }
  if (endpoint != LKD_ENDPOINT_BATCH) {
    lkd_job *job = &req.jobs[0];
    if (!req.decoded[0] || lkd_job_run(s, job) != 0) {
      lkd_metrics_jobs(s->metrics, 0, 1);
      status = lkd_reply_error(out, &job->err);
      goto done;
    }
    lkd_metrics_jobs(s->metrics, 1, 0);
    lkd_append_result(out, job);
    goto done;
  }

  lkd_batch_run(s, req.jobs, req.decoded, req.njobs);
  lk_buf_append_str(out, "{\"results\":[");
  size_t ok = 0;
  for (size_t i = 0; i < req.njobs; i++) {
    lkd_job *job = &req.jobs[i];
    if (i)
      lk_buf_append(out, ",", 1);
    if (req.decoded[i] && job->done && job->out) {
      lkd_append_result(out, job);
      ok++;
    } else {
      if (job->err.code == LKD_OK)
        lkd_fail(&job->err, LKD_INTERNAL, "job did not run");
      lkd_append_job_error(out, job);
    }
  }
  lk_buf_append_str(out, "]}");
  lkd_metrics_jobs(s->metrics, ok, req.njobs - ok);

done:
  lkd_request_free(&req);
  if (out->oom) {
    lk_buf_free(out);
    memset(out, 0, sizeof *out);
    lkd_error oom = {LKD_OUT_OF_MEMORY, "out of memory writing the response"};
    lkd_error_append_body(out, &oom);
    status = lkd_error_status(oom.code);
  }
  return status;
}
