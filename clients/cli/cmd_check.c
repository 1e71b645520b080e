/* cmd_check.c - `leakycl check`: the conformance suite run as a command, as
 * clpeak or the OpenCL CTS are, on the user's own devices. Every case goes
 * through the public API under each chosen variant and is compared with the
 * float64 oracle (oracle/check_oracle.c); a failure is shrunk to the smallest input
 * that still fails and printed exactly (%a). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_cases.h"
#include "check_run.h"
#include "cli.h"
#include "cli_options.h"
#include "commands.h"
#include "jsonw.h"

#define CHECK_MAX_VARIANTS 16
/* Failures shrunk and printed in full per variant (the rest are counted). */
#define CHECK_SHRINK_FAILURES 3
#define CHECK_PRINT_FAILURES 10
/* Shrinking stops after this many re-runs or seconds. */
#define CHECK_SHRINK_RUNS 300
#define CHECK_SHRINK_SECONDS 30.0
/* Arrays of a minimal input up to this length are printed in full. */
#define CHECK_PRINT_ELEMENTS 32

static const char check_usage[] =
    "usage: leakycl check [--device SPEC|all] [--variant V] [--quick] [--json]\n"
    "\n"
    "Runs the conformance suite on a device: relu, leaky_relu, prelu (shared and\n"
    "per-channel alpha) and phased_relu; forward, backward, backward with dalpha\n"
    "and its diagnostics, reduce, backward from y and packed batches of mixed jobs;\n"
    "float32, float16 and bfloat16; sizes around every vector and work-group\n"
    "multiple; signed zeros, NaN, infinities, subnormals, the largest floats and\n"
    "phased_relu's threshold with its neighbours mixed into random data; both\n"
    "strategies, every vector width and several work-group sizes. Each output is\n"
    "compared with a float64 oracle: y and dx bit for bit (NaN as NaN; a device\n"
    "without CL_FP_DENORM may flush subnormals to zero), dalpha within\n"
    "1e-6 x sum|terms| and bit-identical on repeat, neg_fraction and mean_abs_grad\n"
    "within 1e-6. A failure is shrunk to the smallest input that still fails and\n"
    "printed with exact (%a) values.\n"
    "\n"
    "  --device SPEC|all  a device SPEC (default $LEAKYCL_DEVICE, else auto), or every\n"
    "                     device found\n"
    "  --variant V        only this variant (\"cpu vw4 wg16\"; fields not named keep\n"
    "                     the strategy's default); default: 12 variants covering both\n"
    "                     strategies, every vector width and small work-groups\n"
    "  --quick            a representative subset (the device's default variant and\n"
    "                     one of the other strategy): under a minute on a CPU\n"
    "  --json             one JSON object a line: a \"summary\" per device and a\n"
    "                     \"failure\" per failing case\n"
    "\n"
    "exit status: 0 all cases pass, 1 a case failed or a device could not be\n"
    "used, 2 bad usage. Test hook: LEAKYCL_CHECK_CORRUPT=1 flips the sign of one\n"
    "output element of one case before it is compared (the check must fail).\n";

typedef struct check_args {
  const char *device, *variant;
  int quick, json;
} check_args;

/* Reads the options into *a. Returns 1 when the command goes on, else 0
 * with *exit_status (0 after --help, 2 after a usage error). */
static int parse_check_args(int argc, char **argv, check_args *a, int *exit_status) {
  memset(a, 0, sizeof *a);
  const cli_option options[] = {
      {"--quick", .flag = &a->quick},
      {"--json", .flag = &a->json},
      {"--device", .value = &a->device},
      {"--variant", .value = &a->variant},
  };
  const cli_option_table table = {"check", check_usage, options, sizeof options / sizeof options[0],
                                  .stray = "option"};
  return cli_parse_options(&table, argc, argv, exit_status);
}

/* ---- which variants ---- */

typedef struct variant_run {
  leakycl_variant v;
  char desc[128];
  ck_suite suite;
  size_t cases, failures;
  ck_tally tally;
  double seconds;
} variant_run;

