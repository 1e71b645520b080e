/* kserve.c - the Open Inference Protocol (KServe v2, as Triton serves it)
 * beside /v1: health, server and model metadata, the model repository
 * index, and inference on the models relu, leaky_relu, prelu, phased_relu
 * (input x, output y) and <name>_backward (inputs x, dy; outputs dx, and
 * dalpha for prelu and phased_relu). Tensors travel as JSON "data" or as
 * raw bytes after the JSON header (the binary tensor data extension, see
 * kserve_frame.c); jobs run exactly as /v1's (jobs.c), with the same
 * limits, coalescing and metrics. */
#include "kserve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "kserve_frame.h"
#include "metrics.h"

/* Every model has this one version. */
#define LKD_KSERVE_VERSION "1"
#define LKD_KSERVE_PLATFORM "leakycl"

typedef struct lkd_kserve_model {
  const char *name;
  leakycl_activation activation;
  lkd_op op;
} lkd_kserve_model;

static const lkd_kserve_model lkd_kserve_models[] = {
    {"relu", LEAKYCL_RELU, LKD_OP_FORWARD},
    {"leaky_relu", LEAKYCL_LEAKY_RELU, LKD_OP_FORWARD},
    {"prelu", LEAKYCL_PRELU, LKD_OP_FORWARD},
    {"phased_relu", LEAKYCL_PHASED_RELU, LKD_OP_FORWARD},
    {"relu_backward", LEAKYCL_RELU, LKD_OP_BACKWARD},
    {"leaky_relu_backward", LEAKYCL_LEAKY_RELU, LKD_OP_BACKWARD},
    {"prelu_backward", LEAKYCL_PRELU, LKD_OP_BACKWARD},
    {"phased_relu_backward", LEAKYCL_PHASED_RELU, LKD_OP_BACKWARD},
};
#define LKD_KSERVE_NMODELS (sizeof lkd_kserve_models / sizeof lkd_kserve_models[0])

/* ---- a model's signature ---- */

static int lkd_model_takes_alpha(const lkd_kserve_model *m) {
  return m->activation != LEAKYCL_RELU;
}
static int lkd_model_has_dalpha(const lkd_kserve_model *m) {
  return m->op == LKD_OP_BACKWARD && leakycl_activation_has_gradient(m->activation);
}
/* Whether name is an input of the model (x; dy for backward; the optional
 * per-channel alpha where the activation has one). */
static int lkd_model_input(const lkd_kserve_model *m, const char *name) {
  return strcmp(name, "x") == 0 || (m->op == LKD_OP_BACKWARD && strcmp(name, "dy") == 0) ||
         (lkd_model_takes_alpha(m) && strcmp(name, "alpha") == 0);
}
/* The model's outputs in order: y, or dx (and dalpha). */
static size_t lkd_model_outputs(const lkd_kserve_model *m, const char *names[2]) {
  names[0] = m->op == LKD_OP_FORWARD ? "y" : "dx";
  names[1] = "dalpha";
  return lkd_model_has_dalpha(m) ? 2 : 1;
}

/* ---- errors ---- */

void lkd_kserve_error_body(lk_buf *b, const lkd_error *e) {
  lk_buf_append_str(b, "{\"error\":");
  lkd_json_append_string(b, e->message[0] ? e->message : lkd_error_default_message(e->code));
  lk_buf_append(b, "}", 1);
}

__attribute__((format(printf, 3, 4))) static void
lkd_kserve_fail(lkd_response *r, lkd_error_code code, const char *fmt, ...) {
  lkd_error e = {code, ""};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.message, sizeof e.message, fmt, ap);
  va_end(ap);
  lkd_respond_error(r, &e, "/v2");
}

static void lkd_kserve_json(lkd_response *r) {
  r->status = 200;
  r->content_type = "application/json";
}

/* The protocol's health answers: 200 means true, and the body is empty (so
 * it is not labelled JSON). */
static void lkd_kserve_empty(lkd_response *r) {
  r->status = 200;
  r->content_type = "text/plain; charset=utf-8";
}

/* ---- paths ---- */

int lkd_kserve_path(const char *path) {
  return path && strncmp(path, "/v2", 3) == 0 && (path[3] == '\0' || path[3] == '/');
}

/* "/v2/models/NAME[/versions/VERSION][/ACTION]", split. */
typedef struct lkd_model_path {
  char name[64];
  char version[16];   /* "" when the path names none */
  const char *action; /* "", "ready" or "infer" */
} lkd_model_path;

/* Copies the segment at p (up to '/' or the end) into out; returns its end,
 * or NULL when it is empty or longer than out. */
static const char *lkd_segment(const char *p, char *out, size_t cap) {
  size_t n = strcspn(p, "/");
  if (n == 0 || n >= cap)
    return NULL;
  memcpy(out, p, n);
  out[n] = '\0';
  return p + n;
}

