/* ops.h - what the operations share: calls validated once (call.c), host
 * calls run (ops.c), kernel arguments (kernel_args.c), launches on device
 * buffers (launch.c) and the transfer pipeline (pipeline.c). */
#ifndef LEAKYCL_OPS_H
#define LEAKYCL_OPS_H

#include <stdbool.h>

#include "core/core.h"
#include "leakycl.h"
#include "program/program.h"

/* ---- one call, validated (call.c; batch.c checks each job so) ---- */
typedef enum lk_call_op { LK_CALL_FORWARD, LK_CALL_BACKWARD, LK_CALL_REDUCE } lk_call_op;

typedef struct lk_host_call {
  lk_call_op op;
  const leakycl_params *params;
  leakycl_view view;
  leakycl_source source; /* backward and reduce */
  const void *src;       /* x, y when source is FROM_Y, the mask for FROM_MASK */
  const void *dy;        /* backward and reduce */
  const void *out;       /* y or dx; NULL for reduce */
  const leakycl_grads *grads;
  leakycl_dtype dtype; /* how src, dy and out are stored */
  uint32_t *mask;      /* forward: also writes the packed mask (NULL: no mask) */
} lk_host_call;

/* Resolves the parameters and makes the checks of every call of `op`, host
 * pointers or buffers alike (context locked). On failure r holds nothing. */
leakycl_status lk_check_call(leakycl_context *ctx, lk_call_op op, const leakycl_params *params,
                             leakycl_view view, leakycl_source source, const leakycl_grads *grads,
                             leakycl_dtype dtype, lk_resolved *r);
/* Every check that leakycl_forward, leakycl_backward or leakycl_reduce makes
 * before touching the device, in their order and with their messages (the
 * context is locked; the context's error records the detail). On success r
 * holds the resolved parameters (release with lk_resolved_free); on failure
 * nothing. */
leakycl_status lk_check_host_call(leakycl_context *ctx, const lk_host_call *call, lk_resolved *r);
/* A buffer of this context holding at least r->n elements of r's dtype. */
leakycl_status lk_check_buffer(leakycl_context *ctx, cl_mem m, const char *name,
                               const lk_resolved *r);
/* A buffer of this context holding r's mask (leakycl_mask_words). */
leakycl_status lk_check_mask_buffer(leakycl_context *ctx, cl_mem m, const lk_resolved *r);
/* Bytes of r's packed mask. */
size_t lk_mask_bytes(const lk_resolved *r);

/* ---- host-pointer calls (ops.c) ---- */
/* Checks and runs one host-pointer call (context locked): what
 * leakycl_forward, leakycl_backward and leakycl_reduce do inside the lock. */
leakycl_status lk_run_host_call(leakycl_context *ctx, const lk_host_call *call);

/* ---- chunked, overlapped transfers for discrete devices (pipeline.c) ---- */
/* Whether a host-pointer call takes the pipeline: copies (no zero-copy),
 * shared alpha, no gradient, and at least two chunks of data. */
bool lk_pipeline_applies(const leakycl_context *ctx, const lk_resolved *r, bool has_grads);
/* Forward (which = LK_KERNEL_FORWARD, dy NULL) or backward dx, validated,
 * context locked; returns when out holds the result. */
leakycl_status lk_pipeline_elementwise(leakycl_context *ctx, const lk_resolved *r, int which,
                                       const float *x, const float *dy, float *out);

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
/* Whether ranges of n elements index with ulong: from 2^31 on (the margin
 * keeps rounded-up ranges in uint), or always when a test forces it. */
bool lk_needs_wide_index(const leakycl_context *ctx, size_t n);

/* ---- launches on device buffers (launch.c; context locked, arguments checked) ---- */
/* The vector width of a call: the variant's, lowered for per-channel alpha
 * until it divides inner so that a vector never spans two channels. */
unsigned lk_call_vector_width(const leakycl_context *ctx, const lk_resolved *r);
leakycl_status lk_launch_forward(leakycl_context *ctx, const lk_resolved *r, cl_mem x, cl_mem y);
leakycl_status lk_launch_backward(leakycl_context *ctx, const lk_resolved *r, cl_mem src, cl_mem dy,
                                  cl_mem dx);
/* The packed-mask kernels (mask.cl): forward writing y and the mask, and
 * dx from the mask and dy. */
leakycl_status lk_launch_forward_mask(leakycl_context *ctx, const lk_resolved *r, cl_mem x,
                                      cl_mem y, cl_mem mask);
leakycl_status lk_launch_backward_mask(leakycl_context *ctx, const lk_resolved *r, cl_mem mask,
                                       cl_mem dy, cl_mem dx);
/* dx may be NULL (reduce only). Blocks until grads are on the host;
 * grads->dbeta (phased_relu, checked) builds the LK_DBETA program. */
leakycl_status lk_launch_reduce(leakycl_context *ctx, const lk_resolved *r, cl_mem x, cl_mem dy,
                                cl_mem dx, const leakycl_grads *grads);
/* Floats a channel's finals row holds for grads g: 4 (dalpha, the count as
 * hi and lo, the |dy*x| sum), and a fifth, the channel's sum of dbeta terms,
 * when g asks for dbeta (then only lk_reduce_finish writes them: packed
 * jobs with dbeta run alone). */
size_t lk_finals_width(const leakycl_grads *g);
/* The gradient from a call's finals rows (lk_finals_width(g) floats a
 * channel, as lk_reduce_finish and lk_batch_finish write them): dalpha, the
 * diagnostics as per-channel means in double from the exact counts, and
 * dbeta when asked. finals NULL is an empty tensor's: dalpha 0, NaN
 * diagnostics, dbeta 0. */
void lk_write_grads(const lk_resolved *r, const float *finals, size_t count_per_channel,
                    const leakycl_grads *g);

#endif /* LEAKYCL_OPS_H */
