/* tune.h - how kernels are shaped on a device: variant defaults by device
 * type and vendor, and the checks every variant passes (variant.c). */
#ifndef LEAKYCL_TUNE_H
#define LEAKYCL_TUNE_H

#include "leakycl.h"

/* The default of `strategy` on `device`: the vendor + type row when one
 * matches (the gpu strategy on NVIDIA, AMD and Intel GPUs), else the type's.
 * Returns the level that decided: "vendor" or "default". */
const char *lk_variant_default(const leakycl_device_info *device, leakycl_strategy strategy,
                               leakycl_variant *out);
/* The strategy a device type starts with: cpu for CPUs, gpu for the rest. */
leakycl_strategy lk_strategy_of_type(leakycl_device_type type);
/* Why the vendor level shapes this device's default, or NULL when it does not. */
const char *lk_variant_vendor_reason(const leakycl_device_info *device);
leakycl_status lk_variant_check(const leakycl_variant *v, const leakycl_device_info *device,
                                char *err, size_t errlen);

#endif /* LEAKYCL_TUNE_H */
