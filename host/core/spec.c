/* spec.c - device SPEC parsing and matching, pure functions over device
 * descriptions (no OpenCL calls), so they are tested without a device. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

/* Parses a decimal unsigned of at most 9 digits filling [s, end). */
static bool parse_index(const char *s, const char *end, unsigned *out) {
  if (s == end || end - s > 9)
    return false;
  unsigned v = 0;
  for (const char *p = s; p < end; p++) {
    if (!isdigit((unsigned char)*p))
      return false;
    v = v * 10 + (unsigned)(*p - '0');
  }
  *out = v;
  return true;
}

static const struct {
  const char *name;
  leakycl_device_type type;
} type_names[] = {
    {"cpu", LEAKYCL_DEVICE_CPU},
    {"gpu", LEAKYCL_DEVICE_GPU},
    {"accelerator", LEAKYCL_DEVICE_ACCELERATOR},
};

leakycl_status lk_spec_parse(const char *spec, lk_spec *out, char *err, size_t errlen) {
  if (!out)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "out is NULL");
  if (!spec || !*spec)
    spec = "auto";
  memset(out, 0, sizeof *out);
  const size_t len = strlen(spec);
  if (len >= sizeof out->text)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "device spec is %zu characters long (at most %zu)", len,
                       sizeof out->text - 1);
  memcpy(out->text, spec, len + 1);
  if (strcasecmp(spec, "auto") == 0) {
    out->kind = LK_SPEC_AUTO;
    return LEAKYCL_OK;
  }
  const char *colon = strchr(spec, ':');
  const size_t head_len = colon ? (size_t)(colon - spec) : len;
  for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
    if (strlen(type_names[i].name) == head_len &&
        strncasecmp(spec, type_names[i].name, head_len) == 0) {
      out->kind = LK_SPEC_TYPE;
      out->type = type_names[i].type;
      if (colon && !parse_index(colon + 1, spec + len, &out->ordinal))
        return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                           "device spec \"%s\": \"%s\" is not a device ordinal", spec, colon + 1);
      return LEAKYCL_OK;
    }
  }
  if (colon && parse_index(spec, colon, &out->platform) &&
      parse_index(colon + 1, spec + len, &out->device)) {
    out->kind = LK_SPEC_INDEX;
    return LEAKYCL_OK;
  }
  out->kind = LK_SPEC_SUBSTRING;
  return LEAKYCL_OK;
}

/* Case-insensitive substring search. */
static bool contains_ci(const char *haystack, const char *needle) {
  const size_t n = strlen(needle);
  for (const char *h = haystack; *h; h++) {
    if (strncasecmp(h, needle, n) == 0)
      return true;
  }
  return n == 0;
}

/* "0:0 cpu 'pthread-...' (Portable Computing Language); ..." */
static void describe_devices(const leakycl_device_info *devices, size_t count, char *buf,
                             size_t buflen) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < count && used + 1 < buflen; i++) {
    int w = snprintf(buf + used, buflen - used, "%s%u:%u %s '%s' (%s)", i ? "; " : "",
                     devices[i].platform_index, devices[i].device_index,
                     leakycl_device_type_name(devices[i].type), devices[i].name,
                     devices[i].platform_name);
    if (w < 0)
      break;
    used += (size_t)w;
  }
  if (count == 0)
    snprintf(buf, buflen, "none (is an OpenCL ICD such as pocl-opencl-icd installed?)");
}

leakycl_status lk_spec_match(const lk_spec *spec, const leakycl_device_info *devices, size_t count,
                             size_t *index, char *err, size_t errlen) {
  if (!spec || !index || (count > 0 && !devices))
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "NULL argument");
  switch (spec->kind) {
  case LK_SPEC_AUTO: {
    static const leakycl_device_type order[] = {LEAKYCL_DEVICE_GPU, LEAKYCL_DEVICE_ACCELERATOR,
                                                LEAKYCL_DEVICE_CPU, LEAKYCL_DEVICE_OTHER};
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
      for (size_t i = 0; i < count; i++) {
        if (devices[i].type == order[o]) {
          *index = i;
          return LEAKYCL_OK;
        }
      }
    }
    break;
  }
  case LK_SPEC_TYPE: {
    unsigned seen = 0;
    for (size_t i = 0; i < count; i++) {
      if (devices[i].type == spec->type && seen++ == spec->ordinal) {
        *index = i;
        return LEAKYCL_OK;
      }
    }
    break;
  }
  case LK_SPEC_INDEX:
    for (size_t i = 0; i < count; i++) {
      if (devices[i].platform_index == spec->platform && devices[i].device_index == spec->device) {
        *index = i;
        return LEAKYCL_OK;
      }
    }
    break;
  case LK_SPEC_SUBSTRING:
    for (size_t i = 0; i < count; i++) {
      if (contains_ci(devices[i].name, spec->text) ||
          contains_ci(devices[i].platform_name, spec->text)) {
        *index = i;
        return LEAKYCL_OK;
      }
    }
    break;
  }
  char seen[1024];
  describe_devices(devices, count, seen, sizeof seen);
  return lk_fail_buf(err, errlen, LEAKYCL_NO_DEVICE, "no OpenCL device matches \"%s\"; seen: %s",
                     spec->text, seen);
}

leakycl_status leakycl_device_match(const char *spec, const leakycl_device_info *devices,
                                    size_t count, size_t *index, char *err, size_t errlen) {
  lk_spec parsed;
  leakycl_status st = lk_spec_parse(spec, &parsed, err, errlen);
  return st == LEAKYCL_OK ? lk_spec_match(&parsed, devices, count, index, err, errlen) : st;
}
