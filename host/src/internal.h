/* internal.h - what the library's modules share and nothing public: the
 * context, the program cache, resolved parameters, error reporting. */
#ifndef LEAKYCL_INTERNAL_H
#define LEAKYCL_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include "leakycl.h"

/* The kernel sources, embedded by tools/embed.c at build time. */
extern const unsigned char lk_kernel_source[];
extern const size_t lk_kernel_source_len;
extern const unsigned long long lk_kernel_source_hash;

#define LK_ERROR_MAX 4096

/* ---- errors ---- */
/* Formats a message into buf (NULL-safe), returns status for tail calls. */
leakycl_status lk_fail_buf(char *buf, size_t buflen, leakycl_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- device SPEC (pure: no OpenCL; testable alone) ---- */
typedef enum lk_spec_kind {
  LK_SPEC_AUTO,
  LK_SPEC_TYPE,      /* "cpu", "gpu:1": type and ordinal among that type */
  LK_SPEC_INDEX,     /* "P:D" */
  LK_SPEC_SUBSTRING, /* anything else: device or platform name */
} lk_spec_kind;

typedef struct lk_spec {
  lk_spec_kind kind;
  leakycl_device_type type;
  unsigned ordinal;
  unsigned platform, device;
  char text[256];
} lk_spec;

leakycl_status lk_spec_parse(const char *spec, lk_spec *out, char *err, size_t errlen);
/* Picks the device the spec names among `devices`; NO_DEVICE names the spec
 * and lists the devices seen. */
leakycl_status lk_spec_match(const lk_spec *spec, const leakycl_device_info *devices, size_t count,
                             size_t *index, char *err, size_t errlen);

/* ---- devices ---- */
/* Enumerates devices with their ids (ids may be NULL). */
leakycl_status lk_enumerate(leakycl_device_info **infos, cl_device_id **ids, size_t *count,
                            char *err, size_t errlen);
leakycl_status lk_device_info_of(cl_device_id id, unsigned platform_index, unsigned device_index,
                                 leakycl_device_info *out, char *err, size_t errlen);

/* ---- variants ---- */
/* The default of `strategy` on `device`: the vendor + type row when one
 * matches (the gpu strategy on NVIDIA, AMD and Intel GPUs), else the type's.
 * Returns the level that decided: "vendor" or "default". */
const char *lk_variant_default(const leakycl_device_info *device, leakycl_strategy strategy,
                               leakycl_variant *out);
/* The strategy a device type starts with: cpu for CPUs, gpu for the rest. */
leakycl_strategy lk_strategy_of_type(leakycl_device_type type);
/* Why the vendor level shapes this device's default, or NULL when it does not. */
const char *lk_variant_vendor_reason(const leakycl_device_info *device);
leakycl_status lk_variant_check(const leakycl_variant *v, const leakycl_device_info *device,
                                char *err, size_t errlen);

/* ---- parameters resolved for one call ---- */
typedef struct lk_resolved {
  leakycl_activation activation;
  size_t alpha_count; /* 1 (shared) or C */
  bool per_channel;
  float alpha;               /* shared */
  float thresh;              /* shared: -beta/alpha in float32 */
  float *alpha_c, *thresh_c; /* per channel (malloc'd, alpha_count each) */
  /* The view the kernels see: [1, 1, n] when alpha is shared. */
  size_t n, inner, channels;
  /* How the tensors are stored (lk_resolve leaves float32; the typed calls
   * set it) and the bytes of one element. */
  leakycl_dtype dtype;
  size_t elem_size;
} lk_resolved;

leakycl_status lk_resolve(leakycl_context *ctx, const leakycl_params *params, leakycl_view view,
                          lk_resolved *out);
void lk_resolved_free(lk_resolved *r);

/* ---- one host-pointer call, validated (ops.c; batch.c checks each job so) ---- */
typedef enum lk_call_op { LK_CALL_FORWARD, LK_CALL_BACKWARD, LK_CALL_REDUCE } lk_call_op;

typedef struct lk_host_call {
  lk_call_op op;
  const leakycl_params *params;
  leakycl_view view;
  leakycl_source source; /* backward and reduce */
  const void *src;       /* x, or y when source is FROM_Y */
  const void *dy;        /* backward and reduce */
  const void *out;       /* y or dx; NULL for reduce */
  const leakycl_grads *grads;
  leakycl_dtype dtype; /* how src, dy and out are stored */
} lk_host_call;

/* Every check that leakycl_forward, leakycl_backward or leakycl_reduce makes
 * before touching the device, in their order and with their messages (the
 * context is locked; lk_fail records the detail). On success r holds the
 * resolved parameters (release with lk_resolved_free); on failure nothing. */
leakycl_status lk_check_host_call(leakycl_context *ctx, const lk_host_call *call, lk_resolved *r);
/* Checks and runs one host-pointer call (context locked): what
 * leakycl_forward, leakycl_backward and leakycl_reduce do inside the lock. */
leakycl_status lk_run_host_call(leakycl_context *ctx, const lk_host_call *call);

/* ---- programs: built once per (device, options) ---- */
#define LK_KERNEL_FORWARD 0
#define LK_KERNEL_BACKWARD 1
#define LK_KERNEL_PARTIALS 2
#define LK_KERNEL_FINISH 3
#define LK_KERNEL_BATCH_TILES 4  /* batch.cl: packed jobs, one launch */
#define LK_KERNEL_BATCH_FINISH 5 /* batch.cl: their per-channel sums */
#define LK_KERNEL_COUNT 6

typedef struct lk_program {
  char options[256];
  cl_program program;
  cl_kernel kernels[LK_KERNEL_COUNT];
  /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on the device (0: unknown),
   * read once at build time rather than on every launch. */
  size_t max_work_group[LK_KERNEL_COUNT];
  struct lk_program *next;
} lk_program;

/* The program for the activation, the context's variant, the call's vector
 * width, per-channel-ness, index width, streaming stores for the big
 * outputs (LK_NT; float32 only) and storage type (LK_DTYPE); built on first
 * use and cached on the context. */
leakycl_status lk_program_get(leakycl_context *ctx, leakycl_activation act, unsigned vw,
                              bool per_channel, bool wide_index, bool streaming,
                              leakycl_dtype dtype, lk_program **out);
/* The build options of that program (what keys it everywhere). */
void lk_program_options(const leakycl_context *ctx, leakycl_activation act, unsigned vw,
                        bool per_channel, bool wide_index, bool streaming, leakycl_dtype dtype,
                        char *buf, size_t len);
void lk_programs_release(leakycl_context *ctx);

/* ---- chunked, overlapped transfers for discrete devices (pipeline.c) ---- */
/* Whether a host-pointer call takes the pipeline: copies (no zero-copy),
 * shared alpha, no gradient, and at least two chunks of data. */
bool lk_pipeline_applies(const leakycl_context *ctx, const lk_resolved *r, bool has_grads);
/* Forward (which = LK_KERNEL_FORWARD, dy NULL) or backward dx, validated,
 * context locked; returns when out holds the result. */
leakycl_status lk_pipeline_elementwise(leakycl_context *ctx, const lk_resolved *r, int which,
                                       const float *x, const float *dy, float *out);

/* ---- per-user files (paths.c) ---- */
/* $<override_env>, else $XDG_CACHE_HOME/leakycl/<leaf>, else
 * $HOME/.cache/leakycl/<leaf>; -1 when none is set or it does not fit. */
int lk_user_cache_path(const char *override_env, const char *leaf, char *buf, size_t len);
/* mkdir -p, each new directory private to the user (0700). */
int lk_make_dirs(const char *dir);
/* Writes the parts to a temporary file beside path, syncs it, renames it
 * into place and syncs the directory: readers, and a crash at any point,
 * see the old file or the whole new one, never half of one. */
int lk_replace_file(const char *path, const void *const *parts, const size_t *lens, size_t count);

/* ---- program binaries: shared by the cache and bundles (program_binary.c) ---- */
/* The largest binary read or written (a sanity bound against damaged files). */
#define LK_BINARY_MAX ((size_t)256 << 20)
/* What a binary was built for, one "name value" line each: leakycl's
 * version, the kernel source hash, the options (when not NULL), platform,
 * device, device version, driver version. -1 when it does not fit. */
int lk_binary_identity(const leakycl_device_info *d, const char *options, char *buf, size_t len);
/* The checksum (XXH64) every stored binary carries, checked before the
 * bytes reach a driver: drivers trust them and can take the process down. */
uint64_t lk_binary_checksum(const void *data, size_t len);
/* The binary of a program built for one device (malloc'd), or NULL. */
unsigned char *lk_binary_of(cl_program program, size_t max_len, size_t *len);
/* clCreateProgramWithBinary + clBuildProgram on the context's device. */
cl_int lk_program_from_binary(leakycl_context *ctx, const char *options,
                              const unsigned char *binary, size_t len, cl_program *out);
/* BUILD_FAILED "what: CL_ERROR (code): <build log>", a long log cut to its
 * head and tail with the cut marked, within LK_ERROR_MAX. */
leakycl_status lk_build_failure(leakycl_context *ctx, cl_program program, cl_int rc,
                                const char *what);

/* ---- offline-compiled program bundles (program_bundle.c) ---- */
/* The most programs one bundle holds (bundle_compile.c's set is < 100). */
#define LK_BUNDLE_SET_MAX 512
typedef struct lk_bundle_entry {
  const char *options; /* NUL-terminated, inside the bundle's data */
  const unsigned char *binary;
  size_t len;
} lk_bundle_entry;

typedef struct lk_bundle {
  char path[1024];
  char variant[128];   /* the description it was compiled for */
  unsigned char *data; /* the whole file; entries point into it */
  size_t count;
  lk_bundle_entry *entries;
} lk_bundle;

/* Reads and checks a bundle for `device`: IO_ERROR when it cannot be read,
 * INVALID_ARGUMENT when it is not a well-formed bundle, UNSUPPORTED when it
 * was made for another leakycl, kernel source, platform, device or driver
 * (the message names the first field that differs). */
leakycl_status lk_bundle_read(const char *path, const leakycl_device_info *device, lk_bundle **out,
                              char *err, size_t errlen);
void lk_bundle_free(lk_bundle *b);
/* The program for `options` from the context's bundle: UNSUPPORTED naming
 * the options and the bundle when it has none, BUILD_FAILED when the driver
 * rejects it. `fault` makes it fail as a build would (LEAKYCL_FAULT). */
leakycl_status lk_bundle_build(leakycl_context *ctx, const char *options, bool fault,
                               cl_program *out);
/* Writes a bundle of `count` programs for the context's device and variant,
 * atomically. */
leakycl_status lk_bundle_write(leakycl_context *ctx, const char *path, const char *const *options,
                               unsigned char *const *binaries, const size_t *lens, size_t count);

/* ---- the on-disk program cache (best effort: failures are misses) ---- */
/* The cache directory, or -1 when caching is off or no directory is known. */
int lk_cache_dir(char *buf, size_t len);
/* A program built from the cached binary for these options, or NULL (a
 * damaged entry, or one the driver refuses, is removed). */
cl_program lk_cache_load(leakycl_context *ctx, const char *options);
/* Removes the entry for these options (its program proved unusable). */
void lk_cache_drop(leakycl_context *ctx, const char *options);
/* Saves a program built from source. */
void lk_cache_store(leakycl_context *ctx, const char *options, cl_program program);

/* ---- test-only fault injection (LEAKYCL_FAULT) ---- */
typedef enum lk_fault { LK_FAULT_NONE, LK_FAULT_BUILD, LK_FAULT_ALLOC, LK_FAULT_ENQUEUE } lk_fault;

/* ---- the context ---- */
/* A device buffer the context keeps and grows (host-pointer calls reuse it
 * instead of paying a fresh allocation's page faults every call). */
typedef struct lk_pooled {
  cl_mem mem;
  size_t bytes;
} lk_pooled;

enum {
  LK_POOL_IN,
  LK_POOL_DY,
  LK_POOL_OUT,
  LK_POOL_ALPHA,
  LK_POOL_THRESH,
  LK_POOL_PARTIALS,
  LK_POOL_FINALS,
  /* leakycl_run_jobs (batch.c): the job, tile and channel tables, and the
   * (alpha, threshold) pairs. Its data goes through IN, DY, OUT, PARTIALS
   * and FINALS like any call's. */
  LK_POOL_BATCH_INDEX,
  LK_POOL_BATCH_PARAMS,
  LK_POOL_COUNT
};

struct leakycl_context {
  pthread_mutex_t lock;
  cl_context cl_ctx;
  cl_device_id device;
  cl_command_queue queue;
  /* The pipeline's transfer queues (pipeline.c), made on first use. */
  cl_command_queue upload_queue, download_queue;
  leakycl_device_info info;
  leakycl_variant variant;
  lk_program *programs;
  lk_pooled pool[LK_POOL_COUNT];
  /* LEAKYCL_POOL_MIN_BYTES: the smallest pooled buffer created (0: none). */
  size_t pool_min_bytes;
  /* Zero-copy (CL_MEM_USE_HOST_PTR) for host pointers when the device shares
   * host memory; explicit copies otherwise. Tests flip it to cover both. */
  bool zero_copy;
  /* LEAKYCL_FAULT, read when the context opens: the first call of that kind
   * fails once; fault_injected marks the failure's message. */
  lk_fault fault_pending;
  bool fault_injected;
  /* Tests set it to run the ulong-index kernels on small tensors. */
  bool force_wide_index;
  /* Tests append options here to make a build fail on purpose. */
  char extra_build_options[64];
  /* Programs loaded from / written to the on-disk cache, built from source
   * and taken from a bundle (tests read them). */
  unsigned cache_hits, cache_stores, source_builds, bundle_builds;
  /* The loaded program bundle (leakycl_load_program_bundle), or NULL. */
  lk_bundle *bundle;
  /* leakycl_variant_origin(): "default", "tuned", "env", "bundle" or "set". */
  const char *variant_origin;
  char error[LK_ERROR_MAX];
};

/* Records the detail of a failure on the context and returns status. */
leakycl_status lk_fail(leakycl_context *ctx, leakycl_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for a failed OpenCL call: "what: CL_ERROR_NAME (code)". */
leakycl_status lk_fail_cl(leakycl_context *ctx, cl_int code, const char *what);

/* Reads LEAKYCL_FAULT into the context; an unknown value is an error. */
leakycl_status lk_fault_init(leakycl_context *ctx, char *err, size_t errlen);
/* True (once) when the pending fault is of this kind: the caller then acts
 * as if its OpenCL call had failed. */
bool lk_fault_take(leakycl_context *ctx, lk_fault kind);
/* clCreateBuffer, subject to LEAKYCL_FAULT=alloc. */
cl_mem lk_create_buffer(leakycl_context *ctx, cl_mem_flags flags, size_t bytes, void *host,
                        cl_int *rc);

/* A pooled buffer of at least `bytes`. */
leakycl_status lk_pool_get(leakycl_context *ctx, int slot, size_t bytes, cl_mem *out);

/* ---- kernel arguments and 1-D launches (kernel_args.c) ---- */
typedef struct lk_args {
  cl_kernel kernel;
  cl_uint next; /* the next argument's index */
  cl_int rc;    /* the first clSetKernelArg failure */
} lk_args;
void lk_arg(lk_args *a, size_t size, const void *value);
/* An index argument: ulong when the program was built wide, else uint. */
void lk_arg_idx(lk_args *a, bool wide, size_t v);
void lk_arg_mem(lk_args *a, cl_mem m);
void lk_arg_float(lk_args *a, float f);
void lk_arg_uint(lk_args *a, cl_uint u);
/* Enqueues the 1-D launch of a->kernel on the context's queue (subject to
 * LEAKYCL_FAULT=enqueue); an argument or enqueue failure names the kernel. */
leakycl_status lk_enqueue_args(leakycl_context *ctx, const lk_args *a, size_t global, size_t local,
                               const char *kernel_name);
/* v rounded up to a multiple of m. */
size_t lk_round_up(size_t v, size_t m);
/* The work-group size for kernel `which` of prog: the variant's, halved
 * while over that kernel's own limit on the device. */
size_t lk_kernel_wg(const leakycl_context *ctx, const lk_program *prog, int which);

/* ---- launches on device buffers (context locked, arguments checked) ---- */
leakycl_status lk_launch_forward(leakycl_context *ctx, const lk_resolved *r, cl_mem x, cl_mem y);
leakycl_status lk_launch_backward(leakycl_context *ctx, const lk_resolved *r, cl_mem src, cl_mem dy,
                                  cl_mem dx);
/* dx may be NULL (reduce only). Blocks until grads are on the host. */
leakycl_status lk_launch_reduce(leakycl_context *ctx, const lk_resolved *r, cl_mem x, cl_mem dy,
                                cl_mem dx, const leakycl_grads *grads);

/* Test hook: force explicit copies (false) or allow zero-copy (true). */
void lk_context_set_zero_copy(leakycl_context *ctx, bool zero_copy);
/* Test hook: appended to every program's build options ("" to clear);
 * programs built so far are dropped so the next call builds again. */
void lk_context_set_extra_build_options(leakycl_context *ctx, const char *options);
/* Test hook: index with ulong whatever the size. */
void lk_context_force_wide_index(leakycl_context *ctx, bool wide);

#endif /* LEAKYCL_INTERNAL_H */