/* Both strategies, every vector width, small and odd work-groups, small
 * chunks and reduction blocks (many partials), streaming stores from 64
 * and 256 elements. */
static const char *const full_variants[] = {
    "cpu vw1 wg1 chunk1 block7",
    "cpu vw2 wg3 chunk5 block64",
    "cpu vw4 wg16",
    "cpu vw8 wg7 chunk3 block1000 nt256",
    "cpu vw16 wg64 chunk1 block16 nt64",
    "gpu vw1 wg1 block3",
    "gpu vw2 wg32",
    "gpu vw4 wg8 block8",
    "gpu vw8 wg2 block100 nt256",
    "gpu vw16 wg64",
};

/* Appends v unless a variant of the same description is there already. */
static void add_variant(variant_run *runs, size_t *count, const leakycl_variant *v,
                        ck_suite suite) {
  variant_run r;
  memset(&r, 0, sizeof r);
  r.v = *v, r.suite = suite;
  if (leakycl_variant_describe(v, r.desc, sizeof r.desc) != LEAKYCL_OK)
    snprintf(r.desc, sizeof r.desc, "%s vw%u", leakycl_strategy_name(v->strategy), v->vector_width);
  for (size_t i = 0; i < *count; i++) {
    if (strcmp(runs[i].desc, r.desc) == 0)
      return;
  }
  if (*count < CHECK_MAX_VARIANTS)
    runs[(*count)++] = r;
}

/* The variants to run on device d; returns 0, or CLI_EXIT_USAGE when
 * --variant does not parse for it. */
static int variant_list(const check_args *a, const leakycl_device_info *d, variant_run *runs,
                        size_t *count) {
  char err[512];
  leakycl_variant v;
  *count = 0;
  if (a->variant) {
    if (leakycl_variant_parse(a->variant, d, &v, err, sizeof err) != LEAKYCL_OK) {
      cli_error("--variant \"%s\" on %s: %s", a->variant, d->name, err);
      return CLI_EXIT_USAGE;
    }
    add_variant(runs, count, &v, a->quick ? CK_SUITE_QUICK : CK_SUITE_FULL);
    return 0;
  }
  const leakycl_strategy own =
      d->type == LEAKYCL_DEVICE_CPU ? LEAKYCL_STRATEGY_CPU : LEAKYCL_STRATEGY_GPU;
  if (leakycl_default_variant(d, own, &v) == LEAKYCL_OK)
    add_variant(runs, count, &v, a->quick ? CK_SUITE_QUICK : CK_SUITE_FULL);
  if (a->quick) {
    const char *alt =
        own == LEAKYCL_STRATEGY_CPU ? "gpu vw2 wg32 block64" : "cpu vw8 wg16 chunk2 block1000";
    if (leakycl_variant_parse(alt, d, &v, err, sizeof err) == LEAKYCL_OK)
      add_variant(runs, count, &v, CK_SUITE_QUICK_ALT);
    /* Every other vector width of both strategies, on packed batches only
     * (add_variant drops the widths already run above). */
    static const char *const batch_variants[] = {"cpu vw1 wg4",  "cpu vw2 wg4",  "cpu vw4 wg4",
                                                 "cpu vw8 wg4",  "cpu vw16 wg4", "gpu vw1 wg16",
                                                 "gpu vw4 wg16", "gpu vw8 wg16", "gpu vw16 wg16"};
    for (size_t i = 0; i < sizeof batch_variants / sizeof batch_variants[0]; i++)
      if (leakycl_variant_parse(batch_variants[i], d, &v, err, sizeof err) == LEAKYCL_OK)
        add_variant(runs, count, &v, CK_SUITE_QUICK_BATCH);
    return 0;
  }
  if (leakycl_default_variant(
          d, own == LEAKYCL_STRATEGY_CPU ? LEAKYCL_STRATEGY_GPU : LEAKYCL_STRATEGY_CPU, &v) ==
      LEAKYCL_OK)
    add_variant(runs, count, &v, CK_SUITE_FULL);
  for (size_t i = 0; i < sizeof full_variants / sizeof full_variants[0]; i++) {
    if (leakycl_variant_parse(full_variants[i], d, &v, err, sizeof err) == LEAKYCL_OK)
      add_variant(runs, count, &v, CK_SUITE_FULL);
    else /* a device limit (work-group size, local memory): not a failure */
      fprintf(stderr, "check: %s: skipping variant \"%s\": %s\n", d->name, full_variants[i], err);
  }
  return 0;
}

