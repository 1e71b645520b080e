/* fake_device.h - a leakycl_device_info made by hand, for tests of SPEC
 * matching that need no OpenCL device. */
#ifndef LEAKYCL_FAKE_DEVICE_H
#define LEAKYCL_FAKE_DEVICE_H

#include <stdio.h>
#include <string.h>

#include "leakycl.h"

static inline leakycl_device_info fake_device(unsigned platform, unsigned device,
                                              leakycl_device_type type, const char *name,
                                              const char *platform_name) {
  leakycl_device_info d;
  memset(&d, 0, sizeof d);
  d.platform_index = platform;
  d.device_index = device;
  d.type = type;
  snprintf(d.name, sizeof d.name, "%s", name);
  snprintf(d.platform_name, sizeof d.platform_name, "%s", platform_name);
  snprintf(d.vendor, sizeof d.vendor, "fake");
  d.compute_units = 1;
  d.max_work_group_size = 256;
  return d;
}

#endif
