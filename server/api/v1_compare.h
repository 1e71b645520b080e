/* v1_compare.h - POST /v1/compare: one /v1 job run and timed on several
 * opened devices, each device's figures and its agreement with the first
 * device and with the float64 oracle. routes.c maps the path to it. */
#ifndef LEAKYCLD_V1_COMPARE_H
#define LEAKYCLD_V1_COMPARE_H

#include "route.h"

/* Timed calls a device may be asked for (--max-elements bounds n). */
#define LKD_COMPARE_MAX_REPEATS 20
#define LKD_COMPARE_DEFAULT_REPEATS 5

LKD_HANDLER(lkd_v1_compare);

#endif
