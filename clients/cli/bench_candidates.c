/* bench_candidates.c - the candidates of one `leakycl bench` block and how
 * each one runs: a call of leakycl (resident or on host pointers), of an
 * OpenMP reference loop or of a copy; calibrated so a sample lasts long
 * enough, sampled round-robin, and for --verify held against the float64
 * oracle. */
#include "bench_candidates.h"

#include <stdlib.h>
#include <string.h>

#include "bench_verify.h"
#include "cli.h"

/* A sample lasts at least this long: small sizes repeat the call inside it,
 * so the clock's resolution and one-off hiccups stay small against it. */
#define BENCH_MIN_SAMPLE_SECONDS 0.005
#define BENCH_MAX_CALLS_PER_SAMPLE 10000

/* Runs `calls` calls of one candidate and waits for them; the last call's
 * dalpha (calls that reduce) goes to *dalpha_out when it is not NULL. */
static leakycl_status run_candidate(bench_block *b, const bench_candidate *c, size_t calls,
                                    float *dalpha_out) {
  const leakycl_view view = leakycl_view_flat(b->n);
  float dalpha = 0;
  const leakycl_grads grads = {&dalpha, NULL, NULL, NULL, 0};
  const leakycl_grads *g = c->row.fused_dalpha ? &grads : NULL;
  leakycl_status st = LEAKYCL_OK;
  for (size_t k = 0; k < calls && st == LEAKYCL_OK; k++) {
    switch (c->how) {
    case HOW_LEAKYCL_RESIDENT:
      /* Forward and backward without grads are only enqueued: a stream of
       * calls, one wait at the end. Calls with grads wait themselves. */
      if (c->row.from_mask)
        st = leakycl_backward_buffers(b->ctx, &c->params, view, LEAKYCL_FROM_MASK, b->mask, b->dy,
                                      b->out, NULL);
      else if (c->row.op == BENCH_FORWARD)
        st = leakycl_forward_buffers(b->ctx, &c->params, view, b->x, b->out);
      else if (c->row.op == BENCH_BACKWARD)
        st = leakycl_backward_buffers(b->ctx, &c->params, view, LEAKYCL_FROM_X, b->x, b->dy, b->out,
                                      g);
      else
        st = leakycl_reduce_buffers(b->ctx, &c->params, view, b->x, b->dy, &grads);
      break;
    case HOW_LEAKYCL_HOST:
      if (c->row.from_mask)
        st = leakycl_backward(b->ctx, &c->params, view, LEAKYCL_FROM_MASK, (const float *)b->hmask,
                              b->hdy, b->hout, NULL);
      else if (c->row.op == BENCH_FORWARD)
        st = leakycl_forward(b->ctx, &c->params, view, b->hx, b->hout);
      else if (c->row.op == BENCH_BACKWARD)
        st = leakycl_backward(b->ctx, &c->params, view, LEAKYCL_FROM_X, b->hx, b->hdy, b->hout, g);
      else
        st = leakycl_reduce(b->ctx, &c->params, view, b->hx, b->hdy, &grads);
      break;
    case HOW_OPENMP:
      if (c->row.op == BENCH_FORWARD)
        bench_ref_forward(&c->ref, b->hx, b->hout, b->n);
      else if (c->row.op == BENCH_BACKWARD && c->row.fused_dalpha)
        b->sink += bench_ref_backward_dalpha(&c->ref, b->hx, b->hdy, b->hout, b->n);
      else if (c->row.op == BENCH_BACKWARD)
        bench_ref_backward(&c->ref, b->hx, b->hdy, b->hout, b->n);
      else
        b->sink += bench_ref_dalpha(&c->ref, b->hx, b->hdy, b->n);
      break;
    case HOW_STREAM_COPY:
      bench_stream_copy(b->hx, b->hout, b->n);
      break;
    case HOW_CL_COPY:
      if (clEnqueueCopyBuffer(b->queue, b->x, b->out, 0, 0, b->n * sizeof(float), 0, NULL, NULL) !=
          CL_SUCCESS)
        st = LEAKYCL_OPENCL_ERROR;
      break;
    }
  }
  if (st == LEAKYCL_OK && (c->how == HOW_LEAKYCL_RESIDENT || c->how == HOW_CL_COPY))
    st = leakycl_finish(b->ctx);
  b->sink += dalpha;
  if (dalpha_out)
    *dalpha_out = dalpha;
  return st;
}

