/* bench_options.h - the command line of `leakycl bench`, checked. */
#ifndef LEAKYCL_CLI_BENCH_OPTIONS_H
#define LEAKYCL_CLI_BENCH_OPTIONS_H

#include <stddef.h>

#include "bench_rows.h"
#include "leakycl.h"

#define BENCH_MAX_REPEAT 1000

typedef struct bench_options {
  const char *device; /* NULL: $LEAKYCL_DEVICE, else auto; "all"; SPEC,SPEC,... */
  int activation[LEAKYCL_ACTIVATION_COUNT]; /* which to time */
  int op[BENCH_OP_COUNT];
  size_t n_min, n_max; /* sizes: n_min, 4 n_min, ... up to n_max */
  int repeat;
  int json;
  const char *svg;     /* the chart's path, or NULL */
  const char *variant; /* NULL: the context's own */
  int verify;
  int no_references;      /* time leakycl only */
  int compare;            /* one table, a column per device (bench_compare.c) */
  int have_n, have_range; /* --n, --n-min / --n-max given (they exclude each other) */
} bench_options;

/* Reads and checks argv into *o (defaults where not given). Returns 1 when
 * the bench goes on, else 0 with *exit_status: 0 after --help (`usage`
 * printed on stdout), 2 after a usage error (printed). */
int bench_parse_options(int argc, char **argv, const char *usage, bench_options *o,
                        int *exit_status);

#endif
