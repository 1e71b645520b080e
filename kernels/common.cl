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
 *   LK_DTYPE        how tensors are stored: 0 float32, 1 float16, 2 bfloat16
 *                   (computing in float32 always; see LK_LOAD_T below)
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
