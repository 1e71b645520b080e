/* bench_measure.c - a compared call's timing statistics and its outputs'
 * agreement with another device and with the float64 oracle. */
#include "bench_measure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void bench_stats_of(double *samples, int count, bench_stats *out) {
  memset(out, 0, sizeof *out);
  if (count <= 0)
    return;
  qsort(samples, (size_t)count, sizeof *samples, cmp_double);
  out->median =
      count % 2 ? samples[count / 2] : 0.5 * (samples[count / 2 - 1] + samples[count / 2]);
  out->min = samples[0];
  out->max = samples[count - 1];
}

int bench_oracle_init(bench_oracle *o, const ck_call *call, int with_dalpha) {
  memset(o, 0, sizeof *o);
  o->call = *call;
  o->channels = ck_call_channels(call);
  if (with_dalpha && !(o->sums = ck_call_grad_sums(call)))
    return -1;
  return 0;
}

void bench_oracle_free(bench_oracle *o) {
  free(o->sums);
  o->sums = NULL;
}

/* |got - want| scaled by the channel's Σ|terms|. */
static double relative(float got, double want, double sum_abs) {
  if ((isnan(got) && isnan(want)) || (double)got == want)
    return 0;
  if (!isfinite(got) || !isfinite(want) || !(sum_abs > 0))
    return INFINITY;
  return fabs((double)got - want) / sum_abs;
}

/* ref_out and ref_dalpha: another device's outputs; oracle: the float64
 * values instead (then ref_* are unused). */
static void agree(const bench_oracle *o, const void *out, const float *dalpha, int oracle,
                  const void *ref_out, const float *ref_dalpha, bench_agreement *a) {
  const ck_call *c = &o->call;
  memset(a, 0, sizeof *a);
  a->identical = 1;
  for (size_t i = 0; out && i < c->n; i++) {
    const uint32_t got = ck_out_pattern(c->dtype, out, i);
    uint32_t want;
    if (oracle) {
      const ck_elem e = ck_call_elem(c, i);
      ck_check_elem(&e, got, 1, &want); /* strict: denormals as IEEE 754 has them */
    } else {
      want = ck_out_pattern(c->dtype, ref_out, i);
    }
    const uint64_t d = ck_ulp_distance(c->dtype, got, want);
    /* d == 0 also for -0 against +0: identical needs the same bits too. */
    if (d != 0 || (got != want && !isnan(ck_value(c->dtype, got))))
      a->identical = 0;
    if (d > a->max_ulp)
      a->max_ulp = d;
  }
  if (!dalpha || !o->sums)
    return;
  a->has_dalpha = 1;
  for (size_t ch = 0; ch < o->channels; ch++) {
    const double want = oracle ? o->sums[ch].sum : (double)ref_dalpha[ch];
    const double rel = relative(dalpha[ch], want, o->sums[ch].sum_abs);
    if (rel > a->dalpha_rel)
      a->dalpha_rel = rel;
    if (!oracle && memcmp(&dalpha[ch], &ref_dalpha[ch], sizeof(float)) != 0 &&
        !(isnan(dalpha[ch]) && isnan(ref_dalpha[ch])))
      a->identical = 0;
  }
}

void bench_agree_oracle(const bench_oracle *o, const void *out, const float *dalpha,
                        bench_agreement *a) {
  agree(o, out, dalpha, 1, NULL, NULL, a);
}

void bench_agree_device(const bench_oracle *o, const void *out, const float *dalpha,
                        const void *ref_out, const float *ref_dalpha, bench_agreement *a) {
  agree(o, out, dalpha, 0, ref_out, ref_dalpha, a);
}

static void append_agreement(lkt_buf *b, const char *key, const bench_agreement *a) {
  char text[64];
  lkt_json_key(b, key);
  snprintf(text, sizeof text, "{\"identical\":%s,\"max_ulp\":%llu", a->identical ? "true" : "false",
           (unsigned long long)a->max_ulp);
  lkt_buf_append_str(b, text);
  if (a->has_dalpha) {
    lkt_buf_append_str(b, ",\"dalpha_rel\":");
    lkt_json_float(b, (float)a->dalpha_rel); /* "Infinity" when unbounded */
  }
  lkt_buf_append(b, "}", 1);
}

void bench_measure_json(lkt_buf *b, const bench_stats *time, double bytes,
                        const bench_agreement *first, const bench_agreement *oracle) {
  const struct {
    const char *key;
    double value;
  } numbers[] = {{"seconds", time->median},
                 {"min_seconds", time->min},
                 {"max_seconds", time->max},
                 {"gbps", time->median > 0 ? bytes / time->median / 1e9 : 0}};
  for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
    char text[40]; /* nine significant digits: the tests recompute gbps */
    snprintf(text, sizeof text, "%.9g,", numbers[i].value);
    lkt_json_key(b, numbers[i].key);
    lkt_buf_append_str(b, text);
  }
  append_agreement(b, "agrees_with_first", first);
  lkt_buf_append(b, ",", 1);
  append_agreement(b, "agrees_with_oracle", oracle);
}
