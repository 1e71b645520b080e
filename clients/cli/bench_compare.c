/* bench_compare.c - `leakycl bench --compare`: for each size, every device's
 * block of resident leakycl calls, warmed up and calibrated as the sweep's,
 * sampled round-robin across the devices (a drift of the machine hits them
 * alike), then each case's output captured on every device and held against
 * the first device's and the float64 oracle (oracle/bench_measure.c). */
#include "bench_compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_candidates.h"
#include "bench_measure.h"
#include "cli.h"
#include "json_write.h"

#define COMPARE_CAP 64 /* candidates of one device's block */

/* One device's part of a compared row. */
typedef struct compare_cell {
  const bench_row *row;
  bench_agreement first, oracle;
} compare_cell;

static void progress(size_t n, const char *what) {
  fprintf(stderr, "leakycl: bench: compare n=%zu: %s\n", n, what);
}

/* ---- output ---- */

/* The worst of the devices' agreements (the first device's own is skipped
 * against itself). */
static bench_agreement worst(const compare_cell *cells, size_t ndev, int oracle) {
  bench_agreement w = {1, 0, 0, 0};
  for (size_t d = oracle ? 0 : 1; d < ndev; d++) {
    const bench_agreement *a = oracle ? &cells[d].oracle : &cells[d].first;
    w.identical &= a->identical;
    w.max_ulp = a->max_ulp > w.max_ulp ? a->max_ulp : w.max_ulp;
    w.has_dalpha |= a->has_dalpha;
    w.dalpha_rel = a->dalpha_rel > w.dalpha_rel ? a->dalpha_rel : w.dalpha_rel;
  }
  return w;
}

/* Against the first device: "identical", else the largest ULP distance of
 * y or dx and dalpha's relative difference. Against the oracle: "exact" or
 * the largest ULP distance, and dalpha's relative error. */
static void describe(const bench_agreement *a, int output, int oracle, char *buf, size_t len) {
  int k = 0;
  buf[0] = '\0';
  if (!oracle && a->identical) {
    snprintf(buf, len, "identical");
    return;
  }
  if (output)
    k = a->identical ? snprintf(buf, len, "exact")
                     : snprintf(buf, len, "max %llu ulp", (unsigned long long)a->max_ulp);
  if (a->has_dalpha && (oracle || !output || a->dalpha_rel > 0) && k >= 0 && (size_t)k < len)
    snprintf(buf + k, len - (size_t)k, "%sdalpha %.1e", k ? ", " : "", a->dalpha_rel);
}

static void table_header(const bench_device *devs, size_t ndev) {
  for (size_t d = 0; d < ndev; d++)
    printf("device %u:%u %s (%s), variant %s\n", devs[d].info.platform_index,
           devs[d].info.device_index, devs[d].info.name, devs[d].info.platform_name,
           devs[d].variant);
  printf("\n%-12s %-11s %9s", "OP", "ACTIVATION", "N");
  for (size_t d = 0; d < ndev; d++) {
    char label[48];
    snprintf(label, sizeof label, "%u:%u GB/S", devs[d].info.platform_index,
             devs[d].info.device_index);
    printf("  %16s", label);
  }
  printf("  %-26s %s\n", "SAME AS FIRST", "ORACLE");
}

static double fastest_gbps(const compare_cell *cells, size_t ndev) {
  double best = 0;
  for (size_t d = 0; d < ndev; d++)
    best = bench_row_gbps(cells[d].row) > best ? bench_row_gbps(cells[d].row) : best;
  return best;
}

static void table_row(const compare_cell *cells, size_t ndev) {
  const bench_row *r = cells[0].row;
  char count[32], op[24], same[64], oracle[64];
  bench_format_count(r->n, count, sizeof count);
  snprintf(op, sizeof op, "%s%s", bench_op_name(r->op), r->fused_dalpha ? "+da" : "");
  printf("%-12s %-11s %9s", op, r->activation, count);
  const double best = fastest_gbps(cells, ndev);
  for (size_t d = 0; d < ndev; d++) {
    const double g = bench_row_gbps(cells[d].row);
    printf("  %8.2f (%.2fx)", g, best > 0 ? g / best : 0);
  }
  const int output = r->op != BENCH_REDUCE;
  const bench_agreement w_first = worst(cells, ndev, 0), w_oracle = worst(cells, ndev, 1);
  describe(&w_first, output, 0, same, sizeof same);
  describe(&w_oracle, output, 1, oracle, sizeof oracle);
  printf("  %-26s %s\n", same, oracle);
}

