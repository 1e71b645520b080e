/* common.cl - what every leakycl kernel shares: the variant macros (checked),
 * the vector type, and the element formulas of the ReLU family, written once
 * for scalars and vectors alike (the README's semantics table).
 *
 * Variant macros (each with a default and an #error on bad values):
 *   LK_ACT          0 relu, 1 leaky_relu, 2 prelu, 3 phased_relu
 *   LK_VW           floats per load: 1, 2, 4, 8 or 16
 *   LK_STRATEGY     0 CPU (contiguous chunk per work-item), 1 GPU (coalesced)
 *   LK_PER_CHANNEL  0 one shared alpha (kernel argument), 1 alpha per channel
 *   LK_IDX          index type: uint, or ulong for tensors of 2^31+ elements
 *   LK_NT           1: streaming stores for the big outputs (LK_STORE_OUT)
 *   LK_DTYPE        how tensors are stored: 0 float32, 1 float16, 2 bfloat16
 *                   (computing in float32 always; see LK_LOAD_T below)
 *   LK_CONV         the conventions profile: 0 pytorch, 1 ieee, 2 jax
 *   LK_FAMILY       the kernels a program holds: 0 element-wise (lk_forward,
 *                   lk_backward; activation.cl), 1 the reduction
 *                   (lk_reduce_partials, lk_reduce_finish; reduce.cl), 2 packed
 *                   jobs (lk_batch_tiles, lk_batch_finish; batch.cl), 3 the
 *                   packed masks (lk_forward_mask, lk_backward_mask; mask.cl)
 *   LK_DBETA        1: the reduction also sums phased_relu's dbeta boundary
 *                   estimate (LK_FAMILY 1 and LK_ACT 3 only; 0 elsewhere, so
 *                   the programs without it are what they were)
 * Everything else (n, alpha, beta's threshold, C, inner) is a run-time
 * argument, so one build serves every shape. */

/* No contraction into fma: results must not depend on the compiler's mood. */
#pragma OPENCL FP_CONTRACT OFF

#ifndef LK_FAMILY
#define LK_FAMILY 0
#endif
#if LK_FAMILY < 0 || LK_FAMILY > 3
#error "LK_FAMILY must be 0 (element-wise), 1 (reduction), 2 (packed jobs) or 3 (masks)"
#endif

#ifndef LK_ACT
#define LK_ACT 0
#endif
#if LK_ACT < 0 || LK_ACT > 3
#error "LK_ACT must be 0 (relu), 1 (leaky_relu), 2 (prelu) or 3 (phased_relu)"
#endif

#ifndef LK_DBETA
#define LK_DBETA 0
#endif
#if LK_DBETA != 0 && LK_DBETA != 1
#error "LK_DBETA must be 0 or 1"
#endif
#if LK_DBETA && (LK_FAMILY != 1 || LK_ACT != 3)
#error "LK_DBETA applies to phased_relu's reduction only (LK_FAMILY 1, LK_ACT 3)"
#endif
/* LK_IF_DBETA(...) is its arguments in the programs with LK_DBETA 1 and
 * nothing in the others: the dbeta accumulators, parameters and kernel
 * arguments ride along with dalpha's only where they are asked for. */
#if LK_DBETA
#define LK_IF_DBETA(...) __VA_ARGS__
#else
#define LK_IF_DBETA(...)
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

/* Tensor storage (LK_DTYPE). LK_LOAD and LK_STORE above move floats (private
 * arrays, float32 tensors); the tensors x, dy, y and dx go through
 * lk_elem_t and these, which widen to float32 on load and round to the
 * storage type, to nearest even, on store:
 *   LK_LOAD_T(p) / LK_STORE_T(v, p)    an lk_vec of LK_VW elements
 *   LK_LOAD_T1(p) / LK_STORE_T1(v, p)  one float
 * float16 uses the core OpenCL 1.2 half builtins (no cl_khr_fp16: half is
 * only a storage type there). bfloat16 is the top half of a float32: widening
 * is a shift; narrowing rounds in integer arithmetic (lk_bf16_of). */
