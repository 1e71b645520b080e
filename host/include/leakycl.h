/* leakycl.h - the whole public API of libleakycl: the ReLU family (relu,
 * leaky_relu, prelu, phased_relu) forward, backward and parameter-gradient
 * reduction as OpenCL kernels on any OpenCL 1.2+ device.
 *
 * Ownership, once for the whole API:
 * - Every function returns a leakycl_status. On failure the detail (OpenCL
 *   error name, build log, the offending argument) is kept in the context and
 *   read with leakycl_last_error(); functions without a context write it into
 *   a caller buffer (err, errlen; either may be NULL/0).
 * - Pointers passed in are borrowed for the duration of the call only.
 * - A context is used by one call at a time internally (it holds a mutex), so
 *   several threads may share it; calls on it are serialized.
 * - Outputs are written only when the call succeeds (no partial result on a
 *   validation error).
 * - Semantics follow the README's semantics table: float32 arithmetic, strict
 *   x > 0 for the identity branch (x >= 0 for phased_relu), alpha never
 *   clamped; the corners (the sign of zero, NaN in x, Inf) follow the
 *   conventions profile (leakycl_conventions; torch autograd's by default).
 *
 * Stability, before 1.0 (LEAKYCL_VERSION 0.x):
 * - Source compatibility is kept within a minor version: names, signatures
 *   and the meaning of every field stay. Between minor versions (0.1 ->
 *   0.2) functions and enum values may be added, and fields may be added at
 *   the END of the public structs (leakycl_params, leakycl_grads,
 *   leakycl_job, leakycl_device_info, leakycl_variant, the tune report), so
 *   their size changes: rebuild against the new header, initialise structs
 *   with leakycl_params_init or = {0} (new fields are then zero, which
 *   always means the old behaviour), and do not keep them in files.
 * - The shared library's soname is libleakycl.so.0 for all of 0.x, so the
 *   loader cannot tell minor versions apart: no binary compatibility is
 *   promised across them before 1.0 (leakycl_version() says which is
 *   loaded; rebuild when it changes).
 * - Enum values are never renumbered; LEAKYCL_STATUS_COUNT_ is a bound for
 *   tables, not a status, and grows as statuses are added.
 * - What is not in this header (lk_* symbols, the kernels' macros, on-disk
 *   cache and bundle formats) is internal and changes freely; bundles and
 *   cache entries carry the version and are refused, never misread, by
 *   another one.
 */
#ifndef LEAKYCL_H
#define LEAKYCL_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LEAKYCL_BUILDING)
#define LEAKYCL_API __attribute__((visibility("default")))
#else
#define LEAKYCL_API
#endif

#define LEAKYCL_VERSION "0.1.0"
#define LEAKYCL_VERSION_MAJOR 0
#define LEAKYCL_VERSION_MINOR 1
#define LEAKYCL_VERSION_PATCH 0

/* The version of the library actually loaded ("0.1.0"), which may differ
 * from the LEAKYCL_VERSION a program was compiled with; *major, *minor and
 * *patch (each may be NULL) get its numbers. */
LEAKYCL_API const char *leakycl_version(int *major, int *minor, int *patch);

/* ---- Status codes: one list generates the enum, names and messages. ---- */
#define LEAKYCL_STATUS_MAP(X)                                                                      \
  X(OK, "success")                                                                                 \
  X(INVALID_ARGUMENT, "invalid argument")                                                          \
  X(NO_DEVICE, "no OpenCL device matches the request")                                             \
  X(OPENCL_ERROR, "an OpenCL call failed")                                                         \
  X(BUILD_FAILED, "the OpenCL program failed to build")                                            \
  X(OUT_OF_MEMORY, "out of host or device memory")                                                 \
  X(UNSUPPORTED, "not supported for this activation or device")                                    \
  X(IO_ERROR, "file input or output failed")

typedef enum leakycl_status {
#define LEAKYCL_STATUS_ENUM_(name, msg) LEAKYCL_##name,
  LEAKYCL_STATUS_MAP(LEAKYCL_STATUS_ENUM_)
#undef LEAKYCL_STATUS_ENUM_
      LEAKYCL_STATUS_COUNT_
} leakycl_status;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN_STATUS" for values out of range. */
LEAKYCL_API const char *leakycl_status_name(leakycl_status status);
/* A one-line human message for the status (not the per-call detail). */
LEAKYCL_API const char *leakycl_status_message(leakycl_status status);
/* "CL_OUT_OF_RESOURCES" etc. for an OpenCL error code, "CL_UNKNOWN_ERROR" else. */
LEAKYCL_API const char *leakycl_cl_error_name(cl_int code);