/* ---- shrinking: re-run smaller inputs while they still fail ---- */

/* The job with a flat copy of its elements [lo, hi); to_shared replaces a
 * per-channel alpha by the single alpha `a`. */
static int slice_job(ck_job *j, size_t lo, size_t hi, int to_shared, float a) {
  if (ck_job_set_data(j, hi - lo, j->x + lo, j->dy + lo) != 0)
    return -1;
  if (to_shared && j->act != LEAKYCL_RELU)
    j->alpha_count = 1, j->alpha[0] = a;
  return 0;
}

/* The job keeping outer slabs [lo, hi) of its [outer, C, inner] view. */
static int slab_job(ck_job *j, size_t lo, size_t hi) {
  const leakycl_view v = ck_job_view(j);
  const size_t slab = v.channels * v.inner;
  if (ck_job_set_data(j, (hi - lo) * slab, j->x + lo * slab, j->dy + lo * slab) != 0)
    return -1;
  j->rank = 3, j->axis = 1;
  j->shape[0] = hi - lo, j->shape[1] = v.channels, j->shape[2] = v.inner;
  return 0;
}

/* Channel c of a per-channel job as a flat job with that channel's alpha. */
static int channel_job(ck_job *j, size_t c) {
  const leakycl_view v = ck_job_view(j);
  const size_t nc = v.outer * v.inner;
  float *x = malloc((nc ? nc : 1) * sizeof(float)), *dy = malloc((nc ? nc : 1) * sizeof(float));
  int rc = -1;
  if (x && dy) {
    for (size_t o = 0, q = 0; o < v.outer; o++) {
      for (size_t i = 0; i < v.inner; i++, q++) {
        x[q] = j->x[(o * v.channels + c) * v.inner + i];
        dy[q] = j->dy[(o * v.channels + c) * v.inner + i];
      }
    }
    const float a = ck_job_alpha(j, c);
    rc = ck_job_set_data(j, nc, x, dy);
    j->alpha_count = 1, j->alpha[0] = a;
  }
  free(x);
  free(dy);
  return rc;
}

#define SLOTS_PER_JOB 24 /* one element, 2 halves, 2 slabs, one channel, 18 drops */

/* Builds shrinking candidate `idx` of cur into out: 1 built, 0 none left,
 * -1 not applicable (or no memory). Dropping whole jobs comes first, then
 * for each job (the failing one first) smaller data. */
static int candidate(const ck_case *cur, const ck_failure *f, size_t idx, ck_case *out) {
  const size_t drops = cur->packed && cur->count > 1 ? cur->count : 0;
  if (idx >= drops + cur->count * SLOTS_PER_JOB)
    return 0;
  if (idx < drops) { /* the batch without job idx (a shallow view, then copied) */
    ck_case tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.packed = 1;
    for (size_t k = 0; k < cur->count; k++) {
      if (k != idx)
        tmp.jobs[tmp.count++] = cur->jobs[k];
    }
    return ck_case_copy(out, &tmp) == 0 ? 1 : -1;
  }
  if (ck_case_copy(out, cur) != 0)
    return -1;
  idx -= drops;
  const size_t order = idx / SLOTS_PER_JOB, slot = idx % SLOTS_PER_JOB;
  const size_t k = order == 0 ? f->job : (order <= f->job ? order - 1 : order);
  ck_job *j = &out->jobs[k];
  const leakycl_view v = ck_job_view(j);
  const int shared = j->alpha_count <= 1;
  const int elem_fail = k == f->job && (strcmp(f->what, "y") == 0 || strcmp(f->what, "dx") == 0);
  int rc = -1;
  if (slot == 0 && elem_fail && j->n > 1) /* the failing element alone */
    rc = slice_job(j, f->index, f->index + 1, 1, ck_job_alpha(j, f->channel));
  else if (slot == 1 && shared && j->n > 1)
    rc = slice_job(j, 0, j->n / 2, 0, 0);
  else if (slot == 2 && shared && j->n > 1)
    rc = slice_job(j, j->n / 2, j->n, 0, 0);
  else if (slot == 3 && !shared && v.outer > 1)
    rc = slab_job(j, 0, v.outer / 2);
  else if (slot == 4 && !shared && v.outer > 1)
    rc = slab_job(j, v.outer / 2, v.outer);
  else if (slot == 5 && !shared && k == f->job)
    rc = channel_job(j, f->channel);
  else if (slot >= 6 && slot - 6 < j->n && shared && j->n > 1 && j->n <= 18) {
    /* one element dropped: the last steps of a small input */
    const size_t q = slot - 6;
    float x[18], dy[18];
    for (size_t i = 0, w = 0; i < j->n; i++) {
      if (i != q)
        x[w] = j->x[i], dy[w] = j->dy[i], w++;
    }
    rc = ck_job_set_data(j, j->n - 1, x, dy);
  }
  if (rc != 0) {
    ck_case_free(out);
    return -1;
  }
  return 1;
}

