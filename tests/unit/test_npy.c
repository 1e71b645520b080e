/* test_npy.c - unit tests of the CLI's .npy reader and writer: round trips,
 * header variants (versions 1.0/2.0/3.0, quotes, spacing, padding) and every
 * rejection of a hostile or unsupported file; also the JSON output helpers
 * that write stats.json beside the .npy results. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"

#include "jsonw.c"
#include "npy.c"

/* A .npy image in memory: preamble for `major`, the header text, optional
 * padding to 64 with '\n', then `n_data` raw data bytes. Free with free(). */
static unsigned char *build(unsigned major, const char *text, const void *data, size_t n_data,
                            size_t *len) {
  const size_t pre = major == 1 ? 10 : 12;
  const size_t tn = strlen(text);
  unsigned char *buf = malloc(pre + tn + n_data + 1);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  buf[8] = (unsigned char)(tn & 0xff);
  buf[9] = (unsigned char)(tn >> 8 & 0xff);
  if (major > 1) {
    buf[10] = (unsigned char)(tn >> 16 & 0xff);
    buf[11] = (unsigned char)(tn >> 24 & 0xff);
  }
  memcpy(buf + pre, text, tn);
  if (n_data)
    memcpy(buf + pre + tn, data, n_data);
  *len = pre + tn + n_data;
  return buf;
}

/* Parses a whole image built from text + data; returns the result and
 * leaves the error text in err. */
static npy_result parse_text(unsigned major, const char *text, const void *data, size_t n_data,
                             npy_array *out, char *err, size_t errlen) {
  size_t len;
  unsigned char *buf = build(major, text, data, n_data, &len);
  npy_array tmp;
  memset(&tmp, 0, sizeof tmp);
  err[0] = '\0';
  const npy_result r = npy_parse(buf, len, out ? out : &tmp, err, errlen);
  if (!out)
    npy_array_free(&tmp);
  free(buf);
  return r;
}

/* Expects a rejection whose message contains `needle`. */
static void expect_reject(unsigned major, const char *text, const void *data, size_t n_data,
                          const char *needle) {
  char err[256];
  const npy_result r = parse_text(major, text, data, n_data, NULL, err, sizeof err);
  CHECK_INT_EQ(r, NPY_BAD);
  if (!strstr(err, needle)) {
    fprintf(stderr, "  header %s: message \"%s\" lacks \"%s\"\n", text, err, needle);
    test_case_failed_ = 1;
  }
}

static const float two_values[2] = {1.0f, -2.5f};

static void test_v1_basic(void) {
  npy_array a;
  char err[256];
  CHECK_INT_EQ(parse_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
                          two_values, 8, &a, err, sizeof err),
               NPY_OK);
  CHECK_STR_EQ(err, "");
  CHECK_INT_EQ(a.rank, 1);
  CHECK_INT_EQ(a.shape[0], 2);
  CHECK_INT_EQ(a.count, 2);
  CHECK(a.data && a.data[0] == 1.0f && a.data[1] == -2.5f);
  CHECK(((uintptr_t)a.data & 63) == 0);
  npy_array_free(&a);
  CHECK(a.data == NULL && a.count == 0);
}

static void test_versions_2_and_3(void) {
  const char *text = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }       \n";
  for (unsigned major = 2; major <= 3; major++) {
    npy_array a;
    char err[256];
    CHECK_INT_EQ(parse_text(major, text, two_values, 8, &a, err, sizeof err), NPY_OK);
    CHECK_INT_EQ(a.rank, 2);
    CHECK_INT_EQ(a.shape[0], 1);
    CHECK_INT_EQ(a.shape[1], 2);
    CHECK(a.data && a.data[1] == -2.5f);
    npy_array_free(&a);
  }
}

static void test_header_variants(void) {
  static const char *const ok[] = {
      /* order, quotes, spacing, trailing comma, tabs, newlines, padding */
      "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,)}",
      "  {  'descr' :  '<f4' ,\t'fortran_order' : False ,\n'shape' : ( 2 , ) , }  \n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
      "                    \n",
      "{'descr':'<f4','fortran_order':False,'shape':(2,)}\r\n",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    npy_array a;
    char err[256];
    const npy_result r = parse_text(1, ok[i], two_values, 8, &a, err, sizeof err);
    if (r != NPY_OK)
      fprintf(stderr, "  variant %zu: %s\n", i, err);
    CHECK_INT_EQ(r, NPY_OK);
    if (r == NPY_OK) {
      CHECK_INT_EQ(a.rank, 1);
      CHECK(a.data[0] == 1.0f && a.data[1] == -2.5f);
      npy_array_free(&a);
    }
  }
}

