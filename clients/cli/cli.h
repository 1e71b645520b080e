/* cli.h - what the leakycl command-line tool's modules share: exit codes,
 * the subcommands, usage texts and small argument-parsing helpers. */
#ifndef LEAKYCL_CLI_H
#define LEAKYCL_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "leakycl.h"

/* DESIGN.md's exit statuses. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1, /* a device or runtime failure */
  CLI_EXIT_USAGE = 2    /* bad usage or bad input */
};

/* The subcommands: argv[0] is the subcommand's name; each returns an exit
 * status and prints its own one-line error on stderr. */
int cmd_devices(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv); /* cmd_bench.c */
int cmd_tune(int argc, char **argv);
int cmd_compile(int argc, char **argv); /* cmd_compile.c */
int cmd_check(int argc, char **argv);   /* cmd_check.c */

/* Usage texts (main.c). */
void cli_usage(FILE *f);
void cli_usage_devices(FILE *f);
void cli_usage_run(FILE *f);
void cli_usage_bench(FILE *f); /* cmd_bench.c */
void cli_usage_tune(FILE *f);
void cli_usage_compile(FILE *f);
void cli_usage_check(FILE *f);

/* Prints "leakycl: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for a library failure: bad input (INVALID_ARGUMENT,
 * UNSUPPORTED) is 2, everything else (device, OpenCL, memory) is 1. */
int cli_exit_for_status(leakycl_status status);

/* Matches argv[*i] against option `name` ("--x"), written either as
 * "--x VALUE" (consuming the next argument) or "--x=VALUE". Returns 1 with
 * *value set on a match, 0 when argv[*i] is another option, and -1 (after
 * printing the error) when the value is missing. */
int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses a whole string as a finite float32 (no NaN, no Inf, no overflow);
 * returns 0, or -1 (nothing printed). */
int cli_parse_float(const char *s, float *out);

/* Parses a whole string as a decimal long; returns 0, or -1. */
int cli_parse_long(const char *s, long *out);

/* Formats a shape as "(2, 3)" into buf. */
void cli_format_shape(const size_t *shape, size_t rank, char *buf, size_t buflen);

#endif