/* ---- Activations ---- */
typedef enum leakycl_activation {
  LEAKYCL_RELU = 0,
  LEAKYCL_LEAKY_RELU = 1,
  LEAKYCL_PRELU = 2,
  LEAKYCL_PHASED_RELU = 3
} leakycl_activation;

#define LEAKYCL_ACTIVATION_COUNT 4
#define LEAKYCL_DEFAULT_LEAKY_ALPHA 0.01f
#define LEAKYCL_DEFAULT_PRELU_ALPHA 0.25f
#define LEAKYCL_DEFAULT_PHASED_ALPHA 0.1f
#define LEAKYCL_DEFAULT_PHASED_BETA 0.5f

/* "relu", "leaky_relu", "prelu", "phased_relu"; NULL for an unknown value. */
LEAKYCL_API const char *leakycl_activation_name(leakycl_activation activation);
/* Parses one of the names above (exact, lower case). */
LEAKYCL_API leakycl_status leakycl_activation_from_name(const char *name, leakycl_activation *out);
/* Whether the activation has a learnable slope with a gradient (prelu,
 * phased_relu). relu has no alpha; leaky_relu's alpha is a fixed constant. */
LEAKYCL_API int leakycl_activation_has_gradient(leakycl_activation activation);
/* Default alpha (0 for relu). */
LEAKYCL_API float leakycl_default_alpha(leakycl_activation activation);
/* Initialisation gain for a slope alpha (seed 002): sqrt(2 / (1 + alpha^2)). */
LEAKYCL_API double leakycl_init_gain(double alpha);

/* The conventions profile: what the formulas give in their corners (the
 * sign of zero, NaN in x, Inf times a zero gradient). The README has each
 * profile's table.
 *   PYTORCH (the default)  bit for bit what torch autograd gives in float32
 *                          for nn.ReLU, nn.LeakyReLU, nn.PReLU and seed
 *                          003's PhasedReLU module: relu(-0) = -0, NaN in x
 *                          passes dy (relu) or a*dy (leaky_relu, prelu),
 *                          phased_relu sends NaN to its zero branch, and
 *                          where()'s +0 fills (dx +0 for dy -0; dalpha NaN
 *                          for Inf in x)
 *   IEEE                   NaN in x gives NaN in y, dx and dalpha;
 *                          relu(-0) = +0; no fills
 *   JAX                    the identity branch at x >= 0, as jax.nn.leaky_relu
 *                          and its autodiff have it (with where()'s fills);
 *                          relu's derivative is 0 at 0 and at NaN
 * A profile costs no speed: each is its own kernel build, made when first
 * used. */
typedef enum leakycl_conventions {
  LEAKYCL_CONVENTIONS_PYTORCH = 0,
  LEAKYCL_CONVENTIONS_IEEE = 1,
  LEAKYCL_CONVENTIONS_JAX = 2
} leakycl_conventions;

#define LEAKYCL_CONVENTIONS_COUNT 3

/* "pytorch", "ieee", "jax"; NULL for an unknown value. */
LEAKYCL_API const char *leakycl_conventions_name(leakycl_conventions conventions);
/* Parses one of the names above (exact, lower case). */
LEAKYCL_API leakycl_status leakycl_conventions_from_name(const char *name,
                                                         leakycl_conventions *out);

/* Parameters of one call. Initialise with leakycl_params_init(), then
 * override. alpha_count is 0 (the activation's default), 1 (one shared
 * alpha) or the view's channel count (one alpha per channel). relu takes no
 * alpha (alpha_count must be 0). beta is used by phased_relu only; its
 * threshold t = -beta/alpha is computed in float32 on the host. alpha and
 * beta must be finite; any sign and size is accepted, never clamped. */
typedef struct leakycl_params {
  leakycl_activation activation;
  size_t alpha_count;
  const float *alpha;
  float beta;
  leakycl_conventions conventions; /* LEAKYCL_CONVENTIONS_PYTORCH after init */
} leakycl_params;

LEAKYCL_API leakycl_status leakycl_params_init(leakycl_params *params,
                                               leakycl_activation activation);

/* ---- Tensor view ---- */
/* A contiguous tensor seen as [outer, channels, inner]: element i belongs to
 * channel (i / inner) % channels. */
typedef struct leakycl_view {
  size_t outer;
  size_t channels;
  size_t inner;
} leakycl_view;

#define LEAKYCL_MAX_RANK 16

/* Builds the view of a shape (rank 0..LEAKYCL_MAX_RANK) with the channel on
 * axis `channel_axis` (negative counts from the end: -1 is the last). A rank
 * 0 tensor is one element (axis must be 0 or -1). Fails with
 * INVALID_ARGUMENT on an axis out of range or a product over SIZE_MAX. */
