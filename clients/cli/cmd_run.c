/* cmd_run.c - `leakycl run`: one activation forward or backward on .npy
 * files, results written atomically into an output directory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "commands.h"
#include "jsonw.h"
#include "npy.h"
#include "outfile.h"

#define ACTIVATION_LIST "relu, leaky_relu, prelu, phased_relu"

static const char run_usage[] =
    "usage: leakycl run --activation A --op forward|backward --x x.npy --out DIR\n"
    "                   [--alpha A | --alpha-file a.npy] [--beta B] [--channel-axis K]\n"
    "                   [--conventions pytorch|ieee|jax]\n"
    "                   [--dy dy.npy] [--from x|y|mask] [--y y.npy] [--mask m.npy]\n"
    "                   [--mask-out FILE] [--device SPEC]\n"
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
    "  --conventions C    the formulas' corners (-0, NaN, Inf): pytorch (default;\n"
    "                     torch autograd's bits), ieee (NaN in, NaN out) or jax\n"
    "                     (the identity branch at x >= 0)\n"
    "  --channel-axis K   the channel axis, negative from the end (default 1 when\n"
    "                     the rank is at least 2, else 0)\n"
    "  --from x|y|mask    backward reads the branch from x (default), from\n"
    "                     y = forward(x), given as --y (relu, and leaky_relu/prelu\n"
    "                     with alpha > 0), or from the packed mask a forward wrote\n"
    "                     with --mask-out, given as --mask (every activation and\n"
    "                     alpha; the shape comes from --dy); no dalpha from y or mask\n"
    "  --y FILE           y = forward(x) for --from y (implies --from y)\n"
    "  --mask FILE        the mask for --from mask (implies --from mask)\n"
    "  --mask-out FILE    forward also writes the packed mask of the branches taken:\n"
    "                     a uint32 .npy ('<u4') of shape [planes, ceil(n/32)], bit\n"
    "                     i % 32 of word i / 32 for element i (C order); plane 0 the\n"
    "                     identity branch, plane 1 phased_relu's alpha band\n"
    "  --device SPEC      auto, cpu, gpu, accelerator, gpu:N, P:D or a name substring\n"
    "                     (default $LEAKYCL_DEVICE, else auto)\n"
    "  --variant S        kernel strategy: cpu (contiguous chunks) or gpu (coalesced,\n"
    "                     work-group tree reduction); default chosen per device\n"
    "  --vector-width N   floats per load: 1, 2, 4, 8 or 16\n"
    "  --program-binary FILE\n"
    "                     take every program from a bundle written by leakycl compile\n"
    "                     (no source build; its variant is used; default\n"
    "                     $LEAKYCL_PROGRAM_BINARY)\n";

/* The command line as given (strings borrowed from argv). */
typedef struct run_args {
  const char *activation;
  const char *op;
  const char *alpha;
  const char *alpha_file;
  const char *beta;
  const char *conventions;
  const char *channel_axis;
  const char *device;
  const char *from;
  const char *mask;
  const char *mask_out;
  const char *x;
  const char *y;
  const char *dy;
  const char *out;
  const char *variant;
  const char *vector_width;
  const char *program_binary;
} run_args;

/* The command line once checked. */
typedef struct run_plan {
  leakycl_activation activation;
  int backward;
  leakycl_source source;
  int has_alpha;
  float alpha;
  int has_beta;
  float beta;
  leakycl_conventions conventions;
  int has_axis;
  long axis;
  int has_strategy;
  leakycl_strategy strategy;
  unsigned vector_width; /* 0: the device's default */
} run_plan;

/* Everything loaded or allocated for one run; freed by run_state_free. */
typedef struct run_state {
  npy_array src; /* x, y for --from y, the mask for --from mask */
  npy_array dy;
  npy_array alpha_file;
  leakycl_view view;
  size_t n_alpha; /* values in alpha (0: the default) */
  size_t n_grads; /* values in each gradient output */
  float *dalpha;  /* n_grads each, or NULL */
  float *neg_fraction;
  float *mean_abs_grad;
  uint32_t *mask_out; /* the mask a forward writes (--mask-out), or NULL */
  size_t mask_words;
  size_t mask_planes; /* 2 for phased_relu (its band), else 1 */
  leakycl_context *ctx;
} run_state;

