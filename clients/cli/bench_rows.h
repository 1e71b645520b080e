/* bench_rows.h - the result rows of `leakycl bench`: one timed candidate
 * (leakycl or a reference) at one size, its statistics, byte count, and its
 * output as a JSON line or a table row. */
#ifndef LEAKYCL_CLI_BENCH_ROWS_H
#define LEAKYCL_CLI_BENCH_ROWS_H

#include <stddef.h>
#include <stdio.h>

typedef enum bench_op { BENCH_FORWARD, BENCH_BACKWARD, BENCH_REDUCE, BENCH_COPY } bench_op;
#define BENCH_OP_COUNT 3 /* the timed ops; BENCH_COPY is the copy limit */

/* "forward", "backward", "reduce", "copy"; NULL out of range. */
const char *bench_op_name(bench_op op);
/* Parses an op name (the three timed ones); returns 0 or -1. */
int bench_op_from_name(const char *name, bench_op *out);

/* Bytes read + written by one call on n elements (transfers of host-pointer
 * calls are in the time, not in the bytes):
 *   forward: x in, y out                       8n
 *   backward: x and dy in, dx out              12n (+4: dalpha out, fused)
 *   reduce: x and dy in, dalpha out            8n + 4
 *   copy: n floats in, n floats out            8n */
double bench_bytes(bench_op op, int fused_dalpha, size_t n);

typedef struct bench_row {
  char kind[16];         /* "leakycl" or "reference" */
  char name[24];         /* leakycl, openmp, stream_copy, cl_copy, numpy, jax, pyopencl */
  char device[160];      /* the device's name */
  char device_index[24]; /* "P:D", a SPEC for --device */
  char activation[16];   /* relu ... phased_relu; "none" for copies */
  bench_op op;
  int fused_dalpha; /* backward that also computes dalpha in the same call */
  int from_mask;    /* backward from the packed mask a forward wrote (seed 004) */
  size_t n;
  char variant[128]; /* leakycl's variant description, or how the reference runs */
  int resident;      /* data stays where it is computed (transfers excluded) */
  double seconds;    /* median of the samples */
  double min_seconds, max_seconds;
  int samples;
  double bytes;
} bench_row;

/* A growable list of rows. */
typedef struct bench_rows {
  bench_row *items;
  size_t count, capacity;
} bench_rows;

/* Appends a copy of row; returns 0, or -1 when out of memory. */
int bench_rows_push(bench_rows *rows, const bench_row *row);
void bench_rows_free(bench_rows *rows);

/* GB/s of a row: bytes / median seconds / 1e9 (0 when not timed). */
double bench_row_gbps(const bench_row *row);

/* The leakycl row (resident, the same device, activation, op, fusion and n,
 * from x) that a reference row is compared with; NULL when there is none. */
const bench_row *bench_rows_leakycl_match(const bench_rows *rows, const bench_row *ref);
/* For a backward-from-mask row: the leakycl backward from x it replaces
 * (same device, activation, n and data placement); NULL when none. */
const bench_row *bench_rows_from_x_match(const bench_rows *rows, const bench_row *mask_row);

/* Median, min and max of samples[0..count) (sorted in place) into row. */
void bench_row_set_stats(bench_row *row, double *samples, int count);

/* One JSON object on one line: the README's keys {"device", "activation",
 * "op", "n", "dtype", "variant", "resident", "seconds", "gbps"} then
 * "min_seconds", "max_seconds", "bytes", "samples", "kind", "name",
 * "device_index", "fused_dalpha", "from" ("x", or "mask": backward from
 * the packed mask, whose bytes are 8n + the mask's), for references
 * "leakycl_ratio" (the matching leakycl gbps / this gbps) when a match
 * exists, and for backward from the mask "speedup_vs_x" (the backward from
 * x's seconds / this row's). Returns 0 or -1. */
int bench_row_print_json(FILE *f, const bench_row *row, const bench_rows *all);

/* 4096 -> "4Ki", 67108864 -> "64Mi"; other sizes as plain numbers. */
void bench_format_count(size_t n, char *buf, size_t buflen);

/* The human table: a header, then one line per row with median GB/s, its
 * range, milliseconds and, for references, the leakycl/reference ratio. */
void bench_table_header(FILE *f);
void bench_table_row(FILE *f, const bench_row *row, const bench_rows *all);

/* Prints the rows of one (device, n) block, sorted, as JSON lines or table
 * rows and a blank line, and moves them into all. Returns 0, or -1 when out
 * of memory or the write failed. */
int bench_rows_emit(FILE *f, bench_rows *block, bench_rows *all, int json);

#endif
