/* test_codec_b64.c - text/base64.c and text/splice.c on base64 for big payloads: the
 * AVX2 loops and the two-thread split against a bit-by-bit oracle, strict
 * validation with exact offsets (every byte value at every kind of
 * position), and lkt_splice_body: base64 strings decoded from the body,
 * the compacted envelope and its offsets, checked against cJSON reading
 * the uncompacted body. */
#include "base64.c"
#include "splice.c"

#include <cjson/cJSON.h>

#include "test.h"

/* Sanitized builds run smaller payloads to stay within the time budget. */
#if defined(__SANITIZE_ADDRESS__)
#define BIG_TEXT ((size_t)5 << 20)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_TEXT ((size_t)5 << 20)
#endif
#endif
#ifndef BIG_TEXT
#define BIG_TEXT ((size_t)12 << 20)
#endif

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static uint64_t rng(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* RFC 4648 one bit at a time: the oracle. out needs 4 * ceil(n / 3) + 1. */
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

static unsigned char *random_bytes(size_t n) {
  unsigned char *b = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++)
    b[i] = (unsigned char)rng();
  return b;
}

/* Decodes text[0, len) into a buffer of exactly the decoded size (ASan
 * catches a store past it); returns the rc, *out owned by the caller. */
static int decode_exact(const char *text, size_t len, unsigned char **out, size_t *n, char *err,
                        size_t errlen) {
  *out = NULL;
  if (lkt_base64_decoded_size(text, len, n, err, errlen) != 0)
    return -1;
  *out = malloc(*n ? *n : 1);
  return lkt_base64_decode_into(text, len, *out, err, errlen);
}

/* Every length from 0 to 400 (all AVX2 step and tail combinations), each
 * encoded against the oracle and decoded back into an exact buffer. */
static void test_round_trip_small_lengths(void) {
  for (size_t n = 0; n <= 400; n++) {
    unsigned char *bytes = random_bytes(n);
    char *want = malloc(n / 3 * 4 + 8);
    reference_base64(bytes, n, want);
    lkt_buf b = {0};
    lkt_base64_encode(&b, bytes, n);
    CHECK_INT_EQ(b.len, strlen(want));
    CHECK_STR_EQ(b.data, want);
    unsigned char *back;
    size_t back_len;
    char err[128];
    CHECK_INT_EQ(decode_exact(b.data, b.len, &back, &back_len, err, sizeof err), 0);
    CHECK(back_len == n && memcmp(back, bytes, n) == 0);
    free(back);
    lkt_buf_free(&b);
    free(want);
    free(bytes);
  }
}

/* Payloads past the two-thread threshold, with lengths that leave 0, 1
 * and 2 bytes over, and odd split points. */
static void test_round_trip_big(void) {
  const size_t sizes[] = {BIG_TEXT / 4 * 3, BIG_TEXT / 4 * 3 + 1, BIG_TEXT / 4 * 3 + 2,
                          B64_SPLIT_MIN / 4 * 3 - 1, B64_SPLIT_MIN / 4 * 3 + 7};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const size_t n = sizes[k];
    unsigned char *bytes = random_bytes(n);
    char *want = malloc(n / 3 * 4 + 8);
    reference_base64(bytes, n, want);
    lkt_buf b = {0};
    lkt_buf_append_str(&b, "{\"x_b64\":\"");
    lkt_base64_encode(&b, bytes, n);
    CHECK(!b.oom);
    CHECK_INT_EQ(b.len, 10 + strlen(want));
    CHECK(memcmp(b.data + 10, want, strlen(want)) == 0);
    unsigned char *back;
    size_t back_len;
    char err[128];
    CHECK_INT_EQ(decode_exact(b.data + 10, b.len - 10, &back, &back_len, err, sizeof err), 0);
    CHECK(back_len == n && memcmp(back, bytes, n) == 0);
    free(back);
    lkt_buf_free(&b);
    free(want);
    free(bytes);
  }
}

/* Expects a decode of text (len characters) to fail with want in the message. */
static void expect_reject(const char *text, size_t len, const char *want) {
  unsigned char *out;
  size_t n;
  char err[160] = "";
  int rc = decode_exact(text, len, &out, &n, err, sizeof err);
  free(out);
  if (rc != -1 || !strstr(err, want)) {
    fprintf(stderr, "  %zu characters: rc %d, \"%s\", wanted \"%s\"\n", len, rc, err, want);
    test_case_failed_ = 1;
  }
}

