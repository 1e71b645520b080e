/* v2_request.h - a decoded Open Inference Protocol request (v2_infer.c
 * decodes it, v2_answer.c answers it) and the packed mask's tensor form
 * (v2_mask.c). */
#ifndef LEAKYCLD_V2_REQUEST_H
#define LEAKYCLD_V2_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "job.h"
#include "route.h"
#include "v2_models.h"

struct cJSON;

/* A tensor's datatype. UINT8 and BOOL are the packed mask's (input "mask"
 * of the backward models, output "mask" of the forward ones). */
typedef enum lkd_kserve_dtype {
  LKD_DT_FP32,
  LKD_DT_FP16,
  LKD_DT_BF16,
  LKD_DT_UINT8,
  LKD_DT_BOOL
} lkd_kserve_dtype;

/* One input tensor of a request. */
typedef struct lkd_kserve_input {
  const char *name;
  lkd_kserve_dtype dtype;
  size_t rank;
  size_t shape[LEAKYCL_MAX_RANK];
  size_t count;
  const lkt_tensor *json; /* its "data", spliced from the body; or NULL */
  int binary;             /* its bytes follow the JSON header */
  size_t binary_size;
  const float *values; /* FP32: count floats, json->values or owned */
  float *owned;
  uint16_t *halves; /* FP16, BF16: count 16-bit patterns (binary only) */
  uint8_t *bytes;   /* UINT8, BOOL: count bytes (owned) */
} lkd_kserve_input;

/* A decoded inference request. */
typedef struct lkd_kserve_infer {
  const lkd_kserve_model *model;
  lkd_envelope envelope;
  char *json_copy; /* the JSON header when it could not be parsed in place */
  const struct cJSON *id;
  lkd_kserve_input inputs[3];
  size_t ninputs;
  lkd_kserve_input *x, *dy, *alpha, *mask;
  /* The tensor whose shape and datatype the outputs take: x, or dy for
   * backward from a mask. */
  const lkd_kserve_input *shaped;
  uint32_t *mask_words;   /* input mask, packed (owned) */
  const char *outputs[2]; /* in the answer's order */
  int output_binary[2];
  size_t noutputs;
  int outputs_given; /* the request named its outputs (else the model's defaults) */
  int binary_output; /* request parameter binary_data_output */
  lkd_job job;
} lkd_kserve_infer;

/* "FP32", "FP16", "BF16", "UINT8", "BOOL". */
const char *lkd_v2_dtype_name(lkd_kserve_dtype dt);
/* Appends "[d0,d1,...]". */
void lkd_v2_append_shape(lkt_buf *b, const size_t *shape, size_t rank);
/* Appends the answer to a request whose job ran: the JSON header, then the
 * binary outputs' bytes in output order. */
void lkd_v2_infer_answer(const lkd_kserve_infer *q, lkd_response *r);

/* ---- the packed mask as a tensor (v2_mask.c) ----
 * UINT8: the mask's bytes, shape [planes, 4 * ceil(n/32)]: bit i of a
 * plane is bit i % 8 of its byte i / 8 (numpy.packbits(bitorder="little"),
 * padded to whole 32-bit words; the library's little-endian words byte by
 * byte). BOOL: one byte (0 or 1) per element, shape x's shape with the
 * planes in front for phased_relu ([2, ...]); accepted as input only. */
/* The UINT8 output's shape. */
void lkd_v2_mask_shape(leakycl_activation activation, size_t n, size_t shape[2]);
/* The input mask (count bytes of `dtype`) packed into words (malloc'd,
 * *out) for n elements. 0, or -1 with e set. */
int lkd_v2_mask_pack(leakycl_activation activation, size_t n, lkd_kserve_dtype dtype,
                     const uint8_t *bytes, size_t count, uint32_t **out, lkd_error *e);

#endif