static void run_state_free(run_state *s) {
  npy_array_free(&s->src);
  npy_array_free(&s->dy);
  npy_array_free(&s->alpha_file);
  free(s->dalpha);
  free(s->neg_fraction);
  free(s->mean_abs_grad);
  free(s->mask_out);
  leakycl_context_release(s->ctx);
  memset(s, 0, sizeof *s);
}

/* Reads the options into *a (each one at most once). Returns 1 when the
 * run goes on, else 0 with *exit_status (0 after --help, 2 after a usage
 * error). */
static int parse_args(int argc, char **argv, run_args *a, int *exit_status) {
  const cli_option options[] = {
      {"--activation", .value = &a->activation},
      {"--op", .value = &a->op},
      {"--alpha", .value = &a->alpha},
      {"--alpha-file", .value = &a->alpha_file},
      {"--beta", .value = &a->beta},
      {"--conventions", .value = &a->conventions},
      {"--channel-axis", .value = &a->channel_axis},
      {"--device", .value = &a->device},
      {"--from", .value = &a->from},
      {"--mask", .value = &a->mask},
      {"--mask-out", .value = &a->mask_out},
      {"--x", .value = &a->x},
      {"--y", .value = &a->y},
      {"--dy", .value = &a->dy},
      {"--out", .value = &a->out},
      {"--variant", .value = &a->variant},
      {"--vector-width", .value = &a->vector_width},
      {"--program-binary", .value = &a->program_binary},
  };
  const cli_option_table table = {
      "run", run_usage, options, sizeof options / sizeof options[0], .help_anywhere = 1, .once = 1};
  return cli_parse_options(&table, argc, argv, exit_status);
}

/* Parses an optional float option's value into *out and sets *given;
 * returns 0, or -1 after printing why. */
static int plan_float(const char *option, const char *value, float *out, int *given) {
  if (!value)
    return 0;
  if (cli_parse_float(value, out) != 0) {
    cli_error("%s: \"%s\" is not a finite float32 number", option, value);
    return -1;
  }
  *given = 1;
  return 0;
}

/* The option each source reads its input from. */
static const char *const source_option[] = {"--x", "--y", "--mask"};

/* Where backward reads the branch from: --from y needs y itself, as --y;
 * --from mask the mask, as --mask. Returns 0, or prints why and -1. */
static int plan_source(const run_args *a, run_plan *p) {
  p->source = LEAKYCL_FROM_X;
  if (a->from) {
    if (strcmp(a->from, "y") == 0) {
      p->source = LEAKYCL_FROM_Y;
    } else if (strcmp(a->from, "mask") == 0) {
      p->source = LEAKYCL_FROM_MASK;
    } else if (strcmp(a->from, "x") != 0) {
      cli_error("--from: unknown source \"%s\" (x, y, mask)", a->from);
      return -1;
    }
  } else if (a->y || a->mask) {
    p->source = a->y ? LEAKYCL_FROM_Y : LEAKYCL_FROM_MASK;
  }
  if ((a->from || a->y || a->mask) && !p->backward) {
    cli_error("%s is only for --op backward", a->from ? "--from" : a->y ? "--y" : "--mask");
    return -1;
  }
  if (a->mask_out && p->backward) {
    cli_error("--mask-out is only for --op forward");
    return -1;
  }
  /* The source's own input is required, the others refused. */
  const char *const given[] = {a->x, a->y, a->mask};
  const char *const names[] = {"x", "y", "mask"};
  for (int k = 0; k < 3; k++) {
    if (k != (int)p->source && given[k]) {
      if (p->source == LEAKYCL_FROM_X)
        cli_error("%s is only for --from %s", source_option[k], names[k]);
      else
        cli_error("--from %s reads %s from %s; %s is not used (give one of them)", names[p->source],
                  names[p->source], source_option[p->source], source_option[k]);
      return -1;
    }
  }
  if (!given[p->source]) {
    if (p->source == LEAKYCL_FROM_X)
      cli_error("--x FILE is required");
    else if (p->source == LEAKYCL_FROM_Y)
      cli_error("--from y needs --y FILE (y = forward(x))");
    else
      cli_error("--from mask needs --mask FILE (written by a forward with --mask-out)");
    return -1;
  }
  return 0;
}

/* Checks the combination of options and parses their values into *p.
 * Returns 0, or prints a one-line error and returns -1. */
