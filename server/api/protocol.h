/* protocol.h - one protocol the daemon speaks (/v1, the Open Inference
 * Protocol under /v2): which paths are its, how they are looked up in the
 * route table, and its error body. routes.c holds both tables. */
#ifndef LEAKYCLD_PROTOCOL_H
#define LEAKYCLD_PROTOCOL_H

#include "route.h"

typedef struct lkd_protocol {
  const char *name;
  /* Whether path is the protocol's; NULL: every path no other one owns. */
  int (*owns)(const char *path);
  /* The key path is looked up by in the route table (a template such as
   * "/v2/models/{name}/infer", which the metrics use as the label); NULL:
   * the path itself. */
  const char *(*route_key)(const char *path);
  lkd_error_body_fn error_body;
} lkd_protocol;

#endif
