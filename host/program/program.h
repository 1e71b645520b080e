/* program.h - the kernels' programs: built once per (device, options) from
 * the embedded source, the on-disk cache or a loaded bundle (program.c
 * chooses), their binaries, the cache and bundles. */
#ifndef LEAKYCL_PROGRAM_H
#define LEAKYCL_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "leakycl.h"

/* The kernel sources, embedded by tools/embed.c at build time. */
extern const unsigned char lk_kernel_source[];
extern const size_t lk_kernel_source_len;
extern const unsigned long long lk_kernel_source_hash;

/* ---- programs (program.c) ---- */
/* The kernel families: a program holds one (LK_FAMILY in kernels/common.cl),
 * so that a call builds only the kernels it launches. */
typedef enum lk_family {
  LK_FAMILY_ELEMENTWISE, /* lk_forward, lk_backward (activation.cl) */
  LK_FAMILY_REDUCE,      /* lk_reduce_partials, lk_reduce_finish (reduce.cl) */
  LK_FAMILY_BATCH,       /* lk_batch_tiles, lk_batch_finish (batch.cl) */
  LK_FAMILY_MASK,        /* lk_forward_mask, lk_backward_mask (mask.cl) */
  LK_FAMILY_COUNT
} lk_family;

/* The kernels, numbered so that family f holds 2f and 2f + 1. */
#define LK_KERNEL_FORWARD 0
#define LK_KERNEL_BACKWARD 1
#define LK_KERNEL_PARTIALS 2
#define LK_KERNEL_FINISH 3
#define LK_KERNEL_BATCH_TILES 4   /* packed jobs, one launch */
#define LK_KERNEL_BATCH_FINISH 5  /* their per-channel sums */
#define LK_KERNEL_FORWARD_MASK 6  /* forward that also writes the packed mask */
#define LK_KERNEL_BACKWARD_MASK 7 /* dx from the mask and dy */
#define LK_KERNEL_COUNT 8

/* The kernel's name in the source ("lk_forward", ...). */
const char *lk_kernel_name(int which);

/* What makes a program: its family, and the variant macros. The packed-job
 * family takes no activation, alpha layout or streaming stores (each job
 * carries its own); they are left zero. dbeta (LK_DBETA) is for the
 * reduction family of phased_relu only, and only when a call asks for it
 * (leakycl_grads.dbeta), so the programs without it are unchanged. */
typedef struct lk_program_key {
  lk_family family;
  leakycl_activation activation;
  unsigned vector_width;
  bool per_channel;
  bool wide_index;
  bool streaming; /* LK_NT: streaming stores for the big outputs (float32 only) */
  leakycl_dtype dtype;
  leakycl_conventions conventions; /* LK_CONV */
  bool dbeta;                      /* LK_DBETA: phased_relu's dbeta in the reduction */
} lk_program_key;

typedef struct lk_program {
  char options[256];
  cl_program program;
  /* The family's two kernels; the others' entries stay NULL. */
  cl_kernel kernels[LK_KERNEL_COUNT];
  /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on the device (0: unknown),
   * read once at build time rather than on every launch. */
  size_t max_work_group[LK_KERNEL_COUNT];
  struct lk_program *next;
} lk_program;

/* The program for the key on the context's variant; built on first use and
 * cached on the context. */
leakycl_status lk_program_get(leakycl_context *ctx, const lk_program_key *key, lk_program **out);
/* The build options of that program (what keys it everywhere). */
void lk_program_options(const leakycl_context *ctx, const lk_program_key *key, char *buf,
                        size_t len);
void lk_programs_release(leakycl_context *ctx);

/* ---- program binaries: shared by the cache and bundles (binary.c) ---- */
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

/* ---- offline-compiled program bundles (bundle.c) ---- */
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

/* ---- the on-disk program cache (cache.c; best effort: failures are misses) ---- */
/* (Its directory: lk_program_cache_dir, core/paths.c.) */
/* A program built from the cached binary for these options, or NULL (a
 * damaged entry, or one the driver refuses, is removed). */
cl_program lk_cache_load(leakycl_context *ctx, const char *options);
/* Removes the entry for these options (its program proved unusable). */
void lk_cache_drop(leakycl_context *ctx, const char *options);
/* Saves a program built from source. */
void lk_cache_store(leakycl_context *ctx, const char *options, cl_program program);

#endif /* LEAKYCL_PROGRAM_H */