int bench_candidate_failure(const bench_block *b, const bench_candidate *c, leakycl_status st) {
  cli_error("bench: %s %s %s (n=%zu): %s: %s", c->row.name, c->row.activation,
            bench_op_name(c->row.op), b->n, leakycl_status_name(st),
            c->how == HOW_CL_COPY ? "clEnqueueCopyBuffer failed" : leakycl_last_error(b->ctx));
  return cli_exit_for_status(st);
}

/* Backward from the mask reads the mask of its own activation: a forward
 * writes it first (into the block's output, overwritten by the call). */
static leakycl_status prepare_mask(bench_block *b, const bench_candidate *c) {
  if (!c->row.from_mask)
    return LEAKYCL_OK;
  const leakycl_view view = leakycl_view_flat(b->n);
  if (c->how == HOW_LEAKYCL_HOST)
    return leakycl_forward_mask(b->ctx, &c->params, view, LEAKYCL_FLOAT32, b->hx, b->hout,
                                b->hmask);
  const leakycl_status st = leakycl_forward_mask_buffers(b->ctx, &c->params, view, LEAKYCL_FLOAT32,
                                                         b->x, b->out, b->mask);
  return st == LEAKYCL_OK ? leakycl_finish(b->ctx) : st;
}

/* Two warm-up calls (program builds, first launches, page faults), then
 * batches of growing size until one lasts a sample's minimum: that batch
 * size is the candidate's calls per sample. */
leakycl_status bench_calibrate(bench_block *b, bench_candidate *c) {
  leakycl_status st = prepare_mask(b, c);
  if (st == LEAKYCL_OK)
    st = run_candidate(b, c, 1, NULL);
  if (st == LEAKYCL_OK)
    st = run_candidate(b, c, 1, NULL);
  size_t calls = 1;
  while (st == LEAKYCL_OK) {
    const double t0 = cli_now_seconds();
    st = run_candidate(b, c, calls, NULL);
    const double took = cli_now_seconds() - t0;
    if (took >= BENCH_MIN_SAMPLE_SECONDS || calls >= BENCH_MAX_CALLS_PER_SAMPLE)
      break;
    /* Aim 20% over the minimum, growing at most 10x a step. */
    const double want =
        took > 0 ? 1.2 * BENCH_MIN_SAMPLE_SECONDS / took * (double)calls : 10.0 * (double)calls;
    const double next = want > 10.0 * (double)calls ? 10.0 * (double)calls : want;
    calls = next < (double)calls + 1 ? calls + 1 : (size_t)next;
    if (calls > BENCH_MAX_CALLS_PER_SAMPLE)
      calls = BENCH_MAX_CALLS_PER_SAMPLE;
  }
  c->calls = calls;
  return st;
}

leakycl_status bench_capture(bench_block *b, const bench_candidate *c, float *dalpha) {
  const size_t bytes = b->n * sizeof(float);
  *dalpha = 0;
  leakycl_status st = prepare_mask(b, c);
  /* A poison pattern first: a call that writes nothing cannot pass. */
  memset(b->hout, 0xA5, bytes);
  if (st == LEAKYCL_OK && c->how == HOW_LEAKYCL_RESIDENT &&
      clEnqueueFillBuffer(b->queue, b->out, b->hout, sizeof(float), 0, bytes, 0, NULL, NULL) !=
          CL_SUCCESS)
    st = LEAKYCL_OPENCL_ERROR;
  if (st == LEAKYCL_OK)
    st = run_candidate(b, c, 1, dalpha);
  if (st == LEAKYCL_OK && c->how == HOW_LEAKYCL_RESIDENT && c->row.op != BENCH_REDUCE &&
      clEnqueueReadBuffer(b->queue, b->out, CL_TRUE, 0, bytes, b->hout, 0, NULL, NULL) !=
          CL_SUCCESS)
    st = LEAKYCL_OPENCL_ERROR;
  /* Test hook (as leakycl check's): a wrong answer must be caught. */
  const char *hook = getenv("LEAKYCL_CHECK_CORRUPT");
  if (st == LEAKYCL_OK && hook && strcmp(hook, "1") == 0) {
    if (c->row.op == BENCH_REDUCE)
      *dalpha = -*dalpha + 1.0f;
    else
      b->hout[b->n / 2] = -b->hout[b->n / 2] + 1.0f;
  }
  return st;
}