/* Every byte value outside the alphabet, placed in the AVX2 part, in the
 * scalar tail, in the padded quad and in the second half of a split text,
 * is reported at its own offset (the first of two when there are two). */
static void test_rejects_every_bad_byte(void) {
  const size_t lengths[] = {64, 4 * 11 + 4, B64_SPLIT_MIN + 64};
  for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
    /* the split text: a few kinds of byte, not all 256 (4 MiB each) */
    const int every_byte = lengths[li] < B64_SPLIT_MIN;
    const size_t len = lengths[li];
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++)
      text[i] = B64_ALPHABET[rng() % 64];
    const size_t spots[] = {0, 5, 31, 32, 33, len / 2, len / 2 + 1, len - 5, len - 1};
    for (int c = 0; c < 256; c++) {
      if (B64_VALUE1[c])
        continue; /* an alphabet character */
      if (!every_byte && !strchr("=*\n-_", c) && c != 0 && c != 0x80 && c != 0xFF)
        continue;
      for (size_t si = 0; si < sizeof spots / sizeof spots[0]; si++) {
        const size_t at = spots[si];
        if (c == '=' && at >= len - 2)
          continue; /* padding there is legal (checked below) */
        const char saved = text[at];
        text[at] = (char)c;
        char want[64];
        snprintf(want, sizeof want, "invalid base64 character at offset %zu", at);
        expect_reject(text, len, want);
        text[at] = saved;
      }
    }
    /* two bad characters, one in each half: the first is reported */
    text[len / 2 + 3] = '*';
    text[7] = '\0';
    expect_reject(text, len, "invalid base64 character at offset 7");
    free(text);
  }
}

