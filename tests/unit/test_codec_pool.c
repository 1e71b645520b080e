/* test_codec_pool.c - the codec's memory hooks with the daemon's buffer
 * pool (server/http/bufpool.c): big blocks reused and aligned, small sizes and
 * foreign pointers handed to malloc and free, the idle limit, idle blocks
 * unmapped after a time, lkt_buf and base64 tensors on pooled memory, and
 * threads sharing the pool. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "base64.h"
#include "bufpool.h"
#include "splice.h"
#include "test.h"

#define MIB ((size_t)1 << 20)

static void test_pool_reuses_big_blocks(void) {
  size_t cap = 0;
  char *a = lkd_bufpool_alloc(3 * MIB + 5, &cap);
  CHECK(a != NULL);
  CHECK(cap >= 3 * MIB + 5);
  CHECK((uintptr_t)a % (2 * MIB) == 0);
  memset(a, 0xA5, cap); /* all of cap is usable */
  lkd_bufpool_release(a);
  size_t cap2 = 0;
  char *b = lkd_bufpool_alloc(3 * MIB, &cap2);
  CHECK(b == a); /* the idle block, not a fresh mapping */
  CHECK_INT_EQ(cap2, cap);
  /* a bigger size than any idle block gets a new one */
  char *c = lkd_bufpool_alloc(9 * MIB, &cap2);
  CHECK(c != NULL && c != a && cap2 >= 9 * MIB);
  lkd_bufpool_release(b);
  lkd_bufpool_release(c);
  /* best fit: the smaller idle block serves a small big request */
  char *d = lkd_bufpool_alloc(2 * MIB, &cap2);
  CHECK(d == a);
  lkd_bufpool_release(d);
}

static void test_pool_small_and_foreign(void) {
  size_t cap = 0;
  char *small = lkd_bufpool_alloc(100, &cap);
  CHECK(small != NULL && cap == 100);
  memset(small, 1, 100);
  lkd_bufpool_release(small); /* free()d: ASan would report a bad free */
  char *foreign = malloc(4096);
  lkd_bufpool_release(foreign);
  /* malloc'd memory that happens to sit on a 2 MiB boundary */
  void *aligned = NULL;
  CHECK_INT_EQ(posix_memalign(&aligned, 2 * MIB, 64), 0);
  lkd_bufpool_release(aligned);
  lkd_bufpool_release(NULL);
}

static void test_pool_limit(void) {
  lkd_bufpool_set_limit(0); /* nothing idle may stay */
  size_t cap = 0;
  char *a = lkd_bufpool_alloc(4 * MIB, &cap);
  a[0] = 1;
  lkd_bufpool_release(a); /* unmapped at once */
  char *b = lkd_bufpool_alloc(4 * MIB, &cap);
  b[cap - 1] = 2;
  lkd_bufpool_release(b);
  lkd_bufpool_set_limit((size_t)512 << 20);
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Idle blocks go back to the system once idle long enough; blocks in use
 * and blocks idle for less stay. */
static void test_pool_decay(void) {
  const int64_t second = 1000000000;
  lkd_bufpool_decay(now_ns() + 1000 * second, 0); /* no idle block left by other tests */
  size_t cap_a = 0, cap_b = 0, cap_c = 0;
  char *a = lkd_bufpool_alloc(4 * MIB, &cap_a);
  char *b = lkd_bufpool_alloc(2 * MIB, &cap_b);
  char *c = lkd_bufpool_alloc(6 * MIB, &cap_c);
  CHECK(a && b && c);
  lkd_bufpool_release(a);
  lkd_bufpool_release(b);
  const int64_t t = now_ns();
  CHECK_INT_EQ(lkd_bufpool_decay(t, 5 * second), 0); /* idle for less */
  CHECK_INT_EQ(lkd_bufpool_decay(t + 6 * second, 5 * second), cap_a + cap_b);
  CHECK_INT_EQ(lkd_bufpool_decay(t + 60 * second, 5 * second), 0); /* gone already */
  /* in use: still mapped */
  memset(c, 3, cap_c);
  lkd_bufpool_release(c);
  CHECK_INT_EQ(lkd_bufpool_decay(now_ns() + 6 * second, 5 * second), cap_c);
}

/* With the pool as the codec's hooks: lkt_buf grows on pooled memory, one
 * big reserve gets what it asks for, small buffers stay malloc'd. */
static void test_hooks_buf_and_base64(void) {
  lkd_bufpool_install();
  lkt_buf b = {0};
  lkt_buf_append_str(&b, "{\"y_b64\":\"");
  CHECK(b.cap < MIB);
  const size_t n = 6 * MIB;
  unsigned char *bytes = malloc(n);
  for (size_t i = 0; i < n; i++)
    bytes[i] = (unsigned char)(i * 7 + 3);
  lkt_base64_encode(&b, bytes, n);
  lkt_buf_append_str(&b, "\"}");
  CHECK(!b.oom);
  CHECK(strncmp(b.data, "{\"y_b64\":\"", 10) == 0);
  CHECK_INT_EQ(b.len, 10 + n / 3 * 4 + 2);
  CHECK(b.cap - b.len < 4 * MIB); /* sized to the payload, not doubled */
  CHECK((uintptr_t)b.data % (2 * MIB) == 0);

  /* the body spliced on pooled memory: the tensor comes from the pool too */
  static const char *const b64_keys[] = {"y_b64"};
  const lkt_splice_keys keys = {NULL, 0, NULL, 0, b64_keys, 1};
  const lkt_limits limits = {1u << 24, 4};
  lkt_splice_table table = {0};
  size_t env_len = 0;
  char err[160];
  CHECK_INT_EQ(lkt_splice_body(b.data, b.len, &keys, &limits, 8, &table, &env_len, err, sizeof err),
               0);
  CHECK_STR_EQ(b.data, "{\"y_b64\":\"\"}");
  CHECK(table.count == 1 && table.tensors[0].nbytes == n);
  if (table.count == 1) {
    CHECK(memcmp(table.tensors[0].values, bytes, n) == 0);
    CHECK((uintptr_t)table.tensors[0].values % (2 * MIB) == 0);
  }
  lkt_splice_table_free(&table);
  lkt_buf_free(&b);
  free(bytes);
}

static void *churn(void *arg) {
  const size_t seed = (size_t)(uintptr_t)arg;
  for (size_t i = 0; i < 200; i++) {
    const size_t size = (1 + (i * 7 + seed) % 5) * MIB;
    size_t cap = 0;
    unsigned char *p = lkd_bufpool_alloc(size, &cap);
    if (!p)
      return (void *)1;
    p[0] = (unsigned char)seed;
    p[size - 1] = (unsigned char)seed;
    if (p[0] != (unsigned char)seed)
      return (void *)1;
    lkd_bufpool_release(p);
  }
  return NULL;
}

static void test_pool_threads(void) {
  pthread_t t[4];
  for (size_t i = 0; i < 4; i++)
    CHECK_INT_EQ(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i), 0);
  for (size_t i = 0; i < 4; i++) {
    void *rc = NULL;
    pthread_join(t[i], &rc);
    CHECK(rc == NULL);
  }
}

int main(void) {
  RUN_TEST(test_pool_reuses_big_blocks);
  RUN_TEST(test_pool_small_and_foreign);
  RUN_TEST(test_pool_limit);
  RUN_TEST(test_pool_decay);
  RUN_TEST(test_hooks_buf_and_base64);
  RUN_TEST(test_pool_threads);
  return TEST_SUMMARY();
}
