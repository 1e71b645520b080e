/* v2_answer.c - the answer to an Open Inference Protocol inference: y or
 * dx in x's datatype, dalpha, the packed mask, each as JSON data or as
 * binary bytes after the JSON header. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "float_text.h"
#include "json_write.h"
#include "v2_frame.h"
#include "v2_request.h"

const char *lkd_v2_dtype_name(lkd_kserve_dtype dt) {
  static const char *const names[] = {"FP32", "FP16", "BF16", "UINT8", "BOOL"};
  return (unsigned)dt < sizeof names / sizeof names[0] ? names[dt] : "?";
}

void lkd_v2_append_shape(lkt_buf *b, const size_t *shape, size_t rank) {
  lkt_buf_append(b, "[", 1);
  for (size_t i = 0; i < rank; i++) {
    char d[24];
    int n = snprintf(d, sizeof d, i ? ",%zu" : "%zu", shape[i]);
    lkt_buf_append(b, d, (size_t)n);
  }
  lkt_buf_append(b, "]", 1);
}

/* Appends a flat JSON array of floats as the codec prints them, except
 * -0 as "-0.0": JSON readers (Python's json, rapidjson, so tritonclient)
 * read "-0" as the integer 0 and would lose the sign. */
static void lkd_append_data(lkt_buf *b, const float *values, size_t count) {
  char text[LKT_FLOAT_TEXT_MAX + 1];
  if (lkt_buf_reserve(b, count * 4 + 2) != 0)
    return;
  lkt_buf_append(b, "[", 1);
  for (size_t i = 0; i < count; i++) {
    if (i)
      lkt_buf_append(b, ",", 1);
    if (values[i] == 0 && signbit(values[i]))
      lkt_buf_append(b, "-0.0", 4);
    else
      lkt_buf_append(b, text, lkt_float_print(values[i], text));
  }
  lkt_buf_append(b, "]", 1);
}

/* The mask's bytes: little-endian words, byte by byte. */
static uint8_t lkd_mask_byte(const uint32_t *words, size_t b) {
  return (uint8_t)(words[b / 4] >> (8 * (b % 4)));
}

/* Appends the mask's bytes as a JSON array of integers. */
static void lkd_append_mask_data(lkt_buf *b, const uint32_t *words, size_t nbytes) {
  if (lkt_buf_reserve(b, nbytes * 4 + 2) != 0)
    return;
  lkt_buf_append(b, "[", 1);
  for (size_t i = 0; i < nbytes; i++) {
    char d[8];
    const int n = snprintf(d, sizeof d, i ? ",%u" : "%u", (unsigned)lkd_mask_byte(words, i));
    lkt_buf_append(b, d, (size_t)n);
  }
  lkt_buf_append(b, "]", 1);
}

/* One output of the answer: where its values are and how they look. */
typedef struct lkd_output {
  const void *values;
  size_t count;
  lkd_kserve_dtype dtype;
  size_t rank;
  size_t shape[LEAKYCL_MAX_RANK];
} lkd_output;

static lkd_output lkd_output_of(const lkd_kserve_infer *q, const char *name) {
  const lkd_job *job = &q->job;
  lkd_output o;
  memset(&o, 0, sizeof o);
  if (strcmp(name, "dalpha") == 0) { /* always FP32 */
    o = (lkd_output){job->grads.dalpha, job->grad_count, LKD_DT_FP32, 1, {job->grad_count}};
  } else if (strcmp(name, "mask") == 0) {
    o.values = job->run.mask;
    o.dtype = LKD_DT_UINT8;
    o.rank = 2;
    lkd_v2_mask_shape(job->run.params.activation, job->count, o.shape);
    o.count = o.shape[0] * o.shape[1];
  } else {
    o.values = job->run.out;
    o.count = job->count;
    o.dtype = q->shaped->dtype;
    o.rank = q->shaped->rank;
    memcpy(o.shape, q->shaped->shape, o.rank * sizeof o.shape[0]);
  }
  return o;
}

static size_t lkd_output_bytes(const lkd_output *o) {
  const size_t size = o->dtype == LKD_DT_FP32    ? LKD_KSERVE_FP32_SIZE
                      : o->dtype == LKD_DT_UINT8 ? 1
                                                 : LKD_KSERVE_HALF_SIZE;
  return o->count * size;
}

void lkd_v2_infer_answer(const lkd_kserve_infer *q, lkd_response *r) {
  lkt_buf *b = &r->body;
  lkt_buf_append_str(b, "{\"model_name\":");
  lkt_json_string(b, q->model->name);
  lkt_buf_append_str(b, ",\"model_version\":\"" LKD_KSERVE_VERSION "\"");
  if (q->id) {
    lkt_buf_append_str(b, ",\"id\":");
    lkt_json_string(b, q->id->valuestring);
  }
  lkt_buf_append_str(b, ",\"outputs\":[");
  lkd_output outs[2];
  int any_binary = 0;
  for (size_t i = 0; i < q->noutputs; i++) {
    const lkd_output *o = &outs[i];
    outs[i] = lkd_output_of(q, q->outputs[i]);
    lkt_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
    lkt_json_string(b, q->outputs[i]);
    lkt_buf_append_str(b, ",\"datatype\":\"");
    lkt_buf_append_str(b, lkd_v2_dtype_name(o->dtype));
    lkt_buf_append_str(b, "\",\"shape\":");
    lkd_v2_append_shape(b, o->shape, o->rank);
    if (q->output_binary[i]) {
      char size[48];
      int n = snprintf(size, sizeof size, ",\"parameters\":{\"binary_data_size\":%zu}}",
                       lkd_output_bytes(o));
      lkt_buf_append(b, size, (size_t)n);
      any_binary = 1;
    } else {
      lkt_buf_append_str(b, ",\"data\":");
      if (o->dtype == LKD_DT_UINT8)
        lkd_append_mask_data(b, o->values, o->count);
      else
        lkd_append_data(b, (const float *)o->values, o->count); /* FP32: checked at decode */
      lkt_buf_append(b, "}", 1);
    }
  }
  lkt_buf_append_str(b, "]}");
  r->status = 200;
  r->content_type = "application/json";
  if (!any_binary)
    return;
  r->content_type = "application/octet-stream";
  r->extra_header = "Inference-Header-Content-Length";
  snprintf(r->extra_value, sizeof r->extra_value, "%zu", b->len);
  for (size_t i = 0; i < q->noutputs; i++) {
    const lkd_output *o = &outs[i];
    if (!q->output_binary[i])
      continue;
    if (o->dtype == LKD_DT_FP32) {
      lkd_kserve_append_le(b, (const float *)o->values, o->count);
    } else if (o->dtype == LKD_DT_UINT8) {
      if (lkt_buf_reserve(b, o->count) != 0)
        return;
      for (size_t k = 0; k < o->count; k++) {
        const uint8_t byte = lkd_mask_byte(o->values, k);
        lkt_buf_append(b, (const char *)&byte, 1);
      }
    } else {
      lkd_kserve_append_le16(b, (const uint16_t *)o->values, o->count);
    }
  }
}