LEAKYCL_API leakycl_status leakycl_view_from_shape(const size_t *shape, size_t rank,
                                                   long channel_axis, leakycl_view *out, char *err,
                                                   size_t errlen);
/* A flat view [1, 1, n]. */
LEAKYCL_API leakycl_view leakycl_view_flat(size_t n);
/* outer * channels * inner, or fails when that overflows size_t. */
LEAKYCL_API leakycl_status leakycl_view_count(leakycl_view view, size_t *count);

/* ---- Devices ---- */
typedef enum leakycl_device_type {
  LEAKYCL_DEVICE_CPU = 1,
  LEAKYCL_DEVICE_GPU = 2,
  LEAKYCL_DEVICE_ACCELERATOR = 4,
  LEAKYCL_DEVICE_OTHER = 8
} leakycl_device_type;

typedef struct leakycl_device_info {
  unsigned platform_index;
  unsigned device_index; /* index within its platform */
  leakycl_device_type type;
  char platform_name[128];
  char name[128];
  char vendor[128];
  char version[128];        /* CL_DEVICE_VERSION */
  char driver_version[128]; /* CL_DRIVER_VERSION */
  unsigned compute_units;
  uint64_t global_mem_bytes;
  uint64_t local_mem_bytes;
  uint64_t max_alloc_bytes;
  size_t max_work_group_size;
  int unified_memory; /* CL_DEVICE_HOST_UNIFIED_MEMORY */
} leakycl_device_info;

/* "cpu", "gpu", "accelerator", "other". */
LEAKYCL_API const char *leakycl_device_type_name(leakycl_device_type type);

/* Lists every device of every platform, in platform then device order.
 * Writes at most `capacity` entries to `out` (may be NULL when capacity is
 * 0) and the total number seen to *count. No platform at all is OK with
 * *count == 0. */
LEAKYCL_API leakycl_status leakycl_list_devices(leakycl_device_info *out, size_t capacity,
                                                size_t *count, char *err, size_t errlen);

/* Picks the device that SPEC names among `devices`, with the rules of
 * leakycl_context_create (so a server can match a job's SPEC among the
 * devices it opened). NO_DEVICE names the SPEC and the devices seen. */
LEAKYCL_API leakycl_status leakycl_device_match(const char *spec,
                                                const leakycl_device_info *devices, size_t count,
                                                size_t *index, char *err, size_t errlen);

/* ---- Context ---- */
typedef struct leakycl_context leakycl_context;

/* Opens the device that SPEC names: "auto" (GPU, then accelerator, then CPU),
 * "cpu", "gpu", "accelerator", "gpu:1" (the n-th of that type, from 0),
 * "P:D" (platform and device index) or a case-insensitive substring of the
 * device or platform name. NULL or "" means $LEAKYCL_DEVICE, else "auto".
 * Nothing matching is NO_DEVICE with a message naming the SPEC and the
 * devices seen; there is no silent fallback. Kernels for the device's default
 * variant are built (and warmed) lazily on first use. When
 * $LEAKYCL_PROGRAM_BINARY names a file, it is loaded as by
 * leakycl_load_program_bundle (and its failure fails the create). */
LEAKYCL_API leakycl_status leakycl_context_create(const char *spec, leakycl_context **out,
                                                  char *err, size_t errlen);
/* Bring your own queue: a context over an existing in-order command queue
 * (retained; released with the context). */
LEAKYCL_API leakycl_status leakycl_context_create_from_queue(cl_command_queue queue,
                                                             leakycl_context **out, char *err,
                                                             size_t errlen);
/* Waits for the queue, releases everything. NULL is a no-op. Like free(),
 * the context must not be used afterwards (no registry of live contexts is
 * kept: the library has no global state). */
LEAKYCL_API void leakycl_context_release(leakycl_context *ctx);
/* The detail of the last failed call on this context ("" if none). */
LEAKYCL_API const char *leakycl_last_error(const leakycl_context *ctx);
LEAKYCL_API leakycl_status leakycl_context_device(const leakycl_context *ctx,
                                                  leakycl_device_info *out);
/* The OpenCL objects behind the context, for device-resident buffers. Any
 * output pointer may be NULL. They stay owned by the context. */
LEAKYCL_API leakycl_status leakycl_context_cl(const leakycl_context *ctx, cl_context *context,
                                              cl_device_id *device, cl_command_queue *queue);
/* Waits for every operation enqueued on the context (clFinish). */
LEAKYCL_API leakycl_status leakycl_finish(leakycl_context *ctx);

