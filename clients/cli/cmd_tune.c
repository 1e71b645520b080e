/* cmd_tune.c - `leakycl tune`: measures kernel variants on each chosen
 * device (leakycl_tune), prints what it measured and the winner, and saves
 * the winner in the on-disk table that every context reads when it opens. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "commands.h"
#include "jsonw.h"

static const char tune_usage[] =
    "usage: leakycl tune [--device SPEC|all] [--n N] [--repeat R] [--no-save] [--json]\n"
    "\n"
    "Times forward, backward and reduce for candidate kernel variants (strategy,\n"
    "vector width, chunk, work-group size, reduction block, streaming-store\n"
    "threshold), one field at a time from the device's default, and saves the\n"
    "fastest in the table every context reads when it opens ($LEAKYCL_TUNE_FILE,\n"
    "else $XDG_CACHE_HOME/leakycl/variants.tsv, else ~/.cache/leakycl/variants.tsv).\n"
    "LEAKYCL_VARIANT (\"cpu vw16 wg16 chunk16 block16384 nt1048576\") overrides it.\n"
    "\n"
    "  --device SPEC   the device (default $LEAKYCL_DEVICE, else auto), or all\n"
    "  --n N           elements per timed call (default 16 Mi; 1024 .. 2^30)\n"
    "  --repeat R      timed runs per op and candidate, medians (default 5)\n"
    "  --no-save       measure and print only\n"
    "  --json          one JSON object per device instead of the summary\n"
    "Progress (one line per candidate) goes to stderr.\n";

typedef struct tune_args {
  const char *device;
  size_t n;
  unsigned repeats;
  int no_save, json;
} tune_args;

static void print_progress(const char *line, void *user) {
  (void)user;
  fprintf(stderr, "  %s\n", line);
}

static const char *const op_names[3] = {"forward", "backward", "reduce"};

static void print_report(const leakycl_device_info *d, const leakycl_tune_report *r,
                         const char *saved) {
  char start[128], best[128];
  leakycl_variant_describe(&r->start, start, sizeof start);
  leakycl_variant_describe(&r->best, best, sizeof best);
  const leakycl_tune_candidate *s = &r->candidates[0], *b = &r->candidates[r->best_index];
  printf("%s (%u:%u), n = %zu, %zu candidates\n", d->name, d->platform_index, d->device_index, r->n,
         r->count);
  printf("  default  %s\n  best     %s (%.2fx, re-timed interleaved with the default)\n", start,
         best, r->confirmed_speedup);
  for (int op = 0; op < 3; op++) {
    const double bytes = (op == 1 ? 12.0 : 8.0) * (double)r->n;
    printf("  %-8s %8.3f ms -> %8.3f ms  (%5.1f -> %5.1f GB/s, %.2fx)\n", op_names[op],
           1e3 * s->seconds[op], 1e3 * b->seconds[op], bytes / s->seconds[op] / 1e9,
           bytes / b->seconds[op] / 1e9, s->seconds[op] / b->seconds[op]);
  }
  if (saved)
    printf("  saved to %s\n", saved);
}

static void print_report_json(const leakycl_device_info *d, const leakycl_tune_report *r,
                              const char *saved) {
  char desc[128];
  printf("{\"device\":");
  jsonw_string(stdout, d->name);
  printf(",\"index\":\"%u:%u\",\"n\":%zu", d->platform_index, d->device_index, r->n);
  leakycl_variant_describe(&r->start, desc, sizeof desc);
  printf(",\"default\":");
  jsonw_string(stdout, desc);
  leakycl_variant_describe(&r->best, desc, sizeof desc);
  printf(",\"best\":");
  jsonw_string(stdout, desc);
  printf(",\"speedup\":{");
  for (int op = 0; op < 3; op++)
    printf("%s\"%s\":%.4f", op ? "," : "", op_names[op],
           r->candidates[0].seconds[op] / r->candidates[r->best_index].seconds[op]);
  printf("},\"confirmed_speedup\":%.4f,\"candidates\":[", r->confirmed_speedup);
  for (size_t i = 0; i < r->count; i++) {
    const leakycl_tune_candidate *c = &r->candidates[i];
    leakycl_variant_describe(&c->variant, desc, sizeof desc);
    printf("%s{\"variant\":", i ? "," : "");
    jsonw_string(stdout, desc);
    printf(",\"seconds\":{\"forward\":%.6g,\"backward\":%.6g,\"reduce\":%.6g},\"score\":%.4f}",
           c->seconds[0], c->seconds[1], c->seconds[2], c->score);
  }
  printf("],\"saved\":");
  if (saved)
    jsonw_string(stdout, saved);
  else
    printf("null");
  printf("}\n");
}

/* Tunes one device; returns an exit status. */
static int tune_device(const tune_args *a, const char *spec) {
  char err[1024];
  leakycl_context *ctx = NULL;
  leakycl_status st = leakycl_context_create(spec, &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("device %s: %s", spec ? spec : "(default)", err);
    return cli_exit_for_status(st);
  }
  leakycl_device_info d;
  leakycl_context_device(ctx, &d);
  fprintf(stderr, "tuning %s (%u:%u)...\n", d.name, d.platform_index, d.device_index);
  leakycl_tune_report *report = malloc(sizeof *report);
  st = report ? leakycl_tune(ctx, a->n, a->repeats, print_progress, NULL, report)
              : LEAKYCL_OUT_OF_MEMORY;
  int rc = CLI_EXIT_OK;
  if (st != LEAKYCL_OK) {
    cli_error("tune %s: %s: %s", d.name, leakycl_status_name(st), leakycl_last_error(ctx));
    rc = cli_exit_for_status(st);
  } else {
    char path[1024];
    const char *saved = NULL;
    if (!a->no_save) {
      st = leakycl_tune_table_save(&d, &report->best, err, sizeof err);
      if (st != LEAKYCL_OK) {
        cli_error("tune %s: %s", d.name, err);
        rc = CLI_EXIT_FAILURE;
      } else if (leakycl_tune_table_path(path, sizeof path) == LEAKYCL_OK) {
        saved = path;
      }
    }
    if (a->json)
      print_report_json(&d, report, saved);
    else
      print_report(&d, report, saved);
  }
  free(report);
  leakycl_context_release(ctx);
  return rc;
}

