/* load.h - what one opened device is doing and how fast it is: the work
 * queued or running on it, its totals, and its measured seconds per element
 * by op and size class, which the scheduler (schedule.c) reads. */
#ifndef LEAKYCLD_LOAD_H
#define LEAKYCLD_LOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "leakycl.h"

/* Size classes: a job the library packs with others into one launch, and
 * one that runs in a launch of its own (LEAKYCL_PACKED_JOB_MAX_ELEMENTS). */
typedef enum lkd_size_class { LKD_SIZE_SMALL, LKD_SIZE_LARGE, LKD_SIZE_CLASSES } lkd_size_class;
#define LKD_OPS 2 /* LEAKYCL_OP_FORWARD, LEAKYCL_OP_BACKWARD */

/* Every member is atomic: request threads charge and discharge the queue,
 * the coalescer's leader records launches, /metrics and /v1/devices read
 * while both run. The speeds have one writer at a time (the device's
 * leader, or the start-up probe before any request). */
typedef struct lkd_load {
  _Atomic int64_t queued_jobs, queued_elements; /* waiting or running */
  _Atomic int64_t queued_ns;                    /* their estimated device time */
  _Atomic uint64_t jobs, elements;              /* run (any outcome); of the ok ones */
  _Atomic uint64_t launches, busy_ns;           /* library calls and the wall time inside them */
  /* Measured seconds per element; 0 until the probe or a launch measured it. */
  _Atomic double spe[LKD_OPS][LKD_SIZE_CLASSES];
} lkd_load;

void lkd_load_init(lkd_load *l);
/* CLOCK_MONOTONIC in seconds, for timing library calls. */
double lkd_load_clock(void);
lkd_size_class lkd_size_class_of(size_t elements);
const char *lkd_size_class_name(lkd_size_class k);

/* Estimated device seconds for a job of op and elements on this device:
 * elements times the measured seconds per element (1 ns each while
 * unmeasured, so that an unmeasured device still gets work and is then
 * measured). */
double lkd_load_estimate(const lkd_load *l, leakycl_op op, size_t elements);
/* Folds a measured seconds per element of op and class into the speeds
 * (the first measurement is taken as is, later ones move it by a quarter:
 * an exponential moving average). */
void lkd_load_observe(lkd_load *l, leakycl_op op, lkd_size_class k, double seconds_per_element);
/* Records one library call over jobs[0, n) that took seconds: the busy
 * time, and the speeds of the classes its successful jobs belong to. */
void lkd_load_launch(lkd_load *l, leakycl_job *const *jobs, size_t n, double seconds);

/* Appends the "load" object of /v1/devices (without a key). */
void lkd_load_append_json(const lkd_load *l, lkt_buf *b);

#endif
