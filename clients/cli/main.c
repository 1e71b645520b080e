/* main.c - the leakycl command-line tool: subcommand dispatch and usage. */
#include <string.h>

#include "cli.h"

void cli_usage(FILE *f) {
  fputs("usage: leakycl <command> [options]\n"
        "\n"
        "commands:\n"
        "  devices [--json]      list every OpenCL platform and device\n"
        "  run ...               run an activation forward or backward on .npy files\n"
        "  bench ...             time each op on each device beside reference loops\n"
        "  tune ...              measure kernel variants on a device and save the best\n"
        "  compile ...           build a device's programs offline into one bundle file\n"
        "  check ...             run the conformance suite on a device against an oracle\n"
        "\n"
        "  leakycl <command> --help   the options of one command\n"
        "  leakycl --version          the library version\n"
        "\n"
        "exit status: 0 success, 2 bad usage or input, 1 device or runtime failure\n",
        f);
}

void cli_usage_devices(FILE *f) {
  fputs("usage: leakycl devices [--json]\n"
        "\n"
        "Lists every OpenCL platform and device: index (P:D, usable as --device),\n"
        "type, vendor, name, version, driver version, compute units, global and\n"
        "local memory, unified memory and the maximum work-group size.\n"
        "  --json   one JSON array of objects instead of a table\n",
        f);
}

void cli_usage_run(FILE *f) {
  fputs("usage: leakycl run --activation A --op forward|backward --x x.npy --out DIR\n"
        "                   [--alpha A | --alpha-file a.npy] [--beta B] [--channel-axis K]\n"
        "                   [--dy dy.npy] [--from x|y] [--y y.npy] [--device SPEC]\n"
        "                   [--variant cpu|gpu] [--vector-width N] [--program-binary FILE]\n"
        "\n"
        "Reads float32 or float16 C-order .npy files ('<f4' or '<f2', rank 0..16; x\n"
        "and dy in one dtype) and writes DIR/y.npy (forward) or DIR/dx.npy (backward)\n"
        "in the input's dtype; float16 is computed in float32 and rounded to nearest\n"
        "even. bfloat16 has no .npy dtype, so the CLI does not take it (the library\n"
        "and the daemon do). prelu and phased_relu backward also write float32\n"
        "DIR/dalpha.npy (shape [C], or [1] for a shared alpha) and DIR/stats.json\n"
        "({\"neg_fraction\":[..],\"mean_abs_grad\":[..],\"dalpha\":[..]}). DIR is created\n"
        "if missing; files are replaced atomically.\n"
        "\n"
        "  --activation A     relu, leaky_relu, prelu or phased_relu\n"
        "  --op OP            forward or backward\n"
        "  --x FILE           the input x\n"
        "  --dy FILE          the upstream gradient (backward; same shape as x)\n"
        "  --alpha A          one shared slope (defaults: leaky_relu 0.01, prelu 0.25,\n"
        "                     phased_relu 0.1; relu takes none)\n"
        "  --alpha-file FILE  a 1-D float32 .npy of 1 (shared) or C (per-channel) slopes\n"
        "  --beta B           phased_relu's offset (default 0.5); threshold -beta/alpha\n"
        "  --channel-axis K   the channel axis, negative from the end (default 1 when\n"
        "                     the rank is at least 2, else 0)\n"
        "  --from x|y         backward reads the sign from x (default) or from\n"
        "                     y = forward(x), given as --y (relu, and leaky_relu/prelu\n"
        "                     with alpha > 0; no dalpha then)\n"
        "  --y FILE           y = forward(x) for --from y (implies --from y)\n"
        "  --device SPEC      auto, cpu, gpu, accelerator, gpu:N, P:D or a name substring\n"
        "                     (default $LEAKYCL_DEVICE, else auto)\n"
        "  --variant S        kernel strategy: cpu (contiguous chunks) or gpu (coalesced,\n"
        "                     work-group tree reduction); default chosen per device\n"
        "  --vector-width N   floats per load: 1, 2, 4, 8 or 16\n"
        "  --program-binary FILE\n"
        "                     take every program from a bundle written by leakycl compile\n"
        "                     (no source build; its variant is used; default\n"
        "                     $LEAKYCL_PROGRAM_BINARY)\n",
        f);
}

void cli_usage_compile(FILE *f) {
  fputs("usage: leakycl compile [--device SPEC] -o FILE [--variant DESCRIPTION]\n"
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
        "Progress (one line per program) goes to stderr.\n",
        f);
}

void cli_usage_tune(FILE *f) {
  fputs("usage: leakycl tune [--device SPEC|all] [--n N] [--repeat R] [--no-save] [--json]\n"
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
        "Progress (one line per candidate) goes to stderr.\n",
        f);
}

void cli_usage_check(FILE *f) {
  fputs("usage: leakycl check [--device SPEC|all] [--variant V] [--quick] [--json]\n"
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
        "output element of one case before it is compared (the check must fail).\n",
        f);
}

static int is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    cli_usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *command = argv[1];
  if (is_help(command)) {
    cli_usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(command, "--version") == 0) {
    printf("leakycl %s\n", LEAKYCL_VERSION);
    return CLI_EXIT_OK;
  }
  if (strcmp(command, "devices") == 0)
    return cmd_devices(argc - 1, argv + 1);
  if (strcmp(command, "run") == 0)
    return cmd_run(argc - 1, argv + 1);
  if (strcmp(command, "tune") == 0)
    return cmd_tune(argc - 1, argv + 1);
  if (strcmp(command, "bench") == 0)
    return cmd_bench(argc - 1, argv + 1);
  if (strcmp(command, "compile") == 0)
    return cmd_compile(argc - 1, argv + 1);
  if (strcmp(command, "check") == 0)
    return cmd_check(argc - 1, argv + 1);
  cli_error(
      "unknown command \"%s\" (devices, run, bench, tune, compile, check; see leakycl --help)",
      command);
  return CLI_EXIT_USAGE;
}
