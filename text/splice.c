/* splice.c - one structural scan of a body that lifts its tensors out in place. */
#include "splice.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "error_text.h"
#include "float_text.h"

static int is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

/* ---- Splicing tensors out of a request body ---- */

/* items (count used, *cap allocated, of size bytes each) with room for one
 * more: itself, or a copy of twice the capacity (first when empty; *cap
 * updated). NULL when memory runs out (items is still valid). */
static void *grown(void *items, size_t *cap, size_t count, size_t size, size_t first) {
  if (count < *cap)
    return items;
  const size_t want = *cap ? *cap * 2 : first;
  void *p = realloc(items, want * size);
  if (p)
    *cap = want;
  return p;
}

/* memchr finds the quote (base64 payloads are megabytes long); a backslash
 * before it sends the search on past its escape. */
size_t lkt_json_string_end(const char *s, size_t i, size_t len, int *escaped) {
  *escaped = 0;
  while (i < len) {
    const char *quote = memchr(s + i, '"', len - i);
    if (!quote)
      return len;
    const char *backslash = memchr(s + i, '\\', (size_t)(quote - (s + i)));
    if (!backslash)
      return (size_t)(quote - s);
    *escaped = 1;
    i = (size_t)(backslash - s) + 2;
  }
  return len;
}

size_t lkt_json_outside_string(const char *s, size_t i, size_t len, size_t *strings) {
  int escaped;
  size_t n = 0;
  for (; i < len && s[i] == '"'; n++)
    i = lkt_json_string_end(s, i + 1, len, &escaped) + 1;
  if (strings)
    *strings = n;
  return i < len ? i : len;
}

/* Reads 4 hex digits at s (the caller checked they are there). */
static int read_hex4(const char *s, uint32_t *cp) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    unsigned char l = (unsigned char)c | 0x20;
    uint32_t digit;
    if (is_ascii_digit(c))
      digit = (uint32_t)(c - '0');
    else if (l >= 'a' && l <= 'f')
      digit = l - 'a' + 10u;
    else
      return -1;
    v = v << 4 | digit;
  }
  *cp = v;
  return 0;
}

/* Decodes the escape at raw[*i] ('\\') into UTF-8 in out and advances *i;
 * returns the byte count, or 0 for an escape JSON (and cJSON) rejects. */
static size_t decode_escape(const char *raw, size_t n, size_t *i, unsigned char out[4]) {
  if (*i + 1 >= n)
    return 0;
  /* The byte each one-character escape stands for (0: not one). */
  static const unsigned char simple[128] = {
      ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
      ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
  const unsigned char e = (unsigned char)raw[*i + 1];
  *i += 2;
  if (e < 128 && simple[e]) {
    out[0] = simple[e];
    return 1;
  }
  if (e != 'u')
    return 0;
  uint32_t cp, low;
  if (*i + 4 > n || read_hex4(raw + *i, &cp) != 0)
    return 0;
  *i += 4;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return 0; /* a low surrogate on its own */
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (*i + 6 > n || raw[*i] != '\\' || raw[*i + 1] != 'u' || read_hex4(raw + *i + 2, &low) != 0 ||
        low < 0xDC00 || low > 0xDFFF)
      return 0;
    *i += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | cp >> 6);
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | cp >> 12);
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | cp >> 18);
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Whether the string text raw[0, n) (escapes not yet decoded) decodes to
 * exactly key. Invalid escapes never match. With nul_ends, a decoded NUL
 * ends the text, as it ends cJSON's copy of it for strcmp. */
static int unescaped_equals(const char *raw, size_t n, const char *key, size_t key_len,
                            bool nul_ends) {
  size_t i = 0, k = 0;
  while (i < n) {
    unsigned char buf[4];
    size_t len = 1;
    if (raw[i] == '\\') {
      len = decode_escape(raw, n, &i, buf);
      if (len == 0)
        return 0;
    } else {
      buf[0] = (unsigned char)raw[i++];
    }
    if (nul_ends && buf[0] == '\0')
      return k == key_len;
    if (len > key_len - k || memcmp(key + k, buf, len) != 0)
      return 0;
    k += len;
  }
  return k == key_len;
}

/* The index in keys of the key the string raw[0, n) spells, or nkeys. */
static size_t find_key(const char *raw, size_t n, int escaped, const char *const *keys,
                       size_t nkeys, bool nul_ends) {
  for (size_t k = 0; k < nkeys; k++) {
    const size_t key_len = strlen(keys[k]);
    if (escaped ? unescaped_equals(raw, n, keys[k], key_len, nul_ends)
                : n == key_len && memcmp(raw, keys[k], n) == 0)
      return k;
  }
  return nkeys;
}

static size_t skip_ws_at(const char *s, size_t i, size_t len) {
  while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
    i++;
  return i;
}

