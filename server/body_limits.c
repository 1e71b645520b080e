/* body_limits.c - --max-body and --max-elements made to fit together: the body
 * limit a tensor of --max-elements needs in every encoding, the default
 * derived from it, and a start-up warning when a given pair contradicts. */
#include "body_limits.h"

#include "log.h"

/* What one element costs at most, per encoding (a backward job carries
 * two tensors, x and dy, of the same size):
 *   JSON: the shortest float32 text is at most 15 characters
 *         ("-1.17549435e-38"), a comma, and a row's brackets when nested
 *         one element a row: 18 bytes
 *   base64 of float32: 4 bytes as 16/3 characters (rounded up: 6)
 *   /v2 binary: 4 bytes */
#define LKD_JSON_ELEMENT_BYTES 18u
#define LKD_B64_ELEMENT_BYTES 6u
#define LKD_BINARY_ELEMENT_BYTES 4u
#define LKD_TENSORS_A_JOB 2u
/* The rest of a job's body: fields, alpha (up to one per channel, at most
 * --max-elements: counted apart), brackets, a /v2 header. */
#define LKD_BODY_SLACK ((size_t)1 << 20)

size_t lkd_limits_body_for(size_t max_elements) {
  const size_t per = LKD_TENSORS_A_JOB * LKD_JSON_ELEMENT_BYTES;
  if (max_elements > (SIZE_MAX - LKD_BODY_SLACK) / per)
    return SIZE_MAX;
  return max_elements * per + LKD_BODY_SLACK;
}

/* Elements of each of a job's two tensors that a body of max_body holds
 * at `bytes` an element. */
static size_t lkd_elements_in(size_t max_body, unsigned bytes) {
  if (max_body <= LKD_BODY_SLACK)
    return 0;
  return (max_body - LKD_BODY_SLACK) / (LKD_TENSORS_A_JOB * bytes);
}

void lkd_limits_resolve(lkd_config *cfg) {
  if (cfg->max_body == 0) { /* not given: what --max-elements needs */
    cfg->max_body = lkd_limits_body_for(cfg->max_elements);
    return;
  }
  if (cfg->max_body >= lkd_limits_body_for(cfg->max_elements))
    return;
  lkd_log(LKD_LOG_WARN,
          "--max-body %zu holds a backward job (x and dy) of at most %zu elements as JSON, %zu "
          "as base64 and %zu as /v2 binary data, but --max-elements is %zu: larger tensors get "
          "413 for the body's size; --max-body %zu (or leaving it out) fits every encoding",
          cfg->max_body, lkd_elements_in(cfg->max_body, LKD_JSON_ELEMENT_BYTES),
          lkd_elements_in(cfg->max_body, LKD_B64_ELEMENT_BYTES),
          lkd_elements_in(cfg->max_body, LKD_BINARY_ELEMENT_BYTES), cfg->max_elements,
          lkd_limits_body_for(cfg->max_elements));
}
