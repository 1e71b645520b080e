/* npy.c - a strict reader and writer of NumPy .npy float32 and float16 files: a pure
 * parser over a memory buffer (safe on hostile input: every length and
 * product is checked before use), plus file load and stream write. */
#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error_text.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

size_t npy_dtype_size(npy_dtype dtype) {
  return dtype == NPY_FLOAT32 || dtype == NPY_UINT32 ? 4 : dtype == NPY_FLOAT16 ? 2 : 0;
}

const char *npy_dtype_descr(npy_dtype dtype) {
  return dtype == NPY_FLOAT32   ? "<f4"
         : dtype == NPY_FLOAT16 ? "<f2"
         : dtype == NPY_UINT32  ? "<u4"
                                : NULL;
}

const char *npy_dtype_name(npy_dtype dtype) {
  return dtype == NPY_FLOAT32   ? "float32"
         : dtype == NPY_FLOAT16 ? "float16"
         : dtype == NPY_UINT32  ? "uint32"
                                : "unknown";
}

/* Failures read `return lkt_fail(...)` (text/error_text.h): its -1 is NPY_BAD. */
_Static_assert(NPY_BAD == -1, "lkt_fail returns NPY_BAD");

/* a * b into *out; false on size_t overflow. */
static int npy_mul(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a)
    return 0;
  *out = a * b;
  return 1;
}

/* A cursor over the header text [p, end). */
typedef struct npy_cursor {
  const unsigned char *p;
  const unsigned char *end;
  const unsigned char *start; /* for offsets in messages */
} npy_cursor;

