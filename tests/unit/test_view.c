/* test_view.c - the [outer, channels, inner] view of a shape: ranks 0..4,
 * positive and negative channel axes, out-of-range axes, zero-size dims,
 * products over SIZE_MAX, NULL arguments, flat views and counting. */
#include <stdint.h>

#include "core/core.h"
#include "test.h"

/* The view of shape/rank/axis must succeed and equal {outer, channels, inner}. */
#define CHECK_VIEW(shape, rank, axis, o, c, i)                                                     \
  do {                                                                                             \
    leakycl_view v_ = {99, 99, 99};                                                                \
    char e_[256] = "";                                                                             \
    leakycl_status s_ = leakycl_view_from_shape(shape, rank, axis, &v_, e_, sizeof e_);            \
    if (s_ != LEAKYCL_OK)                                                                          \
      fprintf(stderr, "  rank %zu axis %ld: %s\n", (size_t)(rank), (long)(axis), e_);              \
    CHECK_INT_EQ(s_, LEAKYCL_OK);                                                                  \
    CHECK_INT_EQ(v_.outer, o);                                                                     \
    CHECK_INT_EQ(v_.channels, c);                                                                  \
    CHECK_INT_EQ(v_.inner, i);                                                                     \
  } while (0)

/* Checks that the view fails with INVALID_ARGUMENT, leaves *out alone and
 * writes a message containing `want` (when not NULL). */
static void expect_view_error(const size_t *shape, size_t rank, long axis, const char *want) {
  leakycl_view v = {7, 8, 9};
  char err[256] = "";
  leakycl_status st = leakycl_view_from_shape(shape, rank, axis, &v, err, sizeof err);
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(v.outer, 7);
  CHECK_INT_EQ(v.channels, 8);
  CHECK_INT_EQ(v.inner, 9);
  CHECK(err[0] != '\0');
  if (want && !strstr(err, want)) {
    fprintf(stderr, "  rank %zu axis %ld: message \"%s\" lacks \"%s\"\n", rank, axis, err, want);
    CHECK(strstr(err, want) != NULL);
  }
}

static void test_rank0(void) {
  /* A scalar is one element; shape may be NULL; axis 0 or -1. */
  CHECK_VIEW(NULL, 0, 0, 1, 1, 1);
  CHECK_VIEW(NULL, 0, -1, 1, 1, 1);
  const size_t unused[1] = {5};
  CHECK_VIEW(unused, 0, 0, 1, 1, 1);
  expect_view_error(NULL, 0, 1, "0 or -1");
  expect_view_error(NULL, 0, -2, "0 or -1");
}

static void test_rank1(void) {
  const size_t s[] = {6};
  CHECK_VIEW(s, 1, 0, 1, 6, 1);
  CHECK_VIEW(s, 1, -1, 1, 6, 1);
  expect_view_error(s, 1, 1, "[-1, 0]");
  expect_view_error(s, 1, -2, "[-1, 0]");
}

static void test_rank2(void) {
  const size_t s[] = {3, 5};
  CHECK_VIEW(s, 2, 0, 1, 3, 5);
  CHECK_VIEW(s, 2, 1, 3, 5, 1);
  CHECK_VIEW(s, 2, -1, 3, 5, 1);
  CHECK_VIEW(s, 2, -2, 1, 3, 5);
  expect_view_error(s, 2, 2, "[-2, 1]");
  expect_view_error(s, 2, -3, "[-2, 1]");
}

static void test_rank3(void) {
  const size_t s[] = {2, 3, 4};
  CHECK_VIEW(s, 3, 0, 1, 2, 12);
  CHECK_VIEW(s, 3, 1, 2, 3, 4);
  CHECK_VIEW(s, 3, 2, 6, 4, 1);
  CHECK_VIEW(s, 3, -1, 6, 4, 1);
  CHECK_VIEW(s, 3, -3, 1, 2, 12);
  expect_view_error(s, 3, 3, "[-3, 2]");
  expect_view_error(s, 3, -4, "[-3, 2]");
}

