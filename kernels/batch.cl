/* batch.cl - packed small jobs: many forward, backward and dalpha jobs of any
 * activation in one launch of lk_batch_tiles (plus one of lk_batch_finish
 * when some job reduces), driven by tables the host writes
 * (host/ops/batch.c): the packed-job family (LK_FAMILY 2). Needs common.cl
 * before it (its reduction tiles are lk_reduce_block's). LK_ACT and
 * LK_PER_CHANNEL do not apply here: each job carries its activation, op and
 * alpha layout at run time; LK_VW, LK_STRATEGY, LK_IDX and LK_DTYPE do (one
 * launch packs jobs of one storage type, loaded and stored as the single-call
 * kernels do: LK_LOAD_T and LK_STORE_T, arithmetic in float32).
 *
 * The host concatenates the jobs' inputs into pooled buffers x and dy (each
 * job at its own BASE offset, a multiple of 16 elements) and finds its
 * output at the same offset of out. Tables, all of LK_IDX values in one buffer:
 *  - a job record of LK_JOB_FIELDS values per job (the LK_JOB_* fields);
 *  - a tile record of 2 values per tile: the job, then where the tile starts.
 *    Element-wise tiles start at an element (a multiple of tile_elems) and
 *    cover tile_elems elements of the job's flat range. Reduction tiles are
 *    block b of the job: channel b / BLOCKS, elements [k*block, (k+1)*block)
 *    of that channel with k = b % BLOCKS, cut exactly as lk_reduce_partials
 *    cuts them; they also write dx.
 *  - for lk_batch_finish, a record of 2 values per (job, channel) that
 *    reduces: its first partial block and how many blocks it has.
 * params holds (alpha, threshold) pairs: one per job with a shared alpha, one
 * per channel otherwise, from the job's PARAM index on.
 *
 * CPU strategy: one work-item per tile, walking runs of one channel with
 * vector loads. GPU strategy: one work-group per tile, coalesced, and the
 * reduction's (sum, error) tree in local memory as in reduce.cl. Either way a
 * work-item finds its job with two table reads and no search. */

#if LK_FAMILY == 2

#define LK_JOB_FLAGS 0
#define LK_JOB_N 1
#define LK_JOB_BASE 2
#define LK_JOB_INNER 3    /* shared alpha: n (or 1), so one run covers all */
#define LK_JOB_CHANNELS 4 /* shared alpha: 1 */
#define LK_JOB_PARAM 5
#define LK_JOB_PER_CHANNEL 6 /* N_c = n / channels */
#define LK_JOB_BLOCKS 7      /* reduction blocks per channel */
#define LK_JOB_PARTIAL 8     /* the job's first block in partials */
#define LK_JOB_FIELDS 9

/* FLAGS: the activation (0-3, as LK_ACT) in bits 0-1, then these. */
#define LK_JOB_BACKWARD 4
#define LK_JOB_PER_CHANNEL_ALPHA 8
#define LK_JOB_REDUCE 16

/* One-operand forms, so that one run loop serves forward and backward. */
#define LK_BATCH_FWD_RELU(T, M, x, dy, a, t) LK_FORWARD_RELU(T, M, x, a, t)
#define LK_BATCH_FWD_LEAKY(T, M, x, dy, a, t) LK_FORWARD_LEAKY(T, M, x, a, t)
#define LK_BATCH_FWD_PHASED(T, M, x, dy, a, t) LK_FORWARD_PHASED(T, M, x, a, t)
#define LK_BATCH_BWD_RELU LK_DX_RELU
#define LK_BATCH_BWD_LEAKY LK_DX_LEAKY
#define LK_BATCH_BWD_PHASED LK_DX_PHASED

/* out = F(x, dy) over len elements from p: vectors, then one by one. The
 * formulas are the very ones of activation.cl, so every element gets the
 * same bits as a single-job call. Forward reads no dy. */
