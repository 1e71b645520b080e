/* v2_infer.c - inference on the Open Inference Protocol: a request (JSON
 * "data", or raw bytes after the JSON header: the binary tensor data
 * extension, v2_frame.c) decoded into one lkd_job, run as /v1's jobs are
 * (exec/run.c: the same limits, coalescing and metrics), and answered. */
#include "v2_infer.h"
#include "v2_request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "float_text.h"
#include "json_write.h"
#include "metrics.h"
#include "run.h"
#include "v2_frame.h"
#include "v2_models.h"
#include "v2_stats.h"

/* ---- inference: decoding ---- */

static void lkd_kserve_infer_free(lkd_kserve_infer *q) {
  for (size_t i = 0; i < q->ninputs; i++) {
    free(q->inputs[i].owned);
    free(q->inputs[i].halves);
    free(q->inputs[i].bytes);
  }
  free(q->mask_words);
  lkd_job_release(&q->job);
  lkd_envelope_free(&q->envelope);
  free(q->json_copy);
}

/* Fails on the first member of obj that is not one of fields, naming what
 * obj is ("an input", "the request"). */
static int lkd_only_fields(const cJSON *obj, const char *what, const char *const *fields, size_t n,
                           lkd_error *e) {
  char t1[64];
  const cJSON *c = lkd_json_unknown_field(obj, fields, n);
  if (c)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "unknown field \"%s\" in %s",
                    lkd_user_text(c->string ? c->string : "", t1, sizeof t1), what);
  return 0;
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
                    q->model->op == LEAKYCL_OP_FORWARD
                        ? (lkd_model_takes_alpha(q->model) ? "x, alpha" : "x")
                        : (lkd_model_takes_alpha(q->model) ? "x, dy, alpha, mask" : "x, dy, mask"));

  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(obj, "datatype");
  if (!cJSON_IsString(dt))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s needs a \"datatype\" (FP32)", nm);
  if (strcmp(dt->valuestring, "FP32") == 0)
    in->dtype = LKD_DT_FP32;
  else if (strcmp(dt->valuestring, "FP16") == 0)
    in->dtype = LKD_DT_FP16;
  else if (strcmp(dt->valuestring, "BF16") == 0)
    in->dtype = LKD_DT_BF16;
  else if (strcmp(dt->valuestring, "UINT8") == 0)
    in->dtype = LKD_DT_UINT8;
  else if (strcmp(dt->valuestring, "BOOL") == 0)
    in->dtype = LKD_DT_BOOL;
  else
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "input %s has datatype %s; expected FP32 (or FP16, BF16 as binary data)", nm,
                    lkd_user_text(dt->valuestring, t1 + 32, sizeof t1 - 32));
  /* The packed mask is bytes (UINT8, or BOOL unpacked); tensors are floats. */
  const int is_mask = strcmp(in->name, "mask") == 0;
  if (is_mask != (in->dtype == LKD_DT_UINT8 || in->dtype == LKD_DT_BOOL))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s has datatype %s; expected %s", nm,
                    lkd_v2_dtype_name(in->dtype),
                    is_mask ? "UINT8 (the packed mask) or BOOL" : "FP32, FP16 or BF16");

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
    if (lkd_json_integer(d, 0, 9007199254740992.0, &v) != 0)
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
        if (lkd_json_integer(p, 0, 9007199254740992.0, &v) != 0)
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
  if (is_mask) {
    elem = 1;
    if (in->dtype == LKD_DT_BOOL && !in->binary)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input mask: BOOL travels only as binary data here; send the packed UINT8 "
                      "mask as JSON data");
  } else if (in->dtype != LKD_DT_FP32) {
    if (!in->binary)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input %s: datatype %s travels only as binary data (the binary tensor "
                      "data extension), not in JSON",
                      nm, lkd_v2_dtype_name(in->dtype));
    if (strcmp(in->name, "alpha") == 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "input alpha must be FP32 (it is %s)",
                      lkd_v2_dtype_name(in->dtype));
    elem = LKD_KSERVE_HALF_SIZE;
  }
  if (in->binary) {
    if (in->binary_size != in->count * elem)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input %s: binary_data_size is %zu bytes, but shape holds %zu %s values "
                      "(%zu bytes)",
                      nm, in->binary_size, in->count, lkd_v2_dtype_name(in->dtype),
                      in->count * elem);
    return 0;
  }
  in->json = lkd_envelope_tensor(&q->envelope, data);
  if (!in->json || in->json->is_b64)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: data must be an array of numbers", nm);
  if (in->json->error[0])
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: %s", nm, in->json->error);
  if (in->json->count != in->count)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s: shape holds %zu elements but data has %zu",
                    nm, in->count, in->json->count);
  in->values = in->json->values;
  if (is_mask) { /* UINT8 data: integers 0..255 */
    in->bytes = malloc(in->count ? in->count : 1);
    if (!in->bytes)
      return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for input %s", nm);
    for (size_t i = 0; i < in->count; i++) {
      const float v = in->values[i];
      if (!(v >= 0 && v <= 255 && v == (float)(int)v))
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "input mask: data[%zu] is not a UINT8 value", i);
      in->bytes[i] = (uint8_t)v;
    }
  }
  return 0;
}

