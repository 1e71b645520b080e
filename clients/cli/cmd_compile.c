/* cmd_compile.c - `leakycl compile`: builds every program a variant needs
 * on one device and writes them as a program bundle
 * (leakycl_compile_program_bundle), to be loaded where OpenCL C cannot be
 * compiled at run time (FPGAs). */
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "commands.h"

static const char compile_usage[] =
    "usage: leakycl compile [--device SPEC] -o FILE [--variant DESCRIPTION]\n"
    "\n"
    "Builds, for one device, every program a variant's calls can use and writes\n"
    "them to FILE as one program bundle (replaced atomically), for devices that\n"
    "cannot compile OpenCL C at run time (FPGAs) or should not (start-up time).\n"
    "Load it with leakycl run --program-binary FILE, leakycld --program-binary\n"
    "FILE, LEAKYCL_PROGRAM_BINARY=FILE or leakycl_load_program_bundle(). The\n"
    "bundle holds each activation with a shared alpha at the variant's vector\n"
    "width and, per channel, at that width and each half of it; uint indices\n"
    "(and ulong where the device can hold 2^31 floats in one buffer); plain\n"
    "stores (and streaming ones when the variant's nt threshold is set). Its\n"
    "header names leakycl's version, the kernel source hash, the platform, the\n"
    "device, its version and driver version, and the variant: a bundle made for\n"
    "anything else is refused when loaded.\n"
    "\n"
    "  --device SPEC        the device (default $LEAKYCL_DEVICE, else auto)\n"
    "  -o, --output FILE    the bundle to write\n"
    "  --variant DESC       the variant, as leakycl_variant_describe writes it\n"
    "                       (\"cpu vw8 wg64 chunk64 block16384 nt0\"; fields not named\n"
    "                       keep the strategy's default); default: the one a context\n"
    "                       opens with (LEAKYCL_VARIANT, the tuned table, the default)\n"
    "Progress (one line per program) goes to stderr.\n";

typedef struct compile_args {
  const char *device, *output, *variant;
} compile_args;

/* Reads the options into *a. Returns 1 when the command goes on, else 0
 * with *exit_status (0 after --help, 2 after a usage error). */
static int parse_compile_args(int argc, char **argv, compile_args *a, int *exit_status) {
  memset(a, 0, sizeof *a);
  const cli_option options[] = {
      {"--device", .value = &a->device},
      {"--output", .alias = "-o", .value = &a->output},
      {"--variant", .value = &a->variant},
  };
  const cli_option_table table = {"compile", compile_usage, options,
                                  sizeof options / sizeof options[0], .stray = "option"};
  if (!cli_parse_options(&table, argc, argv, exit_status))
    return 0;
  *exit_status = CLI_EXIT_USAGE;
  if (!a->output || !*a->output) {
    cli_error("compile: -o FILE is required (see leakycl compile --help)");
    return 0;
  }
  if (a->device && strcmp(a->device, "all") == 0) {
    cli_error("compile: a bundle is for one device; name it (--device SPEC), not all");
    return 0;
  }
  return 1;
}

static void print_progress(const char *line, void *user) {
  (void)user;
  fprintf(stderr, "  %s\n", line);
}

static int cmd_compile(int argc, char **argv) {
  compile_args a;
  int rc;
  if (!parse_compile_args(argc, argv, &a, &rc))
    return rc;
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
  rc = CLI_EXIT_OK;
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

const cli_command cli_command_compile = {"compile", "compile ...",
                                         "build a device's programs offline into one bundle file",
                                         cmd_compile, compile_usage};
