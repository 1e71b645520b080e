/* batch.cl - packed small jobs: many forward, backward and dalpha jobs of any
 * activation in one launch of lk_batch_tiles (plus one of lk_batch_finish
 * when some job reduces), driven by tables the host writes
 * (host/src/batch.c). Needs common.cl and reduce.cl before it. LK_ACT and
 * LK_PER_CHANNEL do not apply here: each job carries its activation, op and
 * alpha layout at run time; LK_VW, LK_STRATEGY and LK_IDX do.
 *
 * The host concatenates the jobs' inputs into pooled buffers x and dy (each
 * job at its own BASE offset, a multiple of 16 floats) and finds its output
 * at the same offset of out. Tables, all of LK_IDX values in one buffer:
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
#define LK_BATCH_BWD_RELU(T, M, x, dy, a, t) LK_BACKWARD_OF(LK_DERIV_DY_RELU, T, M, x, dy, a, t)
#define LK_BATCH_BWD_LEAKY(T, M, x, dy, a, t) LK_BACKWARD_OF(LK_DERIV_DY_LEAKY, T, M, x, dy, a, t)
#define LK_BATCH_BWD_PHASED(T, M, x, dy, a, t)                                 \
  LK_BACKWARD_OF(LK_DERIV_DY_PHASED, T, M, x, dy, a, t)

/* out = F(x, dy) over len elements from p: vectors, then one by one. The
 * formulas are the very ones of activation.cl, so every element gets the
 * same bits as a single-job call. Forward reads no dy. */
#define LK_BATCH_RUN(F, BACKWARD, x, dy, out, p, len, a, t)                    \
  do {                                                                         \
    LK_IDX r_ = 0;                                                             \
    for (; r_ + LK_VW <= (len); r_ += LK_VW) {                                 \
      const lk_vec xv_ = LK_LOAD((x) + (p) + r_);                              \
      const lk_vec dyv_ = (BACKWARD) ? LK_LOAD((dy) + (p) + r_) : xv_;         \
      LK_STORE(F(lk_vec, lk_mask, xv_, dyv_, a, t), (out) + (p) + r_);         \
    }                                                                          \
    for (; r_ < (len); r_++) {                                                 \
      const float xs_ = (x)[(p) + r_];                                         \
      const float dys_ = (BACKWARD) ? (dy)[(p) + r_] : xs_;                    \
      (out)[(p) + r_] = F(float, int, xs_, dys_, a, t);                        \
    }                                                                          \
  } while (0)

/* Elements [p, p + len) of one job under one (alpha, threshold); the choice
 * of formula is made once per run, outside the loops. */
void lk_batch_run(uint act, int backward, __global const float *x, __global const float *dy,
                  __global float *out, LK_IDX p, LK_IDX len, float a, float t) {
  if (backward) {
    if (act == 0)
      LK_BATCH_RUN(LK_BATCH_BWD_RELU, 1, x, dy, out, p, len, a, t);
    else if (act == 3)
      LK_BATCH_RUN(LK_BATCH_BWD_PHASED, 1, x, dy, out, p, len, a, t);
    else
      LK_BATCH_RUN(LK_BATCH_BWD_LEAKY, 1, x, dy, out, p, len, a, t);
  } else {
    if (act == 0)
      LK_BATCH_RUN(LK_BATCH_FWD_RELU, 0, x, dy, out, p, len, a, t);
    else if (act == 3)
      LK_BATCH_RUN(LK_BATCH_FWD_PHASED, 0, x, dy, out, p, len, a, t);
    else
      LK_BATCH_RUN(LK_BATCH_FWD_LEAKY, 0, x, dy, out, p, len, a, t);
  }
}

/* The channel of element i of a job (0 for a shared alpha). */
#define LK_BATCH_CHANNEL(job, i)                                               \
  (((job)[LK_JOB_FLAGS] & LK_JOB_PER_CHANNEL_ALPHA)                            \
       ? (LK_IDX)LK_CHANNEL((i), (job)[LK_JOB_INNER], (job)[LK_JOB_CHANNELS])  \
       : (LK_IDX)0)

