/* test_codec.c - server/codec.c against independent oracles: glibc strtof and
 * snprintf, exact decimal expansions of float midpoints, RFC 4648 vectors,
 * a bit-by-bit base64 encoder and hand-written splice results. */
#include "codec.c"

#include <float.h>
#include <math.h>

#include "float_bits.h"
#include "test.h"

/* Sanitized builds run smaller samples to stay within the time budget. */
#if defined(__SANITIZE_ADDRESS__)
#define SAMPLE_DIV 2
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAMPLE_DIV 2
#endif
#endif
#ifndef SAMPLE_DIV
#define SAMPLE_DIV 1
#endif

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* splitmix64: small, fast, reproducible. */
static uint64_t rng(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n) { return (uint32_t)(rng() % n); }

/* Same bits, or both NaN (the codec has one NaN text). */
static int same_float(float a, float b) {
  return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b);
}

/* A copy of s in a buffer of exactly its length (no NUL), so ASan catches
 * any read past the end. */
static char *exact_copy(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  if (n)
    memcpy(p, s, n);
  return p;
}

/* lk_float_parse over the whole of s (exact-size copy); 1 when it consumed
 * all of s. */
static int parse_all(const char *s, float *out) {
  size_t n = strlen(s);
  char *copy = exact_copy(s, n);
  const char *end = lk_float_parse(copy, copy + n, out);
  int ok = end == copy + n;
  free(copy);
  return ok;
}

/* The JSON number grammar (RFC 8259), written apart from the codec's, plus
 * the three quoted specials. */
static int json_number_ok(const char *s) {
  if (!strcmp(s, "\"NaN\"") || !strcmp(s, "\"Infinity\"") || !strcmp(s, "\"-Infinity\""))
    return 1;
  if (*s == '-')
    s++;
  if (*s == '0')
    s++;
  else if (*s >= '1' && *s <= '9')
    while (*s >= '0' && *s <= '9')
      s++;
  else
    return 0;
  if (*s == '.') {
    s++;
    if (!(*s >= '0' && *s <= '9'))
      return 0;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!(*s >= '0' && *s <= '9'))
      return 0;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  return *s == '\0';
}

/* Significant digits of a decimal text, trailing zeros not counted. */
static int significant_digits(const char *s) {
  int first = -1, last = -1, i = 0;
  for (; *s && *s != 'e'; s++) {
    if (*s < '0' || *s > '9')
      continue;
    if (*s != '0') {
      if (first < 0)
        first = i;
      last = i;
    }
    i++;
  }
  return first < 0 ? 1 : last - first + 1;
}

/* The fewest %.Ng digits that read back to v: the classic oracle. */
static int oracle_digits(float v) {
  char s[64];
  for (int p = 1; p < 9; p++) {
    snprintf(s, sizeof s, "%.*g", p, (double)v);
    if (bits_of(strtof(s, NULL)) == bits_of(v))
      return p;
  }
  return 9;
}

/* Exact decimal text of m * 2^e, like "0.5" or "16777217". */
static void exact_decimal(uint64_t m, int e, char *out) {
  unsigned char d[420]; /* little-endian decimal digits of m * 2^e or m * 5^-e */
  int n = 0;
  for (uint64_t x = m; x; x /= 10)
    d[n++] = (unsigned char)(x % 10);
  if (n == 0)
    d[n++] = 0;
  const int times = e >= 0 ? e : -e, factor = e >= 0 ? 2 : 5;
  for (int t = 0; t < times; t++) {
    int carry = 0;
    for (int i = 0; i < n; i++) {
      int v = d[i] * factor + carry;
      d[i] = (unsigned char)(v % 10);
      carry = v / 10;
    }
    while (carry) {
      d[n++] = (unsigned char)(carry % 10);
      carry /= 10;
    }
  }
  const int frac = e < 0 ? -e : 0; /* m * 5^-e * 10^e: the point sits frac digits in */
  while (n <= frac)
    d[n++] = 0;
  int top = n - 1;
  while (top > frac && d[top] == 0)
    top--;
  int low = 0;
  while (low < frac && d[low] == 0)
    low++;
  char *p = out;
  for (int i = top; i >= frac; i--)
    *p++ = (char)('0' + d[i]);
  if (low < frac) {
    *p++ = '.';
    for (int i = frac - 1; i >= low; i--)
      *p++ = (char)('0' + d[i]);
  }
  *p = '\0';
}

/* A decimal just above (up) or just below the exact decimal text s. */
static void nudge(const char *s, int up, char *out) {
  strcpy(out, s);
  const int has_point = strchr(out, '.') != NULL;
  if (!up) {
    /* subtract one unit in the last place, borrowing through zeros */
    size_t i = strlen(out) - 1;
    while (out[i] == '0' || out[i] == '.') {
      if (out[i] == '0')
        out[i] = '9';
      i--;
    }
    out[i]--;
    if (out[0] == '0' && out[1] >= '0' && out[1] <= '9')
      memmove(out, out + 1, strlen(out));
  }
  strcat(out, has_point ? "" : ".");
  strcat(out, up ? "0000000001" : "9999999999");
}

/* The positive float with these bits as m * 2^e. */
static void float_parts(uint32_t bits, uint64_t *m, int *e) {
  uint32_t ex = (bits >> 23) & 0xFF, mant = bits & 0x7FFFFF;
  *m = ex ? (mant | 0x800000u) : mant;
  *e = ex ? (int)ex - 150 : -149;
}