static void test_rank4_nchw_nhwc(void) {
  /* NCHW: channel axis 1; NHWC: axis -1 (inner = 1). */
  const size_t nchw[] = {2, 3, 4, 5};
  CHECK_VIEW(nchw, 4, 1, 2, 3, 20);
  CHECK_VIEW(nchw, 4, 0, 1, 2, 60);
  CHECK_VIEW(nchw, 4, 2, 6, 4, 5);
  CHECK_VIEW(nchw, 4, -4, 1, 2, 60);
  const size_t nhwc[] = {2, 4, 5, 3};
  CHECK_VIEW(nhwc, 4, -1, 40, 3, 1);
  CHECK_VIEW(nhwc, 4, 3, 40, 3, 1);
  expect_view_error(nchw, 4, 4, "[-4, 3]");
  expect_view_error(nchw, 4, -5, "[-4, 3]");
  expect_view_error(nchw, 4, 1000000, "[-4, 3]");
  expect_view_error(nchw, 4, -1000000, "[-4, 3]");
  /* The message names the offending axis too. */
  expect_view_error(nchw, 4, 7, "7");
}

static void test_channel_membership(void) {
  /* Element i belongs to channel (i / inner) % C: check it against an
   * explicit walk over the NCHW index space. */
  const size_t s[] = {2, 3, 2, 2};
  leakycl_view v;
  CHECK_INT_EQ(leakycl_view_from_shape(s, 4, 1, &v, NULL, 0), LEAKYCL_OK);
  size_t i = 0;
  for (size_t n = 0; n < s[0]; n++)
    for (size_t c = 0; c < s[1]; c++)
      for (size_t h = 0; h < s[2] * s[3]; h++, i++)
        CHECK_INT_EQ((i / v.inner) % v.channels, c);
  CHECK_INT_EQ(i, v.outer * v.channels * v.inner);
}

static void test_zero_size_dims(void) {
  const size_t a[] = {2, 0, 4};
  CHECK_VIEW(a, 3, 1, 2, 0, 4);
  CHECK_VIEW(a, 3, 0, 1, 2, 0);
  CHECK_VIEW(a, 3, -1, 0, 4, 1);
  const size_t b[] = {0};
  CHECK_VIEW(b, 1, 0, 1, 0, 1);
  /* A zero dim next to a huge one: the product is 0, no overflow. */
  const size_t c[] = {SIZE_MAX, 0, 3};
  CHECK_VIEW(c, 3, 2, 0, 3, 1);
  size_t n = 42;
  leakycl_view v = {2, 0, 4};
  CHECK_INT_EQ(leakycl_view_count(v, &n), LEAKYCL_OK);
  CHECK_INT_EQ(n, 0);
}

static void test_overflow(void) {
  const size_t big[] = {SIZE_MAX / 2 + 1, 2};
  expect_view_error(big, 2, 0, "size_t");
  expect_view_error(big, 2, 1, "size_t");
  /* The overflow happens across outer, C and inner (each fits alone). */
  const size_t h = (size_t)1 << (sizeof(size_t) * 4); /* 2^32 on 64-bit */
  const size_t spread[] = {h, 1, h};
  expect_view_error(spread, 3, 1, "size_t");
  const size_t three[] = {h / 2, h / 2, 4, 2};
  expect_view_error(three, 4, 2, "size_t");
  const size_t huge_one[] = {SIZE_MAX};
  CHECK_VIEW(huge_one, 1, 0, 1, SIZE_MAX, 1);
  /* Exactly SIZE_MAX elements: 3 * 5 * 17 * 257 * 65537 = 2^32 - 1 on 32 bits;
   * on 64 bits SIZE_MAX = (2^32 - 1) * (2^32 + 1). */
  if (SIZE_MAX == UINT64_MAX) {
    const size_t exact[] = {(size_t)UINT32_MAX, (size_t)UINT32_MAX + 2};
    CHECK_VIEW(exact, 2, 1, UINT32_MAX, (size_t)UINT32_MAX + 2, 1);
    const size_t over[] = {(size_t)UINT32_MAX, (size_t)UINT32_MAX + 3};
    expect_view_error(over, 2, 1, "size_t");
  }
}

