/* devices.c - opening the configured devices, matching a job's device SPEC
 * among them, and the /v1/devices JSON. */
#include "devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_json.h"
#include "errors.h"
#include "json_write.h"
#include "load.h"

/* Parses a whole decimal number (no sign, at most 9 digits); -1 otherwise. */
static long lkd_parse_index(const char *s, const char *end) {
  if (s == end || end - s > 9)
    return -1;
  long v = 0;
  for (const char *p = s; p < end; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

/* The daemon's own forms come first: no SPEC or "default" is the first
 * opened device and a bare number is an index into /v1/devices; everything
 * else follows the library's SPEC rules among the opened devices. */
long lkd_device_match(const leakycl_device_info *infos, size_t n, const char *spec) {
  if (n == 0)
    return -1;
  if (!spec || !*spec || strcmp(spec, "default") == 0)
    return 0;
  long idx = lkd_parse_index(spec, spec + strlen(spec));
  if (idx >= 0)
    return idx < (long)n ? idx : -1;
  size_t found;
  if (leakycl_device_match(spec, infos, n, &found, NULL, 0) != LEAKYCL_OK)
    return -1;
  return (long)found;
}

/* Opens one SPEC and appends it unless that device is open already. */
static int lkd_open_one(lkd_server *s, const char *spec, char *err, size_t errlen) {
  leakycl_context *ctx = NULL;
  char detail[512] = "";
  leakycl_status st = leakycl_context_create(spec, &ctx, detail, sizeof detail);
  if (st != LEAKYCL_OK) {
    snprintf(err, errlen, "cannot open device \"%s\": %s: %s", spec ? spec : "auto",
             leakycl_status_name(st), detail[0] ? detail : leakycl_status_message(st));
    return -1;
  }
  leakycl_device_info info;
  st = leakycl_context_device(ctx, &info);
  if (st != LEAKYCL_OK) {
    snprintf(err, errlen, "cannot query device \"%s\": %s", spec ? spec : "auto",
             leakycl_last_error(ctx));
    leakycl_context_release(ctx);
    return -1;
  }
  for (size_t i = 0; i < s->device_count; i++) {
    if (s->devices[i].info.platform_index == info.platform_index &&
        s->devices[i].info.device_index == info.device_index) {
      leakycl_context_release(ctx); /* named twice: keep the first */
      return 0;
    }
  }
  if (s->device_count == LKD_MAX_DEVICES) {
    leakycl_context_release(ctx);
    snprintf(err, errlen, "more than %d devices", LKD_MAX_DEVICES);
    return -1;
  }
  if (lkd_coalescer_init(&s->devices[s->device_count].coalescer) != 0) {
    leakycl_context_release(ctx);
    snprintf(err, errlen, "cannot create a mutex");
    return -1;
  }
  s->devices[s->device_count].ctx = ctx;
  s->devices[s->device_count].info = info;
  lkd_load_init(&s->devices[s->device_count].load);
  s->device_count++;
  return 0;
}

int lkd_devices_open(lkd_server *s, char *err, size_t errlen) {
  size_t count = 0;
  char detail[512] = "";
  leakycl_status st = leakycl_list_devices(NULL, 0, &count, detail, sizeof detail);
  if (st != LEAKYCL_OK) {
    snprintf(err, errlen, "cannot list OpenCL devices: %s", detail);
    return -1;
  }
  if (count > 0) {
    s->seen = calloc(count, sizeof *s->seen);
    if (!s->seen) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    size_t again = 0;
    st = leakycl_list_devices(s->seen, count, &again, detail, sizeof detail);
    if (st != LEAKYCL_OK) {
      snprintf(err, errlen, "cannot list OpenCL devices: %s", detail);
      goto fail;
    }
    s->seen_count = again < count ? again : count;
  }
  if (s->config.device_spec_count == 0) {
    if (lkd_open_one(s, NULL, err, errlen) != 0)
      goto fail;
  }
  for (size_t i = 0; i < s->config.device_spec_count; i++) {
    const char *spec = s->config.device_specs[i];
    if (strcmp(spec, "all") == 0) {
      if (s->seen_count == 0) {
        snprintf(err, errlen, "--device all: no OpenCL device found");
        goto fail;
      }
      for (size_t k = 0; k < s->seen_count; k++) {
        char pd[32];
        snprintf(pd, sizeof pd, "%u:%u", s->seen[k].platform_index, s->seen[k].device_index);
        if (lkd_open_one(s, pd, err, errlen) != 0)
          goto fail;
      }
    } else if (lkd_open_one(s, spec, err, errlen) != 0) {
      goto fail;
    }
  }
  return 0;
fail:
  lkd_devices_close(s);
  return -1;
}

int lkd_devices_load_bundles(lkd_server *s, char *err, size_t errlen) {
  int has_bundle[LKD_MAX_DEVICES] = {0};
  for (size_t b = 0; b < s->config.bundle_count; b++) {
    const char *path = s->config.bundles[b];
    char why[768] = "";
    int loaded = 0;
    for (size_t d = 0; d < s->device_count && !loaded; d++) {
      if (has_bundle[d])
        continue;
      if (leakycl_load_program_bundle(s->devices[d].ctx, path) == LEAKYCL_OK)
        loaded = has_bundle[d] = 1;
      else if (!why[0])
        snprintf(why, sizeof why, "%s", leakycl_last_error(s->devices[d].ctx));
    }
    if (!loaded) {
      snprintf(err, errlen, "--program-binary %s: %s", path,
               why[0] ? why : "every opened device has a bundle already");
      return -1;
    }
  }
  return 0;
}

void lkd_devices_close(lkd_server *s) {
  for (size_t i = 0; i < s->device_count; i++) {
    leakycl_context_release(s->devices[i].ctx);
    lkd_coalescer_destroy(&s->devices[i].coalescer);
  }
  s->device_count = 0;
  free(s->seen);
  s->seen = NULL;
  s->seen_count = 0;
}

/* One device object; open_index < 0 when the device is not in use. */
static void lkd_append_device(const lkd_server *s, lkt_buf *b, const leakycl_device_info *d,
                              long open_index) {
  char num[160];
  if (open_index >= 0)
    snprintf(num, sizeof num, "{\"index\":%ld,\"in_use\":true,", open_index);
  else
    snprintf(num, sizeof num, "{\"index\":null,\"in_use\":false,");
  lkt_buf_append_str(b, num);
  snprintf(num, sizeof num, "%u:%u", d->platform_index, d->device_index);
  lkt_json_string_member(b, "spec", num);
  lkt_buf_append(b, ",", 1);
  lkt_device_members(b, d);
  if (open_index >= 0) {
    leakycl_variant v;
    char desc[128];
    if (leakycl_get_variant(s->devices[open_index].ctx, &v) == LEAKYCL_OK &&
        leakycl_variant_describe(&v, desc, sizeof desc) == LEAKYCL_OK) {
      lkt_buf_append(b, ",", 1);
      lkt_json_string_member(b, "variant", desc);
      lkt_buf_append(b, ",", 1);
      lkt_json_string_member(b, "variant_origin",
                             leakycl_variant_origin(s->devices[open_index].ctx));
    }
    lkt_buf_append_str(b, open_index == 0 ? ",\"default\":true" : ",\"default\":false");
    lkt_buf_append_str(b, ",\"load\":");
    lkd_load_append_json(&s->devices[open_index].load, b);
  }
  lkt_buf_append(b, "}", 1);
}

void lkd_devices_append_json(const lkd_server *s, lkt_buf *b) {
  lkt_buf_append_str(b, "{\"default\":0,\"devices\":[");
  int first = 1;
  int shown[LKD_MAX_DEVICES] = {0};
  for (size_t k = 0; k < s->seen_count; k++) {
    long open_index = -1;
    for (size_t i = 0; i < s->device_count; i++)
      if (s->devices[i].info.platform_index == s->seen[k].platform_index &&
          s->devices[i].info.device_index == s->seen[k].device_index) {
        open_index = (long)i;
        shown[i] = 1;
      }
    if (!first)
      lkt_buf_append(b, ",", 1);
    first = 0;
    lkd_append_device(s, b, &s->seen[k], open_index);
  }
  /* A device opened through a path the listing missed still shows. */
  for (size_t i = 0; i < s->device_count; i++) {
    if (shown[i])
      continue;
    if (!first)
      lkt_buf_append(b, ",", 1);
    first = 0;
    lkd_append_device(s, b, &s->devices[i].info, (long)i);
  }
  lkt_buf_append_str(b, "]}");
}
