/* v2.h - the Open Inference Protocol's endpoints (KServe v2, as Triton
 * serves it) besides inference (v2_infer.h): health, server and model
 * metadata, the repository index; and how its paths are looked up. */
#ifndef LEAKYCLD_V2_H
#define LEAKYCLD_V2_H

#include "route.h"

LKD_HANDLER(lkd_v2_live);
LKD_HANDLER(lkd_v2_ready);
LKD_HANDLER(lkd_v2_server_metadata);
LKD_HANDLER(lkd_v2_model_metadata);
LKD_HANDLER(lkd_v2_model_ready);
LKD_HANDLER(lkd_v2_repository_index);
/* The route table key of a /v2 path: a model path, versioned or not, is
 * looked up by its template ("/v2/models/{name}/infer"); others as they are. */
const char *lkd_v2_route_key(const char *path);

#endif
