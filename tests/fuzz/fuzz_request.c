/* fuzz_request.c - fuzz target for the daemon's request decoder
 * (lkd_request_decode in server/api/v1_decode.c: splice, envelope, every job decoded
 * and validated; no OpenCL). Each input is decoded as the body of
 * /v1/forward, /v1/backward and /v1/batch. Invariants: a rejected request
 * or job has an error code of the table with a 4xx status, a non-empty
 * printable message and a JSON error body; an accepted job agrees with
 * cJSON's own reading of the original body (values to the ulp, shape,
 * base64 bytes, activation, alpha, beta, axis, device) and with the job
 * invariants of jobs.h; its tensors print and parse back bit for bit. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/float_bits.h"
#include "base64.h"
#include "devices.h"
#include "errors.h"
#include "fuzz.h"
#include "v1_request.h"

const char lk_fuzz_target[] = "request";

/* Small enough that 413 paths are reachable with short inputs. */
#define FUZZ_MAX_ELEMENTS 1000
#define FUZZ_MAX_DEPTH 64
#define FUZZ_MAX_JOBS 100
#define FUZZ_MAX_INPUT (1u << 20)

/* Whether a and b are the same float or neighbours (cJSON reads a double
 * and rounds it to float, which can differ from the codec's correctly
 * rounded float32 by one ulp); NaN matches only NaN. */
static int close_floats(float a, float b) {
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  uint32_t ua = bits_of(a), ub = bits_of(b);
  /* Map to a monotonic integer line (-0 and +0 both to 0). */
  int64_t ia = (ua >> 31) ? -(int64_t)(ua & 0x7fffffffu) : (int64_t)ua;
  int64_t ib = (ub >> 31) ? -(int64_t)(ub & 0x7fffffffu) : (int64_t)ub;
  return llabs(ia - ib) <= 1;
}

static void check_error(const lkd_error *e, const char *what) {
  FUZZ_CHECK(e->code > LKD_OK && e->code < LKD_ERROR_COUNT_, "%s: error code %d", what,
             (int)e->code);
  const int status = lkd_error_status(e->code);
  FUZZ_CHECK(status >= 400 && status < 500, "%s: %s has status %d, not 4xx (%s)", what,
             lkd_error_name(e->code), status, e->message);
  const char *nul = memchr(e->message, '\0', sizeof e->message);
  FUZZ_CHECK(nul && nul != e->message, "%s: empty or unterminated message", what);
  for (const char *p = e->message; *p; p++)
    FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
               "%s: message has byte 0x%02x at %td: %s", what, (unsigned char)*p, p - e->message,
               e->message);
  lkt_buf b = {0};
  lkd_error_append_body(&b, e);
  FUZZ_CHECK(!b.oom, "%s: out of memory", what);
  cJSON *body = cJSON_ParseWithLength(b.data, b.len);
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive(body, "error");
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
  FUZZ_CHECK(cJSON_IsString(code) && strcmp(code->valuestring, lkd_error_name(e->code)) == 0 &&
                 cJSON_IsString(msg) && strcmp(msg->valuestring, e->message) == 0,
             "%s: error body %.*s does not read back", what, (int)b.len, b.data);
  cJSON_Delete(body);
  lkt_buf_free(&b);
}

/* A tensor as cJSON reads it: the shape from the first element at each
 * level, the leaves in order. */
typedef struct ref_tensor {
  float *values;
  size_t count, cap;
  size_t rank;
  size_t shape[64];
} ref_tensor;

static int ref_leaf(const cJSON *item, float *out) {
  if (cJSON_IsNumber(item)) {
    *out = (float)item->valuedouble;
    return 0;
  }
  if (cJSON_IsString(item)) {
    if (strcmp(item->valuestring, "NaN") == 0)
      *out = NAN;
    else if (strcmp(item->valuestring, "Infinity") == 0)
      *out = INFINITY;
    else if (strcmp(item->valuestring, "-Infinity") == 0)
      *out = -INFINITY;
    else
      return -1;
    return 0;
  }
  return -1;
}

