/* v2.c - the Open Inference Protocol (KServe v2, as Triton serves it)
 * beside /v1: its route table, health, server and model metadata and the
 * model repository index; inference is v2_infer.c's. */
#include "v2.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "json_write.h"
#include "v2_models.h"

/* ---- health, metadata, repository ---- */

LKD_HANDLER(lkd_v2_live) { lkd_kserve_empty(r); /* as Triton answers */ }

LKD_HANDLER(lkd_v2_ready) {
  /* The daemon listens only once its devices are open and warm. */
  lkd_kserve_empty(r);
}

LKD_HANDLER(lkd_v2_server_metadata) {
  lkd_response_json(r);
  lkt_buf_append_str(&r->body, "{\"name\":\"leakycld\",\"version\":\"" LEAKYCL_VERSION
                               "\",\"extensions\":[\"binary_tensor_data\",\"parameters\","
                               "\"model_configuration\",\"statistics\"]}");
}

static void lkd_append_tensor_meta(lkt_buf *b, const char *name, int first) {
  lkt_buf_append_str(b, first ? "{\"name\":" : ",{\"name\":");
  lkt_json_string(b, name);
  lkt_buf_append_str(b, ",\"datatype\":\"FP32\",\"shape\":[-1]}");
}

LKD_HANDLER(lkd_v2_model_metadata) {
  const lkd_kserve_model *m = lkd_model_answer_open(info->path, r);
  if (!m)
    return;
  lkt_buf *b = &r->body;
  lkt_buf_append_str(b, ",\"versions\":[\"" LKD_KSERVE_VERSION
                        "\"],\"platform\":\"" LKD_KSERVE_PLATFORM "\",\"inputs\":[");
  const char *names[3];
  size_t n = lkd_model_inputs(m, names);
  for (size_t i = 0; i < n; i++)
    lkd_append_tensor_meta(b, names[i], i == 0);
  lkt_buf_append_str(b, "],\"outputs\":[");
  n = lkd_model_outputs(m, names);
  for (size_t i = 0; i < n; i++)
    lkd_append_tensor_meta(b, names[i], i == 0);
  lkt_buf_append_str(b, "]}");
}

LKD_HANDLER(lkd_v2_model_ready) {
  if (lkd_model_of_path(info->path, r))
    lkd_kserve_empty(r);
}

LKD_HANDLER(lkd_v2_repository_index) {
  /* The body is empty or an object such as {"ready":true}: every model is
   * ready, so both answers are the same list; "ready", when given, must be
   * a boolean (Triton's repository extension). */
  if (len > 0) {
    cJSON *root = memchr(body, '\0', len) ? NULL : cJSON_ParseWithLength(body, len);
    const cJSON *ready = cJSON_GetObjectItemCaseSensitive(root, "ready");
    const int object = cJSON_IsObject(root), ready_ok = !ready || cJSON_IsBool(ready);
    cJSON_Delete(root);
    if (!object || !ready_ok) {
      lkd_kserve_fail(r, LKD_INVALID_ARGUMENT,
                      !object ? "the repository index request must be empty or a JSON object"
                              : "\"ready\" must be true or false");
      return;
    }
  }
  lkd_response_json(r);
  lkt_buf *b = &r->body;
  lkt_buf_append(b, "[", 1);
  for (size_t i = 0; i < lkd_kserve_model_count; i++) {
    lkt_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
    lkt_json_string(b, lkd_kserve_models[i].name);
    lkt_buf_append_str(b, ",\"version\":\"" LKD_KSERVE_VERSION "\",\"state\":\"READY\"}");
  }
  lkt_buf_append(b, "]", 1);
}

/* A model path, versioned or not, is looked up by its template; the
 * statistics of every model (/v2/models/stats) before that, as no model
 * is called "stats". */
const char *lkd_v2_route_key(const char *path) {
  static const struct {
    const char *action, *key;
  } keys[] = {{"", "/v2/models/{name}"},
              {"ready", "/v2/models/{name}/ready"},
              {"infer", "/v2/models/{name}/infer"},
              {"config", "/v2/models/{name}/config"},
              {"stats", "/v2/models/{name}/stats"}};
  lkd_model_path mp;
  if (strcmp(path, "/v2/models/stats") == 0 || lkd_parse_model_path(path, &mp) != 0)
    return path;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(mp.action, keys[i].action) == 0)
      return keys[i].key;
  return path;
}