#ifndef LK_DTYPE
#define LK_DTYPE 0
#endif
#if LK_DTYPE == 0
typedef float lk_elem_t;
#define LK_LOAD_T(p) LK_LOAD(p)
#define LK_STORE_T(v, p) LK_STORE(v, p)
#define LK_LOAD_T1(p) (*(p))
#define LK_STORE_T1(v, p) (*(p) = (v))
#elif LK_DTYPE == 1
typedef half lk_elem_t;
#if LK_VW == 1
#define LK_LOAD_T(p) vload_half(0, (p))
#define LK_STORE_T(v, p) vstore_half_rte((v), 0, (p))
#else
#define LK_CAT3_(a, b, c) a##b##c
#define LK_HALF_FN_(pre, n, post) LK_CAT3_(pre, n, post)
#define LK_LOAD_T(p) LK_HALF_FN_(vload_half, LK_VW, )(0, (p))
#define LK_STORE_T(v, p) LK_HALF_FN_(vstore_half, LK_VW, _rte)((v), 0, (p))
#endif
#define LK_LOAD_T1(p) vload_half(0, (p))
#define LK_STORE_T1(v, p) vstore_half_rte((v), 0, (p))
#elif LK_DTYPE == 2
typedef ushort lk_elem_t;
#if LK_VW == 1
typedef uint lk_bits;
typedef ushort lk_bits16;
#define LK_LOAD_BITS(p) (*(p))
#define LK_STORE_BITS(v, p) (*(p) = (v))
#define LK_AS_FLOATS(u) as_float(u)
#define LK_AS_BITS(f) as_uint(f)
#define LK_TO_BITS(b) convert_uint(b)
#define LK_TO_BITS16(b) convert_ushort(b)
#else
#define LK_CAT2_(a, b) a##b
#define LK_VTYPE_(t, n) LK_CAT2_(t, n)
typedef LK_VTYPE_(uint, LK_VW) lk_bits;
typedef LK_VTYPE_(ushort, LK_VW) lk_bits16;
#define LK_LOAD_BITS(p) LK_VTYPE_(vload, LK_VW)(0, (p))
#define LK_STORE_BITS(v, p) LK_VTYPE_(vstore, LK_VW)((v), 0, (p))
#define LK_AS_FLOATS(u) LK_VTYPE_(as_float, LK_VW)(u)
#define LK_AS_BITS(f) LK_VTYPE_(as_uint, LK_VW)(f)
#define LK_TO_BITS(b) LK_VTYPE_(convert_uint, LK_VW)(b)
#define LK_TO_BITS16(b) LK_VTYPE_(convert_ushort, LK_VW)(b)
#endif
/* Round to nearest even on the 16 dropped bits: add 0x7FFF plus the kept
 * part's lowest bit, then truncate (a carry into the exponent is the right
 * rounding up, up to Inf). NaN is kept as a quiet NaN of the same sign and
 * top payload (bit 0x0040 set), never rounded into Inf. No overflow in 32
 * bits: the largest non-NaN pattern is 0xFF800000. */
#define LK_BF16_OF(B, AS_BITS, TO16, f)                                        \
  TO16(select((AS_BITS(f) + (B)0x7FFFu + ((AS_BITS(f) >> 16) & (B)1u)) >> 16,  \
              (AS_BITS(f) >> 16) | (B)0x0040u, isnan(f)))
ushort lk_bf16_of(float f) { return LK_BF16_OF(uint, as_uint, convert_ushort, f); }
#if LK_VW > 1
lk_bits16 lk_bf16_of_vec(lk_vec f) { return LK_BF16_OF(lk_bits, LK_AS_BITS, LK_TO_BITS16, f); }
#else
#define lk_bf16_of_vec lk_bf16_of
#endif
#define LK_LOAD_T(p) LK_AS_FLOATS(LK_TO_BITS(LK_LOAD_BITS(p)) << 16)
#define LK_STORE_T(v, p) LK_STORE_BITS(lk_bf16_of_vec(v), (p))
#define LK_LOAD_T1(p) as_float(convert_uint(*(p)) << 16)
#define LK_STORE_T1(v, p) (*(p) = lk_bf16_of(v))
#else
#error "LK_DTYPE must be 0 (float32), 1 (float16) or 2 (bfloat16)"
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
/* Streaming stores exist for float32 only; the host never asks for them
 * with another storage type. */
#if LK_NT && LK_DTYPE == 0 && defined(__has_builtin)
#if __has_builtin(__builtin_nontemporal_store)
#define LK_STORE_OUT(v, p) __builtin_nontemporal_store((v), (__global lk_vec *)(p))
#endif
#endif
#ifndef LK_STORE_OUT
#define LK_STORE_OUT(v, p) LK_STORE_T(v, p)
#endif

