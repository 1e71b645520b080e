/* device_json.c - a device's description as JSON members. */
#include "device_json.h"

#include <inttypes.h>
#include <stdio.h>

#include "json_write.h"

void lkt_device_members(lkt_buf *b, const leakycl_device_info *d) {
  char num[256];
  snprintf(num, sizeof num, "\"platform_index\":%u,\"device_index\":%u,", d->platform_index,
           d->device_index);
  lkt_buf_append_str(b, num);
  lkt_json_string_member(b, "type", leakycl_device_type_name(d->type));
  lkt_buf_append(b, ",", 1);
  lkt_json_string_member(b, "name", d->name);
  lkt_buf_append(b, ",", 1);
  lkt_json_string_member(b, "vendor", d->vendor);
  lkt_buf_append(b, ",", 1);
  lkt_json_string_member(b, "platform", d->platform_name);
  lkt_buf_append(b, ",", 1);
  lkt_json_string_member(b, "version", d->version);
  lkt_buf_append(b, ",", 1);
  lkt_json_string_member(b, "driver_version", d->driver_version);
  snprintf(num, sizeof num,
           ",\"compute_units\":%u,\"global_mem_bytes\":%" PRIu64 ",\"local_mem_bytes\":%" PRIu64
           ",\"max_alloc_bytes\":%" PRIu64 ",\"max_work_group_size\":%zu,\"unified_memory\":%s",
           d->compute_units, d->global_mem_bytes, d->local_mem_bytes, d->max_alloc_bytes,
           d->max_work_group_size, d->unified_memory ? "true" : "false");
  lkt_buf_append_str(b, num);
}
