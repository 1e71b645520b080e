/* test_text_splice.c - text/splice.c against hand-written splice results:
 * flat and batch bodies, escaped keys, keys inside strings, scalars,
 * per-tensor errors, truncated and mutated bodies. */
#include "splice.c"

#include <float.h>
#include <math.h>

#include "test.h"
#include "text_samples.h"

/* ---- splice ---- */

static const char *const tensor_keys[] = {"x", "dy", "alpha"};

/* Runs the splice on an exact-size copy of body; on success *after gets
 * the rewritten body (NUL-terminated, caller frees). */
static int splice_text(const char *body, size_t max_nesting, lkt_splice_table *table, char **after,
                       char *err, size_t errlen) {
  size_t n = strlen(body);
  char *copy = exact_copy(body, n);
  int rc = lkt_splice_tensors(copy, n, tensor_keys, 3, NULL, 0, &default_limits, max_nesting, table,
                              err, errlen);
  *after = malloc(n + 1);
  memcpy(*after, copy, n);
  (*after)[n] = '\0';
  free(copy);
  return rc;
}

static int splice_invariant_holds(const char *before, const char *after, size_t n, size_t tensors);

static void check_tensor(const lkt_splice_table *table, size_t k, size_t count, size_t rank,
                         const float *values) {
  if (k >= table->count) {
    fprintf(stderr, "  no tensor %zu (count %zu)\n", k, table->count);
    test_case_failed_ = 1;
    return;
  }
  const lkt_tensor *t = &table->tensors[k];
  CHECK_INT_EQ(t->count, count);
  CHECK_INT_EQ(t->rank, rank);
  for (size_t i = 0; i < count && i < t->count; i++)
    CHECK(t->values[i] == values[i]);
}

static void test_splice_flat_body(void) {
  lkt_splice_table table = {0};
  char *after, err[128];
  CHECK_INT_EQ(splice_text("{\"activation\":\"leaky_relu\",\"alpha\":0.01,\"x\":[-1,0,1]}", 64,
                           &table, &after, err, sizeof err),
               0);
  CHECK_STR_EQ(after, "{\"activation\":\"leaky_relu\",\"alpha\":0.01,\"x\":{}      }");
  CHECK_INT_EQ(table.count, 1);
  check_tensor(&table, 0, 3, 1, (const float[]){-1, 0, 1});
  lkt_splice_table_free(&table);
  CHECK(table.tensors == NULL && table.count == 0);
  free(after);

  CHECK_INT_EQ(splice_text("{\"activation\":\"prelu\",\"alpha\":[0.25,0.1],\"shape\":[2,2,3],"
                           "\"channel_axis\":1,\"x\":[[1,2,3],[4,5,6]],\"dy\" : [ 1e-3 , -2.5 ]}",
                           64, &table, &after, err, sizeof err),
               0);
  CHECK_STR_EQ(after, "{\"activation\":\"prelu\",\"alpha\":{}        ,\"shape\":[2,2,3],"
                      "\"channel_axis\":1,\"x\":{}               ,\"dy\" : {}             }");
  CHECK_INT_EQ(table.count, 3);
  check_tensor(&table, 0, 2, 1, (const float[]){0.25f, 0.1f});
  check_tensor(&table, 1, 6, 2, (const float[]){1, 2, 3, 4, 5, 6});
  check_tensor(&table, 2, 2, 1, (const float[]){1e-3f, -2.5f});
  CHECK(table.tensors[1].shape[0] == 2 && table.tensors[1].shape[1] == 3);
  lkt_splice_table_free(&table);
  free(after);

  /* values that are not arrays stay for the caller to reject; an empty array is a tensor */
  const char *plain = "{\"x\":\"abc\",\"dy\":{\"a\":1},\"alpha\":0.5,\"y\":[1]}";
  CHECK_INT_EQ(splice_text(plain, 64, &table, &after, err, sizeof err), 0);
  CHECK_STR_EQ(after, plain);
  CHECK_INT_EQ(table.count, 0);
  free(after);
  CHECK_INT_EQ(splice_text("{\"x\":[]}", 64, &table, &after, err, sizeof err), 0);
  CHECK_STR_EQ(after, "{\"x\":{}}");
  check_tensor(&table, 0, 0, 1, NULL);
  lkt_splice_table_free(&table);
  free(after);
}