/* Decodes "outputs" (which, and how: JSON or binary). Without it every
 * output of the model comes back, as binary_data_output says. */
static int lkd_outputs_decode(lkd_kserve_infer *q, const cJSON *outputs, lkd_error *e) {
  const char *names[2];
  size_t n = lkd_model_outputs(q->model, names);
  char t1[64];
  q->outputs_given = outputs != NULL;
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
    /* A forward's mask comes only when asked for. */
    const int mask =
        k == n && q->model->op == LEAKYCL_OP_FORWARD && strcmp(name->valuestring, "mask") == 0;
    if (mask)
      names[k] = "mask";
    if (k == n && !mask)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "model \"%s\" has no output \"%s\" (outputs: %s%s)",
                      q->model->name, lkd_user_text(name->valuestring, t1, sizeof t1), names[0],
                      n > 1 ? ", dalpha" : ", mask");
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

/* The request-level parameters: alpha, beta, channel_axis, conventions,
 * binary_data_output; Triton's scheduling hints are accepted and ignored. */
static int lkd_params_decode(lkd_kserve_infer *q, const cJSON *params, int *have_axis, long *axis,
                             lkd_error *e) {
  static const char *const ignored[] = {"priority", "timeout"};
  leakycl_params *lp = &q->job.run.params;
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
      if (lkd_envelope_float(&q->envelope, p, &q->job.alpha_scalar) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "parameter alpha must be a finite number (a per-channel alpha is an "
                        "input tensor \"alpha\")");
      lp->alpha = &q->job.alpha_scalar;
      lp->alpha_count = 1;
    } else if (strcmp(key, "beta") == 0) {
      if (q->model->activation != LEAKYCL_PHASED_RELU)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "beta applies to phased_relu only");
      if (lkd_envelope_float(&q->envelope, p, &lp->beta) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "parameter beta must be a finite number");
    } else if (strcmp(key, "channel_axis") == 0) {
      double v;
      if (lkd_json_integer(p, -1e6, 1e6, &v) != 0)
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "parameter channel_axis must be an integer");
      *have_axis = 1;
      *axis = (long)v;
    } else if (strcmp(key, "conventions") == 0) {
      if (!cJSON_IsString(p) ||
          leakycl_conventions_from_name(p->valuestring, &lp->conventions) != LEAKYCL_OK)
        return lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "parameter conventions must be \"pytorch\", \"ieee\" or \"jax\"");
    } else if (strcmp(key, "binary_data_output") == 0) {
      if (!cJSON_IsBool(p))
        return lkd_fail(e, LKD_INVALID_ARGUMENT, "binary_data_output must be true or false");
      q->binary_output = cJSON_IsTrue(p);
    } else if (!(strcmp(key, ignored[0]) == 0 || strcmp(key, ignored[1]) == 0)) {
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "unknown parameter \"%s\" (expected alpha, beta, channel_axis, "
                      "conventions or binary_data_output)",
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
    if (in->dtype == LKD_DT_UINT8 || in->dtype == LKD_DT_BOOL) {
      in->bytes = malloc(in->count ? in->count : 1);
      if (!in->bytes)
        return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for input %s", in->name);
      memcpy(in->bytes, bin + at, in->count);
    } else if (in->dtype == LKD_DT_FP32) {
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

static void lkd_shape_text(const lkd_kserve_input *in, char *out, size_t cap) {
  lkt_buf b = {0};
  lkd_v2_append_shape(&b, in->shape, in->rank);
  snprintf(out, cap, "%s", b.data && !b.oom ? b.data : "?");
  lkt_buf_free(&b);
}

/* Turns the decoded inputs and parameters into the job (as /v1 validates
 * a job: v1_decode.c). */
static int lkd_job_build(lkd_kserve_infer *q, int have_axis, long axis, lkd_error *e) {
  lkd_job *job = &q->job;
  if (q->mask && q->x)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "give input x or input mask (backward from the packed mask), not both");
  if (!q->x && !q->mask)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input x is required");
  if (q->model->op == LEAKYCL_OP_BACKWARD && !q->dy)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "input dy is required (model %s)", q->model->name);
  /* From the mask, dy's shape and datatype are the tensors'. */
  q->shaped = q->x ? q->x : q->dy;
  if (q->x && q->dy && !lkd_same_shape(q->x, q->dy)) {
    char sx[96], sdy[96];
    lkd_shape_text(q->x, sx, sizeof sx);
    lkd_shape_text(q->dy, sdy, sizeof sdy);
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy has shape %s but x has shape %s", sdy, sx);
  }
  if (q->x && q->dy && q->dy->dtype != q->x->dtype)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "dy is %s but x is %s: give both the same datatype",
                    lkd_v2_dtype_name(q->dy->dtype), lkd_v2_dtype_name(q->x->dtype));
  /* y and dx come back in x's datatype; FP16 and BF16 only as binary. */
  const lkd_kserve_input *t = q->shaped;
  for (size_t i = 0; i < q->noutputs; i++)
    if (t->dtype != LKD_DT_FP32 && !q->output_binary[i] && strcmp(q->outputs[i], "dalpha") != 0 &&
        strcmp(q->outputs[i], "mask") != 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "output %s would be %s, which travels only as binary data: ask for it "
                      "with binary_data",
                      q->outputs[i], lkd_v2_dtype_name(t->dtype));
  job->run.op = q->model->op;
  job->device = LKD_DEVICE_ANY; /* /v2 names none: the scheduler picks */
  job->run.source = q->mask ? LEAKYCL_FROM_MASK : LEAKYCL_FROM_X;
  job->run.dtype = lkd_library_dtype(t->dtype);
  if (q->x)
    job->run.x = q->x->dtype == LKD_DT_FP32 ? (const void *)q->x->values : q->x->halves;
  job->run.dy = !q->dy                        ? NULL
                : q->dy->dtype == LKD_DT_FP32 ? (const void *)q->dy->values
                                              : q->dy->halves;
  job->count = t->count;
  for (size_t i = 0; i < q->noutputs; i++)
    job->want_mask |= strcmp(q->outputs[i], "mask") == 0;
  if (!have_axis)
    axis = t->rank >= 2 ? 1 : 0;
  char verr[200] = "";
  if (leakycl_view_from_shape(t->shape, t->rank, axis, &job->run.view, verr, sizeof verr) !=
      LEAKYCL_OK)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", verr[0] ? verr : "bad shape or channel_axis");
  if (q->mask) {
    if (lkd_v2_mask_pack(q->model->activation, job->count, q->mask->dtype, q->mask->bytes,
                         q->mask->count, &q->mask_words, e) != 0)
      return -1;
    job->run.x = q->mask_words;
  }
  if (q->alpha) {
    const lkd_kserve_input *a = q->alpha;
    if (job->run.params.alpha_count)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "give alpha as a parameter (shared) or as an input tensor, not both");
    if (a->rank != 1 || a->count == 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input alpha must have shape [C] (C channels) or [1] (shared)");
    if (lkd_alpha_values_check(a->values, a->count, job->run.view.channels, e) != 0)
      return -1;
    job->run.params.alpha = a->values;
    job->run.params.alpha_count = a->count;
  }
  /* No dalpha from a mask: it needs x. */
  job->want_grads = lkd_model_has_dalpha(q->model) && !q->mask;
  for (size_t i = 0; q->mask && q->outputs_given && i < q->noutputs; i++)
    if (strcmp(q->outputs[i], "dalpha") == 0)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "output dalpha needs x: backward from the mask cannot compute it");
  if (q->mask && !q->outputs_given)
    q->noutputs = 1; /* dx only: dalpha was a default */
  job->grad_count = job->run.params.alpha_count ? job->run.params.alpha_count : 1;
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
  static const lkt_splice_keys keys = {arrays, 1, scalars, 2, NULL, 0};
  /* An inference header holds a few dozen values besides its tensors. */
  static const lkd_envelope_spec spec = {
      &keys,
      4096,
      "malformed tensor data",
      "too many JSON values outside the tensor data",
      "the inference request must be a JSON object",
      "data, alpha and beta must be arrays or numbers, not objects"};
  if (lkd_envelope_decode(&spec, json, json_len, s->config.max_depth, &q->envelope, e) != 0)
    return -1;
  const cJSON *root = q->envelope.root;
  static const char *const fields[] = {"id", "parameters", "inputs", "outputs"};
  if (lkd_only_fields(root, "the request", fields, sizeof fields / sizeof fields[0], e) != 0)
    return -1;
  q->id = cJSON_GetObjectItemCaseSensitive(root, "id");
  if (q->id && !cJSON_IsString(q->id))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "id must be a string");

  if (leakycl_params_init(&q->job.run.params, q->model->activation) != LEAKYCL_OK)
    return lkd_fail(e, LKD_INTERNAL, "cannot initialise parameters");
  int have_axis = 0;
  long axis = 0;
  if (lkd_params_decode(q, cJSON_GetObjectItemCaseSensitive(root, "parameters"), &have_axis, &axis,
                        e) != 0)
    return -1;

  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  if (!cJSON_IsArray(inputs) || !inputs->child)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "inputs must be a non-empty array (input x)");
  for (const cJSON *c = inputs->child; c; c = c->next) {
    if (q->ninputs == sizeof q->inputs / sizeof q->inputs[0])
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "model \"%s\" takes at most %s inputs",
                      q->model->name, q->model->op == LEAKYCL_OP_FORWARD ? "2" : "3");
    lkd_kserve_input *in = &q->inputs[q->ninputs];
    if (lkd_input_decode(q, c, s->config.max_elements, in, e) != 0)
      return -1;
    lkd_kserve_input **slot = strcmp(in->name, "x") == 0      ? &q->x
                              : strcmp(in->name, "dy") == 0   ? &q->dy
                              : strcmp(in->name, "mask") == 0 ? &q->mask
                                                              : &q->alpha;
    if (*slot)
      return lkd_fail(e, LKD_INVALID_ARGUMENT, "input %s is given twice", in->name);
    *slot = in;
    q->ninputs++;
  }
  if (lkd_outputs_decode(q, cJSON_GetObjectItemCaseSensitive(root, "outputs"), e) != 0)
    return -1;
  if (lkd_binary_inputs(q, (const unsigned char *)body + header_len, len - header_len, e) != 0)
    return -1;
  return lkd_job_build(q, have_axis, axis, e);
}