int bench_verify_candidate(bench_block *b, const bench_candidate *c) {
  float dalpha = 0;
  const leakycl_status st = bench_capture(b, c, &dalpha);
  if (st != LEAKYCL_OK)
    return bench_candidate_failure(b, c, st);
  return bench_verify_output(b, c, dalpha);
}

int bench_verify_output(const bench_block *b, const bench_candidate *c, float dalpha) {
  leakycl_activation act = LEAKYCL_RELU;
  leakycl_activation_from_name(c->row.activation, &act);
  const bench_verify_call call = {act,
                                  c->row.op,
                                  b->hx,
                                  b->hdy,
                                  c->row.op == BENCH_REDUCE ? NULL : b->hout,
                                  c->row.op == BENCH_REDUCE || c->row.fused_dalpha ? &dalpha : NULL,
                                  b->n};
  char err[512];
  if (bench_verify(&call, err, sizeof err) != 0) {
    cli_error("bench: --verify: %s on %s (%s): %s", c->row.resident ? "resident" : "host pointers",
              c->row.device, c->row.variant, err);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

leakycl_status bench_sample_round(bench_block *b, bench_candidate *cands, size_t count,
                                  size_t *failed) {
  for (size_t i = 0; i < count; i++) {
    bench_candidate *c = &cands[i];
    const double t0 = cli_now_seconds();
    const leakycl_status st = run_candidate(b, c, c->calls, NULL);
    if (st != LEAKYCL_OK) {
      *failed = i;
      return st;
    }
    c->samples[c->sample_count++] = (cli_now_seconds() - t0) / (double)c->calls;
  }
  return LEAKYCL_OK;
}

/* The (activation, op, fused) cases the options ask for, in table order;
 * fills up to cap entries and returns the count. */
typedef struct bench_case {
  leakycl_activation activation;
  bench_op op;
  int fused;
  int from_mask; /* backward from the packed mask (leakycl only) */
} bench_case;

static size_t list_cases(const bench_options *o, bench_case *out, size_t cap) {
  size_t count = 0;
  for (int op = 0; op < BENCH_OP_COUNT; op++) {
    for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++) {
      const int gradient = leakycl_activation_has_gradient((leakycl_activation)a);
      if (!o->op[op] || !o->activation[a] || (op == BENCH_REDUCE && !gradient))
        continue;
      for (int fused = 0; fused <= (op == BENCH_BACKWARD && gradient); fused++)
        if (count < cap)
          out[count++] = (bench_case){(leakycl_activation)a, (bench_op)op, fused, 0};
      /* Backward from the mask beside backward from x (not in --compare's
       * one-column-per-device table). */
      if (op == BENCH_BACKWARD && !o->compare && count < cap)
        out[count++] = (bench_case){(leakycl_activation)a, BENCH_BACKWARD, 0, 1};
    }
  }
  return count;
}

size_t bench_list_candidates(const bench_options *o, const bench_device *d, size_t n,
                             bench_candidate *cands, size_t cap) {
  bench_case cases[32];
  const size_t ncases = list_cases(o, cases, 32);
  size_t count = 0;
  for (size_t k = 0; k < ncases; k++) {
    const bench_case *cs = &cases[k];
    static const bench_how hows[] = {HOW_LEAKYCL_RESIDENT, HOW_LEAKYCL_HOST, HOW_OPENMP};
    for (size_t h = 0; h < 3 && count < cap; h++) {
      if ((hows[h] == HOW_OPENMP && (o->no_references || cs->from_mask)) ||
          (hows[h] == HOW_LEAKYCL_HOST && o->compare))
        continue;
      bench_candidate *c = &cands[count++];
      memset(c, 0, sizeof *c);
      c->how = hows[h];
      const int lk = hows[h] != HOW_OPENMP;
      bench_row_identity(&c->row, d, n, lk ? "leakycl" : "reference", lk ? "leakycl" : "openmp");
      snprintf(c->row.activation, sizeof c->row.activation, "%s",
               leakycl_activation_name(cs->activation));
      c->row.op = cs->op;
      c->row.fused_dalpha = cs->fused;
      c->row.from_mask = cs->from_mask;
      c->row.resident = hows[h] != HOW_LEAKYCL_HOST;
      snprintf(c->row.variant, sizeof c->row.variant, "%s",
               lk ? d->variant : bench_ref_description());
      /* From the mask: dy in, dx out, and the mask's words. */
      c->row.bytes = cs->from_mask
                         ? 8.0 * (double)n + 4.0 * (double)leakycl_mask_words(cs->activation, n)
                         : bench_bytes(cs->op, cs->fused, n);
      leakycl_params_init(&c->params, cs->activation);
      bench_ref_params_default(&c->ref, cs->activation);
    }
  }
  /* The copy limits: host memory (CPU devices) and the device's own copy. */
  for (int limit = 0; !o->no_references && limit < 2 && count < cap; limit++) {
    if (limit == 0 && d->info.type != LEAKYCL_DEVICE_CPU)
      continue;
    bench_candidate *c = &cands[count++];
    memset(c, 0, sizeof *c);
    c->how = limit == 0 ? HOW_STREAM_COPY : HOW_CL_COPY;
    bench_row_identity(&c->row, d, n, "reference", limit == 0 ? "stream_copy" : "cl_copy");
    snprintf(c->row.activation, sizeof c->row.activation, "none");
    c->row.op = BENCH_COPY;
    c->row.resident = 1;
    snprintf(c->row.variant, sizeof c->row.variant, "%s",
             limit == 0 ? "non-temporal stores, openmp" : "clEnqueueCopyBuffer");
    c->row.bytes = bench_bytes(BENCH_COPY, 0, n);
  }
  return count;
}

int bench_block_open(bench_block *b, const bench_device *d, size_t n, const float *hx,
                     const float *hdy, float *hout) {
  *b = (bench_block){.ctx = d->ctx, .n = n, .hx = hx, .hdy = hdy, .hout = hout};
  cl_context cl = NULL;
  leakycl_context_cl(d->ctx, &cl, NULL, &b->queue);
  cl_int e1 = CL_SUCCESS, e2 = CL_SUCCESS, e3 = CL_SUCCESS, e4 = CL_SUCCESS;
  const size_t bytes = n * sizeof(float);
  /* Room for the largest mask: phased_relu's two planes. */
  const size_t mask_bytes = (leakycl_mask_words(LEAKYCL_PHASED_RELU, n) + 1) * sizeof(uint32_t);
  b->x = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, (void *)hx, &e1);
  b->dy = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, (void *)hdy, &e2);
  b->out = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &e3);
  b->mask = clCreateBuffer(cl, CL_MEM_READ_WRITE, mask_bytes, NULL, &e4);
  if (e4 == CL_SUCCESS)
    e4 = posix_memalign((void **)&b->hmask, 64, mask_bytes) == 0 ? CL_SUCCESS
                                                                 : CL_OUT_OF_HOST_MEMORY;
  if (e1 == CL_SUCCESS && e2 == CL_SUCCESS && e3 == CL_SUCCESS && e4 == CL_SUCCESS)
    return CLI_EXIT_OK;
  e3 = e3 != CL_SUCCESS ? e3 : e4;
  cli_error("bench: clCreateBuffer of %zu bytes failed on %s: %s", bytes, d->info.name,
            leakycl_cl_error_name(e1 != CL_SUCCESS   ? e1
                                  : e2 != CL_SUCCESS ? e2
                                                     : e3));
  return CLI_EXIT_FAILURE;
}

void bench_block_close(bench_block *b) {
  cl_mem *const mems[] = {&b->x, &b->dy, &b->out, &b->mask};
  for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++) {
    if (*mems[i])
      clReleaseMemObject(*mems[i]);
  }
  free(b->hmask);
  b->x = b->dy = b->out = b->mask = NULL;
  b->hmask = NULL;
}
