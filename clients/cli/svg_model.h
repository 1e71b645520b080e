/* svg_model.h - what the chart of `leakycl bench --svg` shows, gathered from
 * the rows: a panel per timed op, the devices, and one series per (device,
 * implementation) with a point per n merged over the activations. */
#ifndef LEAKYCL_CLI_SVG_MODEL_H
#define LEAKYCL_CLI_SVG_MODEL_H

#include <stddef.h>

#include "bench_rows.h"

/* forward, backward, backward+dalpha, reduce; the copy limits are drawn in
 * every panel. */
#define SVG_PANELS 4
#define SVG_MAX_DEVICES 16
#define SVG_MAX_SERIES 160
#define SVG_MAX_POINTS 24
#define SVG_MAX_MERGED 8 /* activations merged into one point */

/* An implementation: the rows' name (leakycl host-pointer calls are one of
 * their own), its colour and legend label. */
typedef struct svg_impl {
  const char *name;
  const char *color;
  const char *label;
  int limit; /* a copy limit: dashed */
} svg_impl;

typedef struct svg_point {
  double n;
  double gbps;   /* median over the merged rows of their median GB/s */
  double lo, hi; /* GB/s of the slowest and the fastest sample of any of them */
  int merged;    /* how many rows (activations) */
  double each[SVG_MAX_MERGED];
} svg_point;

typedef struct svg_series {
  int device; /* index into svg_model.devices */
  const svg_impl *impl;
  char name[24]; /* the rows' name (the label of an unknown reference) */
  int panel;     /* 0..SVG_PANELS-1, or -1 for a copy limit */
  size_t count;  /* points, sorted by n */
  svg_point points[SVG_MAX_POINTS];
} svg_series;

typedef struct svg_device {
  char index[24];    /* "P:D" */
  char label[200];   /* its name; " (P:D)" added when two devices share one */
  char variant[128]; /* leakycl's kernel variant on it */
} svg_device;

typedef struct svg_model {
  int panel_used[SVG_PANELS];
  size_t npanels, ndevices, nseries;
  svg_device devices[SVG_MAX_DEVICES];
  svg_series series[SVG_MAX_SERIES];
} svg_model;

/* "forward", "backward", "backward+dalpha", "reduce". */
const char *svg_panel_name(int panel);

/* Fills m from rows (timed rows only: a candidate that never ran has no
 * series, so it gets no legend entry). */
void svg_model_build(svg_model *m, const bench_rows *rows);

/* The legend label of a series: its implementation's, or its name. */
const char *svg_series_label(const svg_series *s);

/* Whether series s is drawn in panel p. */
int svg_series_in_panel(const svg_series *s, int panel);

/* leakycl (resident) on device d in panel p against the others at its
 * largest n: *n, the ratio to the fastest reference that is not a copy limit
 * (*ref its name; 0 when none ran) and to the faster copy limit (*limit its
 * name; 0 when none). Returns 0, or -1 when leakycl has no point there. */
int svg_model_ratios(const svg_model *m, int panel, int device, double *n, double *vs_ref,
                     const char **ref, double *vs_limit, const char **limit);

#endif
