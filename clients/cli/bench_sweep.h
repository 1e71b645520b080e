/* bench_sweep.h - the sweep of `leakycl bench`: its data, and the timing of
 * every candidate of each (device, n) block, printed as each block ends. */
#ifndef LEAKYCL_CLI_BENCH_SWEEP_H
#define LEAKYCL_CLI_BENCH_SWEEP_H

#include "bench_devices.h"
#include "bench_options.h"
#include "bench_python.h"
#include "bench_rows.h"

typedef struct bench_sweep {
  const bench_options *o;
  float *hx, *hdy, *hout; /* n_max floats each */
  char tmpdir[64];        /* the .npy files for the Python references */
  bench_python python;
  bench_rows all; /* every row printed so far (the chart's) */
  bench_rows block;
} bench_sweep;

/* An empty sweep for o; free with bench_sweep_free. */
void bench_sweep_init(bench_sweep *s, const bench_options *o);

/* The data (n_max floats of x, dy and out) and the Python references'
 * directory. Returns an exit status (the error printed). */
int bench_sweep_prepare(bench_sweep *s);

/* Times every size on device d, printing each block's rows. Returns an exit
 * status (the error printed). */
int bench_sweep_device(bench_sweep *s, const bench_device *d);

void bench_sweep_free(bench_sweep *s);

#endif
