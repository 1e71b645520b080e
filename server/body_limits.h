/* body_limits.h - --max-body derived from --max-elements, and the check that a
 * given pair fits together (body_limits.c). */
#ifndef LEAKYCLD_BODY_LIMITS_H
#define LEAKYCLD_BODY_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* The body a backward job of two max_elements tensors needs in its largest
 * encoding (JSON, 18 bytes an element) plus 1 MiB for the rest. */
size_t lkd_limits_body_for(size_t max_elements);
/* cfg->max_body 0 (not given) becomes lkd_limits_body_for(max_elements);
 * a given one too small for it gets a warning in the log that says what
 * fits in each encoding (the pair is kept: a smaller body limit is a
 * legitimate choice). */
void lkd_limits_resolve(lkd_config *cfg);

#endif
