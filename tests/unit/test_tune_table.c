/* test_tune_table.c - the tuned-variant table read strictly: CR LF line
 * ends, a line cut short, stray bytes after a description, a NUL, a key
 * twice and a FIFO in the file's place are errors naming the file, the line
 * and the bad bytes (escaped), never a wait or a silently different
 * variant; comments and blank lines are fine. No OpenCL device needed. */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_device.h"
#include "test.h"

static char dir[256];
static char table_path[300];

static leakycl_device_info device(void) {
  leakycl_device_info d = fake_device(0, 0, LEAKYCL_DEVICE_CPU, "Fake CPU", "Plat");
  d.local_mem_bytes = 65536;
  snprintf(d.driver_version, sizeof d.driver_version, "1.0");
  return d;
}

static void write_bytes(const char *text, size_t len) {
  unlink(table_path);
  FILE *f = fopen(table_path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fwrite(text, 1, len, f) == len);
    fclose(f);
  }
}

/* The device's key, as leakycl_tune_table_save writes it. */
static void device_key(char *key, size_t len) {
  const leakycl_device_info d = device();
  leakycl_variant v;
  char err[512], line[1024] = "";
  leakycl_default_variant(&d, LEAKYCL_STRATEGY_CPU, &v);
  unlink(table_path);
  CHECK_INT_EQ(leakycl_tune_table_save(&d, &v, err, sizeof err), LEAKYCL_OK);
  FILE *f = fopen(table_path, "r");
  CHECK(f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f));
  if (f)
    fclose(f);
  snprintf(key, len, "%.*s", (int)strcspn(line, "\t"), line);
}

/* The text of a table: `fmt` with the device's key for each %s (one or
 * two); its length. */
static size_t table_with_key(const char *fmt, char *text, size_t len) {
  char key[600];
  device_key(key, sizeof key);
  const int n = snprintf(text, len, fmt, key, key); /* one %s: the second is unused */
  return n > 0 ? (size_t)n : 0;
}

/* The table is `len` bytes of text; the lookup must fail naming the file,
 * the line, why, and the bad bytes as the message shows them (escaped). */
static void expect_refused(const char *text, size_t len, const char *line, const char *why,
                           const char *shows) {
  write_bytes(text, len);
  const leakycl_device_info d = device();
  leakycl_variant v;
  int found = -1;
  char err[1024] = "";
  CHECK_INT_EQ(leakycl_tune_table_lookup(&d, &v, &found, err, sizeof err),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(found, 0);
  CHECK_CONTAINS(err, table_path);
  CHECK_CONTAINS(err, line);
  CHECK_CONTAINS(err, why);
  CHECK_CONTAINS(err, shows);
}

static void test_good_table_with_comments_and_blank_lines(void) {
  char text[2048];
  write_bytes(text,
              table_with_key("# a comment\n\n%s\tcpu vw4 wg8\n# another\n", text, sizeof text));
  const leakycl_device_info d = device();
  leakycl_variant v;
  int found = 0;
  char err[1024] = "";
  CHECK_INT_EQ(leakycl_tune_table_lookup(&d, &v, &found, err, sizeof err), LEAKYCL_OK);
  CHECK(found == 1 && v.vector_width == 4 && v.work_group_size == 8);
}

/* Each table (the device's key for every %s) is refused with its line,
 * why and the bytes shown. */
static void test_damaged_lines_refused(void) {
  static const struct {
    const char *table, *line, *why, *shows;
  } cases[] = {
      {"# leakycl\r\n%s\tcpu vw4 wg8\r\n", "line 1:", "CR LF", "leakycl\\r\""},
      /* Cut inside "vw16": read loosely, that line asks for vw1. */
      {"# leakycl\n%s\tcpu vw1", "line 2:", "cut short", "\\tcpu vw1\""},
      {"# leakycl\n%s\tcpu vw8\tjunk\n", "line 2:", "holds a byte no variant description has",
       "cpu vw8\\tjunk\""},
      {"# leakycl\n%s\tcpu vw8 \x01\n", "line 2:", "control byte", "cpu vw8 \\x01\""},
      {"# leakycl\n\n%s\tcpu vw8 zz9\n", "line 3:", "\"zz9\" is not one of", "cpu vw8 zz9\""},
      {"# leakycl\nnot a key line\n%s\tcpu vw8\n",
       "line 2:", "is not \"key<TAB>variant description\"", "\"not a key line\""},
      /* Two lines for the device: which one was meant is unknown. */
      {"# leakycl\n%s\tcpu vw8\n%s\tcpu vw4\n", "line 3:", "repeats the key", "\\tcpu vw4\""},
  };
  char text[2048];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const size_t n = table_with_key(cases[i].table, text, sizeof text);
    expect_refused(text, n, cases[i].line, cases[i].why, cases[i].shows);
  }
}

static void test_nul_byte(void) {
  char text[2048];
  const size_t n = table_with_key("# leakycl\n%s\tcpu vw8\n", text, sizeof text);
  text[n - 3] = '\0'; /* "vw8" -> "v\0" "8" */
  expect_refused(text, n, "line 2:", "NUL byte", "cpu v\\x008\"");
}

/* A damaged table is not saved over: the damage stays for a person to see. */
static void test_save_refuses_damaged_table(void) {
  char text[2048];
  write_bytes(text, table_with_key("# leakycl\r\n%s\tcpu vw4\r\n", text, sizeof text));
  const leakycl_device_info d = device();
  leakycl_variant v;
  leakycl_default_variant(&d, LEAKYCL_STRATEGY_CPU, &v);
  char err[1024] = "";
  CHECK_INT_EQ(leakycl_tune_table_save(&d, &v, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(err, "line 1:");
  struct stat sb;
  CHECK(stat(table_path, &sb) == 0 && (size_t)sb.st_size == strlen(text));
}

/* A FIFO in the table's place: an error at once, never an open that waits
 * for a writer (the alarm ends a test that hangs). */
static void test_fifo_is_an_error(void) {
  unlink(table_path);
  CHECK(mkfifo(table_path, 0600) == 0);
  alarm(20);
  const leakycl_device_info d = device();
  leakycl_variant v;
  int found = -1;
  char err[1024] = "";
  CHECK_INT_EQ(leakycl_tune_table_lookup(&d, &v, &found, err, sizeof err), LEAKYCL_IO_ERROR);
  CHECK_INT_EQ(found, 0);
  CHECK_CONTAINS(err, table_path);
  CHECK_CONTAINS(err, "not a regular file");
  alarm(0);
  unlink(table_path);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/leakycl-test-tune-table-XXXXXX");
  if (!mkdtemp(dir)) {
    printf("FAIL mkdtemp\n");
    return 1;
  }
  snprintf(table_path, sizeof table_path, "%s/variants.tsv", dir);
  setenv("LEAKYCL_TUNE_FILE", table_path, 1);
  RUN_TEST(test_good_table_with_comments_and_blank_lines);
  RUN_TEST(test_damaged_lines_refused);
  RUN_TEST(test_nul_byte);
  RUN_TEST(test_save_refuses_damaged_table);
  RUN_TEST(test_fifo_is_an_error);
  unlink(table_path);
  rmdir(dir);
  return TEST_SUMMARY();
}