/* Collects the leaves under item at depth; -1 when it is no rectangular
 * tensor of numbers. */
static int ref_collect(const cJSON *item, size_t depth, ref_tensor *t) {
  if (depth == t->rank) {
    float v;
    if (ref_leaf(item, &v) != 0)
      return -1;
    if (t->count == t->cap) {
      size_t cap = t->cap ? 2 * t->cap : 64;
      float *grown = realloc(t->values, cap * sizeof *grown);
      if (!grown)
        return -1;
      t->values = grown;
      t->cap = cap;
    }
    t->values[t->count++] = v;
    return 0;
  }
  if (!cJSON_IsArray(item) || (size_t)cJSON_GetArraySize(item) != t->shape[depth])
    return -1;
  for (const cJSON *c = item->child; c; c = c->next)
    if (ref_collect(c, depth + 1, t) != 0)
      return -1;
  return 0;
}

static int ref_tensor_of(const cJSON *item, ref_tensor *t) {
  memset(t, 0, sizeof *t);
  for (const cJSON *c = item; cJSON_IsArray(c); c = c->child) {
    if (t->rank == sizeof t->shape / sizeof t->shape[0])
      return -1;
    t->shape[t->rank++] = (size_t)cJSON_GetArraySize(c);
  }
  return ref_collect(item, 0, t);
}

/* RFC 4648 base64 decoding written here, for an oracle: -1 on any bad
 * character, length or padding. */
static int ref_base64(const char *s, unsigned char **out, size_t *n) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t len = strlen(s);
  *out = NULL;
  *n = 0;
  if (len % 4)
    return -1;
  unsigned char *buf = malloc(len / 4 * 3 + 1);
  if (!buf)
    return -1;
  size_t o = 0;
  for (size_t i = 0; i < len; i += 4) {
    uint32_t acc = 0;
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      const char c = s[i + k];
      const char *pos = c ? strchr(alphabet, c) : NULL;
      if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || s[i + 3] == '=')) {
        pad++;
        acc <<= 6;
      } else if (pos && !pad) {
        acc = acc << 6 | (uint32_t)(pos - alphabet);
      } else {
        free(buf);
        return -1;
      }
    }
    buf[o++] = (unsigned char)(acc >> 16);
    if (pad < 2)
      buf[o++] = (unsigned char)(acc >> 8);
    if (pad < 1)
      buf[o++] = (unsigned char)acc;
  }
  *out = buf;
  *n = o;
  return 0;
}

