/* v2_config.c - a /v2 model's configuration in the JSON of Triton's
 * ModelConfig: its tensors as the model metadata lists them, its default
 * parameters, one instance group a device (v2_config.h). */
#include "v2_config.h"

#include <stdio.h>
#include <string.h>

#include "float_text.h"
#include "json_write.h"
#include "v2_models.h"

/* Appends one ModelInput (output 0) or ModelOutput (output 1): FP32 of any
 * length; alpha is optional. */
static void lkd_append_tensor(lkt_buf *b, const char *name, int output, int first) {
  lkt_buf_append_str(b, first ? "{\"name\":" : ",{\"name\":");
  lkt_json_string(b, name);
  lkt_buf_append_str(b, ",\"data_type\":\"TYPE_FP32\"");
  if (!output)
    lkt_buf_append_str(b, ",\"format\":\"FORMAT_NONE\"");
  lkt_buf_append_str(b, ",\"dims\":[-1]");
  if (output) {
    lkt_buf_append_str(b, ",\"label_filename\":\"\",\"is_shape_tensor\":false,"
                          "\"is_non_linear_format_io\":false}");
    return;
  }
  lkt_buf_append_str(b, ",\"is_shape_tensor\":false,\"allow_ragged_batch\":false,\"optional\":");
  lkt_buf_append_str(b, strcmp(name, "alpha") == 0 ? "true" : "false");
  lkt_buf_append_str(b, ",\"is_non_linear_format_io\":false}");
}

/* Appends "key":{"string_value":"value"} (a ModelParameter). */
static void lkd_append_parameter(lkt_buf *b, const char *key, const char *value, int *first) {
  lkt_buf_append_str(b, *first ? "" : ",");
  *first = 0;
  lkt_json_string(b, key);
  lkt_buf_append_str(b, ":{\"string_value\":");
  lkt_json_string(b, value);
  lkt_buf_append(b, "}", 1);
}

/* The request parameters the model takes, at their defaults. */
static void lkd_append_parameters(lkt_buf *b, const lkd_kserve_model *m) {
  leakycl_params p;
  leakycl_params_init(&p, m->activation);
  char text[LKT_FLOAT_TEXT_MAX + 1];
  int first = 1;
  lkt_buf_append_str(b, ",\"parameters\":{");
  if (lkd_model_takes_alpha(m)) {
    text[lkt_float_print(leakycl_default_alpha(m->activation), text)] = '\0';
    lkd_append_parameter(b, "alpha", text, &first);
  }
  if (m->activation == LEAKYCL_PHASED_RELU) {
    text[lkt_float_print(p.beta, text)] = '\0';
    lkd_append_parameter(b, "beta", text, &first);
  }
  lkd_append_parameter(b, "conventions", leakycl_conventions_name(p.conventions), &first);
  lkt_buf_append(b, "}", 1);
}

/* One instance group a device the daemon opened: KIND_GPU for a GPU (its
 * index among the opened devices in gpus), KIND_CPU for a CPU, KIND_MODEL
 * for another kind. */
static void lkd_append_instance_groups(lkt_buf *b, const lkd_server *s, const char *model) {
  lkt_buf_append_str(b, ",\"instance_group\":[");
  for (size_t d = 0; d < s->device_count; d++) {
    const leakycl_device_type type = s->devices[d].info.type;
    char text[160];
    int n = snprintf(text, sizeof text, "%s{\"name\":\"%s_%zu\",\"kind\":\"%s\",\"count\":1,",
                     d ? "," : "", model, d,
                     type == LEAKYCL_DEVICE_GPU   ? "KIND_GPU"
                     : type == LEAKYCL_DEVICE_CPU ? "KIND_CPU"
                                                  : "KIND_MODEL");
    lkt_buf_append(b, text, (size_t)n);
    n = type == LEAKYCL_DEVICE_GPU ? snprintf(text, sizeof text, "\"gpus\":[%zu]", d)
                                   : snprintf(text, sizeof text, "\"gpus\":[]");
    lkt_buf_append(b, text, (size_t)n);
    lkt_buf_append_str(b, ",\"secondary_devices\":[],\"profile\":[],\"passive\":false,"
                          "\"host_policy\":\"\"}");
  }
  lkt_buf_append(b, "]", 1);
}

LKD_HANDLER(lkd_v2_model_config) {
  const lkd_kserve_model *m = lkd_model_answer_open(info->path, r);
  if (!m)
    return;
  lkt_buf *b = &r->body;
  lkt_buf_append_str(b,
                     ",\"platform\":\"" LKD_KSERVE_PLATFORM "\",\"backend\":\"" LKD_KSERVE_PLATFORM
                     "\",\"runtime\":\"\",\"version_policy\":{\"latest\":{\"num_versions\":1}},"
                     "\"max_batch_size\":0,\"input\":[");
  /* The inputs and outputs of the model metadata, in its order: tools
   * (perf_analyzer) refuse a configured tensor the metadata lacks. */
  const char *names[3];
  size_t n = lkd_model_inputs(m, names);
  for (size_t i = 0; i < n; i++)
    lkd_append_tensor(b, names[i], 0, i == 0);
  lkt_buf_append_str(b, "],\"output\":[");
  n = lkd_model_outputs(m, names);
  for (size_t i = 0; i < n; i++)
    lkd_append_tensor(b, names[i], 1, i == 0);
  lkt_buf_append_str(b, "],\"batch_input\":[],\"batch_output\":[]");
  lkd_append_instance_groups(b, s, m->name);
  lkt_buf_append_str(b, ",\"default_model_filename\":\"\",\"cc_model_filenames\":{},"
                        "\"metric_tags\":{}");
  lkd_append_parameters(b, m);
  lkt_buf_append_str(b, ",\"model_warmup\":[]}");
}