static void test_scalar_and_empty(void) {
  npy_array a;
  char err[256];
  const float one = 3.0f;
  CHECK_INT_EQ(parse_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", &one, 4,
                          &a, err, sizeof err),
               NPY_OK);
  CHECK_INT_EQ(a.rank, 0);
  CHECK_INT_EQ(a.count, 1);
  CHECK(a.data && a.data[0] == 3.0f);
  npy_array_free(&a);
  CHECK_INT_EQ(parse_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0, 4), }", NULL,
                          0, &a, err, sizeof err),
               NPY_OK);
  CHECK_INT_EQ(a.rank, 3);
  CHECK_INT_EQ(a.count, 0);
  CHECK(a.data == NULL);
  npy_array_free(&a);
}

/* Values are decoded from little-endian bytes, whatever the host. */
static void test_little_endian_values(void) {
  const unsigned char bytes[12] = {0x00, 0x00, 0x80, 0x3f,  /* 1.0 */
                                   0x00, 0x00, 0xc0, 0x7f,  /* NaN */
                                   0x00, 0x00, 0x00, 0x80}; /* -0.0 */
  npy_array a;
  char err[256];
  CHECK_INT_EQ(parse_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", bytes, 12,
                          &a, err, sizeof err),
               NPY_OK);
  CHECK(a.data[0] == 1.0f);
  CHECK(isnan(a.data[1]));
  CHECK(a.data[2] == 0.0f && signbit(a.data[2]));
  npy_array_free(&a);
}

static void test_reject_magic_and_version(void) {
  char err[256];
  npy_array a;
  const unsigned char bad_magic[16] = "\x93NUMPX\x01\x00\x04\x00{}  ";
  CHECK_INT_EQ(npy_parse(bad_magic, sizeof bad_magic, &a, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "magic") != NULL);
  const unsigned char text[] = "PK\x03\x04 not a numpy file at all";
  CHECK_INT_EQ(npy_parse(text, sizeof text, &a, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "magic") != NULL);
  /* A prefix that is already wrong is rejected without asking for more. */
  size_t needed = 0;
  npy_header h;
  CHECK_INT_EQ(npy_parse_header((const unsigned char *)"\x93NUX", 4, &h, &needed, err, sizeof err),
               NPY_BAD);
  size_t len;
  unsigned char *buf =
      build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", two_values, 8, &len);
  buf[6] = 4;
  CHECK_INT_EQ(npy_parse(buf, len, &a, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "version 4.0") != NULL);
  buf[6] = 1;
  buf[7] = 1;
  CHECK_INT_EQ(npy_parse(buf, len, &a, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "version 1.1") != NULL);
  buf[6] = 0;
  buf[7] = 0;
  CHECK_INT_EQ(npy_parse(buf, len, &a, err, sizeof err), NPY_BAD);
  free(buf);
}

static void test_reject_truncated(void) {
  size_t len;
  unsigned char *buf =
      build(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", two_values, 8, &len);
  char err[256];
  npy_array a;
  /* Every strict prefix is rejected: header or data too short. */
  for (size_t cut = 0; cut < len; cut++) {
    err[0] = '\0';
    CHECK_INT_EQ(npy_parse(buf, cut, &a, err, sizeof err), NPY_BAD);
    CHECK(err[0] != '\0');
  }
  CHECK_INT_EQ(npy_parse(buf, len, &a, err, sizeof err), NPY_OK);
  npy_array_free(&a);
  /* NEED_MORE names the full header size. */
  npy_header h;
  size_t needed = 0;
  CHECK_INT_EQ(npy_parse_header(buf, 20, &h, &needed, err, sizeof err), NPY_NEED_MORE);
  CHECK_INT_EQ(needed, len - 8);
  CHECK_INT_EQ(npy_parse_header(buf, 5, &h, &needed, err, sizeof err), NPY_NEED_MORE);
  free(buf);
}

static void test_reject_data_length(void) {
  const float three[3] = {1, 2, 3};
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", three, 4,
                "data is 4 bytes; the shape needs 8");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", three, 12,
                "data is 12 bytes; the shape needs 8");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", three, 7,
                "shape needs 8");
}

