/* cmd_bench.c - `leakycl bench`: times forward, backward and the dalpha
 * reduction of every activation on one device or all of them, over a range
 * of sizes, resident (cl_mem, transfers excluded) and from host pointers
 * (transfers counted), beside references run on the same data: OpenMP C
 * loops, a streaming-store copy, clEnqueueCopyBuffer, and NumPy / JAX /
 * pyopencl in a Python subprocess. Candidates are interleaved (one sample
 * of each per repeat, round-robin) so slow drifts of a noisy machine hit
 * them all alike; results are medians with min and max. Figures only: it
 * never passes or fails on time. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_python.h"
#include "bench_refs.h"
#include "bench_rows.h"
#include "bench_verify.h"
#include "cli.h"
#include "npy.h"
#include "svg.h"

#define BENCH_MAX_DEVICES 16
#define BENCH_MAX_REPEAT 1000
/* A sample lasts at least this long: small sizes repeat the call inside it,
 * so the clock's resolution and one-off hiccups stay small against it. */
#define BENCH_MIN_SAMPLE_SECONDS 0.005
#define BENCH_MAX_CALLS_PER_SAMPLE 10000

void cli_usage_bench(FILE *f) {
  fputs("usage: leakycl bench [--device SPEC|all] [--activation A|all]\n"
        "                     [--op forward|backward|reduce|all] [--n N | --n-min N --n-max N]\n"
        "                     [--repeat R] [--variant V] [--verify] [--json] [--svg FILE]\n"
        "                     [--no-references]\n"
        "\n"
        "Times every op x activation x device over a range of sizes, resident (cl_mem\n"
        "buffers, transfers excluded) and from host pointers (transfers counted), beside\n"
        "references timed on the same data: OpenMP C loops of the same formulas, a\n"
        "streaming-store copy and clEnqueueCopyBuffer (the copy limits), and NumPy, JAX\n"
        "and pyopencl run by $LEAKYCL_PYTHON (default python3; a missing one is skipped\n"
        "with a note). Candidates are interleaved round-robin, one sample each per\n"
        "repeat, after a warm-up; each row is the median with min and max. backward also\n"
        "runs fused with dalpha for prelu and phased_relu; reduce needs one of those two.\n"
        "GB/s counts bytes read + written: forward 8n, backward 12n (+4 fused), reduce\n"
        "8n + 4, copy 8n.\n"
        "\n"
        "  --device SPEC|all  a device SPEC (default $LEAKYCL_DEVICE, else auto), or every\n"
        "                     device found\n"
        "  --activation A     relu, leaky_relu, prelu, phased_relu or all (default)\n"
        "  --op OP            forward, backward, reduce or all (default)\n"
        "  --n N              one size (elements)\n"
        "  --n-min N, --n-max N  powers of 4 times n-min up to n-max (default 4Ki..64Mi)\n"
        "  --repeat R         timed samples per candidate, 1..1000 (default 7)\n"
        "  --variant V        the kernel variant on every device, as leakycl_variant_describe\n"
        "                     writes it (\"gpu vw4 wg128\"; fields not named keep the\n"
        "                     strategy's default); default: the one a context opens with\n"
        "  --verify           check every timed leakycl output (y, dx, dalpha) against a\n"
        "                     float64 oracle before printing its figure; a wrong answer\n"
        "                     fails the run (exit 1) instead of getting a figure (test\n"
        "                     hook: LEAKYCL_CHECK_CORRUPT=1 falsifies one output first)\n"
        "  --json             one JSON object a line instead of the table: device,\n"
        "                     activation, op, n, dtype, variant, resident, seconds, gbps,\n"
        "                     min_seconds, max_seconds, bytes, samples, kind (leakycl or\n"
        "                     reference), name, device_index, fused_dalpha, leakycl_ratio\n"
        "  --svg FILE         a chart: GB/s against n, one panel per device and op\n"
        "  --no-references    time leakycl only\n",
        f);
}

/* ---- options ---- */