/* The formulas below are macros so that one text serves float and floatN:
 * T is the value type (float or lk_vec) and M the matching mask type (int or
 * lk_mask); select() and the comparisons are component-wise for vectors.
 * Branches are selects, never a multiply by a mask.
 *
 * LK_CONV, the conventions profile (leakycl_conventions), decides the
 * corners: the sign of zero, NaN in x, Inf times a zero gradient.
 *   0 pytorch  what torch autograd gives for nn.ReLU, nn.LeakyReLU,
 *              nn.PReLU and seed 003's PhasedReLU module, bit for bit in
 *              float32: the same operations in the same order (torch's
 *              where() backward adds +0 fills, so some -0 become +0 and
 *              0 * Inf becomes NaN)
 *   1 ieee     NaN in x gives NaN out, relu(-0) = +0, no fills
 *   2 jax      the identity branch at x >= 0, as jax.nn.leaky_relu and its
 *              autodiff have it; jax.nn.relu's derivative (0 at 0 and NaN)
 * Each activation's formulas exist under their own names (_RELU, _LEAKY for
 * leaky_relu and prelu, _PHASED) so that the packed-job kernels (batch.cl)
 * can choose one at run time; LK_FORWARD and the rest below pick one by
 * LK_ACT for the other kernels. a is alpha, t = -beta/alpha (phased_relu
 * only). */
#ifndef LK_CONV
#define LK_CONV 0
#endif
#if LK_CONV < 0 || LK_CONV > 2
#error "LK_CONV must be 0 (pytorch), 1 (ieee) or 2 (jax)"
#endif

/* Where the band of phased_relu's alpha branch is: t <= x < 0. */
#define LK_IN_BAND(x, t) (((x) < 0.0f) & ((x) >= (t)))

#if LK_CONV == 0
/* torch.relu is clamp_min(x, 0) (-0 and NaN pass) and its backward
 * threshold_backward(dy, y, 0): y <= 0 ? 0 : dy. leaky_relu and prelu:
 * x > 0 ? x : a*x, x > 0 ? dy : a*dy, dalpha term x > 0 ? 0 : x*dy.
 * PhasedReLU: where(x >= 0, x, where(x >= t, a*x, 0)), differentiated
 * through both where()s: dx = where(x >= 0, dy, 0) + where(band, dy, 0)*a,
 * dalpha term where(band, dy, 0)*x. */
/* The redundant signbit() keeps PoCL's LLVM from folding x < 0 ? 0 : x
 * into a max(), which loses -0 (seen with float16 stores on the GPU
 * strategy). */
#define LK_FORWARD_RELU(T, M, x, a, t)                                         \
  select((x), (T)0.0f, (M)(((x) < 0.0f) & signbit(x)))
#define LK_FORWARD_LEAKY(T, M, x, a, t) select((a) * (x), (x), (M)((x) > 0.0f))
#define LK_DX_RELU(T, M, x, dy, a, t) select((T)0.0f, (dy), (M)(((x) > 0.0f) | isnan(x)))
#define LK_DX_LEAKY(T, M, x, dy, a, t) select((a) * (dy), (dy), (M)((x) > 0.0f))
#define LK_ALPHA_TERM_PRELU(T, M, x, dy, t) select((x) * (dy), (T)0.0f, (M)((x) > 0.0f))
#elif LK_CONV == 1
/* NaN in x is carried to y and dx, and poisons dalpha. */
#define LK_FORWARD_RELU(T, M, x, a, t) select((T)0.0f, (x), (M)(((x) > 0.0f) | isnan(x)))
#define LK_FORWARD_LEAKY(T, M, x, a, t) select((a) * (x), (x), (M)((x) > 0.0f))
#define LK_DX_RELU(T, M, x, dy, a, t)                                          \
  select(select((T)0.0f, (dy), (M)((x) > 0.0f)), (x), (M)isnan(x))
#define LK_DX_LEAKY(T, M, x, dy, a, t)                                         \
  select(select((a) * (dy), (dy), (M)((x) > 0.0f)), (x), (M)isnan(x))
