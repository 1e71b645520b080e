/* startup.h - what leakycld says as it starts (the devices, the program
 * cache, the limits) and the warm-up of every device's kernels, timed. */
#ifndef LEAKYCLD_STARTUP_H
#define LEAKYCLD_STARTUP_H

#include "server.h"

/* Logs (level notice) the version and pid, each opened device (index,
 * name, type, platform, variant and where the variant came from), the
 * program cache directory and the limits. */
void lkd_startup_report(const lkd_server *s);

/* Builds and launches every kernel on every device (leakycl_warm_up), a
 * line before and after each device; then, with several devices, times
 * each for the scheduler. With LEAKYCL_FAULT set, warns and skips it.
 * 0, or -1 after logging why. */
int lkd_startup_warm_up(lkd_server *s);

#endif