typedef struct bench_options {
  const char *device; /* NULL: $LEAKYCL_DEVICE, else auto */
  int activation[LEAKYCL_ACTIVATION_COUNT];
  int op[BENCH_OP_COUNT];
  size_t n_min, n_max;
  int repeat;
  int json;
  const char *svg;
  const char *variant; /* NULL: the context's own */
  int verify;
  int references;
} bench_options;

/* Parses a size: a positive decimal count of elements. */
static int parse_size(const char *name, const char *value, size_t *out) {
  long v;
  if (cli_parse_long(value, &v) != 0 || v < 1 || (unsigned long)v > ((size_t)1 << 32)) {
    cli_error("bench: %s must be a whole number from 1 to 4294967296, not \"%s\"", name, value);
    return -1;
  }
  *out = (size_t)v;
  return 0;
}

/* Returns -1 on bad usage (message printed), 1 for --help, 0 otherwise. */
static int parse_options(int argc, char **argv, bench_options *o) {
  memset(o, 0, sizeof *o);
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++)
    o->activation[a] = 1;
  for (int op = 0; op < BENCH_OP_COUNT; op++)
    o->op[op] = 1;
  o->n_min = (size_t)4 << 10;
  o->n_max = (size_t)64 << 20;
  o->repeat = 7;
  o->references = 1;
  int have_n = 0, have_range = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    int m;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      return 1;
    } else if (strcmp(arg, "--json") == 0) {
      o->json = 1;
    } else if (strcmp(arg, "--no-references") == 0) {
      o->references = 0;
    } else if (strcmp(arg, "--verify") == 0) {
      o->verify = 1;
    } else if ((m = cli_option_value(argc, argv, &i, "--variant", &v)) != 0) {
      if (m < 0)
        return -1;
      o->variant = v;
    } else if ((m = cli_option_value(argc, argv, &i, "--device", &v)) != 0) {
      if (m < 0)
        return -1;
      o->device = v;
    } else if ((m = cli_option_value(argc, argv, &i, "--svg", &v)) != 0) {
      if (m < 0)
        return -1;
      o->svg = v;
    } else if ((m = cli_option_value(argc, argv, &i, "--activation", &v)) != 0) {
      leakycl_activation act;
      if (m < 0)
        return -1;
      if (strcmp(v, "all") != 0) {
        if (leakycl_activation_from_name(v, &act) != LEAKYCL_OK) {
          cli_error("bench: unknown activation \"%s\" (relu, leaky_relu, prelu, phased_relu, all)",
                    v);
          return -1;
        }
        for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++)
          o->activation[a] = a == (int)act;
      }
    } else if ((m = cli_option_value(argc, argv, &i, "--op", &v)) != 0) {
      bench_op op;
      if (m < 0)
        return -1;
      if (strcmp(v, "all") != 0) {
        if (bench_op_from_name(v, &op) != 0) {
          cli_error("bench: unknown op \"%s\" (forward, backward, reduce, all)", v);
          return -1;
        }
        for (int k = 0; k < BENCH_OP_COUNT; k++)
          o->op[k] = k == (int)op;
      }
    } else if ((m = cli_option_value(argc, argv, &i, "--n", &v)) != 0) {
      if (m < 0 || parse_size("--n", v, &o->n_min) != 0)
        return -1;
      o->n_max = o->n_min;
      have_n = 1;
    } else if ((m = cli_option_value(argc, argv, &i, "--n-min", &v)) != 0) {
      if (m < 0 || parse_size("--n-min", v, &o->n_min) != 0)
        return -1;
      have_range = 1;
    } else if ((m = cli_option_value(argc, argv, &i, "--n-max", &v)) != 0) {
      if (m < 0 || parse_size("--n-max", v, &o->n_max) != 0)
        return -1;
      have_range = 1;
    } else if ((m = cli_option_value(argc, argv, &i, "--repeat", &v)) != 0) {
      long r;
      if (m < 0)
        return -1;
      if (cli_parse_long(v, &r) != 0 || r < 1 || r > BENCH_MAX_REPEAT) {
        cli_error("bench: --repeat must be from 1 to %d, not \"%s\"", BENCH_MAX_REPEAT, v);
        return -1;
      }
      o->repeat = (int)r;
    } else {
      cli_error("bench: unknown option \"%s\" (see leakycl bench --help)", arg);
      return -1;
    }
  }
  if (have_n && have_range) {
    cli_error("bench: --n cannot be combined with --n-min or --n-max");
    return -1;
  }
  if (o->n_min > o->n_max) {
    cli_error("bench: --n-min (%zu) is above --n-max (%zu)", o->n_min, o->n_max);
    return -1;
  }
  if (o->op[BENCH_REDUCE] && !o->op[BENCH_FORWARD] && !o->op[BENCH_BACKWARD] &&
      !o->activation[LEAKYCL_PRELU] && !o->activation[LEAKYCL_PHASED_RELU]) {
    cli_error("bench: reduce needs an activation with a gradient (prelu or phased_relu)");
    return -1;
  }
  return 0;
}

