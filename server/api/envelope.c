/* envelope.c - splice, parse and tag a JSON request; the tree readers both protocols use. */
#include "envelope.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "user_text.h"

const char *lkd_user_text(const char *s, char *out, size_t outlen) {
  return lkt_printable(s, out, outlen, 40, 1, 1);
}

/* Counts the values cJSON would allocate for the envelope (commas, colons
 * and openers outside strings), so that a body of many tiny values outside
 * tensors cannot make cJSON allocate gigabytes. */
size_t lkd_envelope_values(const char *p, size_t len) {
  size_t n = 1;
  for (size_t i = 0; i < len; i++) {
    /* A string is one value; whatever it holds is not. */
    size_t strings;
    i = lkt_json_outside_string(p, i, len, &strings);
    n += strings + (i < len && (p[i] == ',' || p[i] == '[' || p[i] == '{'));
  }
  return n;
}

static int lkd_key_in(const char *key, const char *const *keys, size_t n) {
  for (size_t i = 0; key && i < n; i++)
    if (strcmp(key, keys[i]) == 0)
      return 1;
  return 0;
}

/* Whether c is a placeholder the splice left: "{}" under an array or
 * scalar key, "" under a base64 key. */
static int lkd_is_placeholder(const lkt_splice_keys *keys, const cJSON *c) {
  if (cJSON_IsObject(c) && !c->child)
    return lkd_key_in(c->string, keys->arrays, keys->narrays) ||
           lkd_key_in(c->string, keys->scalars, keys->nscalars);
  return cJSON_IsString(c) && lkd_key_in(c->string, keys->b64, keys->nb64);
}

/* Walks the tree in document order (the splice's) and tags the k-th
 * placeholder as tensor k: k + 1 in valuedouble, which cJSON leaves unused
 * for objects and strings. Returns how many there were; recursion depth is
 * bounded by the splice's nesting limit. */
static size_t lkd_tag_placeholders(const lkt_splice_keys *keys, cJSON *node, size_t next,
                                   size_t limit) {
  for (cJSON *c = node->child; c; c = c->next) {
    if (lkd_is_placeholder(keys, c)) {
      if (next < limit)
        c->valuedouble = (double)(next + 1);
      next++;
    } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
      next = lkd_tag_placeholders(keys, c, next, limit);
    }
  }
  return next;
}

/* The offset of the first \u0000 escape in the JSON text p[0, len), or
 * len. cJSON keeps such a string only up to the NUL ("relu\u0000xyz" would
 * run relu) while other readers keep all of it, so the daemon refuses it.
 * Outside strings a backslash is a syntax error anyway, so pairing every
 * backslash with the character after it, left to right, reads each escape
 * as the string holding it does; the whole body is scanned because the
 * splice lifts base64 strings before cJSON ever sees them. */
static size_t lkd_escaped_nul(const char *p, size_t len) {
  for (const char *b = memchr(p, '\\', len); b; b = memchr(b, '\\', (size_t)(p + len - b))) {
    if ((size_t)(p + len - b) >= 6 && memcmp(b + 1, "u0000", 5) == 0)
      return (size_t)(b - p);
    if ((b += 2) >= p + len)
      break;
  }
  return len;
}

/* Members that share a key in one object; qsort wants a plain comparison. */
static int lkd_key_order(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets *dup to the first key that appears twice in obj, or NULL; -1 when
 * memory runs out. Small objects (every job) compare pairs; big ones sort
 * their keys, so that a body of many keys stays n log n. */
static int lkd_duplicate_in(const cJSON *obj, const char **dup) {
  enum { PAIRWISE = 16 };
  *dup = NULL;
  size_t n = 0;
  for (const cJSON *c = obj->child; c; c = c->next)
    n++;
  if (n <= PAIRWISE) {
    for (const cJSON *a = obj->child; a && !*dup; a = a->next)
      for (const cJSON *b = a->next; b && !*dup; b = b->next)
        if (strcmp(a->string, b->string) == 0)
          *dup = a->string;
    return 0;
  }
  const char **keys = malloc(n * sizeof *keys);
  if (!keys)
    return -1;
  n = 0;
  for (const cJSON *c = obj->child; c; c = c->next)
    keys[n++] = c->string;
  qsort(keys, n, sizeof *keys, lkd_key_order);
  for (size_t i = 1; i < n && !*dup; i++)
    if (strcmp(keys[i - 1], keys[i]) == 0)
      *dup = keys[i];
  free(keys);
  return 0;
}

/* Refuses a key given twice in any object of the tree: cJSON's lookups
 * take the first, Python and JavaScript the last, so a gateway that
 * validated the body would have checked another request than the one run.
 * Recursion depth is bounded by the splice's nesting limit. */
static int lkd_no_duplicate_keys(const cJSON *node, lkd_error *e) {
  const char *dup = NULL;
  if (cJSON_IsObject(node) && lkd_duplicate_in(node, &dup) != 0)
    return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory checking the keys of an object");
  if (dup) {
    char t[64];
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "duplicate key \"%s\": a key may appear once in an object",
                    lkd_user_text(dup, t, sizeof t));
  }
  for (const cJSON *c = node->child; c; c = c->next)
    if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && lkd_no_duplicate_keys(c, e) != 0)
      return -1;
  return 0;
}