static void test_splice_batch_body(void) {
  lkt_splice_table table = {0};
  char *after, err[128];
  CHECK_INT_EQ(splice_text("{\"jobs\":[{\"op\":\"forward\",\"x\":[1,2]},{\"op\":\"backward\","
                           "\"x\":[[1],[2]],\"dy\":[[3],[4]],\"alpha\":{\"x\":[9]}}]}",
                           64, &table, &after, err, sizeof err),
               0);
  CHECK_STR_EQ(after, "{\"jobs\":[{\"op\":\"forward\",\"x\":{}   },{\"op\":\"backward\","
                      "\"x\":{}       ,\"dy\":{}       ,\"alpha\":{\"x\":{} }}]}");
  CHECK_INT_EQ(table.count, 4);
  check_tensor(&table, 0, 2, 1, (const float[]){1, 2});
  check_tensor(&table, 1, 2, 2, (const float[]){1, 2});
  check_tensor(&table, 2, 2, 2, (const float[]){3, 4});
  check_tensor(&table, 3, 1, 1, (const float[]){9});
  lkt_splice_table_free(&table);
  free(after);
}

static void test_splice_escaped_keys(void) {
  lkt_splice_table table = {0};
  char *after, err[128];
  CHECK_INT_EQ(splice_text("{\"\\u0078\":[1],\"d\\u0079\":[2],\"\\u0061lph\\u0061\":[3],"
                           "\"x\\u0000\":[4],\"\\\"x\\\"\":[5],\"X\":[6],\"\\u0078 \":[7],"
                           "\"\\x\":[8],\"x\\\\\":[9]}",
                           64, &table, &after, err, sizeof err),
               0);
  CHECK_STR_EQ(after, "{\"\\u0078\":{} ,\"d\\u0079\":{} ,\"\\u0061lph\\u0061\":{} ,"
                      "\"x\\u0000\":[4],\"\\\"x\\\"\":[5],\"X\":[6],\"\\u0078 \":[7],"
                      "\"\\x\":[8],\"x\\\\\":[9]}");
  CHECK_INT_EQ(table.count, 3);
  check_tensor(&table, 2, 1, 1, (const float[]){3});
  lkt_splice_table_free(&table);
  free(after);

  /* \u escapes decode to UTF-8, surrogate pairs included */
  const char *const utf8_keys[] = {"\xc3\xa9", "\xf0\x9f\x98\x80"};
  const char *body = "{\"\\u00e9\":[1],\"\\ud83d\\ude00\":[2],\"\\ud83d\":[3],\"\\ude00\":[4],"
                     "\"\\u00E9\":[5],\"\xc3\xa9\":[6],\"\\ud83d\\u0041\":[7]}";
  size_t n = strlen(body);
  char *copy = exact_copy(body, n);
  CHECK_INT_EQ(lkt_splice_tensors(copy, n, utf8_keys, 2, NULL, 0, &default_limits, 64, &table, err,
                                  sizeof err),
               0);
  CHECK_INT_EQ(table.count, 4);
  check_tensor(&table, 0, 1, 1, (const float[]){1});
  check_tensor(&table, 1, 1, 1, (const float[]){2});
  check_tensor(&table, 2, 1, 1, (const float[]){5});
  check_tensor(&table, 3, 1, 1, (const float[]){6});
  lkt_splice_table_free(&table);
  free(copy);
}

static void test_splice_keys_inside_strings(void) {
  lkt_splice_table table = {0};
  char *after, err[128];
  const char *body = "{\"note\":\"\\\"x\\\":[1,2]\",\"s\":\"\\\\\",\"x\":[3],\"a\":\"x\","
                     "\"b\":[1],\"list\":[\"x\",[1]],\"t\":\"\\\"dy\\\" : [\",\"dy\":[4]}";
  CHECK_INT_EQ(splice_text(body, 64, &table, &after, err, sizeof err), 0);
  CHECK_STR_EQ(after, "{\"note\":\"\\\"x\\\":[1,2]\",\"s\":\"\\\\\",\"x\":{} ,\"a\":\"x\","
                      "\"b\":[1],\"list\":[\"x\",[1]],\"t\":\"\\\"dy\\\" : [\",\"dy\":{} }");
  CHECK_INT_EQ(table.count, 2);
  check_tensor(&table, 0, 1, 1, (const float[]){3});
  check_tensor(&table, 1, 1, 1, (const float[]){4});
  lkt_splice_table_free(&table);
  free(after);
}