#define LK_ALPHA_TERM_PRELU(T, M, x, dy, t) select((dy) * (x), (T)0.0f, (M)((x) > 0.0f))
#else
/* jax.nn.relu: max(x, 0), derivative x > 0 ? dy : 0. jax.nn.leaky_relu
 * (and flax's PReLU): where(x >= 0, x, a*x), whose transpose gives
 * where(x >= 0, dy, 0) + a*where(x >= 0, 0, dy), and the slope's term
 * where(x >= 0, 0, dy)*x. */
#define LK_FORWARD_RELU(T, M, x, a, t) select((T)0.0f, (x), (M)(((x) > 0.0f) | isnan(x)))
#define LK_FORWARD_LEAKY(T, M, x, a, t) select((a) * (x), (x), (M)((x) >= 0.0f))
#define LK_DX_RELU(T, M, x, dy, a, t) select((T)0.0f, (dy), (M)((x) > 0.0f))
#define LK_DX_LEAKY(T, M, x, dy, a, t)                                         \
  (select((T)0.0f, (dy), (M)((x) >= 0.0f)) +                                   \
   (a) * select((T)0.0f, (dy), (M)(((x) < 0.0f) | isnan(x))))
#define LK_ALPHA_TERM_PRELU(T, M, x, dy, t)                                    \
  (select((T)0.0f, (dy), (M)(((x) < 0.0f) | isnan(x))) * (x))
#endif

#if LK_CONV == 1
#define LK_FORWARD_PHASED(T, M, x, a, t)                                       \
  select(select((T)0.0f, (a) * (x), (M)((x) >= (t))), (x),                     \
         (M)(((x) >= 0.0f) | isnan(x)))
#define LK_DX_PHASED(T, M, x, dy, a, t)                                        \
  select(select(select((T)0.0f, (a) * (dy), (M)((x) >= (t))), (dy),            \
                (M)((x) >= 0.0f)),                                             \
         (x), (M)isnan(x))
#define LK_ALPHA_TERM_PHASED(T, M, x, dy, t)                                   \
  select((T)0.0f, (dy) * (x), (M)(LK_IN_BAND(x, t) | isnan(x)))
#else
/* The seed's module, through torch's or jax's where(): NaN takes the zero
 * branch. */
#define LK_FORWARD_PHASED(T, M, x, a, t)                                       \
  select(select((T)0.0f, (a) * (x), (M)((x) >= (t))), (x), (M)((x) >= 0.0f))
#define LK_DX_PHASED(T, M, x, dy, a, t)                                        \
  (select((T)0.0f, (dy), (M)((x) >= 0.0f)) +                                   \
   select((T)0.0f, (dy), (M)LK_IN_BAND(x, t)) * (a))
#define LK_ALPHA_TERM_PHASED(T, M, x, dy, t)                                   \
  (select((T)0.0f, (dy), (M)LK_IN_BAND(x, t)) * (x))
#endif

/* The term of phased_relu's dbeta boundary estimate (LK_DBETA) before the
 * host scales a channel's sum by |alpha|/h: dy*x where x < 0 and
 * |alpha*x + beta| < h/2, tested as |alpha*x + beta| * 2 < h (the doubling
 * is exact, h/2 would round; alpha*x + beta is rounded as written, no fma).
 * The ieee profile lets NaN in x poison it as it does dalpha. */
#define LK_IN_WINDOW(x, a, beta, h)                                            \
  (((x) < 0.0f) & (fabs((a) * (x) + (beta)) * 2.0f < (h)))
#if LK_CONV == 1
#define LK_BETA_TERM(T, M, x, dy, a, beta, h)                                  \
  select((T)0.0f, (dy) * (x), (M)(LK_IN_WINDOW(x, a, beta, h) | isnan(x)))
#else
#define LK_BETA_TERM(T, M, x, dy, a, beta, h)                                  \
  select((T)0.0f, (dy) * (x), (M)LK_IN_WINDOW(x, a, beta, h))
#endif

/* y = f(x) and dx = f'(x) * dy of the activation LK_ACT. */
#if LK_ACT == 0
#define LK_FORWARD LK_FORWARD_RELU
#define LK_BACKWARD LK_DX_RELU
#elif LK_ACT == 1 || LK_ACT == 2
#define LK_FORWARD LK_FORWARD_LEAKY
#define LK_BACKWARD LK_DX_LEAKY
#else
#define LK_FORWARD LK_FORWARD_PHASED
#define LK_BACKWARD LK_DX_PHASED
#endif

/* Whether x takes the identity branch (dx = dy) as each profile's backward
 * decides it: plane 0 of the packed mask (mask.cl). phased_relu's band is
 * LK_IN_BAND. */