static int lkd_parse_model_path(const char *path, lkd_model_path *out) {
  static const char prefix[] = "/v2/models/";
  memset(out, 0, sizeof *out);
  if (strncmp(path, prefix, sizeof prefix - 1) != 0)
    return -1;
  const char *p = lkd_segment(path + sizeof prefix - 1, out->name, sizeof out->name);
  if (!p)
    return -1;
  if (strncmp(p, "/versions/", 10) == 0) {
    p = lkd_segment(p + 10, out->version, sizeof out->version);
    if (!p)
      return -1;
  }
  if (*p == '\0')
    out->action = "";
  else if (strcmp(p, "/ready") == 0)
    out->action = "ready";
  else if (strcmp(p, "/infer") == 0)
    out->action = "infer";
  else
    return -1;
  return 0;
}

/* The model a /v2/models/... path names, or NULL with r set to a 404. */
static const lkd_kserve_model *lkd_model_of_path(const char *path, lkd_response *r) {
  lkd_model_path mp;
  char t1[64];
  if (lkd_parse_model_path(path, &mp) != 0) {
    lkd_kserve_fail(r, LKD_NOT_FOUND, "no such path: %s", lkd_user_text(path, t1, sizeof t1));
    return NULL;
  }
  const lkd_kserve_model *m = NULL;
  for (size_t i = 0; i < LKD_KSERVE_NMODELS; i++)
    if (strcmp(lkd_kserve_models[i].name, mp.name) == 0)
      m = &lkd_kserve_models[i];
  if (!m) {
    lkd_kserve_fail(r, LKD_NOT_FOUND,
                    "unknown model \"%s\" (models: relu, leaky_relu, prelu, phased_relu and "
                    "their <name>_backward)",
                    lkd_user_text(mp.name, t1, sizeof t1));
    return NULL;
  }
  if (mp.version[0] && strcmp(mp.version, LKD_KSERVE_VERSION) != 0) {
    lkd_kserve_fail(r, LKD_NOT_FOUND, "model \"%s\" has no version \"%s\" (its only version is %s)",
                    m->name, lkd_user_text(mp.version, t1, sizeof t1), LKD_KSERVE_VERSION);
    return NULL;
  }
  return m;
}

/* ---- health, metadata, repository ---- */

static void lkd_on_live(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                        lkd_response *r) {
  lkd_kserve_empty(r); /* as Triton answers */
}

static void lkd_on_ready(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                         lkd_response *r) {
  /* The daemon listens only once its devices are open and warm. */
  lkd_kserve_empty(r);
}

static void lkd_on_server_metadata(lkd_server *s, const lkd_request_info *info, char *body,
                                   size_t len, lkd_response *r) {
  lkd_kserve_json(r);
  lk_buf_append_str(&r->body, "{\"name\":\"leakycld\",\"version\":\"" LEAKYCL_VERSION
                              "\",\"extensions\":[\"binary_tensor_data\",\"parameters\"]}");
}

static void lkd_append_tensor_meta(lk_buf *b, const char *name, int *first) {
  if (!*first)
    lk_buf_append(b, ",", 1);
  *first = 0;
  lk_buf_append_str(b, "{\"name\":");
  lkd_json_append_string(b, name);
  lk_buf_append_str(b, ",\"datatype\":\"FP32\",\"shape\":[-1]}");
}

static void lkd_on_model_metadata(lkd_server *s, const lkd_request_info *info, char *body,
                                  size_t len, lkd_response *r) {
  const lkd_kserve_model *m = lkd_model_of_path(info->path, r);
  if (!m)
    return;
  lkd_kserve_json(r);
  lk_buf *b = &r->body;
  lk_buf_append_str(b, "{\"name\":");
  lkd_json_append_string(b, m->name);
  lk_buf_append_str(b, ",\"versions\":[\"" LKD_KSERVE_VERSION
                       "\"],\"platform\":\"" LKD_KSERVE_PLATFORM "\",\"inputs\":[");
  int first = 1;
  lkd_append_tensor_meta(b, "x", &first);
  if (m->op == LKD_OP_BACKWARD)
    lkd_append_tensor_meta(b, "dy", &first);
  if (lkd_model_takes_alpha(m))
    lkd_append_tensor_meta(b, "alpha", &first);
  lk_buf_append_str(b, "],\"outputs\":[");
  const char *outputs[2];
  size_t n = lkd_model_outputs(m, outputs);
  first = 1;
  for (size_t i = 0; i < n; i++)
    lkd_append_tensor_meta(b, outputs[i], &first);
  lk_buf_append_str(b, "]}");
}

static void lkd_on_model_ready(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                               lkd_response *r) {
  if (lkd_model_of_path(info->path, r))
    lkd_kserve_empty(r);
}

static void lkd_on_repository_index(lkd_server *s, const lkd_request_info *info, char *body,
                                    size_t len, lkd_response *r) {
  /* The body is empty or an object such as {"ready":true}: every model is
   * ready, so both answers are the same list; "ready", when given, must be
   * a boolean (Triton's repository extension). */
  if (len > 0) {
    cJSON *root = memchr(body, '\0', len) ? NULL : cJSON_ParseWithLength(body, len);
    const cJSON *ready = cJSON_GetObjectItemCaseSensitive(root, "ready");
    const int object = cJSON_IsObject(root), ready_ok = !ready || cJSON_IsBool(ready);
    cJSON_Delete(root);
    if (!object || !ready_ok) {
      lkd_kserve_fail(r, LKD_INVALID_ARGUMENT,
                      !object ? "the repository index request must be empty or a JSON object"
                              : "\"ready\" must be true or false");
      return;
    }
  }
  lkd_kserve_json(r);
  lk_buf *b = &r->body;
  lk_buf_append(b, "[", 1);
  for (size_t i = 0; i < LKD_KSERVE_NMODELS; i++) {
    lk_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
    lkd_json_append_string(b, lkd_kserve_models[i].name);
    lk_buf_append_str(b, ",\"version\":\"" LKD_KSERVE_VERSION "\",\"state\":\"READY\"}");
  }
  lk_buf_append(b, "]", 1);
}

