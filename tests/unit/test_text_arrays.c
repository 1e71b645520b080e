/* test_text_arrays.c - text/arrays.c, buffer.c and base64.c: number arrays
 * parsed and printed against strtof and hand-written shapes, the growable
 * buffer, RFC 4648 vectors and a bit-by-bit base64 encoder. */
#include "arrays.h"
#include "base64.h"

#include <float.h>
#include <math.h>

#include "test.h"
#include "text_samples.h"

/* ---- number arrays ---- */

/* Parses text (exact-size copy); returns the status and fills t, *consumed
 * (bytes up to *stop) and bad. */
static int parse_array_text(const char *text, const lkt_limits *limits, lkt_tensor *t,
                            size_t *consumed, size_t *bad, char *err, size_t errlen) {
  size_t n = strlen(text);
  char *copy = exact_copy(text, n);
  const char *stop = NULL;
  int rc = lkt_array_parse(copy, copy + n, limits, t, &stop, bad, err, errlen);
  *consumed = rc == 0 ? (size_t)(stop - copy) : 0;
  free(copy);
  return rc;
}

static void test_array_parse_flat(void) {
  lkt_tensor t;
  size_t used, bad;
  char err[128];
  CHECK_INT_EQ(
      parse_array_text(" \t\n[ 1 ,\r\n2,3 ] ,x", &default_limits, &t, &used, &bad, err, sizeof err),
      0);
  CHECK_INT_EQ(used, 15);
  CHECK_INT_EQ(t.count, 3);
  CHECK_INT_EQ(t.rank, 1);
  CHECK_INT_EQ(t.shape[0], 3);
  CHECK(t.values && t.values[0] == 1.0f && t.values[1] == 2.0f && t.values[2] == 3.0f);
  CHECK_INT_EQ(bad, SIZE_MAX);
  lkt_tensor_free(&t);
  CHECK(t.values == NULL && t.count == 0);

  CHECK_INT_EQ(parse_array_text("[]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.values == NULL && t.count == 0 && t.rank == 1 && t.shape[0] == 0 && used == 2);
  lkt_tensor_free(&t);

  CHECK_INT_EQ(parse_array_text("[\"NaN\",\"Infinity\",\"-Infinity\",-0,1e-45]", &default_limits,
                                &t, &used, &bad, err, sizeof err),
               0);
  CHECK_INT_EQ(t.count, 5);
  CHECK(isnan(t.values[0]) && t.values[1] == INFINITY && t.values[2] == -INFINITY);
  CHECK(t.values[3] == 0.0f && signbit(t.values[3]) && t.values[4] == FLT_TRUE_MIN);
  lkt_tensor_free(&t);
}

static void test_array_parse_nested(void) {
  lkt_tensor t;
  size_t used, bad;
  char err[128];
  CHECK_INT_EQ(
      parse_array_text("[[1,2,3],[4,5,6]]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == 2 && t.shape[0] == 2 && t.shape[1] == 3 && t.count == 6);
  for (size_t i = 0; i < t.count; i++)
    CHECK(t.values[i] == (float)(i + 1));
  lkt_tensor_free(&t);

  CHECK_INT_EQ(parse_array_text("[ [ [1,2] ,[3,4] ,[5,6]] , [[7,8],[9,10],[11,12] ] ]",
                                &default_limits, &t, &used, &bad, err, sizeof err),
               0);
  CHECK(t.rank == 3 && t.shape[0] == 2 && t.shape[1] == 3 && t.shape[2] == 2 && t.count == 12);
  CHECK(t.values[11] == 12.0f);
  lkt_tensor_free(&t);

  CHECK_INT_EQ(parse_array_text("[[]]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == 2 && t.shape[0] == 1 && t.shape[1] == 0 && t.count == 0 && !t.values);
  lkt_tensor_free(&t);
  CHECK_INT_EQ(parse_array_text("[[],[]]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == 2 && t.shape[0] == 2 && t.shape[1] == 0 && t.count == 0);
  lkt_tensor_free(&t);

  /* rank LKT_MAX_RANK is the deepest allowed, whatever max_depth says */
  char deep[64];
  lkt_limits unlimited = {100, SIZE_MAX};
  memset(deep, '[', LKT_MAX_RANK);
  strcpy(deep + LKT_MAX_RANK, "7");
  memset(deep + LKT_MAX_RANK + 1, ']', LKT_MAX_RANK);
  deep[2 * LKT_MAX_RANK + 1] = '\0';
  CHECK_INT_EQ(parse_array_text(deep, &unlimited, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == LKT_MAX_RANK && t.count == 1 && t.values[0] == 7.0f);
  lkt_tensor_free(&t);
}

/* Expects lkt_array_parse to fail on text with a message containing want
 * and the given bad_index. */
static void expect_array_error(const char *text, const lkt_limits *limits, const char *want,
                               size_t want_bad) {
  lkt_tensor t;
  size_t used, bad;
  char err[128] = "";
  int rc = parse_array_text(text, limits, &t, &used, &bad, err, sizeof err);
  if (rc != -1 || !strstr(err, want) || bad != want_bad || t.values || t.count) {
    fprintf(stderr, "  %.60s: rc %d, bad %zu, \"%s\" (want \"%s\", bad %zu)\n", text, rc, bad, err,
            want, want_bad);
    test_case_failed_ = 1;
  }
  lkt_tensor_free(&t);
}

static void test_array_parse_errors(void) {
  const size_t none = SIZE_MAX;
  expect_array_error("[[1,2],[3]]", &default_limits, "ragged", none);
  expect_array_error("[[1],[2,3]]", &default_limits, "ragged", none);
  expect_array_error("[[1],2]", &default_limits, "ragged", none);
  expect_array_error("[1,[2]]", &default_limits, "ragged", none);
  expect_array_error("[[[1]],[2]]", &default_limits, "ragged", none);
  expect_array_error("[[1],[[2]]]", &default_limits, "ragged", none);
  expect_array_error("[[],[1]]", &default_limits, "ragged", none);
  expect_array_error("[1,true]", &default_limits, "element 1 is not a number", 1);
  expect_array_error("[1,2,x]", &default_limits, "not a number", 2);
  expect_array_error("[[1,2],[3,\"a\"]]", &default_limits, "not a number", 3);
  expect_array_error("[01]", &default_limits, "not a number", 0);
  expect_array_error("[1.5.3]", &default_limits, "not a number", 0);
  expect_array_error("[,1]", &default_limits, "not a number", 0);
  expect_array_error("[{}]", &default_limits, "not a number", 0);
  expect_array_error("[1,]", &default_limits, "trailing comma", none);
  expect_array_error("[[1],]", &default_limits, "trailing comma", none);
  expect_array_error("[1 2]", &default_limits, "expected ','", none);
  expect_array_error("[1}", &default_limits, "expected ','", none);
  expect_array_error("[[1] [2]]", &default_limits, "expected ','", none);
  expect_array_error("[1,2", &default_limits, "unterminated", none);
  expect_array_error("[1,2,", &default_limits, "unterminated", none);
  expect_array_error("[[1,2]", &default_limits, "unterminated", none);
  expect_array_error("[", &default_limits, "unterminated", none);
  expect_array_error("", &default_limits, "expected an array", none);
  expect_array_error("1", &default_limits, "expected an array", none);
  expect_array_error("{\"a\":1}", &default_limits, "expected an array", none);

  const lkt_limits three = {3, 2};
  lkt_tensor t;
  size_t used, bad;
  char err[128];
  CHECK_INT_EQ(parse_array_text("[[1],[2],[3]]", &three, &t, &used, &bad, err, sizeof err), 0);
  lkt_tensor_free(&t);
  expect_array_error("[1,2,3,4]", &three, "more than 3 elements", none);
  expect_array_error("[[[1]]]", &three, "nested deeper than 2", none);
  const lkt_limits none_allowed = {0, 1};
  CHECK_INT_EQ(parse_array_text("[]", &none_allowed, &t, &used, &bad, err, sizeof err), 0);
  expect_array_error("[1]", &none_allowed, "more than 0 elements", none);

  /* a short err buffer still gets a terminated message */
  char small[6];
  memset(small, 'x', sizeof small);
  CHECK_INT_EQ(parse_array_text("[[1],2]", &default_limits, &t, &used, &bad, small, sizeof small),
               -1);
  CHECK(memchr(small, '\0', sizeof small) != NULL);
}

static void test_array_parse_deep_input(void) {
  const size_t n = 100000;
  char *text = malloc(n + 1);
  memset(text, '[', n);
  text[n] = '\0';
  const lkt_limits huge = {1u << 20, SIZE_MAX};
  expect_array_error(text, &huge, "nested deeper than 16", SIZE_MAX);
  expect_array_error(text, &default_limits, "nested deeper than 8", SIZE_MAX);
  /* deep nesting after the rank is fixed is ragged, found at the first extra '[' */
  text[0] = '[';
  text[1] = '1';
  text[2] = ',';
  expect_array_error(text, &huge, "ragged", SIZE_MAX);
  free(text);
}

/* Inserts random JSON whitespace after '[' and ',' and before ']'. */
static void sprinkle_whitespace(const char *in, char *out) {
  static const char ws[] = " \t\n\r";
  for (; *in; in++) {
    if (*in == ']' && rng_below(2))
      *out++ = ws[rng_below(4)];
    *out++ = *in;
    if ((*in == '[' || *in == ',') && rng_below(2))
      *out++ = ws[rng_below(4)];
  }
  *out = '\0';
}

static void test_array_round_trip(void) {
  for (int iter = 0; iter < 3000 / SAMPLE_DIV; iter++) {
    size_t rank = 1 + rng_below(4), shape[LKT_MAX_RANK], count = 1;
    for (size_t d = 0; d < rank; d++) {
      shape[d] = rng_below(6) + (rng_below(8) == 0 ? 0 : 1);
      count *= shape[d];
    }
    float *values = malloc((count ? count : 1) * sizeof *values);
    for (size_t i = 0; i < count; i++)
      values[i] = float_of((uint32_t)rng());
    lkt_buf b = {0};
    lkt_array_print(&b, values, count, shape, rank);
    CHECK(!b.oom && b.len == strlen(b.data));
    char *spaced = malloc(3 * b.len + 1);
    sprinkle_whitespace(b.data, spaced);
    for (int pass = 0; pass < 2; pass++) {
      lkt_tensor t;
      size_t used, bad;
      char err[128];
      const char *text = pass ? spaced : b.data;
      if (parse_array_text(text, &default_limits, &t, &used, &bad, err, sizeof err) != 0) {
        fprintf(stderr, "  %s: %s\n", text, err);
        test_case_failed_ = 1;
        continue;
      }
      CHECK_INT_EQ(used, strlen(text));
      CHECK_INT_EQ(t.count, count);
      /* an empty level hides the levels below it: [[],[]] reads as rank 2 */
      size_t expect_rank = rank;
      for (size_t d = 0; d + 1 < rank; d++)
        if (shape[d] == 0) {
          expect_rank = d + 1;
          break;
        }
      CHECK_INT_EQ(t.rank, expect_rank);
      for (size_t d = 0; d < t.rank && d < expect_rank; d++)
        CHECK_INT_EQ(t.shape[d], shape[d]);
      for (size_t i = 0; i < count && i < t.count; i++)
        CHECK(same_float(t.values[i], values[i]));
      lkt_tensor_free(&t);
    }
    free(spaced);
    lkt_buf_free(&b);
    free(values);
  }
}

static void test_array_print_layout(void) {
  const float v[] = {1, 2, 3, 4, 0.5f, -0.0f};
  const size_t s1[] = {6}, s22[] = {2, 2}, s20[] = {2, 0}, s212[] = {2, 1, 2}, s03[] = {0, 3},
               bad_shape[] = {4, 4};
  lkt_buf b = {0};
  lkt_array_print(&b, v, 6, s1, 1);
  CHECK_STR_EQ(b.data, "[1,2,3,4,0.5,-0]");
  b.len = 0;
  lkt_array_print(&b, v, 6, NULL, 0);
  CHECK_STR_EQ(b.data, "[1,2,3,4,0.5,-0]");
  b.len = 0;
  lkt_array_print(&b, v, 4, s22, 2);
  CHECK_STR_EQ(b.data, "[[1,2],[3,4]]");
  b.len = 0;
  lkt_array_print(&b, v, 4, s212, 3);
  CHECK_STR_EQ(b.data, "[[[1,2]],[[3,4]]]");
  b.len = 0;
  lkt_array_print(&b, NULL, 0, s20, 2);
  CHECK_STR_EQ(b.data, "[[],[]]");
  b.len = 0;
  lkt_array_print(&b, NULL, 0, s03, 2);
  CHECK_STR_EQ(b.data, "[]");
  b.len = 0;
  lkt_array_print(&b, NULL, 0, s1, 0);
  CHECK_STR_EQ(b.data, "[]");
  b.len = 0;
  lkt_array_print(&b, v, 3, bad_shape, 2); /* shape does not match count: flat */
  CHECK_STR_EQ(b.data, "[1,2,3]");
  b.len = 0;
  const float special[] = {NAN, INFINITY, -INFINITY};
  lkt_array_print(&b, special, 3, s1, 1);
  CHECK_STR_EQ(b.data, "[\"NaN\",\"Infinity\",\"-Infinity\"]");
  lkt_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

  /* long arrays cross the writer's reserve blocks; every element is the scalar text */
  const size_t n = 10000;
  float *many = malloc(n * sizeof *many);
  lkt_buf want = {0};
  lkt_buf_append_str(&want, "[");
  for (size_t i = 0; i < n; i++) {
    char s[LKT_FLOAT_TEXT_MAX + 1];
    many[i] = float_of((uint32_t)rng());
    if (i)
      lkt_buf_append(&want, ",", 1);
    lkt_buf_append(&want, s, lkt_float_print(many[i], s));
  }
  lkt_buf_append_str(&want, "]");
  lkt_array_print(&b, many, n, NULL, 1);
  CHECK_INT_EQ(b.len, want.len);
  CHECK_STR_EQ(b.data, want.data);
  lkt_buf_free(&b);
  lkt_buf_free(&want);
  free(many);
}

static void test_buf(void) {
  lkt_buf b = {0};
  lkt_buf_append(&b, "", 0);
  CHECK(b.data && b.len == 0 && b.data[0] == '\0');
  for (int i = 0; i < 1000; i++)
    lkt_buf_append_str(&b, "abc");
  CHECK_INT_EQ(b.len, 3000);
  CHECK(b.data[2999] == 'c' && b.data[3000] == '\0' && b.cap > 3000);
  CHECK_INT_EQ(lkt_buf_reserve(&b, 100000), 0);
  CHECK(b.cap - b.len > 100000);
  CHECK_INT_EQ(lkt_buf_reserve(&b, SIZE_MAX - 10), -1);
  CHECK(b.oom);
  lkt_buf_append_str(&b, "more"); /* no-op once out of memory */
  CHECK_INT_EQ(b.len, 3000);
  lkt_buf_free(&b);
  CHECK(b.data == NULL && !b.oom);
}

/* ---- base64 ---- */

/* RFC 4648 base64 one bit at a time: the oracle for the table-driven encoder. */
static void reference_base64(const unsigned char *in, size_t n, char *out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t bits = n * 8, o = 0;
  for (size_t bit = 0; bit < bits; bit += 6) {
    unsigned v = 0;
    for (size_t j = bit; j < bit + 6; j++)
      v = v << 1 | (j < bits ? (in[j / 8] >> (7 - j % 8)) & 1u : 0u);
    out[o++] = alphabet[v];
  }
  while (o % 4)
    out[o++] = '=';
  out[o] = '\0';
}

static void test_base64_vectors(void) {
  static const char *const vectors[][2] = {{"", ""},
                                           {"f", "Zg=="},
                                           {"fo", "Zm8="},
                                           {"foo", "Zm9v"},
                                           {"foob", "Zm9vYg=="},
                                           {"fooba", "Zm9vYmE="},
                                           {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    lkt_buf b = {0};
    lkt_buf_append(&b, "", 0);
    lkt_base64_encode(&b, (const unsigned char *)vectors[i][0], strlen(vectors[i][0]));
    CHECK_STR_EQ(b.data, vectors[i][1]);
    lkt_buf_free(&b);
    unsigned char *out = NULL;
    size_t n = 99;
    char err[96];
    char *copy = exact_copy(vectors[i][1], strlen(vectors[i][1]));
    CHECK_INT_EQ(lkt_base64_decode(copy, strlen(vectors[i][1]), &out, &n, err, sizeof err), 0);
    CHECK(out != NULL && n == strlen(vectors[i][0]) && memcmp(out, vectors[i][0], n) == 0);
    free(out);
    free(copy);
  }
}

static void test_base64_rejects(void) {
  static const struct {
    const char *text;
    const char *want;
  } cases[] = {
      {"Zg=", "not a multiple of 4"},
      {"Zm9v\n", "not a multiple of 4"},
      {"Zm9v\nZm8", "character at offset 4"},
      {"Zm 9", "character at offset 2"},
      {"Z===", "character at offset 1"},
      {"====", "character at offset 0"},
      {"Zm=v", "character at offset 2"},
      {"Zg==Zg==", "character at offset 2"},
      {"\x80"
       "AAA",
       "character at offset 0"},
      {"AAA-", "character at offset 3"},
      {"AA_A", "character at offset 2"},
      {"AAAAAAA.", "character at offset 7"},
      {"Zh==", "non-zero bits before base64 padding at offset 1"},
      {"Zm9=", "non-zero bits before base64 padding at offset 2"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    unsigned char sentinel = 0, *out = &sentinel; /* must come back NULL */
    size_t n = 99;
    char err[96] = "";
    size_t len = strlen(cases[i].text);
    char *copy = exact_copy(cases[i].text, len);
    int rc = lkt_base64_decode(copy, len, &out, &n, err, sizeof err);
    if (rc != -1 || out != NULL || !strstr(err, cases[i].want)) {
      fprintf(stderr, "  base64 \"%s\": rc %d, \"%s\"\n", cases[i].text, rc, err);
      test_case_failed_ = 1;
    }
    free(copy);
  }
}

static void test_base64_random(void) {
  unsigned char bytes[700];
  char want[1000];
  for (int iter = 0; iter < 4000 / SAMPLE_DIV; iter++) {
    size_t n = rng_below(sizeof bytes);
    for (size_t i = 0; i < n; i++)
      bytes[i] = (unsigned char)rng();
    reference_base64(bytes, n, want);
    lkt_buf b = {0};
    lkt_buf_append_str(&b, "prefix:");
    lkt_base64_encode(&b, bytes, n);
    CHECK_INT_EQ(b.len, 7 + strlen(want));
    CHECK_STR_EQ(b.data + 7, want);
    unsigned char *out = NULL;
    size_t out_len = 0;
    char err[96];
    char *copy = exact_copy(b.data + 7, b.len - 7);
    CHECK_INT_EQ(lkt_base64_decode(copy, b.len - 7, &out, &out_len, err, sizeof err), 0);
    CHECK(out_len == n && (n == 0 || memcmp(out, bytes, n) == 0));
    free(out);
    free(copy);
    lkt_buf_free(&b);
  }
}

int main(void) {
  RUN_TEST(test_array_parse_flat);
  RUN_TEST(test_array_parse_nested);
  RUN_TEST(test_array_parse_errors);
  RUN_TEST(test_array_parse_deep_input);
  RUN_TEST(test_array_round_trip);
  RUN_TEST(test_array_print_layout);
  RUN_TEST(test_buf);
  RUN_TEST(test_base64_vectors);
  RUN_TEST(test_base64_rejects);
  RUN_TEST(test_base64_random);
  return TEST_SUMMARY();
}