#if LK_CONV == 0
#define LK_ID_RELU(x) (((x) > 0.0f) | isnan(x))
#else
#define LK_ID_RELU(x) ((x) > 0.0f)
#endif
#if LK_CONV == 2
#define LK_ID_LEAKY(x) ((x) >= 0.0f)
#else
#define LK_ID_LEAKY(x) ((x) > 0.0f)
#endif
#define LK_ID_PHASED(x) ((x) >= 0.0f)
#if LK_ACT == 0
#define LK_ID LK_ID_RELU
#elif LK_ACT == 1 || LK_ACT == 2
#define LK_ID LK_ID_LEAKY
#else
#define LK_ID LK_ID_PHASED
#endif

/* The term of dalpha: d f/d alpha * dy, for prelu and phased_relu (relu
 * and leaky_relu have no learnable alpha; the host never asks for them). */
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

/* ---- the parameter-gradient reduction: one body for lk_reduce_partials
 * (reduce.cl) and the packed jobs' reduction tiles (batch.cl) ---- */
#if LK_FAMILY == 1 || LK_FAMILY == 2

/* CPU strategy: the terms of LK_GROUP consecutive vectors are summed plainly
 * (|error| <= (LK_GROUP-1) u of their sum |terms| per lane: 4.2e-7 for 8),
 * and each group's sum then goes into the Kahan accumulator, so the
 * compensation costs once per group rather than once per vector (~1.3x on
 * PoCL). Runs shorter than a group take the per-vector Kahan path. */
#define LK_GROUP 8

/* Floats a block writes to partials, and a channel to finals: dalpha's
 * three and four, and dbeta's one more with LK_DBETA. */
#define LK_PARTS (3 + LK_DBETA)
#define LK_FINALS (4 + LK_DBETA)

/* Element index of the j-th element (0 <= j < N_c) of channel c. */
#define LK_CHANNEL_ELEMENT(j, c, inner, channels)                              \
  (((j) / (inner) * (channels) + (c)) * (inner) + (j) % (inner))

/* Adds a value known to be exact as (s, c) pairs: value = s - c. */
#define LK_PAIR_COMBINE(sa, ca, sb, cb)                                        \
  do {                                                                         \
    float s_ = (sa) + (sb);                                                    \
    float bp_ = s_ - (sa);                                                     \
    float e_ = ((sa) - (s_ - bp_)) + ((sb) - bp_);                             \
    float c_ = ((ca) + (cb)) - e_;                                             \
    (ca) = (isinf(s_) || isnan(s_)) ? 0.0f : c_;                               \
    (sa) = s_;                                                                 \
  } while (0)

#if LK_STRATEGY == 0
/* Folds a work-item's vector accumulators, lane by lane in lane order, into
 * one compensated scalar each, and writes the block's LK_PARTS partials. */
void lk_fold_lanes(lk_vec sum_s, lk_vec sum_c, lk_vec cnt, lk_vec abs_s, lk_vec abs_c,
                   LK_IF_DBETA(lk_vec beta_s, lk_vec beta_c, ) __global float *part) {
  float lanes[5 + 2 * LK_DBETA][LK_VW];
  LK_STORE(sum_s, lanes[0]);
  LK_STORE(sum_c, lanes[1]);
  LK_STORE(cnt, lanes[2]);
  LK_STORE(abs_s, lanes[3]);
  LK_STORE(abs_c, lanes[4]);
  LK_IF_DBETA(LK_STORE(beta_s, lanes[5]); LK_STORE(beta_c, lanes[6]);)
  float ss = 0.0f, sc = 0.0f, n_neg = 0.0f, as = 0.0f, ac = 0.0f;
  LK_IF_DBETA(float bs = 0.0f, bc = 0.0f;)
  for (int l = 0; l < LK_VW; l++) {
    LK_PAIR_COMBINE(ss, sc, lanes[0][l], lanes[1][l]);
    n_neg += lanes[2][l];
    LK_PAIR_COMBINE(as, ac, lanes[3][l], lanes[4][l]);
    LK_IF_DBETA(LK_PAIR_COMBINE(bs, bc, lanes[5][l], lanes[6][l]);)
  }
  part[0] = ss - sc;
  part[1] = n_neg;
  part[2] = as - ac;
  LK_IF_DBETA(part[3] = bs - bc;)
}
#else
/* Combines the work-group's (sum, error) pairs and counts by a tree in
 * local memory (5 floats a work-item, 7 with LK_DBETA; the work-group size
 * is a power of two, which the host checks); work-item 0 writes the block's
 * partials. Every work-item of the group must call it (barriers). */
