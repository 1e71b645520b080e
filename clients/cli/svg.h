/* svg.h - the chart of `leakycl bench --svg`: a self-contained SVG (no
 * scripts, fonts or images from elsewhere), one panel per op, GB/s against n
 * on a log axis, one line per (device, implementation) with min-max
 * whiskers, the copy limits dashed, a footer with version, variants, date. */
#ifndef LEAKYCL_CLI_SVG_H
#define LEAKYCL_CLI_SVG_H

#include <stddef.h>

#include "bench_rows.h"

/* Whether the chart can be written to path, tried before a sweep of many
 * minutes: opens it for writing without truncating it (a file it creates is
 * removed again). Returns 0, or -1 with a reason naming path in err. */
int bench_svg_check(const char *path, char *err, size_t errlen);

/* Writes the chart of rows to path. Elements the tests look for: <g
 * class="panel" data-op="...">; in it a <polyline class="series"> (or
 * class="limit" for a copy limit) per (device, implementation) with
 * data-device (P:D) and data-impl, and a <path class="whisker"> per point;
 * <g class="legend-entry"> per (device, implementation) that ran; <g
 * class="footer">. Returns 0, or -1 with a reason in err. */
int bench_svg_write(const char *path, const bench_rows *rows, char *err, size_t errlen);

#endif