/* ---- Variants: how kernels are shaped on this device ---- */
typedef enum leakycl_strategy {
  /* A contiguous chunk per work-item, vector loads; the reduction gives each
   * work-item one block (CPUs). */
  LEAKYCL_STRATEGY_CPU = 0,
  /* Coalesced grid-stride access; the reduction gives each work-group one
   * block and combines it with a tree in local memory (GPUs). */
  LEAKYCL_STRATEGY_GPU = 1
} leakycl_strategy;

typedef struct leakycl_variant {
  leakycl_strategy strategy;
  unsigned vector_width;   /* 1, 2, 4, 8 or 16 floats per load */
  size_t work_group_size;  /* 1 .. the device maximum; a power of two for GPU */
  size_t vectors_per_item; /* CPU strategy: vectors per work-item chunk (>= 1) */
  size_t reduce_block;     /* elements per reduction block, 1 .. 2^24 */
  /* Non-temporal (streaming) stores for outputs of at least this many
   * elements; 0 never. They skip the cache on large outputs but cost speed
   * when the data fits in cache, hence a threshold. Outputs not aligned to
   * the vector always store plainly. */
  size_t streaming_threshold;
} leakycl_variant;

/* "cpu" / "gpu"; "unknown" out of range. */
LEAKYCL_API const char *leakycl_strategy_name(leakycl_strategy strategy);
/* The default variant of `strategy` on `device`: its vendor's row for the
 * gpu strategy on NVIDIA, AMD and Intel GPUs (work-group size and reduction
 * block, each with its reason in host/tune/variant.c), else the default of
 * the strategy. A context starts with the default of its device type's
 * strategy: cpu for CPUs, gpu for everything else. */
LEAKYCL_API leakycl_status leakycl_default_variant(const leakycl_device_info *device,
                                                   leakycl_strategy strategy, leakycl_variant *out);
/* The variant in use (chosen from the device type when the context opens). */
LEAKYCL_API leakycl_status leakycl_get_variant(const leakycl_context *ctx, leakycl_variant *out);
/* Overrides the variant after validating every field (INVALID_ARGUMENT with
 * the allowed range otherwise). */
LEAKYCL_API leakycl_status leakycl_set_variant(leakycl_context *ctx,
                                               const leakycl_variant *variant);
/* A one-line description such as "cpu vw8 wg64 chunk64 block16384 nt1048576"
 * (nt0: no streaming stores). */
LEAKYCL_API leakycl_status leakycl_variant_describe(const leakycl_variant *variant, char *buf,
                                                    size_t buflen);
/* Parses a description back: the strategy first, then any of vwN wgN chunkN
 * blockN ntN in any order; fields not named keep the strategy's default on
 * `device`. The result is validated for the device as leakycl_set_variant
 * does; err gets the reason on failure. */
LEAKYCL_API leakycl_status leakycl_variant_parse(const char *text,
                                                 const leakycl_device_info *device,
                                                 leakycl_variant *out, char *err, size_t errlen);
/* Where the context's variant came from: "default" (by device type),
 * "vendor" (by vendor and device type), "tuned"
 * (the on-disk table that `leakycl tune` writes), "env" (LEAKYCL_VARIANT),
 * "bundle" (a loaded program bundle) or "set" (leakycl_set_variant). */
LEAKYCL_API const char *leakycl_variant_origin(const leakycl_context *ctx);

/* ---- Autotuning and the on-disk table of tuned variants ---- */
typedef struct leakycl_tune_candidate {
  leakycl_variant variant;
  /* Medians of forward, backward (dx with dalpha) and reduce, in seconds. */
  double seconds[3];
  /* Sum over the three ops of seconds / the start variant's seconds. */
  double score;
} leakycl_tune_candidate;

#define LEAKYCL_TUNE_MAX_CANDIDATES 64

typedef struct leakycl_tune_report {
  size_t n;              /* elements per timed call */
  leakycl_variant start; /* the device-type default the search began from */
  leakycl_variant best;  /* the winner, now set on the context */
  size_t best_index;     /* its row in candidates */
  /* The winner's speed-up over the start, re-timed with the two
   * interleaved; a winner that does not hold up there is dropped (1.0). */
  double confirmed_speedup;
  size_t count; /* rows measured (the start is row 0) */
  leakycl_tune_candidate candidates[LEAKYCL_TUNE_MAX_CANDIDATES];
} leakycl_tune_report;

/* Called with one line per measured candidate ("" ends nothing; may be NULL). */
typedef void (*leakycl_progress_fn)(const char *line, void *user);

/* Measures variants of forward, backward and reduce (prelu, per-channel alpha
 * off) on n elements (0: 16 Mi) with `repeats` timed runs each (0: 5), by
 * coordinate descent from the device-type default: strategy, vector width,
 * chunk, work-group size, reduction block, streaming threshold. Sets the
 * winner on the context (origin "tuned") and fills report (may be NULL).
 * Seconds to a minute: each new shape builds a program. Saves nothing. */