/* Parses option's value as a count in [lo, hi] (`range` in the error);
 * returns 0, or -1 after printing why. */
static int parse_count(const char *option, const char *v, long lo, long hi, const char *range,
                       long *out) {
  if (cli_parse_long(v, out) != 0 || *out < lo || *out > hi) {
    cli_error("%s: \"%s\" is not a count in %s", option, v, range);
    return -1;
  }
  return 0;
}

static int take_n(void *user, const char *v) {
  long n;
  if (parse_count("--n", v, 1024, 1L << 30, "[1024, 2^30]", &n) != 0)
    return -1;
  ((tune_args *)user)->n = (size_t)n;
  return 0;
}

static int take_repeat(void *user, const char *v) {
  long repeats;
  if (parse_count("--repeat", v, 1, 64, "[1, 64]", &repeats) != 0)
    return -1;
  ((tune_args *)user)->repeats = (unsigned)repeats;
  return 0;
}

/* Reads the options into *a. Returns 1 when the command goes on, else 0
 * with *exit_status (0 after --help, 2 after a usage error). */
static int parse_tune_args(int argc, char **argv, tune_args *a, int *exit_status) {
  memset(a, 0, sizeof *a);
  const cli_option options[] = {
      {"--n", .take = take_n},           {"--repeat", .take = take_repeat},
      {"--device", .value = &a->device}, {"--no-save", .flag = &a->no_save},
      {"--json", .flag = &a->json},
  };
  const cli_option_table table = {"tune",    tune_usage,
                                  options,   sizeof options / sizeof options[0],
                                  .user = a, .stray = "option"};
  return cli_parse_options(&table, argc, argv, exit_status);
}

static int cmd_tune(int argc, char **argv) {
  tune_args a;
  int rc;
  if (!parse_tune_args(argc, argv, &a, &rc))
    return rc;
  if (!a.device || strcmp(a.device, "all") != 0)
    return tune_device(&a, a.device);
  char specs[CLI_MAX_DEVICES][CLI_SPEC_LEN];
  size_t count = 0;
  rc = cli_every_device("devices", NULL, specs, CLI_MAX_DEVICES, &count); /* count 0 on a failure */
  for (size_t i = 0; i < count; i++) {
    const int one = tune_device(&a, specs[i]);
    rc = rc == CLI_EXIT_OK ? one : rc;
  }
  return rc;
}

const cli_command cli_command_tune = {"tune", "tune ...",
                                      "measure kernel variants on a device and save the best",
                                      cmd_tune, tune_usage};
