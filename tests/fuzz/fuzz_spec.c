/* fuzz_spec.c - fuzz target for device SPEC parsing and matching: the
 * library's pure lk_spec_parse / lk_spec_match and public
 * leakycl_device_match, and the daemon's lkd_device_match, over fixed fake
 * device lists (no OpenCL). Invariants: never a crash or a write past the
 * error buffer; the parse and the match agree with a SPEC grammar and a
 * first-match rule written here from the README; an index is < the count;
 * NO_DEVICE names the SPEC; the three entry points agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "devices.h"
#include "fuzz.h"

#include "../unit/fake_device.h"

const char lk_fuzz_target[] = "spec";

#define FAKE_COUNT 5

/* ASCII-only lower case, as the C locale's strncasecmp. */
static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int contains_ci(const char *hay, const char *needle) {
  const size_t n = strlen(needle);
  for (const char *h = hay;; h++) {
    size_t k = 0;
    while (k < n && h[k] && lower((unsigned char)h[k]) == lower((unsigned char)needle[k]))
      k++;
    if (k == n)
      return 1;
    if (!*h)
      return 0;
  }
}

static int eq_ci(const char *a, size_t alen, const char *b) {
  if (alen != strlen(b))
    return 0;
  for (size_t i = 0; i < alen; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}

/* 1..9 decimal digits filling [s, s + n). */
static int parse_digits(const char *s, size_t n, unsigned *out) {
  if (n == 0 || n > 9)
    return 0;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return 1;
}

/* The SPEC grammar of the README: "auto"; "cpu", "gpu", "accelerator" with
 * an optional ":N"; "P:D"; anything else a name substring. Returns 0 for a
 * bad ordinal ("gpu:x"), else 1 with *kind set. */
static int expected_kind(const char *spec, lk_spec_kind *kind, leakycl_device_type *type,
                         unsigned *a, unsigned *b) {
  static const struct {
    const char *name;
    leakycl_device_type type;
  } types[] = {{"cpu", LEAKYCL_DEVICE_CPU},
               {"gpu", LEAKYCL_DEVICE_GPU},
               {"accelerator", LEAKYCL_DEVICE_ACCELERATOR}};
  const size_t len = strlen(spec);
  if (len == 0 || eq_ci(spec, len, "auto")) {
    *kind = LK_SPEC_AUTO;
    return 1;
  }
  const char *colon = strchr(spec, ':');
  const size_t head = colon ? (size_t)(colon - spec) : len;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    if (eq_ci(spec, head, types[i].name)) {
      *kind = LK_SPEC_TYPE;
      *type = types[i].type;
      *a = 0;
      return !colon || parse_digits(colon + 1, len - head - 1, a);
    }
  }
  if (colon && parse_digits(spec, head, a) && parse_digits(colon + 1, len - head - 1, b)) {
    *kind = LK_SPEC_INDEX;
    return 1;
  }
  *kind = LK_SPEC_SUBSTRING;
  return 1;
}

/* The first device the parsed SPEC names, or -1 (the README: auto prefers a
 * GPU, then an accelerator, then a CPU). */
static long expected_index(const lk_spec *sp, const leakycl_device_info *devs, size_t count) {
  static const leakycl_device_type order[] = {LEAKYCL_DEVICE_GPU, LEAKYCL_DEVICE_ACCELERATOR,
                                              LEAKYCL_DEVICE_CPU, LEAKYCL_DEVICE_OTHER};
  unsigned seen = 0;
  switch (sp->kind) {
  case LK_SPEC_AUTO:
    for (size_t o = 0; o < 4; o++)
      for (size_t i = 0; i < count; i++)
        if (devs[i].type == order[o])
          return (long)i;
    return -1;
  case LK_SPEC_TYPE:
    for (size_t i = 0; i < count; i++)
      if (devs[i].type == sp->type && seen++ == sp->ordinal)
        return (long)i;
    return -1;
  case LK_SPEC_INDEX:
    for (size_t i = 0; i < count; i++)
      if (devs[i].platform_index == sp->platform && devs[i].device_index == sp->device)
        return (long)i;
    return -1;
  case LK_SPEC_SUBSTRING:
    for (size_t i = 0; i < count; i++)
      if (contains_ci(devs[i].name, sp->text) || contains_ci(devs[i].platform_name, sp->text))
        return (long)i;
    return -1;
  }
  return -1;
}