/* Replaces *cur and *f by the smallest input found that still fails the
 * same way (the same output wrong, or the call failing again: a smaller
 * input must not wander off to another failure); returns the runs made. */
static int shrink(leakycl_context *ctx, const ck_env *env, ck_case *cur, ck_failure *f) {
  const double t0 = cli_now_seconds();
  int runs = 0;
  char what[sizeof f->what];
  snprintf(what, sizeof what, "%s", f->what);
  for (size_t idx = 0; runs < CHECK_SHRINK_RUNS && cli_now_seconds() - t0 < CHECK_SHRINK_SECONDS;) {
    ck_case cand;
    const int made = candidate(cur, f, idx, &cand);
    if (made == 0)
      break;
    idx++;
    if (made < 0)
      continue;
    ck_failure cf;
    runs++;
    const int rc = ck_run_case(ctx, &cand, env, &cf, NULL);
    if (rc == 1 && strcmp(cf.what, what) == 0) {
      ck_case_free(cur);
      *cur = cand;
      *f = cf;
      idx = 0; /* start over from the smaller input */
    } else {
      ck_case_free(&cand);
    }
  }
  return runs;
}

/* ---- reporting ---- */

typedef struct device_ctx {
  const check_args *a;
  leakycl_device_info info;
  char index[32];
  ck_env env;
  int corrupt_pending; /* the hook still has to hit a case */
} device_ctx;

/* "0x1.8p+1 (3)": exact and decimal. */
static void fmt_value(char *buf, size_t len, float v) {
  snprintf(buf, len, "%a (%.9g)", (double)v, (double)v);
}

static int is_elem_failure(const ck_failure *f) {
  return strcmp(f->what, "y") == 0 || strcmp(f->what, "dx") == 0;
}

static void print_array(FILE *o, const char *name, const float *v, size_t n) {
  fprintf(o, "      %s = [", name);
  for (size_t i = 0; i < n; i++)
    fprintf(o, "%s%a", i ? ", " : "", (double)v[i]);
  fprintf(o, "]\n");
}

static void print_case(FILE *o, const ck_case *c, int data) {
  char desc[512];
  if (c->packed)
    fprintf(o, "    leakycl_run_jobs batch of %zu job%s\n", c->count, c->count == 1 ? "" : "s");
  for (size_t k = 0; k < c->count; k++) {
    const ck_job *j = &c->jobs[k];
    ck_job_describe(j, desc, sizeof desc);
    fprintf(o, "    %s%s\n", c->packed ? "job: " : "", desc);
    if (!data || j->n > CHECK_PRINT_ELEMENTS)
      continue;
    print_array(o, j->op == CK_FROM_Y ? "x (the call reads y = forward(x))" : "x", j->x, j->n);
    if (j->op != CK_FORWARD)
      print_array(o, "dy", j->dy, j->n);
  }
}