/* The values of an accepted tensor field against the original body. */
static void check_tensor_against(const cJSON *orig, const char *name, leakycl_dtype dtype,
                                 const void *raw, size_t count, size_t *rank, size_t *shape) {
  const float *values = raw;
  const size_t esize = leakycl_dtype_size(dtype);
  char b64name[16];
  snprintf(b64name, sizeof b64name, "%s_b64", name);
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(orig, name);
  const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(orig, b64name);
  FUZZ_CHECK((arr != NULL) != (b64 != NULL), "%s accepted with %s and %s both or neither", name,
             name, b64name);
  if (b64) {
    unsigned char *bytes;
    size_t n;
    FUZZ_CHECK(cJSON_IsString(b64) && ref_base64(b64->valuestring, &bytes, &n) == 0,
               "%s accepted but is no base64", b64name);
    FUZZ_CHECK(n == count * esize, "%s: %zu bytes decode to %zu values", b64name, n, count);
    /* 16-bit patterns: the bytes themselves (little-endian host). */
    FUZZ_CHECK(esize == 4 || n == 0 || memcmp(raw, bytes, n) == 0, "%s: %s patterns differ",
               b64name, leakycl_dtype_name(dtype));
    for (size_t i = 0; i < count && esize == 4; i++) {
      uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                   (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
      FUZZ_CHECK(bits_of(values[i]) == u, "%s[%zu]: 0x%08x, the base64 says 0x%08x", b64name, i,
                 bits_of(values[i]), u);
    }
    free(bytes);
    *rank = 1;
    shape[0] = count;
    return;
  }
  FUZZ_CHECK(dtype == LEAKYCL_FLOAT32, "%s: a JSON array accepted as %s", name,
             leakycl_dtype_name(dtype));
  ref_tensor t;
  FUZZ_CHECK(ref_tensor_of(arr, &t) == 0, "%s accepted but cJSON sees no tensor of numbers", name);
  FUZZ_CHECK(t.count == count && t.rank >= 1 && t.rank <= LKT_MAX_RANK,
             "%s: %zu values of rank %zu by cJSON, %zu decoded", name, t.count, t.rank, count);
  for (size_t i = 0; i < count; i++)
    FUZZ_CHECK(close_floats(values[i], t.values[i]), "%s[%zu]: 0x%08x, cJSON reads 0x%08x", name, i,
               bits_of(values[i]), bits_of(t.values[i]));
  *rank = t.rank;
  memcpy(shape, t.shape, t.rank * sizeof shape[0]);
  free(t.values);
}

/* An integer the way the decoder must read it: from valuedouble. */
static int ref_integral(const cJSON *item, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
      item->valuedouble != floor(item->valuedouble) || item->valuedouble < lo ||
      item->valuedouble > hi)
    return -1;
  *out = item->valuedouble;
  return 0;
}

/* An accepted job against cJSON's reading of its object in the original
 * body (orig), field by field. */
