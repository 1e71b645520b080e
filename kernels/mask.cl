/* mask.cl - seed 004's packed masks: a forward that also writes which
 * branch each element took, one bit each, and a backward that reads only
 * dy and those bits (LK_FAMILY 3). Needs common.cl and activation.cl's
 * shared part (LK_VECTOR_LOOP, LK_PARAMS_AT) before it.
 *
 * The mask: planes of nwords = ceil(n/32) words; bit i is bit i % 32 of
 * word i / 32. Plane 0 (mask[0 .. nwords)) is LK_ID, the identity branch;
 * plane 1 (mask[nwords .. 2 nwords)), phased_relu only, is the alpha band.
 * Bits past n are 0.
 *
 * Backward rebuilds, from the bits, a stand-in x in the same branch (+1 for
 * the identity branch, -0.5 in the band of a stand-in threshold -1, -2
 * below it) and applies the very same LK_BACKWARD: the dx formulas read x
 * only through these branch tests, so dx is backward-from-x's bits (NaN in
 * x under ieee aside: no bit carries it).
 *
 * A work-item takes whole words (32 elements: 32 / LK_VW vectors), so no
 * two work-items write one word; work-item 0 also does the last, partial
 * word element by element. Arguments as activation.cl's kernels, with
 * per_item counted in words. */

#if LK_FAMILY == 3

#if LK_VW == 1
/* A scalar test is 1 or 0. */
#define LK_BITS_OF(m) ((uint)((m) != 0))
#define LK_BRANCH_OF(bits) ((int)((bits)&1u))
#else
#define LK_MCAT_(a, b) a##b
#define LK_MVTYPE_(t, n) LK_MCAT_(t, n)
typedef LK_MVTYPE_(uint, LK_VW) lk_uvec;
#define LK_AS_UVEC LK_MVTYPE_(as_uint, LK_VW)
#if LK_VW == 2
#define LK_LANE_IDS ((lk_uvec)(0, 1))
#elif LK_VW == 4
#define LK_LANE_IDS ((lk_uvec)(0, 1, 2, 3))
#elif LK_VW == 8
#define LK_LANE_IDS ((lk_uvec)(0, 1, 2, 3, 4, 5, 6, 7))
#else
#define LK_LANE_IDS ((lk_uvec)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif

/* The LK_VW low bits from a vector test (-1 or 0 a lane), lane l to bit l. */
uint lk_bits_of(lk_mask m) {
  const lk_uvec v = LK_AS_UVEC(m) & ((lk_uvec)1u << LK_LANE_IDS);
#if LK_VW == 16
  const uint8 v8 = v.lo | v.hi;
#elif LK_VW == 8
  const uint8 v8 = v;
#endif
#if LK_VW >= 8
  const uint4 v4 = v8.lo | v8.hi;
#elif LK_VW == 4
  const uint4 v4 = v;
#endif
#if LK_VW >= 4
  const uint2 v2 = v4.lo | v4.hi;
#else
  const uint2 v2 = v;
#endif
  return v2.x | v2.y;
}
#define LK_BITS_OF(m) lk_bits_of(m)
/* A vector test from the low LK_VW bits: bit l to lane l. */
#define LK_BRANCH_OF(bits) ((((lk_uvec)(bits) >> LK_LANE_IDS) & (lk_uvec)1u) != (lk_uvec)0u)
#endif

/* The stand-in x for a branch (see above); with threshold -1. */
#define LK_STAND_IN(T, M, id, band)                                            \
  select(select((T)-2.0f, (T)-0.5f, (M)(band)), (T)1.0f, (M)(id))
#define LK_STAND_IN_THRESH (-1.0f)

__kernel void lk_forward_mask(LK_IDX n, __global const lk_elem_t *x, __global lk_elem_t *y,
                              __global uint *mask, float alpha, float thresh,
                              __global const float *alpha_c, __global const float *thresh_c,
                              LK_IDX inner, uint channels, LK_IDX per_item) {
  const LK_IDX full = n / 32, nwords = (n + 31) / 32;
  LK_VECTOR_LOOP(w, full, per_item) {
    uint id_bits = 0, band_bits = 0;
    for (int k = 0; k < 32 / LK_VW; k++) {
      const LK_IDX i = w * 32 + (LK_IDX)(k * LK_VW);
      LK_PARAMS_AT(i, a, t);
      const lk_vec xv = LK_LOAD_T(x + i);
      LK_STORE_OUT(LK_FORWARD(lk_vec, lk_mask, xv, a, t), y + i);
      id_bits |= LK_BITS_OF((lk_mask)LK_ID(xv)) << (k * LK_VW);
      band_bits |= LK_BITS_OF((lk_mask)LK_IN_BAND(xv, t)) << (k * LK_VW);
    }
    mask[w] = id_bits;
    if (LK_ACT == 3)
      mask[nwords + w] = band_bits;
  }
  if (get_global_id(0) == 0 && full < nwords) {
    uint id_bits = 0, band_bits = 0;
    for (LK_IDX i = full * 32; i < n; i++) {
      LK_PARAMS_AT(i, a, t);
      const float xs = LK_LOAD_T1(x + i);
      LK_STORE_T1(LK_FORWARD(float, int, xs, a, t), y + i);
      id_bits |= (uint)(LK_ID(xs) != 0) << (i % 32);
      band_bits |= (uint)(LK_IN_BAND(xs, t) != 0) << (i % 32);
    }
    mask[full] = id_bits;
    if (LK_ACT == 3)
      mask[nwords + full] = band_bits;
  }
}

__kernel void lk_backward_mask(LK_IDX n, __global const uint *mask, __global const lk_elem_t *dy,
                               __global lk_elem_t *dx, float alpha, float thresh,
                               __global const float *alpha_c, __global const float *thresh_c,
                               LK_IDX inner, uint channels, LK_IDX per_item) {
  const LK_IDX full = n / 32, nwords = (n + 31) / 32;
  LK_VECTOR_LOOP(w, full, per_item) {
    const uint id_bits = mask[w];
    const uint band_bits = LK_ACT == 3 ? mask[nwords + w] : 0u;
    for (int k = 0; k < 32 / LK_VW; k++) {
      const LK_IDX i = w * 32 + (LK_IDX)(k * LK_VW);
      LK_PARAMS_AT(i, a, t);
      const lk_vec xv = LK_STAND_IN(lk_vec, lk_mask, LK_BRANCH_OF(id_bits >> (k * LK_VW)),
                                    LK_BRANCH_OF(band_bits >> (k * LK_VW)));
      const lk_vec dyv = LK_LOAD_T(dy + i);
      LK_STORE_OUT(LK_BACKWARD(lk_vec, lk_mask, xv, dyv, a, LK_STAND_IN_THRESH), dx + i);
    }
  }
  if (get_global_id(0) == 0 && full < nwords) {
    const uint id_bits = mask[full];
    const uint band_bits = LK_ACT == 3 ? mask[nwords + full] : 0u;
    for (LK_IDX i = full * 32; i < n; i++) {
      LK_PARAMS_AT(i, a, t);
      const uint b = (uint)(i % 32);
      const float xs = LK_STAND_IN(float, int, (int)((id_bits >> b) & 1u),
                                   (int)((band_bits >> b) & 1u));
      const float dys = LK_LOAD_T1(dy + i);
      LK_STORE_T1(LK_BACKWARD(float, int, xs, dys, a, LK_STAND_IN_THRESH), dx + i);
    }
  }
}

#endif /* LK_FAMILY == 3 */
