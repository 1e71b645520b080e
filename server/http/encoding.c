/* encoding.c - request bodies inflated (gzip, deflate) within --max-body
 * and the in-flight budget, and answers compressed for clients that
 * accept it (encoding.h). */
#include "encoding.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "bufpool.h"
#include "request.h"
#include "user_text.h"

/* ---- Content-Encoding ---- */

/* Copies value without its surrounding spaces and tabs into out. */
static void lkd_trim(const char *value, char *out, size_t cap) {
  while (*value == ' ' || *value == '\t')
    value++;
  size_t n = strlen(value);
  while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
    n--;
  if (n >= cap)
    n = cap - 1;
  memcpy(out, value, n);
  out[n] = '\0';
}

int lkd_coding_parse(const char *value, lkd_coding *out, lkd_error *e) {
  char token[32];
  *out = LKD_CODING_IDENTITY;
  if (!value)
    return 0;
  lkd_trim(value, token, sizeof token);
  if (strcasecmp(token, "identity") == 0)
    return 0;
  if (strcasecmp(token, "gzip") == 0 || strcasecmp(token, "x-gzip") == 0) {
    *out = LKD_CODING_GZIP;
    return 0;
  }
  if (strcasecmp(token, "deflate") == 0) {
    *out = LKD_CODING_DEFLATE;
    return 0;
  }
  char shown[40];
  lkt_printable(token, shown, sizeof shown, sizeof shown, 1, 1);
  return lkd_fail(e, LKD_UNSUPPORTED_MEDIA_TYPE,
                  "Content-Encoding \"%s\" is not supported (gzip, deflate or identity)", shown);
}

const char *lkd_coding_name(lkd_coding coding) {
  return coding == LKD_CODING_GZIP ? "gzip" : coding == LKD_CODING_DEFLATE ? "deflate" : NULL;
}

/* ---- inflating a request body ---- */

/* The output of one inflation: a pooled buffer and the budget it holds. */
typedef struct lkd_inflated {
  char *data;
  size_t len, cap; /* cap: the bytes usable (at most the limit + 1) */
  size_t charged;  /* taken from the budget for it */
  size_t limit;    /* --max-body */
  lkd_budget *budget;
  size_t own; /* the budget the request holds besides (its raw body) */
} lkd_inflated;

/* Grows out to at least need bytes (doubling, never past limit + 1).
 * 0, or -1 with e set. */
static int lkd_inflated_grow(lkd_inflated *out, size_t need, lkd_error *e) {
  size_t want = out->cap ? out->cap * 2 : need;
  if (want < need)
    want = need;
  if (want > out->limit + 1)
    want = out->limit + 1;
  if (want > out->charged) {
    if (lkd_budget_take(out->budget, out->own + out->charged, want - out->charged) != 0)
      return lkd_fail(e, LKD_UNAVAILABLE,
                      "the daemon holds %zu bytes of request and answer bodies: inflating this "
                      "body would pass the %zu of --max-inflight-bytes; retry later",
                      lkd_budget_used(out->budget), out->budget->limit);
    out->charged = want;
  }
  size_t usable = 0; /* the pool's, which may be more than want */
  if (lkd_bufpool_regrow(&out->data, out->len, want, &usable) != 0)
    return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory inflating the body");
  out->cap = want;
  return 0;
}

/* Whether the two bytes start a zlib stream (RFC 1950): deflate, and a
 * header check that divides by 31. Otherwise "deflate" is taken as raw
 * deflate (RFC 1951), as some clients send it. */
static int lkd_zlib_header(const unsigned char *in, size_t n) {
  return n >= 2 && (in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 && ((in[0] << 8) | in[1]) % 31 == 0;
}

static int lkd_too_large(lkd_error *e, const char *name, size_t limit) {
  return lkd_fail(e, LKD_PAYLOAD_TOO_LARGE,
                  "the %s body inflates past the limit of %zu bytes (--max-body)", name, limit);
}

/* Inflates in[0, n) into out. 0, or -1 with e set. */
static int lkd_inflate_all(lkd_coding coding, const unsigned char *in, size_t n, lkd_inflated *out,
                           lkd_error *e) {
  const char *name = lkd_coding_name(coding);
  z_stream z;
  memset(&z, 0, sizeof z);
  int bits = coding == LKD_CODING_GZIP ? 16 + MAX_WBITS
             : lkd_zlib_header(in, n)  ? MAX_WBITS
                                       : -MAX_WBITS;
  if (inflateInit2(&z, bits) != Z_OK)
    return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory inflating the body");
  size_t used = 0; /* input consumed */
  int rc = Z_OK, status = 0;
  while (status == 0) {
    if (out->len == out->cap) {
      if (out->cap == out->limit + 1) {
        status = lkd_too_large(e, name, out->limit);
        break;
      }
      size_t guess = n < SIZE_MAX / 4 ? n * 4 : SIZE_MAX;
      status = lkd_inflated_grow(out, guess > 4096 ? guess : 4096, e);
      continue;
    }
    const size_t in_left = n - used, out_left = out->cap - out->len;
    z.next_in = (unsigned char *)in + used;
    z.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
    z.next_out = (unsigned char *)out->data + out->len;
    z.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
    const uInt avail_in = z.avail_in, avail_out = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    used += avail_in - z.avail_in;
    out->len += avail_out - z.avail_out;
    if (rc == Z_STREAM_END) {
      /* gzip allows several members one after another */
      if (used == n)
        break;
      if (coding != LKD_CODING_GZIP) {
        status = lkd_fail(e, LKD_INVALID_ARGUMENT,
                          "the %s body has %zu bytes after the end of its compressed stream", name,
                          n - used);
      } else if (inflateReset(&z) != Z_OK) {
        status = lkd_fail(e, LKD_INTERNAL, "cannot restart inflating the body");
      }
    } else if (rc == Z_MEM_ERROR) {
      status = lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory inflating the body");
    } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
      status = lkd_fail(e, LKD_INVALID_ARGUMENT, "the body is not valid %s data: %s", name,
                        rc == Z_BUF_ERROR ? "the compressed stream ends early"
                        : z.msg           ? z.msg
                                          : "corrupt stream");
    } else if (used == n && z.avail_out > 0 && avail_in == 0) {
      status = lkd_fail(e, LKD_INVALID_ARGUMENT,
                        "the body is not valid %s data: the compressed stream ends early", name);
    }
  }
  inflateEnd(&z);
  if (status == 0 && out->len > out->limit)
    status = lkd_too_large(e, name, out->limit);
  /* the handler writes a NUL after the body */
  if (status == 0 && out->len == out->cap)
    status = lkd_inflated_grow(out, out->len + 1, e);
  return status;
}

