/* cli_util.c - small helpers of the command-line tool: error printing,
 * status to exit code, option matching and strict number parsing. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  const size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0')
    return 0;
  if (*i + 1 >= argc) {
    cli_error("%s needs a value", name);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

int cli_parse_float(const char *s, float *out) {
  if (!s || !*s)
    return -1;
  char *end = NULL;
  errno = 0;
  const double v = strtod(s, &end);
  /* Values that round to FLT_MAX are fine; from FLT_MAX + half an ulp
   * (2^103) on, float32 would be infinite. */
  if (end == s || *end != '\0' || !isfinite(v) || fabs(v) >= (double)FLT_MAX + ldexp(1.0, 103))
    return -1;
  *out = (float)v;
  return 0;
}

int cli_parse_long(const char *s, long *out) {
  if (!s || !*s)
    return -1;
  char *end = NULL;
  errno = 0;
  const long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno == ERANGE)
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
