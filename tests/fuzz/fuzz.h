/* fuzz.h - what every fuzz target shares: the libFuzzer entry point, the
 * target's name (for the replay program's default directories and its
 * PASS/FAIL line) and FUZZ_CHECK, which reports a broken invariant and
 * aborts: a crash to libFuzzer, a FAIL line to tests/run.sh. */
#ifndef LEAKYCL_FUZZ_H
#define LEAKYCL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; returns 0 (libFuzzer's convention). Defined by each
 * target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The target's short name ("request", "float", "spec", "npy"): its corpus
 * is tests/fuzz/corpus/<name>, its kept crashes tests/fuzz/regression/<name>.
 * Defined by each target. */
extern const char lk_fuzz_target[];

/* Prints "FAIL fuzz_<target> <input>: <where>: <cond>: <message>" on stdout
 * (the input's path when the replay program runs it) and aborts. */
void lk_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* Checks an invariant of the code under test; the message (printf-style)
 * should show the values that broke it. */
#define FUZZ_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      lk_fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                        \
  } while (0)

#endif