static void npy_skip_space(npy_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

/* Copies up to 24 characters of hostile text into a printable quoted form
 * for a message (non-printable bytes become '?'). */
static void npy_printable(const unsigned char *s, size_t n, char *out, size_t outlen) {
  size_t o = 0;
  for (size_t i = 0; i < n && i < 24 && o + 2 < outlen; i++)
    out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
  if (n > 24 && o + 4 < outlen) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/* Reads a Python string literal in single or double quotes, without escapes
 * (no numpy header needs one). *s and *n point into the header. */
static npy_result npy_read_string(npy_cursor *c, const unsigned char **s, size_t *n, char *err,
                                  size_t errlen) {
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return lkt_fail(err, errlen, "header: expected a quoted string at offset %zu",
                    (size_t)(c->p - c->start));
  const unsigned char quote = *c->p++;
  const unsigned char *begin = c->p;
  while (c->p < c->end && *c->p != quote) {
    if (*c->p == '\\' || *c->p == '\n')
      return lkt_fail(err, errlen, "header: unsupported character in a string at offset %zu",
                      (size_t)(c->p - c->start));
    c->p++;
  }
  if (c->p >= c->end)
    return lkt_fail(err, errlen, "header: unterminated string");
  *s = begin;
  *n = (size_t)(c->p - begin);
  c->p++;
  return NPY_OK;
}

/* Whether the next bytes are the identifier `word`, not followed by an
 * identifier character; consumes it when they are. */
static int npy_take_word(npy_cursor *c, const char *word) {
  const size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return 0;
  if (c->p + n < c->end) {
    const unsigned char next = c->p[n];
    if (next == '_' || (next >= '0' && next <= '9') || (next >= 'a' && next <= 'z') ||
        (next >= 'A' && next <= 'Z'))
      return 0;
  }
  c->p += n;
  return 1;
}

/* Reads a non-negative decimal integer that fits in size_t. */
static npy_result npy_read_dim(npy_cursor *c, size_t *out, char *err, size_t errlen) {
  if (c->p < c->end && *c->p == '-')
    return lkt_fail(err, errlen, "header: negative dimension in shape");
  if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    return lkt_fail(err, errlen, "header: expected a dimension at offset %zu",
                    (size_t)(c->p - c->start));
  size_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    const size_t digit = (size_t)(*c->p - '0');
    if (v > (SIZE_MAX - digit) / 10)
      return lkt_fail(err, errlen, "header: a dimension is too large");
    v = v * 10 + digit;
    c->p++;
  }
  *out = v;
  return NPY_OK;
}

/* Reads a Python tuple of dimensions: (), (n,), (n, m), (n, m,). A
 * one-element tuple needs its comma, as in Python ((5) is not a tuple). */
static npy_result npy_read_shape(npy_cursor *c, npy_header *h, char *err, size_t errlen) {
  if (c->p >= c->end || *c->p != '(')
    return lkt_fail(err, errlen, "header: shape is not a tuple");
  c->p++;
  h->rank = 0;
  int saw_comma = 0;
  for (;;) {
    npy_skip_space(c);
    if (c->p < c->end && *c->p == ')') {
      if (h->rank == 1 && !saw_comma)
        return lkt_fail(err, errlen, "header: shape (n) is not a tuple; write (n,)");
      c->p++;
      return NPY_OK;
    }
    if (h->rank > 0 && !saw_comma)
      return lkt_fail(err, errlen, "header: expected ',' or ')' in shape at offset %zu",
                      (size_t)(c->p - c->start));
    if (h->rank == NPY_MAX_RANK)
      return lkt_fail(err, errlen, "rank is over the maximum of %d", NPY_MAX_RANK);
    size_t dim = 0;
    if (npy_read_dim(c, &dim, err, errlen) != NPY_OK)
      return NPY_BAD;
    h->shape[h->rank++] = dim;
    npy_skip_space(c);
    saw_comma = 0;
    if (c->p < c->end && *c->p == ',') {
      saw_comma = 1;
      c->p++;
    }
  }
}

enum { NPY_KEY_DESCR = 1, NPY_KEY_FORTRAN = 2, NPY_KEY_SHAPE = 4 };

/* Parses the header dictionary text [text, text + n). */
static npy_result npy_parse_dict(const unsigned char *text, size_t n, npy_header *h, char *err,
                                 size_t errlen) {
  npy_cursor c = {text, text + n, text};
  unsigned seen = 0;
  npy_skip_space(&c);
  if (c.p >= c.end || *c.p != '{')
    return lkt_fail(err, errlen, "header is not a dictionary");
  c.p++;
  for (;;) {
    npy_skip_space(&c);
    if (c.p < c.end && *c.p == '}') {
      c.p++;
      break;
    }
    const unsigned char *key;
    size_t key_len;
    if (npy_read_string(&c, &key, &key_len, err, errlen) != NPY_OK)
      return NPY_BAD;
    npy_skip_space(&c);
    if (c.p >= c.end || *c.p != ':')
      return lkt_fail(err, errlen, "header: expected ':' at offset %zu", (size_t)(c.p - c.start));
    c.p++;
    npy_skip_space(&c);
    unsigned which;
    if (key_len == 5 && memcmp(key, "descr", 5) == 0)
      which = NPY_KEY_DESCR;
    else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0)
      which = NPY_KEY_FORTRAN;
    else if (key_len == 5 && memcmp(key, "shape", 5) == 0)
      which = NPY_KEY_SHAPE;
    else {
      char shown[32];
      npy_printable(key, key_len, shown, sizeof shown);
      return lkt_fail(err, errlen, "header: unknown key '%s'", shown);
    }
    if (seen & which)
      return lkt_fail(err, errlen, "header: duplicate key");
    seen |= which;
    if (which == NPY_KEY_DESCR) {
      const unsigned char *d;
      size_t dn;
      if (npy_read_string(&c, &d, &dn, err, errlen) != NPY_OK)
        return NPY_BAD;
      if (dn == 3 && memcmp(d, "<f4", 3) == 0) {
        h->dtype = NPY_FLOAT32;
      } else if (dn == 3 && memcmp(d, "<f2", 3) == 0) {
        h->dtype = NPY_FLOAT16;
      } else if (dn == 3 && memcmp(d, "<u4", 3) == 0) {
        h->dtype = NPY_UINT32;
      } else {
        char shown[32];
        npy_printable(d, dn, shown, sizeof shown);
        return lkt_fail(err, errlen,
                        "dtype '%s' is not supported (only little-endian float32 '<f4', "
                        "float16 '<f2' or, for masks, uint32 '<u4')",
                        shown);
      }
    } else if (which == NPY_KEY_FORTRAN) {
      if (npy_take_word(&c, "True"))
        return lkt_fail(err, errlen, "fortran_order True is not supported (save a C-order array)");
      if (!npy_take_word(&c, "False"))
        return lkt_fail(err, errlen, "header: fortran_order is neither True nor False");
    } else if (npy_read_shape(&c, h, err, errlen) != NPY_OK) {
      return NPY_BAD;
    }
    npy_skip_space(&c);
    if (c.p < c.end && *c.p == ',') {
      c.p++;
      continue;
    }
    if (c.p < c.end && *c.p == '}') {
      c.p++;
      break;
    }
    return lkt_fail(err, errlen, "header: expected ',' or '}' at offset %zu",
                    (size_t)(c.p - c.start));
  }
  npy_skip_space(&c);
  if (c.p != c.end)
    return lkt_fail(err, errlen, "header: unexpected text after the dictionary at offset %zu",
                    (size_t)(c.p - c.start));
  if (!(seen & NPY_KEY_DESCR))
    return lkt_fail(err, errlen, "header: missing key 'descr'");
  if (!(seen & NPY_KEY_FORTRAN))
    return lkt_fail(err, errlen, "header: missing key 'fortran_order'");
  if (!(seen & NPY_KEY_SHAPE))
    return lkt_fail(err, errlen, "header: missing key 'shape'");
  return NPY_OK;
}