static int printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
      return 0;
  return 1;
}

#define ERR_CAP 1100
#define CANARY 0x5a

/* The error buffer holds nothing past errlen, and a NUL within it when
 * something was written. */
static void check_err_buffer(const char *err, size_t errlen, int written, const char *what) {
  for (size_t i = errlen; i < ERR_CAP; i++)
    FUZZ_CHECK((unsigned char)err[i] == CANARY, "%s wrote err[%zu] with errlen %zu", what, i,
               errlen);
  if (written && errlen > 0)
    FUZZ_CHECK(memchr(err, '\0', errlen) != NULL, "%s left err unterminated (errlen %zu)", what,
               errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Byte 0 picks the device list and the error buffer's size; the rest is
   * the SPEC (up to a NUL, as a C string reads it). */
  static const size_t errlens[8] = {0, 1, 2, 16, 64, 256, 1024, 1024};
  leakycl_device_info all[FAKE_COUNT] = {
      fake_device(0, 0, LEAKYCL_DEVICE_CPU, "pthread-AMD EPYC 9654 96-Core Processor",
                  "Portable Computing Language"),
      fake_device(1, 0, LEAKYCL_DEVICE_GPU, "NVIDIA H100 80GB HBM3", "NVIDIA CUDA"),
      fake_device(1, 1, LEAKYCL_DEVICE_GPU, "NVIDIA A100-SXM4-40GB", "NVIDIA CUDA"),
      fake_device(2, 0, LEAKYCL_DEVICE_ACCELERATOR, "Intel(R) FPGA Emulation Device",
                  "Intel(R) FPGA Emulation Platform for OpenCL(TM)"),
      fake_device(3, 0, LEAKYCL_DEVICE_OTHER, "custom:0 device", "Vendor X:1"),
  };
  const unsigned sel = size > 0 ? data[0] : 0;
  size_t count = sel & 7;
  if (count > FAKE_COUNT)
    count = FAKE_COUNT;
  leakycl_device_info devs[FAKE_COUNT];
  for (size_t i = 0; i < count; i++) /* bit 3: reversed (a CPU last, then first) */
    devs[i] = (sel & 8) ? all[FAKE_COUNT - count + (count - 1 - i)] : all[i];
  const size_t errlen = errlens[(sel >> 4) & 7];
  const int null_spec = (sel & 0x80) && size <= 1;

  const size_t n = size > 0 ? size - 1 : 0;
  char *spec = malloc(n + 1);
  if (!spec)
    return 0;
  if (n)
    memcpy(spec, data + 1, n);
  spec[n] = '\0';
  const char *arg = null_spec ? NULL : spec;
  const size_t len = strlen(spec);

  char err[ERR_CAP];
  memset(err, CANARY, sizeof err);
  lk_spec parsed;
  leakycl_status st = lk_spec_parse(arg, &parsed, err, errlen);
  check_err_buffer(err, errlen, st != LEAKYCL_OK, "lk_spec_parse");
  lk_spec_kind kind;
  leakycl_device_type type = LEAKYCL_DEVICE_OTHER;
  unsigned a = 0, b = 0;
  const int grammar_ok = expected_kind(spec, &kind, &type, &a, &b);
  if (len >= sizeof parsed.text) {
    FUZZ_CHECK(st == LEAKYCL_INVALID_ARGUMENT, "a %zu-character SPEC parsed with status %s", len,
               leakycl_status_name(st));
  } else if (!grammar_ok) {
    FUZZ_CHECK(st == LEAKYCL_INVALID_ARGUMENT, "SPEC \"%s\" (bad ordinal) parsed with status %s",
               spec, leakycl_status_name(st));
  } else {
    FUZZ_CHECK(st == LEAKYCL_OK, "SPEC \"%s\" rejected: %s", spec, leakycl_status_name(st));
    FUZZ_CHECK(parsed.kind == kind, "SPEC \"%s\": kind %d, want %d", spec, (int)parsed.kind,
               (int)kind);
    FUZZ_CHECK(strcmp(parsed.text, len ? spec : "auto") == 0, "SPEC \"%s\" kept as \"%s\"", spec,
               parsed.text);
    if (kind == LK_SPEC_TYPE)
      FUZZ_CHECK(parsed.type == type && parsed.ordinal == a, "SPEC \"%s\": type %d:%u, want %d:%u",
                 spec, (int)parsed.type, parsed.ordinal, (int)type, a);
    if (kind == LK_SPEC_INDEX)
      FUZZ_CHECK(parsed.platform == a && parsed.device == b, "SPEC \"%s\": %u:%u, want %u:%u", spec,
                 parsed.platform, parsed.device, a, b);
  }

  long want = -1;
  if (st == LEAKYCL_OK) {
    memset(err, CANARY, sizeof err);
    size_t idx = (size_t)-1;
    leakycl_status ms = lk_spec_match(&parsed, devs, count, &idx, err, errlen);
    check_err_buffer(err, errlen, ms != LEAKYCL_OK, "lk_spec_match");
    want = expected_index(&parsed, devs, count);
    if (want >= 0) {
      FUZZ_CHECK(ms == LEAKYCL_OK && idx == (size_t)want,
                 "SPEC \"%s\" over %zu devices: %s index %zu, want %ld", spec, count,
                 leakycl_status_name(ms), idx, want);
    } else {
      FUZZ_CHECK(ms == LEAKYCL_NO_DEVICE, "SPEC \"%s\" over %zu devices: %s, want NO_DEVICE", spec,
                 count, leakycl_status_name(ms));
      if (errlen >= 1024 && printable(parsed.text))
        FUZZ_CHECK(strstr(err, parsed.text) != NULL,
                   "NO_DEVICE message \"%s\" does not name \"%s\"", err, parsed.text);
    }
  }

  /* The public one-call form agrees with parse + match. */
  char err2[ERR_CAP];
  size_t idx2 = (size_t)-1;
  leakycl_status st2 = leakycl_device_match(arg, devs, count, &idx2, err2, sizeof err2);
  if (st != LEAKYCL_OK)
    FUZZ_CHECK(st2 == st, "leakycl_device_match(\"%s\") %s, parse said %s", spec,
               leakycl_status_name(st2), leakycl_status_name(st));
  else if (want >= 0)
    FUZZ_CHECK(st2 == LEAKYCL_OK && idx2 == (size_t)want,
               "leakycl_device_match(\"%s\") %s index %zu, want %ld", spec,
               leakycl_status_name(st2), idx2, want);
  else
    FUZZ_CHECK(st2 == LEAKYCL_NO_DEVICE, "leakycl_device_match(\"%s\") %s, want NO_DEVICE", spec,
               leakycl_status_name(st2));

  /* The daemon's form: "" / "default" is the first device, a bare number
   * its own index, anything else the library's rule. */
  long d = lkd_device_match(devs, count, arg);
  unsigned number = 0;
  long daemon_want;
  if (count == 0)
    daemon_want = -1;
  else if (!arg || len == 0 || strcmp(spec, "default") == 0)
    daemon_want = 0;
  else if (parse_digits(spec, len, &number))
    daemon_want = number < count ? (long)number : -1;
  else
    daemon_want = st2 == LEAKYCL_OK ? (long)idx2 : -1;
  FUZZ_CHECK(d == daemon_want, "lkd_device_match(\"%s\") over %zu devices: %ld, want %ld", spec,
             count, d, daemon_want);
  free(spec);
  return 0;
}