static void expect_splice_error(const char *body, size_t max_nesting, const char *want) {
  lkt_splice_table table = {0};
  char *after, err[128] = "";
  int rc = splice_text(body, max_nesting, &table, &after, err, sizeof err);
  if (rc != -1 || !strstr(err, want) || table.count != 0 || table.tensors != NULL) {
    fprintf(stderr, "  splice %.60s: rc %d \"%s\" (want \"%s\")\n", body, rc, err, want);
    test_case_failed_ = 1;
  }
  lkt_splice_table_free(&table);
  free(after);
}

/* Scalars under scalar keys become rank-0 tensors (correctly rounded);
 * single digits and other keys' numbers stay for cJSON. */
static void test_splice_scalars(void) {
  static const char *const scalar_keys[] = {"alpha", "beta"};
  const char *body = "{\"alpha\":0.25,\"beta\":5,\"x\":[1,2],\"shape\":[2],"
                     "\"jobs\":[{\"beta\":-0.5e1,\"alpha\":[0.5]}],\"channel_axis\":10}";
  const size_t n = strlen(body);
  char *copy = exact_copy(body, n);
  lkt_splice_table table = {0};
  char err[128];
  CHECK_INT_EQ(lkt_splice_tensors(copy, n, tensor_keys, 3, scalar_keys, 2, &default_limits, 64,
                                  &table, err, sizeof err),
               0);
  CHECK_INT_EQ(table.count, 4); /* alpha 0.25, x, beta -5, alpha [0.5] */
  if (table.count == 4) {
    CHECK(table.tensors[0].rank == 0 && table.tensors[0].count == 1 &&
          table.tensors[0].values[0] == 0.25f);
    check_tensor(&table, 1, 2, 1, (const float[]){1, 2});
    CHECK(table.tensors[2].rank == 0 && table.tensors[2].values[0] == -5.0f);
    check_tensor(&table, 3, 1, 1, (const float[]){0.5f});
  }
  CHECK(strstr(copy, "\"beta\":5,") != NULL);          /* one digit: left alone */
  CHECK(strstr(copy, "\"channel_axis\":10}") != NULL); /* not a scalar key */
  CHECK(strstr(copy, "\"alpha\":{}  ,") != NULL);
  lkt_splice_table_free(&table);
  free(copy);
}

/* Well-formed JSON that is no tensor is spliced out with its own error, so
 * that only the job holding it fails. */
static void test_splice_tensor_errors_stay_per_tensor(void) {
  lkt_splice_table table = {0};
  char *after, err[128];
  const char *body = "{\"jobs\":[{\"x\":[[1],[2,3]]},{\"x\":[1,\"a\"],\"dy\":[2]},"
                     "{\"alpha\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}]}";
  CHECK_INT_EQ(splice_text(body, 64, &table, &after, err, sizeof err), 0);
  CHECK_INT_EQ(table.count, 4);
  if (table.count == 4) {
    CHECK_CONTAINS(table.tensors[0].error, "x: ragged");
    CHECK_STR_EQ(table.tensors[1].error, "x[1] is not a number");
    CHECK_STR_EQ(table.tensors[2].error, "");
    check_tensor(&table, 2, 1, 1, (const float[]){2});
    CHECK_CONTAINS(table.tensors[3].error, "alpha: array nested deeper");
    CHECK(table.tensors[0].values == NULL && table.tensors[3].values == NULL);
  }
  CHECK(splice_invariant_holds(body, after, strlen(body), 4));
  lkt_splice_table_free(&table);
  free(after);
}

