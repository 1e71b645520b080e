/* common.cl - what every leakycl kernel shares: the variant macros (checked),
 * the vector type, and the element formulas of the ReLU family, written once
 * for scalars and vectors alike (DESIGN.md's normative semantics table).
 *
 * Variant macros (each with a default and an #error on bad values):
 *   LK_ACT          0 relu, 1 leaky_relu, 2 prelu, 3 phased_relu
 *   LK_VW           floats per load: 1, 2, 4, 8 or 16
 *   LK_STRATEGY     0 CPU (contiguous chunk per work-item), 1 GPU (coalesced)
 *   LK_PER_CHANNEL  0 one shared alpha (kernel argument), 1 alpha per channel
 *   LK_IDX          index type: uint, or ulong for tensors of 2^31+ elements
 *   LK_NT           1: streaming stores for the big outputs (LK_STORE_OUT)
 * Everything else (n, alpha, beta's threshold, C, inner) is a run-time
 * argument, so one build serves every shape. */

/* No contraction into fma: results must not depend on the compiler's mood. */
#pragma OPENCL FP_CONTRACT OFF

#ifndef LK_ACT
#define LK_ACT 0
#endif
#if LK_ACT < 0 || LK_ACT > 3
#error "LK_ACT must be 0 (relu), 1 (leaky_relu), 2 (prelu) or 3 (phased_relu)"
#endif

#ifndef LK_STRATEGY
#define LK_STRATEGY 0
#endif
#if LK_STRATEGY != 0 && LK_STRATEGY != 1
#error "LK_STRATEGY must be 0 (cpu) or 1 (gpu)"
#endif

#ifndef LK_PER_CHANNEL
#define LK_PER_CHANNEL 0
#endif
#if LK_PER_CHANNEL != 0 && LK_PER_CHANNEL != 1
#error "LK_PER_CHANNEL must be 0 or 1"
#endif

#ifndef LK_IDX
#define LK_IDX uint
#endif

#ifndef LK_VW
#define LK_VW 8
#endif
#if LK_VW == 1
typedef float lk_vec;
typedef int lk_mask;
#define LK_LOAD(p) (*(p))
#define LK_STORE(v, p) (*(p) = (v))
#elif LK_VW == 2
typedef float2 lk_vec;
typedef int2 lk_mask;
#define LK_LOAD(p) vload2(0, (p))
#define LK_STORE(v, p) vstore2((v), 0, (p))
#elif LK_VW == 4
typedef float4 lk_vec;
typedef int4 lk_mask;
#define LK_LOAD(p) vload4(0, (p))
#define LK_STORE(v, p) vstore4((v), 0, (p))
#elif LK_VW == 8
typedef float8 lk_vec;
typedef int8 lk_mask;
#define LK_LOAD(p) vload8(0, (p))
#define LK_STORE(v, p) vstore8((v), 0, (p))
#elif LK_VW == 16
typedef float16 lk_vec;
typedef int16 lk_mask;
#define LK_LOAD(p) vload16(0, (p))
#define LK_STORE(v, p) vstore16((v), 0, (p))
#else
#error "LK_VW must be 1, 2, 4, 8 or 16"
#endif

/* LK_STORE_OUT stores a kernel's large output. With LK_NT 1 it is a
 * non-temporal (streaming) store: no read-for-ownership of each cache line,
 * 1.5-1.7x on PoCL for 16-64 Mi floats, but slower when the data would fit in
 * cache, so the host asks for it only above the variant's threshold and only
 * for outputs aligned to the vector. Compilers without the builtin store
 * plainly. */
#ifndef LK_NT
#define LK_NT 0
#endif
#if LK_NT && defined(__has_builtin)
#if __has_builtin(__builtin_nontemporal_store)
#define LK_STORE_OUT(v, p) __builtin_nontemporal_store((v), (__global lk_vec *)(p))
#endif
#endif
#ifndef LK_STORE_OUT
#define LK_STORE_OUT(v, p) LK_STORE(v, p)
#endif

/* The formulas below are macros so that one text serves float and floatN:
 * T is the value type (float or lk_vec) and M the matching mask type (int or
 * lk_mask); select() and the comparisons are component-wise for vectors.
 * Every branch is a select, never a multiply by a mask: relu(-1) is +0, not
 * -0, and NaN in x comes out as NaN. */

/* Each activation's formulas exist under their own names (_RELU, _LEAKY for
 * leaky_relu and prelu, _PHASED) so that the packed-job kernels (batch.cl)
 * can choose one at run time; LK_FORWARD and the rest below pick one by
 * LK_ACT for the other kernels. */

