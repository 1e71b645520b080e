/* bench_devices.h - the devices `leakycl bench` times: one context each,
 * with its variant, and what a result row says about its device. */
#ifndef LEAKYCL_CLI_BENCH_DEVICES_H
#define LEAKYCL_CLI_BENCH_DEVICES_H

#include <stddef.h>

#include "bench_rows.h"
#include "leakycl.h"

#define BENCH_MAX_DEVICES 16

typedef struct bench_device {
  leakycl_context *ctx;
  leakycl_device_info info;
  char variant[128]; /* as leakycl_variant_describe writes it */
} bench_device;

/* Opens every device for spec "all", else the one spec names (NULL:
 * $LEAKYCL_DEVICE, else auto) or each of a list "SPEC,SPEC,..." in order,
 * each with `variant` when it is not NULL. devs holds BENCH_MAX_DEVICES;
 * *count says how many were opened (to be released with
 * bench_close_devices, also after a failure). Returns an exit status (the
 * error printed). */
int bench_open_devices(const char *spec, const char *variant, bench_device *devs, size_t *count);
void bench_close_devices(bench_device *devs, size_t count);

/* A fresh row of device d at size n: kind, name, device and index set. */
void bench_row_identity(bench_row *r, const bench_device *d, size_t n, const char *kind,
                        const char *name);

#endif