/* ---- inference: decoding ---- */

typedef enum lkd_kserve_dtype { LKD_DT_FP32, LKD_DT_FP16, LKD_DT_BF16 } lkd_kserve_dtype;

/* One input tensor of a request. */
typedef struct lkd_kserve_input {
  const char *name;
  lkd_kserve_dtype dtype;
  size_t rank;
  size_t shape[LEAKYCL_MAX_RANK];
  size_t count;
  const lk_tensor *json; /* its "data", spliced from the body; or NULL */
  int binary;            /* its bytes follow the JSON header */
  size_t binary_size;
  const float *values; /* FP32: count floats, json->values or owned */
  float *owned;
  uint16_t *halves; /* FP16, BF16: count 16-bit patterns (binary only) */
} lkd_kserve_input;

/* A decoded inference request. */
typedef struct lkd_kserve_infer {
  const lkd_kserve_model *model;
  cJSON *root;
  lk_splice_table table;
  char *json_copy; /* the JSON header when it could not be parsed in place */
  const cJSON *id;
  lkd_kserve_input inputs[3];
  size_t ninputs;
  lkd_kserve_input *x, *dy, *alpha;
  const char *outputs[2]; /* in the answer's order */
  int output_binary[2];
  size_t noutputs;
  int binary_output; /* request parameter binary_data_output */
  lkd_job job;
} lkd_kserve_infer;

static void lkd_kserve_infer_free(lkd_kserve_infer *q) {
  for (size_t i = 0; i < q->ninputs; i++) {
    free(q->inputs[i].owned);
    free(q->inputs[i].halves);
  }
  lkd_job_release(&q->job);
  cJSON_Delete(q->root);
  lk_splice_table_free(&q->table);
  free(q->json_copy);
}

/* The spliced tensor an empty-object placeholder stands for (its index + 1
 * in valuedouble, set by lkd_tag_spliced), or NULL. */
static const lk_tensor *lkd_spliced_of(const cJSON *item, const lk_splice_table *table) {
  if (!item || !cJSON_IsObject(item) || item->child || item->valuedouble < 1)
    return NULL;
  size_t k = (size_t)item->valuedouble - 1;
  return k < table->count ? &table->tensors[k] : NULL;
}

static int lkd_is_spliced_key(const char *key) {
  return key && (strcmp(key, "data") == 0 || strcmp(key, "alpha") == 0 || strcmp(key, "beta") == 0);
}

/* Tags the k-th empty-object member with a spliced key, in document order
 * (the splice's), as tensor k; returns how many there were. */
static size_t lkd_tag_spliced(cJSON *node, size_t next, size_t limit) {
  for (cJSON *c = node->child; c; c = c->next) {
    if (cJSON_IsObject(c) && !c->child && lkd_is_spliced_key(c->string)) {
      if (next < limit)
        c->valuedouble = (double)(next + 1);
      next++;
    } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
      next = lkd_tag_spliced(c, next, limit);
    }
  }
  return next;
}

/* A scalar parameter: the splice's correctly rounded float32, or cJSON's
 * number (a single digit, exact). Finite only. */
static int lkd_float_param(const cJSON *item, const lk_splice_table *table, float *out) {
  const lk_tensor *t = lkd_spliced_of(item, table);
  if (t)
    return t->rank == 0 && t->count == 1 && isfinite(t->values[0]) ? (*out = t->values[0], 0) : -1;
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
      fabs(item->valuedouble) > (double)FLT_MAX)
    return -1;
  *out = (float)item->valuedouble;
  return 0;
}

/* An integer in [lo, hi] from valuedouble (never cJSON's saturated valueint). */
static int lkd_integer(const cJSON *item, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(item))
    return -1;
  double v = item->valuedouble;
  if (!isfinite(v) || v != floor(v) || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int lkd_only_fields(const cJSON *obj, const char *what, const char *const *fields, size_t n,
                           lkd_error *e) {
  char t1[64];
  for (const cJSON *c = obj->child; c; c = c->next) {
    size_t i = 0;
    while (i < n && !(c->string && strcmp(c->string, fields[i]) == 0))
      i++;
    if (i == n)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "unknown field \"%s\" in %s",
                      lkd_user_text(c->string ? c->string : "", t1, sizeof t1), what);
  }
  return 0;
}

static const char *lkd_dtype_name(lkd_kserve_dtype dt) {
  return dt == LKD_DT_FP32 ? "FP32" : dt == LKD_DT_FP16 ? "FP16" : "BF16";
}