/* ---- timing ---- */

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* How a candidate runs. */
typedef enum bench_how {
  HOW_LEAKYCL_RESIDENT, /* *_buffers on cl_mem */
  HOW_LEAKYCL_HOST,     /* leakycl_forward() etc. on host memory */
  HOW_OPENMP,
  HOW_STREAM_COPY,
  HOW_CL_COPY
} bench_how;

typedef struct bench_candidate {
  bench_row row;
  bench_how how;
  leakycl_params params;
  bench_ref_params ref;
  size_t calls; /* per sample */
  double *samples;
  int sample_count;
} bench_candidate;

/* What every candidate of one (device, n) block works on. */
typedef struct bench_block {
  leakycl_context *ctx;
  cl_command_queue queue;
  size_t n;
  const float *hx, *hdy; /* inputs: the first n of the sweep's data */
  float *hout;           /* outputs of host-memory calls and references */
  cl_mem x, dy, out;
  double sink; /* keeps the references' sums alive */
} bench_block;

/* Runs `calls` calls of one candidate and waits for them; the last call's
 * dalpha (calls that reduce) goes to *dalpha_out when it is not NULL. */
static leakycl_status run_candidate(bench_block *b, const bench_candidate *c, size_t calls,
                                    float *dalpha_out) {
  const leakycl_view view = leakycl_view_flat(b->n);
  float dalpha = 0;
  const leakycl_grads grads = {&dalpha, NULL, NULL};
  const leakycl_grads *g = c->row.fused_dalpha ? &grads : NULL;
  leakycl_status st = LEAKYCL_OK;
  for (size_t k = 0; k < calls && st == LEAKYCL_OK; k++) {
    switch (c->how) {
    case HOW_LEAKYCL_RESIDENT:
      /* Forward and backward without grads are only enqueued: a stream of
       * calls, one wait at the end. Calls with grads wait themselves. */
      if (c->row.op == BENCH_FORWARD)
        st = leakycl_forward_buffers(b->ctx, &c->params, view, b->x, b->out);
      else if (c->row.op == BENCH_BACKWARD)
        st = leakycl_backward_buffers(b->ctx, &c->params, view, LEAKYCL_FROM_X, b->x, b->dy, b->out,
                                      g);
      else
        st = leakycl_reduce_buffers(b->ctx, &c->params, view, b->x, b->dy, &grads);
      break;
    case HOW_LEAKYCL_HOST:
      if (c->row.op == BENCH_FORWARD)
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

/* Reports a failed leakycl call and returns the exit status for it. */
static int candidate_failure(const bench_block *b, const bench_candidate *c, leakycl_status st) {
  cli_error("bench: %s %s %s (n=%zu): %s: %s", c->row.name, c->row.activation,
            bench_op_name(c->row.op), b->n, leakycl_status_name(st),
            c->how == HOW_CL_COPY ? "clEnqueueCopyBuffer failed" : leakycl_last_error(b->ctx));
  return cli_exit_for_status(st);
}

/* Two warm-up calls (program builds, first launches, page faults), then
 * batches of growing size until one lasts a sample's minimum: that batch
 * size is the candidate's calls per sample. */
static leakycl_status calibrate(bench_block *b, bench_candidate *c) {
  leakycl_status st = run_candidate(b, c, 1, NULL);
  if (st == LEAKYCL_OK)
    st = run_candidate(b, c, 1, NULL);
  size_t calls = 1;
  while (st == LEAKYCL_OK) {
    const double t0 = now_seconds();
    st = run_candidate(b, c, calls, NULL);
    const double took = now_seconds() - t0;
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

/* --verify: one more call of a leakycl candidate, its output (read back
 * from the device when resident) held against the oracle. Returns 0, or the
 * exit status after printing what differs. */
static int verify_candidate(bench_block *b, const bench_candidate *c) {
  const size_t bytes = b->n * sizeof(float);
  float dalpha = 0;
  /* A poison pattern first: a call that writes nothing cannot pass. */
  memset(b->hout, 0xA5, bytes);
  leakycl_status st = LEAKYCL_OK;
  if (c->how == HOW_LEAKYCL_RESIDENT &&
      clEnqueueFillBuffer(b->queue, b->out, b->hout, sizeof(float), 0, bytes, 0, NULL, NULL) !=
          CL_SUCCESS)
    st = LEAKYCL_OPENCL_ERROR;
  if (st == LEAKYCL_OK)
    st = run_candidate(b, c, 1, &dalpha);
  if (st == LEAKYCL_OK && c->how == HOW_LEAKYCL_RESIDENT && c->row.op != BENCH_REDUCE &&
      clEnqueueReadBuffer(b->queue, b->out, CL_TRUE, 0, bytes, b->hout, 0, NULL, NULL) !=
          CL_SUCCESS)
    st = LEAKYCL_OPENCL_ERROR;
  if (st != LEAKYCL_OK)
    return candidate_failure(b, c, st);
  /* Test hook (as leakycl check's): a wrong answer must fail the run. */
  const char *hook = getenv("LEAKYCL_CHECK_CORRUPT");
  if (hook && strcmp(hook, "1") == 0) {
    if (c->row.op == BENCH_REDUCE)
      dalpha = -dalpha + 1.0f;
    else
      b->hout[b->n / 2] = -b->hout[b->n / 2] + 1.0f;
  }
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

/* One sample of every candidate, in order (the round-robin of a repeat). */
static leakycl_status sample_round(bench_block *b, bench_candidate *cands, size_t count,
                                   size_t *failed) {
  for (size_t i = 0; i < count; i++) {
    bench_candidate *c = &cands[i];
    const double t0 = now_seconds();
    const leakycl_status st = run_candidate(b, c, c->calls, NULL);
    if (st != LEAKYCL_OK) {
      *failed = i;
      return st;
    }
    c->samples[c->sample_count++] = (now_seconds() - t0) / (double)c->calls;
  }
  return LEAKYCL_OK;
}

/* ---- the candidates of one block ---- */

typedef struct bench_device {
  leakycl_context *ctx;
  leakycl_device_info info;
  char variant[128];
} bench_device;

static void row_identity(bench_row *r, const bench_device *d, size_t n, const char *kind,
                         const char *name) {
  memset(r, 0, sizeof *r);
  snprintf(r->kind, sizeof r->kind, "%s", kind);
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->device, sizeof r->device, "%s", d->info.name);
  snprintf(r->device_index, sizeof r->device_index, "%u:%u", d->info.platform_index,
           d->info.device_index);
  r->n = n;
}

/* The (activation, op, fused) cases the options ask for, in table order;
 * fills up to cap entries and returns the count. */
typedef struct bench_case {
  leakycl_activation activation;
  bench_op op;
  int fused;
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
          out[count++] = (bench_case){(leakycl_activation)a, (bench_op)op, fused};
    }
  }
  return count;
}

/* Fills cands (capacity cap) for one block; returns the count. */
static size_t list_candidates(const bench_options *o, const bench_device *d, size_t n,
                              bench_candidate *cands, size_t cap) {
  bench_case cases[32];
  const size_t ncases = list_cases(o, cases, 32);
  size_t count = 0;
  for (size_t k = 0; k < ncases; k++) {
    const bench_case *cs = &cases[k];
    static const bench_how hows[] = {HOW_LEAKYCL_RESIDENT, HOW_LEAKYCL_HOST, HOW_OPENMP};
    for (size_t h = 0; h < 3 && count < cap; h++) {
      if (hows[h] == HOW_OPENMP && !o->references)
        continue;
      bench_candidate *c = &cands[count++];
      memset(c, 0, sizeof *c);
      c->how = hows[h];
      const int lk = hows[h] != HOW_OPENMP;
      row_identity(&c->row, d, n, lk ? "leakycl" : "reference", lk ? "leakycl" : "openmp");
      snprintf(c->row.activation, sizeof c->row.activation, "%s",
               leakycl_activation_name(cs->activation));
      c->row.op = cs->op;
      c->row.fused_dalpha = cs->fused;
      c->row.resident = hows[h] != HOW_LEAKYCL_HOST;
      snprintf(c->row.variant, sizeof c->row.variant, "%s",
               lk ? d->variant : bench_ref_description());
      c->row.bytes = bench_bytes(cs->op, cs->fused, n);
      leakycl_params_init(&c->params, cs->activation);
      bench_ref_params_default(&c->ref, cs->activation);
    }
  }
  /* The copy limits: host memory (CPU devices) and the device's own copy. */
  for (int limit = 0; o->references && limit < 2 && count < cap; limit++) {
    if (limit == 0 && d->info.type != LEAKYCL_DEVICE_CPU)
      continue;
    bench_candidate *c = &cands[count++];
    memset(c, 0, sizeof *c);
    c->how = limit == 0 ? HOW_STREAM_COPY : HOW_CL_COPY;
    row_identity(&c->row, d, n, "reference", limit == 0 ? "stream_copy" : "cl_copy");
    snprintf(c->row.activation, sizeof c->row.activation, "none");
    c->row.op = BENCH_COPY;
    c->row.resident = 1;
    snprintf(c->row.variant, sizeof c->row.variant, "%s",
             limit == 0 ? "non-temporal stores, openmp" : "clEnqueueCopyBuffer");
    c->row.bytes = bench_bytes(BENCH_COPY, 0, n);
  }
  return count;
}

/* ---- output ---- */

static int row_order(const void *pa, const void *pb) {
  static const char *const names[] = {"leakycl",  "openmp",      "numpy",  "jax",
                                      "pyopencl", "stream_copy", "cl_copy"};
  const bench_row *a = pa, *b = pb;
  if (a->op != b->op)
    return (int)a->op - (int)b->op;
  if (a->fused_dalpha != b->fused_dalpha)
    return a->fused_dalpha - b->fused_dalpha;
  leakycl_activation x = LEAKYCL_ACTIVATION_COUNT, y = LEAKYCL_ACTIVATION_COUNT;
  leakycl_activation_from_name(a->activation, &x);
  leakycl_activation_from_name(b->activation, &y);
  if (x != y)
    return (int)x - (int)y;
  int ra = 99, rb = 99;
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
    ra = strcmp(a->name, names[i]) == 0 ? i : ra;
    rb = strcmp(b->name, names[i]) == 0 ? i : rb;
  }
  if (ra != rb)
    return ra - rb;
  return b->resident - a->resident;
}

/* Prints the rows of one block (sorted) and moves them into all. */
static int emit_block(const bench_options *o, bench_rows *block, bench_rows *all) {
  qsort(block->items, block->count, sizeof *block->items, row_order);
  for (size_t i = 0; i < block->count; i++)
    if (bench_rows_push(all, &block->items[i]) != 0)
      return -1;
  for (size_t i = 0; i < block->count; i++) {
    if (o->json)
      bench_row_print_json(stdout, &block->items[i], all);
    else
      bench_table_row(stdout, &block->items[i], all);
  }
  if (!o->json)
    fputc('\n', stdout);
  fflush(stdout);
  block->count = 0;
  return ferror(stdout) ? -1 : 0;
}

static void progress(const bench_device *d, size_t n, const char *what) {
  fprintf(stderr, "leakycl: bench: %u:%u n=%zu: %s\n", d->info.platform_index, d->info.device_index,
          n, what);
}

/* ---- one (device, n) block ---- */

typedef struct bench_sweep {
  const bench_options *o;
  float *hx, *hdy, *hout; /* n_max floats each */
  char tmpdir[64];        /* the .npy files for the Python references */
  bench_python python;
  bench_rows all;
  bench_rows block;
} bench_sweep;

/* Writes the first n floats of data to dir/name; returns 0 or -1. */
static int write_npy(const char *dir, const char *name, const float *data, size_t n, char *path,
                     size_t pathlen) {
  char err[256];
  snprintf(path, pathlen, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  const npy_result r = npy_write(f, &n, 1, data, err, sizeof err);
  return fclose(f) == 0 && r == NPY_OK ? 0 : -1;
}

/* The Python references of one block, between the two halves of the C
 * samples (cross-process interleaving by blocks). */
static int python_block(bench_sweep *s, const bench_device *d, size_t n) {
  if (!s->o->references || s->python.disabled)
    return 0;
  char xpath[128], dypath[128], acts[96] = "", ops[48] = "";
  if (write_npy(s->tmpdir, "x.npy", s->hx, n, xpath, sizeof xpath) != 0 ||
      write_npy(s->tmpdir, "dy.npy", s->hdy, n, dypath, sizeof dypath) != 0) {
    cli_error("bench: note: cannot write the data for the Python references in %s; skipped",
              s->tmpdir);
    return 0;
  }
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++)
    if (s->o->activation[a])
      snprintf(acts + strlen(acts), sizeof acts - strlen(acts), "%s%s", *acts ? "," : "",
               leakycl_activation_name((leakycl_activation)a));
  for (int op = 0; op < BENCH_OP_COUNT; op++)
    if (s->o->op[op])
      snprintf(ops + strlen(ops), sizeof ops - strlen(ops), "%s%s", *ops ? "," : "",
               bench_op_name((bench_op)op));
  bench_row like;
  row_identity(&like, d, n, "reference", "");
  const bench_python_job job = {xpath, dypath, n, s->o->repeat, acts, ops, &like};
  progress(d, n, "Python references");
  return bench_python_run(&s->python, &job, &s->block);
}

static int run_block(bench_sweep *s, bench_device *d, size_t n) {
  const bench_options *o = s->o;
  bench_candidate cands[128];
  const size_t count = list_candidates(o, d, n, cands, 128);
  bench_block b = {.ctx = d->ctx, .n = n, .hx = s->hx, .hdy = s->hdy, .hout = s->hout};
  cl_context cl = NULL;
  int rc = CLI_EXIT_OK;
  double *samples = calloc(count * (size_t)o->repeat, sizeof *samples);
  if (!samples) {
    cli_error("bench: out of memory");
    return CLI_EXIT_FAILURE;
  }
  for (size_t i = 0; i < count; i++)
    cands[i].samples = samples + i * (size_t)o->repeat;
  leakycl_context_cl(d->ctx, &cl, NULL, &b.queue);
  cl_int e1 = CL_SUCCESS, e2 = CL_SUCCESS, e3 = CL_SUCCESS;
  const size_t bytes = n * sizeof(float);
  b.x = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, s->hx, &e1);
  b.dy = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, s->hdy, &e2);
  b.out = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &e3);
  if (e1 != CL_SUCCESS || e2 != CL_SUCCESS || e3 != CL_SUCCESS) {
    cli_error("bench: clCreateBuffer of %zu bytes failed on %s: %s", bytes, d->info.name,
              leakycl_cl_error_name(e1 != CL_SUCCESS   ? e1
                                    : e2 != CL_SUCCESS ? e2
                                                       : e3));
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  progress(d, n, "warm-up");
  for (size_t i = 0; i < count; i++) {
    const leakycl_status st = calibrate(&b, &cands[i]);
    if (st != LEAKYCL_OK) {
      rc = candidate_failure(&b, &cands[i], st);
      goto done;
    }
  }
  /* Half the C samples, the Python block, then the other half. */
  const int first_half = (o->repeat + 1) / 2;
  for (int r = 0; r < o->repeat; r++) {
    if (r == first_half && python_block(s, d, n) != 0) {
      cli_error("bench: out of memory");
      rc = CLI_EXIT_FAILURE;
      goto done;
    }
    char what[64];
    snprintf(what, sizeof what, "repeat %d/%d of %zu candidates", r + 1, o->repeat, count);
    progress(d, n, what);
    size_t failed = 0;
    const leakycl_status st = sample_round(&b, cands, count, &failed);
    if (st != LEAKYCL_OK) {
      rc = candidate_failure(&b, &cands[failed], st);
      goto done;
    }
  }
  if (first_half >= o->repeat && python_block(s, d, n) != 0) {
    cli_error("bench: out of memory");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    bench_row_set_stats(&cands[i].row, cands[i].samples, cands[i].sample_count);
    if (bench_rows_push(&s->block, &cands[i].row) != 0) {
      cli_error("bench: out of memory");
      rc = CLI_EXIT_FAILURE;
      goto done;
    }
  }
  /* The figures stand only on answers the oracle accepts. */
  for (size_t i = 0; o->verify && i < count && rc == CLI_EXIT_OK; i++)
    if (cands[i].how == HOW_LEAKYCL_RESIDENT || cands[i].how == HOW_LEAKYCL_HOST)
      rc = verify_candidate(&b, &cands[i]);
  if (rc != CLI_EXIT_OK)
    goto done;
  if (o->verify)
    progress(d, n, "verified against the float64 oracle");
  if (emit_block(o, &s->block, &s->all) != 0) {
    cli_error("bench: cannot write the results");
    rc = CLI_EXIT_FAILURE;
  }
done:
  s->block.count = 0;
  if (b.x)
    clReleaseMemObject(b.x);
  if (b.dy)
    clReleaseMemObject(b.dy);
  if (b.out)
    clReleaseMemObject(b.out);
  free(samples);
  return rc;
}