static void test_reject_header_length(void) {
  /* A v2 header length of 4 GiB - 1 is refused before anything is read. */
  unsigned char buf[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff};
  char err[256];
  npy_header h;
  size_t needed = 0;
  CHECK_INT_EQ(npy_parse_header(buf, sizeof buf, &h, &needed, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "header length 4294967295 is over the limit") != NULL);
  buf[8] = 0x01;
  buf[9] = 0x00;
  buf[10] = 0x01; /* 65537 */
  buf[11] = 0x00;
  CHECK_INT_EQ(npy_parse_header(buf, sizeof buf, &h, &needed, err, sizeof err), NPY_BAD);
}

static void test_reject_shape(void) {
  const char *pre = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  struct {
    const char *shape;
    const char *needle;
  } const cases[] = {
      {"(4294967296, 4294967296, 4294967296)}", "more elements than memory"},
      {"(4611686018427387904,)}", "more elements than memory"}, /* 2^62 floats: bytes overflow */
      {"(99999999999999999999999,)}", "too large"},
      {"(-1,)}", "negative"},
      {"(2)}", "not a tuple"},
      {"[2]}", "not a tuple"},
      {"(2,,)}", "expected a dimension"},
      {"(,)}", "expected a dimension"},
      {"(2 3)}", "expected ',' or ')'"},
      {"(2.0,)}", "expected ',' or ')'"},
      {"(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}", "rank is over the maximum of 16"},
      {"(2,", "expected a dimension"},
      {"(0x2,)}", "expected ',' or ')'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "%s%s", pre, cases[i].shape);
    expect_reject(1, text, NULL, 0, cases[i].needle);
  }
  /* Rank 16 itself is fine. */
  char err[256];
  npy_array a;
  const float one = 7.0f;
  CHECK_INT_EQ(parse_text(1,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': "
                          "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }",
                          &one, 4, &a, err, sizeof err),
               NPY_OK);
  CHECK_INT_EQ(a.rank, 16);
  npy_array_free(&a);
}

static void test_reject_dtype_and_order(void) {
  static const char *const dtypes[] = {"<f8", ">f4",     "|f4", "float32", "<i4",  ">f2",
                                       "|f2", "float16", "<e",  "",        "<f4 ", "<f2 "};
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
             dtypes[i]);
    expect_reject(1, text, two_values, 8, "is not supported (only little-endian float32");
  }
  expect_reject(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", two_values,
                8, "expected a quoted string");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", two_values, 8,
                "fortran_order True is not supported");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }", two_values, 8,
                "neither True nor False");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,), }", two_values, 8,
                "neither True nor False");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", two_values, 8,
                "neither True nor False");
}

static void test_reject_dict_syntax(void) {
  expect_reject(1, "{'descr': '<f4', 'shape': (2,), }", two_values, 8,
                "missing key 'fortran_order'");
  expect_reject(1, "{'fortran_order': False, 'shape': (2,), }", two_values, 8,
                "missing key 'descr'");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False}", two_values, 8,
                "missing key 'shape'");
  expect_reject(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                two_values, 8, "duplicate key");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", two_values, 8,
                "unknown key 'x'");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", two_values, 8,
                "unexpected text after");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", two_values, 8,
                "expected ',' or '}'");
  expect_reject(1, "{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}", two_values, 8,
                "header:");
  expect_reject(1, "{'descr': '<f4\\'', 'fortran_order': False, 'shape': (2,)}", two_values, 8,
                "unsupported character");
  expect_reject(1, "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", two_values, 8,
                "expected ':'");
  expect_reject(1, "('descr', '<f4')", two_values, 8, "not a dictionary");
  expect_reject(1, "", two_values, 8, "not a dictionary");
  expect_reject(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'unterminated",
                two_values, 8, "unterminated string");
  /* An embedded NUL is just an unexpected character. */
  size_t len;
  unsigned char *buf =
      build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", two_values, 8, &len);
  buf[10 + 56] = '\0';
  char err[256];
  npy_array a;
  CHECK_INT_EQ(npy_parse(buf, len, &a, err, sizeof err), NPY_BAD);
  free(buf);
  /* Hostile key text is shown printable and short. */
  char text[512];
  snprintf(text, sizeof text, "{'%s\x01\x02%s': 1}", "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb");
  expect_reject(1, text, NULL, 0, "unknown key 'aaaaaaaaaaaaaaaaaaaa??bb...'");
}

/* Whether buf[0..n) contains the text s. */
static int contains(const unsigned char *buf, size_t n, const char *s) {
  const size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++) {
    if (memcmp(buf + i, s, k) == 0)
      return 1;
  }
  return 0;
}