static leakycl_dtype lkd_library_dtype(lkd_kserve_dtype dt) {
  return dt == LKD_DT_FP32   ? LEAKYCL_FLOAT32
         : dt == LKD_DT_FP16 ? LEAKYCL_FLOAT16
                             : LEAKYCL_BFLOAT16;
}

/* Decodes one element of "inputs" (not yet its binary bytes). */
static int lkd_input_decode(const lkd_kserve_infer *q, const cJSON *obj, size_t max_elements,
                            lkd_kserve_input *in, lkd_error *e) {
  static const char *const fields[] = {"name", "shape", "datatype", "parameters", "data"};
  char t1[64];
  if (!cJSON_IsObject(obj))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "every input must be a JSON object");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
  if (!cJSON_IsString(name))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "every input needs a \"name\" (a string)");
  in->name = name->valuestring;
  const char *nm = lkd_user_text(in->name, t1, sizeof t1);
  if (lkd_only_fields(obj, "an input", fields, sizeof fields / sizeof fields[0], e) != 0)
    return -1;
  if (!lkd_model_input(q->model, in->name))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "model \"%s\" has no input \"%s\" (inputs: %s)",
                    q->model->name, nm,
                    q->model->op == LKD_OP_FORWARD
                        ? (lkd_model_takes_alpha(q->model) ? "x, alpha" : "x")
                        : (lkd_model_takes_alpha(q->model) ? "x, dy, alpha" : "x, dy"));

  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(obj, "datatype");
  if (!cJSON_IsString(dt))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s needs a \"datatype\" (FP32)", nm);
  if (strcmp(dt->valuestring, "FP32") == 0)
    in->dtype = LKD_DT_FP32;
  else if (strcmp(dt->valuestring, "FP16") == 0)
    in->dtype = LKD_DT_FP16;
  else if (strcmp(dt->valuestring, "BF16") == 0)
    in->dtype = LKD_DT_BF16;
  else
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "input %s has datatype %s; expected FP32 (or FP16, BF16 as binary data)", nm,
                    lkd_user_text(dt->valuestring, t1 + 32, sizeof t1 - 32));

  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(obj, "shape");
  if (!cJSON_IsArray(shape))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s needs a \"shape\" (an array of sizes)", nm);
  size_t count = 1;
  int overflow = 0;
  in->rank = 0;
  for (const cJSON *d = shape->child; d; d = d->next) {
    double v;
    if (in->rank == LEAKYCL_MAX_RANK)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s has a shape of rank over %d", nm,
                      LEAKYCL_MAX_RANK);
    if (lkd_integer(d, 0, 9007199254740992.0, &v) != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input %s: shape[%zu] is not a size (an integer >= 0)", nm, in->rank);
    size_t dim = (size_t)v;
    in->shape[in->rank++] = dim;
    if (dim != 0 && count > SIZE_MAX / dim)
      overflow = 1;
    else
      count *= dim;
  }
  for (size_t i = 0; i < in->rank; i++)
    if (in->shape[i] == 0)
      count = 0, overflow = 0; /* [0, 2^40, 2^40] holds no element */
  if (overflow || count > max_elements)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                    "input %s has more elements than the limit of %zu (--max-elements)", nm,
                    max_elements);
  in->count = count;

  const cJSON *params = cJSON_GetObjectItemCaseSensitive(obj, "parameters");
  if (params) {
    if (!cJSON_IsObject(params))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: parameters must be an object", nm);
    for (const cJSON *p = params->child; p; p = p->next) {
      double v;
      if (strcmp(p->string, "binary_data_size") == 0) {
        if (lkd_integer(p, 0, 9007199254740992.0, &v) != 0)
          return lkd_fail(e, LKD_INVALID_ARGUMENT,
                          "input %s: binary_data_size must be an integer >= 0", nm);
        in->binary = 1;
        in->binary_size = (size_t)v;
      } else if (strncmp(p->string, "shared_memory", 13) == 0) {
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "input %s: shared memory is not supported (send data or binary data)", nm);
      } else {
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "input %s: unknown parameter \"%s\" (expected binary_data_size)", nm,
                        lkd_user_text(p->string, t1 + 32, sizeof t1 - 32));
      }
    }
  }

  const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
  if (data && in->binary)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "input %s has both data and binary_data_size; give one", nm);
  if (!data && !in->binary)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "input %s has no data (give \"data\" or parameters.binary_data_size)", nm);
  size_t elem = LKD_KSERVE_FP32_SIZE;
  if (in->dtype != LKD_DT_FP32) {
    if (!in->binary)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input %s: datatype %s travels only as binary data (the binary tensor "
                      "data extension), not in JSON",
                      nm, lkd_dtype_name(in->dtype));
    if (strcmp(in->name, "alpha") == 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "input alpha must be FP32 (it is %s)",
                      lkd_dtype_name(in->dtype));
    elem = LKD_KSERVE_HALF_SIZE;
  }
  if (in->binary) {
    if (in->binary_size != in->count * elem)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input %s: binary_data_size is %zu bytes, but shape holds %zu %s values "
                      "(%zu bytes)",
                      nm, in->binary_size, in->count, lkd_dtype_name(in->dtype), in->count * elem);
    return 0;
  }
  in->json = lkd_spliced_of(data, &q->table);
  if (!in->json || in->json->is_b64)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: data must be an array of numbers", nm);
  if (in->json->error[0])
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: %s", nm, in->json->error);
  if (in->json->count != in->count)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: shape holds %zu elements but data has %zu",
                    nm, in->count, in->json->count);
  in->values = in->json->values;
  return 0;
}

