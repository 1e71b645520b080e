/* cli_util.c - small helpers of the command-line tool: error printing,
 * status to exit code, strict number parsing, shapes and the clock. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("leakycl: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_exit_for_status(leakycl_status status) {
  switch (status) {
  case LEAKYCL_OK:
    return CLI_EXIT_OK;
  case LEAKYCL_INVALID_ARGUMENT:
  case LEAKYCL_UNSUPPORTED:
    return CLI_EXIT_USAGE;
  default:
    return CLI_EXIT_FAILURE;
  }
}

/* Whether a strto*() call consumed all of a non-empty string. */
static int parsed_whole(const char *s, const char *end) { return end != s && *end == '\0'; }

int cli_parse_float(const char *s, float *out) {
  char *end = NULL;
  const double v = s ? strtod(s, &end) : NAN;
  /* Values that round to FLT_MAX are fine; from FLT_MAX + half an ulp
   * (2^103) on, float32 would be infinite. */
  if (!s || !parsed_whole(s, end) || !isfinite(v) || fabs(v) >= (double)FLT_MAX + ldexp(1.0, 103))
    return -1;
  *out = (float)v;
  return 0;
}

int cli_parse_long(const char *s, long *out) {
  if (!s)
    return -1;
  char *end = NULL;
  errno = 0;
  const long v = strtol(s, &end, 10);
  if (!parsed_whole(s, end) || errno == ERANGE)
    return -1;
  *out = v;
  return 0;
}

void cli_format_shape(const size_t *shape, size_t rank, char *buf, size_t buflen) {
  size_t pos = 0;
  if (buflen == 0)
    return;
  buf[0] = '\0';
  int w = snprintf(buf, buflen, "(");
  for (size_t d = 0; w >= 0 && (size_t)w < buflen - pos && d < rank; d++) {
    pos += (size_t)w;
    w = snprintf(buf + pos, buflen - pos, "%s%zu%s", d ? ", " : "", shape[d], rank == 1 ? "," : "");
  }
  if (w >= 0 && (size_t)w < buflen - pos) {
    pos += (size_t)w;
    snprintf(buf + pos, buflen - pos, ")");
  }
}

int cli_every_device(const char *who, const char *none, char (*specs)[CLI_SPEC_LEN], size_t cap,
                     size_t *count) {
  leakycl_device_info infos[CLI_MAX_DEVICES];
  char err[1024];
  size_t seen = 0;
  *count = 0;
  cap = cap < CLI_MAX_DEVICES ? cap : CLI_MAX_DEVICES;
  const leakycl_status st = leakycl_list_devices(infos, cap, &seen, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("%s: %s", who, err);
    return cli_exit_for_status(st);
  }
  if (seen == 0 && none) {
    cli_error("%s: no OpenCL device found", none);
    return CLI_EXIT_FAILURE;
  }
  for (size_t i = 0; i < seen && i < cap; i++)
    snprintf(specs[(*count)++], CLI_SPEC_LEN, "%u:%u", infos[i].platform_index,
             infos[i].device_index);
  return CLI_EXIT_OK;
}

double cli_now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
