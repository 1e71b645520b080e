/* bench_sweep.c - the sweep of `leakycl bench`: for each device and size,
 * one block of candidates on the same data, warmed up and calibrated, then
 * sampled round-robin with the Python references run between the two halves
 * of the C samples, verified when asked, and printed as the block ends. */
#include "bench_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_candidates.h"
#include "cli.h"
#include "npy.h"

static void progress(const bench_device *d, size_t n, const char *what) {
  fprintf(stderr, "leakycl: bench: %u:%u n=%zu: %s\n", d->info.platform_index, d->info.device_index,
          n, what);
}

/* Writes the first n floats of data to dir/name; returns 0 or -1. */
static int write_npy(const char *dir, const char *name, const float *data, size_t n, char *path,
                     size_t pathlen) {
  char err[256];
  snprintf(path, pathlen, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  const npy_result r = npy_write(f, &n, 1, data, err, sizeof err);
  return fclose(f) == 0 && r == NPY_OK ? 0 : -1;
}

/* The Python references of one block, between the two halves of the C
 * samples (cross-process interleaving by blocks). */
static int python_block(bench_sweep *s, const bench_device *d, size_t n) {
  if (s->o->no_references || s->python.disabled)
    return 0;
  char xpath[128], dypath[128], acts[96] = "", ops[48] = "";
  if (write_npy(s->tmpdir, "x.npy", s->hx, n, xpath, sizeof xpath) != 0 ||
      write_npy(s->tmpdir, "dy.npy", s->hdy, n, dypath, sizeof dypath) != 0) {
    cli_error("bench: note: cannot write the data for the Python references in %s; skipped",
              s->tmpdir);
    return 0;
  }
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT; a++)
    if (s->o->activation[a])
      snprintf(acts + strlen(acts), sizeof acts - strlen(acts), "%s%s", *acts ? "," : "",
               leakycl_activation_name((leakycl_activation)a));
  for (int op = 0; op < BENCH_OP_COUNT; op++)
    if (s->o->op[op])
      snprintf(ops + strlen(ops), sizeof ops - strlen(ops), "%s%s", *ops ? "," : "",
               bench_op_name((bench_op)op));
  bench_row like;
  bench_row_identity(&like, d, n, "reference", "");
  const bench_python_job job = {xpath, dypath, n, s->o->repeat, acts, ops, &like};
  progress(d, n, "Python references");
  return bench_python_run(&s->python, &job, &s->block);
}

/* Times every candidate of device d at size n and prints their rows. */
static int run_block(bench_sweep *s, const bench_device *d, size_t n) {
  const bench_options *o = s->o;
  bench_candidate cands[128];
  const size_t count = bench_list_candidates(o, d, n, cands, 128);
  bench_block b;
  double *samples = calloc(count * (size_t)o->repeat, sizeof *samples);
  if (!samples) {
    cli_error("bench: out of memory");
    return CLI_EXIT_FAILURE;
  }
  for (size_t i = 0; i < count; i++)
    cands[i].samples = samples + i * (size_t)o->repeat;
  int rc = bench_block_open(&b, d, n, s->hx, s->hdy, s->hout);
  if (rc != CLI_EXIT_OK)
    goto done;
  progress(d, n, "warm-up");
  for (size_t i = 0; i < count; i++) {
    const leakycl_status st = bench_calibrate(&b, &cands[i]);
    if (st != LEAKYCL_OK) {
      rc = bench_candidate_failure(&b, &cands[i], st);
      goto done;
    }
  }
  /* Half the C samples, the Python block, then the other half. */
  const int first_half = (o->repeat + 1) / 2;
  for (int r = 0; r < o->repeat; r++) {
    if (r == first_half && python_block(s, d, n) != 0) {
      cli_error("bench: out of memory");
      rc = CLI_EXIT_FAILURE;
      goto done;
    }
    char what[64];
    snprintf(what, sizeof what, "repeat %d/%d of %zu candidates", r + 1, o->repeat, count);
    progress(d, n, what);
    size_t failed = 0;
    const leakycl_status st = bench_sample_round(&b, cands, count, &failed);
    if (st != LEAKYCL_OK) {
      rc = bench_candidate_failure(&b, &cands[failed], st);
      goto done;
    }
  }
  if (first_half >= o->repeat && python_block(s, d, n) != 0) {
    cli_error("bench: out of memory");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    bench_row_set_stats(&cands[i].row, cands[i].samples, cands[i].sample_count);
    if (bench_rows_push(&s->block, &cands[i].row) != 0) {
      cli_error("bench: out of memory");
      rc = CLI_EXIT_FAILURE;
      goto done;
    }
  }
  /* The figures stand only on answers the oracle accepts. */
  for (size_t i = 0; o->verify && i < count && rc == CLI_EXIT_OK; i++)
    if (cands[i].how == HOW_LEAKYCL_RESIDENT || cands[i].how == HOW_LEAKYCL_HOST)
      rc = bench_verify_candidate(&b, &cands[i]);
  if (rc != CLI_EXIT_OK)
    goto done;
  if (o->verify)
    progress(d, n, "verified against the float64 oracle");
  if (bench_rows_emit(stdout, &s->block, &s->all, o->json) != 0) {
    cli_error("bench: cannot write the results");
    rc = CLI_EXIT_FAILURE;
  }
done:
  s->block.count = 0;
  bench_block_close(&b);
  free(samples);
  return rc;
}

