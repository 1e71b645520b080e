/* process.h - the process's own series for GET /metrics: what was built
 * (leakycld_build_info) and the standard process_* gauges and counters. */
#ifndef LKD_PROCESS_H
#define LKD_PROCESS_H

#include "buffer.h"

/* Appends leakycld_build_info{version,opencl,libmicrohttpd} 1,
 * process_cpu_seconds_total, process_open_fds, process_max_fds and
 * process_start_time_seconds (Prometheus text). */
void lkd_process_render(lkt_buf *out);

#endif