LEAKYCL_API leakycl_status leakycl_tune(leakycl_context *ctx, size_t n, unsigned repeats,
                                        leakycl_progress_fn progress, void *user,
                                        leakycl_tune_report *report);

/* The table's path: $LEAKYCL_TUNE_FILE, else $XDG_CACHE_HOME/leakycl/
 * variants.tsv, else $HOME/.cache/leakycl/variants.tsv. Lines are
 * "key<TAB>description", the key naming leakycl's version, the platform, the
 * device and its driver version, so a new driver or release tunes again. */
LEAKYCL_API leakycl_status leakycl_tune_table_path(char *buf, size_t buflen);
/* Writes (or replaces) the device's line, atomically (temp file + rename). */
LEAKYCL_API leakycl_status leakycl_tune_table_save(const leakycl_device_info *device,
                                                   const leakycl_variant *variant, char *err,
                                                   size_t errlen);
/* Reads the device's line: *found is 0 when the table or the line is
 * missing; a line that no longer validates for the device is an error. */
LEAKYCL_API leakycl_status leakycl_tune_table_lookup(const leakycl_device_info *device,
                                                     leakycl_variant *out, int *found, char *err,
                                                     size_t errlen);

/* Builds the programs of every activation for the context's variant and
 * launches each kernel once, so that the first real call pays no build and
 * no first-launch cost (the daemon calls it at start). Programs come from the
 * on-disk program cache when it holds them: $LEAKYCL_CACHE_DIR, else
 * $XDG_CACHE_HOME/leakycl/programs, else $HOME/.cache/leakycl/programs;
 * LEAKYCL_CACHE=off disables the cache. */
LEAKYCL_API leakycl_status leakycl_warm_up(leakycl_context *ctx);
/* Writes the directory of that on-disk program cache to buf, or "" when the
 * cache is off or no directory is named (no $HOME). INVALID_ARGUMENT when
 * buf is NULL or too small, buf then "" (when len > 0). */
LEAKYCL_API leakycl_status leakycl_program_cache_dir(char *buf, size_t len);

/* ---- Offline-compiled programs (FPGAs and other devices without a run-time
 * compiler) ---- */
/* Builds every program that calls on the context's current variant can use
 * (each activation; shared alpha, and per-channel alpha at the vector width
 * and each half of it; uint indices, plus ulong where the device can hold
 * 2^31 floats in one buffer; plain stores, plus streaming stores when the
 * variant's threshold is set) and writes them, keyed by their build options,
 * to one bundle file at `path`, atomically (temp file + rename). The header
 * names leakycl's version, the kernel source hash, the platform, the device,
 * its version and its driver version, and the variant. `progress` (may be
 * NULL) gets a line per program; *programs (may be NULL) the count. */
LEAKYCL_API leakycl_status leakycl_compile_program_bundle(leakycl_context *ctx, const char *path,
                                                          leakycl_progress_fn progress, void *user,
                                                          size_t *programs);
/* Loads a bundle written by leakycl_compile_program_bundle (or `leakycl
 * compile`): from then on every program comes from it (clCreateProgramWithBinary
 * + clBuildProgram), never from source, and the context takes the bundle's
 * variant (leakycl_variant_origin() "bundle"). A call that needs a program
 * the bundle lacks (say, after leakycl_set_variant to another vector width)
 * fails with UNSUPPORTED naming the build options and the bundle: there is
 * no fallback to a source build, which the devices that need bundles cannot
 * do. Refused at load, the context unchanged: IO_ERROR when the file cannot
 * be read (missing, a directory), INVALID_ARGUMENT when it is not a
 * well-formed bundle (empty, truncated, garbled), UNSUPPORTED when it was
 * made for another leakycl version, kernel source, platform, device, device
 * version or driver version (the message names the field and both values).
 * Loading another bundle replaces it. LEAKYCL_PROGRAM_BINARY=FILE makes
 * leakycl_context_create load FILE (a failure then fails the create). */
LEAKYCL_API leakycl_status leakycl_load_program_bundle(leakycl_context *ctx, const char *path);
/* The path of the loaded bundle, or NULL when programs build from source. */
LEAKYCL_API const char *leakycl_program_bundle_path(const leakycl_context *ctx);

/* ---- Operations ---- */
/* Where backward reads the branch from: x (always valid), y = forward(x)
 * (relu, and leaky_relu/prelu with every alpha > 0), or the packed mask a
 * forward wrote (seed 004; every activation and alpha; see below). */
