/* batch_tables.c - where each packed job sits and the tables that tell
 * kernels/batch.cl so: per job a record, per tile (job, start), per
 * reduced channel (first partial, blocks), and the (alpha, threshold)
 * pairs. */
#include "ops/batch.h"
#include "ops/ops.h"

/* The job record of kernels/batch.cl, field by field (keep in step). */
enum {
  JOB_FLAGS,
  JOB_N,
  JOB_BASE,
  JOB_INNER,
  JOB_CHANNELS,
  JOB_PARAM,
  JOB_PER_CHANNEL,
  JOB_BLOCKS,
  JOB_PARTIAL,
  JOB_FIELDS
};
enum { FLAG_BACKWARD = 4, FLAG_PER_CHANNEL_ALPHA = 8, FLAG_REDUCE = 16 };

void lk_batch_layout(segment *s) {
  s->elems = s->nparams = s->ntiles = s->nblocks = s->nchannels = 0;
  s->any_backward = false;
  for (size_t k = 0; k < s->count; k++) {
    batch_item *it = &s->items[k];
    const lk_resolved *r = &it->r;
    it->base = s->elems;
    s->elems += lk_round_up(r->n, LK_BATCH_ALIGN);
    it->param = s->nparams;
    s->nparams += r->alpha_count;
    s->any_backward |= it->backward;
    if (it->reduce) {
      const size_t per_channel = r->n / r->channels;
      it->blocks = (per_channel + s->block - 1) / s->block;
      it->partial = s->nblocks;
      s->nblocks += r->channels * it->blocks;
      it->channel_first = s->nchannels;
      s->nchannels += r->channels;
      s->ntiles += r->channels * it->blocks;
    } else {
      s->ntiles += (r->n + s->tile_elems - 1) / s->tile_elems;
    }
  }
}

size_t lk_batch_index_len(const segment *s) {
  return s->count * JOB_FIELDS + 2 * s->ntiles + 2 * s->nchannels;
}

/* Writes index i of a table of uint or ulong. */
static void put_index(void *table, bool wide, size_t i, size_t v) {
  if (wide)
    ((cl_ulong *)table)[i] = (cl_ulong)v;
  else
    ((cl_uint *)table)[i] = (cl_uint)v;
}

/* The job records, then the tiles (reductions first: they are the longest,
 * so they start first and the short ones fill in), then the channel rows of
 * lk_batch_finish. Returns where the tiles and channels begin. */
void lk_batch_fill_index(const segment *s, void *table, size_t *tiles_at, size_t *channels_at) {
  const bool w = s->wide;
  for (size_t k = 0; k < s->count; k++) {
    const batch_item *it = &s->items[k];
    const lk_resolved *r = &it->r;
    const size_t f = k * JOB_FIELDS;
    put_index(table, w, f + JOB_FLAGS,
              (size_t)r->activation | (it->backward ? FLAG_BACKWARD : 0) |
                  (r->per_channel ? FLAG_PER_CHANNEL_ALPHA : 0) | (it->reduce ? FLAG_REDUCE : 0));
    put_index(table, w, f + JOB_N, r->n);
    put_index(table, w, f + JOB_BASE, it->base);
    put_index(table, w, f + JOB_INNER, r->inner);
    put_index(table, w, f + JOB_CHANNELS, r->channels);
    put_index(table, w, f + JOB_PARAM, it->param);
    put_index(table, w, f + JOB_PER_CHANNEL, r->n / r->channels);
    put_index(table, w, f + JOB_BLOCKS, it->blocks);
    put_index(table, w, f + JOB_PARTIAL, it->partial);
  }
  size_t t = *tiles_at = s->count * JOB_FIELDS;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t k = 0; k < s->count; k++) {
      const batch_item *it = &s->items[k];
      if (it->reduce != (pass == 0))
        continue;
      const size_t count =
          it->reduce ? it->r.channels * it->blocks : (it->r.n + s->tile_elems - 1) / s->tile_elems;
      for (size_t i = 0; i < count; i++) {
        put_index(table, w, t++, k);
        put_index(table, w, t++, it->reduce ? i : i * s->tile_elems);
      }
    }
  }
  *channels_at = t;
  for (size_t k = 0; k < s->count; k++) {
    const batch_item *it = &s->items[k];
    for (size_t c = 0; it->reduce && c < it->r.channels; c++) {
      put_index(table, w, t++, it->partial + c * it->blocks);
      put_index(table, w, t++, it->blocks);
    }
  }
}

void lk_batch_fill_params(const segment *s, float *pairs) {
  for (size_t k = 0; k < s->count; k++) {
    const lk_resolved *r = &s->items[k].r;
    float *p = pairs + 2 * s->items[k].param;
    for (size_t c = 0; c < r->alpha_count; c++) {
      p[2 * c] = r->per_channel ? r->alpha_c[c] : r->alpha;
      p[2 * c + 1] = r->per_channel ? r->thresh_c[c] : r->thresh;
    }
  }
}
