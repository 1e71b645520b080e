/* cmd_devices.c - `leakycl devices [--json]`: every OpenCL platform and
 * device as an aligned table or one JSON array. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "commands.h"
#include "device_json.h"
#include "json_write.h"

/* Formats a byte count as "7.6 GiB", "64 KiB" or "512 B". */
static void format_bytes(uint64_t bytes, char *buf, size_t buflen) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024.0;
    u++;
  }
  if (u == 0 || v >= 100.0 || v == (double)(uint64_t)v)
    snprintf(buf, buflen, "%.0f %s", v, units[u]);
  else
    snprintf(buf, buflen, "%.1f %s", v, units[u]);
}

enum {
  COL_INDEX,
  COL_TYPE,
  COL_VENDOR,
  COL_NAME,
  COL_VERSION,
  COL_DRIVER,
  COL_CU,
  COL_GLOBAL,
  COL_LOCAL,
  COL_UNIFIED,
  COL_MAXWG,
  COL_PLATFORM,
  COL_COUNT
};

/* The table's cells of one device (row NULL: the header). */
static void device_cells(const leakycl_device_info *d, char cells[COL_COUNT][160]) {
  static const char *const header[COL_COUNT] = {"INDEX",   "TYPE",    "VENDOR", "NAME",
                                                "VERSION", "DRIVER",  "CU",     "GLOBAL",
                                                "LOCAL",   "UNIFIED", "MAX_WG", "PLATFORM"};
  if (!d) {
    for (int c = 0; c < COL_COUNT; c++)
      snprintf(cells[c], 160, "%s", header[c]);
    return;
  }
  snprintf(cells[COL_INDEX], 160, "%u:%u", d->platform_index, d->device_index);
  snprintf(cells[COL_TYPE], 160, "%s", leakycl_device_type_name(d->type));
  snprintf(cells[COL_VENDOR], 160, "%s", d->vendor);
  snprintf(cells[COL_NAME], 160, "%s", d->name);
  snprintf(cells[COL_VERSION], 160, "%s", d->version);
  snprintf(cells[COL_DRIVER], 160, "%s", d->driver_version);
  snprintf(cells[COL_CU], 160, "%u", d->compute_units);
  format_bytes(d->global_mem_bytes, cells[COL_GLOBAL], 160);
  format_bytes(d->local_mem_bytes, cells[COL_LOCAL], 160);
  snprintf(cells[COL_UNIFIED], 160, "%s", d->unified_memory ? "yes" : "no");
  snprintf(cells[COL_MAXWG], 160, "%zu", d->max_work_group_size);
  snprintf(cells[COL_PLATFORM], 160, "%s", d->platform_name);
}

static int print_table(const leakycl_device_info *devs, size_t n) {
  char cells[COL_COUNT][160];
  size_t width[COL_COUNT] = {0};
  for (size_t i = 0; i <= n; i++) {
    device_cells(i == 0 ? NULL : &devs[i - 1], cells);
    for (int c = 0; c < COL_COUNT; c++) {
      const size_t w = strlen(cells[c]);
      width[c] = w > width[c] ? w : width[c];
    }
  }
  for (size_t i = 0; i <= n; i++) {
    device_cells(i == 0 ? NULL : &devs[i - 1], cells);
    for (int c = 0; c < COL_COUNT; c++) {
      /* Numbers right-aligned, text left-aligned; no trailing spaces. */
      const int right = c == COL_CU || c == COL_GLOBAL || c == COL_LOCAL || c == COL_MAXWG;
      const int last = c == COL_COUNT - 1;
      if (printf("%s%*s", c ? "  " : "",
                 right  ? (int)width[c]
                 : last ? 0
                        : -(int)width[c],
                 cells[c]) < 0)
        return -1;
    }
    if (putchar('\n') == EOF)
      return -1;
  }
  return 0;
}

/* Writes one device as a JSON object: its "index" (P:D) and the members
 * the daemon's /v1/devices gives too (text/device_json.c). Returns 0 or -1. */
static int print_json_device(FILE *f, const leakycl_device_info *d) {
  char index[48];
  snprintf(index, sizeof index, "%u:%u", d->platform_index, d->device_index);
  lkt_buf b = {0};
  lkt_buf_append(&b, "{", 1);
  lkt_json_string_member(&b, "index", index);
  lkt_buf_append(&b, ",", 1);
  lkt_device_members(&b, d);
  lkt_buf_append(&b, "}", 1);
  const int ok = !b.oom && fwrite(b.data, 1, b.len, f) == b.len;
  lkt_buf_free(&b);
  return ok ? 0 : -1;
}

static int print_json(const leakycl_device_info *devs, size_t n) {
  if (putchar('[') == EOF)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if ((i > 0 && putchar(',') == EOF) || print_json_device(stdout, &devs[i]) != 0)
      return -1;
  }
  return fputs("]\n", stdout) < 0 ? -1 : 0;
}

static const char devices_usage[] =
    "usage: leakycl devices [--json]\n"
    "\n"
    "Lists every OpenCL platform and device: index (P:D, usable as --device),\n"
    "type, vendor, name, version, driver version, compute units, global and\n"
    "local memory, unified memory and the maximum work-group size.\n"
    "  --json   one JSON array of objects instead of a table\n";

static int cmd_devices(int argc, char **argv) {
  int json = 0;
  const cli_option options[] = {{"--json", .flag = &json}};
  const cli_option_table table = {"devices", devices_usage, options, 1, .stray = "argument"};
  int rc;
  if (!cli_parse_options(&table, argc, argv, &rc))
    return rc;
  char err[512] = "";
  size_t count = 0;
  leakycl_status st = leakycl_list_devices(NULL, 0, &count, err, sizeof err);
  if (st != LEAKYCL_OK) {
    cli_error("devices: %s", err[0] ? err : leakycl_status_message(st));
    return CLI_EXIT_FAILURE;
  }
  leakycl_device_info *devs = NULL;
  if (count > 0) {
    devs = calloc(count, sizeof *devs);
    if (!devs) {
      cli_error("devices: out of memory for %zu devices", count);
      return CLI_EXIT_FAILURE;
    }
    size_t again = 0;
    st = leakycl_list_devices(devs, count, &again, err, sizeof err);
    if (st != LEAKYCL_OK) {
      free(devs);
      cli_error("devices: %s", err[0] ? err : leakycl_status_message(st));
      return CLI_EXIT_FAILURE;
    }
    count = again < count ? again : count; /* a device may vanish in between */
  }
  int written;
  if (json) {
    written = print_json(devs, count);
  } else if (count == 0) {
    written = puts("no OpenCL platform or device found") == EOF ? -1 : 0;
  } else {
    written = print_table(devs, count);
  }
  free(devs);
  if (written != 0 || fflush(stdout) != 0) {
    cli_error("devices: cannot write the listing");
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

const cli_command cli_command_devices = {"devices", "devices [--json]",
                                         "list every OpenCL platform and device", cmd_devices,
                                         devices_usage};
