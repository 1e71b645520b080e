/* variant.c - how kernels are shaped on a device, decided in one place: the
 * strategy, vector width, work-group size, chunk and reduction block, each
 * default with its reason (by device type, then by vendor), and the
 * validation of overrides. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "tune/tune.h"

#define LK_MAX_VECTORS_PER_ITEM 65536u
#define LK_MAX_REDUCE_BLOCK (1u << 24) /* block counts stay exact in float */

static const char *const strategy_names[] = {
    [LEAKYCL_STRATEGY_CPU] = "cpu", [LEAKYCL_STRATEGY_GPU] = "gpu"};

const char *leakycl_strategy_name(leakycl_strategy strategy) {
  return LK_NAME_OF(strategy_names, strategy, "unknown");
}

static size_t clamp_pow2(size_t want, size_t max) {
  size_t wg = 1;
  while (wg * 2 <= want && wg * 2 <= max)
    wg *= 2;
  return wg;
}

/* The largest gpu-strategy work-group: the device's limit, halved until the
 * reduction tree's 5 floats an item fit in local memory. */
static size_t gpu_max_wg(const leakycl_device_info *device) {
  size_t max_wg = device->max_work_group_size ? device->max_work_group_size : 1;
  while (max_wg > 1 && 5 * max_wg * sizeof(float) > device->local_mem_bytes)
    max_wg /= 2;
  return max_wg;
}

/* The type level: every device of a type starts here. */
static void type_default(const leakycl_device_info *device, leakycl_strategy strategy,
                         leakycl_variant *out) {
  size_t max_wg = device->max_work_group_size ? device->max_work_group_size : 1;
  if (strategy == LEAKYCL_STRATEGY_CPU) {
    /* CPUs: one work-item streams a contiguous chunk with wide loads.
     * float16 vectors, 16 of them a work-item, measured best on PoCL
     * (`leakycl tune` at 64 Mi: forward 1.06x, backward 1.12x, reduce
     * 1.14x over float8 x 64; the README's float16 figures agree). A fixed
     * local size: PoCL's own choice measured 10-20% slower. Blocks of 16 Ki
     * elements keep reduction partials few and exact. */
    out->strategy = LEAKYCL_STRATEGY_CPU;
    out->vector_width = 16;
    out->work_group_size = clamp_pow2(16, max_wg);
    out->vectors_per_item = 16;
    out->reduce_block = 16384;
    /* Streaming stores from 1 Mi elements (4 MiB of output) on: 1.5-1.7x
     * beyond the caches on PoCL, no loss measured at this size. */
    out->streaming_threshold = (size_t)1 << 20;
  } else {
    /* GPUs, FPGAs and the rest: coalesced float4 loads over a grid stride,
     * 256 work-items a group (a multiple of every warp and wavefront), and
     * a block per work-group reduced by a tree in local memory. */
    out->strategy = LEAKYCL_STRATEGY_GPU;
    out->vector_width = 4;
    out->work_group_size = clamp_pow2(256, gpu_max_wg(device));
    out->vectors_per_item = 1;
    out->reduce_block = 16 * out->work_group_size;
    /* Off: GPUs' streaming hints vary by vendor; `leakycl tune` tries them. */
    out->streaming_threshold = 0;
  }
}

/* The vendor level, between a device's tuned line and its type's default
 * (CLBlast's database order: device, vendor + type, type). A row changes
 * only the fields it names; each says why. Vendors are matched as
 * case-insensitive substrings of CL_DEVICE_VENDOR. */
typedef struct vendor_row {
  const char *vendor;
  leakycl_device_type type;
  size_t work_group_size; /* 0: the type's */
  size_t items_per_block; /* reduce_block = this x work_group_size; 0: the type's */
  const char *why;
} vendor_row;

