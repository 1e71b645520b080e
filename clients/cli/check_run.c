/* check_run.c - running one case of `leakycl check` through the public
 * API (one call, or a leakycl_run_jobs batch), twice when it has gradients,
 * and comparing every output with the oracle of oracle/check_oracle.c. */
#include "check_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- running a case ---- */

/* Host arrays of one job, in its storage type, 64-byte aligned (streaming
 * stores need it) with a guard tail that must survive the call. */
#define GUARD 32
#define FILL 0x7B

typedef struct job_io {
  void *x, *dy, *out; /* out may be x or dy (in place) */
  uint32_t *mask;     /* FROM_MASK: the mask (with a guard word), y beside it */
  void *y;
  float *src; /* the values of x as passed: y for FROM_Y */
  float dalpha[CK_MAX_CHANNELS], neg[CK_MAX_CHANNELS], mag[CK_MAX_CHANNELS];
  size_t es, n;
} job_io;

static void *alloc_elems(size_t n, size_t es) {
  const size_t bytes = ((n + GUARD) * es + 63) / 64 * 64;
  void *p = aligned_alloc(64, bytes);
  if (p)
    memset(p, FILL, bytes);
  return p;
}

static void put_elem(void *p, size_t es, size_t i, uint32_t v) {
  const uint16_t h = (uint16_t)v;
  memcpy((unsigned char *)p + es * i, es == 4 ? (const void *)&v : (const void *)&h, es);
}

static uint32_t get_elem(const void *p, size_t es, size_t i) {
  uint32_t v = 0;
  uint16_t h = 0;
  memcpy(es == 4 ? (void *)&v : (void *)&h, (const unsigned char *)p + es * i, es);
  return es == 4 ? v : h;
}

/* The value a job's x array holds: y = forward(x) for FROM_Y. */
static float src_value(const ck_job *j, const ck_call *call, size_t i) {
  if (j->op != CK_FROM_Y)
    return j->x[i];
  const size_t c = ck_call_channel(call, i);
  const float y = ck_forward(j->conventions, j->act, j->x[i], ck_call_alpha(call, c),
                             ck_call_threshold(call, c));
  return ck_round_to(j->dtype, y);
}

static void io_free(job_io *io) {
  if (io->out != io->x && io->out != io->dy)
    free(io->out);
  void *const owned[] = {io->x, io->dy, io->src, io->mask, io->y};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
    free(owned[i]);
  memset(io, 0, sizeof *io);
}

static int io_prepare(const ck_job *j, job_io *io) {
  memset(io, 0, sizeof *io);
  io->es = leakycl_dtype_size(j->dtype), io->n = j->n;
  const ck_call call = ck_job_call(j);
  io->src = malloc((j->n ? j->n : 1) * sizeof(float));
  io->x = alloc_elems(j->n, io->es);
  io->dy = alloc_elems(j->n, io->es);
  if (j->op == CK_REDUCE)
    io->out = NULL;
  else if (j->inplace)
    io->out = j->op == CK_FORWARD ? io->x : io->dy;
  else
    io->out = alloc_elems(j->n, io->es);
  if (j->op == CK_FROM_MASK) {
    io->mask = calloc(leakycl_mask_words(j->act, j->n) + 1, sizeof(uint32_t));
    io->y = alloc_elems(j->n, io->es);
  }
  if (!io->src || !io->x || !io->dy || (j->op != CK_REDUCE && !io->out) ||
      (j->op == CK_FROM_MASK && (!io->mask || !io->y))) {
    io_free(io);
    return -1;
  }
  for (size_t i = 0; i < j->n; i++) {
    io->src[i] = src_value(j, &call, i);
    put_elem(io->x, io->es, i, ck_pattern(j->dtype, io->src[i]));
    put_elem(io->dy, io->es, i, ck_pattern(j->dtype, j->dy[i]));
  }
  for (size_t c = 0; c < CK_MAX_CHANNELS; c++)
    io->dalpha[c] = io->neg[c] = io->mag[c] = -12345.0f; /* never a right answer */
  return 0;
}

static leakycl_params params_of(const ck_job *j) {
  leakycl_params p;
  leakycl_params_init(&p, j->act);
  p.conventions = j->conventions;
  p.alpha_count = j->alpha_count;
  p.alpha = j->alpha_count ? j->alpha : NULL;
  if (j->act == LEAKYCL_PHASED_RELU)
    p.beta = j->beta;
  return p;
}

static int has_grads(const ck_job *j) { return j->op == CK_GRADS || j->op == CK_REDUCE; }

/* A FROM_MASK job's first half: the forward that writes its mask (and y,
 * which nothing reads). */
static leakycl_status write_mask(leakycl_context *ctx, const ck_job *j, job_io *io) {
  const leakycl_params p = params_of(j);
  return leakycl_forward_mask(ctx, &p, ck_job_view(j), j->dtype, io->x, io->y, io->mask);
}