/* ---- printing ---- */

static void test_print_known_values(void) {
  static const struct {
    float v;
    const char *text;
  } cases[] = {
      {0.0f, "0"},
      {-0.0f, "-0"},
      {1.0f, "1"},
      {-1.0f, "-1"},
      {0.1f, "0.1"},
      {0.01f, "0.01"},
      {0.3f, "0.3"},
      {-1.5f, "-1.5"},
      {100.0f, "100"},
      {16777216.0f, "16777216"},
      {123456.79f, "123456.79"},
      {3.14159265f, "3.1415927"},
      {1e-5f, "0.00001"},
      {1.25e-5f, "0.0000125"},
      {-0.0000123456789f, "-0.000012345679"},
      {9.9e-6f, "9.9e-6"},
      {1e-6f, "1e-6"},
      {1e14f, "100000000000000"},
      {-123456789012345.0f, "-123456790000000"},
      {1e15f, "1e+15"},
      {1.5e15f, "1.5e+15"},
      {1e30f, "1e+30"},
      {1073741824.0f, "1073741800"}, /* 2^30: 8 digits read back */
      {FLT_MAX, "3.4028235e+38"},
      {-FLT_MAX, "-3.4028235e+38"},
      {FLT_MIN, "1.1754944e-38"},
      {FLT_TRUE_MIN, "1e-45"},
      {2 * FLT_TRUE_MIN, "3e-45"},
      {-1.17549421e-38f, "-1.1754942e-38"}, /* the largest subnormal */
      {INFINITY, "\"Infinity\""},
      {-INFINITY, "\"-Infinity\""},
      {NAN, "\"NaN\""},
      {-NAN, "\"NaN\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char s[LK_FLOAT_TEXT_MAX + 1];
    size_t n = lk_float_print(cases[i].v, s);
    CHECK_STR_EQ(s, cases[i].text);
    CHECK_INT_EQ(n, strlen(cases[i].text));
  }
}

/* Checks one float: JSON-valid, short enough, reads back exactly through
 * strtof and through lk_float_parse. Returns 0 on a mismatch. */
static int print_reads_back(float v) {
  char s[64];
  memset(s, 'x', sizeof s);
  size_t n = lk_float_print(v, s);
  int ok = n <= LK_FLOAT_TEXT_MAX && s[n] == '\0' && json_number_ok(s);
  float parsed;
  ok = ok && parse_all(s, &parsed) && same_float(parsed, v);
  if (!isnan(v) && !isinf(v))
    ok = ok && bits_of(strtof(s, NULL)) == bits_of(v);
  ok = ok && significant_digits(s) <= 9;
  if (!ok)
    fprintf(stderr, "  print %08" PRIx32 " -> %s\n", bits_of(v), s);
  return ok;
}

static void test_print_round_trip_random_bits(void) {
  const int n = 8000000 / SAMPLE_DIV;
  int bad = 0;
  for (int i = 0; i < n && bad < 10; i++)
    bad += !print_reads_back(float_of((uint32_t)rng()));
  CHECK_INT_EQ(bad, 0);
}

static void test_print_special_values(void) {
  int bad = 0;
  const float fixed[] = {0.0f,         -0.0f,
                         FLT_MIN,      -FLT_MIN,
                         FLT_MAX,      -FLT_MAX,
                         FLT_TRUE_MIN, -FLT_TRUE_MIN,
                         FLT_EPSILON,  1.0f - FLT_EPSILON / 2,
                         INFINITY,     -INFINITY,
                         NAN};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    bad += !print_reads_back(fixed[i]);
  /* every power of two, its neighbours, and all small subnormal patterns */
  for (int e = -149; e <= 127; e++) {
    float p = ldexpf(1.0f, e);
    bad += !print_reads_back(p) + !print_reads_back(nextafterf(p, 0.0f)) +
           !print_reads_back(nextafterf(p, INFINITY)) + !print_reads_back(-p);
  }
  for (uint32_t u = 0; u < 100000; u++)
    bad += !print_reads_back(float_of(u));
  for (uint32_t u = 0x7FFFFF; u > 0x7FFFFF - 1000; u--)
    bad += !print_reads_back(float_of(u));
  CHECK_INT_EQ(bad, 0);

  /* the float nearest 10^k prints as exactly one digit */
  for (int k = -45; k <= 38; k++) {
    char want[64], text[64], s[LK_FLOAT_TEXT_MAX + 1];
    snprintf(text, sizeof text, "1e%d", k);
    if (k >= 0 && k < 15)
      snprintf(want, sizeof want, "1%0*d", k, 0);
    else if (k >= 0)
      snprintf(want, sizeof want, "1e+%d", k);
    else if (k >= -5)
      snprintf(want, sizeof want, "0.%0*d1", -k - 1, 0);
    else
      snprintf(want, sizeof want, "1e%d", k);
    if (k == 0)
      strcpy(want, "1");
    if (k == -1)
      strcpy(want, "0.1");
    lk_float_print(strtof(text, NULL), s);
    CHECK_STR_EQ(s, want);
  }
}

static void test_print_is_shortest(void) {
  const int n = 400000 / SAMPLE_DIV;
  int longer = 0, farther = 0;
  for (int i = 0; i < n; i++) {
    float v;
    switch (i % 3) {
    case 0:
      v = float_of((uint32_t)rng() & 0x7F7FFFFFu);
      break; /* any finite magnitude */
    case 1:
      v = (float)((double)(int32_t)rng() / 2147483648.0 * 4.0);
      break;
    default:
      v = (float)(rng_below(2000000)) / 1000.0f;
      break;
    }
    char s[LK_FLOAT_TEXT_MAX + 1];
    lk_float_print(v, s);
    int ours = significant_digits(s), oracle = oracle_digits(v);
    if (ours > oracle && longer++ < 5)
      fprintf(stderr, "  %08" PRIx32 ": %s has %d digits, %%.%dg reads back\n", bits_of(v), s, ours,
              oracle);
    /* among the shortest, the closest: v correctly rounded to that many
     * digits whenever that reads back */
    char rounded[64];
    snprintf(rounded, sizeof rounded, "%.*e", ours - 1, (double)v);
    if (bits_of(strtof(rounded, NULL)) == bits_of(v) && strtod(rounded, NULL) != strtod(s, NULL) &&
        farther++ < 5)
      fprintf(stderr, "  %08" PRIx32 ": %s, but %s is closer\n", bits_of(v), s, rounded);
  }
  CHECK_INT_EQ(longer, 0);
  CHECK_INT_EQ(farther, 0);
}

static void test_print_notation(void) {
  int bad = 0;
  for (int i = 0; i < 200000 / SAMPLE_DIV && bad < 5; i++) {
    float v = float_of((uint32_t)rng() & 0x7F7FFFFFu);
    if (v == 0.0f)
      continue;
    char s[LK_FLOAT_TEXT_MAX + 1];
    lk_float_print(v, s);
    const double printed = strtod(s, NULL); /* the decimal itself, not v */
    const int plain = printed >= 1e-5 && printed < 1e15;
    const char *point = strchr(s, '.'), *exp = strchr(s, 'e');
    int ok = plain == (exp == NULL);
    /* no trailing zero after a point, no point in an integer */
    if (point)
      ok = ok && (exp ? exp[-1] : s[strlen(s) - 1]) != '0';
    if (plain && printed == floor(printed))
      ok = ok && point == NULL;
    if (!ok && bad++ < 5)
      fprintf(stderr, "  notation of %.9g: %s\n", (double)v, s);
  }
  CHECK_INT_EQ(bad, 0);
}

/* ---- parsing scalars ---- */

static void test_parse_known_values(void) {
  static const struct {
    const char *text;
    float want;
  } cases[] = {
      {"0", 0.0f},
      {"-0", -0.0f},
      {"0.0", 0.0f},
      {"-0.0e5", -0.0f},
      {"0e-999", 0.0f},
      {"1", 1.0f},
      {"-1.5", -1.5f},
      {"1e3", 1000.0f},
      {"1E+3", 1000.0f},
      {"1e-3", 0.001f},
      {"0.1", 0.1f},
      {"123456789", 123456789.0f},
      {"3.4028235e38", FLT_MAX},
      {"-3.4028235e+38", -FLT_MAX},
      {"1.1754944e-38", FLT_MIN},
      {"1e-45", FLT_TRUE_MIN},
      {"1.4e-45", FLT_TRUE_MIN},
      {"1e39", INFINITY},
      {"-1e39", -INFINITY},
      {"1e-46", 0.0f},
      {"-1e-46", -0.0f},
      {"1e999999999999999999999", INFINITY},
      {"-1e-999999999999999999999", -0.0f},
      {"100000000000000000000000000000000000000", 1e38f},
      {"0.000000000000000000000000000000000000000000001", FLT_TRUE_MIN},
      {"16777217", 16777216.0f}, /* tie, to even */
      {"16777219", 16777220.0f}, /* tie, to even */
      {"16777217.000000001", 16777218.0f},
      {"\"NaN\"", NAN},
      {"\"Infinity\"", INFINITY},
      {"\"-Infinity\"", -INFINITY},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    float v = 12345.0f;
    int ok = parse_all(cases[i].text, &v);
    if (!ok || !same_float(v, cases[i].want)) {
      fprintf(stderr, "  parse %s: %.9g, want %.9g\n", cases[i].text, (double)v,
              (double)cases[i].want);
      test_case_failed_ = 1;
    }
  }
  /* exponent bookkeeping over very long texts: 10^-1000 * 10^1000 and 10^1000 * 10^-1000 */
  char *s = malloc(4000);
  strcpy(s, "0.");
  memset(s + 2, '0', 999);
  strcpy(s + 1001, "1e1000");
  float v = 0;
  CHECK(parse_all(s, &v) && v == 1.0f);
  s[0] = '1';
  memset(s + 1, '0', 1000);
  strcpy(s + 1001, "e-1000");
  CHECK(parse_all(s, &v) && v == 1.0f);
  free(s);
  /* the token ends where the number does */
  const char *text = "-2.5e1,";
  CHECK(lk_float_parse(text, text + 7, &v) == text + 6 && v == -25.0f);
  text = "\"NaN\"]";
  CHECK(lk_float_parse(text, text + 6, &v) == text + 5 && isnan(v));
  text = "7";
  CHECK(lk_float_parse(text, text, &v) == NULL);
}

static void test_parse_grammar(void) {
  static const char *const rejected[] = {
      "",         "-",    "+1",    "01",       "-01",     "00",    "1.",         ".5",
      "-.5",      "1.e5", "1e",    "1e+",      "1e-",     "0x10",  "0X1",        "inf",
      "-inf",     "nan",  "NaN",   "Infinity", "\"nan\"", "\"NaN", "\"Infinity", "\"+Infinity\"",
      "--1",      "1..2", "1.5.3", "1e5e5",    "1e5.5",   " 1",    "1f",         "2inf",
      "\"NaN \"", "true", "null",  "[1]",      "1-2",     "1+2",   "0.5x",
  };
  for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
    float v;
    size_t n = strlen(rejected[i]);
    char *copy = exact_copy(rejected[i], n);
    if (lk_float_parse(copy, copy + n, &v) != NULL) {
      fprintf(stderr, "  accepted \"%s\"\n", rejected[i]);
      test_case_failed_ = 1;
    }
    free(copy);
  }
  static const char *const accepted[] = {"0",   "-0",   "0.0", "0e0",      "0E+0",      "-0.0e-0",
                                         "1E5", "1e05", "10",  "9.999e-1", "123.456e+7"};
  for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
    float v;
    CHECK(parse_all(accepted[i], &v));
    CHECK(v == strtof(accepted[i], NULL));
  }
}