/* ---- devices and data ---- */

/* Opens the devices: every one for "all", else the one SPEC names. */
static int open_devices(const char *spec, const char *variant, bench_device *devs, size_t *count) {
  char err[1024];
  char specs[BENCH_MAX_DEVICES][24];
  size_t nspecs = 0;
  if (spec && strcmp(spec, "all") == 0) {
    leakycl_device_info infos[BENCH_MAX_DEVICES];
    size_t seen = 0;
    const leakycl_status st =
        leakycl_list_devices(infos, BENCH_MAX_DEVICES, &seen, err, sizeof err);
    if (st != LEAKYCL_OK) {
      cli_error("bench: %s", err);
      return cli_exit_for_status(st);
    }
    if (seen == 0) {
      cli_error("bench: no OpenCL device found");
      return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < seen && i < BENCH_MAX_DEVICES; i++)
      snprintf(specs[nspecs++], sizeof specs[0], "%u:%u", infos[i].platform_index,
               infos[i].device_index);
  } else {
    snprintf(specs[nspecs++], sizeof specs[0], "%s", "");
  }
  *count = 0;
  for (size_t i = 0; i < nspecs; i++) {
    bench_device *d = &devs[*count];
    memset(d, 0, sizeof *d);
    const char *s = *specs[i] ? specs[i] : spec;
    leakycl_status st = leakycl_context_create(s, &d->ctx, err, sizeof err);
    if (st != LEAKYCL_OK) {
      cli_error("bench: %s", err);
      return cli_exit_for_status(st);
    }
    ++*count;
    leakycl_variant v;
    st = leakycl_context_device(d->ctx, &d->info);
    if (st == LEAKYCL_OK && variant) {
      /* A variant the device cannot run is bad usage, named with the device. */
      if (leakycl_variant_parse(variant, &d->info, &v, err, sizeof err) != LEAKYCL_OK) {
        cli_error("bench: --variant on %s: %s", d->info.name, err);
        return CLI_EXIT_USAGE;
      }
      st = leakycl_set_variant(d->ctx, &v);
    }
    if (st == LEAKYCL_OK)
      st = leakycl_get_variant(d->ctx, &v);
    if (st == LEAKYCL_OK)
      st = leakycl_variant_describe(&v, d->variant, sizeof d->variant);
    if (st != LEAKYCL_OK) {
      cli_error("bench: %s", leakycl_last_error(d->ctx));
      return cli_exit_for_status(st);
    }
  }
  return CLI_EXIT_OK;
}

