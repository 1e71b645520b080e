/* envelope.h - the one decoder of a JSON request for /v1 and /v2: the
 * splice lifts the tensors (number arrays, float scalars, base64 strings)
 * out of the body, cJSON parses the small envelope left, and each
 * placeholder the splice left is tagged with its tensor. Then the readers
 * both protocols use on the tree: tensors, integers, floats, unknown
 * fields, user text for messages. */
#ifndef LEAKYCLD_ENVELOPE_H
#define LEAKYCLD_ENVELOPE_H

#include <stddef.h>

#include "errors.h"
#include "splice.h"

struct cJSON;

/* What a protocol lifts and how it words the envelope's errors. */
typedef struct lkd_envelope_spec {
  /* Lifted by the splice; the tree's "{}" members under arrays and scalars
   * keys and "" members under b64 keys are their placeholders. */
  const lkt_splice_keys *keys;
  size_t max_values;             /* JSON values outside the tensors (cJSON's allocations) */
  const char *malformed_tensors; /* the splice failed without a message */
  const char *too_many_values;
  const char *not_an_object;         /* the root is not a JSON object */
  const char *placeholder_collision; /* a literal {} under a tensor key */
} lkd_envelope_spec;

typedef struct lkd_envelope {
  struct cJSON *root;
  lkt_splice_table table;
} lkd_envelope;

/* Decodes json[0, len) (NUL at json[len]; modified in place, and must
 * outlive out) with the splice's nesting limit max_depth. Returns 0, or -1
 * with e set (400, 413, or 503 when memory runs out). JSON that readers
 * disagree on is a 400: a key given twice in one object, or a \u0000
 * escape in any string or key. Either way, release out with
 * lkd_envelope_free. */
int lkd_envelope_decode(const lkd_envelope_spec *spec, char *json, size_t len, size_t max_depth,
                        lkd_envelope *out, lkd_error *e);
void lkd_envelope_free(lkd_envelope *env);

/* The number array or scalar an "{}" placeholder stands for, or NULL. */
const lkt_tensor *lkd_envelope_tensor(const lkd_envelope *env, const struct cJSON *item);
/* The base64 tensor a "" placeholder stands for, or NULL. */
const lkt_tensor *lkd_envelope_base64(const lkd_envelope *env, const struct cJSON *item);
/* A finite number that fits float32: the splice's correctly rounded scalar,
 * or cJSON's number (a lone digit, exact). 0, or -1 when it is none. */
int lkd_envelope_float(const lkd_envelope *env, const struct cJSON *item, float *out);

/* An integer in [lo, hi] from valuedouble (never cJSON's saturated
 * valueint). 0, or -1 when it is none. */
int lkd_json_integer(const struct cJSON *item, double lo, double hi, double *out);
/* The first member of obj whose key is not one of fields[0, n), or NULL. */
const struct cJSON *lkd_json_unknown_field(const struct cJSON *obj, const char *const *fields,
                                           size_t n);

/* How many values cJSON would allocate for the JSON text p[0, len): a
 * bound checked before parsing an envelope. */
size_t lkd_envelope_values(const char *p, size_t len);
/* Copies user text for an error message: printable ASCII only, at most 40
 * characters ("..." after), so that messages stay short and valid JSON. */
const char *lkd_user_text(const char *s, char *out, size_t outlen);

#endif
