/* bench_candidates.h - what `leakycl bench` times in one (device, n) block:
 * the candidates (leakycl resident and on host pointers, the OpenMP
 * reference, the copy limits), how one runs, is calibrated, sampled and
 * verified. */
#ifndef LEAKYCL_CLI_BENCH_CANDIDATES_H
#define LEAKYCL_CLI_BENCH_CANDIDATES_H

#include <stddef.h>

#include "bench_devices.h"
#include "bench_options.h"
#include "bench_refs.h"
#include "bench_rows.h"
#include "leakycl.h"

/* How a candidate runs. */
typedef enum bench_how {
  HOW_LEAKYCL_RESIDENT, /* *_buffers on cl_mem */
  HOW_LEAKYCL_HOST,     /* leakycl_forward() etc. on host memory */
  HOW_OPENMP,
  HOW_STREAM_COPY,
  HOW_CL_COPY
} bench_how;

typedef struct bench_candidate {
  bench_row row;
  bench_how how;
  leakycl_params params;
  bench_ref_params ref;
  size_t calls; /* per sample */
  double *samples;
  int sample_count;
} bench_candidate;

/* What every candidate of one (device, n) block works on. */
typedef struct bench_block {
  leakycl_context *ctx;
  cl_command_queue queue;
  size_t n;
  const float *hx, *hdy; /* inputs: the first n of the sweep's data */
  float *hout;           /* outputs of host-memory calls and references */
  cl_mem x, dy, out;
  cl_mem mask;     /* the packed mask of backward from the mask (resident) */
  uint32_t *hmask; /* the same on host memory */
  double sink;     /* keeps the references' sums alive */
} bench_block;

/* Fills cands (capacity cap) for one block of device d at size n, in table
 * order; returns the count. */
size_t bench_list_candidates(const bench_options *o, const bench_device *d, size_t n,
                             bench_candidate *cands, size_t cap);

/* Warm-up, then the calls per sample that make a sample last long enough. */
leakycl_status bench_calibrate(bench_block *b, bench_candidate *c);

/* One sample of every candidate, in order (the round-robin of a repeat);
 * on a failure *failed is the candidate's index. */
leakycl_status bench_sample_round(bench_block *b, bench_candidate *cands, size_t count,
                                  size_t *failed);

/* The buffers of a block of device d at size n (the host arrays are the
 * sweep's, n floats each). Returns an exit status (the error printed);
 * close the block either way. */
int bench_block_open(bench_block *b, const bench_device *d, size_t n, const float *hx,
                     const float *hdy, float *hout);
void bench_block_close(bench_block *b);

/* One more call of a leakycl candidate after a poison fill, its output (y
 * or dx, read back when resident) left in b->hout and its dalpha (calls
 * that reduce; else 0) in *dalpha. LEAKYCL_CHECK_CORRUPT=1 (a test hook)
 * then falsifies one output. */
leakycl_status bench_capture(bench_block *b, const bench_candidate *c, float *dalpha);

/* --verify: bench_capture's output and dalpha held against the oracle.
 * Returns 0, or the exit status after printing what differs. */
int bench_verify_candidate(bench_block *b, const bench_candidate *c);
/* The same for an output already captured into b->hout. */
int bench_verify_output(const bench_block *b, const bench_candidate *c, float dalpha);

/* Reports a failed leakycl call and returns the exit status for it. */
int bench_candidate_failure(const bench_block *b, const bench_candidate *c, leakycl_status st);

#endif
