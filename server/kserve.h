/* kserve.h - the Open Inference Protocol (KServe v2, as Triton serves it)
 * beside /v1: its routes under /v2 and its error body. */
#ifndef LEAKYCLD_KSERVE_H
#define LEAKYCLD_KSERVE_H

#include "codec.h"
#include "errors.h"
#include "routes.h"

/* Whether path belongs to the protocol: "/v2" or under "/v2/". */
int lkd_kserve_path(const char *path);

/* lkd_route_find for a /v2 path: the route (its path a template such as
 * "/v2/models/{name}/infer", which the metrics use as the label), or NULL
 * with *code LKD_NOT_FOUND or LKD_METHOD_NOT_ALLOWED (*allow set). The
 * model name and version are checked by the handler, not here. */
const lkd_route *lkd_kserve_route_find(const char *method, const char *path, lkd_error_code *code,
                                       const char **allow);

/* Appends KServe's error body {"error":"message"} (tritonclient raises
 * InferenceServerException with the message). */
void lkd_kserve_error_body(lk_buf *b, const lkd_error *e);

#endif
