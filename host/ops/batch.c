/* batch.c - leakycl_run_jobs: many small jobs in one launch. Each job is
 * validated as its single call would be (lk_check_host_call); a valid job
 * that gains nothing from packing runs as that single call (decided here,
 * once, for every caller), and the rest are grouped into segments of one
 * storage type and profile that fit one device buffer (normally one segment
 * per dtype), each run by lk_batch_run_segment (batch_device.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/batch.h"
#include "ops/ops.h"

/* ---- validation ---- */

/* A job's message: the context's detail, cut to the job's field. */
static void set_job_error(leakycl_job *job, const char *detail) {
  const size_t len = strnlen(detail, sizeof job->error - 1);
  memcpy(job->error, detail, len);
  job->error[len] = '\0';
}

/* The single call a job stands for. */
static lk_host_call host_call_of(const leakycl_job *job) {
  const lk_host_call call = {job->op == LEAKYCL_OP_FORWARD ? LK_CALL_FORWARD : LK_CALL_BACKWARD,
                             &job->params,
                             job->view,
                             job->source,
                             job->x,
                             job->dy,
                             job->out,
                             job->grads,
                             job->dtype,
                             job->mask};
  return call;
}

/* Checks job j as its single call would and records the outcome in it. */
static leakycl_status check_job(leakycl_context *ctx, leakycl_job *job, lk_resolved *r) {
  ctx->error.text[0] = '\0';
  leakycl_status st;
  if (job->op != LEAKYCL_OP_FORWARD && job->op != LEAKYCL_OP_BACKWARD) {
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "op %d is neither forward (0) nor backward (1)", (int)job->op);
  } else if (job->op == LEAKYCL_OP_FORWARD && (job->grads || job->source != LEAKYCL_FROM_X)) {
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "a forward job takes no grads and reads x (source must be LEAKYCL_FROM_X)");
  } else if (job->op == LEAKYCL_OP_BACKWARD && job->mask) {
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                 "a backward job writes no mask (it reads one as x with LEAKYCL_FROM_MASK)");
  } else {
    const lk_host_call call = host_call_of(job);
    st = lk_check_host_call(ctx, &call, r);
  }
  job->status = st;
  set_job_error(job, st == LEAKYCL_OK ? "" : ctx->error.text);
  return st;
}

/* Whether a valid job runs as its single call would (zero-copy where the
 * device allows) rather than packed: when it is too big to gain from
 * packing (copying it into a packed buffer and back costs more than its own
 * launch), and for a float16 job whose single call lowers the vector width
 * (per-channel alpha with inner not a multiple of the variant's width). The
 * packed kernel converts float16 at the variant's width, and OpenCL
 * implementations need not give a NaN the same payload at every width
 * (PoCL's vload_half and vload_half4 do not), while packed results must be
 * the single call's bits. bfloat16 and float32 move bits exactly at any
 * width. And what the packed kernels do not compute: phased_relu's dbeta
 * (its own program, LK_DBETA, in the single call) and the packed masks
 * (mask.cl), written or read. */
static bool runs_alone(const leakycl_context *ctx, const lk_resolved *r, const leakycl_job *job) {
  return r->n > LEAKYCL_PACKED_JOB_MAX_ELEMENTS ||
         (r->dtype == LEAKYCL_FLOAT16 &&
          lk_call_vector_width(ctx, r) != ctx->variant.vector_width) ||
         (job->grads && job->grads->dbeta) || job->mask || job->source == LEAKYCL_FROM_MASK;
}

static leakycl_status run_lone_job(leakycl_context *ctx, leakycl_job *job) {
  const lk_host_call call = host_call_of(job);
  job->status = lk_run_host_call(ctx, &call);
  set_job_error(job, job->status == LEAKYCL_OK ? "" : ctx->error.text);
  return job->status;
}

/* The most elements of elem_size bytes one segment packs: one device
 * allocation. A job larger than that forms a segment of its own (and fails
 * as the allocation does). */
static size_t segment_capacity(const leakycl_context *ctx, size_t elem_size) {
  return (size_t)(ctx->info.max_alloc_bytes / elem_size);
}

/* Packed items by dtype and profile (each its own program), then in the
 * caller's order within one. */
