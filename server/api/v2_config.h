/* v2_config.h - GET /v2/models/{name}[/versions/1]/config: Triton's model
 * configuration extension. */
#ifndef LEAKYCLD_V2_CONFIG_H
#define LEAKYCLD_V2_CONFIG_H

#include "route.h"

/* The model's configuration as Triton returns it: the JSON of its
 * ModelConfig protobuf (model_config.proto), with the fields Triton prints
 * at their defaults and the 64-bit integers as numbers. */
LKD_HANDLER(lkd_v2_model_config);

#endif
