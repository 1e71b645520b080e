/* v2_infer.h - POST /v2/models/{name}[/versions/1]/infer. */
#ifndef LEAKYCLD_V2_INFER_H
#define LEAKYCLD_V2_INFER_H

#include "route.h"

/* Decodes the inference request, runs its job and writes the answer (or
 * KServe's error) into r. */
LKD_HANDLER(lkd_v2_infer);

#endif
