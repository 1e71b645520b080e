/* cmd_compile.c - `leakycl compile`: builds every program a variant needs
 * on one device and writes them as a program bundle
 * (leakycl_compile_program_bundle), to be loaded where OpenCL C cannot be
 * compiled at run time (FPGAs). */
#include <string.h>

#include "cli.h"

typedef struct compile_args {
  const char *device, *output, *variant;
} compile_args;

/* Reads the options into *a. Returns 0, -1 after --help, else an exit status. */
static int parse_compile_args(int argc, char **argv, compile_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    int m;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      cli_usage_compile(stdout);
      return -1;
    } else if ((m = cli_option_value(argc, argv, &i, "--device", &v)) != 0) {
      if (m < 0)
        return CLI_EXIT_USAGE;
      a->device = v;
    } else if ((m = cli_option_value(argc, argv, &i, "-o", &v)) != 0 ||
               (m = cli_option_value(argc, argv, &i, "--output", &v)) != 0) {
      if (m < 0)
        return CLI_EXIT_USAGE;
      a->output = v;
    } else if ((m = cli_option_value(argc, argv, &i, "--variant", &v)) != 0) {
      if (m < 0)
        return CLI_EXIT_USAGE;
      a->variant = v;
    } else {
      cli_error("compile: unknown option \"%s\" (see leakycl compile --help)", argv[i]);
      return CLI_EXIT_USAGE;
    }
  }
  if (!a->output || !*a->output) {
    cli_error("compile: -o FILE is required (see leakycl compile --help)");
    return CLI_EXIT_USAGE;
  }
  if (a->device && strcmp(a->device, "all") == 0) {
    cli_error("compile: a bundle is for one device; name it (--device SPEC), not all");
    return CLI_EXIT_USAGE;
  }
  return 0;
}

static void print_progress(const char *line, void *user) {
  (void)user;
  fprintf(stderr, "  %s\n", line);
}

int cmd_compile(int argc, char **argv) {
  compile_args a;
  const int parsed = parse_compile_args(argc, argv, &a);
  if (parsed != 0)
    return parsed < 0 ? CLI_EXIT_OK : parsed;
  char err[1024] = "";
  leakycl_context *ctx = NULL;
  leakycl_status st = leakycl_context_create(a.device, &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("--device %s: %s", a.device ? a.device : "(default)",
              err[0] ? err : leakycl_status_message(st));
    return CLI_EXIT_FAILURE;
  }
  leakycl_device_info d;
  leakycl_context_device(ctx, &d);
  int rc = CLI_EXIT_OK;
  if (a.variant) {
    leakycl_variant v;
    st = leakycl_variant_parse(a.variant, &d, &v, err, sizeof err);
    if (st == LEAKYCL_OK)
      st = leakycl_set_variant(ctx, &v);
    else
      fprintf(stderr, "leakycl: --variant \"%s\": %s\n", a.variant, err);
    if (st != LEAKYCL_OK) {
      rc = CLI_EXIT_USAGE;
      goto out;
    }
  }
  leakycl_variant v;
  char desc[128];
  leakycl_get_variant(ctx, &v);
  leakycl_variant_describe(&v, desc, sizeof desc);
  fprintf(stderr, "compiling for %s (%u:%u), variant %s...\n", d.name, d.platform_index,
          d.device_index, desc);
  size_t programs = 0;
  st = leakycl_compile_program_bundle(ctx, a.output, print_progress, NULL, &programs);
  if (st != LEAKYCL_OK) {
    cli_error("compile: %s: %s", leakycl_status_name(st), leakycl_last_error(ctx));
    /* An unwritable output path is bad input; anything else the device's. */
    rc = st == LEAKYCL_IO_ERROR ? CLI_EXIT_USAGE : cli_exit_for_status(st);
    goto out;
  }
  printf("%s: %zu programs for %s (%s), variant %s\n", a.output, programs, d.name, d.driver_version,
         desc);
out:
  leakycl_context_release(ctx);
  return rc;
}
