/* device.h - the context (one opened device, its queue, programs, pooled
 * buffers and error detail), device discovery, LEAKYCL_FAULT and the hooks
 * tests use to reach paths a device would not take by itself. */
#ifndef LEAKYCL_DEVICE_H
#define LEAKYCL_DEVICE_H

#include <pthread.h>
#include <stdbool.h>

#include "core/core.h"
#include "leakycl.h"

/* Kept on the context, defined by the program folder (program/program.h). */
struct lk_program;
struct lk_bundle;

/* ---- devices (device.c) ---- */
/* Enumerates devices with their ids (ids may be NULL). */
leakycl_status lk_enumerate(leakycl_device_info **infos, cl_device_id **ids, size_t *count,
                            char *err, size_t errlen);
leakycl_status lk_device_info_of(cl_device_id id, unsigned platform_index, unsigned device_index,
                                 leakycl_device_info *out, char *err, size_t errlen);

/* ---- test-only fault injection (fault.c, LEAKYCL_FAULT) ---- */
typedef enum lk_fault { LK_FAULT_NONE, LK_FAULT_BUILD, LK_FAULT_ALLOC, LK_FAULT_ENQUEUE } lk_fault;

/* ---- pooled device buffers (pool.c) ---- */
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

/* ---- what tests set and read (test_hooks.c sets them) ---- */
typedef struct lk_test_hooks {
  /* Run the ulong-index kernels on small tensors. */
  bool force_wide_index;
  /* Send every packed segment mapped, however small (batch_device.c). */
  bool force_mapped;
  /* Appended to every program's build options (to make a build fail on
   * purpose). */
  char extra_build_options[64];
  /* Programs loaded from / written to the on-disk cache, built from source
   * and taken from a bundle; cache entries removed as unusable (damaged,
   * refused by the driver, or lacking leakycl's kernels). */
  unsigned cache_hits, cache_stores, source_builds, bundle_builds, cache_drops;
  /* Segments of packed jobs sent staged and mapped (batch_device.c). */
  unsigned staged_segments, mapped_segments;
} lk_test_hooks;

/* ---- the context (context.c) ---- */
struct leakycl_context {
  pthread_mutex_t lock;
  cl_context cl_ctx;
  cl_device_id device;
  cl_command_queue queue;
  /* The pipeline's transfer queues (pipeline.c), made on first use. */
  cl_command_queue upload_queue, download_queue;
  leakycl_device_info info;
  leakycl_variant variant;
  /* leakycl_variant_origin(): "default", "tuned", "env", "bundle" or "set". */
  const char *variant_origin;
  struct lk_program *programs;
  /* The loaded program bundle (leakycl_load_program_bundle), or NULL. */
  struct lk_bundle *bundle;
  lk_pooled pool[LK_POOL_COUNT];
  /* Host memory the packed path stages its transfers in (lk_pool_host). */
  void *host_stage;
  size_t host_stage_bytes;
  /* LEAKYCL_POOL_MIN_BYTES: the smallest pooled buffer created (0: none). */
  size_t pool_min_bytes;
  /* Zero-copy (CL_MEM_USE_HOST_PTR) for host pointers when the device shares
   * host memory; explicit copies otherwise (tests flip it:
   * lk_context_set_zero_copy). */
  bool zero_copy;
  /* LEAKYCL_FAULT, read when the context opens: the first call of that kind
   * fails once. */
  lk_fault fault_pending;
  lk_test_hooks test;
  lk_error error;
};

/* ---- LEAKYCL_FAULT (fault.c) ---- */
/* Reads LEAKYCL_FAULT into the context; an unknown value is an error. */
leakycl_status lk_fault_init(leakycl_context *ctx, char *err, size_t errlen);
/* True (once) when the pending fault is of this kind: the caller then acts
 * as if its OpenCL call had failed (and the message says it was injected). */
bool lk_fault_take(leakycl_context *ctx, lk_fault kind);
/* clCreateBuffer, subject to LEAKYCL_FAULT=alloc. */
cl_mem lk_create_buffer(leakycl_context *ctx, cl_mem_flags flags, size_t bytes, void *host,
                        cl_int *rc);

/* ---- pooled buffers (pool.c) ---- */
/* A pooled buffer of at least `bytes`. */
leakycl_status lk_pool_get(leakycl_context *ctx, int slot, size_t bytes, cl_mem *out);
/* The context's host staging memory, at least `bytes`, 64-byte aligned; its
 * contents are not kept when it grows. Only while the queue holds no
 * command that reads or writes it. */
leakycl_status lk_pool_host(leakycl_context *ctx, size_t bytes, void **out);
/* Releases every pooled buffer and the staging memory (the context is
 * closing). */
void lk_pool_release(leakycl_context *ctx);

/* ---- test hooks (test_hooks.c) ---- */
/* Force explicit copies (false) or allow zero-copy (true). */
void lk_context_set_zero_copy(leakycl_context *ctx, bool zero_copy);
/* Appended to every program's build options ("" to clear); programs built
 * so far are dropped so the next call builds again. */
void lk_context_set_extra_build_options(leakycl_context *ctx, const char *options);
/* Index with ulong whatever the size. */
void lk_context_force_wide_index(leakycl_context *ctx, bool wide);
/* Send packed segments mapped (true) or by size (false). */
void lk_context_force_mapped(leakycl_context *ctx, bool mapped);

#endif /* LEAKYCL_DEVICE_H */
