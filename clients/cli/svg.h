/* svg.h - the chart of `leakycl bench --svg`: a self-contained SVG (no
 * scripts, fonts or images from elsewhere), one panel per (device, op), GB/s
 * against n on a log axis, one line per series, the copy limits dashed. */
#ifndef LEAKYCL_CLI_SVG_H
#define LEAKYCL_CLI_SVG_H

#include <stddef.h>

#include "bench_rows.h"

/* Writes the chart of rows to path. A series is the rows of one panel with
 * the same name, activation, fusion and residency; it is drawn as one
 * <polyline class="series" data-series="..."> (markers at its points), a
 * copy limit as <polyline class="limit">. Returns 0, or -1 with a reason in
 * err. */
int bench_svg_write(const char *path, const bench_rows *rows, char *err, size_t errlen);

#endif
