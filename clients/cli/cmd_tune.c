/* cmd_tune.c - `leakycl tune`: measures kernel variants on each chosen
 * device (leakycl_tune), prints what it measured and the winner, and saves
 * the winner in the on-disk table that every context reads when it opens. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonw.h"

typedef struct tune_args {
  const char *device;
  size_t n;
  unsigned repeats;
  int save, json;
} tune_args;

static int parse_tune_args(int argc, char **argv, tune_args *a) {
  memset(a, 0, sizeof *a);
  a->save = 1;
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    int m;
    long num;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      cli_usage_tune(stdout);
      return -1;
    } else if (strcmp(argv[i], "--no-save") == 0) {
      a->save = 0;
    } else if (strcmp(argv[i], "--json") == 0) {
      a->json = 1;
    } else if ((m = cli_option_value(argc, argv, &i, "--device", &v)) != 0) {
      if (m < 0)
        return CLI_EXIT_USAGE;
      a->device = v;
    } else if ((m = cli_option_value(argc, argv, &i, "--n", &v)) != 0) {
      if (m < 0)
        return CLI_EXIT_USAGE;
      if (cli_parse_long(v, &num) != 0 || num < 1024 || num > (1L << 30)) {
        cli_error("--n: \"%s\" is not a count in [1024, 2^30]", v);
        return CLI_EXIT_USAGE;
      }
      a->n = (size_t)num;
    } else if ((m = cli_option_value(argc, argv, &i, "--repeat", &v)) != 0) {
      if (m < 0)
        return CLI_EXIT_USAGE;
      if (cli_parse_long(v, &num) != 0 || num < 1 || num > 64) {
        cli_error("--repeat: \"%s\" is not a count in [1, 64]", v);
        return CLI_EXIT_USAGE;
      }
      a->repeats = (unsigned)num;
    } else {
      cli_error("tune: unknown option \"%s\" (see leakycl tune --help)", argv[i]);
      return CLI_EXIT_USAGE;
    }
  }
  return 0;
}

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
    if (a->save) {
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

int cmd_tune(int argc, char **argv) {
  tune_args a;
  const int parsed = parse_tune_args(argc, argv, &a);
  if (parsed != 0)
    return parsed < 0 ? CLI_EXIT_OK : parsed;
  if (!a.device || strcmp(a.device, "all") != 0)
    return tune_device(&a, a.device);
  leakycl_device_info devices[64];
  size_t count = 0;
  char err[1024];
  leakycl_status st = leakycl_list_devices(devices, 64, &count, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("devices: %s", err);
    return cli_exit_for_status(st);
  }
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < count && i < 64; i++) {
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", devices[i].platform_index, devices[i].device_index);
    const int one = tune_device(&a, spec);
    rc = rc == CLI_EXIT_OK ? one : rc;
  }
  return rc;
}