static int plan_run(const run_args *a, run_plan *p) {
  memset(p, 0, sizeof *p);
  if (!a->activation) {
    cli_error("--activation is required (" ACTIVATION_LIST ")");
    return -1;
  }
  if (leakycl_activation_from_name(a->activation, &p->activation) != LEAKYCL_OK) {
    cli_error("--activation: unknown activation \"%s\" (" ACTIVATION_LIST ")", a->activation);
    return -1;
  }
  if (!a->op) {
    cli_error("--op is required (forward, backward)");
    return -1;
  }
  if (strcmp(a->op, "forward") == 0) {
    p->backward = 0;
  } else if (strcmp(a->op, "backward") == 0) {
    p->backward = 1;
  } else {
    cli_error("--op: unknown op \"%s\" (forward, backward)", a->op);
    return -1;
  }
  if (!a->out || !*a->out) {
    cli_error("--out DIR is required");
    return -1;
  }
  if (plan_source(a, p) != 0)
    return -1;
  if (p->backward && !a->dy) {
    cli_error("--op backward needs --dy FILE");
    return -1;
  }
  if (!p->backward && a->dy) {
    cli_error("--dy is only for --op backward");
    return -1;
  }
  if (a->alpha && a->alpha_file) {
    cli_error("give either --alpha or --alpha-file, not both");
    return -1;
  }
  if (p->activation == LEAKYCL_RELU && (a->alpha || a->alpha_file)) {
    cli_error("relu takes no alpha (%s)", a->alpha ? "--alpha" : "--alpha-file");
    return -1;
  }
  if (plan_float("--alpha", a->alpha, &p->alpha, &p->has_alpha) != 0)
    return -1;
  if (a->beta && p->activation != LEAKYCL_PHASED_RELU) {
    cli_error("--beta is only for phased_relu");
    return -1;
  }
  if (plan_float("--beta", a->beta, &p->beta, &p->has_beta) != 0)
    return -1;
  if (a->conventions &&
      leakycl_conventions_from_name(a->conventions, &p->conventions) != LEAKYCL_OK) {
    cli_error("--conventions: \"%s\" is not pytorch, ieee or jax", a->conventions);
    return -1;
  }
  if (a->channel_axis) {
    if (cli_parse_long(a->channel_axis, &p->axis) != 0) {
      cli_error("--channel-axis: \"%s\" is not an integer", a->channel_axis);
      return -1;
    }
    p->has_axis = 1;
  }
  if (a->variant) {
    if (strcmp(a->variant, "cpu") == 0) {
      p->strategy = LEAKYCL_STRATEGY_CPU;
    } else if (strcmp(a->variant, "gpu") == 0) {
      p->strategy = LEAKYCL_STRATEGY_GPU;
    } else {
      cli_error("--variant: unknown variant \"%s\" (cpu, gpu)", a->variant);
      return -1;
    }
    p->has_strategy = 1;
  }
  if (a->vector_width) {
    long vw;
    if (cli_parse_long(a->vector_width, &vw) != 0 ||
        (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16)) {
      cli_error("--vector-width: \"%s\" is not 1, 2, 4, 8 or 16", a->vector_width);
      return -1;
    }
    p->vector_width = (unsigned)vw;
  }
  return 0;
}

/* Loads one .npy named by option `option`; prints the error on failure. */
static int load_input(const char *option, const char *path, npy_array *out) {
  char err[512];
  if (npy_load(path, out, err, sizeof err) != NPY_OK) {
    cli_error("%s: %s", option, err);
    return -1;
  }
  return 0;
}

/* Loads the inputs and checks shapes, the view and the alphas. Returns 0,
 * or prints the error and returns -1 (all bad input: exit 2). */