static void test_rejects_padding_and_lengths(void) {
  static const struct {
    const char *text;
    const char *want;
  } cases[] = {
      {"Zg=", "length 3 is not a multiple of 4"},
      {"Z", "length 1 is not a multiple of 4"},
      {"Zm9vY", "length 5 is not a multiple of 4"},
      {"Zm9v Zm9v", "length 9 is not a multiple of 4"},
      {"Zh==", "non-zero bits before base64 padding at offset 1"},
      {"Zm9=", "non-zero bits before base64 padding at offset 2"},
      {"====", "invalid base64 character at offset 0"},
      {"Z===", "invalid base64 character at offset 1"},
      {"Zg==Zg==", "invalid base64 character at offset 2"},
      {"Zm=v", "invalid base64 character at offset 2"},
      {"AAAA\r\nAA", "invalid base64 character at offset 4"},
      {"AAAA-_AA", "invalid base64 character at offset 4"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_reject(cases[i].text, strlen(cases[i].text), cases[i].want);
  /* an embedded NUL is a bad character, not the end of the text */
  expect_reject("AAAA\0AAA", 8, "invalid base64 character at offset 4");
  /* padding in a long text, after the AVX2 part */
  char text[4 * 40 + 1];
  memset(text, 'A', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  memcpy(text + sizeof text - 5, "AB==", 4);
  expect_reject(text, sizeof text - 1, "non-zero bits before base64 padding at offset 157");
  size_t n;
  char err[96];
  CHECK_INT_EQ(lkt_base64_decoded_size(text, 4 * 40, &n, err, sizeof err), 0);
  CHECK_INT_EQ(n, 3 * 40 - 2);
}

/* A payload that cannot be encoded (its text would overflow size_t) marks
 * the buffer out of memory instead of wrapping. */
static void test_encode_huge_length(void) {
  lkt_buf b = {0};
  lkt_base64_encode(&b, (const unsigned char *)"", SIZE_MAX / 4 * 3);
  CHECK(b.oom);
  lkt_buf_free(&b);
}

/* ---- lkt_splice_body ---- */

static const char *const array_keys[] = {"x", "dy", "y", "alpha"};
static const char *const scalar_keys[] = {"alpha", "beta"};
static const char *const b64_keys[] = {"x_b64", "dy_b64", "y_b64"};
static const lkt_splice_keys daemon_keys = {array_keys, 4, scalar_keys, 2, b64_keys, 3};
static const lkt_limits limits = {1u << 20, 16};

/* Splices a copy of body; *envelope gets the compacted text (NUL-terminated). */
static int splice_body_text(const char *body, lkt_splice_table *table, char **envelope) {
  const size_t n = strlen(body);
  char *copy = malloc(n + 1);
  memcpy(copy, body, n + 1);
  size_t env_len = 0;
  char err[160];
  const int rc =
      lkt_splice_body(copy, n, &daemon_keys, &limits, 64, table, &env_len, err, sizeof err);
  copy[env_len] = '\0';
  *envelope = copy;
  return rc;
}

static void expect_envelope(const char *body, const char *want, size_t tensors) {
  lkt_splice_table table = {0};
  char *env;
  CHECK_INT_EQ(splice_body_text(body, &table, &env), 0);
  CHECK_STR_EQ(env, want);
  CHECK_INT_EQ(table.count, tensors);
  lkt_splice_table_free(&table);
  free(env);
}

static void test_splice_base64_lifted(void) {
  lkt_splice_table table = {0};
  char *env;
  CHECK_INT_EQ(splice_body_text("{\"activation\":\"relu\", \"x_b64\" : \"AACAPwAAAMA=\", "
                                "\"dtype\":\"float32\"}",
                                &table, &env),
               0);
  CHECK_STR_EQ(env, "{\"activation\":\"relu\", \"x_b64\" : \"\", \"dtype\":\"float32\"}");
  CHECK_INT_EQ(table.count, 1);
  const lkt_tensor *t = &table.tensors[0];
  CHECK(t->is_b64 && t->error[0] == '\0');
  CHECK_INT_EQ(t->text_len, 12);
  CHECK_INT_EQ(t->nbytes, 8);
  CHECK_INT_EQ(t->count, 2);
  CHECK(t->values && t->values[0] == 1.0f && t->values[1] == -2.0f);
  lkt_splice_table_free(&table);
  free(env);

  /* arrays, scalars and base64 in one batch: table in document order */
  CHECK_INT_EQ(splice_body_text("{\"jobs\":[{\"x\":[1,2],\"alpha\":0.25},"
                                "{\"x_b64\":\"AACAPw==\",\"dy_b64\":\"\"},{\"dy\":[[3]]}]}",
                                &table, &env),
               0);
  CHECK_STR_EQ(env, "{\"jobs\":[{\"x\":{},\"alpha\":{}},{\"x_b64\":\"\",\"dy_b64\":\"\"},"
                    "{\"dy\":{}}]}");
  CHECK_INT_EQ(table.count, 5);
  CHECK(!table.tensors[0].is_b64 && table.tensors[0].count == 2);
  CHECK(!table.tensors[1].is_b64 && table.tensors[1].rank == 0);
  CHECK(table.tensors[2].is_b64 && table.tensors[2].count == 1);
  CHECK(table.tensors[3].is_b64 && table.tensors[3].count == 0 && table.tensors[3].nbytes == 0 &&
        !table.tensors[3].error[0]);
  CHECK(!table.tensors[4].is_b64 && table.tensors[4].rank == 2);
  lkt_splice_table_free(&table);
  free(env);
}

/* Escapes decode as cJSON decodes them, keys included; a decoded NUL ends
 * the text as it ends cJSON's valuestring. */
static void test_splice_base64_escapes(void) {
  const char *const same_as_one[] = {
      "{\"x_b64\":\"AAC\\u0041Pw==\"}",    "{\"x_b64\":\"AACAPw\\u003d\\u003d\"}",
      "{\"x\\u005fb64\":\"AACAPw==\"}",    "{\"x_b64\\u0000junk\":\"AACAPw==\"}",
      "{\"x_b64\":\"AACAPw==\\u0000!!\"}", "{\"x_b64\":\"AACAPw\\u003D=\"}",
  };
  for (size_t i = 0; i < sizeof same_as_one / sizeof same_as_one[0]; i++) {
    lkt_splice_table table = {0};
    char *env;
    CHECK_INT_EQ(splice_body_text(same_as_one[i], &table, &env), 0);
    CHECK_INT_EQ(table.count, 1);
    if (table.count == 1) {
      const lkt_tensor *t = &table.tensors[0];
      CHECK(t->is_b64 && t->count == 1 && t->values && t->values[0] == 1.0f);
      CHECK_INT_EQ(t->text_len, 8);
    }
    lkt_splice_table_free(&table);
    free(env);
  }
  /* "\/" is '/', legal base64 (some JSON writers escape every slash) */
  lkt_splice_table table = {0};
  char *env;
  CHECK_INT_EQ(splice_body_text("{\"x_b64\":\"\\/\\/\\/\\/\"}", &table, &env), 0);
  CHECK(table.count == 1 && table.tensors[0].nbytes == 3 && !table.tensors[0].error[0]);
  CHECK_STR_EQ(env, "{\"x_b64\":\"\"}");
  lkt_splice_table_free(&table);
  free(env);
  /* an invalid escape is left in place for cJSON to reject */
  expect_envelope("{\"x_b64\":\"AAC\\qPw==\"}", "{\"x_b64\":\"AAC\\qPw==\"}", 0);
  /* an escaped quote does not end the string */
  CHECK_INT_EQ(splice_body_text("{\"x_b64\":\"AA\\\"A\",\"y\":[1]}", &table, &env), 0);
  CHECK_INT_EQ(table.count, 2);
  CHECK_STR_EQ(table.tensors[0].error, "invalid base64 character at offset 2");
  CHECK_STR_EQ(env, "{\"x_b64\":\"\",\"y\":{}}");
  lkt_splice_table_free(&table);
  free(env);
}

/* Only string values of the three keys are lifted. */
static void test_splice_base64_other_values(void) {
  expect_envelope("{\"x_b64\":5}", "{\"x_b64\":5}", 0);
  expect_envelope("{\"x_b64\":[1,2]}", "{\"x_b64\":[1,2]}", 0);
  expect_envelope("{\"x_b64\":{\"a\":\"AAAA\"}}", "{\"x_b64\":{\"a\":\"AAAA\"}}", 0);
  expect_envelope("{\"id\":\"\\\"x_b64\\\":\\\"AAAA\\\"\"}",
                  "{\"id\":\"\\\"x_b64\\\":\\\"AAAA\\\"\"}", 0);
  expect_envelope("{\"X_b64\":\"AAAA\",\"x_b6\":\"AAAA\"}",
                  "{\"X_b64\":\"AAAA\",\"x_b6\":\"AAAA\"}", 0);
  expect_envelope("[\"x_b64\",\"AAAA\"]", "[\"x_b64\",\"AAAA\"]", 0);
  /* unterminated: left for cJSON */
  expect_envelope("{\"x_b64\":\"AAAA", "{\"x_b64\":\"AAAA", 0);
}

/* A bad text is recorded in its tensor; the splice goes on. */
static void test_splice_base64_errors_per_tensor(void) {
  lkt_splice_table table = {0};
  char *env;
  CHECK_INT_EQ(splice_body_text("{\"jobs\":[{\"x_b64\":\"AA*A\"},{\"x_b64\":\"AAA\"},"
                                "{\"x_b64\":\"Zh==\"},{\"x_b64\":\"AACAPw==\"}]}",
                                &table, &env),
               0);
  CHECK_INT_EQ(table.count, 4);
  if (table.count == 4) {
    CHECK_STR_EQ(table.tensors[0].error, "invalid base64 character at offset 2");
    CHECK_STR_EQ(table.tensors[1].error, "base64 length 3 is not a multiple of 4");
    CHECK_INT_EQ(table.tensors[1].text_len, 3);
    CHECK_STR_EQ(table.tensors[2].error, "non-zero bits before base64 padding at offset 1");
    CHECK(table.tensors[0].values == NULL && table.tensors[1].values == NULL);
    CHECK(!table.tensors[3].error[0] && table.tensors[3].count == 1);
  }
  lkt_splice_table_free(&table);
  free(env);
}

/* cJSON's verdict on text (len bytes + NUL): 1 when it parses, else 0 with
 * *offset where it stopped (as server/api/v1_decode.c reads it). */
static int cjson_verdict(const char *text, size_t len, size_t *offset) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
  cJSON_Delete(root);
  *offset = end && end >= text ? (size_t)(end - text) : 0;
  if (*offset > len)
    *offset = len;
  return root != NULL;
}

/* Splices text (len bytes) both ways, uncompacted (placeholders and
 * spaces, as lkt_splice_tensors leaves a body) and compacted, and checks
 * that cJSON accepts both or neither and that a failure maps back to the
 * same offset. Returns 1 when the splice accepted the text. */
static int offsets_agree(const char *text, size_t len) {
  char *a = malloc(len + 1), *b = malloc(len + 1);
  memcpy(a, text, len);
  memcpy(b, text, len);
  a[len] = b[len] = '\0';
  lkt_splice_table ta = {0}, tb = {0};
  char err[160];
  size_t env_len = 0;
  const int ra = splice(a, len, &daemon_keys, &limits, 64, false, &ta, err, sizeof err);
  const int rb = lkt_splice_body(b, len, &daemon_keys, &limits, 64, &tb, &env_len, err, sizeof err);
  CHECK_INT_EQ(ra, rb);
  if (ra == 0 && rb == 0) {
    size_t off_a, off_b;
    const int ok_a = cjson_verdict(a, len, &off_a);
    const int ok_b = cjson_verdict(b, env_len, &off_b);
    off_b = lkt_splice_body_offset(&tb, off_b);
    if (off_b > len)
      off_b = len;
    if (ok_a != ok_b || (!ok_a && off_a != off_b)) {
      fprintf(stderr, "  \"%.*s\": uncompacted %d at %zu, compacted %d at %zu\n", (int)len, text,
              ok_a, off_a, ok_b, off_b);
      test_case_failed_ = 1;
    }
  }
  lkt_splice_table_free(&ta);
  lkt_splice_table_free(&tb);
  free(a);
  free(b);
  return ra == 0;
}

/* The compacted envelope parses exactly when the uncompacted body does,
 * and a failure maps back to the same offset: every truncation and many
 * single-byte changes of bodies with every kind of spliced value. */
static void test_compacted_offsets_match(void) {
  static const char *const bodies[] = {
      "{\"activation\":\"leaky_relu\",\"alpha\":0.125,\"x_b64\":\"AACAPwAAAMA=\"}",
      "{\"jobs\":[{\"op\":\"forward\",\"x\":[[1,2],[3,4]],\"beta\":0.5},"
      "{\"op\":\"backward\",\"x_b64\":\"AACAPw==\",\"dy_b64\":\"AAAAQA==\"}]}",
      "{ \"x\" : [ 1 , 2 ] , \"y_b64\" : \"\\/\\/\\/\\/\" , \"alpha\" : [ 0.5 ] }",
  };
  static const char changes[] = {'"', '}', ']', ',', ':', 'x', '\\', ' ', '[', '{', '0'};
  size_t accepted = 0;
  for (size_t bi = 0; bi < sizeof bodies / sizeof bodies[0]; bi++) {
    const size_t n = strlen(bodies[bi]);
    char *text = malloc(n + 1);
    for (size_t at = 0; at < n; at++) {
      accepted += (size_t)offsets_agree(bodies[bi], at + 1); /* truncated */
      for (size_t c = 0; c < sizeof changes; c++) {
        memcpy(text, bodies[bi], n);
        text[at] = changes[c];
        accepted += (size_t)offsets_agree(text, n);
      }
    }
    free(text);
  }
  CHECK(accepted > 500);
}

/* A big base64 string in a body: decoded by the split path, the envelope
 * a few bytes. */
static void test_splice_big_base64(void) {
  const size_t n = BIG_TEXT / 4 * 3;
  unsigned char *bytes = random_bytes(n);
  lkt_buf body = {0};
  lkt_buf_append_str(&body, "{\"activation\":\"relu\",\"x_b64\":\"");
  lkt_base64_encode(&body, bytes, n);
  lkt_buf_append_str(&body, "\",\"dtype\":\"float32\"}");
  lkt_splice_table table = {0};
  size_t env_len = 0;
  char err[160];
  CHECK_INT_EQ(lkt_splice_body(body.data, body.len, &daemon_keys, &limits, 64, &table, &env_len,
                               err, sizeof err),
               0);
  CHECK_STR_EQ(body.data, "{\"activation\":\"relu\",\"x_b64\":\"\",\"dtype\":\"float32\"}");
  CHECK_INT_EQ(env_len, strlen(body.data));
  CHECK(table.count == 1 && table.tensors[0].nbytes == n &&
        memcmp(table.tensors[0].values, bytes, n) == 0);
  /* an error offset after the string maps back past it */
  CHECK_INT_EQ(lkt_splice_body_offset(&table, env_len - 1), body.len - 1);
  CHECK_INT_EQ(lkt_splice_body_offset(&table, 5), 5);
  lkt_splice_table_free(&table);
  lkt_buf_free(&body);
  free(bytes);
}

int main(void) {
  RUN_TEST(test_round_trip_small_lengths);
  RUN_TEST(test_round_trip_big);
  RUN_TEST(test_rejects_every_bad_byte);
  RUN_TEST(test_rejects_padding_and_lengths);
  RUN_TEST(test_encode_huge_length);
  RUN_TEST(test_splice_base64_lifted);
  RUN_TEST(test_splice_base64_escapes);
  RUN_TEST(test_splice_base64_other_values);
  RUN_TEST(test_splice_base64_errors_per_tensor);
  RUN_TEST(test_compacted_offsets_match);
  RUN_TEST(test_splice_big_base64);
  return TEST_SUMMARY();
}
