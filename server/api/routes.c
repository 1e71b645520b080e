/* routes.c - every path the daemon serves, in one table, and the table of
 * protocols: a path belongs to the first protocol that owns it, which says
 * how it is looked up and how its errors read. */
#include "routes.h"

#include <stddef.h>

#include "protocol.h"
#include "v1.h"
#include "v1_compare.h"
#include "v2.h"
#include "v2_config.h"
#include "v2_infer.h"
#include "v2_models.h"
#include "v2_stats.h"

static const lkd_protocol lkd_protocols[] = {
    {"v2", lkd_kserve_path, lkd_v2_route_key, lkd_kserve_error_body},
    {"v1", NULL, NULL, lkd_error_append_body},
};

static const lkd_route lkd_routes[] = {
    {"/v1/health", "GET", LKD_NO_BODY, lkd_v1_health},
    {"/v1/devices", "GET", LKD_NO_BODY, lkd_v1_devices},
    {"/v1/activations", "GET", LKD_NO_BODY, lkd_v1_activations},
    {"/v1/forward", "POST", LKD_JOB_BODY, lkd_v1_forward},
    {"/v1/backward", "POST", LKD_JOB_BODY, lkd_v1_backward},
    {"/v1/batch", "POST", LKD_JOB_BODY, lkd_v1_batch},
    {"/v1/compare", "POST", LKD_JOB_BODY, lkd_v1_compare},
    {"/metrics", "GET", LKD_NO_BODY, lkd_v1_metrics},
    {"/openapi.json", "GET", LKD_NO_BODY, lkd_v1_openapi},
    {"/v2", "GET", LKD_NO_BODY, lkd_v2_server_metadata},
    {"/v2/health/live", "GET", LKD_NO_BODY, lkd_v2_live},
    {"/v2/health/ready", "GET", LKD_NO_BODY, lkd_v2_ready},
    {"/v2/repository/index", "POST", LKD_BODY, lkd_v2_repository_index},
    {"/v2/models/{name}", "GET", LKD_NO_BODY, lkd_v2_model_metadata},
    {"/v2/models/{name}/ready", "GET", LKD_NO_BODY, lkd_v2_model_ready},
    {"/v2/models/{name}/infer", "POST", LKD_JOB_BODY, lkd_v2_infer},
    {"/v2/models/{name}/config", "GET", LKD_NO_BODY, lkd_v2_model_config},
    {"/v2/models/{name}/stats", "GET", LKD_NO_BODY, lkd_v2_model_stats},
    {"/v2/models/stats", "GET", LKD_NO_BODY, lkd_v2_all_stats},
};

static const lkd_protocol *lkd_protocol_of(const char *path) {
  const size_t n = sizeof lkd_protocols / sizeof lkd_protocols[0];
  for (size_t i = 0; i < n; i++)
    if (!lkd_protocols[i].owns || (path && lkd_protocols[i].owns(path)))
      return &lkd_protocols[i];
  return &lkd_protocols[n - 1];
}

const lkd_route *lkd_route_find(const char *method, const char *path, lkd_error_code *code,
                                const char **allow) {
  const lkd_protocol *p = lkd_protocol_of(path);
  const char *key = p->route_key ? p->route_key(path) : path;
  return lkd_route_in(lkd_routes, sizeof lkd_routes / sizeof lkd_routes[0], key, method, code,
                      allow);
}

void lkd_respond_error(lkd_response *r, const lkd_error *e, const char *path) {
  lkd_response_error(r, e, lkd_protocol_of(path)->error_body);
}