/* Text a placeholder replaced: while scanning, its start and length in the
 * body; once the envelope is compacted, the envelope offset just past the
 * placeholder and the bytes removed up to there (cumulative). */
struct lkt_splice_gap {
  size_t at;
  size_t removed;
};

void lkt_splice_table_free(lkt_splice_table *table) {
  for (size_t i = 0; i < table->count; i++)
    lkt_tensor_free(&table->tensors[i]);
  free(table->tensors);
  free(table->gaps);
  memset(table, 0, sizeof *table);
}

/* The end of the JSON array at p (just past its ']'), checking only strings
 * and that brackets pair up by kind, without recursion; NULL when they do not
 * within [p, end) or nest deeper than max_depth (or 4096). */
static const char *skip_array(const char *p, const char *end, size_t max_depth) {
  enum { LIMIT = 4096 };
  unsigned char is_object[LIMIT / 8] = {0}; /* one bit per open level */
  size_t depth = 0;
  if (max_depth > LIMIT)
    max_depth = LIMIT;
  for (; p < end; p++) {
    if (*p == '"') {
      for (p++; p < end && *p != '"'; p++) {
        if (*p == '\\' && ++p == end)
          return NULL;
      }
      if (p == end)
        return NULL;
    } else if (*p == '[' || *p == '{') {
      if (depth == max_depth)
        return NULL;
      const unsigned char bit = (unsigned char)(1u << (depth % 8));
      is_object[depth / 8] =
          (unsigned char)(*p == '{' ? is_object[depth / 8] | bit : is_object[depth / 8] & ~bit);
      depth++;
    } else if (*p == ']' || *p == '}') {
      if (depth == 0)
        return NULL;
      depth--;
      const bool was_object = (is_object[depth / 8] >> (depth % 8)) & 1u;
      if (was_object != (*p == '}'))
        return NULL;
      if (depth == 0)
        return p + 1;
    }
  }
  return NULL;
}

/* Overwrites a spliced value's text body[at, at + n) with its two-character
 * placeholder ("{}" or ""). When compacting, the rest of the text is
 * recorded as a gap (removed later); otherwise it becomes spaces. */
static int replace_with_placeholder(char *body, size_t at, size_t n, const char *placeholder,
                                    bool compact, lkt_splice_table *table, char *err,
                                    size_t errlen) {
  if (!compact) {
    body[at] = placeholder[0];
    body[at + 1] = placeholder[1];
    memset(body + at + 2, ' ', n - 2);
    return 0;
  }
  if (n > 2) {
    lkt_splice_gap *g = grown(table->gaps, &table->gaps_cap, table->ngaps, sizeof *g, 8);
    if (!g)
      return lkt_fail(err, errlen, "out of memory for %zu spliced values", table->ngaps + 1);
    table->gaps = g;
  }
  if (n > 2)
    table->gaps[table->ngaps++] = (lkt_splice_gap){at, n};
  body[at] = placeholder[0];
  body[at + 1] = placeholder[1];
  return 0;
}

/* Appends a tensor to the table (taking ownership of its values). */
static int table_push(lkt_splice_table *table, const lkt_tensor *tensor, char *err, size_t errlen) {
  lkt_tensor *t = grown(table->tensors, &table->cap, table->count, sizeof *t, 4);
  if (!t)
    return lkt_fail(err, errlen, "out of memory for %zu tensors", table->count + 1);
  table->tensors = t;
  table->tensors[table->count++] = *tensor;
  return 0;
}

/* A number of two characters or more at body[value] becomes a rank-0
 * tensor (correctly rounded, unlike cJSON's double then float) and its text
 * a placeholder. False when there is no valid number there, or it is a
 * single digit (exact as cJSON reads it, and too short for "{}"). */
static bool splice_scalar(char *body, size_t value, size_t len, bool compact,
                          lkt_splice_table *table, lkt_tensor *out) {
  float f;
  const char *stop = lkt_float_parse(body + value, body + len, &f);
  const size_t n = stop ? (size_t)(stop - (body + value)) : 0;
  if (n < 2)
    return false;
  memset(out, 0, sizeof *out);
  out->values = malloc(sizeof(float));
  if (!out->values)
    return false; /* cJSON reads it instead: slightly less exact, never wrong-typed */
  if (replace_with_placeholder(body, value, n, "{}", compact, table, NULL, 0) != 0) {
    free(out->values);
    return false; /* cJSON reads it instead */
  }
  out->values[0] = f;
  out->count = 1;
  return true;
}

/* Decodes the text of a base64 string into t (the caller checked the key):
 * raw[0, n) as it is in the body, escapes (escaped) not yet decoded.
 * Returns 1 when the string has an invalid escape (then nothing is lifted:
 * cJSON rejects the body), else 0 with t filled; a text that is no base64,
 * or memory running out, is recorded in t->error for the job to report. */
