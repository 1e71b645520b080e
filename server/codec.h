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

/* ---- Memory hooks ----
 * Where the codec's output buffers (lk_buf storage, decoded base64 tensors)
 * come from: malloc and free unless hooks are set, like cJSON_InitHooks.
 * The daemon sets its buffer pool once at start, before any thread runs;
 * release must accept memory malloc'd before the hooks were set. */
typedef struct lk_memory_hooks {
  /* At least size bytes, *cap set to the usable size; NULL when out of memory. */
  void *(*alloc)(size_t size, size_t *cap);
  void (*release)(void *p);
} lk_memory_hooks;

void lk_set_memory_hooks(const lk_memory_hooks *hooks); /* NULL: malloc and free */
void *lk_mem_alloc(size_t size, size_t *cap);
void lk_mem_release(void *p);

/* ---- Growable output buffer ----
 * Storage from the memory hooks: release it with lk_buf_free, or hand
 * data to whoever calls lk_mem_release on it. */
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
  /* A base64 string lifted by lk_splice_body (is_b64 = 1): text_len is the
   * length of its text (after JSON unescaping), nbytes the length of the
   * bytes it decodes to, held in values (from the memory hooks; count is
   * nbytes / 4, rank 1). When the text is no valid base64, values is NULL
   * and error holds lk_base64_decode's message. */
  int is_b64;
  size_t text_len;
  size_t nbytes;
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

/* ---- base64 (RFC 4648, standard alphabet, '=' padding required) ----
 * Strict: the length must be a multiple of 4, '=' may only end the text
 * (one or two), the bits under the padding must be zero (canonical), and
 * anything else outside the alphabet (whitespace, NUL, '-', '_', bytes >=
 * 128) is rejected with its offset in the message. Texts of a few MiB and
 * more are decoded and encoded by two threads, each taking half. */

/* The number of bytes in of len characters decodes to, or -1 (with the
 * same message as lk_base64_decode_into) when len is not a multiple of 4. */
int lk_base64_decoded_size(const char *in, size_t len, size_t *out_len, char *err, size_t errlen);
/* Decodes into out, which has room for lk_base64_decoded_size bytes. On
 * failure out holds garbage. */
int lk_base64_decode_into(const char *in, size_t len, unsigned char *out, char *err, size_t errlen);
/* Decodes into a malloc'd buffer (*out NULL on failure; a 1-byte buffer
 * for empty input, so a success always hands back something to free). */
int lk_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, char *err,
                     size_t errlen);
/* Appends the base64 text of bytes (no quotes), reserving room once. */
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
typedef struct lk_splice_gap lk_splice_gap;
typedef struct lk_splice_table {
  lk_tensor *tensors;
  size_t count;
  size_t cap;
  /* lk_splice_body: where the envelope lost text, for offsets */
  lk_splice_gap *gaps;
  size_t ngaps, gaps_cap;
} lk_splice_table;

int lk_splice_tensors(char *body, size_t len, const char *const *keys, size_t nkeys,
                      const char *const *scalar_keys, size_t nscalar, const lk_limits *limits,
                      size_t max_nesting, lk_splice_table *table, char *err, size_t errlen);
void lk_splice_table_free(lk_splice_table *table);

/* ---- The splice for the daemon: tensors, scalars and base64 strings ----
 * As lk_splice_tensors, and besides: every string member whose key is one
 * of keys->b64 (keys compared as cJSON does: after unescaping, up to a
 * decoded NUL) is decoded straight from the body (lk_base64_decode_into,
 * escapes honoured, the text cut at an escaped NUL as cJSON's valuestring
 * is) into a tensor of the table with is_b64 set, and replaced by an empty
 * string "" (a string with an invalid escape is left for cJSON to reject).
 * Then the body is compacted: the text each placeholder replaced is
 * removed, so that cJSON never scans megabytes of spaces;
 * *envelope_len gets the envelope's length (body[*envelope_len] is set to
 * NUL when it is inside the body). lk_splice_body_offset maps an offset in
 * the envelope back to the body as it was. The body must hold no NUL byte
 * (the daemon rejects those before). */
typedef struct lk_splice_keys {
  const char *const *arrays; /* number arrays (tensors) */
  size_t narrays;
  const char *const *scalars; /* numbers read as correctly rounded float32 */
  size_t nscalars;
  const char *const *b64; /* base64 strings */
  size_t nb64;
} lk_splice_keys;

int lk_splice_body(char *body, size_t len, const lk_splice_keys *keys, const lk_limits *limits,
                   size_t max_nesting, lk_splice_table *table, size_t *envelope_len, char *err,
                   size_t errlen);
size_t lk_splice_body_offset(const lk_splice_table *table, size_t envelope_offset);

#endif /* LEAKYCL_CODEC_H */
