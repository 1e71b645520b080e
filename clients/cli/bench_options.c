/* bench_options.c - the command line of `leakycl bench`: its options read
 * in order (a bad value is reported where it stands), then checked as a
 * whole. */
#include "bench_options.h"

#include <string.h>

#include "cli.h"
#include "cli_options.h"

/* Parses a size: a positive count of elements, with an optional binary
 * suffix as the tables print sizes (4Ki, 64Mi, 1Gi; k, m, g alike, as the
 * daemon's --max-body takes them). */
static int parse_size(const char *name, const char *value, size_t *out) {
  static const char *const suffixes[] = {"k", "Ki", "K", "m", "Mi", "M", "g", "Gi", "G"};
  char digits[32];
  const size_t len = strlen(value);
  unsigned shift = 0;
  size_t keep = len;
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    const size_t sl = strlen(suffixes[i]);
    if (len > sl && strcmp(value + len - sl, suffixes[i]) == 0 && len - sl < keep) {
      keep = len - sl;
      shift = 10 * (unsigned)(i / 3 + 1);
    }
  }
  long v;
  const int ok =
      keep < sizeof digits &&
      (memcpy(digits, value, keep), digits[keep] = '\0', cli_parse_long(digits, &v) == 0) &&
      v >= 1 && (unsigned long)v <= ((size_t)1 << 32) >> shift;
  if (!ok) {
    cli_error("bench: %s must be a whole number from 1 to 4294967296 (suffixes Ki, Mi, Gi "
              "or k, m, g), not \"%s\"",
              name, value);
    return -1;
  }
  *out = (size_t)v << shift;
  return 0;
}

/* --activation and --op: "all" keeps every choice, else only the named one
 * (index; -1 when the name is unknown, the error naming `names`). */
static int choose_one(int *chosen, int count, const char *what, const char *v, int index,
                      const char *names) {
  if (strcmp(v, "all") == 0)
    return 0;
  if (index < 0) {
    cli_error("bench: unknown %s \"%s\" (%s, all)", what, v, names);
    return -1;
  }
  for (int k = 0; k < count; k++)
    chosen[k] = k == index;
  return 0;
}

static int take_activation(void *user, const char *v) {
  leakycl_activation act;
  const int index = leakycl_activation_from_name(v, &act) == LEAKYCL_OK ? (int)act : -1;
  return choose_one(((bench_options *)user)->activation, LEAKYCL_ACTIVATION_COUNT, "activation", v,
                    index, "relu, leaky_relu, prelu, phased_relu");
}

static int take_op(void *user, const char *v) {
  bench_op op;
  const int index = bench_op_from_name(v, &op) == 0 ? (int)op : -1;
  return choose_one(((bench_options *)user)->op, BENCH_OP_COUNT, "op", v, index,
                    "forward, backward, reduce");
}

/* --n N: the one size, n_min = n_max. */
static int take_n(void *user, const char *v) {
  bench_options *o = user;
  if (parse_size("--n", v, &o->n_min) != 0)
    return -1;
  o->n_max = o->n_min;
  o->have_n = 1;
  return 0;
}

static int take_n_min(void *user, const char *v) {
  bench_options *o = user;
  o->have_range = 1;
  return parse_size("--n-min", v, &o->n_min);
}

static int take_n_max(void *user, const char *v) {
  bench_options *o = user;
  o->have_range = 1;
  return parse_size("--n-max", v, &o->n_max);
}

static int take_repeat(void *user, const char *v) {
  bench_options *o = user;
  long r;
  if (cli_parse_long(v, &r) != 0 || r < 1 || r > BENCH_MAX_REPEAT) {
    cli_error("bench: --repeat must be from 1 to %d, not \"%s\"", BENCH_MAX_REPEAT, v);
    return -1;
  }
  o->repeat = (int)r;
  return 0;
}

/* The options' combination; returns 0, or -1 after printing why. */
static int check_options(const bench_options *o) {
  if (o->have_n && o->have_range) {
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

int bench_parse_options(int argc, char **argv, const char *usage, bench_options *o,
                        int *exit_status) {
  memset(o, 0, sizeof *o);
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++)
    o->activation[a] = 1;
  for (int op = 0; op < BENCH_OP_COUNT; op++)
    o->op[op] = 1;
  o->n_min = (size_t)4 << 10;
  o->n_max = (size_t)64 << 20;
  o->repeat = 7;
  const cli_option options[] = {
      {"--device", .value = &o->device},  {"--activation", .take = take_activation},
      {"--op", .take = take_op},          {"--n", .take = take_n},
      {"--n-min", .take = take_n_min},    {"--n-max", .take = take_n_max},
      {"--repeat", .take = take_repeat},  {"--variant", .value = &o->variant},
      {"--verify", .flag = &o->verify},   {"--json", .flag = &o->json},
      {"--svg", .value = &o->svg},        {"--no-references", .flag = &o->no_references},
      {"--compare", .flag = &o->compare},
  };
  const cli_option_table table = {
      "bench", usage, options, sizeof options / sizeof options[0], .user = o, .stray = "option"};
  if (!cli_parse_options(&table, argc, argv, exit_status))
    return 0;
  *exit_status = CLI_EXIT_USAGE;
  /* A compare times leakycl's resident calls only: the devices, not the
   * references, are what it sets side by side. */
  if (o->compare)
    o->no_references = 1;
  return check_options(o) == 0;
}