typedef enum leakycl_source {
  LEAKYCL_FROM_X = 0,
  LEAKYCL_FROM_Y = 1,
  LEAKYCL_FROM_MASK = 2
} leakycl_source;

/* ---- Packed masks (seed 004) ----
 * A forward may also write a mask of the branches it took, so that backward
 * needs only dy and the mask: it moves 8n + n/8 bytes instead of 12n (float32),
 * and works where backward from y cannot (alpha <= 0, phased_relu).
 *
 * Layout: bit planes of ceil(n/32) 32-bit words each; bit i of the tensor is
 * bit (i % 32) of word i / 32 (least significant bit first; the words are
 * uint32_t in host order, which every OpenCL device shares with its host for
 * these buffers). Bits past n in the last word are 0.
 *   plane 0  1 where the identity branch is taken: dx[i] = dy[i]. As the
 *            profile's backward sees it: x > 0 (pytorch and ieee), x >= 0
 *            (jax), and for relu under pytorch also NaN (dy passes).
 *   plane 1  phased_relu only, right after plane 0: 1 where x is in the
 *            alpha band t <= x < 0 (dx = alpha*dy).
 * Backward from the mask gives bit for bit what backward from x gives, under
 * every profile, except where x was NaN under ieee (a bit cannot carry NaN:
 * dx then follows the bit, e.g. alpha*dy for leaky_relu). It cannot compute
 * the parameter gradient (that needs x). The mask depends on alpha only
 * through phased_relu's band: backward takes the same params as forward. */
/* uint32_t words of a mask for n elements: ceil(n/32) a plane, two planes
 * for phased_relu; 0 for an unknown activation. The planes are
 * leakycl_mask_words(activation, 32). */
LEAKYCL_API size_t leakycl_mask_words(leakycl_activation activation, size_t n);

/* Parameter-gradient outputs, one value per alpha (alpha_count values; 1 for
 * the default alpha). dalpha is required; the diagnostics may be NULL.
 *   dalpha[c]        = sum over channel c of the activation's d y/d alpha * dy
 *   neg_fraction[c]  = count(x < 0) / N_c
 *   mean_abs_grad[c] = sum over x < 0 of |dy*x| / N_c
 * N_c is the element count of the channel (all elements for a shared
 * alpha); for N_c = 0 dalpha is 0 and both diagnostics are NaN. The sums are
 * deterministic (fixed order: bit-identical on repeat for one device and
 * variant) and compensated: |dalpha - exact| <= 1e-6 * sum |terms|.
 *
 * dbeta (phased_relu only; NULL, the default, computes nothing and costs
 * nothing): beta appears only in phased_relu's branch test x >= t, so its
 * true gradient is zero almost everywhere (torch's beta.grad is None). What
 * a trainer can use instead is the boundary estimate: the jump of y at
 * x = t smoothed over a window of width h = dbeta_window (finite, > 0),
 *   *dbeta = sum over x < 0 with |alpha*x + beta| < h/2 of dy*|alpha|*x/h
 * (alpha*x + beta in float32, as the kernel tests it; alpha the element's
 * channel's). beta is one shared scalar, so *dbeta is one float: the sum
 * over every channel, in a fixed order, with dalpha's bound,
 * |dbeta - exact| <= 1e-6 * sum |terms|, and 0 for an empty tensor. It is
 * computed in dalpha's pass (a kernel build of its own) and leaves dx,
 * dalpha and the diagnostics bit-identical (for the GPU strategy: where the
 * device runs that build at the same work-group size). dbeta with another
 * activation, or a window that is not finite and > 0, is INVALID_ARGUMENT
 * (nothing written). README's "Learnable beta" has the derivation and what
 * alpha <= 0 gives. */
typedef struct leakycl_grads {
  float *dalpha;
  float *neg_fraction;
  float *mean_abs_grad;
  float *dbeta;       /* one float, or NULL (not computed) */
  float dbeta_window; /* h, when dbeta is not NULL */
} leakycl_grads;

/* y = f(x) on host memory, x and y of view-count floats; y may equal x (in
 * place). Blocking. */
LEAKYCL_API leakycl_status leakycl_forward(leakycl_context *ctx, const leakycl_params *params,
                                           leakycl_view view, const float *x, float *y);

/* dx = f'(src) * dy on host memory. src is x, or y when source is
 * LEAKYCL_FROM_Y. dx may equal dy. When grads is not NULL (prelu and
 * phased_relu; source must be x) the parameter gradient and diagnostics are
 * computed in the same pass. Blocking. */
LEAKYCL_API leakycl_status leakycl_backward(leakycl_context *ctx, const leakycl_params *params,
                                            leakycl_view view, leakycl_source source,
                                            const float *src, const float *dy, float *dx,
                                            const leakycl_grads *grads);

