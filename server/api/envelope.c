/* envelope.c - splice, parse and tag a JSON request; the tree readers both protocols use. */
#include "envelope.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
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

int lkd_envelope_decode(const lkd_envelope_spec *spec, char *json, size_t len, size_t max_depth,
                        lkd_envelope *out, lkd_error *e) {
  memset(out, 0, sizeof *out);
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