/* The 8-bytes-at-once digit reader against a byte loop: every byte value
 * after every run length, with and without room for the wide read. */
static void test_parse_digit_runs(void) {
  int bad = 0;
  for (int room = 0; room < 2; room++) {
    for (int c = 0; c < 256; c++) {
      for (int k = 0; k <= 12; k++) {
        char buf[32];
        memset(buf, '7', sizeof buf);
        for (int i = 0; i < k; i++)
          buf[i] = (char)('1' + i % 9);
        buf[k] = (char)c;
        const size_t len = room ? sizeof buf : (size_t)k + 1;
        uint64_t want_w = 5, w = 5;
        long long want_n = 0, n = 0;
        for (size_t i = 0; i < len && buf[i] >= '0' && buf[i] <= '9' && want_n < 19; i++) {
          want_w = want_w * 10 + (uint64_t)(buf[i] - '0');
          want_n++;
        }
        const char *stop = read_digits(buf, buf + len, &w, &n);
        if (want_n < 19 && (stop != buf + n || n != want_n || w != want_w) && bad++ < 5)
          fprintf(stderr, "  byte %d after %d digits: read %lld digits, w %" PRIu64 "\n", c, k, n,
                  w);
      }
    }
  }
  CHECK_INT_EQ(bad, 0);
}