static void check_job_against(const lkd_decode_cfg *cfg, const cJSON *orig, const lkd_job *job) {
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(orig, "activation");
  FUZZ_CHECK(cJSON_IsString(act) &&
                 strcmp(act->valuestring, leakycl_activation_name(job->run.params.activation)) == 0,
             "activation %d accepted from another name", (int)job->run.params.activation);
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(orig, "op");
  if (op)
    FUZZ_CHECK(cJSON_IsString(op) &&
                   strcmp(op->valuestring,
                          job->run.op == LEAKYCL_OP_FORWARD ? "forward" : "backward") == 0,
               "op differs from the body's");
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(orig, "from");
  FUZZ_CHECK((job->run.source == LEAKYCL_FROM_Y) ==
                 (cJSON_IsString(from) && strcmp(from->valuestring, "y") == 0),
             "source %d but from is %s", (int)job->run.source,
             cJSON_IsString(from) ? from->valuestring : "absent");
  const cJSON *dev = cJSON_GetObjectItemCaseSensitive(orig, "device");
  if (dev) {
    long want_dev = lkd_device_match(cfg->devices, cfg->device_count, dev->valuestring);
    FUZZ_CHECK(want_dev >= 0 && job->device == (size_t)want_dev, "device %zu, the SPEC names %ld",
               job->device, want_dev);
  } else {
    FUZZ_CHECK(job->device == LKD_DEVICE_ANY, "device %zu for a job naming none", job->device);
  }

  /* Tensors: the sign source is y when from "y" gave a y, else x. */
  const char *src =
      job->run.source == LEAKYCL_FROM_Y && (cJSON_GetObjectItemCaseSensitive(orig, "y") ||
                                            cJSON_GetObjectItemCaseSensitive(orig, "y_b64"))
          ? "y"
          : "x";
  size_t rank = 0, shape[LKT_MAX_RANK];
  /* The dtype: the body's name, float32 when absent. */
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(orig, "dtype");
  FUZZ_CHECK(dt ? cJSON_IsString(dt) &&
                      strcmp(dt->valuestring, leakycl_dtype_name(job->run.dtype)) == 0
                : job->run.dtype == LEAKYCL_FLOAT32,
             "dtype %s accepted from %s", leakycl_dtype_name(job->run.dtype),
             cJSON_IsString(dt) ? dt->valuestring : "no string");
  check_tensor_against(orig, src, job->run.dtype, job->run.x, job->count, &rank, shape);
  if (job->run.op == LEAKYCL_OP_BACKWARD) {
    size_t dy_rank, dy_shape[LKT_MAX_RANK];
    check_tensor_against(orig, "dy", job->run.dtype, job->run.dy, job->count, &dy_rank, dy_shape);
  }

  /* The view: shape (read from valuedouble) or the tensor's own, and the
   * channel axis with its default, written out here. */
  const cJSON *shp = cJSON_GetObjectItemCaseSensitive(orig, "shape");
  if (shp) {
    FUZZ_CHECK(cJSON_IsArray(shp) && cJSON_GetArraySize(shp) <= LEAKYCL_MAX_RANK,
               "shape accepted but is no array of rank <= 16");
    rank = 0;
    for (const cJSON *d = shp->child; d; d = d->next) {
      double v;
      FUZZ_CHECK(ref_integral(d, 0, 9007199254740992.0, &v) == 0,
                 "shape[%zu] accepted but is no size", rank);
      shape[rank++] = (size_t)v;
    }
  }
  long axis = rank >= 2 ? 1 : 0;
  const cJSON *ax = cJSON_GetObjectItemCaseSensitive(orig, "channel_axis");
  if (ax) {
    double v;
    FUZZ_CHECK(ref_integral(ax, -1e6, 1e6, &v) == 0, "channel_axis accepted but no integer");
    axis = (long)v;
  }
  /* A rank-0 tensor is one element, its axis 0 or -1. */
  FUZZ_CHECK(rank == 0 ? axis == 0 || axis == -1 : axis >= -(long)rank && axis < (long)rank,
             "channel_axis %ld accepted for rank %zu", axis, rank);
  if (axis < 0)
    axis += rank == 0 ? 1 : (long)rank;
  /* An empty tensor's other dimensions may be anything (their product may
   * even overflow): then only the channel count is defined, and the view
   * must hold no element. */
  int empty = 0;
  for (size_t d = 0; d < rank; d++)
    empty |= shape[d] == 0;
  leakycl_view want = {1, 1, 1};
  for (size_t d = 0; d < rank && !empty; d++) {
    size_t *part = (long)d < axis ? &want.outer : (long)d == axis ? &want.channels : &want.inner;
    FUZZ_CHECK(*part <= SIZE_MAX / shape[d], "the shape overflows");
    *part *= shape[d];
  }
  if (empty)
    FUZZ_CHECK(
        job->run.view.channels == shape[axis] &&
            (job->run.view.outer == 0 || job->run.view.channels == 0 || job->run.view.inner == 0),
        "empty shape: view [%zu, %zu, %zu], channel axis %ld of size %zu", job->run.view.outer,
        job->run.view.channels, job->run.view.inner, axis, shape[axis]);
  else
    FUZZ_CHECK(job->run.view.outer == want.outer && job->run.view.channels == want.channels &&
                   job->run.view.inner == want.inner,
               "view [%zu, %zu, %zu], want [%zu, %zu, %zu] (rank %zu, axis %ld)",
               job->run.view.outer, job->run.view.channels, job->run.view.inner, want.outer,
               want.channels, want.inner, rank, axis);

  /* alpha and beta */
  const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(orig, "alpha");
  if (!alpha) {
    FUZZ_CHECK(job->run.params.alpha_count == 0, "alpha_count %zu without alpha",
               job->run.params.alpha_count);
  } else if (cJSON_IsArray(alpha)) {
    ref_tensor t;
    FUZZ_CHECK(ref_tensor_of(alpha, &t) == 0 && t.rank == 1 &&
                   t.count == job->run.params.alpha_count,
               "alpha: %zu values decoded from another array", job->run.params.alpha_count);
    for (size_t i = 0; i < t.count; i++)
      FUZZ_CHECK(close_floats(job->run.params.alpha[i], t.values[i]),
                 "alpha[%zu]: 0x%08x, cJSON reads 0x%08x", i, bits_of(job->run.params.alpha[i]),
                 bits_of(t.values[i]));
    free(t.values);
  } else {
    FUZZ_CHECK(cJSON_IsNumber(alpha) && job->run.params.alpha_count == 1 &&
                   close_floats(job->run.params.alpha[0], (float)alpha->valuedouble),
               "alpha 0x%08x decoded from another number", bits_of(job->run.params.alpha[0]));
  }
  const cJSON *beta = cJSON_GetObjectItemCaseSensitive(orig, "beta");
  if (beta)
    FUZZ_CHECK(cJSON_IsNumber(beta) && close_floats(job->run.params.beta, (float)beta->valuedouble),
               "beta 0x%08x decoded from another number", bits_of(job->run.params.beta));
}