static void print_failure_line(FILE *o, const ck_case *c, const ck_failure *f) {
  char w[96], g[96], x[96], dy[96];
  fmt_value(w, sizeof w, f->want);
  fmt_value(g, sizeof g, f->got);
  const char *job = c->packed ? "job " : "";
  char jobno[32] = "";
  if (c->packed)
    snprintf(jobno, sizeof jobno, "%zu ", f->job);
  if (strcmp(f->what, "status") == 0) {
    fprintf(o, "    %s%sthe call failed: %s\n", job, jobno, f->detail);
  } else if (is_elem_failure(f)) {
    const ck_job *j = &c->jobs[f->job];
    fmt_value(x, sizeof x, f->x);
    fmt_value(dy, sizeof dy, f->dy);
    fprintf(o, "    %s%s%s[%zu] (channel %zu): %s = %s", job, jobno, f->what, f->index, f->channel,
            j->op == CK_FROM_Y ? "y" : "x", x);
    if (j->op != CK_FORWARD)
      fprintf(o, ", dy = %s", dy);
    if (j->dtype != LEAKYCL_FLOAT32)
      fprintf(o, "; expected 0x%04x = %s, got 0x%04x = %s\n", (unsigned)f->want_bits, w,
              (unsigned)f->got_bits, g);
    else
      fprintf(o, "; expected %s, got %s\n", w, g);
  } else if (strncmp(f->what, "repeat", 6) == 0) {
    fprintf(o, "    %s%s%s[%zu] differs between two identical calls: %s then %s\n", job, jobno,
            f->what + 7, f->channel, w, g);
  } else if (strcmp(f->what, "write past the end") == 0) {
    fprintf(o, "    %s%sthe call wrote past the end of its output (element %zu)\n", job, jobno,
            f->index);
  } else {
    fprintf(o, "    %s%s%s[%zu]: expected %s, got %s; |error| %.3g > bound %.3g\n", job, jobno,
            f->what, f->channel, w, g, f->err, f->bound);
  }
}

static void json_hex(FILE *o, const char *key, float v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%a", (double)v);
  fprintf(o, ",\"%s\":", key);
  jsonw_string(o, buf);
}

static void json_failure_fields(FILE *o, const ck_case *c, const ck_failure *f) {
  char desc[512];
  const ck_job *j = &c->jobs[f->job < c->count ? f->job : 0];
  fprintf(o, "\"what\":");
  jsonw_string(o, f->what);
  fprintf(o, ",\"packed\":%s,\"jobs\":%zu,\"job\":%zu", c->packed ? "true" : "false", c->count,
          f->job);
  ck_job_describe(j, desc, sizeof desc);
  fprintf(o, ",\"case\":");
  jsonw_string(o, desc);
  fprintf(
      o, ",\"activation\":\"%s\",\"conventions\":\"%s\",\"op\":\"%s\",\"dtype\":\"%s\",\"shape\":[",
      leakycl_activation_name(j->act), leakycl_conventions_name(j->conventions), ck_op_name(j->op),
      leakycl_dtype_name(j->dtype));
  for (size_t d = 0; d < j->rank; d++)
    fprintf(o, "%s%zu", d ? "," : "", j->shape[d]);
  fprintf(o, "],\"channel_axis\":%ld,\"alpha\":[", j->axis);
  for (size_t q = 0; q < (j->alpha_count ? j->alpha_count : 1) && j->act != LEAKYCL_RELU; q++) {
    fprintf(o, "%s", q ? "," : "");
    jsonw_float(o, ck_job_alpha(j, q));
  }
  fprintf(o, "],\"beta\":");
  jsonw_float(o, j->beta);
  if (strcmp(f->what, "status") == 0) {
    fprintf(o, ",\"detail\":");
    jsonw_string(o, f->detail);
    return;
  }
  fprintf(o, ",\"element\":%zu,\"channel\":%zu", f->index, f->channel);
  if (is_elem_failure(f)) {
    json_hex(o, "x", f->x);
    if (j->op != CK_FORWARD)
      json_hex(o, "dy", f->dy);
  }
  json_hex(o, "expected", f->want);
  json_hex(o, "got", f->got);
  fprintf(o, ",\"expected_value\":");
  jsonw_float(o, f->want);
  fprintf(o, ",\"got_value\":");
  jsonw_float(o, f->got);
  if (!is_elem_failure(f))
    fprintf(o, ",\"error\":%.6g,\"bound\":%.6g", f->err, f->bound);
}

