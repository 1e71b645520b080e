/* v1_answer.h - /v1's answer for one job: its result object or its error. */
#ifndef LEAKYCLD_V1_ANSWER_H
#define LEAKYCLD_V1_ANSWER_H

#include "buffer.h"
#include "job.h"

/* Appends {"id"?, "y" or "dx" (or *_b64 and dtype), "dalpha"?, "stats"?}
 * for a job that succeeded. */
void lkd_v1_append_result(lkt_buf *b, const lkd_job *job);
/* Appends {"id"?, "error":{"code","message"}} for a job that failed. */
void lkd_v1_append_job_error(lkt_buf *b, const lkd_job *job);

#endif