static int load_inputs(const run_args *a, const run_plan *p, run_state *s) {
  const char *src_option = source_option[p->source];
  const char *const src_path[] = {a->x, a->y, a->mask};
  if (load_input(src_option, src_path[p->source], &s->src) != 0)
    return -1;
  const int from_mask = p->source == LEAKYCL_FROM_MASK;
  if (from_mask && s->src.dtype != NPY_UINT32) {
    cli_error("--mask: %s is %s; a mask is uint32 ('<u4')", a->mask, npy_dtype_name(s->src.dtype));
    return -1;
  }
  if (!from_mask && s->src.dtype == NPY_UINT32) {
    cli_error("%s: %s is uint32; tensors are float32 ('<f4') or float16 ('<f2')", src_option,
              src_path[p->source]);
    return -1;
  }
  if (a->dy) {
    if (load_input("--dy", a->dy, &s->dy) != 0)
      return -1;
    if (s->dy.dtype == NPY_UINT32) {
      cli_error("--dy: %s is uint32; tensors are float32 ('<f4') or float16 ('<f2')", a->dy);
      return -1;
    }
  }
  /* The tensors' shape: x's or y's, or dy's when the source is a mask. */
  const npy_array *shaped = from_mask ? &s->dy : &s->src;
  if (a->dy && !from_mask) {
    if (s->dy.rank != s->src.rank ||
        memcmp(s->dy.shape, s->src.shape, s->src.rank * sizeof s->src.shape[0]) != 0) {
      char ds[400], xs[400];
      cli_format_shape(s->dy.shape, s->dy.rank, ds, sizeof ds);
      cli_format_shape(s->src.shape, s->src.rank, xs, sizeof xs);
      cli_error("--dy has shape %s but %s has shape %s", ds, src_option, xs);
      return -1;
    }
    if (s->dy.dtype != s->src.dtype) {
      cli_error("--dy is %s ('%s') but %s is %s ('%s'); give both in one dtype",
                npy_dtype_name(s->dy.dtype), npy_dtype_descr(s->dy.dtype), src_option,
                npy_dtype_name(s->src.dtype), npy_dtype_descr(s->src.dtype));
      return -1;
    }
  }
  const long axis = p->has_axis ? p->axis : shaped->rank >= 2 ? 1 : 0;
  char err[512];
  if (leakycl_view_from_shape(shaped->shape, shaped->rank, axis, &s->view, err, sizeof err) !=
      LEAKYCL_OK) {
    cli_error("--channel-axis: %s", err);
    return -1;
  }
  const size_t words = leakycl_mask_words(p->activation, shaped->count);
  if (from_mask && s->src.count != words) {
    cli_error("--mask: %s holds %zu words; %s of %zu elements needs %zu", a->mask, s->src.count,
              leakycl_activation_name(p->activation), shaped->count, words);
    return -1;
  }
  if (a->mask_out) {
    s->mask_words = words;
    s->mask_planes = leakycl_mask_words(p->activation, 32); /* words of one 32-element block */
    s->mask_out = calloc(words ? words : 1, sizeof *s->mask_out);
    if (!s->mask_out) {
      cli_error("out of memory for a mask of %zu words", words);
      return -1;
    }
  }
  if (a->alpha_file) {
    if (load_input("--alpha-file", a->alpha_file, &s->alpha_file) != 0)
      return -1;
    const npy_array *af = &s->alpha_file;
    /* alpha is a float32 parameter whatever the tensors' storage. */
    if (af->dtype != NPY_FLOAT32) {
      cli_error("--alpha-file: %s is %s; alpha is float32 ('<f4')", a->alpha_file,
                npy_dtype_name(af->dtype));
      return -1;
    }
    if (af->rank > 1) {
      cli_error("--alpha-file: %s has rank %zu; expected a 1-D array", a->alpha_file, af->rank);
      return -1;
    }
    if (af->count != 1 && af->count != s->view.channels) {
      cli_error("--alpha-file: %s has %zu values; expected 1 (shared) or %zu (one per "
                "channel)",
                a->alpha_file, af->count, s->view.channels);
      return -1;
    }
    for (size_t c = 0; c < af->count; c++) {
      if (!isfinite(af->data[c])) {
        cli_error("--alpha-file: %s: value %zu is not finite", a->alpha_file, c);
        return -1;
      }
    }
    s->n_alpha = af->count;
  } else {
    s->n_alpha = p->has_alpha ? 1 : 0;
  }
  return 0;
}

/* Opens the device, loads --program-binary and applies --variant /
 * --vector-width. Returns an exit
 * status (0 on success; the error is printed). */
