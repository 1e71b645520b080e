/* activation.cl - element-wise kernels: forward y = f(x) and backward
 * dx = f'(src) * dy (src is x, or y for the from-y variants the host allows).
 * Both may run in place (y == x, dx == dy): the element-wise family
 * (LK_FAMILY 0). Needs common.cl before it.
 *
 * Arguments shared by both kernels:
 *   n          elements
 *   alpha, thresh      the shared alpha and t = -beta/alpha (LK_PER_CHANNEL 0)
 *   alpha_c, thresh_c  one alpha and threshold per channel (LK_PER_CHANNEL 1;
 *                      the host then guarantees inner % LK_VW == 0, so a
 *                      vector never straddles two channels)
 *   inner, channels    the [outer, channels, inner] view
 *   per_item   vectors per work-item (CPU strategy only)
 * x, y, src, dy and dx are stored as LK_DTYPE says (lk_elem_t); the
 * formulas run on floats.
 * The global size is rounded up to the work-group size; extra work-items
 * find an empty range. Work-item 0 also does the n % LK_VW tail, element by
 * element, with the very same formulas. */

/* What the element-wise kernels and the mask kernels (mask.cl) share. */
#if LK_FAMILY == 0 || LK_FAMILY == 3

#if LK_STRATEGY == 0
/* CPU: each work-item walks its own contiguous chunk of vectors. */
#define LK_VECTOR_LOOP(v, nvec, per_item)                                      \
  for (LK_IDX v = (LK_IDX)get_global_id(0) * (per_item),                       \
              v##_end = min(v + (per_item), (nvec));                           \
       v < v##_end; v++)
#else
/* GPU: grid stride, so neighbouring work-items touch neighbouring vectors. */
#define LK_VECTOR_LOOP(v, nvec, per_item)                                      \
  for (LK_IDX v = (LK_IDX)get_global_id(0); v < (nvec); v += (LK_IDX)get_global_size(0))
#endif

/* The alpha and threshold that apply to flat element i. */
#if LK_PER_CHANNEL
#define LK_PARAMS_AT(i, a, t)                                                  \
  LK_IDX ch_ = LK_CHANNEL((i), inner, channels);                               \
  float a = alpha_c[ch_];                                                      \
  float t = thresh_c[ch_]
#else
#define LK_PARAMS_AT(i, a, t)                                                  \
  float a = alpha;                                                             \
  float t = thresh
#endif

#endif /* LK_FAMILY == 0 || LK_FAMILY == 3 */

#if LK_FAMILY == 0

__kernel void lk_forward(LK_IDX n, __global const lk_elem_t *x, __global lk_elem_t *y, float alpha,
                         float thresh, __global const float *alpha_c,
                         __global const float *thresh_c, LK_IDX inner, uint channels,
                         LK_IDX per_item) {
  const LK_IDX nvec = n / LK_VW;
  LK_VECTOR_LOOP(v, nvec, per_item) {
    const LK_IDX i = v * LK_VW;
    LK_PARAMS_AT(i, a, t);
    lk_vec xv = LK_LOAD_T(x + i);
    LK_STORE_OUT(LK_FORWARD(lk_vec, lk_mask, xv, a, t), y + i);
  }
  if (get_global_id(0) == 0) {
    for (LK_IDX i = nvec * LK_VW; i < n; i++) {
      LK_PARAMS_AT(i, a, t);
      float xs = LK_LOAD_T1(x + i);
      LK_STORE_T1(LK_FORWARD(float, int, xs, a, t), y + i);
    }
  }
}

__kernel void lk_backward(LK_IDX n, __global const lk_elem_t *src, __global const lk_elem_t *dy,
                          __global lk_elem_t *dx, float alpha, float thresh,
                          __global const float *alpha_c, __global const float *thresh_c,
                          LK_IDX inner, uint channels, LK_IDX per_item) {
  const LK_IDX nvec = n / LK_VW;
  LK_VECTOR_LOOP(v, nvec, per_item) {
    const LK_IDX i = v * LK_VW;
    LK_PARAMS_AT(i, a, t);
    lk_vec xv = LK_LOAD_T(src + i);
    lk_vec dyv = LK_LOAD_T(dy + i);
    LK_STORE_OUT(LK_BACKWARD(lk_vec, lk_mask, xv, dyv, a, t), dx + i);
  }
  if (get_global_id(0) == 0) {
    for (LK_IDX i = nvec * LK_VW; i < n; i++) {
      LK_PARAMS_AT(i, a, t);
      float xs = LK_LOAD_T1(src + i), dys = LK_LOAD_T1(dy + i);
      LK_STORE_T1(LK_BACKWARD(float, int, xs, dys, a, t), dx + i);
    }
  }
}

#endif /* LK_FAMILY == 0 */
