/* codec.h - the daemon's hot path for numbers: JSON number arrays parsed
 * straight from the request body and printed straight into the response
 * (exact: correctly rounded parsing, shortest round-trip float32 printing),
 * base64 of little-endian payloads, and the splice that lifts tensor arrays
 * out of a body before cJSON parses the small envelope that is left.
 *
 * Nothing here touches OpenCL or cJSON. Every function that can fail returns
 * 0 on success and -1 on failure with a one-line message in err (errlen
 * bytes, always NUL-terminated when errlen > 0). Memory returned to the
 * caller is malloc'd and owned by the caller unless said otherwise.
 */
#ifndef LEAKYCL_CODEC_H
#define LEAKYCL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define LK_CODEC_MAX_RANK 16
/* Longest text lk_float_print writes, without the terminating NUL: a quoted
 * "-Infinity" or something like -1.17549435e-38. */
#define LK_FLOAT_TEXT_MAX 16

/* ---- Growable output buffer ---- */
typedef struct lk_buf {
  char *data;
  size_t len;
  size_t cap;
  int oom; /* set once an allocation failed; later appends are no-ops */
} lk_buf;

int lk_buf_reserve(lk_buf *b, size_t extra);
void lk_buf_append(lk_buf *b, const char *s, size_t n);
void lk_buf_append_str(lk_buf *b, const char *s);
void lk_buf_free(lk_buf *b);

/* ---- Scalars ---- */
/* Parses one JSON number at [p, end), or one of the strings "NaN",
 * "Infinity", "-Infinity" (with their quotes), into the correctly rounded
 * float32 (round to nearest even; overflow gives +-Inf only for values that
 * round past FLT_MAX, underflow gives +-0 or subnormals correctly). JSON
 * grammar is strict: no leading '+', no leading zeros, no "1.", no hex.
 * Returns a pointer just past the token, or NULL when there is no valid
 * token at p. */
const char *lk_float_parse(const char *p, const char *end, float *out);

/* Writes the shortest decimal text that reads back (as float32) to exactly
 * v, at most 9 significant digits, JSON-valid ("1", "-0", "0.01", "1e+30",
 * "1.17549435e-38"); NaN, +Inf and -Inf are written as the JSON strings
 * "NaN", "Infinity", "-Infinity" including the quotes. Returns the length
 * written (<= LK_FLOAT_TEXT_MAX); out needs LK_FLOAT_TEXT_MAX + 1 bytes. */
size_t lk_float_print(float v, char *out);

/* ---- Number arrays ---- */
typedef struct lk_limits {
  size_t max_elements; /* total numbers in one array */
  size_t max_depth;    /* nesting depth of one array, >= 1 */
} lk_limits;

/* A parsed tensor: values in C order and the nested shape. */
typedef struct lk_tensor {
  float *values; /* malloc'd; NULL when count == 0 */
  size_t count;
  size_t rank; /* 1 for a flat array; nesting depth otherwise */
  size_t shape[LK_CODEC_MAX_RANK];
  /* Set by lk_splice_tensors for an array that is valid JSON but not a
   * tensor (ragged, a non-number element, ...): values is NULL and the
   * message says why, so only the job holding it fails. "" otherwise. */
  char error[160];
} lk_tensor;

void lk_tensor_free(lk_tensor *t);

/* Parses a JSON array starting at p ('[' after optional whitespace), flat or
 * nested, of numbers and the strings "NaN"/"Infinity"/"-Infinity". Nested
 * arrays must be rectangular ("ragged" error otherwise) and no deeper than
 * limits->max_depth (and LK_CODEC_MAX_RANK). On success fills *out and sets
 * *stop just past the closing ']'. Error messages name the position, e.g.
 * "x[3] is not a number" is built by the caller from the element index in
 * *bad_index (set when an element is not a number; else SIZE_MAX). */
int lk_array_parse(const char *p, const char *end, const lk_limits *limits, lk_tensor *out,
                   const char **stop, size_t *bad_index, char *err, size_t errlen);

/* Appends values as a JSON array: flat when rank <= 1, nested per shape
 * otherwise (the product of shape must equal count). */
void lk_array_print(lk_buf *b, const float *values, size_t count, const size_t *shape, size_t rank);

/* ---- base64 (RFC 4648, standard alphabet, '=' padding required) ---- */
/* Decodes into a malloc'd buffer; rejects bad characters, bad padding and
 * whitespace with the offset in the message. */
int lk_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, char *err,
                     size_t errlen);
/* Appends the base64 text of bytes (no quotes). */
void lk_base64_encode(lk_buf *b, const unsigned char *bytes, size_t n);

/* ---- Splicing tensors out of a request body ----
 * Big arrays must not go through cJSON (slow, and double-rounded). The
 * splice scans the body once, structurally (strings and escapes honoured,
 * depth limited), and for every member whose key is one of `keys` (compared
 * after JSON unescaping) and whose value is an array, parses the array with
 * lk_array_parse into table->tensors[k] (k in document order) and overwrites
 * the array text in place with "{}" followed by spaces. The envelope that is
 * left is small and valid JSON; the caller parses it with cJSON and, walking
 * it in document order, gives the k-th member with one of the keys and an
 * empty-object value the k-th tensor. Values that are not arrays are left
 * untouched (the caller rejects them with a clear error). An array that is
 * well-formed JSON but no tensor (ragged, "x":[1,true]) is spliced out all
 * the same with tensor.error set, so that a batch fails only that job;
 * brackets that do not balance fail the whole splice. */
typedef struct lk_splice_table {
  lk_tensor *tensors;
  size_t count;
  size_t cap;
} lk_splice_table;

int lk_splice_tensors(char *body, size_t len, const char *const *keys, size_t nkeys,
                      const char *const *scalar_keys, size_t nscalar, const lk_limits *limits,
                      size_t max_nesting, lk_splice_table *table, char *err, size_t errlen);
void lk_splice_table_free(lk_splice_table *table);

#endif /* LEAKYCL_CODEC_H */