/* One JSON object on one line: the case, then a "devices" entry each. */
static int json_row(const compare_cell *cells, size_t ndev) {
  const bench_row *r = cells[0].row;
  const double best = fastest_gbps(cells, ndev);
  lkt_buf b = {0};
  char text[160];
  lkt_buf_append_str(&b, "{\"activation\":");
  lkt_json_string(&b, r->activation);
  snprintf(text, sizeof text,
           ",\"op\":\"%s\",\"n\":%zu,\"dtype\":\"float32\",\"fused_dalpha\":%s,\"resident\":true,"
           "\"bytes\":%.0f,\"devices\":[",
           bench_op_name(r->op), r->n, r->fused_dalpha ? "true" : "false", r->bytes);
  lkt_buf_append_str(&b, text);
  for (size_t d = 0; d < ndev; d++) {
    const bench_row *row = cells[d].row;
    const bench_stats time = {row->seconds, row->min_seconds, row->max_seconds};
    lkt_buf_append_str(&b, d ? ",{" : "{");
    lkt_json_string_member(&b, "device", row->device);
    lkt_buf_append(&b, ",", 1);
    lkt_json_string_member(&b, "device_index", row->device_index);
    lkt_buf_append(&b, ",", 1);
    lkt_json_string_member(&b, "variant", row->variant);
    snprintf(text, sizeof text, ",\"samples\":%d,\"ratio_to_fastest\":%.6g,", row->samples,
             best > 0 ? bench_row_gbps(row) / best : 0);
    lkt_buf_append_str(&b, text);
    bench_measure_json(&b, &time, row->bytes, &cells[d].first, &cells[d].oracle);
    lkt_buf_append(&b, "}", 1);
  }
  lkt_buf_append_str(&b, "]}\n");
  const int rc = b.oom || fwrite(b.data, 1, b.len, stdout) != b.len ? -1 : 0;
  lkt_buf_free(&b);
  return rc;
}

/* ---- one case: outputs captured and compared ---- */

/* Case i of the blocks (candidate i of every device, timed): each device's
 * output against the first device's (kept in first) and the oracle; the
 * row printed. Returns an exit status. */
static int compare_case(bench_sweep *s, bench_block *blocks, bench_candidate *cands, size_t ndev,
                        size_t i, float *first) {
  const bench_candidate *c0 = &cands[i];
  const size_t n = blocks[0].n;
  leakycl_activation act = LEAKYCL_RELU;
  leakycl_activation_from_name(c0->row.activation, &act);
  /* bench calls run with leakycl_params_init's defaults (alpha_count 0). */
  const ck_call call = {act,
                        LEAKYCL_FLOAT32,
                        c0->row.op == BENCH_BACKWARD,
                        leakycl_view_flat(n),
                        0,
                        NULL,
                        LEAKYCL_DEFAULT_PHASED_BETA,
                        n,
                        s->hx,
                        s->hdy,
                        LEAKYCL_CONVENTIONS_PYTORCH};
  const int with_dalpha = c0->row.op == BENCH_REDUCE || c0->row.fused_dalpha;
  bench_oracle oracle;
  compare_cell cells[BENCH_MAX_DEVICES];
  float first_dalpha = 0;
  if (bench_oracle_init(&oracle, &call, with_dalpha) != 0) {
    cli_error("bench: out of memory");
    return CLI_EXIT_FAILURE;
  }
  int rc = CLI_EXIT_OK;
  for (size_t d = 0; d < ndev && rc == CLI_EXIT_OK; d++) {
    const bench_candidate *c = &cands[d * COMPARE_CAP + i];
    float dalpha = 0;
    const leakycl_status st = bench_capture(&blocks[d], c, &dalpha);
    if (st != LEAKYCL_OK) {
      rc = bench_candidate_failure(&blocks[d], c, st);
      break;
    }
    if (s->o->verify && (rc = bench_verify_output(&blocks[d], c, dalpha)) != CLI_EXIT_OK)
      break;
    const float *out = c->row.op == BENCH_REDUCE ? NULL : s->hout;
    if (d == 0) {
      memcpy(first, s->hout, n * sizeof(float));
      first_dalpha = dalpha;
    }
    const float *da = with_dalpha ? &dalpha : NULL;
    cells[d].row = &c->row;
    bench_agree_device(&oracle, out, da, out ? first : NULL, with_dalpha ? &first_dalpha : NULL,
                       &cells[d].first);
    bench_agree_oracle(&oracle, out, da, &cells[d].oracle);
    if (bench_rows_push(&s->all, &c->row) != 0) {
      cli_error("bench: out of memory");
      rc = CLI_EXIT_FAILURE;
    }
  }
  bench_oracle_free(&oracle);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (s->o->json) {
    if (json_row(cells, ndev) != 0) {
      cli_error("bench: cannot write the results");
      return CLI_EXIT_FAILURE;
    }
  } else {
    table_row(cells, ndev);
  }
  fflush(stdout);
  return CLI_EXIT_OK;
}