/* ---- inference: running ---- */

/* Decodes, runs and answers one inference, timing each step into the
 * model's statistics (v2_stats.c). */
static void lkd_infer(lkd_server *s, const lkd_request_info *info, char *body, size_t len,
                      lkd_response *r) {
  lkd_v2_timing t = {lkd_v2_clock_ns(), 0, 0, 0};
  lkd_kserve_infer q;
  memset(&q, 0, sizeof q);
  lkd_error e = {LKD_OK, ""};
  q.model = lkd_model_of_path(info->path, r);
  if (!q.model)
    return;
  lkd_job *job = &q.job;
  if (lkd_infer_decode(s, info, body, len, &q, &e) == 0) {
    t.decoded = lkd_v2_clock_ns();
    lkd_jobs_run(s, &job, 1);
    t.ran = lkd_v2_clock_ns();
    e = job->err;
  }
  if (e.code != LKD_OK) {
    lkd_metrics_jobs(s->metrics, 0, 1);
    lkd_response_error(r, &e, lkd_kserve_error_body);
  } else {
    lkd_metrics_jobs(s->metrics, 1, 0);
    lkd_v2_infer_answer(&q, r);
  }
  t.answered = lkd_v2_clock_ns();
  lkd_v2_stats_record(s, q.model, job, e.code == LKD_OK, &t);
  lkd_kserve_infer_free(&q);
}

LKD_HANDLER(lkd_v2_infer) { lkd_infer(s, info, body, len, r); }
