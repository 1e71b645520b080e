/* probe.h - each opened device's speed timed at start, so that the
 * scheduler's first choices on a daemon of several devices are informed
 * before real launches refine them. */
#ifndef LEAKYCLD_PROBE_H
#define LEAKYCLD_PROBE_H

#include "server.h"

/* With more than one device open: times a forward and a backward of a
 * small and a large job on each (median of three, after the warm-up built
 * the programs) into the device's speeds. A failed timing is reported on
 * stderr and leaves that speed unmeasured; the daemon still starts. With
 * one device it does nothing (no scheduler to inform). */
void lkd_probe_devices(lkd_server *s);

#endif