/* Writes a random JSON number: 1..40 digits, a point anywhere, exponents
 * wide enough to reach past both ends of float32. */
static void random_number_text(char *s) {
  char *p = s;
  if (rng_below(4) == 0)
    *p++ = '-';
  const int digits = 1 + (int)rng_below(40);
  const int int_digits = rng_below(3) == 0 ? 1 : 1 + (int)rng_below((uint32_t)digits);
  const int zero_int = rng_below(4) == 0; /* "0.000ddd" */
  if (zero_int) {
    *p++ = '0';
    *p++ = '.';
    for (int i = rng_below(50); i > 0; i--)
      *p++ = '0';
    for (int i = 0; i < digits; i++)
      *p++ = (char)('0' + rng_below(10));
  } else {
    for (int i = 0; i < digits; i++) {
      if (i == int_digits)
        *p++ = '.';
      *p++ = (char)('0' + (i == 0 ? 1 + rng_below(9) : rng_below(10)));
    }
  }
  if (rng_below(3) != 0) {
    *p++ = rng_below(2) ? 'e' : 'E';
    const uint32_t sign = rng_below(3);
    if (sign)
      *p++ = sign == 1 ? '-' : '+';
    p += sprintf(p, "%u", rng_below(90));
  }
  *p = '\0';
}

static void test_parse_matches_strtof(void) {
  const int n = 4000000 / SAMPLE_DIV;
  int bad = 0;
  for (int i = 0; i < n; i++) {
    char s[200];
    if (i % 2) {
      random_number_text(s);
    } else { /* near a float: %.Ne of a random float, N = 0..12 */
      float f = float_of((uint32_t)rng() & 0xFF7FFFFFu);
      if (isnan(f) || isinf(f))
        continue;
      snprintf(s, sizeof s, "%.*e", (int)rng_below(13), (double)f);
    }
    float ours;
    int ok = parse_all(s, &ours);
    float want = strtof(s, NULL);
    if ((!ok || bits_of(ours) != bits_of(want)) && bad++ < 5)
      fprintf(stderr, "  parse %s: %a, strtof %a\n", s, (double)ours, (double)want);
  }
  CHECK_INT_EQ(bad, 0);
}

/* Exact midpoints between neighbouring floats round to the even one; a hair
 * above or below goes to the nearer neighbour. */