static void json_minimal(FILE *o, const ck_case *c, const ck_failure *f, int runs) {
  char desc[512];
  fprintf(o, ",\"minimal\":{\"runs\":%d,\"packed\":%s,\"inputs\":[", runs,
          c->packed ? "true" : "false");
  for (size_t k = 0; k < c->count; k++) {
    const ck_job *j = &c->jobs[k];
    ck_job_describe(j, desc, sizeof desc);
    fprintf(o, "%s{\"case\":", k ? "," : "");
    jsonw_string(o, desc);
    fprintf(o, ",\"n\":%zu", j->n);
    for (int a = 0; a < 2 && j->n <= CHECK_PRINT_ELEMENTS; a++) {
      if (a == 1 && j->op == CK_FORWARD)
        break;
      fprintf(o, ",\"%s\":[", a ? "dy" : "x");
      for (size_t i = 0; i < j->n; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%a", (double)(a ? j->dy[i] : j->x[i]));
        fprintf(o, "%s", i ? "," : "");
        jsonw_string(o, buf);
      }
      fprintf(o, "]");
    }
    fprintf(o, "}");
  }
  fprintf(o, "],");
  json_failure_fields(o, c, f);
  fprintf(o, "}");
}

/* Reports one failing case: shrunk (for the first few), text or JSON. */
static void report_failure(device_ctx *dc, leakycl_context *ctx, const variant_run *vr,
                           const ck_case *c, const ck_failure *f, size_t nth) {
  ck_case small;
  ck_failure sf = *f;
  int runs = -1;
  if (nth <= CHECK_SHRINK_FAILURES && ck_case_copy(&small, c) == 0)
    runs = shrink(ctx, &dc->env, &small, &sf);
  if (dc->a->json) {
    fprintf(stdout, "{\"type\":\"failure\",\"device\":");
    jsonw_string(stdout, dc->info.name);
    fprintf(stdout, ",\"index\":\"%s\",\"variant\":", dc->index);
    jsonw_string(stdout, vr->desc);
    fprintf(stdout, ",");
    json_failure_fields(stdout, c, f);
    if (runs >= 0)
      json_minimal(stdout, &small, &sf, runs);
    fprintf(stdout, "}\n");
  } else if (nth <= CHECK_PRINT_FAILURES) {
    printf("FAIL %s (%s), variant \"%s\"\n  case:\n", dc->info.name, dc->index, vr->desc);
    print_case(stdout, c, 0);
    print_failure_line(stdout, c, f);
    if (runs >= 0) {
      printf("  minimal failing input (%d shrinking run%s):\n", runs, runs == 1 ? "" : "s");
      print_case(stdout, &small, 1);
      print_failure_line(stdout, &small, &sf);
    }
  } else if (nth == CHECK_PRINT_FAILURES + 1) {
    printf("  (further failures on this variant are counted, not printed)\n");
  }
  fflush(stdout);
  if (runs >= 0)
    ck_case_free(&small);
}

/* ---- running ---- */

/* Whether the test hook should hit this case: job 0 has 64+ outputs, so
 * the shrinker has something to take away. */
static int corrupt_target(const ck_case *c) {
  return c->count > 0 && c->jobs[0].op != CK_REDUCE && c->jobs[0].n >= 64;
}

