/* test_text_float.c - text/float_text.c against independent oracles: glibc
 * strtof and snprintf, exact decimal expansions of float midpoints, the JSON
 * number grammar written apart. */
#include "float_parse_impl.h"

#include <float.h>
#include <math.h>

#include "test.h"
#include "text_samples.h"

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
    char s[LKT_FLOAT_TEXT_MAX + 1];
    size_t n = lkt_float_print(cases[i].v, s);
    CHECK_STR_EQ(s, cases[i].text);
    CHECK_INT_EQ(n, strlen(cases[i].text));
  }
}

/* Checks one float: JSON-valid, short enough, reads back exactly through
 * strtof and through lkt_float_parse. Returns 0 on a mismatch. */
static int print_reads_back(float v) {
  char s[64];
  memset(s, 'x', sizeof s);
  size_t n = lkt_float_print(v, s);
  int ok = n <= LKT_FLOAT_TEXT_MAX && s[n] == '\0' && json_number_ok(s);
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
    char want[64], text[64], s[LKT_FLOAT_TEXT_MAX + 1];
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
    lkt_float_print(strtof(text, NULL), s);
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
    char s[LKT_FLOAT_TEXT_MAX + 1];
    lkt_float_print(v, s);
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
    char s[LKT_FLOAT_TEXT_MAX + 1];
    lkt_float_print(v, s);
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
  CHECK(lkt_float_parse(text, text + 7, &v) == text + 6 && v == -25.0f);
  text = "\"NaN\"]";
  CHECK(lkt_float_parse(text, text + 6, &v) == text + 5 && isnan(v));
  text = "7";
  CHECK(lkt_float_parse(text, text, &v) == NULL);
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
    if (lkt_float_parse(copy, copy + n, &v) != NULL) {
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
  return TEST_SUMMARY();
}