static int decode_base64_string(const char *raw, size_t n, int escaped, lkt_tensor *t) {
  memset(t, 0, sizeof *t);
  t->is_b64 = 1;
  t->rank = 1;
  char *unescaped = NULL;
  if (escaped) {
    /* An escape never decodes to more bytes than its own text. */
    unescaped = malloc(n ? n : 1);
    if (!unescaped) {
      snprintf(t->error, sizeof t->error, "out of memory unescaping %zu characters", n);
      return 0;
    }
    size_t i = 0, m = 0;
    bool cut = false; /* cJSON's valuestring ends at a decoded NUL */
    while (i < n) {
      unsigned char buf[4];
      size_t k = 1;
      if (raw[i] == '\\') {
        k = decode_escape(raw, n, &i, buf);
        if (k == 0) {
          free(unescaped);
          return 1;
        }
      } else {
        buf[0] = (unsigned char)raw[i++];
      }
      cut = cut || buf[0] == '\0';
      if (!cut) {
        memcpy(unescaped + m, buf, k);
        m += k;
      }
    }
    raw = unescaped;
    n = m;
  }
  t->text_len = n;
  size_t nbytes;
  if (lkt_base64_decoded_size(raw, n, &nbytes, t->error, sizeof t->error) == 0) {
    size_t cap;
    unsigned char *bytes = lkt_mem_alloc(nbytes ? nbytes : 1, &cap);
    if (!bytes) {
      snprintf(t->error, sizeof t->error, "out of memory for %zu decoded bytes", nbytes);
    } else if (lkt_base64_decode_into(raw, n, bytes, t->error, sizeof t->error) != 0) {
      lkt_mem_release(bytes);
    } else {
      t->values = (float *)(void *)bytes; /* malloc and the pool align for any type */
      t->nbytes = nbytes;
      t->count = nbytes / 4;
      t->shape[0] = t->count;
    }
  }
  free(unescaped);
  return 0;
}

/* Decodes the base64 string value at body[value] (its opening quote) into
 * t and sets *close to the index of its closing quote. Base64 needs no
 * escapes, so the text is first taken to end at the next quote and decoded
 * in one pass; only when that fails and a backslash is in it is the string
 * scanned again with its escapes. Returns 1 when the string is not closed
 * or has an invalid escape (nothing lifted), else 0. */
static int lift_base64_value(const char *body, size_t value, size_t len, lkt_tensor *t,
                             size_t *close) {
  const size_t text = value + 1;
  const char *quote = memchr(body + text, '"', len - text);
  if (!quote)
    return 1;
  *close = (size_t)(quote - body);
  decode_base64_string(body + text, *close - text, 0, t);
  if (!t->error[0] || !memchr(body + text, '\\', *close - text))
    return 0;
  lkt_tensor_free(t);
  int escaped;
  *close = lkt_json_string_end(body, text, len, &escaped);
  if (*close == len)
    return 1;
  return decode_base64_string(body + text, *close - text, escaped, t);
}

/* Removes the gaps' text from the body (the placeholders stay) and turns
 * each gap into (envelope offset just past its placeholder, bytes removed
 * so far). Returns the envelope's length. */
static size_t compact_envelope(char *body, size_t len, lkt_splice_table *table) {
  size_t w = 0, r = 0, removed = 0;
  for (size_t i = 0; i < table->ngaps; i++) {
    lkt_splice_gap *g = &table->gaps[i];
    const size_t keep_end = g->at + 2;
    memmove(body + w, body + r, keep_end - r);
    w += keep_end - r;
    r = g->at + g->removed;
    removed += g->removed - 2;
    g->at = w;
    g->removed = removed;
  }
  memmove(body + w, body + r, len - r);
  w += len - r;
  if (w < len)
    body[w] = '\0';
  return w;
}