int lkd_envelope_decode(const lkd_envelope_spec *spec, char *json, size_t len, size_t max_depth,
                        lkd_envelope *out, lkd_error *e) {
  memset(out, 0, sizeof *out);
  const size_t nul = lkd_escaped_nul(json, len);
  if (nul < len)
    return lkd_fail(e, LKD_INVALID_ARGUMENT,
                    "a string holds an escaped NUL (\\u0000) at offset %zu", nul);
  /* Each element takes at least two characters, so a body within --max-body
   * can never hit this count; the per-tensor limit is checked afterwards so
   * that it answers 413, not a parse error. */
  lkt_limits limits = {len / 2 + 2, LKT_MAX_RANK};
  char err[256] = "";
  /* The splice leaves the envelope compacted at the start of the text. */
  size_t envelope_len = len;
  if (lkt_splice_body(json, len, spec->keys, &limits, max_depth, &out->table, &envelope_len, err,
                      sizeof err) != 0)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", err[0] ? err : spec->malformed_tensors);
  if (lkd_envelope_values(json, envelope_len) > spec->max_values)
    return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE, "%s", spec->too_many_values);
  json[envelope_len] = '\0';
  const char *parse_end = NULL;
  /* + 1: with require_null_terminated cJSON wants to see the NUL. */
  out->root = cJSON_ParseWithLengthOpts(json, envelope_len + 1, &parse_end, 1);
  if (!out->root) {
    size_t off = parse_end && parse_end >= json ? (size_t)(parse_end - json) : 0;
    off = lkt_splice_body_offset(&out->table, off > envelope_len ? envelope_len : off);
    if (off > len)
      off = len;
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "malformed JSON at offset %zu", off);
  }
  if (!cJSON_IsObject(out->root))
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", spec->not_an_object);
  if (lkd_no_duplicate_keys(out->root, e) != 0)
    return -1;
  /* A literal {} under a tensor key would shift the tensors' order. */
  if (lkd_tag_placeholders(spec->keys, out->root, 0, out->table.count) != out->table.count)
    return lkd_fail(e, LKD_INVALID_ARGUMENT, "%s", spec->placeholder_collision);
  return 0;
}

void lkd_envelope_free(lkd_envelope *env) {
  cJSON_Delete(env->root);
  lkt_splice_table_free(&env->table);
  memset(env, 0, sizeof *env);
}

/* The tensor a tagged placeholder stands for. */
static const lkt_tensor *lkd_tagged(const lkd_envelope *env, const cJSON *item) {
  if (item->valuedouble < 1)
    return NULL;
  size_t k = (size_t)item->valuedouble - 1;
  return k < env->table.count ? &env->table.tensors[k] : NULL;
}

const lkt_tensor *lkd_envelope_tensor(const lkd_envelope *env, const cJSON *item) {
  if (!item || !cJSON_IsObject(item) || item->child)
    return NULL;
  const lkt_tensor *t = lkd_tagged(env, item);
  return t && !t->is_b64 ? t : NULL;
}

const lkt_tensor *lkd_envelope_base64(const lkd_envelope *env, const cJSON *item) {
  if (!item || !cJSON_IsString(item))
    return NULL;
  const lkt_tensor *t = lkd_tagged(env, item);
  return t && t->is_b64 ? t : NULL;
}

int lkd_envelope_float(const lkd_envelope *env, const cJSON *item, float *out) {
  const lkt_tensor *t = lkd_envelope_tensor(env, item);
  if (t) {
    if (t->rank != 0 || t->count != 1 || !isfinite(t->values[0]))
      return -1;
    *out = t->values[0];
    return 0;
  }
  if (!cJSON_IsNumber(item))
    return -1;
  double v = item->valuedouble;
  if (!isfinite(v) || fabs(v) > (double)FLT_MAX)
    return -1;
  *out = (float)v;
  return 0;
}

int lkd_json_integer(const cJSON *item, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(item))
    return -1;
  double v = item->valuedouble;
  if (!isfinite(v) || v != floor(v) || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

const cJSON *lkd_json_unknown_field(const cJSON *obj, const char *const *fields, size_t n) {
  for (const cJSON *c = obj->child; c; c = c->next)
    if (!lkd_key_in(c->string, fields, n))
      return c;
  return NULL;
}
