/* check_cases.c - the cases of `leakycl check`: one job's shape, alphas
 * and data, and the quick and full suites built from them (check_run.c runs
 * a case). */
#include "check_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ck_op_name(ck_op op) {
  static const char *const names[CK_OP_COUNT] = {
      "forward", "backward", "backward+dalpha", "reduce", "backward-from-y", "backward-from-mask"};
  return (unsigned)op < CK_OP_COUNT ? names[op] : "?";
}

/* ---- a job's shape and parameters ---- */

leakycl_view ck_job_view(const ck_job *j) {
  leakycl_view v;
  if (leakycl_view_from_shape(j->shape, j->rank, j->axis, &v, NULL, 0) != LEAKYCL_OK)
    v = leakycl_view_flat(0); /* not reached: the suites build valid shapes */
  return v;
}

size_t ck_job_count(const ck_job *j) {
  size_t n = 1;
  for (size_t d = 0; d < j->rank; d++)
    n *= j->shape[d];
  return n;
}

ck_call ck_job_call(const ck_job *j) {
  const ck_call c = {j->act,         j->dtype,       j->op != CK_FORWARD && j->op != CK_REDUCE,
                     ck_job_view(j), j->alpha_count, j->alpha,
                     j->beta,        j->n,           j->x,
                     j->dy,          j->conventions};
  return c;
}

float ck_job_alpha(const ck_job *j, size_t c) {
  const ck_call call = ck_job_call(j);
  return ck_call_alpha(&call, c);
}

void ck_job_describe(const ck_job *j, char *buf, size_t len) {
  size_t pos = 0;
#define PUT(...)                                                                                   \
  do {                                                                                             \
    int w_ = snprintf(buf + pos, len - pos, __VA_ARGS__);                                          \
    pos = w_ < 0 || (size_t)w_ >= len - pos ? len - 1 : pos + (size_t)w_;                          \
  } while (0)
  if (len == 0)
    return;
  buf[0] = '\0';
  PUT("%s (%s) %s %s [", leakycl_activation_name(j->act), leakycl_conventions_name(j->conventions),
      ck_op_name(j->op), leakycl_dtype_name(j->dtype));
  for (size_t d = 0; d < j->rank; d++)
    PUT("%s%zu", d ? ", " : "", j->shape[d]);
  PUT("]");
  if (j->alpha_count > 1)
    PUT(" axis %ld", j->axis);
  if (j->act != LEAKYCL_RELU) {
    PUT(" alpha [");
    const size_t na = j->alpha_count ? j->alpha_count : 1;
    for (size_t c = 0; c < na; c++)
      PUT("%s%.9g", c ? ", " : "", (double)ck_job_alpha(j, c));
    PUT("]%s", j->alpha_count == 0 ? " (default)" : "");
  }
  if (j->act == LEAKYCL_PHASED_RELU)
    PUT(" beta %.9g", (double)j->beta);
  if (j->inplace)
    PUT(" in place");
#undef PUT
}

/* ---- owned arrays ---- */

int ck_job_set_data(ck_job *j, size_t n, const float *x, const float *dy) {
  float *nx = malloc((n ? n : 1) * sizeof(float)), *ndy = malloc((n ? n : 1) * sizeof(float));
  if (!nx || !ndy) {
    free(nx);
    free(ndy);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    nx[i] = x[i];
    ndy[i] = dy ? dy[i] : 1.0f;
  }
  free(j->x);
  free(j->dy);
  j->x = nx, j->dy = ndy, j->n = n;
  j->rank = 1, j->shape[0] = n, j->axis = 0;
  return 0;
}

int ck_case_copy(ck_case *dst, const ck_case *src) {
  *dst = *src;
  for (size_t k = 0; k < src->count; k++) {
    dst->jobs[k].x = dst->jobs[k].dy = NULL;
    ck_job tmp = src->jobs[k];
    if (ck_job_set_data(&dst->jobs[k], src->jobs[k].n, src->jobs[k].x, src->jobs[k].dy) != 0) {
      dst->count = k;
      ck_case_free(dst);
      return -1;
    }
    /* set_data flattens; keep the source's shape. */
    dst->jobs[k].rank = tmp.rank, dst->jobs[k].axis = tmp.axis;
    memcpy(dst->jobs[k].shape, tmp.shape, sizeof tmp.shape);
  }
  return 0;
}

