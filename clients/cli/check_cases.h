/* check_cases.h - the cases of `leakycl check`: what one case is (one call,
 * or a packed batch of jobs) and the suites (quick and full); check_run.h
 * runs one. */
#ifndef LEAKYCL_CHECK_CASES_H
#define LEAKYCL_CHECK_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "check_oracle.h"
#include "leakycl.h"

#define CK_MAX_CHANNELS 16
#define CK_MAX_JOBS 16
#define CK_MAX_RANK 4

/* What a call computes. */
typedef enum ck_op {
  CK_FORWARD = 0, /* y */
  CK_BACKWARD,    /* dx from x */
  CK_GRADS,       /* dx from x with dalpha and the diagnostics */
  CK_REDUCE,      /* dalpha and the diagnostics only (leakycl_reduce) */
  CK_FROM_Y,      /* dx from y = forward(x) (LEAKYCL_FROM_Y) */
  CK_FROM_MASK,   /* dx from the packed mask leakycl_forward_mask wrote */
  CK_OP_COUNT
} ck_op;

const char *ck_op_name(ck_op op);

/* One call's arguments. x and dy hold exact values of the storage type
 * (owned, n each; dy unused by forward). */
typedef struct ck_job {
  leakycl_activation act;
  ck_op op;
  leakycl_dtype dtype;
  size_t rank, shape[CK_MAX_RANK];
  long axis;
  size_t alpha_count; /* 0: the default; 1: shared; the channel count: per channel */
  float alpha[CK_MAX_CHANNELS];
  float beta;
  leakycl_conventions conventions; /* every profile is checked, one a job */
  int inplace;                     /* the output overwrites its input (x, or dy for dx) */
  size_t n;
  float *x, *dy;
} ck_job;

/* One call, or (packed) one leakycl_run_jobs batch of float32 jobs. */
typedef struct ck_case {
  int packed;
  size_t count;
  ck_job jobs[CK_MAX_JOBS];
} ck_case;

/* The job as the oracle reads it (x: the job's x). */
ck_call ck_job_call(const ck_job *j);
/* The element count of a job's shape. */
size_t ck_job_count(const ck_job *j);
/* The alpha of channel c (c < channels; 0 for shared). */
float ck_job_alpha(const ck_job *j, size_t c);
/* The view of the job's shape and axis. */
leakycl_view ck_job_view(const ck_job *j);

/* Deep copies and frees (the arrays are owned). */
int ck_case_copy(ck_case *dst, const ck_case *src);
void ck_case_free(ck_case *c);
/* Gives a job a flat shape [n] with fresh arrays copied from x and dy
 * (dy may be NULL); the job's other arrays are freed first. */
int ck_job_set_data(ck_job *j, size_t n, const float *x, const float *dy);

/* "prelu backward+dalpha float32 [2, 3, 5, 7] axis 1 alpha [..] beta .." */
void ck_job_describe(const ck_job *j, char *buf, size_t len);

/* The suites: CK_SUITE_FULL on every variant; quick: CK_SUITE_QUICK on the
 * device's default variant, CK_SUITE_QUICK_ALT on one of the other
 * strategy, and CK_SUITE_QUICK_BATCH (the mixed packed batches only) on
 * every other vector width of both strategies. */
typedef enum ck_suite {
  CK_SUITE_QUICK = 0,
  CK_SUITE_QUICK_ALT,
  CK_SUITE_FULL,
  CK_SUITE_QUICK_BATCH
} ck_suite;

typedef struct ck_plan {
  ck_case *cases;
  size_t count, cap;
} ck_plan;

/* Builds a suite's cases with their data (deterministic). `large` adds an
 * 8 Mi-element case (devices where big calls go through the transfer
 * pipeline). Returns 0, or -1 when out of memory. */
int ck_plan_build(ck_plan *p, ck_suite suite, int large);
void ck_plan_free(ck_plan *p);

#endif