void lk_tree_partials(float ss, float sc, float n_neg, float as, float ac,
                      LK_IF_DBETA(float bs, float bc, ) __local float *scratch,
                      __global float *part) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  __local float *l_ss = scratch, *l_sc = scratch + wg, *l_n = scratch + 2 * wg;
  __local float *l_as = scratch + 3 * wg, *l_ac = scratch + 4 * wg;
  LK_IF_DBETA(__local float *l_bs = scratch + 5 * wg, *l_bc = scratch + 6 * wg;)
  l_ss[lid] = ss;
  l_sc[lid] = sc;
  l_n[lid] = n_neg;
  l_as[lid] = as;
  l_ac[lid] = ac;
  LK_IF_DBETA(l_bs[lid] = bs; l_bc[lid] = bc;)
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = wg / 2; stride > 0; stride /= 2) {
    if (lid < stride) {
      LK_PAIR_COMBINE(l_ss[lid], l_sc[lid], l_ss[lid + stride], l_sc[lid + stride]);
      l_n[lid] += l_n[lid + stride];
      LK_PAIR_COMBINE(l_as[lid], l_ac[lid], l_as[lid + stride], l_ac[lid + stride]);
      LK_IF_DBETA(LK_PAIR_COMBINE(l_bs[lid], l_bc[lid], l_bs[lid + stride], l_bc[lid + stride]);)
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    part[0] = l_ss[0] - l_sc[0];
    part[1] = l_n[0];
    part[2] = l_as[0] - l_ac[0];
    LK_IF_DBETA(part[3] = l_bs[0] - l_bc[0];)
  }
}
#endif

/* dx and the dalpha term of one reduction step of type T (dxv_ and term_,
 * declared by the caller). prelu and phased_relu are the activations with
 * a parameter gradient. */
#define LK_REDUCE_TERMS(T, M, phased, xv, dyv, a, t)                     \
  do {                                                                         \
    if (phased) {                                                              \
      dxv_ = LK_DX_PHASED(T, M, xv, dyv, a, t);                                \
      term_ = LK_ALPHA_TERM_PHASED(T, M, xv, dyv, t);                          \
    } else {                                                                   \
      dxv_ = LK_DX_LEAKY(T, M, xv, dyv, a, t);                                 \
      term_ = LK_ALPHA_TERM_PRELU(T, M, xv, dyv, t);                           \
    }                                                                          \
  } while (0)

/* One reduction step of type T: dx, and the three sums of reduce.cl (and
 * with LK_DBETA the dbeta terms, from lk_reduce_block's beta and window). */
#define LK_REDUCE_STEP(T, M, phased, xv, dyv, a, t, dx_store)            \
  do {                                                                         \
    T dxv_, term_;                                                             \
    LK_REDUCE_TERMS(T, M, phased, xv, dyv, a, t);                        \
    dx_store;                                                                  \
    LK_KAHAN_ADD(T, M, sum_s, sum_c, term_);                                   \
    cnt += LK_NEG_COUNT(T, M, xv);                                             \
    LK_KAHAN_ADD(T, M, abs_s, abs_c, LK_NEG_ABS(T, M, xv, dyv));               \
    LK_IF_DBETA(LK_KAHAN_ADD(T, M, beta_s, beta_c,                             \
                             LK_BETA_TERM(T, M, xv, dyv, a, beta, window));)   \
  } while (0)

#if LK_VW > 1
/* M(l, s) for each lane l of an lk_vec and its component name s: OpenCL C
 * has no run-time lane index, so a partial vector is assembled and taken
 * apart one named component at a time.
 *
 * Why not a zero-padded private array (float xb[LK_VW], filled element by
 * element, vloadN'd, then reused for dx), as reduce.cl once did: PoCL 3.1's
 * default work-group method (loopvec) compiles that wrong in this kernel at
 * LK_VW 2 and 4. Its kernel-compile step (GVN; remark "load of type
 * <2 x float> eliminated") takes the vector load of x from the array for
 * undefined, as if the fill loop's stores did not reach it: the whole
 * vload2, or the first <2 x float> half of vload4. The tail's first lanes
 * are then garbage: wrong dx, lost dalpha terms and counts (dalpha -24 for
 * -30, or NaN). The program PoCL hands to that step is right, and so are
 * the 'loops' and 'repl' methods, -cl-opt-disable, PoCL 5, rusticl,
 * Oclgrind and NVIDIA. (A separate dx array hid it in one reproducer: no
 * proof of a fix.) Vector registers have no such pitfall, and each lane
 * holds the value the padded array held, so the sums keep reduce.cl's
 * bits. */