size_t lkt_splice_body_offset(const lkt_splice_table *table, size_t envelope_offset) {
  /* The last gap at or before the offset: text after a placeholder moved
   * back by everything removed up to it. */
  size_t lo = 0, hi = table->ngaps;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (table->gaps[mid].at <= envelope_offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? envelope_offset : envelope_offset + table->gaps[lo - 1].removed;
}

/* The scan only counts depth (for the limit) and does not track whether
 * the open container is an object: in valid JSON a string followed by ':'
 * is always a member key, and swapping one value for a placeholder can
 * neither make an invalid body valid nor the reverse, so cJSON still
 * rejects what it should. On failure the table is emptied (tensors spliced
 * so far freed). */
static int splice(char *body, size_t len, const lkt_splice_keys *keys, const lkt_limits *limits,
                  size_t max_nesting, bool compact, lkt_splice_table *table, char *err,
                  size_t errlen) {
  size_t depth = 0, pos = 0;
  while (pos < len) {
    const char c = body[pos];
    if (c == '{' || c == '[') {
      if (depth == max_nesting)
        goto too_deep;
      depth++;
      pos++;
      continue;
    }
    if (c == '}' || c == ']') {
      if (depth > 0)
        depth--;
      pos++;
      continue;
    }
    if (c != '"') {
      pos++;
      continue;
    }
    int escaped;
    const size_t text = pos + 1;
    const size_t close = lkt_json_string_end(body, text, len, &escaped);
    if (close == len)
      break; /* unterminated: cJSON reports it */
    pos = close + 1;
    const size_t colon = skip_ws_at(body, pos, len);
    if (colon == len || body[colon] != ':')
      continue;
    const size_t value = skip_ws_at(body, colon + 1, len);
    pos = value;
    if (value == len)
      continue;
    if (body[value] == '-' || (body[value] >= '0' && body[value] <= '9')) {
      if (find_key(body + text, close - text, escaped, keys->scalars, keys->nscalars, false) ==
          keys->nscalars)
        continue;
      lkt_tensor scalar;
      if (!splice_scalar(body, value, len, compact, table, &scalar))
        continue; /* one digit is exact anyway; no number at all: cJSON says so */
      if (table_push(table, &scalar, err, errlen) != 0) {
        lkt_tensor_free(&scalar);
        goto failed;
      }
      pos = value + 2;
      continue;
    }
    if (body[value] == '"') {
      if (find_key(body + text, close - text, escaped, keys->b64, keys->nb64, true) == keys->nb64)
        continue; /* some other string: the next turn skips it */
      lkt_tensor t;
      size_t string_close;
      if (lift_base64_value(body, value, len, &t, &string_close) != 0)
        continue; /* unterminated or an invalid escape: cJSON rejects the body */
      if (table_push(table, &t, err, errlen) != 0) {
        lkt_tensor_free(&t);
        goto failed;
      }
      if (replace_with_placeholder(body, value, string_close + 1 - value, "\"\"", compact, table,
                                   err, errlen) != 0)
        goto failed;
      pos = string_close + 1;
      continue;
    }
    if (body[value] != '[')
      continue;
    const size_t key =
        find_key(body + text, close - text, escaped, keys->arrays, keys->narrays, false);
    if (key == keys->narrays)
      continue; /* some other array: scanned structurally */
    if (depth == max_nesting)
      goto too_deep;
    lkt_tensor tensor;
    const char *stop = NULL;
    size_t bad_index;
    char why[128];
    if (lkt_array_parse(body + value, body + len, limits, &tensor, &stop, &bad_index, why,
                        sizeof why) != 0) {
      memset(&tensor, 0, sizeof tensor);
      if (bad_index != SIZE_MAX)
        snprintf(tensor.error, sizeof tensor.error, "%s[%zu] is not a number", keys->arrays[key],
                 bad_index);
      else
        snprintf(tensor.error, sizeof tensor.error, "%s: %s", keys->arrays[key], why);
      stop = skip_array(body + value, body + len, max_nesting - depth);
      if (!stop) {
        lkt_fail(err, errlen, "%s", tensor.error);
        goto failed;
      }
    }
    const size_t array_len = (size_t)(stop - (body + value));
    if (table_push(table, &tensor, err, errlen) != 0) {
      lkt_tensor_free(&tensor);
      goto failed;
    }
    if (replace_with_placeholder(body, value, array_len, "{}", compact, table, err, errlen) != 0)
      goto failed;
    pos = value + array_len;
  }
  return 0;

too_deep:
  lkt_fail(err, errlen, "JSON nested deeper than %zu", max_nesting);
failed:
  lkt_splice_table_free(table);
  return -1;
}

int lkt_splice_tensors(char *body, size_t len, const char *const *keys, size_t nkeys,
                       const char *const *scalar_keys, size_t nscalar, const lkt_limits *limits,
                       size_t max_nesting, lkt_splice_table *table, char *err, size_t errlen) {
  const lkt_splice_keys all = {keys, nkeys, scalar_keys, nscalar, NULL, 0};
  return splice(body, len, &all, limits, max_nesting, false, table, err, errlen);
}

int lkt_splice_body(char *body, size_t len, const lkt_splice_keys *keys, const lkt_limits *limits,
                    size_t max_nesting, lkt_splice_table *table, size_t *envelope_len, char *err,
                    size_t errlen) {
  *envelope_len = len;
  if (splice(body, len, keys, limits, max_nesting, true, table, err, errlen) != 0)
    return -1;
  *envelope_len = compact_envelope(body, len, table);
  return 0;
}