static void test_format_header(void) {
  unsigned char buf[256];
  const size_t shape[2] = {2, 3};
  const size_t n = npy_format_header(shape, 2, buf, sizeof buf);
  CHECK_INT_EQ(n % 64, 0);
  CHECK_INT_EQ(n, 128);
  CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
  CHECK_INT_EQ(buf[8] | buf[9] << 8, n - 10);
  CHECK_INT_EQ(buf[n - 1], '\n');
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(memcmp(buf + 10, dict, strlen(dict)) == 0);
  CHECK_INT_EQ(buf[10 + strlen(dict)], ' ');
  const size_t one[1] = {5};
  const size_t n1 = npy_format_header(one, 1, buf, sizeof buf);
  CHECK(n1 > 0 && contains(buf, n1, "'shape': (5,), }"));
  CHECK_INT_EQ(npy_format_header(NULL, 0, buf, sizeof buf), 128); /* as numpy */
  CHECK(contains(buf, 128, "'shape': (), }"));
  CHECK_INT_EQ(npy_format_header(shape, 2, buf, 100), 0); /* too small */
  CHECK_INT_EQ(npy_format_header(shape, NPY_MAX_RANK + 1, buf, sizeof buf), 0);
}

/* A temporary file path (the file exists, empty). */
static void temp_path(char *path, size_t n) {
  snprintf(path, n, "/tmp/test_npy_XXXXXX");
  const int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
}

static void round_trip(const size_t *shape, size_t rank) {
  size_t count = 1;
  for (size_t d = 0; d < rank; d++)
    count *= shape[d];
  float *data = malloc((count ? count : 1) * sizeof(float));
  for (size_t i = 0; i < count; i++)
    data[i] = (float)i * 0.37f - 11.0f;
  if (count > 3) {
    data[1] = NAN;
    data[2] = -INFINITY;
    data[3] = -0.0f;
  }
  char path[64], err[256];
  temp_path(path, sizeof path);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) {
    free(data);
    return;
  }
  CHECK_INT_EQ(npy_write(f, shape, rank, data, err, sizeof err), NPY_OK);
  CHECK_INT_EQ(fclose(f), 0);
  npy_array a;
  const npy_result r = npy_load(path, &a, err, sizeof err);
  if (r != NPY_OK)
    fprintf(stderr, "  load: %s\n", err);
  CHECK_INT_EQ(r, NPY_OK);
  if (r == NPY_OK) {
    CHECK_INT_EQ(a.rank, rank);
    CHECK(rank == 0 || memcmp(a.shape, shape, rank * sizeof shape[0]) == 0);
    CHECK_INT_EQ(a.count, count);
    CHECK(count == 0 || memcmp(a.data, data, count * sizeof(float)) == 0);
    npy_array_free(&a);
  }
  unlink(path);
  free(data);
}

static void test_round_trips(void) {
  const size_t s1[1] = {7}, s2[2] = {3, 5}, s3[3] = {2, 3, 4}, s0[3] = {2, 0, 3};
  const size_t big[1] = {100000}; /* crosses the writer's chunk */
  size_t s16[16];
  for (int d = 0; d < 16; d++)
    s16[d] = d % 5 == 0 ? 2 : 1;
  round_trip(NULL, 0);
  round_trip(s1, 1);
  round_trip(s2, 2);
  round_trip(s3, 3);
  round_trip(s0, 3);
  round_trip(big, 1);
  round_trip(s16, 16);
}

/* float16 ('<f2'): bit patterns kept as they are, little-endian, in
 * data_f16 only; the data length counts 2 bytes a value; written back with
 * its own descr; the file loader agrees with the memory parser. */
