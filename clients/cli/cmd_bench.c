/* cmd_bench.c - `leakycl bench`: times forward, backward and the dalpha
 * reduction of every activation on one device or all of them, over a range
 * of sizes, resident (cl_mem, transfers excluded) and from host pointers
 * (transfers counted), beside references run on the same data: OpenMP C
 * loops, a streaming-store copy, clEnqueueCopyBuffer, and NumPy / JAX /
 * pyopencl in a Python subprocess. Candidates are interleaved (one sample
 * of each per repeat, round-robin) so slow drifts of a noisy machine hit
 * them all alike; results are medians with min and max. --compare sets the
 * devices side by side instead (bench_compare.c). Figures only: it never
 * passes or fails on time. */
#include <stdlib.h>
#include <unistd.h>

#include "bench_compare.h"
#include "bench_devices.h"
#include "bench_options.h"
#include "bench_sweep.h"
#include "cli.h"
#include "commands.h"
#include "svg.h"

static const char bench_usage[] =
    "usage: leakycl bench [--device SPEC[,SPEC...]|all] [--activation A|all]\n"
    "                     [--op forward|backward|reduce|all] [--n N | --n-min N --n-max N]\n"
    "                     [--repeat R] [--variant V] [--verify] [--json] [--svg FILE]\n"
    "                     [--no-references] [--compare]\n"
    "\n"
    "Times every op x activation x device over a range of sizes, resident (cl_mem\n"
    "buffers, transfers excluded) and from host pointers (transfers counted), beside\n"
    "references timed on the same data: OpenMP C loops of the same formulas, a\n"
    "streaming-store copy and clEnqueueCopyBuffer (the copy limits), and NumPy, JAX\n"
    "and pyopencl run by $LEAKYCL_PYTHON (default python3; a missing one is skipped\n"
    "with a note). Candidates are interleaved round-robin, one sample each per\n"
    "repeat, after a warm-up; each row is the median with min and max. backward also\n"
    "runs fused with dalpha for prelu and phased_relu, and from the packed mask a\n"
    "forward wrote (seed 004: op backward-mask, with its speed-up over backward from\n"
    "x); reduce needs one of those two.\n"
    "GB/s counts bytes read + written: forward 8n, backward 12n (+4 fused), backward\n"
    "from the mask 8n + n/8 (phased_relu: n/4), reduce 8n + 4, copy 8n.\n"
    "\n"
    "  --device SPEC|all  a device SPEC (default $LEAKYCL_DEVICE, else auto), a list\n"
    "                     SPEC,SPEC,... in that order, or every device found\n"
    "  --activation A     relu, leaky_relu, prelu, phased_relu or all (default)\n"
    "  --op OP            forward, backward, reduce or all (default)\n"
    "  --n N              one size (elements; suffixes Ki, Mi, Gi or k, m, g: 4Ki = 4k)\n"
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
    "  --svg FILE         a chart: GB/s against n, one panel per op, a line per device\n"
    "                     and implementation (checked writable before the sweep)\n"
    "  --no-references    time leakycl only\n"
    "  --compare          the devices side by side: resident leakycl calls only, sampled\n"
    "                     round-robin across the devices; one table with a row per op,\n"
    "                     activation and n, GB/s and the ratio to the fastest device for\n"
    "                     each device, whether y/dx (and dalpha) are bit-identical to the\n"
    "                     first device's (else the largest ULP distance and dalpha's\n"
    "                     difference / sum|terms|) and how far they are from the float64\n"
    "                     oracle; with --json one object a row: activation, op, n, dtype,\n"
    "                     fused_dalpha, resident, bytes, devices[] (device, device_index,\n"
    "                     variant, samples, ratio_to_fastest, seconds, min_seconds,\n"
    "                     max_seconds, gbps, agrees_with_first and agrees_with_oracle:\n"
    "                     {identical, max_ulp, dalpha_rel})\n";

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

static int cmd_bench(int argc, char **argv) {
  bench_options o;
  int rc;
  if (!bench_parse_options(argc, argv, bench_usage, &o, &rc))
    return rc;
  char err[512];
  /* A chart that cannot be written should fail now, not after the sweep. */
  if (o.svg && bench_svg_check(o.svg, err, sizeof err) != 0) {
    cli_error("bench: %s", err);
    return CLI_EXIT_USAGE;
  }
  if (!o.no_references)
    reexec_with_passive_openmp(argc, argv);
  bench_device devs[BENCH_MAX_DEVICES];
  size_t ndev = 0;
  bench_sweep s;
  bench_sweep_init(&s, &o);
  rc = bench_open_devices(o.device, o.variant, devs, &ndev);
  if (rc == CLI_EXIT_OK)
    rc = bench_sweep_prepare(&s);
  if (rc == CLI_EXIT_OK && o.compare)
    rc = bench_compare_run(&s, devs, ndev);
  for (size_t i = 0; i < ndev && rc == CLI_EXIT_OK && !o.compare; i++)
    rc = bench_sweep_device(&s, &devs[i]);
  if (rc == CLI_EXIT_OK && o.svg) {
    if (bench_svg_write(o.svg, &s.all, err, sizeof err) != 0) {
      cli_error("bench: %s", err);
      rc = CLI_EXIT_FAILURE;
    }
  }
  bench_close_devices(devs, ndev);
  bench_sweep_free(&s);
  return rc;
}

const cli_command cli_command_bench = {"bench", "bench ...",
                                       "time each op on each device beside reference loops",
                                       cmd_bench, bench_usage};