void ck_case_free(ck_case *c) {
  for (size_t k = 0; k < c->count; k++) {
    free(c->jobs[k].x);
    free(c->jobs[k].dy);
    c->jobs[k].x = c->jobs[k].dy = NULL;
  }
  c->count = 0;
}

/* ---- the suites ---- */

typedef struct shape {
  size_t rank, d[CK_MAX_RANK];
  long axis;
} shape;

/* Flat sizes: tiny, around 64 (vector and work-group multiples), past the
 * CPU strategy's 16 x 16 x 16 work-group span (4097), and over two
 * reduction blocks of 16 Ki (40000). */
static const size_t flat_full[] = {1, 3, 15, 17, 63, 64, 65, 1000, 1025, 4097, 40000};
static const size_t flat_short[] = {1, 3, 63, 64, 65, 1000, 4097}; /* halves, quick */
/* Views for per-channel alpha: odd inner (35: vector width 1), inner 16
 * and 24 (the width halves until it divides), channels last, and an empty
 * tensor (empty channels: dalpha 0, NaN diagnostics). */
static const shape nd_shapes[] = {{4, {2, 3, 5, 7}, 1}, {3, {4, 5, 16}, 1},   {2, {9, 7}, -1},
                                  {3, {0, 3, 5}, 1},    {4, {2, 3, 4, 4}, 1}, {3, {1, 9, 33}, 1},
                                  {3, {3, 5, 24}, 1}};
#define N_ND (sizeof nd_shapes / sizeof nd_shapes[0])

/* Alphas: negative, above 1, tiny (products underflow), zero. */
static const float prelu_alphas[] = {0.25f, -0.75f, 2.5f, 1e-30f, 0.1f, 0.0f, -3.0f, 1.0f, 0.01f};
static const float positive_alphas[] = {0.25f, 0.01f, 1.5f, 1e-30f, 3.0f, 0.5f, 1.0f};
/* phased_relu (alpha, beta): inexact thresholds (0.7, 0.1), t > 0 (an empty
 * band), t = -0, t = -1e30, alpha 0 (t = -Inf). */
static const float phased_pairs[][2] = {{0.1f, 0.5f},  {0.7f, 0.1f},   {-0.3f, 0.7f},
                                        {2.0f, -1.0f}, {1e-30f, 1.0f}, {3.0f, 0.0f},
                                        {0.3f, 1e-3f}, {1.5f, 2.0f},   {0.0f, 0.5f}};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct builder {
  ck_plan *p;
  uint64_t serial; /* seeds the data and picks alphas */
  int oom;
} builder;

static uint64_t splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static void set_alphas(ck_job *j, int per_channel, uint64_t k) {
  const int positive = j->op == CK_FROM_Y;
  const float *pool = positive ? positive_alphas : prelu_alphas;
  const size_t np = positive ? COUNT_OF(positive_alphas) : COUNT_OF(prelu_alphas);
  const size_t pair = (size_t)(k % COUNT_OF(phased_pairs));
  j->beta = j->act == LEAKYCL_PHASED_RELU ? phased_pairs[pair][1] : 0.0f;
  j->conventions = (leakycl_conventions)(splitmix(k) % LEAKYCL_CONVENTIONS_COUNT);
  if (j->act == LEAKYCL_RELU) {
    j->alpha_count = 0;
  } else if (per_channel) {
    j->alpha_count = ck_job_view(j).channels;
    for (size_t c = 0; c < j->alpha_count; c++)
      j->alpha[c] = pool[(k + 3 * c) % np];
  } else if (k % 5 == 0) { /* the activation's default */
    j->alpha_count = 0;
    j->beta = j->act == LEAKYCL_PHASED_RELU ? LEAKYCL_DEFAULT_PHASED_BETA : 0.0f;
  } else {
    j->alpha_count = 1;
    j->alpha[0] = j->act == LEAKYCL_PHASED_RELU && !positive ? phased_pairs[pair][0] : pool[k % np];
  }
}