/* Only the parameter gradient and diagnostics (no dx). Blocking. */
LEAKYCL_API leakycl_status leakycl_reduce(leakycl_context *ctx, const leakycl_params *params,
                                          leakycl_view view, const float *x, const float *dy,
                                          const leakycl_grads *grads);

/* The same three on device-resident buffers of the context's cl_context
 * (each at least view-count floats; checked). Forward and backward without
 * grads are only enqueued on the context's queue: call leakycl_finish() (or
 * wait on the queue) before reading the result. Calls with grads block until
 * the gradient is on the host. */
LEAKYCL_API leakycl_status leakycl_forward_buffers(leakycl_context *ctx,
                                                   const leakycl_params *params, leakycl_view view,
                                                   cl_mem x, cl_mem y);
LEAKYCL_API leakycl_status leakycl_backward_buffers(leakycl_context *ctx,
                                                    const leakycl_params *params, leakycl_view view,
                                                    leakycl_source source, cl_mem src, cl_mem dy,
                                                    cl_mem dx, const leakycl_grads *grads);
LEAKYCL_API leakycl_status leakycl_reduce_buffers(leakycl_context *ctx,
                                                  const leakycl_params *params, leakycl_view view,
                                                  cl_mem x, cl_mem dy, const leakycl_grads *grads);

/* ---- Storage types: half-precision arrays, float32 arithmetic ---- */
/* How the elements of x, y, dy and dx are stored. Half arrays hold uint16_t
 * bit patterns: IEEE binary16 for FLOAT16, the top 16 bits of a float32 for
 * BFLOAT16. Each element is widened exactly to float32, the float32 formulas
 * apply (bit-identical to the float32 calls on the widened values), and y
 * and dx are rounded to the storage type to nearest, ties to even (NaN stays
 * NaN, -0 stays -0, overflow gives Inf). alpha, beta, dalpha and the
 * diagnostics stay float32; dalpha and the diagnostics equal the float32
 * call's on the widened values, with its bound. */
typedef enum leakycl_dtype {
  LEAKYCL_FLOAT32 = 0,
  LEAKYCL_FLOAT16 = 1,
  LEAKYCL_BFLOAT16 = 2
} leakycl_dtype;

/* "float32", "float16", "bfloat16"; NULL for an unknown value. */
LEAKYCL_API const char *leakycl_dtype_name(leakycl_dtype dtype);
/* Bytes per element: 4, 2, 2; 0 for an unknown value. */
LEAKYCL_API size_t leakycl_dtype_size(leakycl_dtype dtype);

/* leakycl_forward with x and y of view-count elements of `dtype` (y may
 * equal x). An unknown dtype is INVALID_ARGUMENT naming it; FLOAT32 is
 * exactly leakycl_forward. */
LEAKYCL_API leakycl_status leakycl_forward_typed(leakycl_context *ctx, const leakycl_params *params,
                                                 leakycl_view view, leakycl_dtype dtype,
                                                 const void *x, void *y);
/* leakycl_backward with src, dy and dx of `dtype` (dx may equal dy); grads
 * stay float32. FLOAT32 is exactly leakycl_backward. */
LEAKYCL_API leakycl_status leakycl_backward_typed(leakycl_context *ctx,
                                                  const leakycl_params *params, leakycl_view view,
                                                  leakycl_dtype dtype, leakycl_source source,
                                                  const void *src, const void *dy, void *dx,
                                                  const leakycl_grads *grads);
/* The buffer calls with elements of `dtype` (each buffer at least
 * view-count * leakycl_dtype_size(dtype) bytes; checked). FLOAT32 is exactly
 * leakycl_forward_buffers / leakycl_backward_buffers. */
LEAKYCL_API leakycl_status leakycl_forward_buffers_typed(leakycl_context *ctx,
                                                         const leakycl_params *params,
                                                         leakycl_view view, leakycl_dtype dtype,
                                                         cl_mem x, cl_mem y);
LEAKYCL_API leakycl_status leakycl_backward_buffers_typed(
    leakycl_context *ctx, const leakycl_params *params, leakycl_view view, leakycl_dtype dtype,
    leakycl_source source, cl_mem src, cl_mem dy, cl_mem dx, const leakycl_grads *grads);

/* ---- Forward with a mask ---- */
/* leakycl_forward_typed that also writes the packed mask of the branches
 * taken (leakycl_mask_words(activation, n) words; see Packed masks). y may
 * equal x; the mask must not overlap x or y. Backward from it is
 * leakycl_backward_typed with LEAKYCL_FROM_MASK, src = the mask, the same
 * params and view, and grads NULL. */