static int open_device(const run_args *a, const run_plan *p, run_state *s) {
  char err[1024] = "";
  leakycl_status st = leakycl_context_create(a->device, &s->ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("--device %s: %s", a->device ? a->device : "(default)",
              err[0] ? err : leakycl_status_message(st));
    return CLI_EXIT_FAILURE;
  }
  if (a->program_binary) {
    /* The bundle is an input file: a bad one is bad input (2). */
    st = leakycl_load_program_bundle(s->ctx, a->program_binary);
    if (st != LEAKYCL_OK) {
      cli_error("--program-binary: %s", leakycl_last_error(s->ctx));
      return st == LEAKYCL_OUT_OF_MEMORY ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
    }
  }
  if (!p->has_strategy && !p->vector_width)
    return CLI_EXIT_OK;
  leakycl_variant v;
  leakycl_device_info info;
  st = leakycl_get_variant(s->ctx, &v);
  if (st == LEAKYCL_OK)
    st = leakycl_context_device(s->ctx, &info);
  if (st != LEAKYCL_OK) {
    cli_error("variant: %s", leakycl_last_error(s->ctx));
    return CLI_EXIT_FAILURE;
  }
  if (p->has_strategy && p->strategy != v.strategy) {
    /* Switching strategy takes that strategy's default shape on this device. */
    st = leakycl_default_variant(&info, p->strategy, &v);
    if (st != LEAKYCL_OK) {
      cli_error("--variant: no default for this strategy");
      return CLI_EXIT_USAGE;
    }
  }
  if (p->vector_width)
    v.vector_width = p->vector_width;
  st = leakycl_set_variant(s->ctx, &v);
  if (st != LEAKYCL_OK) {
    cli_error("--variant: %s", leakycl_last_error(s->ctx));
    return cli_exit_for_status(st);
  }
  return CLI_EXIT_OK;
}

/* Runs the operation in place (y over x, dx over dy). Returns an exit
 * status (the error printed). */
static int compute(const run_plan *p, run_state *s) {
  leakycl_params params;
  leakycl_status st = leakycl_params_init(&params, p->activation);
  if (st != LEAKYCL_OK) {
    cli_error("params: %s", leakycl_status_message(st));
    return cli_exit_for_status(st);
  }
  if (s->alpha_file.count > 0) {
    params.alpha_count = s->alpha_file.count;
    params.alpha = s->alpha_file.data;
  } else if (p->has_alpha) {
    params.alpha_count = 1;
    params.alpha = &p->alpha;
  }
  if (p->has_beta)
    params.beta = p->beta;
  params.conventions = p->conventions;
  /* Output dtype = input dtype: float16 arrays go through the typed calls
   * (float32 arithmetic, results rounded to nearest even). */
  const npy_array *shaped = p->source == LEAKYCL_FROM_MASK ? &s->dy : &s->src;
  const leakycl_dtype dtype = shaped->dtype == NPY_FLOAT16 ? LEAKYCL_FLOAT16 : LEAKYCL_FLOAT32;
  void *src = (void *)npy_array_bytes(&s->src), *dy = (void *)npy_array_bytes(&s->dy);
  if (!p->backward && s->mask_out) {
    st = leakycl_forward_mask(s->ctx, &params, s->view, dtype, src, src, s->mask_out);
  } else if (!p->backward) {
    st = leakycl_forward_typed(s->ctx, &params, s->view, dtype, src, src);
  } else {
    const int want_grads =
        leakycl_activation_has_gradient(p->activation) && p->source == LEAKYCL_FROM_X;
    leakycl_grads grads = {NULL, NULL, NULL, NULL, 0};
    if (want_grads) {
      s->n_grads = s->n_alpha > 0 ? s->n_alpha : 1;
      s->dalpha = calloc(s->n_grads, sizeof(float));
      s->neg_fraction = calloc(s->n_grads, sizeof(float));
      s->mean_abs_grad = calloc(s->n_grads, sizeof(float));
      if (!s->dalpha || !s->neg_fraction || !s->mean_abs_grad) {
        cli_error("out of memory for %zu gradients", s->n_grads);
        return CLI_EXIT_FAILURE;
      }
      grads.dalpha = s->dalpha;
      grads.neg_fraction = s->neg_fraction;
      grads.mean_abs_grad = s->mean_abs_grad;
    }
    st = leakycl_backward_typed(s->ctx, &params, s->view, dtype, p->source, src, dy, dy,
                                want_grads ? &grads : NULL);
  }
  if (st != LEAKYCL_OK) {
    const char *detail = leakycl_last_error(s->ctx);
    cli_error("%s: %s", p->backward ? "backward" : "forward",
              detail && *detail ? detail : leakycl_status_message(st));
    return cli_exit_for_status(st);
  }
  return CLI_EXIT_OK;
}