npy_result npy_parse_header(const unsigned char *buf, size_t len, npy_header *out, size_t *needed,
                            char *err, size_t errlen) {
  if (!out || (!buf && len > 0))
    return lkt_fail(err, errlen, "no buffer or no output");
  if (len < 8) {
    if (len > 0 && memcmp(buf, npy_magic, len < 6 ? len : 6) != 0)
      return lkt_fail(err, errlen, "not a .npy file (bad magic)");
    if (needed)
      *needed = 10;
    return NPY_NEED_MORE;
  }
  if (memcmp(buf, npy_magic, 6) != 0)
    return lkt_fail(err, errlen, "not a .npy file (bad magic)");
  const unsigned major = buf[6], minor = buf[7];
  if (major < 1 || major > 3 || minor != 0)
    return lkt_fail(err, errlen, "unsupported .npy format version %u.%u (1.0, 2.0, 3.0)", major,
                    minor);
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t text_start = 8 + len_bytes;
  if (len < text_start) {
    if (needed)
      *needed = text_start;
    return NPY_NEED_MORE;
  }
  size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
  if (major > 1)
    hlen |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
  if (hlen > NPY_MAX_HEADER_LEN)
    return lkt_fail(err, errlen, "header length %zu is over the limit of %u bytes", hlen,
                    NPY_MAX_HEADER_LEN);
  if (len < text_start + hlen) {
    if (needed)
      *needed = text_start + hlen;
    return NPY_NEED_MORE;
  }
  npy_header h;
  memset(&h, 0, sizeof h);
  h.version_major = major;
  h.version_minor = minor;
  if (npy_parse_dict(buf + text_start, hlen, &h, err, errlen) != NPY_OK)
    return NPY_BAD;
  size_t count = 1;
  for (size_t d = 0; d < h.rank; d++) {
    if (!npy_mul(count, h.shape[d], &count))
      return lkt_fail(err, errlen, "shape has more elements than memory can hold");
  }
  size_t data_bytes;
  if (!npy_mul(count, npy_dtype_size(h.dtype), &data_bytes) ||
      data_bytes > SIZE_MAX - (text_start + hlen))
    return lkt_fail(err, errlen, "shape has more elements than memory can hold");
  h.count = count;
  h.data_offset = text_start + hlen;
  *out = h;
  return NPY_OK;
}