#define LK_BATCH_RUN(F, BACKWARD, x, dy, out, p, len, a, t)                    \
  do {                                                                         \
    LK_IDX r_ = 0;                                                             \
    for (; r_ + LK_VW <= (len); r_ += LK_VW) {                                 \
      const lk_vec xv_ = LK_LOAD_T((x) + (p) + r_);                            \
      const lk_vec dyv_ = (BACKWARD) ? LK_LOAD_T((dy) + (p) + r_) : xv_;       \
      LK_STORE_T(F(lk_vec, lk_mask, xv_, dyv_, a, t), (out) + (p) + r_);       \
    }                                                                          \
    for (; r_ < (len); r_++) {                                                 \
      const float xs_ = LK_LOAD_T1((x) + (p) + r_);                            \
      const float dys_ = (BACKWARD) ? LK_LOAD_T1((dy) + (p) + r_) : xs_;       \
      LK_STORE_T1(F(float, int, xs_, dys_, a, t), (out) + (p) + r_);           \
    }                                                                          \
  } while (0)

/* One direction's three formulas (relu, phased_relu, the leaky kinds) by
 * the job's activation. */
#define LK_BATCH_BY_ACT(RELU, PHASED, LEAKY, BACKWARD, x, dy, out, p, len, a, t) \
  do {                                                                         \
    if (act == 0)                                                              \
      LK_BATCH_RUN(RELU, BACKWARD, x, dy, out, p, len, a, t);                  \
    else if (act == 3)                                                         \
      LK_BATCH_RUN(PHASED, BACKWARD, x, dy, out, p, len, a, t);                \
    else                                                                       \
      LK_BATCH_RUN(LEAKY, BACKWARD, x, dy, out, p, len, a, t);                 \
  } while (0)

/* Elements [p, p + len) of one job under one (alpha, threshold); the choice
 * of formula is made once per run, outside the loops. */
void lk_batch_run(uint act, int backward, __global const lk_elem_t *x,
                  __global const lk_elem_t *dy, __global lk_elem_t *out, LK_IDX p, LK_IDX len,
                  float a, float t) {
  if (backward)
    LK_BATCH_BY_ACT(LK_BATCH_BWD_RELU, LK_BATCH_BWD_PHASED, LK_BATCH_BWD_LEAKY, 1, x, dy, out, p,
                    len, a, t);
  else
    LK_BATCH_BY_ACT(LK_BATCH_FWD_RELU, LK_BATCH_FWD_PHASED, LK_BATCH_FWD_LEAKY, 0, x, dy, out, p,
                    len, a, t);
}

/* The channel of element i of a job (0 for a shared alpha). */
#define LK_BATCH_CHANNEL(job, i)                                               \
  (((job)[LK_JOB_FLAGS] & LK_JOB_PER_CHANNEL_ALPHA)                            \
       ? (LK_IDX)LK_CHANNEL((i), (job)[LK_JOB_INNER], (job)[LK_JOB_CHANNELS])  \
       : (LK_IDX)0)

/* An element-wise tile: elements [begin, end) of the job. */
void lk_batch_elementwise(__global const LK_IDX *job, LK_IDX begin, LK_IDX end,
                          __global const float *params, __global const lk_elem_t *x,
                          __global const lk_elem_t *dy, __global lk_elem_t *out) {
  const LK_IDX flags = job[LK_JOB_FLAGS], base = job[LK_JOB_BASE];
  const uint act = (uint)(flags & 3);
  const int backward = (flags & LK_JOB_BACKWARD) != 0;
  const LK_IDX inner = job[LK_JOB_INNER];
  __global const float *pp = params + 2 * job[LK_JOB_PARAM];
  x += base;
  dy += base;
  out += base;
#if LK_STRATEGY == 0
  /* Runs of one channel: a shared alpha is one run, per channel at most
   * inner elements each. */
  for (LK_IDX i = begin; i < end;) {
    const LK_IDX len = min(inner - i % inner, end - i);
    const LK_IDX c = LK_BATCH_CHANNEL(job, i);
    lk_batch_run(act, backward, x, dy, out, i, len, pp[2 * c], pp[2 * c + 1]);
    i += len;
  }
#else
  const LK_IDX lid = get_local_id(0), wg = get_local_size(0);
  /* begin is a multiple of LK_VW, so with a shared alpha or inner % LK_VW
   * == 0 no vector straddles two channels. */
  const bool vectors = !(flags & LK_JOB_PER_CHANNEL_ALPHA) || inner % LK_VW == 0;
  LK_IDX scalar_from = begin;
  if (vectors) {
    const LK_IDX nvec = (end - begin) / LK_VW;
    for (LK_IDX v = lid; v < nvec; v += wg) {
      const LK_IDX i = begin + v * LK_VW;
      const LK_IDX c = LK_BATCH_CHANNEL(job, i);
      lk_batch_run(act, backward, x, dy, out, i, LK_VW, pp[2 * c], pp[2 * c + 1]);
    }
    scalar_from = begin + nvec * LK_VW;
  }
  for (LK_IDX i = scalar_from + lid; i < end; i += wg) {
    const LK_IDX c = LK_BATCH_CHANNEL(job, i);
    lk_batch_run(act, backward, x, dy, out, i, 1, pp[2 * c], pp[2 * c + 1]);
  }
#endif
}