/* Random data for a job whose shape and alphas are set. */
static int fill_job(ck_job *j, uint64_t seed, ck_profile profile) {
  j->n = ck_job_count(j);
  j->x = malloc((j->n ? j->n : 1) * sizeof(float));
  j->dy = malloc((j->n ? j->n : 1) * sizeof(float));
  if (!j->x || !j->dy)
    return -1;
  ck_rng r = {splitmix(seed) | 1};
  const ck_call call = ck_job_call(j);
  for (size_t i = 0; i < j->n; i++) {
    const float t = ck_call_threshold(&call, ck_call_channel(&call, i));
    j->x[i] = ck_random_value(&r, j->dtype, profile, t);
    j->dy[i] = ck_random_value(&r, j->dtype, profile, NAN);
  }
  return 0;
}

/* Appends a job to c (a new single case when c is NULL). */
static ck_job *add_job(builder *b, ck_case *c, leakycl_activation act, ck_op op,
                       leakycl_dtype dtype, const shape *s, int per_channel) {
  if (b->oom)
    return NULL;
  if (!c) {
    ck_plan *p = b->p;
    if (p->count == p->cap) {
      const size_t cap = p->cap ? 2 * p->cap : 256;
      ck_case *nc = realloc(p->cases, cap * sizeof *nc);
      if (!nc) {
        b->oom = 1;
        return NULL;
      }
      p->cases = nc, p->cap = cap;
    }
    c = &p->cases[p->count++];
    memset(c, 0, sizeof *c);
  }
  ck_job *j = &c->jobs[c->count++];
  memset(j, 0, sizeof *j);
  const uint64_t k = b->serial++;
  j->act = act, j->op = op, j->dtype = dtype;
  j->rank = s->rank, j->axis = s->axis;
  memcpy(j->shape, s->d, sizeof s->d);
  set_alphas(j, per_channel, k);
  /* In place every fourth call that has an output. */
  j->inplace = op != CK_REDUCE && k % 4 == 1;
  /* Gradients: half the cases finite (the bound is measured), half with
   * NaN, Inf and overflowing products (propagation). */
  /* From the mask under ieee: no NaN in x, the one thing a bit cannot
   * carry (the README says dx then follows the bit). */
  const ck_profile prof =
      (op == CK_GRADS || op == CK_REDUCE) ? (k % 2 ? CK_PROFILE_EDGES : CK_PROFILE_FINITE)
      : op == CK_FROM_MASK && j->conventions == LEAKYCL_CONVENTIONS_IEEE ? CK_PROFILE_FINITE
      : k % 3                                                            ? CK_PROFILE_EDGES
                                                                         : CK_PROFILE_FINITE;
  if (fill_job(j, k, prof) != 0)
    b->oom = 1;
  return b->oom ? NULL : j;
}

static int op_applies(leakycl_activation act, ck_op op, leakycl_dtype dtype) {
  if (op == CK_GRADS || op == CK_REDUCE) /* reduce has no typed call */
    return leakycl_activation_has_gradient(act) && (op == CK_GRADS || dtype == LEAKYCL_FLOAT32);
  if (op == CK_FROM_Y) /* relu, and leaky/prelu with every alpha > 0 */
    return act != LEAKYCL_PHASED_RELU;
  return 1; /* FROM_MASK: every activation, alpha and storage type */
}

static shape flat(size_t n) { return (shape){1, {n}, 0}; }

/* The batch the PoCL vw2/vw4 bug was found with: a forward job beside a
 * backward+dalpha job (dalpha must be -30, neg_fraction 1). */
static void add_fwd_grads_pair(builder *b) {
  const shape five = flat(5);
  ck_job *f = add_job(b, NULL, LEAKYCL_RELU, CK_FORWARD, LEAKYCL_FLOAT32, &five, 0);
  if (!f)
    return;
  ck_case *c = &b->p->cases[b->p->count - 1];
  c->packed = 1;
  ck_job *g = add_job(b, c, LEAKYCL_PRELU, CK_GRADS, LEAKYCL_FLOAT32, &five, 0);
  if (!g)
    return;
  f->inplace = g->inplace = 0;
  g->alpha_count = 1, g->alpha[0] = 1.5f;
  for (size_t i = 0; i < 5; i++)
    f->x[i] = (float)(i + 1), g->x[i] = -2.0f, g->dy[i] = 3.0f;
}

/* A batch of jobs: (activation, op, shape, per channel) each. */
typedef struct batch_row {
  leakycl_activation act;
  ck_op op;
  shape s;
  int per_channel;
} batch_row;