static void check_midpoint(uint32_t lo_bits, int *bad) {
  uint64_t m;
  int e;
  float_parts(lo_bits, &m, &e);
  char mid[400], off[420];
  exact_decimal(2 * m + 1, e - 1, mid);
  const float lo = float_of(lo_bits), hi = float_of(lo_bits + 1); /* FLT_MAX + 1 ulp is Inf */
  const float even = (lo_bits & 1) ? hi : lo;
  float v;
  if (!parse_all(mid, &v) || bits_of(v) != bits_of(even) ||
      bits_of(strtof(mid, NULL)) != bits_of(even)) {
    if ((*bad)++ < 5)
      fprintf(stderr, "  midpoint %s: %a, want %a\n", mid, (double)v, (double)even);
  }
  nudge(mid, 1, off);
  if (!parse_all(off, &v) || bits_of(v) != bits_of(hi)) {
    if ((*bad)++ < 5)
      fprintf(stderr, "  above %s: %a, want %a\n", off, (double)v, (double)hi);
  }
  nudge(mid, 0, off);
  if (!parse_all(off, &v) || bits_of(v) != bits_of(lo)) {
    if ((*bad)++ < 5)
      fprintf(stderr, "  below %s: %a, want %a\n", off, (double)v, (double)lo);
  }
}

static void test_parse_halfway_cases(void) {
  int bad = 0;
  /* the edges: 0 | FLT_TRUE_MIN, largest subnormal | FLT_MIN, FLT_MAX | overflow */
  check_midpoint(0, &bad);
  check_midpoint(bits_of(FLT_MIN) - 1, &bad);
  check_midpoint(bits_of(FLT_MAX), &bad);
  check_midpoint(bits_of(1.0f), &bad);
  check_midpoint(bits_of(1.0f) - 1, &bad);
  for (int i = 0; i < 100000 / SAMPLE_DIV; i++)
    check_midpoint((uint32_t)rng() % bits_of(FLT_MAX), &bad);
  /* midpoints short enough (<= 19 digits) for the fast path: floats in
   * [2^20, 2^62] whose midpoints are integers or have few decimals */
  for (int i = 0; i < 100000 / SAMPLE_DIV; i++) {
    uint32_t ex = 127 + 20 + rng_below(43);
    check_midpoint(ex << 23 | ((uint32_t)rng() & 0x7FFFFF), &bad);
  }
  CHECK_INT_EQ(bad, 0);
}

/* ---- number arrays ---- */

static const lk_limits default_limits = {1u << 20, 8};

/* Parses text (exact-size copy); returns the status and fills t, *consumed
 * (bytes up to *stop) and bad. */
static int parse_array_text(const char *text, const lk_limits *limits, lk_tensor *t,
                            size_t *consumed, size_t *bad, char *err, size_t errlen) {
  size_t n = strlen(text);
  char *copy = exact_copy(text, n);
  const char *stop = NULL;
  int rc = lk_array_parse(copy, copy + n, limits, t, &stop, bad, err, errlen);
  *consumed = rc == 0 ? (size_t)(stop - copy) : 0;
  free(copy);
  return rc;
}

