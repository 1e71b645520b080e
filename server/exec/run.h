/* run.h - running decoded jobs on their devices: every job of one device
 * in one leakycl_run_jobs call, coalesced with other requests' jobs (the
 * library packs the small ones into one launch and runs the big ones
 * alone), each job keeping its own result. */
#ifndef LEAKYCLD_RUN_H
#define LEAKYCLD_RUN_H

#include <stddef.h>

#include "job.h"
#include "server.h"

/* Runs jobs[0, n) (decoded ones: err LKD_OK; the others are skipped):
 * places those on LKD_DEVICE_ANY (schedule.h), allocates each job's outputs,
 * runs them, counts elements, launches and jobs in the metrics and in
 * each device's load. Afterwards every job that was run has ran set and
 * err LKD_OK with its outputs, or err saying why it failed. */
void lkd_jobs_run(lkd_server *s, lkd_job *const *jobs, size_t n);

#endif