static int compare_items(const void *a, const void *b) {
  const batch_item *x = a, *y = b;
  if (x->r.dtype != y->r.dtype)
    return x->r.dtype < y->r.dtype ? -1 : 1;
  if (x->r.conventions != y->r.conventions)
    return x->r.conventions < y->r.conventions ? -1 : 1;
  return (x->job > y->job) - (x->job < y->job);
}

/* ---- the public calls ---- */

/* Validates every job, runs the big ones alone and packs the rest; the
 * context is locked. */
static leakycl_status run_job_list(leakycl_context *ctx, leakycl_job *const *jobs, size_t count) {
  for (size_t j = 0; j < count; j++) {
    if (!jobs[j])
      return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "job %zu is NULL", j);
  }
  batch_item *items = malloc(count * sizeof *items);
  if (!items)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu jobs", count);
  size_t nitems = 0;
  for (size_t j = 0; j < count; j++) {
    leakycl_job *job = jobs[j];
    batch_item *it = &items[nitems];
    memset(it, 0, sizeof *it);
    if (check_job(ctx, job, &it->r) != LEAKYCL_OK)
      continue;
    if (runs_alone(ctx, &it->r, job)) {
      lk_resolved_free(&it->r);
      ctx->error.text[0] = '\0';
      run_lone_job(ctx, job);
      continue;
    }
    it->job = j;
    it->backward = job->op == LEAKYCL_OP_BACKWARD;
    it->reduce = it->backward && job->grads != NULL;
    if (it->r.n == 0) { /* nothing to launch, as in the single call */
      if (it->reduce)
        lk_write_grads(&it->r, NULL, 0, job->grads); /* as the single call */
      lk_resolved_free(&it->r);
      continue;
    }
    nitems++;
  }
  qsort(items, nitems, sizeof *items, compare_items);

  for (size_t k = 0; k < nitems;) {
    segment s = {.items = items + k,
                 .dtype = items[k].r.dtype,
                 .conventions = items[k].r.conventions,
                 .elem_size = items[k].r.elem_size,
                 .block = ctx->variant.reduce_block};
    const size_t capacity = segment_capacity(ctx, s.elem_size);
    while (k + s.count < nitems && items[k + s.count].r.dtype == s.dtype &&
           items[k + s.count].r.conventions == s.conventions) {
      /* No overflow: n * elem_size fits in size_t (checked), and elems <=
       * capacity. */
      const size_t add = lk_round_up(items[k + s.count].r.n, LK_BATCH_ALIGN);
      if (s.count > 0 && s.elems + add > capacity)
        break;
      s.elems += add;
      s.count++;
    }
    ctx->error.text[0] = '\0';
    leakycl_status st = lk_batch_run_segment(ctx, &s, jobs);
    for (size_t i = 0; i < s.count; i++) {
      leakycl_job *job = jobs[s.items[i].job];
      job->status = st;
      set_job_error(job, st == LEAKYCL_OK ? "" : ctx->error.text);
    }
    k += s.count;
  }
  for (size_t k = 0; k < nitems; k++)
    lk_resolved_free(&items[k].r);
  free(items);

  /* The context's detail is the first failed job's, as its status is. */
  ctx->error.text[0] = '\0';
  for (size_t j = 0; j < count; j++) {
    if (jobs[j]->status != LEAKYCL_OK) {
      snprintf(ctx->error.text, sizeof ctx->error.text, "job %zu: %s", j, jobs[j]->error);
      return jobs[j]->status;
    }
  }
  return LEAKYCL_OK;
}

leakycl_status leakycl_run_job_list(leakycl_context *ctx, leakycl_job *const *jobs, size_t count) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (count == 0)
    return LEAKYCL_OK;
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  const leakycl_status st =
      jobs ? run_job_list(ctx, jobs, count)
           : lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "jobs is NULL for %zu jobs", count);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

leakycl_status leakycl_run_jobs(leakycl_context *ctx, leakycl_job *jobs, size_t count) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (count == 0)
    return LEAKYCL_OK;
  if (!jobs)
    return leakycl_run_job_list(ctx, NULL, count);
  leakycl_job **list = malloc(count * sizeof *list);
  if (!list) {
    pthread_mutex_lock(&ctx->lock);
    const leakycl_status st =
        lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu jobs", count);
    pthread_mutex_unlock(&ctx->lock);
    return st;
  }
  for (size_t j = 0; j < count; j++)
    list[j] = &jobs[j];
  const leakycl_status st = leakycl_run_job_list(ctx, list, count);
  free(list);
  return st;
}
