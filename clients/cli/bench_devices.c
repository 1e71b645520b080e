/* bench_devices.c - the devices `leakycl bench` times: every one found, or
 * the one a SPEC names, or each of a comma-separated list of SPECs, each
 * opened with the chosen variant (one the device cannot run is bad usage,
 * named with the device). */
#include "bench_devices.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The SPECs of a comma-separated list into specs (cap entries of
 * BENCH_SPEC_LEN); returns an exit status (the error printed). */
#define BENCH_SPEC_LEN 128
static int split_specs(const char *list, char (*specs)[BENCH_SPEC_LEN], size_t cap, size_t *count) {
  *count = 0;
  for (const char *p = list;; p++) {
    const size_t len = strcspn(p, ",");
    if (len == 0 || len >= BENCH_SPEC_LEN || *count == cap) {
      cli_error("bench: --device \"%s\": %s", list,
                *count == cap ? "too many devices"
                              : "each SPEC of a list must be 1 to 127 characters");
      return CLI_EXIT_USAGE;
    }
    snprintf(specs[(*count)++], BENCH_SPEC_LEN, "%.*s", (int)len, p);
    p += len;
    if (!*p)
      return CLI_EXIT_OK;
  }
}

int bench_open_devices(const char *spec, const char *variant, bench_device *devs, size_t *count) {
  char err[1024];
  char specs[BENCH_MAX_DEVICES][BENCH_SPEC_LEN] = {""}; /* "": spec itself (NULL: the default) */
  size_t nspecs = 1;
  int rc = CLI_EXIT_OK;
  *count = 0;
  if (spec && strcmp(spec, "all") == 0) {
    char every[BENCH_MAX_DEVICES][CLI_SPEC_LEN];
    rc = cli_every_device("bench", "bench", every, BENCH_MAX_DEVICES, &nspecs);
    for (size_t i = 0; i < nspecs; i++)
      memcpy(specs[i], every[i], CLI_SPEC_LEN); /* "P:D" and its NUL */
  } else if (spec && strchr(spec, ',')) {
    rc = split_specs(spec, specs, BENCH_MAX_DEVICES, &nspecs);
  }
  if (rc != CLI_EXIT_OK)
    return rc;
  for (size_t i = 0; i < nspecs; i++) {
    bench_device *d = &devs[*count];
    memset(d, 0, sizeof *d);
    const char *s = *specs[i] ? specs[i] : spec;
    leakycl_status st = leakycl_context_create(s, &d->ctx, err, sizeof err);
    if (st != LEAKYCL_OK) {
      cli_error("bench: %s", err);
      return cli_exit_for_status(st);
    }
    ++*count;
    leakycl_variant v;
    st = leakycl_context_device(d->ctx, &d->info);
    if (st == LEAKYCL_OK && variant) {
      /* A variant the device cannot run is bad usage, named with the device. */
      if (leakycl_variant_parse(variant, &d->info, &v, err, sizeof err) != LEAKYCL_OK) {
        cli_error("bench: --variant on %s: %s", d->info.name, err);
        return CLI_EXIT_USAGE;
      }
      st = leakycl_set_variant(d->ctx, &v);
    }
    if (st == LEAKYCL_OK)
      st = leakycl_get_variant(d->ctx, &v);
    if (st == LEAKYCL_OK)
      st = leakycl_variant_describe(&v, d->variant, sizeof d->variant);
    if (st != LEAKYCL_OK) {
      cli_error("bench: %s", leakycl_last_error(d->ctx));
      return cli_exit_for_status(st);
    }
  }
  return CLI_EXIT_OK;
}

void bench_close_devices(bench_device *devs, size_t count) {
  for (size_t i = 0; i < count; i++)
    leakycl_context_release(devs[i].ctx);
}

void bench_row_identity(bench_row *r, const bench_device *d, size_t n, const char *kind,
                        const char *name) {
  memset(r, 0, sizeof *r);
  snprintf(r->kind, sizeof r->kind, "%s", kind);
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->device, sizeof r->device, "%s", d->info.name);
  snprintf(r->device_index, sizeof r->device_index, "%u:%u", d->info.platform_index,
           d->info.device_index);
  r->n = n;
}