static void test_float16(void) {
  const unsigned char le[8] = {0x00, 0x3C, 0x00, 0xC0, 0x00, 0x7E, 0x01, 0x80};
  const char *text = "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }";
  char err[256];
  npy_array a;
  CHECK_INT_EQ(parse_text(1, text, le, 8, &a, err, sizeof err), NPY_OK);
  CHECK_INT_EQ(a.dtype, NPY_FLOAT16);
  CHECK_INT_EQ(a.count, 4);
  CHECK(a.data == NULL && a.data_f16 != NULL && (uintptr_t)a.data_f16 % 64 == 0);
  if (a.data_f16) {
    CHECK_INT_EQ(a.data_f16[0], 0x3C00);
    CHECK_INT_EQ(a.data_f16[1], 0xC000);
    CHECK_INT_EQ(a.data_f16[2], 0x7E00);
    CHECK_INT_EQ(a.data_f16[3], 0x8001);
  }
  expect_reject(1, text, le, 6, "data is 6 bytes; the shape needs 8");
  unsigned char twice[16] = {0};
  expect_reject(1, text, twice, 16, "data is 16 bytes; the shape needs 8");

  char *mem = NULL;
  size_t mem_len = 0;
  FILE *f = open_memstream(&mem, &mem_len);
  CHECK_INT_EQ(npy_write_typed(f, a.shape, a.rank, a.dtype, npy_array_bytes(&a), err, sizeof err),
               NPY_OK);
  CHECK_INT_EQ(fclose(f), 0);
  CHECK(mem_len == 128 + 8 && memcmp(mem + 128, le, 8) == 0);
  CHECK(mem_len > 25 && memcmp(mem + 10, "{'descr': '<f2'", 15) == 0);
  npy_array back;
  CHECK_INT_EQ(npy_parse((const unsigned char *)mem, mem_len, &back, err, sizeof err), NPY_OK);
  CHECK(back.dtype == NPY_FLOAT16 && back.count == 4 && memcmp(back.data_f16, a.data_f16, 8) == 0);
  npy_array_free(&back);

  char path[64];
  temp_path(path, sizeof path);
  FILE *w = fopen(path, "wb");
  CHECK(w != NULL);
  if (w) {
    CHECK_INT_EQ(fwrite(mem, 1, mem_len, w), mem_len);
    CHECK_INT_EQ(fclose(w), 0);
    CHECK_INT_EQ(npy_load(path, &back, err, sizeof err), NPY_OK);
    CHECK(back.dtype == NPY_FLOAT16 && back.count == 4 && back.data == NULL &&
          memcmp(back.data_f16, a.data_f16, 8) == 0);
    npy_array_free(&back);
    unlink(path);
  }
  CHECK_STR_EQ(npy_dtype_descr(NPY_FLOAT16), "<f2");
  CHECK_STR_EQ(npy_dtype_name(NPY_FLOAT16), "float16");
  CHECK_INT_EQ(npy_dtype_size(NPY_FLOAT16), 2);
  CHECK_INT_EQ(npy_dtype_size(NPY_FLOAT32), 4);
  free(mem);
  npy_array_free(&a);
}

/* Writes raw bytes to a temporary file and loads it. */
static npy_result load_bytes(const void *bytes, size_t n, char *err, size_t errlen) {
  char path[64];
  temp_path(path, sizeof path);
  FILE *f = fopen(path, "wb");
  if (!f)
    return NPY_BAD;
  CHECK_INT_EQ(fwrite(bytes, 1, n, f), n);
  CHECK_INT_EQ(fclose(f), 0);
  npy_array a;
  const npy_result r = npy_load(path, &a, err, errlen);
  if (r == NPY_OK)
    npy_array_free(&a);
  unlink(path);
  return r;
}

static void test_load_rejections(void) {
  char err[512];
  npy_array a;
  CHECK_INT_EQ(npy_load("/nonexistent/x.npy", &a, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "/nonexistent/x.npy: No such file") != NULL);
  CHECK_INT_EQ(npy_load("/tmp", &a, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "not a regular file") != NULL);
  CHECK_INT_EQ(load_bytes("", 0, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "truncated header") != NULL);
  CHECK_INT_EQ(load_bytes("\x93NUMPY\x01", 7, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "truncated header") != NULL);
  CHECK_INT_EQ(load_bytes("hello world, this is text", 25, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "bad magic") != NULL);
  /* A header that claims more than the file holds. */
  CHECK_INT_EQ(load_bytes("\x93NUMPY\x02\x00\x00\x10\x00\x00{}", 14, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "truncated header (14 of 4108 bytes)") != NULL);
  /* A huge shape over a tiny file: refused by size, nothing allocated. */
  size_t len;
  unsigned char *buf =
      build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }", "abcd", 4,
            &len);
  CHECK_INT_EQ(load_bytes(buf, len, err, sizeof err), NPY_BAD);
  CHECK(strstr(err, "data is 4 bytes; the shape needs 4000000000000") != NULL);
  free(buf);
  /* Every strict prefix of a good file fails cleanly. */
  buf =
      build(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", two_values, 8, &len);
  for (size_t cut = 0; cut < len; cut++)
    CHECK_INT_EQ(load_bytes(buf, cut, err, sizeof err), NPY_BAD);
  CHECK_INT_EQ(load_bytes(buf, len, err, sizeof err), NPY_OK);
  free(buf);
}