static leakycl_status run_single(leakycl_context *ctx, const ck_job *j, job_io *io) {
  const leakycl_params p = params_of(j);
  const leakycl_view v = ck_job_view(j);
  const leakycl_grads g = {io->dalpha, io->neg, io->mag, NULL, 0};
  const leakycl_source src = j->op == CK_FROM_Y ? LEAKYCL_FROM_Y : LEAKYCL_FROM_X;
  const int f32 = j->dtype == LEAKYCL_FLOAT32;
  leakycl_status st;
  switch (j->op) {
  case CK_FROM_MASK:
    st = write_mask(ctx, j, io);
    return st != LEAKYCL_OK ? st
                            : leakycl_backward_typed(ctx, &p, v, j->dtype, LEAKYCL_FROM_MASK,
                                                     io->mask, io->dy, io->out, NULL);
  case CK_FORWARD: /* float32 through the plain call, halves through the typed one */
    return f32 ? leakycl_forward(ctx, &p, v, io->x, io->out)
               : leakycl_forward_typed(ctx, &p, v, j->dtype, io->x, io->out);
  case CK_REDUCE:
    return leakycl_reduce(ctx, &p, v, io->x, io->dy, &g);
  default:
    return f32 ? leakycl_backward(ctx, &p, v, src, io->x, io->dy, io->out,
                                  j->op == CK_GRADS ? &g : NULL)
               : leakycl_backward_typed(ctx, &p, v, j->dtype, src, io->x, io->dy, io->out,
                                        j->op == CK_GRADS ? &g : NULL);
  }
}

/* One leakycl_run_jobs call for the whole case; *bad_job gets the first
 * job whose own status is not OK. */
static leakycl_status run_packed(leakycl_context *ctx, const ck_case *c, job_io *io,
                                 size_t *bad_job, char *detail, size_t len) {
  leakycl_job jobs[CK_MAX_JOBS];
  leakycl_grads g[CK_MAX_JOBS];
  memset(jobs, 0, sizeof jobs);
  for (size_t k = 0; k < c->count; k++) {
    const ck_job *j = &c->jobs[k];
    if (j->op == CK_FROM_MASK) { /* its mask first; the job reads it */
      const leakycl_status st = write_mask(ctx, j, &io[k]);
      if (st != LEAKYCL_OK) {
        *bad_job = k;
        snprintf(detail, len, "job %zu's mask: %s: %s", k, leakycl_status_name(st),
                 leakycl_last_error(ctx));
        return st;
      }
    }
    g[k] = (leakycl_grads){io[k].dalpha, io[k].neg, io[k].mag, NULL, 0};
    jobs[k].op = j->op == CK_FORWARD ? LEAKYCL_OP_FORWARD : LEAKYCL_OP_BACKWARD;
    jobs[k].params = params_of(j);
    jobs[k].view = ck_job_view(j);
    jobs[k].source = j->op == CK_FROM_Y      ? LEAKYCL_FROM_Y
                     : j->op == CK_FROM_MASK ? LEAKYCL_FROM_MASK
                                             : LEAKYCL_FROM_X;
    jobs[k].x = j->op == CK_FROM_MASK ? (const void *)io[k].mask : io[k].x;
    jobs[k].dy = j->op == CK_FORWARD ? NULL : io[k].dy;
    jobs[k].out = io[k].out;
    jobs[k].grads = j->op == CK_GRADS ? &g[k] : NULL;
  }
  const leakycl_status st = leakycl_run_jobs(ctx, jobs, c->count);
  *bad_job = 0;
  for (size_t k = 0; k < c->count; k++) {
    if (jobs[k].status != LEAKYCL_OK) {
      *bad_job = k;
      snprintf(detail, len, "job %zu: %s: %s", k, leakycl_status_name(jobs[k].status),
               jobs[k].error);
      return jobs[k].status;
    }
  }
  if (st != LEAKYCL_OK)
    snprintf(detail, len, "%s: %s", leakycl_status_name(st), leakycl_last_error(ctx));
  return st;
}

/* Runs every job once into fresh arrays (io[0 .. count)). 0, 1 (a call
 * failed: *fail set) or -1 (memory). */
static int run_once(leakycl_context *ctx, const ck_case *c, job_io *io, ck_failure *fail) {
  for (size_t k = 0; k < c->count; k++) {
    if (io_prepare(&c->jobs[k], &io[k]) != 0) {
      for (size_t q = 0; q < k; q++)
        io_free(&io[q]);
      return -1;
    }
  }
  memset(fail, 0, sizeof *fail);
  leakycl_status st = LEAKYCL_OK;
  if (c->packed) {
    st = run_packed(ctx, c, io, &fail->job, fail->detail, sizeof fail->detail);
  } else {
    st = run_single(ctx, &c->jobs[0], &io[0]);
    if (st != LEAKYCL_OK)
      snprintf(fail->detail, sizeof fail->detail, "%s: %s", leakycl_status_name(st),
               leakycl_last_error(ctx));
  }
  if (st == LEAKYCL_OK)
    return 0;
  snprintf(fail->what, sizeof fail->what, "status");
  return 1;
}

