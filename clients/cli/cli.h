/* cli.h - what the leakycl command-line tool's modules share: exit codes,
 * error printing and small value-parsing helpers. */
#ifndef LEAKYCL_CLI_H
#define LEAKYCL_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "leakycl.h"

/* the README's exit statuses. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1, /* a device or runtime failure */
  CLI_EXIT_USAGE = 2    /* bad usage or bad input */
};

/* Prints "leakycl: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for a library failure: bad input (INVALID_ARGUMENT,
 * UNSUPPORTED) is 2, everything else (device, OpenCL, memory) is 1. */
int cli_exit_for_status(leakycl_status status);

/* Parses a whole string as a finite float32 (no NaN, no Inf, no overflow);
 * returns 0, or -1 (nothing printed). */
int cli_parse_float(const char *s, float *out);

/* Parses a whole string as a decimal long; returns 0, or -1. */
int cli_parse_long(const char *s, long *out);

/* Formats a shape as "(2, 3)" into buf. */
void cli_format_shape(const size_t *shape, size_t rank, char *buf, size_t buflen);

/* A device SPEC "P:D" (platform and device index) with its NUL. */
#define CLI_SPEC_LEN 24
#define CLI_MAX_DEVICES 64

/* The SPECs of every OpenCL device found, up to cap (at most
 * CLI_MAX_DEVICES), into specs; *count says how many. Returns an exit
 * status, the error printed: "<who>: <why>" when the devices cannot be
 * listed; "<none>: no OpenCL device found" when there is none, unless none
 * is NULL (then no device is no error). */
int cli_every_device(const char *who, const char *none, char (*specs)[CLI_SPEC_LEN], size_t cap,
                     size_t *count);

/* Seconds on the monotonic clock, for durations. */
double cli_now_seconds(void);

#endif