static void test_splice_errors(void) {
  /* Brackets that do not pair up are no JSON: the whole splice fails. */
  expect_splice_error("{\"x\":[1,2}", 64, "x: expected ','");
  expect_splice_error("{\"x\":[1,2", 64, "x: unterminated");
  expect_splice_error("{\"x\":[1,[2}]}", 64, "x:");

  lkt_splice_table table = {0};
  char *after, err[128];
  const char *five_deep = "{\"a\":{\"b\":{\"c\":{\"d\":[1]}}}}";
  CHECK_INT_EQ(splice_text(five_deep, 5, &table, &after, err, sizeof err), 0);
  lkt_splice_table_free(&table);
  free(after);
  expect_splice_error(five_deep, 4, "nested deeper than 4");
  CHECK_INT_EQ(splice_text("{\"x\":[1]}", 2, &table, &after, err, sizeof err), 0);
  lkt_splice_table_free(&table);
  free(after);
  expect_splice_error("{\"x\":[1]}", 1, "nested deeper than 1");

  const size_t n = 100000;
  char *deep = malloc(n + 1);
  memset(deep, '[', n);
  deep[n] = '\0';
  expect_splice_error(deep, 64, "nested deeper than 64");
  memset(deep, '{', n);
  expect_splice_error(deep, 64, "nested deeper than 64");
  free(deep);
}

/* Checks that the splice changed only array text into "{}" and spaces,
 * once per tensor. */
static int splice_invariant_holds(const char *before, const char *after, size_t n, size_t tensors) {
  size_t opened = 0;
  for (size_t i = 0; i < n; i++) {
    if (before[i] == after[i])
      continue;
    if (after[i] == '{' && before[i] == '[')
      opened++;
    else if (after[i] != '}' && after[i] != ' ')
      return 0;
  }
  return opened == tensors;
}

static void test_splice_truncated_and_mutated(void) {
  static const char *const bodies[] = {
      "{\"activation\":\"prelu\",\"alpha\":[0.25,0.1],\"shape\":[2,2,3],\"x\":[[1,2,3],[4,5,6]],"
      "\"dy\":[\"NaN\",-2.5e-3],\"note\":\"\\\"x\\\":[\\u0078]\"}",
      "{\"jobs\":[{\"op\":\"forward\",\"x\":[1,2]},{\"op\":\"backward\",\"\\u0078\":[[1],[2]],"
      "\"dy\":[[3],[4]]}]}",
  };
  lkt_splice_table table = {0};
  char err[128];
  for (size_t b = 0; b < 2; b++) {
    const size_t len = strlen(bodies[b]);
    for (size_t cut = 0; cut <= len; cut++) { /* every prefix, in an exact-size buffer */
      char *copy = exact_copy(bodies[b], cut);
      int rc = lkt_splice_tensors(copy, cut, tensor_keys, 3, NULL, 0, &default_limits, 64, &table,
                                  err, sizeof err);
      CHECK(rc == 0 || rc == -1);
      if (rc == 0)
        CHECK(splice_invariant_holds(bodies[b], copy, cut, table.count));
      lkt_splice_table_free(&table);
      free(copy);
    }
    static const char alphabet[] = "{}[]\":,\\ 0123456789xe-.uad";
    for (int iter = 0; iter < 20000 / SAMPLE_DIV; iter++) {
      char *copy = exact_copy(bodies[b], len);
      for (int k = 1 + (int)rng_below(4); k > 0; k--)
        copy[rng_below((uint32_t)len)] = alphabet[rng_below(sizeof alphabet - 1)];
      char *mutated = exact_copy(copy, len);
      const size_t cut = len - rng_below(8);
      err[0] = '\0';
      int rc = lkt_splice_tensors(copy, cut, tensor_keys, 3, NULL, 0, &default_limits, 64, &table,
                                  err, sizeof err);
      if (rc == 0 && !splice_invariant_holds(mutated, copy, cut, table.count)) {
        fprintf(stderr, "  splice changed more than arrays: %.*s\n", (int)len, mutated);
        test_case_failed_ = 1;
      }
      CHECK(rc == 0 || (rc == -1 && table.count == 0 && err[0]));
      lkt_splice_table_free(&table);
      free(mutated);
      free(copy);
    }
  }
}

int main(void) {
  RUN_TEST(test_splice_flat_body);
  RUN_TEST(test_splice_batch_body);
  RUN_TEST(test_splice_escaped_keys);
  RUN_TEST(test_splice_keys_inside_strings);
  RUN_TEST(test_splice_scalars);
  RUN_TEST(test_splice_tensor_errors_stay_per_tensor);
  RUN_TEST(test_splice_errors);
  RUN_TEST(test_splice_truncated_and_mutated);
  return TEST_SUMMARY();
}