static void test_array_parse_flat(void) {
  lk_tensor t;
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
  lk_tensor_free(&t);
  CHECK(t.values == NULL && t.count == 0);

  CHECK_INT_EQ(parse_array_text("[]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.values == NULL && t.count == 0 && t.rank == 1 && t.shape[0] == 0 && used == 2);
  lk_tensor_free(&t);

  CHECK_INT_EQ(parse_array_text("[\"NaN\",\"Infinity\",\"-Infinity\",-0,1e-45]", &default_limits,
                                &t, &used, &bad, err, sizeof err),
               0);
  CHECK_INT_EQ(t.count, 5);
  CHECK(isnan(t.values[0]) && t.values[1] == INFINITY && t.values[2] == -INFINITY);
  CHECK(t.values[3] == 0.0f && signbit(t.values[3]) && t.values[4] == FLT_TRUE_MIN);
  lk_tensor_free(&t);
}

static void test_array_parse_nested(void) {
  lk_tensor t;
  size_t used, bad;
  char err[128];
  CHECK_INT_EQ(
      parse_array_text("[[1,2,3],[4,5,6]]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == 2 && t.shape[0] == 2 && t.shape[1] == 3 && t.count == 6);
  for (size_t i = 0; i < t.count; i++)
    CHECK(t.values[i] == (float)(i + 1));
  lk_tensor_free(&t);

  CHECK_INT_EQ(parse_array_text("[ [ [1,2] ,[3,4] ,[5,6]] , [[7,8],[9,10],[11,12] ] ]",
                                &default_limits, &t, &used, &bad, err, sizeof err),
               0);
  CHECK(t.rank == 3 && t.shape[0] == 2 && t.shape[1] == 3 && t.shape[2] == 2 && t.count == 12);
  CHECK(t.values[11] == 12.0f);
  lk_tensor_free(&t);

  CHECK_INT_EQ(parse_array_text("[[]]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == 2 && t.shape[0] == 1 && t.shape[1] == 0 && t.count == 0 && !t.values);
  lk_tensor_free(&t);
  CHECK_INT_EQ(parse_array_text("[[],[]]", &default_limits, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == 2 && t.shape[0] == 2 && t.shape[1] == 0 && t.count == 0);
  lk_tensor_free(&t);

  /* rank LK_CODEC_MAX_RANK is the deepest allowed, whatever max_depth says */
  char deep[64];
  lk_limits unlimited = {100, SIZE_MAX};
  memset(deep, '[', LK_CODEC_MAX_RANK);
  strcpy(deep + LK_CODEC_MAX_RANK, "7");
  memset(deep + LK_CODEC_MAX_RANK + 1, ']', LK_CODEC_MAX_RANK);
  deep[2 * LK_CODEC_MAX_RANK + 1] = '\0';
  CHECK_INT_EQ(parse_array_text(deep, &unlimited, &t, &used, &bad, err, sizeof err), 0);
  CHECK(t.rank == LK_CODEC_MAX_RANK && t.count == 1 && t.values[0] == 7.0f);
  lk_tensor_free(&t);
}

/* Expects lk_array_parse to fail on text with a message containing want
 * and the given bad_index. */
static void expect_array_error(const char *text, const lk_limits *limits, const char *want,
                               size_t want_bad) {
  lk_tensor t;
  size_t used, bad;
  char err[128] = "";
  int rc = parse_array_text(text, limits, &t, &used, &bad, err, sizeof err);
  if (rc != -1 || !strstr(err, want) || bad != want_bad || t.values || t.count) {
    fprintf(stderr, "  %.60s: rc %d, bad %zu, \"%s\" (want \"%s\", bad %zu)\n", text, rc, bad, err,
            want, want_bad);
    test_case_failed_ = 1;
  }
  lk_tensor_free(&t);
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

  const lk_limits three = {3, 2};
  lk_tensor t;
  size_t used, bad;
  char err[128];
  CHECK_INT_EQ(parse_array_text("[[1],[2],[3]]", &three, &t, &used, &bad, err, sizeof err), 0);
  lk_tensor_free(&t);
  expect_array_error("[1,2,3,4]", &three, "more than 3 elements", none);
  expect_array_error("[[[1]]]", &three, "nested deeper than 2", none);
  const lk_limits none_allowed = {0, 1};
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
  const lk_limits huge = {1u << 20, SIZE_MAX};
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
    size_t rank = 1 + rng_below(4), shape[LK_CODEC_MAX_RANK], count = 1;
    for (size_t d = 0; d < rank; d++) {
      shape[d] = rng_below(6) + (rng_below(8) == 0 ? 0 : 1);
      count *= shape[d];
    }
    float *values = malloc((count ? count : 1) * sizeof *values);
    for (size_t i = 0; i < count; i++)
      values[i] = float_of((uint32_t)rng());
    lk_buf b = {0};
    lk_array_print(&b, values, count, shape, rank);
    CHECK(!b.oom && b.len == strlen(b.data));
    char *spaced = malloc(3 * b.len + 1);
    sprinkle_whitespace(b.data, spaced);
    for (int pass = 0; pass < 2; pass++) {
      lk_tensor t;
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
      lk_tensor_free(&t);
    }
    free(spaced);
    lk_buf_free(&b);
    free(values);
  }
}

static void test_array_print_layout(void) {
  const float v[] = {1, 2, 3, 4, 0.5f, -0.0f};
  const size_t s1[] = {6}, s22[] = {2, 2}, s20[] = {2, 0}, s212[] = {2, 1, 2}, s03[] = {0, 3},
               bad_shape[] = {4, 4};
  lk_buf b = {0};
  lk_array_print(&b, v, 6, s1, 1);
  CHECK_STR_EQ(b.data, "[1,2,3,4,0.5,-0]");
  b.len = 0;
  lk_array_print(&b, v, 6, NULL, 0);
  CHECK_STR_EQ(b.data, "[1,2,3,4,0.5,-0]");
  b.len = 0;
  lk_array_print(&b, v, 4, s22, 2);
  CHECK_STR_EQ(b.data, "[[1,2],[3,4]]");
  b.len = 0;
  lk_array_print(&b, v, 4, s212, 3);
  CHECK_STR_EQ(b.data, "[[[1,2]],[[3,4]]]");
  b.len = 0;
  lk_array_print(&b, NULL, 0, s20, 2);
  CHECK_STR_EQ(b.data, "[[],[]]");
  b.len = 0;
  lk_array_print(&b, NULL, 0, s03, 2);
  CHECK_STR_EQ(b.data, "[]");
  b.len = 0;
  lk_array_print(&b, NULL, 0, s1, 0);
  CHECK_STR_EQ(b.data, "[]");
  b.len = 0;
  lk_array_print(&b, v, 3, bad_shape, 2); /* shape does not match count: flat */
  CHECK_STR_EQ(b.data, "[1,2,3]");
  b.len = 0;
  const float special[] = {NAN, INFINITY, -INFINITY};
  lk_array_print(&b, special, 3, s1, 1);
  CHECK_STR_EQ(b.data, "[\"NaN\",\"Infinity\",\"-Infinity\"]");
  lk_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

  /* long arrays cross the writer's reserve blocks; every element is the scalar text */
  const size_t n = 10000;
  float *many = malloc(n * sizeof *many);
  lk_buf want = {0};
  lk_buf_append_str(&want, "[");
  for (size_t i = 0; i < n; i++) {
    char s[LK_FLOAT_TEXT_MAX + 1];
    many[i] = float_of((uint32_t)rng());
    if (i)
      lk_buf_append(&want, ",", 1);
    lk_buf_append(&want, s, lk_float_print(many[i], s));
  }
  lk_buf_append_str(&want, "]");
  lk_array_print(&b, many, n, NULL, 1);
  CHECK_INT_EQ(b.len, want.len);
  CHECK_STR_EQ(b.data, want.data);
  lk_buf_free(&b);
  lk_buf_free(&want);
  free(many);
}

static void test_buf(void) {
  lk_buf b = {0};
  lk_buf_append(&b, "", 0);
  CHECK(b.data && b.len == 0 && b.data[0] == '\0');
  for (int i = 0; i < 1000; i++)
    lk_buf_append_str(&b, "abc");
  CHECK_INT_EQ(b.len, 3000);
  CHECK(b.data[2999] == 'c' && b.data[3000] == '\0' && b.cap > 3000);
  CHECK_INT_EQ(lk_buf_reserve(&b, 100000), 0);
  CHECK(b.cap - b.len > 100000);
  CHECK_INT_EQ(lk_buf_reserve(&b, SIZE_MAX - 10), -1);
  CHECK(b.oom);
  lk_buf_append_str(&b, "more"); /* no-op once out of memory */
  CHECK_INT_EQ(b.len, 3000);
  lk_buf_free(&b);
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
    lk_buf b = {0};
    lk_buf_append(&b, "", 0);
    lk_base64_encode(&b, (const unsigned char *)vectors[i][0], strlen(vectors[i][0]));
    CHECK_STR_EQ(b.data, vectors[i][1]);
    lk_buf_free(&b);
    unsigned char *out = NULL;
    size_t n = 99;
    char err[96];
    char *copy = exact_copy(vectors[i][1], strlen(vectors[i][1]));
    CHECK_INT_EQ(lk_base64_decode(copy, strlen(vectors[i][1]), &out, &n, err, sizeof err), 0);
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
    int rc = lk_base64_decode(copy, len, &out, &n, err, sizeof err);
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
    lk_buf b = {0};
    lk_buf_append_str(&b, "prefix:");
    lk_base64_encode(&b, bytes, n);
    CHECK_INT_EQ(b.len, 7 + strlen(want));
    CHECK_STR_EQ(b.data + 7, want);
    unsigned char *out = NULL;
    size_t out_len = 0;
    char err[96];
    char *copy = exact_copy(b.data + 7, b.len - 7);
    CHECK_INT_EQ(lk_base64_decode(copy, b.len - 7, &out, &out_len, err, sizeof err), 0);
    CHECK(out_len == n && (n == 0 || memcmp(out, bytes, n) == 0));
    free(out);
    free(copy);
    lk_buf_free(&b);
  }
}

/* ---- splice ---- */

static const char *const tensor_keys[] = {"x", "dy", "alpha"};

/* Runs the splice on an exact-size copy of body; on success *after gets
 * the rewritten body (NUL-terminated, caller frees). */
static int splice_text(const char *body, size_t max_nesting, lk_splice_table *table, char **after,
                       char *err, size_t errlen) {
  size_t n = strlen(body);
  char *copy = exact_copy(body, n);
  int rc = lk_splice_tensors(copy, n, tensor_keys, 3, NULL, 0, &default_limits, max_nesting, table,
                             err, errlen);
  *after = malloc(n + 1);
  memcpy(*after, copy, n);
  (*after)[n] = '\0';
  free(copy);
  return rc;
}

static int splice_invariant_holds(const char *before, const char *after, size_t n, size_t tensors);

static void check_tensor(const lk_splice_table *table, size_t k, size_t count, size_t rank,
                         const float *values) {
  if (k >= table->count) {
    fprintf(stderr, "  no tensor %zu (count %zu)\n", k, table->count);
    test_case_failed_ = 1;
    return;
  }
  const lk_tensor *t = &table->tensors[k];
  CHECK_INT_EQ(t->count, count);
  CHECK_INT_EQ(t->rank, rank);
  for (size_t i = 0; i < count && i < t->count; i++)
    CHECK(t->values[i] == values[i]);
}

static void test_splice_flat_body(void) {
  lk_splice_table table = {0};
  char *after, err[128];
  CHECK_INT_EQ(splice_text("{\"activation\":\"leaky_relu\",\"alpha\":0.01,\"x\":[-1,0,1]}", 64,
                           &table, &after, err, sizeof err),
               0);
  CHECK_STR_EQ(after, "{\"activation\":\"leaky_relu\",\"alpha\":0.01,\"x\":{}      }");
  CHECK_INT_EQ(table.count, 1);
  check_tensor(&table, 0, 3, 1, (const float[]){-1, 0, 1});
  lk_splice_table_free(&table);
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
  lk_splice_table_free(&table);
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
  lk_splice_table_free(&table);
  free(after);
}

static void test_splice_batch_body(void) {
  lk_splice_table table = {0};
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
  lk_splice_table_free(&table);
  free(after);
}

static void test_splice_escaped_keys(void) {
  lk_splice_table table = {0};
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
  lk_splice_table_free(&table);
  free(after);

  /* \u escapes decode to UTF-8, surrogate pairs included */
  const char *const utf8_keys[] = {"\xc3\xa9", "\xf0\x9f\x98\x80"};
  const char *body = "{\"\\u00e9\":[1],\"\\ud83d\\ude00\":[2],\"\\ud83d\":[3],\"\\ude00\":[4],"
                     "\"\\u00E9\":[5],\"\xc3\xa9\":[6],\"\\ud83d\\u0041\":[7]}";
  size_t n = strlen(body);
  char *copy = exact_copy(body, n);
  CHECK_INT_EQ(lk_splice_tensors(copy, n, utf8_keys, 2, NULL, 0, &default_limits, 64, &table, err,
                                 sizeof err),
               0);
  CHECK_INT_EQ(table.count, 4);
  check_tensor(&table, 0, 1, 1, (const float[]){1});
  check_tensor(&table, 1, 1, 1, (const float[]){2});
  check_tensor(&table, 2, 1, 1, (const float[]){5});
  check_tensor(&table, 3, 1, 1, (const float[]){6});
  lk_splice_table_free(&table);
  free(copy);
}

static void test_splice_keys_inside_strings(void) {
  lk_splice_table table = {0};
  char *after, err[128];
  const char *body = "{\"note\":\"\\\"x\\\":[1,2]\",\"s\":\"\\\\\",\"x\":[3],\"a\":\"x\","
                     "\"b\":[1],\"list\":[\"x\",[1]],\"t\":\"\\\"dy\\\" : [\",\"dy\":[4]}";
  CHECK_INT_EQ(splice_text(body, 64, &table, &after, err, sizeof err), 0);
  CHECK_STR_EQ(after, "{\"note\":\"\\\"x\\\":[1,2]\",\"s\":\"\\\\\",\"x\":{} ,\"a\":\"x\","
                      "\"b\":[1],\"list\":[\"x\",[1]],\"t\":\"\\\"dy\\\" : [\",\"dy\":{} }");
  CHECK_INT_EQ(table.count, 2);
  check_tensor(&table, 0, 1, 1, (const float[]){3});
  check_tensor(&table, 1, 1, 1, (const float[]){4});
  lk_splice_table_free(&table);
  free(after);
}

static void expect_splice_error(const char *body, size_t max_nesting, const char *want) {
  lk_splice_table table = {0};
  char *after, err[128] = "";
  int rc = splice_text(body, max_nesting, &table, &after, err, sizeof err);
  if (rc != -1 || !strstr(err, want) || table.count != 0 || table.tensors != NULL) {
    fprintf(stderr, "  splice %.60s: rc %d \"%s\" (want \"%s\")\n", body, rc, err, want);
    test_case_failed_ = 1;
  }
  lk_splice_table_free(&table);
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
  lk_splice_table table = {0};
  char err[128];
  CHECK_INT_EQ(lk_splice_tensors(copy, n, tensor_keys, 3, scalar_keys, 2, &default_limits, 64,
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
  lk_splice_table_free(&table);
  free(copy);
}

/* Well-formed JSON that is no tensor is spliced out with its own error, so
 * that only the job holding it fails. */
static void test_splice_tensor_errors_stay_per_tensor(void) {
  lk_splice_table table = {0};
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
  lk_splice_table_free(&table);
  free(after);
}

static void test_splice_errors(void) {
  /* Brackets that do not pair up are no JSON: the whole splice fails. */
  expect_splice_error("{\"x\":[1,2}", 64, "x: expected ','");
  expect_splice_error("{\"x\":[1,2", 64, "x: unterminated");
  expect_splice_error("{\"x\":[1,[2}]}", 64, "x:");

  lk_splice_table table = {0};
  char *after, err[128];
  const char *five_deep = "{\"a\":{\"b\":{\"c\":{\"d\":[1]}}}}";
  CHECK_INT_EQ(splice_text(five_deep, 5, &table, &after, err, sizeof err), 0);
  lk_splice_table_free(&table);
  free(after);
  expect_splice_error(five_deep, 4, "nested deeper than 4");
  CHECK_INT_EQ(splice_text("{\"x\":[1]}", 2, &table, &after, err, sizeof err), 0);
  lk_splice_table_free(&table);
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
  lk_splice_table table = {0};
  char err[128];
  for (size_t b = 0; b < 2; b++) {
    const size_t len = strlen(bodies[b]);
    for (size_t cut = 0; cut <= len; cut++) { /* every prefix, in an exact-size buffer */
      char *copy = exact_copy(bodies[b], cut);
      int rc = lk_splice_tensors(copy, cut, tensor_keys, 3, NULL, 0, &default_limits, 64, &table,
                                 err, sizeof err);
      CHECK(rc == 0 || rc == -1);
      if (rc == 0)
        CHECK(splice_invariant_holds(bodies[b], copy, cut, table.count));
      lk_splice_table_free(&table);
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
      int rc = lk_splice_tensors(copy, cut, tensor_keys, 3, NULL, 0, &default_limits, 64, &table,
                                 err, sizeof err);
      if (rc == 0 && !splice_invariant_holds(mutated, copy, cut, table.count)) {
        fprintf(stderr, "  splice changed more than arrays: %.*s\n", (int)len, mutated);
        test_case_failed_ = 1;
      }
      CHECK(rc == 0 || (rc == -1 && table.count == 0 && err[0]));
      lk_splice_table_free(&table);
      free(mutated);
      free(copy);
    }
  }
}

int main(void) {
  RUN_TEST(test_print_known_values);
  RUN_TEST(test_print_round_trip_random_bits);
  RUN_TEST(test_print_special_values);
  RUN_TEST(test_print_is_shortest);
  RUN_TEST(test_print_notation);
  RUN_TEST(test_parse_known_values);
  RUN_TEST(test_parse_grammar);
  RUN_TEST(test_parse_digit_runs);
  RUN_TEST(test_parse_matches_strtof);
  RUN_TEST(test_parse_halfway_cases);
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
