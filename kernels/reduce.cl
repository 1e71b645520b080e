/* reduce.cl - the parameter-gradient reduction: dalpha per channel and seed
 * 002's diagnostics (count of x < 0, sum of |dy*x| over x < 0), optionally
 * writing dx in the same pass. Needs common.cl before it.
 *
 * Two stages, both in a fixed order (bit-identical on repeat, no atomics):
 *  1. lk_reduce_partials: the channel's N_c = outer*inner elements are cut
 *     into blocks of `block` elements; each block's three sums go to
 *     partials[3*b .. 3*b+2], b = channel * blocks_per_channel + k.
 *     CPU strategy: one work-item per block, walking contiguous runs with
 *     vector loads and vector Kahan accumulators (fed by groups, below).
 *     GPU strategy: one work-group per block, coalesced element loads, Kahan
 *     per work-item, then a tree in local memory that combines (sum, error)
 *     pairs exactly (TwoSum), so the tree adds no rounding drift.
 *  2. lk_reduce_finish: one work-item per channel sums its partials with
 *     Kahan and writes finals[4*c ..]: dalpha, the count as (hi, lo) so that
 *     hi + lo is exact beyond 2^24, and the |dy*x| sum.
 * Compensated sums keep |error| near 2 ulp of sum |terms| for any N, plus
 * the groups' 7 ulp at most: inside the 1e-6 * sum |terms| bound. */

/* CPU strategy: the terms of LK_GROUP consecutive vectors are summed plainly
 * (|error| <= (LK_GROUP-1) u of their sum |terms| per lane: 4.2e-7 for 8),
 * and each group's sum then goes into the Kahan accumulator, so the
 * compensation costs once per group rather than once per vector (~1.3x on
 * PoCL). Runs shorter than a group take the per-vector Kahan path. */
#define LK_GROUP 8

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
 * one compensated scalar each, and writes the block's three partials. */
void lk_fold_lanes(lk_vec sum_s, lk_vec sum_c, lk_vec cnt, lk_vec abs_s, lk_vec abs_c,
                   __global float *part) {
  float lanes[5][LK_VW];
  LK_STORE(sum_s, lanes[0]);
  LK_STORE(sum_c, lanes[1]);
  LK_STORE(cnt, lanes[2]);
  LK_STORE(abs_s, lanes[3]);
  LK_STORE(abs_c, lanes[4]);
  float ss = 0.0f, sc = 0.0f, n_neg = 0.0f, as = 0.0f, ac = 0.0f;
  for (int l = 0; l < LK_VW; l++) {
    LK_PAIR_COMBINE(ss, sc, lanes[0][l], lanes[1][l]);
    n_neg += lanes[2][l];
    LK_PAIR_COMBINE(as, ac, lanes[3][l], lanes[4][l]);
  }
  part[0] = ss - sc;
  part[1] = n_neg;
  part[2] = as - ac;
}
#else
/* Combines the work-group's (sum, error) pairs and counts by a tree in
 * local memory (5 floats a work-item; the work-group size is a power of
 * two, which the host checks); work-item 0 writes the block's partials.
 * Every work-item of the group must call it (barriers). */
