/* arrays.h - JSON number arrays (flat or nested) of float32: parsed straight
 * from a request body, printed straight into a response. */
#ifndef LKT_ARRAYS_H
#define LKT_ARRAYS_H

#include <stddef.h>

#include "buffer.h"

#define LKT_MAX_RANK 16

/* ---- Number arrays ---- */
typedef struct lkt_limits {
  size_t max_elements; /* total numbers in one array */
  size_t max_depth;    /* nesting depth of one array, >= 1 */
} lkt_limits;

/* A parsed tensor: values in C order and the nested shape. */
typedef struct lkt_tensor {
  float *values; /* malloc'd; NULL when count == 0 */
  size_t count;
  size_t rank; /* 1 for a flat array; nesting depth otherwise */
  size_t shape[LKT_MAX_RANK];
  /* Set by lkt_splice_tensors for an array that is valid JSON but not a
   * tensor (ragged, a non-number element, ...): values is NULL and the
   * message says why, so only the job holding it fails. "" otherwise. */
  char error[160];
  /* A base64 string lifted by lkt_splice_body (is_b64 = 1): text_len is the
   * length of its text (after JSON unescaping), nbytes the length of the
   * bytes it decodes to, held in values (from the memory hooks; count is
   * nbytes / 4, rank 1). When the text is no valid base64, values is NULL
   * and error holds lkt_base64_decode's message. */
  int is_b64;
  size_t text_len;
  size_t nbytes;
} lkt_tensor;

void lkt_tensor_free(lkt_tensor *t);

/* Parses a JSON array starting at p ('[' after optional whitespace), flat or
 * nested, of numbers and the strings "NaN"/"Infinity"/"-Infinity". Nested
 * arrays must be rectangular ("ragged" error otherwise) and no deeper than
 * limits->max_depth (and LKT_MAX_RANK). On success fills *out and sets
 * *stop just past the closing ']'. Error messages name the position, e.g.
 * "x[3] is not a number" is built by the caller from the element index in
 * *bad_index (set when an element is not a number; else SIZE_MAX). */
int lkt_array_parse(const char *p, const char *end, const lkt_limits *limits, lkt_tensor *out,
                    const char **stop, size_t *bad_index, char *err, size_t errlen);

/* Appends values as a JSON array: flat when rank <= 1, nested per shape
 * otherwise (the product of shape must equal count). */
void lkt_array_print(lkt_buf *b, const float *values, size_t count, const size_t *shape,
                     size_t rank);

#endif