/* Decodes "outputs" (which, and how: JSON or binary). Without it every
 * output of the model comes back, as binary_data_output says. */
static int lkd_outputs_decode(lkd_kserve_infer *q, const cJSON *outputs, lkd_error *e) {
  const char *names[2];
  size_t n = lkd_model_outputs(q->model, names);
  char t1[64];
  if (!outputs) {
    for (size_t i = 0; i < n; i++) {
      q->outputs[i] = names[i];
      q->output_binary[i] = q->binary_output;
    }
    q->noutputs = n;
    return 0;
  }
  if (!cJSON_IsArray(outputs))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "outputs must be an array of objects");
  static const char *const fields[] = {"name", "parameters"};
  for (const cJSON *o = outputs->child; o; o = o->next) {
    if (!cJSON_IsObject(o))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "every output must be a JSON object");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (!cJSON_IsString(name))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "every output needs a \"name\" (a string)");
    if (lkd_only_fields(o, "an output", fields, sizeof fields / sizeof fields[0], e) != 0)
      return -1;
    size_t k = 0;
    while (k < n && strcmp(names[k], name->valuestring) != 0)
      k++;
    if (k == n)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "model \"%s\" has no output \"%s\" (outputs: %s%s)",
                      q->model->name, lkd_user_text(name->valuestring, t1, sizeof t1), names[0],
                      n > 1 ? ", dalpha" : "");
    for (size_t j = 0; j < q->noutputs; j++)
      if (strcmp(q->outputs[j], names[k]) == 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "output %s is requested twice", names[k]);
    int binary = q->binary_output;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "parameters");
    if (params && !cJSON_IsObject(params))
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "output %s: parameters must be an object", names[k]);
    for (const cJSON *p = params ? params->child : NULL; p; p = p->next) {
      if (strcmp(p->string, "binary_data") != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "output %s: unknown parameter \"%s\" (expected binary_data)", names[k],
                        lkd_user_text(p->string, t1, sizeof t1));
      if (!cJSON_IsBool(p))
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "output %s: binary_data must be true or false",
                        names[k]);
      binary = cJSON_IsTrue(p);
    }
    q->outputs[q->noutputs] = names[k];
    q->output_binary[q->noutputs++] = binary;
  }
  return 0;
}

/* The request-level parameters: alpha, beta, channel_axis,
 * binary_data_output; Triton's scheduling hints are accepted and ignored. */
static int lkd_params_decode(lkd_kserve_infer *q, const cJSON *params, int *have_axis, long *axis,
                             lkd_error *e) {
  static const char *const ignored[] = {"priority", "timeout"};
  leakycl_params *lp = &q->job.params;
  char t1[64];
  if (!params)
    return 0;
  if (!cJSON_IsObject(params))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "parameters must be an object");
  for (const cJSON *p = params->child; p; p = p->next) {
    const char *key = p->string;
    if (strcmp(key, "alpha") == 0) {
      if (!lkd_model_takes_alpha(q->model))
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "relu takes no alpha");
      if (lkd_float_param(p, &q->table, &q->job.alpha_scalar) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "parameter alpha must be a finite number (a per-channel alpha is an "
                        "input tensor \"alpha\")");
      lp->alpha = &q->job.alpha_scalar;
      lp->alpha_count = 1;
    } else if (strcmp(key, "beta") == 0) {
      if (q->model->activation != LEAKYCL_PHASED_RELU)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "beta applies to phased_relu only");
      if (lkd_float_param(p, &q->table, &lp->beta) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "parameter beta must be a finite number");
    } else if (strcmp(key, "channel_axis") == 0) {
      double v;
      if (lkd_integer(p, -1e6, 1e6, &v) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "parameter channel_axis must be an integer");
      *have_axis = 1;
      *axis = (long)v;
    } else if (strcmp(key, "binary_data_output") == 0) {
      if (!cJSON_IsBool(p))
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "binary_data_output must be true or false");
      q->binary_output = cJSON_IsTrue(p);
    } else if (!(strcmp(key, ignored[0]) == 0 || strcmp(key, ignored[1]) == 0)) {
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "unknown parameter \"%s\" (expected alpha, beta, channel_axis or "
                      "binary_data_output)",
                      lkd_user_text(key, t1, sizeof t1));
    }
  }
  return 0;
}

/* Copies the binary inputs' bytes (bin[0, n), in input order) into owned,
 * aligned floats. */