static void test_null_and_rank_args(void) {
  const size_t s[] = {2, 3};
  char err[128] = "";
  CHECK_INT_EQ(leakycl_view_from_shape(s, 2, 1, NULL, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  expect_view_error(NULL, 2, 1, "shape");
  /* Rank above LEAKYCL_MAX_RANK names the maximum. */
  size_t many[LEAKYCL_MAX_RANK + 1];
  for (size_t i = 0; i < LEAKYCL_MAX_RANK + 1; i++)
    many[i] = 1;
  expect_view_error(many, LEAKYCL_MAX_RANK + 1, 0, "16");
  CHECK_VIEW(many, LEAKYCL_MAX_RANK, -1, 1, 1, 1);
  /* A NULL or zero-length error buffer is fine. */
  leakycl_view v;
  CHECK_INT_EQ(leakycl_view_from_shape(s, 2, 5, &v, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  err[0] = 'q';
  CHECK_INT_EQ(leakycl_view_from_shape(s, 2, 5, &v, err, 0), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] == 'q');
  /* A short error buffer is truncated, never overrun. */
  char tiny[8];
  memset(tiny, 'z', sizeof tiny);
  CHECK_INT_EQ(leakycl_view_from_shape(s, 2, 5, &v, tiny, 4), LEAKYCL_INVALID_ARGUMENT);
  CHECK(memchr(tiny, '\0', 4) != NULL);
  CHECK(tiny[4] == 'z');
}

static void test_view_flat(void) {
  leakycl_view v = leakycl_view_flat(10);
  CHECK_INT_EQ(v.outer, 1);
  CHECK_INT_EQ(v.channels, 1);
  CHECK_INT_EQ(v.inner, 10);
  v = leakycl_view_flat(0);
  CHECK_INT_EQ(v.inner, 0);
  size_t n = 1;
  CHECK_INT_EQ(leakycl_view_count(v, &n), LEAKYCL_OK);
  CHECK_INT_EQ(n, 0);
  v = leakycl_view_flat(SIZE_MAX);
  CHECK_INT_EQ(leakycl_view_count(v, &n), LEAKYCL_OK);
  CHECK(n == SIZE_MAX);
}

static void test_view_count(void) {
  size_t n = 0;
  leakycl_view v = {2, 3, 4};
  CHECK_INT_EQ(leakycl_view_count(v, &n), LEAKYCL_OK);
  CHECK_INT_EQ(n, 24);
  CHECK_INT_EQ(leakycl_view_count(v, NULL), LEAKYCL_INVALID_ARGUMENT);
  /* Overflow in outer * channels, and in (outer * channels) * inner. */
  n = 5;
  leakycl_view o1 = {SIZE_MAX, 2, 1};
  CHECK_INT_EQ(leakycl_view_count(o1, &n), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(n, 5); /* untouched */
  leakycl_view o2 = {1, SIZE_MAX / 2 + 1, 2};
  CHECK_INT_EQ(leakycl_view_count(o2, &n), LEAKYCL_INVALID_ARGUMENT);
  const size_t h = (size_t)1 << (sizeof(size_t) * 4);
  leakycl_view o3 = {h, 2, h / 2};
  CHECK_INT_EQ(leakycl_view_count(o3, &n), LEAKYCL_INVALID_ARGUMENT);
  leakycl_view fits = {h / 2, 2, h - 1};
  CHECK_INT_EQ(leakycl_view_count(fits, &n), LEAKYCL_OK);
  CHECK(n == (h / 2) * 2 * (h - 1));
  leakycl_view zero = {0, SIZE_MAX, 2};
  CHECK_INT_EQ(leakycl_view_count(zero, &n), LEAKYCL_OK);
  CHECK_INT_EQ(n, 0);
}

int main(void) {
  RUN_TEST(test_rank0);
  RUN_TEST(test_rank1);
  RUN_TEST(test_rank2);
  RUN_TEST(test_rank3);
  RUN_TEST(test_rank4_nchw_nhwc);
  RUN_TEST(test_channel_membership);
  RUN_TEST(test_zero_size_dims);
  RUN_TEST(test_overflow);
  RUN_TEST(test_null_and_rank_args);
  RUN_TEST(test_view_flat);
  RUN_TEST(test_view_count);
  return TEST_SUMMARY();
}
