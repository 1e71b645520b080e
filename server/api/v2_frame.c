/* v2_frame.c - header length, bare non-finite literals, little-endian
 * tensor bytes of KServe v2 bodies. */
#include "v2_frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splice.h"

int lkd_kserve_header_length(const char *value, size_t body_len, size_t *json_len, char *err,
                             size_t errlen) {
  const char *p = value;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p < '0' || *p > '9') {
    snprintf(err, errlen, "Inference-Header-Content-Length is not a number of bytes");
    return -1;
  }
  errno = 0;
  char *end = NULL;
  unsigned long long n = strtoull(p, &end, 10);
  while (end && (*end == ' ' || *end == '\t'))
    end++;
  if (errno != 0 || !end || *end != '\0') {
    snprintf(err, errlen, "Inference-Header-Content-Length is not a number of bytes");
    return -1;
  }
  if (n > body_len) {
    snprintf(err, errlen, "Inference-Header-Content-Length is %llu, over the body's %zu bytes", n,
             body_len);
    return -1;
  }
  *json_len = (size_t)n;
  return 0;
}

/* The bare token at json[i] ("NaN", "Infinity", "-Infinity") as a whole
 * word: its length, or 0. */
static size_t lkd_nonfinite_token(const char *json, size_t i, size_t len) {
  static const char *const tokens[] = {"NaN", "Infinity", "-Infinity"};
  for (size_t k = 0; k < sizeof tokens / sizeof tokens[0]; k++) {
    size_t n = strlen(tokens[k]);
    if (len - i < n || memcmp(json + i, tokens[k], n) != 0)
      continue;
    /* "NaNx" is no token: cJSON rejects it as it is. */
    char after = i + n < len ? json[i + n] : ' ';
    if ((after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') ||
        (after >= '0' && after <= '9') || after == '_')
      return 0;
    return n;
  }
  return 0;
}

/* Calls visit(token start, token length) for each bare token outside
 * strings; returns their count. */
static size_t lkd_scan_nonfinite(const char *json, size_t len,
                                 void (*visit)(void *ctx, size_t at, size_t n), void *ctx) {
  size_t count = 0;
  for (size_t i = lkt_json_outside_string(json, 0, len, NULL); i < len;
       i = lkt_json_outside_string(json, i + 1, len, NULL)) {
    const char c = json[i];
    if (c != 'N' && c != 'I' && c != '-')
      continue;
    size_t n = lkd_nonfinite_token(json, i, len);
    if (!n)
      continue;
    if (visit)
      visit(ctx, i, n);
    count++;
    i += n - 1;
  }
  return count;
}

size_t lkd_kserve_count_nonfinite(const char *json, size_t len) {
  return lkd_scan_nonfinite(json, len, NULL, NULL);
}

/* The copy being written by lkd_kserve_quote_nonfinite. */
typedef struct lkd_quote_copy {
  const char *src;
  char *dst;
  size_t read, written;
} lkd_quote_copy;

static void lkd_quote_token(void *ctx, size_t at, size_t n) {
  lkd_quote_copy *q = ctx;
  memcpy(q->dst + q->written, q->src + q->read, at - q->read);
  q->written += at - q->read;
  q->dst[q->written++] = '"';
  memcpy(q->dst + q->written, q->src + at, n);
  q->written += n;
  q->dst[q->written++] = '"';
  q->read = at + n;
}

char *lkd_kserve_quote_nonfinite(const char *json, size_t len, size_t *out_len) {
  size_t tokens = lkd_kserve_count_nonfinite(json, len);
  char *copy = malloc(len + 2 * tokens + 1);
  if (!copy)
    return NULL;
  lkd_quote_copy q = {json, copy, 0, 0};
  lkd_scan_nonfinite(json, len, lkd_quote_token, &q);
  memcpy(copy + q.written, json + q.read, len - q.read);
  q.written += len - q.read;
  copy[q.written] = '\0';
  *out_len = q.written;
  return copy;
}

void lkd_kserve_floats_from_le(float *dst, const unsigned char *src, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const unsigned char *p = src + 4 * i;
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    memcpy(&dst[i], &u, sizeof u);
  }
}

void lkd_kserve_append_le(lkt_buf *b, const float *values, size_t count) {
  if (lkt_buf_reserve(b, count * 4) != 0)
    return;
  unsigned char *p = (unsigned char *)b->data + b->len;
  for (size_t i = 0; i < count; i++) {
    uint32_t u;
    memcpy(&u, &values[i], sizeof u);
    p[4 * i] = (unsigned char)u;
    p[4 * i + 1] = (unsigned char)(u >> 8);
    p[4 * i + 2] = (unsigned char)(u >> 16);
    p[4 * i + 3] = (unsigned char)(u >> 24);
  }
  b->len += count * 4;
  b->data[b->len] = '\0';
}

void lkd_kserve_halves_from_le(uint16_t *dst, const unsigned char *src, size_t count) {
  for (size_t i = 0; i < count; i++)
    dst[i] = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
}

void lkd_kserve_append_le16(lkt_buf *b, const uint16_t *values, size_t count) {
  if (lkt_buf_reserve(b, count * 2) != 0)
    return;
  unsigned char *p = (unsigned char *)b->data + b->len;
  for (size_t i = 0; i < count; i++) {
    p[2 * i] = (unsigned char)values[i];
    p[2 * i + 1] = (unsigned char)(values[i] >> 8);
  }
  b->len += count * 2;
  b->data[b->len] = '\0';
}