#define LK_LANES_2(M) M(0, s0) M(1, s1)
#define LK_LANES_4(M) LK_LANES_2(M) M(2, s2) M(3, s3)
#define LK_LANES_8(M) LK_LANES_4(M) M(4, s4) M(5, s5) M(6, s6) M(7, s7)
#define LK_LANES_16(M)                                                         \
  LK_LANES_8(M) M(8, s8) M(9, s9) M(10, sa) M(11, sb) M(12, sc) M(13, sd)      \
      M(14, se) M(15, sf)
#if LK_VW == 2
#define LK_LANES LK_LANES_2
#elif LK_VW == 4
#define LK_LANES LK_LANES_4
#elif LK_VW == 8
#define LK_LANES LK_LANES_8
#else
#define LK_LANES LK_LANES_16
#endif
/* Lane l of the tail that starts at q and holds rem < LK_VW elements: in
 * from x and dy (xv and dyv start at zero), dx from dxv_. */
#define LK_TAIL_LOAD(l, s)                                                     \
  if ((l) < rem) {                                                             \
    xv.s = LK_LOAD_T1(x + q + (l));                                            \
    dyv.s = LK_LOAD_T1(dy + q + (l));                                          \
  }
#define LK_TAIL_STORE(l, s)                                                    \
  if ((l) < rem)                                                               \
    LK_STORE_T1(dxv_.s, dx + q + (l));
#endif

/* One reduction block: elements [j_begin, j_end) of channel c's N_c =
 * outer*inner elements of an [outer, channels, inner] tensor, dx written in
 * the same pass when write_dx, and the block's three sums (the dalpha
 * terms, the count of x < 0, |dy*x| over x < 0) into part[0..2], with
 * LK_DBETA a fourth (the dbeta terms under beta and the window) into
 * part[3]. phased: phased_relu's formulas, else prelu's (the activations
 * with a parameter gradient). CPU strategy: one work-item walks the block's runs with vector
 * loads and vector Kahan accumulators; GPU strategy: the work-group strides
 * over it with coalesced element loads, then lk_tree_partials (every
 * work-item must call it). The order is fixed: bit-identical on repeat. */
