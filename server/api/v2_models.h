/* v2_models.h - the Open Inference Protocol's models (relu, leaky_relu,
 * prelu, phased_relu and their <name>_backward), their signatures, the
 * /v2/models/... paths that name them, and the protocol's answers that
 * every /v2 handler writes (errors, empty 200s). */
#ifndef LEAKYCLD_V2_MODELS_H
#define LEAKYCLD_V2_MODELS_H

#include <stddef.h>

#include "leakycl.h"
#include "route.h"

/* Every model has this one version. */
#define LKD_KSERVE_VERSION "1"
#define LKD_KSERVE_PLATFORM "leakycl"

typedef struct lkd_kserve_model {
  const char *name;
  leakycl_activation activation;
  leakycl_op op;
} lkd_kserve_model;

extern const lkd_kserve_model lkd_kserve_models[];
extern const size_t lkd_kserve_model_count;

/* Whether the model takes alpha (all but relu). */
int lkd_model_takes_alpha(const lkd_kserve_model *m);
/* Whether the model answers dalpha (backward of prelu and phased_relu). */
int lkd_model_has_dalpha(const lkd_kserve_model *m);
/* Whether name is an input of the model (x; dy for backward; the optional
 * per-channel alpha where the activation has one). */
int lkd_model_input(const lkd_kserve_model *m, const char *name);
/* The model's listed inputs in order: x, dy for backward, alpha where the
 * activation has one (the model metadata and configuration list these;
 * not the packed mask, which tools that send every listed input would
 * send beside x). Returns how many. */
size_t lkd_model_inputs(const lkd_kserve_model *m, const char *names[3]);
/* The model's outputs in order: y, or dx (and dalpha). Returns how many. */
size_t lkd_model_outputs(const lkd_kserve_model *m, const char *names[2]);

/* "/v2/models/NAME[/versions/VERSION][/ACTION]", split. */
typedef struct lkd_model_path {
  char name[64];
  char version[16];   /* "" when the path names none */
  const char *action; /* "", "ready", "infer", "config" or "stats" */
} lkd_model_path;

/* Whether path belongs to the protocol: "/v2" or under "/v2/". */
int lkd_kserve_path(const char *path);
/* Splits a model path; 0, or -1 when path is none. */
int lkd_parse_model_path(const char *path, lkd_model_path *out);
/* The metrics label of the model a /v2/models/... path names: its name
 * (a static string), "unknown" for a name that is no model's, NULL for a
 * path that names no model. */
const char *lkd_model_label(const char *path);
/* The model a /v2/models/... path names, or NULL with r set to a 404. */
const lkd_kserve_model *lkd_model_of_path(const char *path, lkd_response *r);

/* The model a /v2/models/... path names, with r made a 200 JSON answer
 * that opens {"name":"MODEL"; or NULL with r set to a 404. */
const lkd_kserve_model *lkd_model_answer_open(const char *path, lkd_response *r);

/* Appends KServe's error body {"error":"message"} (tritonclient raises
 * InferenceServerException with the message). */
void lkd_kserve_error_body(lkt_buf *b, const lkd_error *e);
/* Replaces r with a KServe error of code and a printf-style message. */
void lkd_kserve_fail(lkd_response *r, lkd_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The protocol's health answers: 200 means true, and the body is empty (so
 * it is not labelled JSON). */
void lkd_kserve_empty(lkd_response *r);

#endif