static int lkd_binary_inputs(lkd_kserve_infer *q, const unsigned char *bin, size_t n,
                             lkd_error *e) {
  size_t want = 0;
  for (size_t i = 0; i < q->ninputs; i++)
    if (q->inputs[i].binary)
      want += q->inputs[i].binary_size;
  if (want != n)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "the inputs' binary_data_size add up to %zu bytes, but %zu bytes follow the "
                    "JSON header (Inference-Header-Content-Length)",
                    want, n);
  size_t at = 0;
  for (size_t i = 0; i < q->ninputs; i++) {
    lkd_kserve_input *in = &q->inputs[i];
    if (!in->binary)
      continue;
    if (in->dtype == LKD_DT_FP32) {
      in->owned = malloc((in->count ? in->count : 1) * sizeof(float));
      if (!in->owned)
        return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for input %s", in->name);
      lkd_kserve_floats_from_le(in->owned, bin + at, in->count);
      in->values = in->owned;
    } else {
      in->halves = malloc((in->count ? in->count : 1) * sizeof(uint16_t));
      if (!in->halves)
        return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for input %s", in->name);
      lkd_kserve_halves_from_le(in->halves, bin + at, in->count);
    }
    at += in->binary_size;
  }
  return 0;
}

static int lkd_same_shape(const lkd_kserve_input *a, const lkd_kserve_input *b) {
  return a->rank == b->rank && memcmp(a->shape, b->shape, a->rank * sizeof a->shape[0]) == 0;
}

/* Appends "[d0,d1,...]". */
static void lkd_append_shape(lk_buf *b, const size_t *shape, size_t rank) {
  lk_buf_append(b, "[", 1);
  for (size_t i = 0; i < rank; i++) {
    char d[24];
    int n = snprintf(d, sizeof d, i ? ",%zu" : "%zu", shape[i]);
    lk_buf_append(b, d, (size_t)n);
  }
  lk_buf_append(b, "]", 1);
}

static void lkd_shape_text(const lkd_kserve_input *in, char *out, size_t cap) {
  lk_buf b = {0};
  lkd_append_shape(&b, in->shape, in->rank);
  snprintf(out, cap, "%s", b.data && !b.oom ? b.data : "?");
  lk_buf_free(&b);
}

/* Turns the decoded inputs and parameters into the job (as /v1 validates
 * a job: jobs.c). */
static int lkd_job_build(lkd_kserve_infer *q, int have_axis, long axis, lkd_error *e) {
  lkd_job *job = &q->job;
  if (!q->x)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input x is required");
  if (q->model->op == LKD_OP_BACKWARD && !q->dy)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input dy is required (model %s)", q->model->name);
  if (q->dy && !lkd_same_shape(q->x, q->dy)) {
    char sx[96], sdy[96];
    lkd_shape_text(q->x, sx, sizeof sx);
    lkd_shape_text(q->dy, sdy, sizeof sdy);
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy has shape %s but x has shape %s", sdy, sx);
  }
  if (q->dy && q->dy->dtype != q->x->dtype)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy is %s but x is %s: give both the same datatype",
                    lkd_dtype_name(q->dy->dtype), lkd_dtype_name(q->x->dtype));
  /* y and dx come back in x's datatype; FP16 and BF16 only as binary. */
  for (size_t i = 0; i < q->noutputs; i++)
    if (q->x->dtype != LKD_DT_FP32 && !q->output_binary[i] && strcmp(q->outputs[i], "dalpha") != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "output %s would be %s, which travels only as binary data: ask for it "
                      "with binary_data",
                      q->outputs[i], lkd_dtype_name(q->x->dtype));
  job->op = q->model->op;
  job->device = 0;
  job->source = LEAKYCL_FROM_X;
  job->dtype = lkd_library_dtype(q->x->dtype);
  job->x = q->x->dtype == LKD_DT_FP32 ? (const void *)q->x->values : q->x->halves;
  job->dy = !q->dy                        ? NULL
            : q->dy->dtype == LKD_DT_FP32 ? (const void *)q->dy->values
                                          : q->dy->halves;
  job->count = q->x->count;
  if (!have_axis)
    axis = q->x->rank >= 2 ? 1 : 0;
  char verr[200] = "";
  if (leakycl_view_from_shape(q->x->shape, q->x->rank, axis, &job->view, verr, sizeof verr) !=
      LEAKYCL_OK)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", verr[0] ? verr : "bad shape or channel_axis");
  if (q->alpha) {
    const lkd_kserve_input *a = q->alpha;
    if (job->params.alpha_count)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "give alpha as a parameter (shared) or as an input tensor, not both");
    if (a->rank != 1 || a->count == 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input alpha must have shape [C] (C channels) or [1] (shared)");
    if (lkd_alpha_values_check(a->values, a->count, job->view.channels, e) != 0)
      return -1;
    job->params.alpha = a->values;
    job->params.alpha_count = a->count;
  }
  job->want_grads = lkd_model_has_dalpha(q->model);
  job->grad_count = job->params.alpha_count ? job->params.alpha_count : 1;
  return 0;
}