/* A reduction tile: block b of the job, dx written in the same pass, its
 * three sums to partials[3 * (PARTIAL + b) ..] by the very body of
 * lk_reduce_partials (lk_reduce_block), so dalpha has the same bits. */
void lk_batch_reduce_block(__global const LK_IDX *job, LK_IDX b, LK_IDX block,
                           __global const float *params, __global const lk_elem_t *x,
                           __global const lk_elem_t *dy, __global lk_elem_t *out,
                           __global float *partials, __local float *scratch) {
  const LK_IDX flags = job[LK_JOB_FLAGS], base = job[LK_JOB_BASE];
  const int phased = (flags & 3) == 3;
  const LK_IDX inner = job[LK_JOB_INNER], channels = job[LK_JOB_CHANNELS];
  const LK_IDX blocks = job[LK_JOB_BLOCKS];
  const LK_IDX c = b / blocks;
  const LK_IDX j_begin = (b % blocks) * block;
  const LK_IDX j_end = min(j_begin + block, job[LK_JOB_PER_CHANNEL]);
  const LK_IDX pc = (flags & LK_JOB_PER_CHANNEL_ALPHA) ? c : 0;
  __global const float *pp = params + 2 * (job[LK_JOB_PARAM] + pc);
  const float a = pp[0], t = pp[1];
  lk_reduce_block(x + base, dy + base, out + base, 1, phased, j_begin, j_end, inner, channels, c,
                  a, t, partials + 3 * (job[LK_JOB_PARTIAL] + b), scratch);
}

/* Every tile of the batch. CPU: global size ntiles rounded up to the
 * work-group size; GPU: ntiles work-groups (the tile kind is then uniform in
 * a work-group, as its barriers need). */
__kernel void lk_batch_tiles(LK_IDX ntiles, __global const LK_IDX *index, LK_IDX tiles_at,
                             LK_IDX tile_elems, LK_IDX block, __global const float *params,
                             __global const lk_elem_t *x, __global const lk_elem_t *dy,
                             __global lk_elem_t *out, __global float *partials,
                             __local float *scratch) {
#if LK_STRATEGY == 0
  const LK_IDX tile = get_global_id(0);
  if (tile >= ntiles)
    return;
#else
  const LK_IDX tile = get_group_id(0);
#endif
  __global const LK_IDX *rec = index + tiles_at + 2 * tile;
  __global const LK_IDX *job = index + rec[0] * LK_JOB_FIELDS;
  const LK_IDX start = rec[1];
  if (job[LK_JOB_FLAGS] & LK_JOB_REDUCE)
    lk_batch_reduce_block(job, start, block, params, x, dy, out, partials, scratch);
  else
    lk_batch_elementwise(job, start, min(start + tile_elems, job[LK_JOB_N]), params, x, dy, out);
}

/* One work-item per (job, channel) that reduces: its blocks' partials in
 * order, with Kahan, into finals[4 * g ..] as lk_reduce_finish writes them
 * (dalpha, the count as hi and lo, the |dy*x| sum). */
__kernel void lk_batch_finish(LK_IDX nchannels, __global const LK_IDX *index, LK_IDX channels_at,
                              __global const float *partials, __global float *finals) {
  const LK_IDX g = get_global_id(0);
  if (g >= nchannels)
    return;
  lk_finish_channel(partials, index[channels_at + 2 * g], index[channels_at + 2 * g + 1],
                    finals + 4 * g);
}

#endif /* LK_FAMILY == 2 */
