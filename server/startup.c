/* startup.c - the start-up lines (devices, program cache, limits) and the timed warm-up. */
#include "startup.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "log.h"
#include "probe.h"

static double lkd_now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void lkd_report_device(const lkd_server *s, size_t d) {
  const lkd_device *dev = &s->devices[d];
  leakycl_variant v;
  char desc[128];
  if (leakycl_get_variant(dev->ctx, &v) != LEAKYCL_OK ||
      leakycl_variant_describe(&v, desc, sizeof desc) != LEAKYCL_OK)
    snprintf(desc, sizeof desc, "?");
  lkd_log(LKD_LOG_NOTICE, "device %zu: %s (%s) on platform %s, variant \"%s\" from %s%s", d,
          dev->info.name, leakycl_device_type_name(dev->info.type), dev->info.platform_name, desc,
          leakycl_variant_origin(dev->ctx), d == 0 ? "; the default device" : "");
}

void lkd_startup_report(const lkd_server *s) {
  const lkd_config *c = &s->config;
  lkd_log(LKD_LOG_NOTICE, "starting version %s (pid %ld), log level %s, format %s", LEAKYCL_VERSION,
          (long)getpid(), lkd_log_level_name(c->log_level), c->log_json ? "json" : "text");
  for (size_t d = 0; d < s->device_count; d++)
    lkd_report_device(s, d);
  char dir[4096] = "";
  leakycl_program_cache_dir(dir, sizeof dir);
  if (dir[0])
    lkd_log(LKD_LOG_NOTICE, "program cache: %s", dir);
  else
    lkd_log(LKD_LOG_NOTICE, "program cache: off (LEAKYCL_CACHE=off, or no $HOME): every start "
                            "builds the kernels from source");
  const size_t inflight = c->max_inflight_bytes ? c->max_inflight_bytes : lkd_budget_default();
  lkd_log(LKD_LOG_NOTICE,
          "limits: --max-body %zu bytes, --max-elements %zu, --max-jobs %zu, --max-connections "
          "%u, --max-per-address %u%s, --threads %u, --max-inflight-bytes %zu%s, --timeout %u s",
          c->max_body, c->max_elements, c->max_jobs, c->max_connections, c->max_per_address,
          c->max_per_address ? "" : " (no limit)", c->threads, inflight,
          c->max_inflight_bytes ? "" : " (a quarter of memory)", c->timeout_s);
}

int lkd_startup_warm_up(lkd_server *s) {
  /* LEAKYCL_FAULT makes the first build, allocation or launch of each
   * context fail once; the warm-up would take that one failure and the
   * fault tests would never see it reach a job. */
  const char *fault = getenv("LEAKYCL_FAULT");
  if (fault && *fault) {
    lkd_log(LKD_LOG_WARN,
            "LEAKYCL_FAULT=%s is set (a test switch): no warm-up, the first job on each device "
            "will fail",
            fault);
    return 0;
  }
  for (size_t d = 0; d < s->device_count; d++) {
    const lkd_device *dev = &s->devices[d];
    lkd_log(LKD_LOG_NOTICE,
            "device %zu: building and warming up its kernels (from the program cache when it "
            "has them, else from source: up to a minute) ...",
            d);
    const double t0 = lkd_now_s();
    leakycl_status st = leakycl_warm_up(dev->ctx);
    if (st != LEAKYCL_OK) {
      lkd_log(LKD_LOG_ERROR, "warm-up of device %zu (%s) failed: %s: %s", d, dev->info.name,
              leakycl_status_name(st), leakycl_last_error(dev->ctx));
      return -1;
    }
    lkd_log(LKD_LOG_NOTICE, "device %zu: kernels ready in %.1f s", d, lkd_now_s() - t0);
  }
  if (s->device_count > 1) {
    lkd_log(LKD_LOG_INFO, "timing %zu devices for the scheduler ...", s->device_count);
    lkd_probe_devices(s);
  }
  return 0;
}