int lkd_body_decode(lkd_http_request *req, size_t max_body) {
  if (req->coding == LKD_CODING_IDENTITY || req->len == 0)
    return 0;
  lkd_budget *budget = &req->http->budget;
  lkd_inflated out = {NULL, 0, 0, 0, max_body, budget, req->charged};
  if (lkd_inflate_all(req->coding, (const unsigned char *)req->body, req->len, &out, &req->early) !=
      0) {
    lkt_mem_release(out.data);
    lkd_budget_give(budget, out.charged);
    return -1;
  }
  /* The raw body goes; the inflated one takes its place and its charge. */
  lkt_mem_release(req->body);
  lkd_budget_give(budget, req->charged);
  req->body = out.data;
  req->len = out.len;
  req->cap = out.cap;
  req->charged = out.charged;
  return 0;
}

/* ---- compressing an answer ---- */

/* The q of one Accept-Encoding element's parameters (";q=0.5"): 1 when
 * absent. */
static double lkd_quality(const char *params) {
  const char *q = strstr(params, "q=");
  if (!q)
    q = strstr(params, "Q=");
  return q ? strtod(q + 2, NULL) : 1.0;
}

lkd_coding lkd_coding_accepted(const char *accept_encoding) {
  if (!accept_encoding)
    return LKD_CODING_IDENTITY;
  int gzip = 0, deflate = 0;
  const char *p = accept_encoding;
  while (*p) {
    size_t n = strcspn(p, ",");
    char element[64];
    if (n < sizeof element) {
      memcpy(element, p, n);
      element[n] = '\0';
      char *semi = strchr(element, ';');
      const double q = semi ? lkd_quality(semi + 1) : 1.0;
      if (semi)
        *semi = '\0';
      char coding[64];
      lkd_trim(element, coding, sizeof coding);
      if (q > 0 && (strcasecmp(coding, "gzip") == 0 || strcasecmp(coding, "x-gzip") == 0 ||
                    strcmp(coding, "*") == 0))
        gzip = 1;
      else if (q > 0 && strcasecmp(coding, "deflate") == 0)
        deflate = 1;
    }
    p += n;
    if (*p == ',')
      p++;
  }
  return gzip ? LKD_CODING_GZIP : deflate ? LKD_CODING_DEFLATE : LKD_CODING_IDENTITY;
}

int lkd_body_compress(lkt_buf *body, lkd_coding coding) {
  if (coding == LKD_CODING_IDENTITY || body->oom || body->len <= LKD_COMPRESS_MIN ||
      body->len > UINT_MAX)
    return -1;
  z_stream z;
  memset(&z, 0, sizeof z);
  /* Level 1: answers are floats, which compress little at any level; the
   * time goes where the gain is (runs of zeros, repeated values). */
  if (deflateInit2(&z, 1, Z_DEFLATED, coding == LKD_CODING_GZIP ? 16 + MAX_WBITS : MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  const uLong bound = deflateBound(&z, (uLong)body->len);
  size_t cap = 0;
  char *packed = bound <= UINT_MAX ? lkt_mem_alloc(bound, &cap) : NULL;
  int rc = Z_STREAM_ERROR;
  if (packed) {
    z.next_in = (unsigned char *)body->data;
    z.avail_in = (uInt)body->len;
    z.next_out = (unsigned char *)packed;
    z.avail_out = (uInt)bound;
    rc = deflate(&z, Z_FINISH);
  }
  const size_t len = (size_t)z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END || len >= body->len) {
    lkt_mem_release(packed);
    return -1;
  }
  lkt_mem_release(body->data);
  body->data = packed;
  body->len = len;
  body->cap = cap;
  return 0;
}