/* y = f(x); a is alpha, t = -beta/alpha (phased_relu only). */
#define LK_FORWARD_RELU(T, M, x, a, t) select((T)0.0f, (x), (M)(((x) > 0.0f) | isnan(x)))
#define LK_FORWARD_LEAKY(T, M, x, a, t) select((a) * (x), (x), (M)((x) > 0.0f))
#define LK_FORWARD_PHASED(T, M, x, a, t)                                       \
  select(select((T)0.0f, (a) * (x), (M)((x) >= (t))), (x),                     \
         (M)(((x) >= 0.0f) | isnan(x)))
#if LK_ACT == 0
#define LK_FORWARD LK_FORWARD_RELU
#elif LK_ACT == 1 || LK_ACT == 2
#define LK_FORWARD LK_FORWARD_LEAKY
#else
#define LK_FORWARD LK_FORWARD_PHASED
#endif

/* f'(x) * dy, before LK_BACKWARD carries NaN in x over to dx. */
#define LK_DERIV_DY_RELU(T, M, x, dy, a, t) select((T)0.0f, (dy), (M)((x) > 0.0f))
#define LK_DERIV_DY_LEAKY(T, M, x, dy, a, t) select((a) * (dy), (dy), (M)((x) > 0.0f))
#define LK_DERIV_DY_PHASED(T, M, x, dy, a, t)                                  \
  select(select((T)0.0f, (a) * (dy), (M)((x) >= (t))), (dy), (M)((x) >= 0.0f))
#if LK_ACT == 0
#define LK_DERIV_DY LK_DERIV_DY_RELU
#elif LK_ACT == 1 || LK_ACT == 2
#define LK_DERIV_DY LK_DERIV_DY_LEAKY
#else
#define LK_DERIV_DY LK_DERIV_DY_PHASED
#endif
/* dx: f'(x) * dy, and NaN in x carried over. */
#define LK_BACKWARD_OF(DERIV, T, M, x, dy, a, t)                               \
  select(DERIV(T, M, x, dy, a, t), (x), (M)isnan(x))
#define LK_BACKWARD(T, M, x, dy, a, t)                                         \
  select(LK_DERIV_DY(T, M, x, dy, a, t), (x), (M)isnan(x))

/* The term of dalpha: d f/d alpha * dy. prelu: x > 0 ? 0 : dy*x (NaN x
 * gives NaN by the arithmetic). phased_relu: dy*x on the band t <= x < 0,
 * and NaN x is let through so that it poisons its channel's sum. relu and
 * leaky_relu have no learnable alpha; the host never asks for them. */
#define LK_ALPHA_TERM_PRELU(T, M, x, dy, t) select((dy) * (x), (T)0.0f, (M)((x) > 0.0f))
#define LK_ALPHA_TERM_PHASED(T, M, x, dy, t)                                   \
  select((T)0.0f, (dy) * (x), (M)((((x) < 0.0f) & ((x) >= (t))) | isnan(x)))
#define LK_ALPHA_TERM_NONE(T, M, x, dy, t) ((T)0.0f)
#if LK_ACT == 2
#define LK_ALPHA_TERM LK_ALPHA_TERM_PRELU
#elif LK_ACT == 3
#define LK_ALPHA_TERM LK_ALPHA_TERM_PHASED
#else
#define LK_ALPHA_TERM LK_ALPHA_TERM_NONE
#endif

/* The diagnostics' terms (seed 002): x < 0 counts, and |dy*x| over x < 0. */
#define LK_NEG_COUNT(T, M, x) select((T)0.0f, (T)1.0f, (M)((x) < 0.0f))
#define LK_NEG_ABS(T, M, x, dy) select((T)0.0f, fabs((dy) * (x)), (M)((x) < 0.0f))

/* Kahan-compensated accumulation of v into (s, c). Once the sum is Inf or
 * NaN the compensation would become NaN (Inf - Inf), so it is dropped there
 * and the sum follows IEEE arithmetic as a plain sum would. */
#define LK_KAHAN_ADD(T, M, s, c, v)                                            \
  do {                                                                         \
    T y_ = (v) - (c);                                                          \
    T t_ = (s) + y_;                                                           \
    (c) = select(((t_) - (s)) - y_, (T)0.0f, (M)(isinf(t_) | isnan(t_)));      \
    (s) = t_;                                                                  \
  } while (0)

/* Channel of flat element i in the [outer, channels, inner] view. */
#define LK_CHANNEL(i, inner, channels) (((i) / (inner)) % (channels))