/* ---- one size: every device's block, sampled together ---- */

/* Warm-up and calibration of every candidate of every device, then the
 * repeats round-robin over the devices. Returns an exit status. */
static int time_blocks(const bench_options *o, bench_block *blocks, bench_candidate *cands,
                       size_t ndev, size_t count) {
  size_t failed = 0;
  progress(blocks[0].n, "warm-up");
  for (size_t d = 0; d < ndev; d++) {
    for (size_t i = 0; i < count; i++) {
      bench_candidate *c = &cands[d * COMPARE_CAP + i];
      const leakycl_status st = bench_calibrate(&blocks[d], c);
      if (st != LEAKYCL_OK)
        return bench_candidate_failure(&blocks[d], c, st);
    }
  }
  for (int r = 0; r < o->repeat; r++) {
    char what[64];
    snprintf(what, sizeof what, "repeat %d/%d on %zu devices", r + 1, o->repeat, ndev);
    progress(blocks[0].n, what);
    for (size_t d = 0; d < ndev; d++) {
      bench_candidate *dc = &cands[d * COMPARE_CAP];
      const leakycl_status st = bench_sample_round(&blocks[d], dc, count, &failed);
      if (st != LEAKYCL_OK)
        return bench_candidate_failure(&blocks[d], &dc[failed], st);
    }
  }
  for (size_t d = 0; d < ndev; d++)
    for (size_t i = 0; i < count; i++) {
      bench_candidate *c = &cands[d * COMPARE_CAP + i];
      bench_row_set_stats(&c->row, c->samples, c->sample_count);
    }
  return CLI_EXIT_OK;
}

static int compare_size(bench_sweep *s, const bench_device *devs, size_t ndev, size_t n,
                        float *first) {
  const bench_options *o = s->o;
  bench_block *blocks = calloc(ndev, sizeof *blocks);
  bench_candidate *cands = calloc(ndev * COMPARE_CAP, sizeof *cands);
  double *samples = NULL;
  size_t count = 0;
  int rc = CLI_EXIT_FAILURE;
  if (!blocks || !cands) {
    cli_error("bench: out of memory");
    goto done;
  }
  for (size_t d = 0; d < ndev; d++)
    count = bench_list_candidates(o, &devs[d], n, &cands[d * COMPARE_CAP], COMPARE_CAP);
  if (!(samples = calloc(ndev * count * (size_t)o->repeat + 1, sizeof *samples))) {
    cli_error("bench: out of memory");
    goto done;
  }
  for (size_t d = 0; d < ndev; d++)
    for (size_t i = 0; i < count; i++)
      cands[d * COMPARE_CAP + i].samples = samples + (d * count + i) * (size_t)o->repeat;
  rc = CLI_EXIT_OK;
  for (size_t d = 0; d < ndev && rc == CLI_EXIT_OK; d++)
    rc = bench_block_open(&blocks[d], &devs[d], n, s->hx, s->hdy, s->hout);
  if (rc == CLI_EXIT_OK)
    rc = time_blocks(o, blocks, cands, ndev, count);
  if (rc == CLI_EXIT_OK && o->verify)
    progress(n, "verifying every output against the float64 oracle");
  for (size_t i = 0; i < count && rc == CLI_EXIT_OK; i++)
    rc = compare_case(s, blocks, cands, ndev, i, first);
  if (rc == CLI_EXIT_OK && !o->json)
    putchar('\n');
done:
  for (size_t d = 0; blocks && d < ndev; d++)
    bench_block_close(&blocks[d]);
  free(samples);
  free(cands);
  free(blocks);
  return rc;
}

int bench_compare_run(bench_sweep *s, const bench_device *devs, size_t ndev) {
  const bench_options *o = s->o;
  float *first = malloc(o->n_max * sizeof(float));
  if (!first) {
    cli_error("bench: out of memory for %zu floats", o->n_max);
    return CLI_EXIT_FAILURE;
  }
  if (!o->json)
    table_header(devs, ndev);
  int rc = CLI_EXIT_OK;
  for (size_t n = o->n_min; n <= o->n_max && rc == CLI_EXIT_OK; n *= 4)
    rc = compare_size(s, devs, ndev, n, first);
  free(first);
  return rc;
}