LEAKYCL_API leakycl_status leakycl_forward_mask(leakycl_context *ctx, const leakycl_params *params,
                                                leakycl_view view, leakycl_dtype dtype,
                                                const void *x, void *y, uint32_t *mask);
/* The same on device buffers (mask: a buffer of at least that many words);
 * only enqueued, as leakycl_forward_buffers. Backward from a mask buffer is
 * leakycl_backward_buffers_typed with LEAKYCL_FROM_MASK. */
LEAKYCL_API leakycl_status leakycl_forward_mask_buffers(leakycl_context *ctx,
                                                        const leakycl_params *params,
                                                        leakycl_view view, leakycl_dtype dtype,
                                                        cl_mem x, cl_mem y, cl_mem mask);

/* ---- Packed jobs: many small calls in one launch ---- */
/* One launch plus clFinish costs tens of microseconds, far more than a small
 * kernel; leakycl_run_jobs runs many jobs (any mix of activations, ops,
 * sizes, alpha layouts and storage types) in one launch per storage type,
 * and one more for the gradients. Jobs of more than
 * LEAKYCL_PACKED_JOB_MAX_ELEMENTS elements are not packed: each runs as its
 * single call would (zero-copy where the device allows), since copying it
 * into a packed buffer would cost more than its own launch; so does a
 * float16 job whose single call runs at a lower vector width than the
 * variant's (per-channel alpha with an inner size that the width does not
 * divide), as OpenCL implementations may give a NaN another payload at
 * another width and packed results are the single calls' bits; and so does
 * a job whose grads ask for dbeta (phased_relu's own reduction program). */
#define LEAKYCL_PACKED_JOB_MAX_ELEMENTS ((size_t)1 << 16)

typedef enum leakycl_op { LEAKYCL_OP_FORWARD = 0, LEAKYCL_OP_BACKWARD = 1 } leakycl_op;

/* One job: the arguments of a leakycl_forward or leakycl_backward call, and
 * its outcome. Forward reads x and writes out (= y), and the packed mask
 * when mask is not NULL (leakycl_forward_mask); source, dy and grads must
 * be FROM_X, anything and NULL. Backward is leakycl_backward(params, view,
 * source, x, dy, out, grads), with x the mask for LEAKYCL_FROM_MASK, and
 * mask NULL. out may equal x or dy (in place). Mask jobs (either way) run
 * as their single calls, never packed. */
typedef struct leakycl_job {
  leakycl_op op;
  leakycl_params params;
  leakycl_view view;
  leakycl_source source;
  /* How x, dy and out are stored (LEAKYCL_FLOAT32, 0, when left zero); they
   * hold view-count elements of it. */
  leakycl_dtype dtype;
  const void *x; /* y when source is LEAKYCL_FROM_Y, the mask for FROM_MASK */
  const void *dy;
  void *out;                  /* y or dx */
  const leakycl_grads *grads; /* optional: backward of prelu and phased_relu */
  uint32_t *mask;             /* optional: forward also writes the packed mask */
  leakycl_status status;      /* out: the job's own result */
  char error[256];            /* out: why, when status is not LEAKYCL_OK ("" else) */
} leakycl_job;

/* Runs jobs[0 .. count) on the context; blocking. Each job is validated
 * exactly as its single call would be (leakycl_forward_typed or
 * leakycl_backward_typed with the job's dtype): an invalid job gets its
 * status and message, is skipped and its outputs are untouched, and the
 * others still run. y and dx are bit-identical to the single calls; dalpha
 * and the diagnostics keep their bound (|error| <= 1e-6 * sum |terms|) and
 * are bit-identical on repeat. Jobs of different storage types, jobs too
 * large to share one device buffer and jobs over
 * LEAKYCL_PACKED_JOB_MAX_ELEMENTS run in launches of their own, so one
 * job's output must not be another job's input. A device failure fails
 * every job of its launch. Returns LEAKYCL_OK when every job
 * succeeded, else the status of the first failed job (whose message
 * leakycl_last_error() then holds). count 0 is OK (jobs may be NULL). */
LEAKYCL_API leakycl_status leakycl_run_jobs(leakycl_context *ctx, leakycl_job *jobs, size_t count);
/* leakycl_run_jobs on a list of pointers to jobs (which may live anywhere:
 * inside a caller's own structures, several callers' jobs together), with
 * the same validation, packing, results and return value. */
LEAKYCL_API leakycl_status leakycl_run_job_list(leakycl_context *ctx, leakycl_job *const *jobs,
                                                size_t count);

#ifdef __cplusplus
}
#endif
#endif /* LEAKYCL_H */
