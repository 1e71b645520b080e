/* v2_models.c - the /v2 models, their paths and the protocol's error and empty answers. */
#include "v2_models.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "json_write.h"

const lkd_kserve_model lkd_kserve_models[] = {
    {"relu", LEAKYCL_RELU, LEAKYCL_OP_FORWARD},
    {"leaky_relu", LEAKYCL_LEAKY_RELU, LEAKYCL_OP_FORWARD},
    {"prelu", LEAKYCL_PRELU, LEAKYCL_OP_FORWARD},
    {"phased_relu", LEAKYCL_PHASED_RELU, LEAKYCL_OP_FORWARD},
    {"relu_backward", LEAKYCL_RELU, LEAKYCL_OP_BACKWARD},
    {"leaky_relu_backward", LEAKYCL_LEAKY_RELU, LEAKYCL_OP_BACKWARD},
    {"prelu_backward", LEAKYCL_PRELU, LEAKYCL_OP_BACKWARD},
    {"phased_relu_backward", LEAKYCL_PHASED_RELU, LEAKYCL_OP_BACKWARD},
};
const size_t lkd_kserve_model_count = sizeof lkd_kserve_models / sizeof lkd_kserve_models[0];
/* The server keeps one lkd_model_stats a model. */
_Static_assert(sizeof lkd_kserve_models / sizeof lkd_kserve_models[0] == LKD_KSERVE_MODELS,
               "LKD_KSERVE_MODELS (server.h) must count the models");

/* ---- a model's signature ---- */

int lkd_model_takes_alpha(const lkd_kserve_model *m) { return m->activation != LEAKYCL_RELU; }
int lkd_model_has_dalpha(const lkd_kserve_model *m) {
  return m->op == LEAKYCL_OP_BACKWARD && leakycl_activation_has_gradient(m->activation);
}
/* Whether name is an input of the model (x; dy and, in x's place, the
 * packed mask for backward; the optional per-channel alpha where the
 * activation has one). */
int lkd_model_input(const lkd_kserve_model *m, const char *name) {
  return strcmp(name, "x") == 0 ||
         (m->op == LEAKYCL_OP_BACKWARD && (strcmp(name, "dy") == 0 || strcmp(name, "mask") == 0)) ||
         (lkd_model_takes_alpha(m) && strcmp(name, "alpha") == 0);
}
size_t lkd_model_inputs(const lkd_kserve_model *m, const char *names[3]) {
  size_t n = 0;
  names[n++] = "x";
  if (m->op == LEAKYCL_OP_BACKWARD)
    names[n++] = "dy";
  if (lkd_model_takes_alpha(m))
    names[n++] = "alpha";
  return n;
}
/* The model's outputs in order: y, or dx (and dalpha). */
size_t lkd_model_outputs(const lkd_kserve_model *m, const char *names[2]) {
  names[0] = m->op == LEAKYCL_OP_FORWARD ? "y" : "dx";
  names[1] = "dalpha";
  return lkd_model_has_dalpha(m) ? 2 : 1;
}

/* ---- errors ---- */

void lkd_kserve_error_body(lkt_buf *b, const lkd_error *e) {
  lkt_buf_append_str(b, "{\"error\":");
  lkt_json_string(b, e->message[0] ? e->message : lkd_error_default_message(e->code));
  lkt_buf_append(b, "}", 1);
}

void lkd_kserve_fail(lkd_response *r, lkd_error_code code, const char *fmt, ...) {
  lkd_error e = {code, ""};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.message, sizeof e.message, fmt, ap);
  va_end(ap);
  lkd_response_error(r, &e, lkd_kserve_error_body);
}

/* The protocol's health answers: 200 means true, and the body is empty (so
 * it is not labelled JSON). */
void lkd_kserve_empty(lkd_response *r) {
  r->status = 200;
  r->content_type = "text/plain; charset=utf-8";
}

/* ---- paths ---- */

int lkd_kserve_path(const char *path) {
  return path && strncmp(path, "/v2", 3) == 0 && (path[3] == '\0' || path[3] == '/');
}

/* Copies the segment at p (up to '/' or the end) into out; returns its end,
 * or NULL when it is empty or longer than out. */
static const char *lkd_segment(const char *p, char *out, size_t cap) {
  size_t n = strcspn(p, "/");
  if (n == 0 || n >= cap)
    return NULL;
  memcpy(out, p, n);
  out[n] = '\0';
  return p + n;
}

int lkd_parse_model_path(const char *path, lkd_model_path *out) {
  static const char prefix[] = "/v2/models/";
  memset(out, 0, sizeof *out);
  if (strncmp(path, prefix, sizeof prefix - 1) != 0)
    return -1;
  const char *p = lkd_segment(path + sizeof prefix - 1, out->name, sizeof out->name);
  if (!p)
    return -1;
  if (strncmp(p, "/versions/", 10) == 0) {
    p = lkd_segment(p + 10, out->version, sizeof out->version);
    if (!p)
      return -1;
  }
  static const char *const actions[] = {"ready", "infer", "config", "stats"};
  if (*p == '\0') {
    out->action = "";
    return 0;
  }
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (p[0] == '/' && strcmp(p + 1, actions[i]) == 0) {
      out->action = actions[i];
      return 0;
    }
  return -1;
}

/* The model called name, or NULL. */
static const lkd_kserve_model *lkd_model_named(const char *name) {
  for (size_t i = 0; i < lkd_kserve_model_count; i++)
    if (strcmp(lkd_kserve_models[i].name, name) == 0)
      return &lkd_kserve_models[i];
  return NULL;
}

const char *lkd_model_label(const char *path) {
  lkd_model_path mp;
  if (!path || lkd_parse_model_path(path, &mp) != 0)
    return NULL;
  const lkd_kserve_model *m = lkd_model_named(mp.name);
  return m ? m->name : "unknown";
}

/* The model a /v2/models/... path names, or NULL with r set to a 404. */
const lkd_kserve_model *lkd_model_of_path(const char *path, lkd_response *r) {
  lkd_model_path mp;
  char t1[64];
  if (lkd_parse_model_path(path, &mp) != 0) {
    lkd_kserve_fail(r, LKD_NOT_FOUND, "no such path: %s", lkd_user_text(path, t1, sizeof t1));
    return NULL;
  }
  const lkd_kserve_model *m = lkd_model_named(mp.name);
  if (!m) {
    lkd_kserve_fail(r, LKD_NOT_FOUND,
                    "unknown model \"%s\" (models: relu, leaky_relu, prelu, phased_relu and "
                    "their <name>_backward)",
                    lkd_user_text(mp.name, t1, sizeof t1));
    return NULL;
  }
  if (mp.version[0] && strcmp(mp.version, LKD_KSERVE_VERSION) != 0) {
    lkd_kserve_fail(r, LKD_NOT_FOUND, "model \"%s\" has no version \"%s\" (its only version is %s)",
                    m->name, lkd_user_text(mp.version, t1, sizeof t1), LKD_KSERVE_VERSION);
    return NULL;
  }
  return m;
}

const lkd_kserve_model *lkd_model_answer_open(const char *path, lkd_response *r) {
  const lkd_kserve_model *m = lkd_model_of_path(path, r);
  if (!m)
    return NULL;
  lkd_response_json(r);
  lkt_buf_append_str(&r->body, "{\"name\":");
  lkt_json_string(&r->body, m->name);
  return m;
}