static const vendor_row vendor_rows[] = {
    /* NVIDIA: warps of 32, up to 2048 resident threads an SM. 256-item
     * groups keep 8 groups an SM; 64 elements an item before the tree (a
     * block of 16 Ki) makes a quarter of the partials and barriers of the
     * type default, which on an H200-class part (132 SMs) is still ~16
     * blocks an SM at 32 Mi elements. float4 loads are 128-bit
     * transactions, the widest a thread issues. */
    {"nvidia", LEAKYCL_DEVICE_GPU, 256, 64,
     "NVIDIA GPUs: 256-item groups, 64 elements an item per reduction block"},
    /* AMD: wavefronts of 64 and 4 SIMDs a compute unit, so 256 items is one
     * wave a SIMD; longer blocks as for NVIDIA (fewer LDS trees). */
    {"advanced micro devices", LEAKYCL_DEVICE_GPU, 256, 64,
     "AMD GPUs: 256-item groups (a wavefront of 64 on each of 4 SIMDs), 64 elements an item"},
    {"amd", LEAKYCL_DEVICE_GPU, 256, 64,
     "AMD GPUs: 256-item groups (a wavefront of 64 on each of 4 SIMDs), 64 elements an item"},
    /* Intel: many Gen parts cap a work-group at 256 and run SIMD8-32 on
     * small EUs with little shared local memory; 128 items leave room for
     * two groups a subslice, and blocks stay at 16 elements an item. */
    {"intel", LEAKYCL_DEVICE_GPU, 128, 16,
     "Intel GPUs: 128-item groups (two a subslice within the 256-item cap)"},
};

/* Whether `needle` (lower case) occurs in `hay`, ignoring case. */
static bool contains_nocase(const char *hay, const char *needle) {
  const size_t n = strlen(needle);
  for (; *hay; hay++) {
    size_t k = 0;
    while (k < n && hay[k] && tolower((unsigned char)hay[k]) == needle[k])
      k++;
    if (k == n)
      return true;
  }
  return false;
}

static const vendor_row *vendor_row_of(const leakycl_device_info *device) {
  for (size_t i = 0; i < sizeof vendor_rows / sizeof vendor_rows[0]; i++) {
    if (vendor_rows[i].type == device->type &&
        contains_nocase(device->vendor, vendor_rows[i].vendor))
      return &vendor_rows[i];
  }
  return NULL;
}

const char *lk_variant_default(const leakycl_device_info *device, leakycl_strategy strategy,
                               leakycl_variant *out) {
  type_default(device, strategy, out);
  const vendor_row *row = vendor_row_of(device);
  /* A vendor row shapes the gpu strategy; the cpu one stays the type's. */
  if (!row || strategy != LEAKYCL_STRATEGY_GPU)
    return "default";
  if (row->work_group_size)
    out->work_group_size = clamp_pow2(row->work_group_size, gpu_max_wg(device));
  if (row->items_per_block)
    out->reduce_block = row->items_per_block * out->work_group_size;
  return "vendor";
}

leakycl_strategy lk_strategy_of_type(leakycl_device_type type) {
  return type == LEAKYCL_DEVICE_CPU ? LEAKYCL_STRATEGY_CPU : LEAKYCL_STRATEGY_GPU;
}

const char *lk_variant_vendor_reason(const leakycl_device_info *device) {
  const vendor_row *row = vendor_row_of(device);
  return row ? row->why : NULL;
}

leakycl_status lk_variant_check(const leakycl_variant *v, const leakycl_device_info *device,
                                char *err, size_t errlen) {
  if (!v)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "variant is NULL");
  if (v->strategy != LEAKYCL_STRATEGY_CPU && v->strategy != LEAKYCL_STRATEGY_GPU)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "strategy %d is neither cpu (0) nor gpu (1)", (int)v->strategy);
  const unsigned vw = v->vector_width;
  if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "vector_width %u must be 1, 2, 4, 8 or 16", vw);
  if (v->work_group_size < 1 || v->work_group_size > device->max_work_group_size)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "work_group_size %zu is out of range [1, %zu] for this device",
                       v->work_group_size, device->max_work_group_size);
  if (v->strategy == LEAKYCL_STRATEGY_GPU && (v->work_group_size & (v->work_group_size - 1)) != 0)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "work_group_size %zu must be a power of two for the gpu strategy "
                       "(the reduction tree halves it)",
                       v->work_group_size);
  if (v->strategy == LEAKYCL_STRATEGY_GPU &&
      5 * v->work_group_size * sizeof(float) > device->local_mem_bytes)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "work_group_size %zu needs %zu bytes of local memory; the device has "
                       "%llu",
                       v->work_group_size, 5 * v->work_group_size * sizeof(float),
                       (unsigned long long)device->local_mem_bytes);
  if (v->vectors_per_item < 1 || v->vectors_per_item > LK_MAX_VECTORS_PER_ITEM)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "vectors_per_item %zu is out of range [1, %u]", v->vectors_per_item,
                       LK_MAX_VECTORS_PER_ITEM);
  if (v->reduce_block < 1 || v->reduce_block > LK_MAX_REDUCE_BLOCK)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "reduce_block %zu is out of range [1, %u]", v->reduce_block,
                       LK_MAX_REDUCE_BLOCK);
  return LEAKYCL_OK;
}

