/* v1_answer.c - /v1's answers: a job's result object (y or dx in its
 * request's encoding, dalpha, dbeta when asked, and the diagnostics), or
 * its error. */
#include "v1_answer.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "base64.h"
#include "json_write.h"

/* Appends count values of esize bytes (4: float32, 2: 16-bit patterns) as
 * little-endian base64. */
static void lkd_append_b64(lkt_buf *b, const void *values, size_t count, size_t esize) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  lkt_base64_encode(b, (const unsigned char *)values, count * esize);
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
  lkt_base64_encode(b, bytes, count * esize);
  free(bytes);
#endif
}

/* Appends one output tensor as "name":[...] or "name_b64":"...". */
static void lkd_append_tensor(lkt_buf *b, const lkd_job *job, const char *name, const void *v) {
  lkt_buf_append(b, "\"", 1);
  lkt_buf_append_str(b, name);
  if (job->encoding == LKD_ENC_B64) {
    lkt_buf_append_str(b, "_b64\":\"");
    lkd_append_b64(b, v, job->count, leakycl_dtype_size(job->run.dtype));
    lkt_buf_append_str(b, "\",\"dtype\":\"");
    lkt_buf_append_str(b, leakycl_dtype_name(job->run.dtype));
    lkt_buf_append(b, "\"", 1);
    return;
  }
  lkt_buf_append(b, "\":", 2);
  if (job->encoding == LKD_ENC_NESTED)
    lkt_array_print(b, v, job->count, job->out_shape, job->out_rank);
  else
    lkt_array_print(b, v, job->count, &job->count, 1);
}

/* Appends "id":<the job's id>, when it has one. A number is printed as the
 * shortest text that reads back to the same double: cJSON's printer
 * compares with a relative epsilon, so it echoed 0.30000000000000004 as 0.3
 * and -1.7976931348623155e308 as -1.79769313486232e+308, which overflows
 * (found by schemathesis). */
static void lkd_append_id(lkt_buf *b, const lkd_job *job) {
  if (!job->id)
    return;
  lkt_buf_append_str(b, "\"id\":");
  if (cJSON_IsNumber(job->id)) {
    char text[32];
    double v = job->id->valuedouble;
    for (int digits = 1; digits <= 17; digits++) {
      snprintf(text, sizeof text, "%.*g", digits, v);
      if (strtod(text, NULL) == v)
        break;
    }
    lkt_buf_append_str(b, text);
  } else {
    char *id = cJSON_PrintUnformatted(job->id);
    if (id) {
      lkt_buf_append_str(b, id);
      cJSON_free(id);
    } else {
      b->oom = 1;
    }
  }
  lkt_buf_append(b, ",", 1);
}

/* Appends a successful job's result object. */
void lkd_v1_append_result(lkt_buf *b, const lkd_job *job) {
  lkt_buf_append(b, "{", 1);
  lkd_append_id(b, job);
  lkd_append_tensor(b, job, job->run.op == LEAKYCL_OP_FORWARD ? "y" : "dx", job->run.out);
  if (job->run.mask) { /* always base64: little-endian uint32 words */
    lkt_buf_append_str(b, ",\"mask_b64\":\"");
    lkd_append_b64(b, job->run.mask, leakycl_mask_words(job->run.params.activation, job->count),
                   sizeof(uint32_t));
    lkt_buf_append(b, "\"", 1);
  }
  if (job->want_grads) {
    size_t c = job->grad_count;
    lkt_buf_append_str(b, ",\"dalpha\":");
    lkt_array_print(b, job->grads.dalpha, c, &c, 1);
    if (job->want_dbeta) {
      lkt_buf_append_str(b, ",\"dbeta\":");
      lkt_json_float(b, job->dbeta);
    }
    lkt_buf_append_str(b, ",\"stats\":{\"neg_fraction\":");
    lkt_array_print(b, job->grads.neg_fraction, c, &c, 1);
    lkt_buf_append_str(b, ",\"mean_abs_grad\":");
    lkt_array_print(b, job->grads.mean_abs_grad, c, &c, 1);
    lkt_buf_append(b, "}", 1);
  }
  lkt_buf_append(b, "}", 1);
}

void lkd_v1_append_job_error(lkt_buf *b, const lkd_job *job) {
  lkt_buf_append_str(b, "{");
  lkd_append_id(b, job);
  lkt_buf_append_str(b, "\"error\":");
  lkd_error_append_object(b, &job->err);
  lkt_buf_append(b, "}", 1);
}
