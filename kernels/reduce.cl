/* reduce.cl - the parameter-gradient reduction: dalpha per channel and seed
 * 002's diagnostics (count of x < 0, sum of |dy*x| over x < 0), optionally
 * writing dx in the same pass: the reduction family's kernels (LK_FAMILY 1).
 * Needs common.cl before it, whose lk_reduce_block and lk_finish_channel
 * are their bodies (shared with the packed jobs, batch.cl).
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
 * the groups' 7 ulp at most: inside the 1e-6 * sum |terms| bound.
 *
 * With LK_DBETA (phased_relu only) each block writes a fourth partial and
 * each channel a fifth final, its sum of dbeta terms (common.cl's
 * LK_BETA_TERM under the kernel arguments beta and window), compensated
 * alike; the host scales each channel's by |alpha_c|/window and adds them in
 * channel order. Without it the kernels are exactly what they were. */

#if LK_FAMILY == 1

__kernel void lk_reduce_partials(LK_IDX count_per_channel, LK_IDX inner, uint channels,
                                 LK_IDX block, LK_IDX blocks_per_channel,
                                 __global const lk_elem_t *x, __global const lk_elem_t *dy,
                                 __global lk_elem_t *dx, int write_dx, float alpha,
                                 float thresh, __global const float *alpha_c,
                                 __global const float *thresh_c, __global float *partials,
                                 __local float *scratch LK_IF_DBETA(, float beta, float window)) {
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
  /* The host asks for the reduction of prelu and phased_relu only. */
  lk_reduce_block(x, dy, dx, write_dx, LK_ACT == 3, j_begin, j_end, inner, channels, c, a, t,
                  LK_IF_DBETA(beta, window, ) partials + LK_PARTS * b, scratch);
}

__kernel void lk_reduce_finish(uint channels, LK_IDX blocks_per_channel,
                               __global const float *partials, __global float *finals) {
  const uint c = get_global_id(0);
  if (c >= channels)
    return;
  lk_finish_channel(partials, (LK_IDX)c * blocks_per_channel, blocks_per_channel,
                    finals + LK_FINALS * c);
}

#endif /* LK_FAMILY == 1 */
