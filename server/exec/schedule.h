/* schedule.h - which opened device runs the jobs that name none: the one that
 * would finish them first, given the work queued on each device and its
 * measured speed (load.h); and the queue accounting that estimate reads. */
#ifndef LEAKYCLD_SCHEDULE_H
#define LEAKYCLD_SCHEDULE_H

#include <stddef.h>

#include "job.h"
#include "server.h"

/* Places the decoded, not yet run jobs of one request: those on
 * LKD_DEVICE_ANY go together to the device with the least estimated
 * (queued + their own) device time (ties: the lowest index; with one
 * device, device 0 without comparing), so a request's jobs still share
 * one launch. Then charges every placed job to its device's queue. */
void lkd_sched_place(lkd_server *s, lkd_job *const *jobs, size_t n);
/* Takes the charged jobs of device d off its queue (after they ran, or
 * failed before running). */
void lkd_sched_discharge(lkd_server *s, lkd_job *const *jobs, size_t n, size_t d);

#endif