static void test_write_rejections(void) {
  char err[256];
  const size_t huge[2] = {SIZE_MAX / 2, 3};
  FILE *f = tmpfile();
  CHECK(f != NULL);
  if (!f)
    return;
  CHECK_INT_EQ(npy_write(f, huge, 2, two_values, err, sizeof err), NPY_BAD);
  const size_t two[1] = {2};
  CHECK_INT_EQ(npy_write(f, two, 1, NULL, err, sizeof err), NPY_BAD);
  CHECK_INT_EQ(npy_write(NULL, two, 1, two_values, err, sizeof err), NPY_BAD);
  fclose(f);
}

/* ---- jsonw.c: what stats.json and `devices --json` are written with ---- */

/* Runs a writer on a temporary stream and returns what it wrote. */
static void capture(int (*write)(FILE *, const void *), const void *arg, char *out, size_t outlen) {
  out[0] = '\0';
  FILE *f = tmpfile();
  CHECK(f != NULL);
  if (!f)
    return;
  CHECK_INT_EQ(write(f, arg), 0);
  rewind(f);
  const size_t n = fread(out, 1, outlen - 1, f);
  out[n] = '\0';
  fclose(f);
}

static int write_string(FILE *f, const void *s) { return jsonw_string(f, s); }
static int write_float(FILE *f, const void *v) { return jsonw_float(f, *(const float *)v); }
static int write_array(FILE *f, const void *v) { return jsonw_float_array(f, v, 5); }

static void test_json_strings(void) {
  char out[256];
  capture(write_string, "plain Name (R) 1.2", out, sizeof out);
  CHECK_STR_EQ(out, "\"plain Name (R) 1.2\"");
  capture(write_string, "q\"b\\n\nt\tc\x01\x7f", out, sizeof out);
  CHECK_STR_EQ(out, "\"q\\\"b\\\\n\\nt\\tc\\u0001\\u007f\"");
  capture(write_string, "caf\xc3\xa9 \xe2\x82\xac", out, sizeof out); /* valid UTF-8 */
  CHECK_STR_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac\"");
  capture(write_string, "bad \xff \xc3( \xc0\xaf \xed\xa0\x80", out, sizeof out);
  CHECK_STR_EQ(out, "\"bad \\u00ff \\u00c3( \\u00c0\\u00af \\u00ed\\u00a0\\u0080\"");
  capture(write_string, "\xe2\x82", out, sizeof out); /* cut short by the NUL */
  CHECK_STR_EQ(out, "\"\\u00e2\\u0082\"");
  capture(write_string, NULL, out, sizeof out);
  CHECK_STR_EQ(out, "\"\"");
}

static void test_json_floats(void) {
  char out[256];
  const float v[5] = {0.1f, -0.0f, NAN, INFINITY, -INFINITY};
  /* The shortest text that reads back to the same float32, as the daemon
   * writes it (text/float_text.c). */
  capture(write_array, v, out, sizeof out);
  CHECK_STR_EQ(out, "[0.1,-0,\"NaN\",\"Infinity\",\"-Infinity\"]");
  const float tiny = 1e-45f, big = 3.40282347e38f;
  capture(write_float, &tiny, out, sizeof out);
  CHECK_STR_EQ(out, "1e-45");
  CHECK(strtof(out, NULL) == tiny);
  capture(write_float, &big, out, sizeof out);
  CHECK_STR_EQ(out, "3.4028235e+38");
  CHECK(strtof(out, NULL) == big);
}

int main(void) {
  RUN_TEST(test_v1_basic);
  RUN_TEST(test_versions_2_and_3);
  RUN_TEST(test_header_variants);
  RUN_TEST(test_scalar_and_empty);
  RUN_TEST(test_little_endian_values);
  RUN_TEST(test_reject_magic_and_version);
  RUN_TEST(test_reject_truncated);
  RUN_TEST(test_reject_data_length);
  RUN_TEST(test_reject_header_length);
  RUN_TEST(test_reject_shape);
  RUN_TEST(test_reject_dtype_and_order);
  RUN_TEST(test_reject_dict_syntax);
  RUN_TEST(test_format_header);
  RUN_TEST(test_round_trips);
  RUN_TEST(test_float16);
  RUN_TEST(test_load_rejections);
  RUN_TEST(test_write_rejections);
  RUN_TEST(test_json_strings);
  RUN_TEST(test_json_floats);
  return TEST_SUMMARY();
}
