/* base64.c - strict base64 both ways (scalar code; base64_avx2.h for whole AVX2 steps). */
#include "base64.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64_avx2.h"
#include "error_text.h"

/* ---- base64 ---- */

static const char B64_ALPHABET[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 1 + the value of each alphabet character; 0 for everything else (all
 * bytes >= 128 included), so value - 1 has bit 7 set exactly when invalid. */
static const unsigned char B64_VALUE1[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  63,
    0,  0,  0,  64, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0,  0,  0,  0,  0,  0,  0,  1,
    2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
    24, 25, 26, 0,  0,  0,  0,  0,  0,  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
    40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 0,  0,  0,  0,  0,
};

/* Payloads from this many bytes of text up are split between two threads:
 * below it, starting a thread costs more than half the work. */
#define B64_SPLIT_MIN ((size_t)4 << 20)

/* Runs fn(first) here and fn(second) on a new thread, at the same time;
 * both in turn here when no thread can be started. */
static void run_in_halves(void *(*fn)(void *), void *first, void *second) {
  pthread_t helper;
  const int started = pthread_create(&helper, NULL, fn, second) == 0;
  fn(first);
  if (started)
    pthread_join(helper, NULL);
  else
    fn(second);
}

/* Every 12-bit value as its two base64 characters: one lookup per two
 * output characters. Built once. */
static char B64_PAIRS[4096 * 2];
static pthread_once_t b64_pairs_once = PTHREAD_ONCE_INIT;

static void build_b64_pairs(void) {
  for (size_t v = 0; v < 4096; v++) {
    B64_PAIRS[2 * v] = B64_ALPHABET[v >> 6];
    B64_PAIRS[2 * v + 1] = B64_ALPHABET[v & 63];
  }
}

/* Encodes n bytes (a multiple of 3) into 4n/3 characters at out. */
static void encode_triples(const unsigned char *in, size_t n, char *out) {
  size_t i = 0;
#ifdef LKT_BASE64_AVX2
  if (lkt_cpu_has_avx2()) {
    i = lkt_base64_encode_avx2(in, n, out);
    out += i / 3 * 4;
  }
#endif
  /* Six bytes a step, read as one big-endian 64-bit load (needs 8). */
  for (; i + 8 <= n; i += 6, out += 8) {
    uint64_t w;
    memcpy(&w, in + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    memcpy(out, B64_PAIRS + 2 * ((w >> 52) & 0xFFF), 2);
    memcpy(out + 2, B64_PAIRS + 2 * ((w >> 40) & 0xFFF), 2);
    memcpy(out + 4, B64_PAIRS + 2 * ((w >> 28) & 0xFFF), 2);
    memcpy(out + 6, B64_PAIRS + 2 * ((w >> 16) & 0xFFF), 2);
  }
  for (; i < n; i += 3, out += 4) {
    const uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    memcpy(out, B64_PAIRS + 2 * (v >> 12), 2);
    memcpy(out + 2, B64_PAIRS + 2 * (v & 0xFFF), 2);
  }
}

typedef struct encode_part {
  const unsigned char *in;
  size_t n;
  char *out;
} encode_part;

static void *encode_part_run(void *arg) {
  const encode_part *part = arg;
  encode_triples(part->in, part->n, part->out);
  return NULL;
}

void lkt_base64_encode(lkt_buf *b, const unsigned char *bytes, size_t n) {
  if (n / 3 >= SIZE_MAX / 8) {
    b->oom = 1;
    return;
  }
  const size_t out_len = (n + 2) / 3 * 4;
  if (lkt_buf_reserve(b, out_len) != 0)
    return;
  pthread_once(&b64_pairs_once, build_b64_pairs);
  char *p = b->data + b->len;
  const size_t full = n / 3 * 3;
  if (out_len >= B64_SPLIT_MIN) {
    const size_t half = full / 6 * 3;
    encode_part first = {bytes, half, p};
    encode_part second = {bytes + half, full - half, p + half / 3 * 4};
    run_in_halves(encode_part_run, &first, &second);
  } else {
    encode_triples(bytes, full, p);
  }
  p += full / 3 * 4;
  if (full < n) {
    const uint32_t v =
        (uint32_t)bytes[full] << 16 | (full + 1 < n ? (uint32_t)bytes[full + 1] << 8 : 0);
    p[0] = B64_ALPHABET[v >> 18];
    p[1] = B64_ALPHABET[(v >> 12) & 63];
    p[2] = full + 1 < n ? B64_ALPHABET[(v >> 6) & 63] : '=';
    p[3] = '=';
  }
  b->len += out_len;
  b->data[b->len] = '\0';
}

/* The offset of the first non-alphabet character in in[from, from + n). */
static size_t first_invalid(const char *in, size_t from, size_t n) {
  size_t i = from;
  while (i < from + n && B64_VALUE1[(unsigned char)in[i]] != 0)
    i++;
  return i;
}

/* Decodes nquads groups of 4 characters (no padding) into 3 bytes each.
 * Returns the offset of the first character outside the alphabet, or
 * SIZE_MAX. Validity is checked once per block of quads, and only a bad
 * block is scanned again for the offset. */
static size_t decode_quads(const char *in, size_t nquads, unsigned char *out) {
  enum { BLOCK = 64 };
  const unsigned char *s = (const unsigned char *)in;
  size_t q = 0;
#ifdef LKT_BASE64_AVX2
  if (lkt_cpu_has_avx2())
    q = lkt_base64_decode_avx2(in, nquads, out);
#endif
  while (q < nquads) {
    const size_t block_start = q;
    const size_t block_end = nquads - q > BLOCK ? q + BLOCK : nquads;
    uint32_t bad = 0;
    for (; q < block_end; q++) {
      const unsigned char *c = s + 4 * q;
      const uint32_t a = B64_VALUE1[c[0]] - 1u, b = B64_VALUE1[c[1]] - 1u;
      const uint32_t d2 = B64_VALUE1[c[2]] - 1u, d3 = B64_VALUE1[c[3]] - 1u;
      bad |= a | b | d2 | d3;
      const uint32_t v = a << 18 | b << 12 | d2 << 6 | d3;
      unsigned char *o = out + 3 * q;
      o[0] = (unsigned char)(v >> 16);
      o[1] = (unsigned char)(v >> 8);
      o[2] = (unsigned char)v;
    }
    if (bad & 0x80u)
      return first_invalid(in, 4 * block_start, 4 * (block_end - block_start));
  }
  return SIZE_MAX;
}

typedef struct decode_part {
  const char *in;
  size_t nquads;
  unsigned char *out;
  size_t bad; /* decode_quads' answer */
} decode_part;

static void *decode_part_run(void *arg) {
  decode_part *part = arg;
  part->bad = decode_quads(part->in, part->nquads, part->out);
  return NULL;
}

/* decode_quads, by two threads for long texts. */
static size_t decode_quads_split(const char *in, size_t nquads, unsigned char *out) {
  if (nquads * 4 < B64_SPLIT_MIN)
    return decode_quads(in, nquads, out);
  const size_t half = nquads / 2;
  decode_part first = {in, half, out, SIZE_MAX};
  decode_part second = {in + 4 * half, nquads - half, out + 3 * half, SIZE_MAX};
  run_in_halves(decode_part_run, &first, &second);
  if (first.bad != SIZE_MAX)
    return first.bad;
  return second.bad == SIZE_MAX ? SIZE_MAX : 4 * half + second.bad;
}

/* The '=' characters ending a text whose length is a multiple of 4. */
static size_t base64_padding(const char *in, size_t len) {
  if (len == 0 || in[len - 1] != '=')
    return 0;
  return in[len - 2] == '=' ? 2 : 1;
}

int lkt_base64_decoded_size(const char *in, size_t len, size_t *out_len, char *err, size_t errlen) {
  *out_len = 0;
  if (len % 4 != 0)
    return lkt_fail(err, errlen, "base64 length %zu is not a multiple of 4", len);
  *out_len = len / 4 * 3 - base64_padding(in, len);
  return 0;
}

int lkt_base64_decode_into(const char *in, size_t len, unsigned char *out, char *err,
                           size_t errlen) {
  size_t n;
  if (lkt_base64_decoded_size(in, len, &n, err, errlen) != 0)
    return -1;
  const size_t pad = base64_padding(in, len);
  const size_t full = pad ? len - 4 : len; /* quads without padding */
  const size_t bad = decode_quads_split(in, full / 4, out);
  if (bad != SIZE_MAX)
    return lkt_fail(err, errlen, "invalid base64 character at offset %zu", bad);
  if (pad) {
    const size_t i = len - 4, data_chars = 4 - pad;
    const size_t bad_pad = first_invalid(in, i, data_chars);
    if (bad_pad < i + data_chars)
      return lkt_fail(err, errlen, "invalid base64 character at offset %zu", bad_pad);
    const uint32_t v = (uint32_t)(B64_VALUE1[(unsigned char)in[i]] - 1u) << 18 |
                       (uint32_t)(B64_VALUE1[(unsigned char)in[i + 1]] - 1u) << 12 |
                       (pad == 1 ? (uint32_t)(B64_VALUE1[(unsigned char)in[i + 2]] - 1u) << 6 : 0);
    /* Canonical encodings only (RFC 4648 3.5): the bits under the padding are zero. */
    if (v & (pad == 1 ? 0xFFu : 0xFFFFu))
      return lkt_fail(err, errlen, "non-zero bits before base64 padding at offset %zu",
                      len - pad - 1);
    unsigned char *o = out + full / 4 * 3;
    o[0] = (unsigned char)(v >> 16);
    if (pad == 1)
      o[1] = (unsigned char)(v >> 8);
  }
  return 0;
}

int lkt_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, char *err,
                      size_t errlen) {
  *out = NULL;
  *out_len = 0;
  size_t n;
  if (lkt_base64_decoded_size(in, len, &n, err, errlen) != 0)
    return -1;
  unsigned char *bytes = malloc(n ? n : 1);
  if (!bytes)
    return lkt_fail(err, errlen, "out of memory for %zu decoded bytes", n);
  if (lkt_base64_decode_into(in, len, bytes, err, errlen) != 0) {
    free(bytes);
    return -1;
  }
  *out = bytes;
  *out_len = n;
  return 0;
}
