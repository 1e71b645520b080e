/* device_json.h - one OpenCL device as JSON members, written alike by the
 * daemon (GET /v1/devices) and the CLI (leakycl devices --json). */
#ifndef LKT_DEVICE_JSON_H
#define LKT_DEVICE_JSON_H

#include "buffer.h"
#include "leakycl.h"

/* Appends "platform_index", "device_index", "type", "name", "vendor",
 * "platform", "version", "driver_version", "compute_units",
 * "global_mem_bytes", "local_mem_bytes", "max_alloc_bytes",
 * "max_work_group_size" and "unified_memory", comma-separated, without the
 * braces (the caller adds its own members around them). */
void lkt_device_members(lkt_buf *b, const leakycl_device_info *d);

#endif
