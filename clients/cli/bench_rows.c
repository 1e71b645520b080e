/* bench_rows.c - result rows of `leakycl bench`: statistics, byte counts,
 * JSON lines and the human table, printed a block at a time in one order. */
#include "bench_rows.h"

#include <stdlib.h>
#include <string.h>

#include "bench_measure.h"
#include "jsonw.h"
#include "leakycl.h"

static const char *const op_names[] = {"forward", "backward", "reduce", "copy"};

const char *bench_op_name(bench_op op) {
  return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : NULL;
}

int bench_op_from_name(const char *name, bench_op *out) {
  for (int op = 0; op < BENCH_OP_COUNT; op++) {
    if (strcmp(name, op_names[op]) == 0) {
      *out = (bench_op)op;
      return 0;
    }
  }
  return -1;
}

double bench_bytes(bench_op op, int fused_dalpha, size_t n) {
  const double f = 4.0 * (double)n; /* one float32 array */
  switch (op) {
  case BENCH_FORWARD:
  case BENCH_COPY:
    return 2 * f;
  case BENCH_BACKWARD:
    return 3 * f + (fused_dalpha ? 4 : 0);
  case BENCH_REDUCE:
    return 2 * f + 4;
  }
  return 0;
}

int bench_rows_push(bench_rows *rows, const bench_row *row) {
  if (rows->count == rows->capacity) {
    const size_t cap = rows->capacity ? 2 * rows->capacity : 64;
    bench_row *items = realloc(rows->items, cap * sizeof *items);
    if (!items)
      return -1;
    rows->items = items;
    rows->capacity = cap;
  }
  rows->items[rows->count++] = *row;
  return 0;
}

void bench_rows_free(bench_rows *rows) {
  free(rows->items);
  memset(rows, 0, sizeof *rows);
}

double bench_row_gbps(const bench_row *row) {
  return row->seconds > 0 ? row->bytes / row->seconds / 1e9 : 0;
}

const bench_row *bench_rows_leakycl_match(const bench_rows *rows, const bench_row *ref) {
  for (size_t i = 0; i < rows->count; i++) {
    const bench_row *r = &rows->items[i];
    if (strcmp(r->kind, "leakycl") == 0 && r->resident && r->op == ref->op &&
        r->fused_dalpha == ref->fused_dalpha && !r->from_mask && r->n == ref->n &&
        strcmp(r->device_index, ref->device_index) == 0 &&
        strcmp(r->activation, ref->activation) == 0 && r->seconds > 0)
      return r;
  }
  return NULL;
}

const bench_row *bench_rows_from_x_match(const bench_rows *rows, const bench_row *mask_row) {
  for (size_t i = 0; i < rows->count; i++) {
    const bench_row *r = &rows->items[i];
    if (strcmp(r->kind, "leakycl") == 0 && r->op == BENCH_BACKWARD && !r->fused_dalpha &&
        !r->from_mask && r->resident == mask_row->resident && r->n == mask_row->n &&
        strcmp(r->device_index, mask_row->device_index) == 0 &&
        strcmp(r->activation, mask_row->activation) == 0 && r->seconds > 0)
      return r;
  }
  return NULL;
}

void bench_row_set_stats(bench_row *row, double *samples, int count) {
  bench_stats st;
  bench_stats_of(samples, count, &st);
  row->samples = count;
  row->seconds = st.median;
  row->min_seconds = st.min;
  row->max_seconds = st.max;
}

int bench_row_print_json(FILE *f, const bench_row *row, const bench_rows *all) {
  int rc = 0;
  rc |= fputs("{\"device\":", f) < 0;
  rc |= jsonw_string(f, row->device);
  rc |= fputs(",\"activation\":", f) < 0;
  rc |= jsonw_string(f, row->activation);
  rc |= fprintf(f, ",\"op\":\"%s\",\"n\":%zu,\"dtype\":\"float32\",\"variant\":",
                bench_op_name(row->op), row->n) < 0;
  rc |= jsonw_string(f, row->variant);
  /* %.9g keeps nine significant digits: the ratio tests recompute gbps. */
  rc |= fprintf(f,
                ",\"resident\":%s,\"seconds\":%.9g,\"gbps\":%.9g,\"min_seconds\":%.9g,"
                "\"max_seconds\":%.9g,\"bytes\":%.0f,\"samples\":%d,\"kind\":\"%s\",\"name\":",
                row->resident ? "true" : "false", row->seconds, bench_row_gbps(row),
                row->min_seconds, row->max_seconds, row->bytes, row->samples, row->kind) < 0;
  rc |= jsonw_string(f, row->name);
  rc |= fputs(",\"device_index\":", f) < 0;
  rc |= jsonw_string(f, row->device_index);
  rc |= fprintf(f, ",\"fused_dalpha\":%s,\"from\":\"%s\"", row->fused_dalpha ? "true" : "false",
                row->from_mask ? "mask" : "x") < 0;
  const bench_row *from_x = row->from_mask ? bench_rows_from_x_match(all, row) : NULL;
  if (from_x && row->seconds > 0)
    rc |= fprintf(f, ",\"speedup_vs_x\":%.6g", from_x->seconds / row->seconds) < 0;
  const bench_row *lk =
      strcmp(row->kind, "reference") == 0 ? bench_rows_leakycl_match(all, row) : NULL;
  if (lk && row->seconds > 0)
    rc |= fprintf(f, ",\"leakycl_ratio\":%.6g", bench_row_gbps(lk) / bench_row_gbps(row)) < 0;
  rc |= fputs("}\n", f) < 0;
  return rc ? -1 : 0;
}

