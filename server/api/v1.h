/* v1.h - the /v1 endpoints (and /metrics, /openapi.json): the small ones
 * answer from the server's state, the job ones decode (v1_decode.c), run
 * (exec/run.c) and answer (v1_answer.c). routes.c maps paths to them. */
#ifndef LEAKYCLD_V1_H
#define LEAKYCLD_V1_H

#include "route.h"

LKD_HANDLER(lkd_v1_health);
LKD_HANDLER(lkd_v1_devices);
LKD_HANDLER(lkd_v1_activations);
LKD_HANDLER(lkd_v1_metrics);
LKD_HANDLER(lkd_v1_openapi);
LKD_HANDLER(lkd_v1_forward);
LKD_HANDLER(lkd_v1_backward);
LKD_HANDLER(lkd_v1_batch);

#endif