static void add_batch(builder *b, const batch_row *rows, size_t n) {
  ck_case *c = NULL;
  for (size_t k = 0; k < n && !b->oom; k++) {
    if (add_job(b, c, rows[k].act, rows[k].op, LEAKYCL_FLOAT32, &rows[k].s, rows[k].per_channel) &&
        !c) {
      c = &b->p->cases[b->p->count - 1];
      c->packed = 1;
    }
  }
  for (size_t k = 0; c && k < c->count; k++)
    c->jobs[k].inplace = 0; /* no job's output is another's input; keep it simple */
}

static const batch_row mixed_rows[] = {
    {LEAKYCL_RELU, CK_FORWARD, {1, {63}, 0}, 0},
    {LEAKYCL_LEAKY_RELU, CK_BACKWARD, {1, {65}, 0}, 0},
    {LEAKYCL_PRELU, CK_GRADS, {4, {2, 3, 5, 7}, 1}, 1},
    {LEAKYCL_PHASED_RELU, CK_FORWARD, {1, {1000}, 0}, 0},
    {LEAKYCL_PHASED_RELU, CK_GRADS, {1, {17}, 0}, 0},
    {LEAKYCL_PRELU, CK_FROM_Y, {3, {4, 5, 16}, 1}, 1},
    {LEAKYCL_PRELU, CK_FORWARD, {4, {2, 3, 4, 4}, 1}, 1},
    {LEAKYCL_LEAKY_RELU, CK_FROM_Y, {1, {64}, 0}, 0},
    {LEAKYCL_RELU, CK_BACKWARD, {1, {1}, 0}, 0},
    {LEAKYCL_PHASED_RELU, CK_GRADS, {3, {1, 9, 33}, 1}, 1},
    {LEAKYCL_PRELU, CK_GRADS, {1, {4097}, 0}, 0},
    {LEAKYCL_PRELU, CK_GRADS, {3, {0, 3, 5}, 1}, 1},
    {LEAKYCL_PHASED_RELU, CK_FROM_MASK, {2, {77, 3}, -1}, 1},
};
static const batch_row small_pairs[] = {
    {LEAKYCL_LEAKY_RELU, CK_FORWARD, {1, {17}, 0}, 0},
    {LEAKYCL_PHASED_RELU, CK_GRADS, {1, {33}, 0}, 0},
    {LEAKYCL_RELU, CK_FORWARD, {1, {3}, 0}, 0},
    {LEAKYCL_PRELU, CK_GRADS, {1, {64}, 0}, 0},
};
static const batch_row grads_rows[] = {
    {LEAKYCL_PRELU, CK_GRADS, {1, {3}, 0}, 0},
    {LEAKYCL_PHASED_RELU, CK_GRADS, {1, {1025}, 0}, 0},
    {LEAKYCL_PRELU, CK_GRADS, {2, {9, 7}, -1}, 1},
    {LEAKYCL_PHASED_RELU, CK_GRADS, {3, {3, 5, 24}, 1}, 1},
    {LEAKYCL_PRELU, CK_GRADS, {1, {40000}, 0}, 0},
};

/* Every applicable op of the activations in `acts` (a bit mask) on `sizes`
 * (shared alpha) and, for those with an alpha, on the first `nd` views
 * per channel. */
static void add_grid(builder *b, unsigned acts, leakycl_dtype dtype, const size_t *sizes,
                     size_t nsizes, size_t nd, const ck_op *ops, size_t nops) {
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++) {
    for (size_t o = 0; (acts >> a & 1) && o < nops; o++) {
      if (!op_applies((leakycl_activation)a, ops[o], dtype))
        continue;
      for (size_t s = 0; s < nsizes; s++) {
        const shape sh = flat(sizes[s]);
        add_job(b, NULL, (leakycl_activation)a, ops[o], dtype, &sh, 0);
      }
      for (size_t s = 0; a != LEAKYCL_RELU && s < nd; s++)
        add_job(b, NULL, (leakycl_activation)a, ops[o], dtype, &nd_shapes[s], 1);
    }
  }
}

#define ALL_ACTS 15u
#define ACT(a) (1u << (a))