/* The test hook: the sign of the first non-NaN output element flipped. */
static void corrupt_output(const ck_job *j, job_io *io) {
  if (!io->out)
    return;
  for (size_t i = 0; i < j->n; i++) {
    const uint32_t v = get_elem(io->out, io->es, i);
    if (!isnan(ck_value(j->dtype, v))) {
      put_elem(io->out, io->es, i, v ^ (io->es == 4 ? 0x80000000u : 0x8000u));
      return;
    }
  }
}

static int compare_elements(const ck_job *j, const job_io *io, const ck_env *env, ck_failure *fail,
                            ck_tally *t) {
  ck_call call = ck_job_call(j);
  call.x = io->src;
  ck_mismatch m;
  if (!ck_check_output(&call, io->out, env->denormals, &m, t)) {
    snprintf(fail->what, sizeof fail->what, "%s", j->op == CK_FORWARD ? "y" : "dx");
    fail->index = m.index, fail->channel = m.channel, fail->x = m.x, fail->dy = m.dy;
    fail->want_bits = m.want, fail->got_bits = m.got;
    fail->want = ck_value(j->dtype, m.want), fail->got = ck_value(j->dtype, m.got);
    return 1;
  }
  /* Nothing written past the end (the guard keeps its fill). */
  for (size_t i = j->n * io->es; i < (j->n + GUARD) * io->es; i++) {
    if (((const unsigned char *)io->out)[i] != FILL) {
      snprintf(fail->what, sizeof fail->what, "write past the end");
      fail->index = i / io->es;
      return 1;
    }
  }
  return 0;
}

static int compare_grads(const ck_job *j, const job_io *io, const ck_env *env, ck_failure *fail,
                         ck_tally *t) {
  const ck_call call = ck_job_call(j);
  ck_grad_result bad;
  size_t c = 0;
  if (ck_check_grads(&call, env->denormals, io->dalpha, io->neg, io->mag, &bad, &c, t))
    return 0;
  snprintf(fail->what, sizeof fail->what, "%s", bad.what);
  fail->channel = c, fail->want = (float)bad.want, fail->got = bad.got;
  fail->want_bits = ck_bits(fail->want), fail->got_bits = ck_bits(bad.got);
  fail->bound = bad.bound, fail->err = fabs((double)bad.got - bad.want);
  return 1;
}

/* Gradients of two runs, bit for bit. */
static int compare_repeat(const ck_job *j, const job_io *a, const job_io *b, ck_failure *fail) {
  const size_t nc = j->alpha_count > 1 ? j->alpha_count : 1;
  for (size_t c = 0; c < nc; c++) {
    const float *pa[3] = {a->dalpha, a->neg, a->mag}, *pb[3] = {b->dalpha, b->neg, b->mag};
    static const char *const names[3] = {"dalpha", "neg_fraction", "mean_abs_grad"};
    for (int q = 0; q < 3; q++) {
      if (ck_bits(pa[q][c]) != ck_bits(pb[q][c])) {
        snprintf(fail->what, sizeof fail->what, "repeat %s", names[q]);
        fail->channel = c, fail->want = pa[q][c], fail->got = pb[q][c];
        fail->want_bits = ck_bits(pa[q][c]), fail->got_bits = ck_bits(pb[q][c]);
        return 1;
      }
    }
  }
  return 0;
}

int ck_run_case(leakycl_context *ctx, const ck_case *c, const ck_env *env, ck_failure *fail,
                ck_tally *t) {
  job_io io[CK_MAX_JOBS], again[CK_MAX_JOBS];
  int rc = run_once(ctx, c, io, fail);
  if (rc < 0)
    return -1;
  int grads = 0;
  for (size_t k = 0; k < c->count; k++)
    grads |= has_grads(&c->jobs[k]);
  if (rc == 0 && env->corrupt)
    corrupt_output(&c->jobs[0], &io[0]);
  for (size_t k = 0; rc == 0 && k < c->count; k++) {
    const ck_job *j = &c->jobs[k];
    fail->job = k;
    rc = (j->op != CK_REDUCE && compare_elements(j, &io[k], env, fail, t)) ||
         (has_grads(j) && compare_grads(j, &io[k], env, fail, t));
  }
  if (rc == 0 && grads) { /* the same call again: gradients bit-identical */
    rc = run_once(ctx, c, again, fail);
    if (rc < 0) {
      rc = -1;
    } else {
      for (size_t k = 0; rc == 0 && k < c->count; k++) {
        fail->job = k;
        rc = has_grads(&c->jobs[k]) && compare_repeat(&c->jobs[k], &io[k], &again[k], fail);
      }
      for (size_t k = 0; k < c->count; k++)
        io_free(&again[k]);
    }
  }
  for (size_t k = 0; k < c->count; k++)
    io_free(&io[k]);
  return rc;
}