/* Decodes the request body into q. Returns 0, or -1 with e set. */
static int lkd_infer_decode(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                            lkd_kserve_infer *q, lkd_error *e) {
  char err[256] = "";
  size_t json_len = len;
  if (info->inference_header_length &&
      lkd_kserve_header_length(info->inference_header_length, len, &json_len, err, sizeof err) != 0)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", err);
  if (memchr(body, '\0', json_len))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "the JSON header contains a NUL byte");
  const size_t header_len = json_len; /* the binary tensor data follows */
  /* The header is parsed in place (big JSON tensors are not copied) unless
   * binary bytes follow it or bare NaN/Infinity need quotes. */
  char *json = body;
  if (json_len < len || lkd_kserve_count_nonfinite(body, json_len) > 0) {
    q->json_copy = lkd_kserve_quote_nonfinite(body, json_len, &json_len);
    if (!q->json_copy)
      return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory reading the JSON header");
    json = q->json_copy;
  }

  static const char *const arrays[] = {"data"};
  static const char *const scalars[] = {"alpha", "beta"};
  static const lk_splice_keys keys = {arrays, 1, scalars, 2, NULL, 0};
  lk_limits limits = {json_len / 2 + 2, LK_CODEC_MAX_RANK};
  size_t envelope_len = json_len;
  if (lk_splice_body(json, json_len, &keys, &limits, s->config.max_depth, &q->table, &envelope_len,
                     err, sizeof err) != 0)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", err[0] ? err : "malformed tensor data");
  /* An inference header holds a few dozen values besides its tensors. */
  if (lkd_envelope_values(json, envelope_len) > 4096)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE, "too many JSON values outside the tensor data");
  json[envelope_len] = '\0';
  const char *parse_end = NULL;
  q->root = cJSON_ParseWithLengthOpts(json, envelope_len + 1, &parse_end, 1);
  if (!q->root) {
    size_t off = parse_end && parse_end >= json ? (size_t)(parse_end - json) : 0;
    off = lk_splice_body_offset(&q->table, off > envelope_len ? envelope_len : off);
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "malformed JSON at offset %zu", off);
  }
  if (!cJSON_IsObject(q->root))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "the inference request must be a JSON object");
  if (lkd_tag_spliced(q->root, 0, q->table.count) != q->table.count)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "data, alpha and beta must be arrays or numbers, not objects");
  static const char *const fields[] = {"id", "parameters", "inputs", "outputs"};
  if (lkd_only_fields(q->root, "the request", fields, sizeof fields / sizeof fields[0], e) != 0)
    return -1;
  q->id = cJSON_GetObjectItemCaseSensitive(q->root, "id");
  if (q->id && !cJSON_IsString(q->id))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "id must be a string");

  if (leakycl_params_init(&q->job.params, q->model->activation) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INTERNAL, "cannot initialise parameters");
  int have_axis = 0;
  long axis = 0;
  if (lkd_params_decode(q, cJSON_GetObjectItemCaseSensitive(q->root, "parameters"), &have_axis,
                        &axis, e) != 0)
    return -1;

  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(q->root, "inputs");
  if (!cJSON_IsArray(inputs) || !inputs->child)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "inputs must be a non-empty array (input x)");
  for (const cJSON *c = inputs->child; c; c = c->next) {
    if (q->ninputs == sizeof q->inputs / sizeof q->inputs[0])
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "model \"%s\" takes at most %s inputs",
                      q->model->name, q->model->op == LKD_OP_FORWARD ? "2" : "3");
    lkd_kserve_input *in = &q->inputs[q->ninputs];
    if (lkd_input_decode(q, c, s->config.max_elements, in, e) != 0)
      return -1;
    lkd_kserve_input **slot = strcmp(in->name, "x") == 0    ? &q->x
                              : strcmp(in->name, "dy") == 0 ? &q->dy
                                                            : &q->alpha;
    if (*slot)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s is given twice", in->name);
    *slot = in;
    q->ninputs++;
  }
  if (lkd_outputs_decode(q, cJSON_GetObjectItemCaseSensitive(q->root, "outputs"), e) != 0)
    return -1;
  if (lkd_binary_inputs(q, (const unsigned char *)body + header_len, len - header_len, e) != 0)
    return -1;
  return lkd_job_build(q, have_axis, axis, e);
}

/* ---- inference: running and answering ---- */

/* Appends a flat JSON array of floats as the codec prints them, except
 * -0 as "-0.0": JSON readers (Python's json, rapidjson, so tritonclient)
 * read "-0" as the integer 0 and would lose the sign. */
static void lkd_append_data(lk_buf *b, const float *values, size_t count) {
  char text[LK_FLOAT_TEXT_MAX + 1];
  if (lk_buf_reserve(b, count * 4 + 2) != 0)
    return;
  lk_buf_append(b, "[", 1);
  for (size_t i = 0; i < count; i++) {
    if (i)
      lk_buf_append(b, ",", 1);
    if (values[i] == 0 && signbit(values[i]))
      lk_buf_append(b, "-0.0", 4);
    else
      lk_buf_append(b, text, lk_float_print(values[i], text));
  }
  lk_buf_append(b, "]", 1);
}

/* Appends the answer: the JSON header, then the binary outputs' bytes in
 * output order; sets the header length when there are any. */