int ck_plan_build(ck_plan *p, ck_suite suite, int large) {
  memset(p, 0, sizeof *p);
  builder b = {p, (uint64_t)suite * 1000003u, 0};
  static const ck_op all_ops[] = {CK_FORWARD, CK_BACKWARD, CK_GRADS,
                                  CK_REDUCE,  CK_FROM_Y,   CK_FROM_MASK};
  static const ck_op basic_ops[] = {CK_FORWARD, CK_BACKWARD, CK_GRADS};
  if (suite == CK_SUITE_FULL) {
    add_grid(&b, ALL_ACTS, LEAKYCL_FLOAT32, flat_full, COUNT_OF(flat_full), N_ND, all_ops, 6);
    add_grid(&b, ALL_ACTS, LEAKYCL_FLOAT16, flat_short, COUNT_OF(flat_short), 4, all_ops, 6);
    add_grid(&b, ALL_ACTS, LEAKYCL_BFLOAT16, flat_short, COUNT_OF(flat_short), 4, all_ops, 6);
    add_fwd_grads_pair(&b);
    for (int rep = 0; rep < 3; rep++)
      add_batch(&b, mixed_rows, COUNT_OF(mixed_rows));
    add_batch(&b, grads_rows, COUNT_OF(grads_rows));
    add_batch(&b, small_pairs, COUNT_OF(small_pairs));
    add_batch(&b, small_pairs, 2);
    add_batch(&b, small_pairs + 2, 2);
    if (large) { /* the transfer pipeline's sizes (8 Mi elements and up) */
      const shape big = flat(((size_t)8 << 20) + 5);
      add_job(&b, NULL, LEAKYCL_LEAKY_RELU, CK_FORWARD, LEAKYCL_FLOAT32, &big, 0);
      add_job(&b, NULL, LEAKYCL_PRELU, CK_BACKWARD, LEAKYCL_FLOAT32, &big, 0);
    }
  } else if (suite == CK_SUITE_QUICK) {
    /* Every float32 op; two activations per half type (each program
     * built costs ~1-2 s on PoCL). */
    static const size_t half_sizes[] = {65, 1000};
    add_grid(&b, ALL_ACTS, LEAKYCL_FLOAT32, flat_short, COUNT_OF(flat_short), 4, all_ops, 5);
    /* The packed masks: every activation, a few sizes (programs cost). */
    static const ck_op mask_ops[] = {CK_FROM_MASK};
    static const size_t mask_sizes[] = {63, 1000};
    add_grid(&b, ALL_ACTS, LEAKYCL_FLOAT32, mask_sizes, 2, 1, mask_ops, 1);
    add_grid(&b, ACT(LEAKYCL_PRELU) | ACT(LEAKYCL_PHASED_RELU), LEAKYCL_FLOAT16, half_sizes, 2, 0,
             basic_ops, 3);
    add_grid(&b, ACT(LEAKYCL_LEAKY_RELU) | ACT(LEAKYCL_PRELU), LEAKYCL_BFLOAT16, half_sizes, 2, 0,
             basic_ops, 3);
    add_fwd_grads_pair(&b);
    add_batch(&b, small_pairs, COUNT_OF(small_pairs));
    add_batch(&b, mixed_rows, COUNT_OF(mixed_rows));
  } else if (suite == CK_SUITE_QUICK_BATCH) {
    /* Packed batches are where widths differ most (PoCL 3.1 miscompiled
     * the vw2/vw4 reduction tail of a mixed batch): one program a width. */
    add_fwd_grads_pair(&b);
    add_batch(&b, small_pairs, COUNT_OF(small_pairs));
    add_batch(&b, mixed_rows, COUNT_OF(mixed_rows));
  } else {
    static const size_t alt_sizes[] = {3, 65, 1000};
    add_grid(&b, ALL_ACTS, LEAKYCL_FLOAT32, alt_sizes, COUNT_OF(alt_sizes), 1, basic_ops, 3);
    add_fwd_grads_pair(&b);
    add_batch(&b, mixed_rows, COUNT_OF(mixed_rows));
  }
  if (b.oom) {
    ck_plan_free(p);
    return -1;
  }
  return 0;
}

void ck_plan_free(ck_plan *p) {
  for (size_t i = 0; i < p->count; i++)
    ck_case_free(&p->cases[i]);
  free(p->cases);
  memset(p, 0, sizeof *p);
}