void lk_tree_partials(float ss, float sc, float n_neg, float as, float ac,
                      __local float *scratch, __global float *part) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  __local float *l_ss = scratch, *l_sc = scratch + wg, *l_n = scratch + 2 * wg;
  __local float *l_as = scratch + 3 * wg, *l_ac = scratch + 4 * wg;
  l_ss[lid] = ss;
  l_sc[lid] = sc;
  l_n[lid] = n_neg;
  l_as[lid] = as;
  l_ac[lid] = ac;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = wg / 2; stride > 0; stride /= 2) {
    if (lid < stride) {
      LK_PAIR_COMBINE(l_ss[lid], l_sc[lid], l_ss[lid + stride], l_sc[lid + stride]);
      l_n[lid] += l_n[lid + stride];
      LK_PAIR_COMBINE(l_as[lid], l_ac[lid], l_as[lid + stride], l_ac[lid + stride]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    part[0] = l_ss[0] - l_sc[0];
    part[1] = l_n[0];
    part[2] = l_as[0] - l_ac[0];
  }
}
#endif

__kernel void lk_reduce_partials(LK_IDX count_per_channel, LK_IDX inner, uint channels,
                                 LK_IDX block, LK_IDX blocks_per_channel,
                                 __global const lk_elem_t *x, __global const lk_elem_t *dy,
                                 __global lk_elem_t *dx, int write_dx, float alpha,
                                 float thresh, __global const float *alpha_c,
                                 __global const float *thresh_c, __global float *partials,
                                 __local float *scratch) {
#if LK_STRATEGY == 0
  const LK_IDX b = get_global_id(0);
  if (b >= (LK_IDX)channels * blocks_per_channel)
    return;
#else
  const LK_IDX b = get_group_id(0);
#endif
  const uint c = (uint)(b / blocks_per_channel);
  const LK_IDX j_begin = (b % blocks_per_channel) * block;
  const LK_IDX j_end = min(j_begin + block, count_per_channel);
#if LK_PER_CHANNEL
  const float a = alpha_c[c], t = thresh_c[c];
#else
  const float a = alpha, t = thresh;
#endif

#if LK_STRATEGY == 0
  lk_vec sum_s = 0.0f, sum_c = 0.0f, cnt = 0.0f, abs_s = 0.0f, abs_c = 0.0f;
  for (LK_IDX j = j_begin; j < j_end;) {
    /* A run: the contiguous piece of one [outer] segment inside the block. */
    const LK_IDX off = j % inner;
    const LK_IDX base = (j / inner * channels + c) * inner + off;
    const LK_IDX run = min(inner - off, j_end - j);
    LK_IDX r = 0;
    for (; r + LK_GROUP * LK_VW <= run; r += LK_GROUP * LK_VW) {
      lk_vec grp_s = 0.0f, grp_a = 0.0f;
      for (int g = 0; g < LK_GROUP; g++) {
        const LK_IDX q = base + r + g * LK_VW;
        lk_vec xv = LK_LOAD_T(x + q), dyv = LK_LOAD_T(dy + q);
        if (write_dx)
          LK_STORE_OUT(LK_BACKWARD(lk_vec, lk_mask, xv, dyv, a, t), dx + q);
        grp_s += LK_ALPHA_TERM(lk_vec, lk_mask, xv, dyv, t);
        cnt += LK_NEG_COUNT(lk_vec, lk_mask, xv);
        grp_a += LK_NEG_ABS(lk_vec, lk_mask, xv, dyv);
      }
      LK_KAHAN_ADD(lk_vec, lk_mask, sum_s, sum_c, grp_s);
      LK_KAHAN_ADD(lk_vec, lk_mask, abs_s, abs_c, grp_a);
    }
    for (; r + LK_VW <= run; r += LK_VW) {
      lk_vec xv = LK_LOAD_T(x + base + r), dyv = LK_LOAD_T(dy + base + r);
      if (write_dx)
        LK_STORE_OUT(LK_BACKWARD(lk_vec, lk_mask, xv, dyv, a, t), dx + base + r);
      LK_KAHAN_ADD(lk_vec, lk_mask, sum_s, sum_c, LK_ALPHA_TERM(lk_vec, lk_mask, xv, dyv, t));
      cnt += LK_NEG_COUNT(lk_vec, lk_mask, xv);
      LK_KAHAN_ADD(lk_vec, lk_mask, abs_s, abs_c, LK_NEG_ABS(lk_vec, lk_mask, xv, dyv));
    }
    /* The run's last run % LK_VW elements, zero-padded into one vector:
     * x = 0 contributes exact zeros to every sum. */
    if (r < run) {
      float xb[LK_VW], dyb[LK_VW];
      for (int l = 0; l < LK_VW; l++) {
        xb[l] = r + l < run ? LK_LOAD_T1(x + base + r + l) : 0.0f;
        dyb[l] = r + l < run ? LK_LOAD_T1(dy + base + r + l) : 0.0f;
      }
      lk_vec xv = LK_LOAD(xb), dyv = LK_LOAD(dyb);
      if (write_dx) {
        LK_STORE(LK_BACKWARD(lk_vec, lk_mask, xv, dyv, a, t), xb);
        for (LK_IDX l = 0; r + l < run; l++)
          LK_STORE_T1(xb[l], dx + base + r + l);
      }
      LK_KAHAN_ADD(lk_vec, lk_mask, sum_s, sum_c, LK_ALPHA_TERM(lk_vec, lk_mask, xv, dyv, t));
      cnt += LK_NEG_COUNT(lk_vec, lk_mask, xv);
      LK_KAHAN_ADD(lk_vec, lk_mask, abs_s, abs_c, LK_NEG_ABS(lk_vec, lk_mask, xv, dyv));
    }
    j += run;
  }
  lk_fold_lanes(sum_s, sum_c, cnt, abs_s, abs_c, partials + 3 * b);
#else
  const uint lid = get_local_id(0), wg = get_local_size(0);
  float ss = 0.0f, sc = 0.0f, n_neg = 0.0f, as = 0.0f, ac = 0.0f;
  for (LK_IDX j = j_begin + lid; j < j_end; j += wg) {
    const LK_IDX i = LK_CHANNEL_ELEMENT(j, c, inner, channels);
    const float xs = LK_LOAD_T1(x + i), dys = LK_LOAD_T1(dy + i);
    if (write_dx)
      LK_STORE_T1(LK_BACKWARD(float, int, xs, dys, a, t), dx + i);
    LK_KAHAN_ADD(float, int, ss, sc, LK_ALPHA_TERM(float, int, xs, dys, t));
    n_neg += LK_NEG_COUNT(float, int, xs);
    LK_KAHAN_ADD(float, int, as, ac, LK_NEG_ABS(float, int, xs, dys));
  }
  lk_tree_partials(ss, sc, n_neg, as, ac, scratch, partials + 3 * b);
#endif
}

__kernel void lk_reduce_finish(uint channels, LK_IDX blocks_per_channel,
                               __global const float *partials, __global float *finals) {
  const uint c = get_global_id(0);
  if (c >= channels)
    return;
  float ss = 0.0f, sc = 0.0f, ns = 0.0f, nc = 0.0f, as = 0.0f, ac = 0.0f;
  for (LK_IDX k = 0; k < blocks_per_channel; k++) {
    const LK_IDX b = (LK_IDX)c * blocks_per_channel + k;
    LK_KAHAN_ADD(float, int, ss, sc, partials[3 * b + 0]);
    LK_KAHAN_ADD(float, int, ns, nc, partials[3 * b + 1]);
    LK_KAHAN_ADD(float, int, as, ac, partials[3 * b + 2]);
  }
  finals[4 * c + 0] = ss - sc;
  finals[4 * c + 1] = ns;
  finals[4 * c + 2] = -nc;
  finals[4 * c + 3] = as - ac;
}