/* Runs the plan on the variant; returns -1 when memory ran out. */
static int run_variant(device_ctx *dc, leakycl_context *ctx, variant_run *vr, const ck_plan *plan) {
  const double t0 = cli_now_seconds();
  leakycl_status st = leakycl_set_variant(ctx, &vr->v);
  if (st != LEAKYCL_OK) {
    cli_error("check %s: set variant \"%s\": %s: %s", dc->info.name, vr->desc,
              leakycl_status_name(st), leakycl_last_error(ctx));
    vr->failures++;
    return 0;
  }
  for (size_t i = 0; i < plan->count; i++) {
    const ck_case *c = &plan->cases[i];
    ck_env env = dc->env;
    if (dc->corrupt_pending && corrupt_target(c)) {
      env.corrupt = 1;
      dc->corrupt_pending = 0;
    }
    ck_failure f;
    const int rc = ck_run_case(ctx, c, &env, &f, &vr->tally);
    vr->cases++;
    if (rc < 0)
      return -1;
    if (rc > 0) {
      vr->failures++;
      const ck_env saved = dc->env;
      dc->env = env; /* shrink with the hook still on */
      report_failure(dc, ctx, vr, c, &f, vr->failures);
      dc->env = saved;
    }
  }
  vr->seconds = cli_now_seconds() - t0;
  return 0;
}

/* The device's totals over its variants. */
static variant_run totals(const variant_run *runs, size_t count) {
  variant_run t;
  memset(&t, 0, sizeof t);
  snprintf(t.desc, sizeof t.desc, "all variants");
  for (size_t i = 0; i < count; i++) {
    t.cases += runs[i].cases, t.failures += runs[i].failures, t.seconds += runs[i].seconds;
    t.tally.flushed += runs[i].tally.flushed;
    t.tally.worst = runs[i].tally.worst > t.tally.worst ? runs[i].tally.worst : t.tally.worst;
  }
  return t;
}

static void print_table(const device_ctx *dc, const variant_run *runs, size_t count) {
  const variant_run all = totals(runs, count);
  int wv = (int)strlen(all.desc), wd = (int)strlen(dc->info.name);
  for (size_t i = 0; i < count; i++)
    wv = (int)strlen(runs[i].desc) > wv ? (int)strlen(runs[i].desc) : wv;
  wd = wd < 6 ? 6 : wd;
  printf("%s (%s): %s; ", dc->info.name, dc->index, dc->info.platform_name);
  if (dc->env.denormals)
    printf("denormals supported (subnormals must be exact)\n");
  else
    printf("no CL_FP_DENORM: subnormals flushed to zero are accepted (%zu results were)\n",
           all.tally.flushed);
  printf("%-*s  %-*s  %6s  %8s  %16s  %8s\n", wd, "DEVICE", wv, "VARIANT", "CASES", "FAILURES",
         "WORST_DALPHA_ERR", "SECONDS");
  for (size_t i = 0; i <= count; i++) {
    const variant_run *r = i < count ? &runs[i] : &all;
    if (i == count && count < 2)
      break;
    printf("%-*s  %-*s  %6zu  %8zu  %16.2e  %8.1f\n", wd, dc->info.name, wv, r->desc, r->cases,
           r->failures, r->tally.worst, r->seconds);
  }
}

static void print_summary_json(const device_ctx *dc, const variant_run *runs, size_t count) {
  const variant_run all = totals(runs, count);
  printf("{\"type\":\"summary\",\"device\":");
  jsonw_string(stdout, dc->info.name);
  printf(",\"index\":\"%s\",\"platform\":", dc->index);
  jsonw_string(stdout, dc->info.platform_name);
  printf(",\"quick\":%s,\"denormals\":%s,\"variants\":[", dc->a->quick ? "true" : "false",
         dc->env.denormals ? "true" : "false");
  for (size_t i = 0; i <= count; i++) {
    const variant_run *r = i < count ? &runs[i] : &all;
    if (i < count) {
      printf("%s{\"variant\":", i ? "," : "");
      jsonw_string(stdout, r->desc);
      printf(",");
    } else {
      printf("],");
    }
    printf("\"cases\":%zu,\"failures\":%zu,\"worst_dalpha_error\":%.3g,\"flushed\":%zu,"
           "\"seconds\":%.3f%s",
           r->cases, r->failures, r->tally.worst, r->tally.flushed, r->seconds,
           i < count ? "}" : "");
  }
  printf(",\"passed\":%s}\n", all.failures ? "false" : "true");
}