/* An element-wise tile: elements [begin, end) of the job. */
void lk_batch_elementwise(__global const LK_IDX *job, LK_IDX begin, LK_IDX end,
                          __global const float *params, __global const float *x,
                          __global const float *dy, __global float *out) {
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

/* dx and the dalpha term of one reduction step of type T (dxv_ and term_,
 * declared by the caller). prelu and phased_relu are the activations with
 * a parameter gradient. */
#define LK_BATCH_REDUCE_TERMS(T, M, phased, xv, dyv, a, t)                     \
  do {                                                                         \
    if (phased) {                                                              \
      dxv_ = LK_BACKWARD_OF(LK_DERIV_DY_PHASED, T, M, xv, dyv, a, t);          \
      term_ = LK_ALPHA_TERM_PHASED(T, M, xv, dyv, t);                          \
    } else {                                                                   \
      dxv_ = LK_BACKWARD_OF(LK_DERIV_DY_LEAKY, T, M, xv, dyv, a, t);           \
      term_ = LK_ALPHA_TERM_PRELU(T, M, xv, dyv, t);                           \
    }                                                                          \
  } while (0)

/* One reduction step of type T: dx, and the three sums of reduce.cl. */
#define LK_BATCH_REDUCE_STEP(T, M, phased, xv, dyv, a, t, dx_store)            \
  do {                                                                         \
    T dxv_, term_;                                                             \
    LK_BATCH_REDUCE_TERMS(T, M, phased, xv, dyv, a, t);                        \
    dx_store;                                                                  \
    LK_KAHAN_ADD(T, M, sum_s, sum_c, term_);                                   \
    cnt += LK_NEG_COUNT(T, M, xv);                                             \
    LK_KAHAN_ADD(T, M, abs_s, abs_c, LK_NEG_ABS(T, M, xv, dyv));               \
  } while (0)

#if LK_VW > 1
/* M(l, s) for each lane l of an lk_vec and its component name s: OpenCL C
 * has no run-time lane index, so a partial vector is assembled and taken
 * apart one named component at a time.
 *
 * Why not a zero-padded private array (float xb[LK_VW], filled element by
 * element, vloadN'd, then reused for dx), as reduce.cl does: PoCL 3.1's
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
 * from x and dy (xv and dyv start at zero), out from dxv_. */
#define LK_TAIL_LOAD(l, s)                                                     \
  if ((l) < rem) {                                                             \
    xv.s = x[q + (l)];                                                         \
    dyv.s = dy[q + (l)];                                                       \
  }
#define LK_TAIL_STORE(l, s)                                                    \
  if ((l) < rem)                                                               \
    out[q + (l)] = dxv_.s;
#endif

/* A reduction tile: block b of the job, dx written in the same pass, its
 * three sums to partials[3 * (PARTIAL + b) ..] in reduce.cl's order. */
void lk_batch_reduce_block(__global const LK_IDX *job, LK_IDX b, LK_IDX block,
                           __global const float *params, __global const float *x,
                           __global const float *dy, __global float *out,
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
  __global float *part = partials + 3 * (job[LK_JOB_PARTIAL] + b);
  x += base;
  dy += base;
  out += base;
#if LK_STRATEGY == 0
  lk_vec sum_s = 0.0f, sum_c = 0.0f, cnt = 0.0f, abs_s = 0.0f, abs_c = 0.0f;
  for (LK_IDX j = j_begin; j < j_end;) {
    /* A run: the contiguous piece of one [outer] segment inside the block. */
    const LK_IDX off = j % inner;
    const LK_IDX p = (j / inner * channels + c) * inner + off;
    const LK_IDX run = min(inner - off, j_end - j);
    LK_IDX r = 0;
    /* Groups of LK_GROUP vectors summed plainly, then with Kahan, in the
     * very order of reduce.cl, so dalpha has the same bits. */
    for (; r + LK_GROUP * LK_VW <= run; r += LK_GROUP * LK_VW) {
      lk_vec grp_s = 0.0f, grp_a = 0.0f;
      for (int g = 0; g < LK_GROUP; g++) {
        const LK_IDX q = p + r + g * LK_VW;
        const lk_vec xv = LK_LOAD(x + q), dyv = LK_LOAD(dy + q);
        lk_vec dxv_, term_;
        LK_BATCH_REDUCE_TERMS(lk_vec, lk_mask, phased, xv, dyv, a, t);
        LK_STORE(dxv_, out + q);
        grp_s += term_;
        cnt += LK_NEG_COUNT(lk_vec, lk_mask, xv);
        grp_a += LK_NEG_ABS(lk_vec, lk_mask, xv, dyv);
      }
      LK_KAHAN_ADD(lk_vec, lk_mask, sum_s, sum_c, grp_s);
      LK_KAHAN_ADD(lk_vec, lk_mask, abs_s, abs_c, grp_a);
    }
    for (; r + LK_VW <= run; r += LK_VW) {
      const lk_vec xv = LK_LOAD(x + p + r), dyv = LK_LOAD(dy + p + r);
      LK_BATCH_REDUCE_STEP(lk_vec, lk_mask, phased, xv, dyv, a, t,
                           LK_STORE(dxv_, out + p + r));
    }
#if LK_VW > 1
    /* The run's last run % LK_VW elements, zero-padded into one vector:
     * x = 0 contributes exact zeros to every sum, so the lanes and sums are
     * those of reduce.cl's tail. Built lane by lane in registers rather
     * than through a private array (see LK_LANES). */
    if (r < run) {
      const LK_IDX q = p + r, rem = run - r;
      lk_vec xv = 0.0f, dyv = 0.0f;
      LK_LANES(LK_TAIL_LOAD)
      LK_BATCH_REDUCE_STEP(lk_vec, lk_mask, phased, xv, dyv, a, t, LK_LANES(LK_TAIL_STORE));
    }
#endif
    j += run;
  }
  lk_fold_lanes(sum_s, sum_c, cnt, abs_s, abs_c, part);
#else
  const uint lid = get_local_id(0), wg = get_local_size(0);
  float sum_s = 0.0f, sum_c = 0.0f, cnt = 0.0f, abs_s = 0.0f, abs_c = 0.0f;
  for (LK_IDX j = j_begin + lid; j < j_end; j += wg) {
    const LK_IDX i = LK_CHANNEL_ELEMENT(j, c, inner, channels);
    const float xs = x[i], dys = dy[i];
    LK_BATCH_REDUCE_STEP(float, int, phased, xs, dys, a, t, out[i] = dxv_);
  }
  lk_tree_partials(sum_s, sum_c, cnt, abs_s, abs_c, scratch, part);
#endif
}

/* Every tile of the batch. CPU: global size ntiles rounded up to the
 * work-group size; GPU: ntiles work-groups (the tile kind is then uniform in
 * a work-group, as its barriers need). */
__kernel void lk_batch_tiles(LK_IDX ntiles, __global const LK_IDX *index, LK_IDX tiles_at,
                             LK_IDX tile_elems, LK_IDX block, __global const float *params,
                             __global const float *x, __global const float *dy,
                             __global float *out, __global float *partials,
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
  const LK_IDX first = index[channels_at + 2 * g], blocks = index[channels_at + 2 * g + 1];
  float ss = 0.0f, sc = 0.0f, ns = 0.0f, nc = 0.0f, as = 0.0f, ac = 0.0f;
  for (LK_IDX k = 0; k < blocks; k++) {
    const LK_IDX b = first + k;
    LK_KAHAN_ADD(float, int, ss, sc, partials[3 * b + 0]);
    LK_KAHAN_ADD(float, int, ns, nc, partials[3 * b + 1]);
    LK_KAHAN_ADD(float, int, as, ac, partials[3 * b + 2]);
  }
  finals[4 * g + 0] = ss - sc;
  finals[4 * g + 1] = ns;
  finals[4 * g + 2] = -nc;
  finals[4 * g + 3] = as - ac;
}