leakycl_status leakycl_variant_describe(const leakycl_variant *variant, char *buf, size_t buflen) {
  if (!variant || !buf || buflen == 0)
    return LEAKYCL_INVALID_ARGUMENT;
  int w = snprintf(buf, buflen, "%s vw%u wg%zu chunk%zu block%zu nt%zu",
                   leakycl_strategy_name(variant->strategy), variant->vector_width,
                   variant->work_group_size, variant->vectors_per_item, variant->reduce_block,
                   variant->streaming_threshold);
  return w < 0 || (size_t)w >= buflen ? LEAKYCL_INVALID_ARGUMENT : LEAKYCL_OK;
}

/* Parses the digits of a field ("8" of "vw8"): no sign, no overflow. */
static bool parse_size(const char *digits, size_t len, size_t *out) {
  if (len == 0 || len > 19)
    return false;
  size_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (digits[i] < '0' || digits[i] > '9')
      return false;
    v = v * 10 + (size_t)(digits[i] - '0');
  }
  *out = v;
  return true;
}

leakycl_status leakycl_variant_parse(const char *text, const leakycl_device_info *device,
                                     leakycl_variant *out, char *err, size_t errlen) {
  if (!text || !device || !out)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "text, device or out is NULL");
  static const char *const fields[] = {"vw", "wg", "chunk", "block", "nt"};
  leakycl_variant v;
  bool have_strategy = false;
  const char *p = text;
  while (*p) {
    while (*p == ' ' || *p == '\t')
      p++;
    const size_t len = strcspn(p, " \t");
    if (len == 0)
      break;
    if (!have_strategy) {
      if (len == 3 && strncmp(p, "cpu", 3) == 0)
        lk_variant_default(device, LEAKYCL_STRATEGY_CPU, &v);
      else if (len == 3 && strncmp(p, "gpu", 3) == 0)
        lk_variant_default(device, LEAKYCL_STRATEGY_GPU, &v);
      else
        return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                           "variant \"%s\": begins with the strategy, cpu or gpu", text);
      have_strategy = true;
      p += len;
      continue;
    }
    size_t f = 0, value = 0;
    while (f < sizeof fields / sizeof fields[0] &&
           !(strncmp(p, fields[f], strlen(fields[f])) == 0 &&
             parse_size(p + strlen(fields[f]), len - strlen(fields[f]), &value)))
      f++;
    switch (f) {
    case 0:
      v.vector_width = value > 16 ? 0 : (unsigned)value;
      break;
    case 1:
      v.work_group_size = value;
      break;
    case 2:
      v.vectors_per_item = value;
      break;
    case 3:
      v.reduce_block = value;
      break;
    case 4:
      v.streaming_threshold = value;
      break;
    default:
      return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                         "variant \"%s\": \"%.*s\" is not one of vwN wgN chunkN blockN ntN", text,
                         (int)len, p);
    }
    p += len;
  }
  if (!have_strategy)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "variant \"%s\": begins with the strategy, cpu or gpu", text);
  leakycl_status st = lk_variant_check(&v, device, err, errlen);
  if (st == LEAKYCL_OK)
    *out = v;
  return st;
}

const char *leakycl_variant_origin(const leakycl_context *ctx) {
  return ctx && ctx->variant_origin ? ctx->variant_origin : "default";
}

leakycl_status leakycl_default_variant(const leakycl_device_info *device, leakycl_strategy strategy,
                                       leakycl_variant *out) {
  if (!device || !out || (strategy != LEAKYCL_STRATEGY_CPU && strategy != LEAKYCL_STRATEGY_GPU))
    return LEAKYCL_INVALID_ARGUMENT;
  lk_variant_default(device, strategy, out);
  return LEAKYCL_OK;
}

leakycl_status leakycl_get_variant(const leakycl_context *ctx, leakycl_variant *out) {
  if (!ctx || !out)
    return LEAKYCL_INVALID_ARGUMENT;
  *out = ctx->variant;
  return LEAKYCL_OK;
}

leakycl_status leakycl_set_variant(leakycl_context *ctx, const leakycl_variant *variant) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  pthread_mutex_lock(&ctx->lock);
  leakycl_status st =
      lk_variant_check(variant, &ctx->info, ctx->error.text, sizeof ctx->error.text);
  if (st == LEAKYCL_OK) {
    ctx->variant = *variant;
    ctx->variant_origin = "set";
    ctx->error.text[0] = '\0';
  }
  pthread_mutex_unlock(&ctx->lock);
  return st;
}