/* Page-aligned, so zero-copy host pointers and streaming stores apply. */
static float *alloc_floats(size_t n) {
  const size_t bytes = (n * sizeof(float) + 4095) / 4096 * 4096;
  return aligned_alloc(4096, bytes);
}

/* Deterministic data: x spread over [-8, 8) (every branch, phased_relu's
 * band [-5, 0) included), dy in [0, 1). */
static void fill_data(float *x, float *dy, size_t n) {
  for (size_t i = 0; i < n; i++) {
    x[i] = (float)((i * 2654435761u) % 16001) / 1000.0f - 8.0f;
    dy[i] = (float)((i * 40503u) % 1001) / 1000.0f;
  }
}

/* libgomp reads OMP_WAIT_POLICY once, when it loads. Its default lets idle
 * team threads spin, and on a small or shared machine they then take turns
 * with PoCL's workers and other processes at every barrier: the OpenMP
 * reference ran 2.5x slower at 4 Mi elements on 2 busy cores. So unless the
 * user chose a policy, bench runs itself again with "passive". A failed
 * exec just goes on with the default. */
static void reexec_with_passive_openmp(int argc, char **argv) {
#ifdef _OPENMP
  if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
    return;
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args)
    return;
  args[0] = "leakycl";
  for (int i = 0; i < argc; i++)
    args[i + 1] = argv[i]; /* argv[0] is "bench" */
  fflush(NULL);
  execv("/proc/self/exe", args);
  free(args);