/* Page-aligned, so zero-copy host pointers and streaming stores apply. */
static float *alloc_floats(size_t n) {
  const size_t bytes = (n * sizeof(float) + 4095) / 4096 * 4096;
  return aligned_alloc(4096, bytes);
}

/* Deterministic data: x spread over [-8, 8) (every branch, phased_relu's
 * band [-5, 0) included), dy in [0, 1). */
static void fill_data(float *x, float *dy, size_t n) {
  for (size_t i = 0; i < n; i++) {
    x[i] = (float)((i * 2654435761u) % 16001) / 1000.0f - 8.0f;
    dy[i] = (float)((i * 40503u) % 1001) / 1000.0f;
  }
}

void bench_sweep_init(bench_sweep *s, const bench_options *o) {
  memset(s, 0, sizeof *s);
  s->o = o;
  bench_python_init(&s->python);
}

int bench_sweep_prepare(bench_sweep *s) {
  const size_t n = s->o->n_max;
  s->hx = alloc_floats(n);
  s->hdy = alloc_floats(n);
  s->hout = alloc_floats(n);
  if (!s->hx || !s->hdy || !s->hout) {
    cli_error("bench: out of memory for 3 x %zu floats", n);
    return CLI_EXIT_FAILURE;
  }
  fill_data(s->hx, s->hdy, n);
  if (!s->o->no_references) {
    const char *tmp = getenv("TMPDIR");
    snprintf(s->tmpdir, sizeof s->tmpdir, "%s/leakycl-bench-XXXXXX",
             tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(s->tmpdir)) {
      cli_error("bench: note: cannot create %s; Python references skipped", s->tmpdir);
      s->tmpdir[0] = '\0';
      s->python.disabled = 1;
    }
  }
  return CLI_EXIT_OK;
}

int bench_sweep_device(bench_sweep *s, const bench_device *d) {
  const bench_options *o = s->o;
  if (!o->json) {
    printf("device %u:%u %s (%s), variant %s\n\n", d->info.platform_index, d->info.device_index,
           d->info.name, d->info.platform_name, d->variant);
    bench_table_header(stdout);
  }
  int rc = CLI_EXIT_OK;
  for (size_t n = o->n_min; n <= o->n_max && rc == CLI_EXIT_OK; n *= 4)
    rc = run_block(s, d, n);
  return rc;
}

void bench_sweep_free(bench_sweep *s) {
  if (s->tmpdir[0]) {
    char path[128];
    snprintf(path, sizeof path, "%s/x.npy", s->tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/dy.npy", s->tmpdir);
    unlink(path);
    rmdir(s->tmpdir);
  }
  free(s->hx);
  free(s->hdy);
  free(s->hout);
  bench_rows_free(&s->all);
  bench_rows_free(&s->block);
  bench_python_free(&s->python);
}
