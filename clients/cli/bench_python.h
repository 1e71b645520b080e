/* bench_python.h - the Python references of `leakycl bench` (NumPy, JAX,
 * pyopencl): runs tests/bench/refs.py, embedded into the CLI at build time,
 * with $LEAKYCL_PYTHON (default python3), and turns its JSON lines into
 * rows. A missing interpreter or library skips that reference with one note
 * on stderr; it is never an error. */
#ifndef LEAKYCL_CLI_BENCH_PYTHON_H
#define LEAKYCL_CLI_BENCH_PYTHON_H

#include <stddef.h>

#include "bench_rows.h"

#define BENCH_PYTHON_MAX_NOTES 32

/* State across runs: the interpreter, libraries found missing (not asked
 * again), and the notes already printed (each is printed once). */
typedef struct bench_python {
  const char *python;
  int disabled;  /* the interpreter or numpy is missing: no more runs */
  char skip[64]; /* "jax,pyopencl": libraries to leave out */
  char *notes[BENCH_PYTHON_MAX_NOTES];
  size_t note_count;
} bench_python;

void bench_python_init(bench_python *py);
void bench_python_free(bench_python *py);

/* What one run times: the data files (float32 .npy of n elements), the
 * OpenCL device for pyopencl ("P:D"), the activations and ops (comma
 * lists) and the repeats. `like` gives the rows' device fields. */
typedef struct bench_python_job {
  const char *x_path, *dy_path;
  size_t n;
  int repeat;
  const char *activations, *ops;
  const bench_row *like;
} bench_python_job;

/* Runs the script once and appends a "reference" row per result. Returns
 * 0 (also when it skipped: a note says why), or -1 when out of memory. */
int bench_python_run(bench_python *py, const bench_python_job *job, bench_rows *rows);

#endif