void bench_table_header(FILE *f) {
  fprintf(f, "%-13s %-11s %9s  %-11s %-8s %8s  %-15s %10s  %s\n", "OP", "ACTIVATION", "N", "IMPL",
          "DATA", "GB/S", "RANGE", "MS", "LEAKYCL/REF");
}

void bench_format_count(size_t n, char *buf, size_t buflen) {
  static const char *const units[] = {"", "Ki", "Mi", "Gi"};
  size_t u = 0;
  while (u + 1 < sizeof units / sizeof units[0] && n >= 1024 && n % 1024 == 0) {
    n /= 1024;
    u++;
  }
  snprintf(buf, buflen, "%zu%s", n, units[u]);
}

void bench_table_row(FILE *f, const bench_row *row, const bench_rows *all) {
  char count[32], op[24], range[40], ratio[32] = "";
  bench_format_count(row->n, count, sizeof count);
  snprintf(op, sizeof op, "%s%s", bench_op_name(row->op),
           row->fused_dalpha ? "+da"
           : row->from_mask  ? "-mask"
                             : "");
  const double lo = row->max_seconds > 0 ? row->bytes / row->max_seconds / 1e9 : 0;
  const double hi = row->min_seconds > 0 ? row->bytes / row->min_seconds / 1e9 : 0;
  snprintf(range, sizeof range, "%.2f-%.2f", lo, hi);
  const bench_row *lk =
      strcmp(row->kind, "reference") == 0 ? bench_rows_leakycl_match(all, row) : NULL;
  if (lk && row->seconds > 0)
    snprintf(ratio, sizeof ratio, "%.2fx", bench_row_gbps(lk) / bench_row_gbps(row));
  /* Backward from the mask: its speed-up over backward from x, in time. */
  const bench_row *from_x = row->from_mask ? bench_rows_from_x_match(all, row) : NULL;
  if (from_x && row->seconds > 0)
    snprintf(ratio, sizeof ratio, "%.2fx faster than from x", from_x->seconds / row->seconds);
  fprintf(f, "%-13s %-11s %9s  %-11s %-8s %8.2f  %-15s %10.4f  %s\n", op, row->activation, count,
          row->name, row->resident ? "resident" : "host", bench_row_gbps(row), range,
          1e3 * row->seconds, ratio);
}

/* Sorted: by op, fusion, activation, then leakycl before the references
 * (in a fixed order), resident before host pointers. */
static int row_order(const void *pa, const void *pb) {
  static const char *const names[] = {"leakycl",  "openmp",      "numpy",  "jax",
                                      "pyopencl", "stream_copy", "cl_copy"};
  const bench_row *a = pa, *b = pb;
  if (a->op != b->op)
    return (int)a->op - (int)b->op;
  if (a->fused_dalpha != b->fused_dalpha)
    return a->fused_dalpha - b->fused_dalpha;
  if (a->from_mask != b->from_mask)
    return a->from_mask - b->from_mask;
  leakycl_activation x = LEAKYCL_ACTIVATION_COUNT, y = LEAKYCL_ACTIVATION_COUNT;
  leakycl_activation_from_name(a->activation, &x);
  leakycl_activation_from_name(b->activation, &y);
  if (x != y)
    return (int)x - (int)y;
  int ra = 99, rb = 99;
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
    ra = strcmp(a->name, names[i]) == 0 ? i : ra;
    rb = strcmp(b->name, names[i]) == 0 ? i : rb;
  }
  if (ra != rb)
    return ra - rb;
  return b->resident - a->resident;
}

int bench_rows_emit(FILE *f, bench_rows *block, bench_rows *all, int json) {
  qsort(block->items, block->count, sizeof *block->items, row_order);
  for (size_t i = 0; i < block->count; i++)
    if (bench_rows_push(all, &block->items[i]) != 0)
      return -1;
  for (size_t i = 0; i < block->count; i++) {
    if (json)
      bench_row_print_json(f, &block->items[i], all);
    else
      bench_table_row(f, &block->items[i], all);
  }
  if (!json)
    fputc('\n', f);
  fflush(f);
  block->count = 0;
  return ferror(f) ? -1 : 0;
}