/* Decodes n little-endian float32 values from bytes into out (which may
 * alias bytes: each value is read before it is written). */
static void npy_decode(const unsigned char *bytes, size_t n, float *out) {
  for (size_t i = 0; i < n; i++) {
    const unsigned char *b = bytes + 4 * i;
    const uint32_t u =
        (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    out[i] = f;
  }
}

/* Decodes n little-endian float16 patterns (which may alias bytes). */
static void npy_decode_f16(const unsigned char *bytes, size_t n, uint16_t *out) {
  for (size_t i = 0; i < n; i++) {
    const unsigned char *b = bytes + 2 * i;
    out[i] = (uint16_t)(b[0] | b[1] << 8);
  }
}

/* Decodes the array's data in place from the file's little-endian bytes. */
static void npy_decode_array(npy_array *a, const unsigned char *bytes) {
  if (a->dtype == NPY_FLOAT16)
    npy_decode_f16(bytes, a->count, a->data_f16);
  else
    npy_decode(bytes, a->count, a->data);
}

/* Allocates 64-byte aligned room for the array's count elements into data
 * or data_f16 (both NULL, success, for count 0). The header checked that
 * the bytes fit in size_t. */
static int npy_alloc(npy_array *a) {
  if (a->count == 0)
    return 1;
  void *p = NULL;
  if (posix_memalign(&p, 64, a->count * npy_dtype_size(a->dtype)) != 0)
    return 0;
  if (a->dtype == NPY_FLOAT16)
    a->data_f16 = p;
  else
    a->data = p;
  return 1;
}

void npy_array_free(npy_array *array) {
  if (!array)
    return;
  free(array->data);
  free(array->data_f16);
  memset(array, 0, sizeof *array);
}

/* Fills an array from a parsed header, with data still to be placed. */
static void npy_array_from_header(const npy_header *h, npy_array *out) {
  memset(out, 0, sizeof *out);
  out->rank = h->rank;
  memcpy(out->shape, h->shape, h->rank * sizeof h->shape[0]);
  out->count = h->count;
  out->dtype = h->dtype;
}

const void *npy_array_bytes(const npy_array *array) {
  return array->dtype == NPY_FLOAT16 ? (const void *)array->data_f16 : (const void *)array->data;
}

npy_result npy_parse(const unsigned char *buf, size_t len, npy_array *out, char *err,
                     size_t errlen) {
  if (!out)
    return lkt_fail(err, errlen, "no output");
  npy_header h;
  size_t needed = 0;
  const npy_result r = npy_parse_header(buf, len, &h, &needed, err, errlen);
  if (r == NPY_NEED_MORE)
    return lkt_fail(err, errlen, "truncated header (%zu of %zu bytes)", len, needed);
  if (r != NPY_OK)
    return NPY_BAD;
  const size_t have = len - h.data_offset, want = h.count * npy_dtype_size(h.dtype);
  if (have != want)
    return lkt_fail(err, errlen, "data is %zu bytes; the shape needs %zu", have, want);
  npy_array a;
  npy_array_from_header(&h, &a);
  if (!npy_alloc(&a))
    return lkt_fail(err, errlen, "out of memory for %zu values", h.count);
  npy_decode_array(&a, buf + h.data_offset);
  *out = a;
  return NPY_OK;
}

/* Reads exactly n bytes at the current position; 0 on a short read. */
static int npy_read_exact(FILE *f, void *buf, size_t n) {
  return n == 0 || fread(buf, 1, n, f) == n;
}

/* The body of npy_load once the file is open and known to be `size` bytes. */
static npy_result npy_load_open(FILE *f, size_t size, npy_array *out, char *err, size_t errlen) {
  unsigned char pre[NPY_PREAMBLE_MAX];
  const size_t pre_len = size < sizeof pre ? size : sizeof pre;
  if (!npy_read_exact(f, pre, pre_len))
    return lkt_fail(err, errlen, "read failed: %s", strerror(errno));
  npy_header h;
  size_t needed = 0;
  npy_result r = npy_parse_header(pre, pre_len, &h, &needed, err, errlen);
  if (r == NPY_NEED_MORE) {
    /* The preamble is complete (or the file is shorter than one), and the
     * header length was bounded by the parser. */
    if (needed > size)
      return lkt_fail(err, errlen, "truncated header (%zu of %zu bytes)", size, needed);
    unsigned char *head = malloc(needed);
    if (!head)
      return lkt_fail(err, errlen, "out of memory for a %zu-byte header", needed);
    memcpy(head, pre, pre_len);
    if (!npy_read_exact(f, head + pre_len, needed - pre_len)) {
      free(head);
      return lkt_fail(err, errlen, "read failed: %s", strerror(errno));
    }
    r = npy_parse_header(head, needed, &h, &needed, err, errlen);
    free(head);
    if (r == NPY_NEED_MORE) /* cannot happen: the whole header was given */
      return lkt_fail(err, errlen, "truncated header");
  }
  if (r != NPY_OK)
    return NPY_BAD;
  const size_t have = size - h.data_offset, want = h.count * npy_dtype_size(h.dtype);
  if (have != want)
    return lkt_fail(err, errlen, "data is %zu bytes; the shape needs %zu", have, want);
  if (fseek(f, (long)h.data_offset, SEEK_SET) != 0)
    return lkt_fail(err, errlen, "seek failed: %s", strerror(errno));
  npy_array a;
  npy_array_from_header(&h, &a);
  if (!npy_alloc(&a))
    return lkt_fail(err, errlen, "out of memory for %zu values", h.count);
  void *bytes = a.dtype == NPY_FLOAT16 ? (void *)a.data_f16 : (void *)a.data;
  if (!npy_read_exact(f, bytes, want)) {
    npy_array_free(&a);
    return lkt_fail(err, errlen, "read failed: %s", ferror(f) ? strerror(errno) : "short file");
  }
  npy_decode_array(&a, bytes);
  *out = a;
  return NPY_OK;
}

npy_result npy_load(const char *path, npy_array *out, char *err, size_t errlen) {
  char why[256] = "";
  if (!path || !out)
    return lkt_fail(err, errlen, "no path or no output");
  FILE *f = fopen(path, "rb");
  if (!f)
    return lkt_fail(err, errlen, "%s: %s", path, strerror(errno));
  struct stat st;
  npy_result r;
  if (fstat(fileno(f), &st) != 0) {
    r = lkt_fail(why, sizeof why, "%s", strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    r = lkt_fail(why, sizeof why, "not a regular file");
  } else if (st.st_size < 0 || (uintmax_t)st.st_size > SIZE_MAX) {
    r = lkt_fail(why, sizeof why, "file too large");
  } else {
    r = npy_load_open(f, (size_t)st.st_size, out, why, sizeof why);
  }
  fclose(f); /* read-only: nothing to lose on close */
  if (r != NPY_OK)
    return lkt_fail(err, errlen, "%s: %s", path, why);
  return NPY_OK;
}

/* Appends text to buf at *pos; 0 when it does not fit. */
static int npy_append(unsigned char *buf, size_t buflen, size_t *pos, const char *text) {
  const size_t n = strlen(text);
  if (n > buflen - *pos)
    return 0;
  memcpy(buf + *pos, text, n);
  *pos += n;
  return 1;
}

size_t npy_format_header(const size_t *shape, size_t rank, unsigned char *buf, size_t buflen) {
  return npy_format_header_typed(shape, rank, NPY_FLOAT32, buf, buflen);
}

size_t npy_format_header_typed(const size_t *shape, size_t rank, npy_dtype dtype,
                               unsigned char *buf, size_t buflen) {
  const char *descr = npy_dtype_descr(dtype);
  if (rank > NPY_MAX_RANK || (rank > 0 && !shape) || !buf || !descr)
    return 0;
  /* The dictionary exactly as numpy writes it. */
  char dict[64 + NPY_MAX_RANK * 24];
  size_t dn = 0;
  int w = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  if (w < 0)
    return 0;
  dn = (size_t)w;
  for (size_t d = 0; d < rank; d++) {
    w = snprintf(dict + dn, sizeof dict - dn, "%s%zu%s", d ? ", " : "", shape[d],
                 rank == 1 ? "," : "");
    if (w < 0 || (size_t)w >= sizeof dict - dn)
      return 0;
    dn += (size_t)w;
  }
  w = snprintf(dict + dn, sizeof dict - dn, "), }");
  if (w < 0 || (size_t)w >= sizeof dict - dn)
    return 0;
  dn += (size_t)w;
  /* Version 1.0 (2-byte length) always fits here; pad to a multiple of 64
   * with spaces and end with '\n', as numpy does. */
  const size_t pre = 10;
  size_t total = pre + dn + 1;
  total = (total + 63) / 64 * 64;
  if (total > buflen)
    return 0;
  const size_t hlen = total - pre;
  size_t pos = 0;
  memcpy(buf, npy_magic, 6);
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8);
  pos = pre;
  if (!npy_append(buf, buflen, &pos, dict))
    return 0;
  while (pos < total - 1)
    buf[pos++] = ' ';
  buf[pos++] = '\n';
  return pos;
}

npy_result npy_write(FILE *f, const size_t *shape, size_t rank, const float *data, char *err,
                     size_t errlen) {
  return npy_write_typed(f, shape, rank, NPY_FLOAT32, data, err, errlen);
}

/* Encodes n values of `size` bytes (4: float32, 2: float16 patterns)
 * little-endian into out, without assuming the host's byte order. */
static void npy_encode(const void *data, size_t first, size_t n, size_t size, unsigned char *out) {
  for (size_t k = 0; k < n; k++) {
    uint32_t u;
    if (size == 4) {
      memcpy(&u, (const float *)data + first + k, sizeof u);
    } else {
      u = ((const uint16_t *)data)[first + k];
    }
    for (size_t b = 0; b < size; b++)
      out[size * k + b] = (unsigned char)(u >> (8 * b) & 0xff);
  }
}

npy_result npy_write_typed(FILE *f, const size_t *shape, size_t rank, npy_dtype dtype,
                           const void *data, char *err, size_t errlen) {
  unsigned char head[1024];
  if (!f)
    return lkt_fail(err, errlen, "no stream");
  const size_t size = npy_dtype_size(dtype);
  if (size == 0)
    return lkt_fail(err, errlen, "unknown dtype %d", (int)dtype);
  size_t count = 1;
  for (size_t d = 0; d < rank && shape; d++) {
    if (!npy_mul(count, shape[d], &count))
      return lkt_fail(err, errlen, "shape has more elements than memory can hold");
  }
  /* After the loop, as npy_parse_header checks it: a later 0 empties a
   * shape such as (2**63 - 1, 0), which reads back and must write back. */
  if (count > SIZE_MAX / size)
    return lkt_fail(err, errlen, "shape has more elements than memory can hold");
  if (count > 0 && !data)
    return lkt_fail(err, errlen, "no data for %zu values", count);
  const size_t hn = npy_format_header_typed(shape, rank, dtype, head, sizeof head);
  if (hn == 0)
    return lkt_fail(err, errlen, "cannot format a header for rank %zu", rank);
  if (fwrite(head, 1, hn, f) != hn)
    return lkt_fail(err, errlen, "write failed: %s", strerror(errno));
  /* Encode little-endian through a bounded buffer (no host-order assumption). */
  unsigned char chunk[16384];
  size_t i = 0;
  while (i < count) {
    const size_t n = count - i < sizeof chunk / size ? count - i : sizeof chunk / size;
    npy_encode(data, i, n, size, chunk);
    if (fwrite(chunk, 1, size * n, f) != size * n)
      return lkt_fail(err, errlen, "write failed: %s", strerror(errno));
    i += n;
  }
  return NPY_OK;
}