void lk_reduce_block(__global const lk_elem_t *x, __global const lk_elem_t *dy,
                     __global lk_elem_t *dx, int write_dx, int phased, LK_IDX j_begin,
                     LK_IDX j_end, LK_IDX inner, LK_IDX channels, LK_IDX c, float a, float t,
                     LK_IF_DBETA(float beta, float window, ) __global float *part,
                     __local float *scratch) {
#if LK_STRATEGY == 0
  lk_vec sum_s = 0.0f, sum_c = 0.0f, cnt = 0.0f, abs_s = 0.0f, abs_c = 0.0f;
  LK_IF_DBETA(lk_vec beta_s = 0.0f, beta_c = 0.0f;)
  for (LK_IDX j = j_begin; j < j_end;) {
    /* A run: the contiguous piece of one [outer] segment inside the block. */
    const LK_IDX off = j % inner;
    const LK_IDX p = (j / inner * channels + c) * inner + off;
    const LK_IDX run = min(inner - off, j_end - j);
    LK_IDX r = 0;
    /* Groups of LK_GROUP vectors summed plainly, then with Kahan. */
    for (; r + LK_GROUP * LK_VW <= run; r += LK_GROUP * LK_VW) {
      lk_vec grp_s = 0.0f, grp_a = 0.0f;
      LK_IF_DBETA(lk_vec grp_b = 0.0f;)
      for (int g = 0; g < LK_GROUP; g++) {
        const LK_IDX q = p + r + g * LK_VW;
        const lk_vec xv = LK_LOAD_T(x + q), dyv = LK_LOAD_T(dy + q);
        lk_vec dxv_, term_;
        LK_REDUCE_TERMS(lk_vec, lk_mask, phased, xv, dyv, a, t);
        if (write_dx)
          LK_STORE_OUT(dxv_, dx + q);
        grp_s += term_;
        cnt += LK_NEG_COUNT(lk_vec, lk_mask, xv);
        grp_a += LK_NEG_ABS(lk_vec, lk_mask, xv, dyv);
        LK_IF_DBETA(grp_b += LK_BETA_TERM(lk_vec, lk_mask, xv, dyv, a, beta, window);)
      }
      LK_KAHAN_ADD(lk_vec, lk_mask, sum_s, sum_c, grp_s);
      LK_KAHAN_ADD(lk_vec, lk_mask, abs_s, abs_c, grp_a);
      LK_IF_DBETA(LK_KAHAN_ADD(lk_vec, lk_mask, beta_s, beta_c, grp_b);)
    }
    for (; r + LK_VW <= run; r += LK_VW) {
      const lk_vec xv = LK_LOAD_T(x + p + r), dyv = LK_LOAD_T(dy + p + r);
      LK_REDUCE_STEP(lk_vec, lk_mask, phased, xv, dyv, a, t,
                     if (write_dx) LK_STORE_OUT(dxv_, dx + p + r));
    }
#if LK_VW > 1
    /* The run's last run % LK_VW elements, zero-padded into one vector:
     * x = 0 contributes exact zeros to every sum. Built lane by lane in
     * registers rather than through a private array (see LK_LANES). */
    if (r < run) {
      const LK_IDX q = p + r, rem = run - r;
      lk_vec xv = 0.0f, dyv = 0.0f;
      LK_LANES(LK_TAIL_LOAD)
      LK_REDUCE_STEP(lk_vec, lk_mask, phased, xv, dyv, a, t,
                     if (write_dx) { LK_LANES(LK_TAIL_STORE) });
    }
#endif
    j += run;
  }
  lk_fold_lanes(sum_s, sum_c, cnt, abs_s, abs_c, LK_IF_DBETA(beta_s, beta_c, ) part);
#else
  const uint lid = get_local_id(0), wg = get_local_size(0);
  float sum_s = 0.0f, sum_c = 0.0f, cnt = 0.0f, abs_s = 0.0f, abs_c = 0.0f;
  LK_IF_DBETA(float beta_s = 0.0f, beta_c = 0.0f;)
  for (LK_IDX j = j_begin + lid; j < j_end; j += wg) {
    const LK_IDX i = LK_CHANNEL_ELEMENT(j, c, inner, channels);
    const float xs = LK_LOAD_T1(x + i), dys = LK_LOAD_T1(dy + i);
    LK_REDUCE_STEP(float, int, phased, xs, dys, a, t, if (write_dx) LK_STORE_T1(dxv_, dx + i));
  }
  lk_tree_partials(sum_s, sum_c, cnt, abs_s, abs_c, LK_IF_DBETA(beta_s, beta_c, ) scratch, part);
#endif
}

/* The finals row of one channel from its `blocks` partial rows starting at
 * `first`, each sum with Kahan in block order: dalpha, the count as (hi,
 * lo) so that hi + lo is exact beyond 2^24, and the |dy*x| sum; with
 * LK_DBETA, the channel's sum of dbeta terms fifth. */
void lk_finish_channel(__global const float *partials, LK_IDX first, LK_IDX blocks,
                       __global float *row) {
  float ss = 0.0f, sc = 0.0f, ns = 0.0f, nc = 0.0f, as = 0.0f, ac = 0.0f;
  LK_IF_DBETA(float bs = 0.0f, bc = 0.0f;)
  for (LK_IDX k = 0; k < blocks; k++) {
    const LK_IDX b = first + k;
    LK_KAHAN_ADD(float, int, ss, sc, partials[LK_PARTS * b + 0]);
    LK_KAHAN_ADD(float, int, ns, nc, partials[LK_PARTS * b + 1]);
    LK_KAHAN_ADD(float, int, as, ac, partials[LK_PARTS * b + 2]);
    LK_IF_DBETA(LK_KAHAN_ADD(float, int, bs, bc, partials[LK_PARTS * b + 3]);)
  }
  row[0] = ss - sc;
  row[1] = ns;
  row[2] = -nc;
  row[3] = as - ac;
  LK_IF_DBETA(row[4] = bs - bc;)
}

#endif /* LK_FAMILY == 1 || LK_FAMILY == 2 */