/* The invariants jobs.h states for a decoded job, and the encoder's round
 * trip over its values. */
static void check_job(const lkd_decode_cfg *cfg, lkd_endpoint endpoint, const lkd_job *job) {
  FUZZ_CHECK(endpoint == LKD_ENDPOINT_BATCH ||
                 job->run.op ==
                     (endpoint == LKD_ENDPOINT_FORWARD ? LEAKYCL_OP_FORWARD : LEAKYCL_OP_BACKWARD),
             "op %d on endpoint %d", (int)job->run.op, (int)endpoint);
  /* A job naming no device is placed later, by the scheduler. */
  FUZZ_CHECK(job->device == LKD_DEVICE_ANY || job->device < cfg->device_count, "device %zu of %zu",
             job->device, cfg->device_count);
  FUZZ_CHECK(job->count <= cfg->max_elements, "%zu elements over the limit", job->count);
  const leakycl_view v = job->run.view;
  size_t product = 0; /* an empty view holds nothing, whatever its other parts */
  if (v.outer && v.channels && v.inner) {
    FUZZ_CHECK(v.outer <= SIZE_MAX / v.channels && v.outer * v.channels <= SIZE_MAX / v.inner,
               "view [%zu, %zu, %zu] overflows", v.outer, v.channels, v.inner);
    product = v.outer * v.channels * v.inner;
  }
  FUZZ_CHECK(product == job->count, "view [%zu, %zu, %zu] holds %zu, the job has %zu values",
             v.outer, v.channels, v.inner, product, job->count);
  FUZZ_CHECK(job->count == 0 || job->run.x, "no x for %zu values", job->count);
  if (job->run.op == LEAKYCL_OP_BACKWARD)
    FUZZ_CHECK(job->count == 0 || job->run.dy, "no dy for %zu values", job->count);
  else
    FUZZ_CHECK(!job->run.dy, "forward with a dy");
  FUZZ_CHECK(job->run.source == LEAKYCL_FROM_X || job->run.op == LEAKYCL_OP_BACKWARD,
             "from y on a forward job");

  const leakycl_params *p = &job->run.params;
  const size_t ac = p->alpha_count;
  FUZZ_CHECK(ac == 0 || ac == 1 || ac == v.channels, "alpha_count %zu for %zu channels", ac,
             v.channels);
  FUZZ_CHECK(ac == 0 || (p->alpha && p->activation != LEAKYCL_RELU), "alpha_count %zu for %s", ac,
             leakycl_activation_name(p->activation));
  for (size_t i = 0; i < ac; i++)
    FUZZ_CHECK(isfinite(p->alpha[i]), "alpha[%zu] = %g", i, (double)p->alpha[i]);
  leakycl_params defaults;
  FUZZ_CHECK(leakycl_params_init(&defaults, p->activation) == LEAKYCL_OK, "activation %d",
             (int)p->activation);
  FUZZ_CHECK(isfinite(p->beta), "beta %g", (double)p->beta);
  if (p->activation != LEAKYCL_PHASED_RELU)
    FUZZ_CHECK(bits_of(p->beta) == bits_of(defaults.beta), "beta %g set for %s", (double)p->beta,
               leakycl_activation_name(p->activation));
  const int want_grads = job->run.op == LEAKYCL_OP_BACKWARD && job->run.source == LEAKYCL_FROM_X &&
                         leakycl_activation_has_gradient(p->activation);
  FUZZ_CHECK(job->want_grads == want_grads && job->grad_count == (ac ? ac : 1),
             "want_grads %d (want %d), grad_count %zu for alpha_count %zu", job->want_grads,
             want_grads, job->grad_count, ac);
  FUZZ_CHECK(!job->run.out && !job->grads.dalpha && !job->ran, "a decoded job has results");

  /* The response encodes the output like the input: print x that way and
   * parse it back (every value read, so ASan checks the borrowed memory). */
  lkt_buf b = {0};
  size_t want_rank = 1, want_shape[LKT_MAX_RANK] = {job->count};
  if (job->encoding == LKD_ENC_NESTED) {
    size_t outp = 1;
    FUZZ_CHECK(job->out_rank > 1 && job->out_rank <= LKT_MAX_RANK, "nested with rank %zu",
               job->out_rank);
    for (size_t d = 0; d < job->out_rank; d++)
      outp *= job->out_shape[d];
    FUZZ_CHECK(outp == job->count, "nested output shape holds %zu, the job %zu", outp, job->count);
    lkt_array_print(&b, job->run.x, job->count, job->out_shape, job->out_rank);
    want_rank = job->out_rank;
    memcpy(want_shape, job->out_shape, want_rank * sizeof want_shape[0]);
  } else if (job->encoding == LKD_ENC_FLAT) {
    FUZZ_CHECK(job->out_rank == 1, "flat with rank %zu", job->out_rank);
    lkt_array_print(&b, job->run.x, job->count, &job->count, 1);
  } else {
    FUZZ_CHECK(job->encoding == LKD_ENC_B64 && job->out_rank == 1 &&
                   job->out_shape[0] == job->count,
               "encoding %d, rank %zu", (int)job->encoding, job->out_rank);
    lkt_base64_encode(&b, (const unsigned char *)job->run.x,
                      job->count * leakycl_dtype_size(job->run.dtype));
  }
  FUZZ_CHECK(!b.oom, "out of memory encoding");
  if (job->encoding == LKD_ENC_B64) {
    unsigned char *bytes = NULL;
    size_t n = 0;
    char err[160];
    FUZZ_CHECK(lkt_base64_decode(b.data ? b.data : "", b.len, &bytes, &n, err, sizeof err) == 0 &&
                   n == job->count * leakycl_dtype_size(job->run.dtype) &&
                   (n == 0 || memcmp(bytes, job->run.x, n) == 0),
               "base64 of %zu values does not decode back", job->count);
    free(bytes);
  } else {
    lkt_limits limits = {job->count + 1, LKT_MAX_RANK};
    lkt_tensor t;
    const char *stop = NULL;
    size_t bad = 0;
    char err[160] = "";
    FUZZ_CHECK(lkt_array_parse(b.data, b.data + b.len, &limits, &t, &stop, &bad, err, sizeof err) ==
                       0 &&
                   stop == b.data + b.len,
               "printed %zu values do not parse back: %s", job->count, err);
    FUZZ_CHECK(t.count == job->count && t.rank == want_rank, "read back %zu values of rank %zu",
               t.count, t.rank);
    for (size_t d = 0; d < want_rank; d++)
      FUZZ_CHECK(t.shape[d] == want_shape[d], "read back shape[%zu] = %zu, want %zu", d, t.shape[d],
                 want_shape[d]);
    const float *xv = job->run.x; /* JSON tensors are float32 */
    for (size_t i = 0; i < job->count; i++)
      FUZZ_CHECK(isnan(xv[i]) ? isnan(t.values[i]) : bits_of(t.values[i]) == bits_of(xv[i]),
                 "value %zu: 0x%08x printed and read back as 0x%08x", i, bits_of(xv[i]),
                 bits_of(t.values[i]));
    lkt_tensor_free(&t);
  }
  lkt_buf_free(&b);
  if (job->run.op == LEAKYCL_OP_BACKWARD) {
    unsigned acc = 0; /* every dy byte read: ASan checks the borrowed memory */
    const unsigned char *dyb = job->run.dy;
    for (size_t i = 0; i < job->count * leakycl_dtype_size(job->run.dtype); i++)
      acc ^= dyb[i];
    (void)acc;
  }
  if (job->id) {
    char *id = cJSON_PrintUnformatted(job->id);
    FUZZ_CHECK(id != NULL, "the job's id does not print");
    cJSON_free(id);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX_INPUT)
    return 0;
  leakycl_device_info devs[3];
  memset(devs, 0, sizeof devs);
  static const struct {
    leakycl_device_type type;
    const char *name, *platform;
  } fake[3] = {{LEAKYCL_DEVICE_CPU, "pthread-AMD EPYC", "Portable Computing Language"},
               {LEAKYCL_DEVICE_GPU, "NVIDIA H100", "NVIDIA CUDA"},
               {LEAKYCL_DEVICE_ACCELERATOR, "Intel FPGA Emulation", "Intel(R) FPGA"}};
  for (unsigned i = 0; i < 3; i++) {
    devs[i].platform_index = i;
    devs[i].type = fake[i].type;
    snprintf(devs[i].name, sizeof devs[i].name, "%s", fake[i].name);
    snprintf(devs[i].platform_name, sizeof devs[i].platform_name, "%s", fake[i].platform);
  }
  const lkd_decode_cfg cfg = {FUZZ_MAX_ELEMENTS, FUZZ_MAX_DEPTH, FUZZ_MAX_JOBS, devs, 3};

  char *body = malloc(size + 1);
  if (!body)
    return 0;
  /* cJSON's reading of the untouched body: the oracle for accepted jobs. */
  memcpy(body, data, size);
  body[size] = '\0';
  cJSON *orig =
      memchr(body, '\0', size) ? NULL : cJSON_ParseWithLengthOpts(body, size + 1, NULL, 1);

  for (int ep = LKD_ENDPOINT_FORWARD; ep <= LKD_ENDPOINT_BATCH; ep++) {
    const lkd_endpoint endpoint = (lkd_endpoint)ep;
    memcpy(body, data, size); /* decoding splices the body in place */
    body[size] = '\0';
    lkd_request req;
    if (lkd_request_decode(&cfg, endpoint, body, size, &req) != 0) {
      check_error(&req.err, "request");
    } else {
      FUZZ_CHECK(req.jobs != NULL, "no jobs");
      FUZZ_CHECK(endpoint == LKD_ENDPOINT_BATCH || req.njobs == 1, "%zu jobs on a single endpoint",
                 req.njobs);
      /* cJSON may fail on a body the decoder takes (it truncates numbers
       * over 63 characters, which the codec reads exactly): then there is
       * no oracle, only the job invariants. */
      const cJSON *list = cJSON_GetObjectItemCaseSensitive(orig, "jobs");
      if (orig && endpoint == LKD_ENDPOINT_BATCH)
        FUZZ_CHECK(cJSON_IsArray(list) && (size_t)cJSON_GetArraySize(list) == req.njobs,
                   "%zu jobs decoded from a list of %d", req.njobs, cJSON_GetArraySize(list));
      const cJSON *item = endpoint == LKD_ENDPOINT_BATCH ? (list ? list->child : NULL) : orig;
      for (size_t i = 0; i < req.njobs; i++, item = item ? item->next : NULL) {
        if (req.jobs[i].err.code != LKD_OK) {
          check_error(&req.jobs[i].err, "job");
          continue;
        }
        check_job(&cfg, endpoint, &req.jobs[i]);
        if (item)
          check_job_against(&cfg, item, &req.jobs[i]);
      }
    }
    lkd_request_free(&req);
  }
  cJSON_Delete(orig);
  free(body);
  return 0;
}
