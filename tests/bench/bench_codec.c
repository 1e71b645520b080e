/* bench_codec.c - floats/s of the text library's number paths against cJSON and snprintf, on 1 Mi
 * float32 values drawn from N(0,1). Warm-up, then the median of 5 timed runs; no pass/fail.
 *   bench_codec [--json]
 * With --json the table goes to stderr and stdout gets one JSON object a line per direction:
 * {"bench":"codec","what":"print","ours_floats_per_s":...,"cjson_floats_per_s":...,"ratio":...}
 * for print, parse, base64_encode and base64_decode (against cJSON's print and parse). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrays.h"
#include "base64.h"

#define COUNT (1u << 20)
#define RUNS 5

static float *values;
static lkt_buf text;           /* our print of values: the input of both parsers */
static lkt_buf out;            /* reused output buffer */
static lkt_buf base64;         /* base64 of values */
static unsigned char *decoded; /* base64_decode's output, allocated once */
static volatile double sink;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 42;

static double uniform(void) { /* splitmix64, mapped to (0, 1) */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return ((double)((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
}

static void die(const char *what) {
  fprintf(stderr, "bench_codec: %s\n", what);
  exit(1);
}

static void ours_print(void) {
  out.len = 0;
  lkt_array_print(&out, values, COUNT, NULL, 1);
  if (out.oom)
    die("out of memory");
}

static void cjson_print(void) {
  cJSON *array = cJSON_CreateFloatArray(values, (int)COUNT);
  char *s = array ? cJSON_PrintUnformatted(array) : NULL;
  if (!s)
    die("cJSON print failed");
  sink = (double)strlen(s);
  free(s);
  cJSON_Delete(array);
}

static void snprintf_print(void) {
  out.len = 0;
  if (lkt_buf_reserve(&out, (size_t)COUNT * 17 + 2) != 0)
    die("out of memory");
  char *p = out.data;
  *p++ = '[';
  for (size_t i = 0; i < COUNT; i++) {
    if (i)
      *p++ = ',';
    p += snprintf(p, 17, "%.9g", (double)values[i]);
  }
  *p++ = ']';
  out.len = (size_t)(p - out.data);
}

static void ours_parse(void) {
  const lkt_limits limits = {COUNT, 1};
  lkt_tensor t;
  const char *stop;
  size_t bad;
  char err[128];
  if (lkt_array_parse(text.data, text.data + text.len, &limits, &t, &stop, &bad, err, sizeof err))
    die(err);
  if (t.count != COUNT || memcmp(t.values, values, COUNT * sizeof *values) != 0)
    die("our parse does not read back the values");
  lkt_tensor_free(&t);
}

static void cjson_parse(void) {
  cJSON *root = cJSON_ParseWithLength(text.data, text.len);
  if (!root)
    die("cJSON parse failed");
  double sum = 0;
  size_t n = 0;
  for (const cJSON *item = root->child; item; item = item->next, n++)
    sum += (float)item->valuedouble;
  if (n != COUNT)
    die("cJSON parse lost values");
  sink = sum;
  cJSON_Delete(root);
}

static void base64_encode(void) {
  out.len = 0;
  lkt_base64_encode(&out, (const unsigned char *)values, COUNT * sizeof *values);
  if (out.oom)
    die("out of memory");
}

static void base64_decode(void) {
  char err[128];
  if (lkt_base64_decode_into(base64.data, base64.len, decoded, err, sizeof err))
    die(err);
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median floats/s over RUNS timed runs after one warm-up run. */
static double floats_per_second(void (*fn)(void)) {
  double seconds[RUNS];
  fn();
  for (int i = 0; i < RUNS; i++) {
    double t0 = now();
    fn();
    seconds[i] = now() - t0;
  }
  qsort(seconds, RUNS, sizeof seconds[0], by_value);
  return COUNT / seconds[RUNS / 2];
}

int main(int argc, char **argv) {
  const int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  if (argc > 2 || (argc == 2 && !json)) {
    fprintf(stderr, "usage: bench_codec [--json]\n");
    return 2;
  }
  FILE *table = json ? stderr : stdout;
  values = malloc(COUNT * sizeof *values);
  decoded = malloc(COUNT * sizeof *values);
  if (!values || !decoded)
    die("out of memory");
  for (size_t i = 0; i < COUNT; i++) /* Box-Muller */
    values[i] =
        (float)(sqrt(-2.0 * log(uniform())) * cos(2.0 * 3.14159265358979323846 * uniform()));
  lkt_array_print(&text, values, COUNT, NULL, 1);
  lkt_base64_encode(&base64, (const unsigned char *)values, COUNT * sizeof *values);
  if (text.oom || base64.oom)
    die("out of memory");
  fprintf(table,
          "bench_codec: %u float32 from N(0,1), %.1f bytes each as shortest JSON text; "
          "median of %d runs\n",
          COUNT, (double)text.len / COUNT, RUNS);

  const double cjson_out = floats_per_second(cjson_print);
  const double cjson_in = floats_per_second(cjson_parse);
  const struct {
    const char *name;
    void (*fn)(void);
    double baseline;  /* the cJSON figure for the same direction */
    const char *what; /* the JSON line's "what", or NULL for none */
  } rows[] = {
      {"print lkt_array_print", ours_print, cjson_out, "print"},
      {"print cJSON", cjson_print, cjson_out, NULL},
      {"print snprintf %.9g", snprintf_print, cjson_out, NULL},
      {"base64 encode", base64_encode, cjson_out, "base64_encode"},
      {"parse lkt_array_parse", ours_parse, cjson_in, "parse"},
      {"parse cJSON", cjson_parse, cjson_in, NULL},
      {"base64 decode", base64_decode, cjson_in, "base64_decode"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const double rate = rows[i].fn == cjson_print   ? cjson_out
                        : rows[i].fn == cjson_parse ? cjson_in
                                                    : floats_per_second(rows[i].fn);
    fprintf(table, "%-22s %9.2f M floats/s  %7.2fx cJSON\n", rows[i].name, rate / 1e6,
            rate / rows[i].baseline);
    if (json && rows[i].what)
      printf("{\"bench\":\"codec\",\"what\":\"%s\",\"floats\":%u,\"ours_floats_per_s\":%.6g,"
             "\"cjson_floats_per_s\":%.6g,\"ratio\":%.6g}\n",
             rows[i].what, COUNT, rate, rows[i].baseline, rate / rows[i].baseline);
  }
  lkt_buf_free(&text);
  lkt_buf_free(&out);
  lkt_buf_free(&base64);
  free(values);
  free(decoded);
  return 0;
}