/* CL_FP_DENORM in CL_DEVICE_SINGLE_FP_CONFIG; 0 when it cannot be read. */
static int device_denormals(leakycl_context *ctx) {
  cl_device_id dev = NULL;
  cl_device_fp_config fp = 0;
  if (leakycl_context_cl(ctx, NULL, &dev, NULL) != LEAKYCL_OK || !dev ||
      clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL) != CL_SUCCESS)
    return 0;
  return (fp & CL_FP_DENORM) != 0;
}

/* Checks one device; returns an exit status. */
static int check_device(const check_args *a, const char *spec, int *corrupt_pending) {
  char err[1024];
  leakycl_context *ctx = NULL;
  leakycl_status st = leakycl_context_create(spec, &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("device %s: %s", spec ? spec : "(default)", err);
    return CLI_EXIT_FAILURE;
  }
  device_ctx dc;
  memset(&dc, 0, sizeof dc);
  dc.a = a;
  dc.corrupt_pending = *corrupt_pending;
  leakycl_context_device(ctx, &dc.info);
  snprintf(dc.index, sizeof dc.index, "%u:%u", dc.info.platform_index, dc.info.device_index);
  dc.env.denormals = device_denormals(ctx);
  variant_run runs[CHECK_MAX_VARIANTS];
  size_t count = 0;
  int rc = variant_list(a, &dc.info, runs, &count), stop = rc != CLI_EXIT_OK;
  ck_plan plans[CK_SUITE_QUICK_BATCH + 1];
  int built[CK_SUITE_QUICK_BATCH + 1] = {0};
  for (size_t i = 0; !stop && i < count; i++) {
    const ck_suite s = runs[i].suite;
    if (!built[s]) {
      if (ck_plan_build(&plans[s], s, s == CK_SUITE_FULL && !dc.info.unified_memory) != 0) {
        cli_error("check: no memory for the cases");
        rc = CLI_EXIT_FAILURE, stop = 1;
        break;
      }
      built[s] = 1;
    }
    fprintf(stderr, "check: %s (%s): variant \"%s\": %zu cases...\n", dc.info.name, dc.index,
            runs[i].desc, plans[s].count);
    if (run_variant(&dc, ctx, &runs[i], &plans[s]) != 0) {
      cli_error("check: out of host memory");
      rc = CLI_EXIT_FAILURE, stop = 1;
      break;
    }
    fprintf(stderr, "check: %s (%s): variant \"%s\": %zu failures, %.1f s\n", dc.info.name,
            dc.index, runs[i].desc, runs[i].failures, runs[i].seconds);
    if (runs[i].failures)
      rc = CLI_EXIT_FAILURE;
  }
  for (int s = 0; s <= CK_SUITE_QUICK_BATCH; s++) {
    if (built[s])
      ck_plan_free(&plans[s]);
  }
  if (rc != CLI_EXIT_USAGE) {
    if (a->json)
      print_summary_json(&dc, runs, count);
    else
      print_table(&dc, runs, count);
  }
  *corrupt_pending = dc.corrupt_pending;
  leakycl_context_release(ctx);
  return rc;
}

static int cmd_check(int argc, char **argv) {
  check_args a;
  int rc;
  if (!parse_check_args(argc, argv, &a, &rc))
    return rc;
  const char *hook = getenv("LEAKYCL_CHECK_CORRUPT");
  int corrupt = hook && *hook && strcmp(hook, "0") != 0;
  if (!a.device || strcmp(a.device, "all") != 0)
    return check_device(&a, a.device, &corrupt);
  char specs[CLI_MAX_DEVICES][CLI_SPEC_LEN];
  size_t count = 0;
  rc = cli_every_device("devices", "check", specs, CLI_MAX_DEVICES, &count);
  for (size_t i = 0; i < count; i++) { /* none on a failure */
    const int one = check_device(&a, specs[i], &corrupt);
    if (one == CLI_EXIT_USAGE)
      return one;
    rc = rc == CLI_EXIT_OK ? one : rc;
  }
  return rc;
}

const cli_command cli_command_check = {"check", "check ...",
                                       "run the conformance suite on a device against an oracle",
                                       cmd_check, check_usage};
