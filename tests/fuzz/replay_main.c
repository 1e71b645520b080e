/* replay_main.c - the plain program each fuzz target also builds as, and the
 * failure report all targets share. The program runs every file of the
 * paths it is given (default: tests/fuzz/corpus/<target> and
 * tests/fuzz/regression/<target>, relative to the repository root) through
 * LLVMFuzzerTestOneInput once and prints "PASS fuzz_<target> N inputs", so
 * that make test replays the seeds and every kept crash under ASan + UBSan.
 * The libFuzzer build compiles this file with -DLK_FUZZ_NO_MAIN (libFuzzer
 * brings its own main) for lk_fuzz_fail alone. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define LK_FUZZ_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LK_FUZZ_SANITIZED 1
#endif
#endif
#ifdef LK_FUZZ_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

/* The input being run, for the FAIL line; "(libFuzzer input)" under
 * libFuzzer, which names the crashing input itself. */
static const char *lk_fuzz_current = "(libFuzzer input)";
/* Set once a FAIL line is out, so that the abort that follows it does not
 * print a second one (tests/run.sh counts FAIL lines). */
static volatile sig_atomic_t lk_fuzz_reported;

void lk_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
  fflush(stdout);
  printf("FAIL fuzz_%s %s: %s:%d: %s: ", lk_fuzz_target, lk_fuzz_current, file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  lk_fuzz_reported = 1;
  abort();
}

#ifndef LK_FUZZ_NO_MAIN

/* Writes s with write(2): safe in a signal handler. */
static void lk_fuzz_write(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, s, n);
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

/* A crash that is no FUZZ_CHECK (a sanitizer report, a signal) still names
 * the input that caused it, on a FAIL line of its own. */
static void lk_fuzz_report_crash(const char *why) {
  if (lk_fuzz_reported)
    return;
  lk_fuzz_reported = 1;
  lk_fuzz_write("FAIL fuzz_");
  lk_fuzz_write(lk_fuzz_target);
  lk_fuzz_write(" ");
  lk_fuzz_write(lk_fuzz_current);
  lk_fuzz_write(": ");
  lk_fuzz_write(why);
  lk_fuzz_write("\n");
}

#ifdef LK_FUZZ_SANITIZED
static void lk_fuzz_on_sanitizer_death(void) { lk_fuzz_report_crash("sanitizer error (above)"); }
#else
static void lk_fuzz_on_signal(int sig) {
  lk_fuzz_report_crash(sig == SIGABRT ? "aborted" : "crashed with a signal");
  signal(sig, SIG_DFL);
  raise(sig);
}
#endif

/* Reads a whole file into a buffer of exactly its size (so that ASan sees a
 * read past the end), or NULL with errno set. */
static unsigned char *lk_fuzz_read(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = NULL;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
    *size = (size_t)st.st_size;
    buf = malloc(*size ? *size : 1);
    if (buf && *size > 0 && fread(buf, 1, *size, f) != *size) {
      free(buf);
      buf = NULL;
      errno = EIO;
    }
  }
  fclose(f);
  return buf;
}

static int lk_fuzz_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one file; returns 0, or -1 (with a FAIL line) when it cannot be read. */
static int lk_fuzz_run_file(const char *path) {
  size_t size = 0;
  unsigned char *data = lk_fuzz_read(path, &size);
  if (!data) {
    printf("FAIL fuzz_%s: cannot read %s: %s\n", lk_fuzz_target, path, strerror(errno));
    return -1;
  }
  lk_fuzz_current = path;
  LLVMFuzzerTestOneInput(data, size);
  lk_fuzz_current = "(between inputs)";
  free(data);
  return 0;
}

/* Runs every regular file of a directory in name order, except dot files
 * and README*. Adds the number run to *count. */
static int lk_fuzz_run_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("FAIL fuzz_%s: cannot open %s: %s\n", lk_fuzz_target, dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **grown = realloc(names, cap * sizeof *names);
      if (!grown) {
        rc = -1;
        break;
      }
      names = grown;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    if (!(names[n] = malloc(len))) {
      rc = -1;
      break;
    }
    snprintf(names[n++], len, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  if (rc != 0)
    printf("FAIL fuzz_%s: out of memory listing %s\n", lk_fuzz_target, dir);
  if (n > 0)
    qsort(names, n, sizeof *names, lk_fuzz_cmp);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (lk_fuzz_run_file(names[i]) != 0)
        rc = -1;
      else
        (*count)++;
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
#ifdef LK_FUZZ_SANITIZED
  __sanitizer_set_death_callback(lk_fuzz_on_sanitizer_death);
#else
  const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    signal(signals[i], lk_fuzz_on_signal);
#endif
  if (argc > 1 && argv[1][0] == '-') {
    fprintf(stderr,
            "usage: %s [FILE|DIR...]\n"
            "runs each input through the fuzz target once (default: tests/fuzz/corpus/%s and\n"
            "tests/fuzz/regression/%s, from the repository root)\n",
            argv[0], lk_fuzz_target, lk_fuzz_target);
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  size_t count = 0;
  int rc = 0;
  if (argc > 1) {
    for (int i = 1; i < argc; i++) {
      struct stat st;
      if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
        rc |= lk_fuzz_run_dir(argv[i], &count);
      else if (lk_fuzz_run_file(argv[i]) == 0)
        count++;
      else
        rc = -1;
    }
  } else {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", lk_fuzz_target);
    rc |= lk_fuzz_run_dir(dir, &count);
    snprintf(dir, sizeof dir, "tests/fuzz/regression/%s", lk_fuzz_target);
    rc |= lk_fuzz_run_dir(dir, &count);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("# fuzz_%s replayed %zu inputs in %.2f s\n", lk_fuzz_target, count,
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  if (rc != 0)
    return 1;
  if (count == 0) {
    printf("FAIL fuzz_%s: no inputs to replay\n", lk_fuzz_target);
    return 1;
  }
  printf("PASS fuzz_%s %zu inputs\n", lk_fuzz_target, count);
  return 0;
}

#endif /* LK_FUZZ_NO_MAIN */