/* Writes stats.json. Returns 0 or -1. */
static int write_stats(FILE *f, const run_state *s) {
  if (fputs("{\"neg_fraction\":", f) < 0 ||
      jsonw_float_array(f, s->neg_fraction, s->n_grads) != 0 ||
      fputs(",\"mean_abs_grad\":", f) < 0 ||
      jsonw_float_array(f, s->mean_abs_grad, s->n_grads) != 0 || fputs(",\"dalpha\":", f) < 0 ||
      jsonw_float_array(f, s->dalpha, s->n_grads) != 0 || fputs("}\n", f) < 0)
    return -1;
  return 0;
}

/* Adds the mask file at `path` (its directory must exist) to the set: a
 * uint32 .npy of shape [planes, words a plane]. Returns 0 or -1 (err set). */
static int write_mask(outfile_set *set, const char *path, const run_state *s, FILE **f, char *err,
                      size_t errlen) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  const size_t dir_len = slash ? (size_t)(slash - path) + (slash == path) : 1;
  if (!*name || dir_len >= sizeof dir) {
    snprintf(err, errlen, "--mask-out: \"%s\" is not a file name", path);
    return -1;
  }
  memcpy(dir, slash ? path : ".", dir_len);
  dir[dir_len] = '\0';
  const size_t shape[2] = {s->mask_planes, s->mask_words / s->mask_planes};
  if (outfile_begin(set, dir, name, f, err, errlen) != 0)
    return -1;
  return npy_write_typed(*f, shape, 2, NPY_UINT32, s->mask_out, err, errlen) == NPY_OK ? 0 : -1;
}

/* Writes every result of the run into dir, all or nothing. Returns an exit
 * status (the error printed). */
static int write_outputs(const char *dir, const char *mask_path, const run_plan *p,
                         const run_state *s) {
  outfile_set set;
  memset(&set, 0, sizeof set);
  char err[512] = "";
  FILE *f = NULL;
  const npy_array *result = p->backward ? &s->dy : &s->src;
  if (outfile_begin(&set, dir, p->backward ? "dx.npy" : "y.npy", &f, err, sizeof err) != 0 ||
      npy_write_typed(f, result->shape, result->rank, result->dtype, npy_array_bytes(result), err,
                      sizeof err) != NPY_OK)
    goto fail;
  if (s->mask_out && write_mask(&set, mask_path, s, &f, err, sizeof err) != 0)
    goto fail;
  if (s->dalpha) {
    const size_t shape[1] = {s->n_grads};
    if (outfile_begin(&set, dir, "dalpha.npy", &f, err, sizeof err) != 0 ||
        npy_write(f, shape, 1, s->dalpha, err, sizeof err) != NPY_OK)
      goto fail;
    if (outfile_begin(&set, dir, "stats.json", &f, err, sizeof err) != 0)
      goto fail;
    if (write_stats(f, s) != 0) {
      snprintf(err, sizeof err, "cannot write stats.json");
      goto fail;
    }
  }
  if (outfile_commit(&set, err, sizeof err) != 0) {
    cli_error("--out: %s", err);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
fail:
  outfile_abort(&set);
  cli_error("--out: %s", err);
  return CLI_EXIT_FAILURE;
}

static int cmd_run(int argc, char **argv) {
  run_args a;
  memset(&a, 0, sizeof a);
  int rc;
  if (!parse_args(argc, argv, &a, &rc))
    return rc;
  run_plan p;
  if (plan_run(&a, &p) != 0)
    return CLI_EXIT_USAGE;
  run_state s;
  memset(&s, 0, sizeof s);
  rc = CLI_EXIT_USAGE;
  if (load_inputs(&a, &p, &s) != 0)
    goto done;
  char err[512] = "";
  rc = CLI_EXIT_FAILURE;
  if (outfile_mkdirs(a.out, err, sizeof err) != 0) {
    cli_error("--out: %s", err);
    goto done;
  }
  rc = open_device(&a, &p, &s);
  if (rc == CLI_EXIT_OK)
    rc = compute(&p, &s);
  if (rc == CLI_EXIT_OK)
    rc = write_outputs(a.out, a.mask_out, &p, &s);
done:
  run_state_free(&s);
  return rc;
}

const cli_command cli_command_run = {
    "run", "run ...", "run an activation forward or backward on .npy files", cmd_run, run_usage};