#else
  (void)argc;
  (void)argv;
#endif
}

int cmd_bench(int argc, char **argv) {
  bench_options o;
  const int parsed = parse_options(argc, argv, &o);
  if (parsed != 0) {
    if (parsed > 0)
      cli_usage_bench(stdout);
    return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
  }
  if (o.references)
    reexec_with_passive_openmp(argc, argv);
  bench_device devs[BENCH_MAX_DEVICES];
  size_t ndev = 0;
  bench_sweep s = {.o = &o};
  bench_python_init(&s.python);
  int rc = open_devices(o.device, o.variant, devs, &ndev);
  if (rc != CLI_EXIT_OK)
    goto done;
  s.hx = alloc_floats(o.n_max);
  s.hdy = alloc_floats(o.n_max);
  s.hout = alloc_floats(o.n_max);
  if (!s.hx || !s.hdy || !s.hout) {
    cli_error("bench: out of memory for 3 x %zu floats", o.n_max);
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  fill_data(s.hx, s.hdy, o.n_max);
  if (o.references) {
    const char *tmp = getenv("TMPDIR");
    snprintf(s.tmpdir, sizeof s.tmpdir, "%s/leakycl-bench-XXXXXX",
             tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(s.tmpdir)) {
      cli_error("bench: note: cannot create %s; Python references skipped", s.tmpdir);
      s.tmpdir[0] = '\0';
      s.python.disabled = 1;
    }
  }
  for (size_t i = 0; i < ndev && rc == CLI_EXIT_OK; i++) {
    if (!o.json)
      printf("device %u:%u %s (%s), variant %s\n\n", devs[i].info.platform_index,
             devs[i].info.device_index, devs[i].info.name, devs[i].info.platform_name,
             devs[i].variant);
    if (!o.json)
      bench_table_header(stdout);
    for (size_t n = o.n_min; n <= o.n_max && rc == CLI_EXIT_OK; n *= 4)
      rc = run_block(&s, &devs[i], n);
  }
  if (rc == CLI_EXIT_OK && o.svg) {
    char err[512];
    if (bench_svg_write(o.svg, &s.all, err, sizeof err) != 0) {
      cli_error("bench: %s", err);
      rc = CLI_EXIT_FAILURE;
    }
  }
done:
  if (s.tmpdir[0]) {
    char path[128];
    snprintf(path, sizeof path, "%s/x.npy", s.tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/dy.npy", s.tmpdir);
    unlink(path);
    rmdir(s.tmpdir);
  }
  for (size_t i = 0; i < ndev; i++)
    leakycl_context_release(devs[i].ctx);
  free(s.hx);
  free(s.hdy);
  free(s.hout);
  bench_rows_free(&s.all);
  bench_rows_free(&s.block);
  bench_python_free(&s.python);
  return rc;
}
