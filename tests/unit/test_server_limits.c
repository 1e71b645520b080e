/* test_server_limits.c - the HTTP layer's limits that need no socket: the
 * in-flight budget's arithmetic (a lone request over it still runs, a
 * growing body counts its own reservation) and the request-target checks
 * made before libmicrohttpd unescapes it (server/http/budget.c,
 * strict.c). */
#include "budget.h"
#include "strict.h"
#include "test.h"

static void test_budget_take_and_give(void) {
  lkd_budget b;
  lkd_budget_init(&b, 100);
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 60), 0);
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 50), -1); /* 110 > 100: nothing taken */
  CHECK_INT_EQ(lkd_budget_used(&b), 60);
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 40), 0); /* exactly full */
  lkd_budget_give(&b, 100);
  CHECK_INT_EQ(lkd_budget_used(&b), 0);
  /* Alone, a body bigger than the budget runs (--max-body bounds it)... */
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 500), 0);
  /* ...and nothing else does meanwhile. */
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 1), -1);
  lkd_budget_give(&b, 500);
  /* A chunked body grows past the budget while it holds all of it. */
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 30), 0);
  CHECK_INT_EQ(lkd_budget_take(&b, 30, 200), 0);
  CHECK_INT_EQ(lkd_budget_take(&b, 0, 1), -1);
  lkd_budget_give(&b, 230);
  /* An answer is charged whatever the limit: its memory exists already. */
  lkd_budget_charge(&b, 150);
  CHECK_INT_EQ(lkd_budget_used(&b), 150);
  lkd_budget_give(&b, 150);
  CHECK(lkd_budget_default() > 0);
}

static void test_strict_target(void) {
  static const char *const good[] = {"/v1/forward", "/v1/health?a=%20b%2F", "/a%2500",
                                     "/caf\xc3\xa9", "/%0a0"};
  static const char *const bad[] = {"/v1/forward%00", "/v1/health?a=%00", "/a b", "/a\rb", "/a\tb",
                                    "/a\x7f"};
  lkd_error e = {LKD_OK, ""};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK_INT_EQ(lkd_strict_target(good[i], &e), LKD_STRICT_OK);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    e.code = LKD_OK;
    CHECK_INT_EQ(lkd_strict_target(bad[i], &e), LKD_STRICT_BAD);
    CHECK_INT_EQ(e.code, LKD_INVALID_ARGUMENT);
  }
}

int main(void) {
  RUN_TEST(test_budget_take_and_give);
  RUN_TEST(test_strict_target);
  return TEST_SUMMARY();
}
