/* devices.h - the devices leakycld opens at start (--device, repeatable, or
 * "all"), the SPEC match a job's "device" uses among them, and the
 * /v1/devices listing. */
#ifndef LEAKYCLD_DEVICES_H
#define LEAKYCLD_DEVICES_H

#include <stddef.h>

#include "buffer.h"
#include "server.h"

/* Lists every device, then opens one context per configured SPEC ("all"
 * opens every device; a device named twice is opened once). Returns 0, or
 * -1 with a message in err (nothing left open). */
int lkd_devices_open(lkd_server *s, char *err, size_t errlen);
/* Loads each --program-binary into the first opened device (without one
 * yet) that accepts it: the one it was compiled for. Returns 0, or -1 with a
 * one-line message naming the file and why the first device refused it. */
int lkd_devices_load_bundles(lkd_server *s, char *err, size_t errlen);
/* Releases the contexts and the listing. */
void lkd_devices_close(lkd_server *s);

/* Which of the n opened devices SPEC names: NULL, "" or "default" is the
 * first; "auto" the first GPU, else accelerator, else the first; "cpu",
 * "gpu", "accelerator" the first of the type and "gpu:1" the n-th (from 0);
 * "P:D" platform and device index; a bare number the daemon's own index (as
 * /v1/devices lists it); anything else a case-insensitive substring of the
 * device or platform name. Returns the index, or -1 when none matches (never
 * a silent fallback). Pure: no OpenCL. */
long lkd_device_match(const leakycl_device_info *infos, size_t n, const char *spec);

/* Appends {"default":0,"devices":[...]}: every device seen, the opened ones
 * with "in_use":true, their "index" and their "load" (load.h). */
void lkd_devices_append_json(const lkd_server *s, lkt_buf *b);

#endif
