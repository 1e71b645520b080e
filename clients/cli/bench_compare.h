/* bench_compare.h - `leakycl bench --compare`: each case of the sweep timed
 * on every device side by side and printed as one table, a GB/s column per
 * device with its ratio to the fastest, and how the outputs agree with the
 * first device's and with the float64 oracle; or one JSON object a row. */
#ifndef LEAKYCL_CLI_BENCH_COMPARE_H
#define LEAKYCL_CLI_BENCH_COMPARE_H

#include <stddef.h>

#include "bench_devices.h"
#include "bench_sweep.h"

/* Runs the sweep's sizes and cases (resident leakycl calls) on devs[0, ndev),
 * the sweep's data prepared (bench_sweep_prepare); every row also goes to
 * s->all (the chart's). Returns an exit status (the error printed). */
int bench_compare_run(bench_sweep *s, const bench_device *devs, size_t ndev);

#endif