static void lkd_infer_answer(const lkd_kserve_infer *q, lkd_response *r) {
  const lkd_job *job = &q->job;
  lk_buf *b = &r->body;
  lk_buf_append_str(b, "{\"model_name\":");
  lkd_json_append_string(b, q->model->name);
  lk_buf_append_str(b, ",\"model_version\":\"" LKD_KSERVE_VERSION "\"");
  if (q->id) {
    lk_buf_append_str(b, ",\"id\":");
    lkd_json_append_string(b, q->id->valuestring);
  }
  lk_buf_append_str(b, ",\"outputs\":[");
  const void *values[2];
  size_t counts[2];
  lkd_kserve_dtype dtypes[2];
  int any_binary = 0;
  for (size_t i = 0; i < q->noutputs; i++) {
    int is_dalpha = strcmp(q->outputs[i], "dalpha") == 0;
    values[i] = is_dalpha ? (const void *)job->dalpha : job->out;
    counts[i] = is_dalpha ? job->grad_count : job->count;
    dtypes[i] = is_dalpha ? LKD_DT_FP32 : q->x->dtype; /* dalpha is always FP32 */
    lk_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
    lkd_json_append_string(b, q->outputs[i]);
    lk_buf_append_str(b, ",\"datatype\":\"");
    lk_buf_append_str(b, lkd_dtype_name(dtypes[i]));
    lk_buf_append_str(b, "\",\"shape\":");
    if (is_dalpha)
      lkd_append_shape(b, &counts[i], 1);
    else
      lkd_append_shape(b, q->x->shape, q->x->rank);
    if (q->output_binary[i]) {
      char size[48];
      int n = snprintf(
          size, sizeof size, ",\"parameters\":{\"binary_data_size\":%zu}}",
          counts[i] * (dtypes[i] == LKD_DT_FP32 ? LKD_KSERVE_FP32_SIZE : LKD_KSERVE_HALF_SIZE));
      lk_buf_append(b, size, (size_t)n);
      any_binary = 1;
    } else {
      lk_buf_append_str(b, ",\"data\":");
      lkd_append_data(b, (const float *)values[i], counts[i]); /* FP32: checked at decode */
      lk_buf_append(b, "}", 1);
    }
  }
  lk_buf_append_str(b, "]}");
  r->status = 200;
  r->content_type = "application/json";
  if (!any_binary)
    return;
  r->content_type = "application/octet-stream";
  r->extra_header = "Inference-Header-Content-Length";
  snprintf(r->extra_value, sizeof r->extra_value, "%zu", b->len);
  for (size_t i = 0; i < q->noutputs; i++) {
    if (!q->output_binary[i])
      continue;
    if (dtypes[i] == LKD_DT_FP32)
      lkd_kserve_append_le(b, (const float *)values[i], counts[i]);
    else
      lkd_kserve_append_le16(b, (const uint16_t *)values[i], counts[i]);
  }
}

static void lkd_infer(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                      lkd_response *r) {
  lkd_kserve_infer q;
  memset(&q, 0, sizeof q);
  lkd_error e = {LKD_OK, ""};
  q.model = lkd_model_of_path(info->path, r);
  if (!q.model)
    return;
  if (lkd_infer_decode(s, info, body, len, &q, &e) != 0 || lkd_job_run(s, &q.job) != 0) {
    if (e.code == LKD_OK)
      e = q.job.err;
    lkd_metrics_jobs(s->metrics, 0, 1);
    lkd_respond_error(r, &e, "/v2");
  } else {
    lkd_metrics_jobs(s->metrics, 1, 0);
    lkd_infer_answer(&q, r);
  }
  lkd_kserve_infer_free(&q);
}

static void lkd_on_infer(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                         lkd_response *r) {
  /* Big bodies take one of the few big slots, as /v1's jobs do. */
  const int big = len > LKD_BIG_BODY;
  if (big) {
    while (sem_wait(&s->big_slots) != 0 && errno == EINTR)
      ;
  }
  lkd_infer(s, info, body, len, r);
  if (big)
    sem_post(&s->big_slots);
}

/* ---- routes ---- */

static const lkd_route lkd_kserve_routes[] = {
    {"/v2", "GET", 0, lkd_on_server_metadata},
    {"/v2/health/live", "GET", 0, lkd_on_live},
    {"/v2/health/ready", "GET", 0, lkd_on_ready},
    {"/v2/repository/index", "POST", 1, lkd_on_repository_index},
    {"/v2/models/{name}", "GET", 0, lkd_on_model_metadata},
    {"/v2/models/{name}/ready", "GET", 0, lkd_on_model_ready},
    {"/v2/models/{name}/infer", "POST", 1, lkd_on_infer},
};

const lkd_route *lkd_kserve_route_find(const char *method, const char *path, lkd_error_code *code,
                                       const char **allow) {
  /* A model path, versioned or not, is looked up by its template. */
  lkd_model_path mp;
  const char *key = path;
  if (lkd_parse_model_path(path, &mp) == 0)
    key = mp.action[0] == '\0'  ? "/v2/models/{name}"
          : mp.action[0] == 'r' ? "/v2/models/{name}/ready"
                                : "/v2/models/{name}/infer";
  return lkd_route_in(lkd_kserve_routes, sizeof lkd_kserve_routes / sizeof lkd_kserve_routes[0],
                      key, method, code, allow);
}
