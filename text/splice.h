/* splice.h - lifting tensors (number arrays, float scalars, base64 strings)
 * out of a JSON request body before cJSON parses the small envelope left. */
#ifndef LKT_SPLICE_H
#define LKT_SPLICE_H

#include <stddef.h>

#include "arrays.h"

/* ---- Splicing tensors out of a request body ----
 * Big arrays must not go through cJSON (slow, and double-rounded). The
 * splice scans the body once, structurally (strings and escapes honoured,
 * depth limited), and for every member whose key is one of `keys` (compared
 * after JSON unescaping) and whose value is an array, parses the array with
 * lkt_array_parse into table->tensors[k] (k in document order) and overwrites
 * the array text in place with "{}" followed by spaces. The envelope that is
 * left is small and valid JSON; the caller parses it with cJSON and, walking
 * it in document order, gives the k-th member with one of the keys and an
 * empty-object value the k-th tensor. Values that are not arrays are left
 * untouched (the caller rejects them with a clear error). An array that is
 * well-formed JSON but no tensor (ragged, "x":[1,true]) is spliced out all
 * the same with tensor.error set, so that a batch fails only that job;
 * brackets that do not balance fail the whole splice. */
typedef struct lkt_splice_gap lkt_splice_gap;
typedef struct lkt_splice_table {
  lkt_tensor *tensors;
  size_t count;
  size_t cap;
  /* lkt_splice_body: where the envelope lost text, for offsets */
  lkt_splice_gap *gaps;
  size_t ngaps, gaps_cap;
} lkt_splice_table;

int lkt_splice_tensors(char *body, size_t len, const char *const *keys, size_t nkeys,
                       const char *const *scalar_keys, size_t nscalar, const lkt_limits *limits,
                       size_t max_nesting, lkt_splice_table *table, char *err, size_t errlen);
void lkt_splice_table_free(lkt_splice_table *table);

/* ---- The splice for the daemon: tensors, scalars and base64 strings ----
 * As lkt_splice_tensors, and besides: every string member whose key is one
 * of keys->b64 (keys compared as cJSON does: after unescaping, up to a
 * decoded NUL) is decoded straight from the body (lkt_base64_decode_into,
 * escapes honoured, the text cut at an escaped NUL as cJSON's valuestring
 * is) into a tensor of the table with is_b64 set, and replaced by an empty
 * string "" (a string with an invalid escape is left for cJSON to reject).
 * Then the body is compacted: the text each placeholder replaced is
 * removed, so that cJSON never scans megabytes of spaces;
 * *envelope_len gets the envelope's length (body[*envelope_len] is set to
 * NUL when it is inside the body). lkt_splice_body_offset maps an offset in
 * the envelope back to the body as it was. The body must hold no NUL byte
 * (the daemon rejects those before). */
typedef struct lkt_splice_keys {
  const char *const *arrays; /* number arrays (tensors) */
  size_t narrays;
  const char *const *scalars; /* numbers read as correctly rounded float32 */
  size_t nscalars;
  const char *const *b64; /* base64 strings */
  size_t nb64;
} lkt_splice_keys;

int lkt_splice_body(char *body, size_t len, const lkt_splice_keys *keys, const lkt_limits *limits,
                    size_t max_nesting, lkt_splice_table *table, size_t *envelope_len, char *err,
                    size_t errlen);
size_t lkt_splice_body_offset(const lkt_splice_table *table, size_t envelope_offset);

/* The index of the closing quote of the JSON string whose text starts at i
 * (just past its opening quote), or len when it is not closed; *escaped
 * says whether a backslash was seen. */
size_t lkt_json_string_end(const char *s, size_t i, size_t len, int *escaped);
/* The index of the next character at or after i that is outside every
 * string (a string is passed over whole, its quotes included), or len. The
 * character at i must not be inside a string. *strings (may be NULL) gets
 * how many strings were passed over. */
size_t lkt_json_outside_string(const char *s, size_t i, size_t len, size_t *strings);

#endif
