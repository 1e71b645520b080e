/* tune_table.c - the on-disk table of tuned variants that `leakycl tune`
 * writes and every context reads when it opens. One line per device:
 *   leakycl 0.1.0|<platform>|<device>|<driver version><TAB><description>
 * The key names the release and the driver, so either changing means the
 * device is tuned again rather than run with a stale choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tune/tune.h"

#define LK_TABLE_MAX_BYTES (1u << 20)

leakycl_status leakycl_tune_table_path(char *buf, size_t buflen) {
  if (!buf || buflen == 0)
    return LEAKYCL_INVALID_ARGUMENT;
  return lk_user_cache_path("LEAKYCL_TUNE_FILE", "variants.tsv", buf, buflen) == 0
             ? LEAKYCL_OK
             : LEAKYCL_IO_ERROR;
}

/* Copies s, with tabs, newlines and '|' (the separators) made spaces. */
static void key_part(char *dst, size_t len, const char *s) {
  size_t i = 0;
  for (; s[i] && i + 1 < len; i++)
    dst[i] = (s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '|') ? ' ' : s[i];
  dst[i] = '\0';
}

static void table_key(const leakycl_device_info *d, char *key, size_t len) {
  char platform[128], name[128], driver[128];
  key_part(platform, sizeof platform, d->platform_name);
  key_part(name, sizeof name, d->name);
  key_part(driver, sizeof driver, d->driver_version);
  snprintf(key, len, "leakycl %s|%s|%s|%s", LEAKYCL_VERSION, platform, name, driver);
}

/* The whole table as a string (an empty one when there is no file). */
static leakycl_status read_table(const char *path, char **out, char *err, size_t errlen) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  char *text = calloc(1, LK_TABLE_MAX_BYTES + 1);
  if (!text) {
    if (f)
      fclose(f);
    return lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for the tune table");
  }
  if (f) {
    const size_t got = fread(text, 1, LK_TABLE_MAX_BYTES + 1, f);
    const bool failed = ferror(f);
    fclose(f);
    if (failed || got > LK_TABLE_MAX_BYTES || memchr(text, '\0', got)) {
      free(text);
      return lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR,
                         "%s: unreadable, over 1 MiB or not text; delete it and run `leakycl "
                         "tune` again",
                         path);
    }
  }
  *out = text;
  return LEAKYCL_OK;
}

/* The line of `key` in text, or NULL; *len is its length without '\n'. */
static const char *find_line(const char *text, const char *key, size_t *len) {
  const size_t klen = strlen(key);
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    const size_t n = end ? (size_t)(end - line) : strlen(line);
    if (n > klen && memcmp(line, key, klen) == 0 && line[klen] == '\t') {
      *len = n;
      return line;
    }
    line += n + (end ? 1 : 0);
  }
  return NULL;
}

leakycl_status leakycl_tune_table_lookup(const leakycl_device_info *device, leakycl_variant *out,
                                         int *found, char *err, size_t errlen) {
  if (!device || !out || !found)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "device, out or found is NULL");
  *found = 0;
  char path[1024], key[600];
  if (leakycl_tune_table_path(path, sizeof path) != LEAKYCL_OK)
    return LEAKYCL_OK; /* no home, no table */
  char *text;
  leakycl_status st = read_table(path, &text, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  table_key(device, key, sizeof key);
  size_t len = 0;
  const char *line = find_line(text, key, &len);
  if (line) {
    char desc[256], why[512];
    const size_t klen = strlen(key) + 1;
    snprintf(desc, sizeof desc, "%.*s", (int)(len - klen), line + klen);
    st = leakycl_variant_parse(desc, device, out, why, sizeof why);
    if (st == LEAKYCL_OK)
      *found = 1;
    else
      lk_fail_buf(err, errlen, st, "%s: the line for %s: %s; delete it or run `leakycl tune`", path,
                  device->name, why);
  }
  free(text);
  return st;
}

leakycl_status leakycl_tune_table_save(const leakycl_device_info *device,
                                       const leakycl_variant *variant, char *err, size_t errlen) {
  if (!device || !variant)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "device or variant is NULL");
  leakycl_status st = lk_variant_check(variant, device, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  char path[1024], key[600], desc[256], line[900];
  if (leakycl_tune_table_path(path, sizeof path) != LEAKYCL_OK)
    return lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR,
                       "no place for the tune table: set LEAKYCL_TUNE_FILE, XDG_CACHE_HOME or "
                       "HOME");
  char *text;
  st = read_table(path, &text, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  table_key(device, key, sizeof key);
  leakycl_variant_describe(variant, desc, sizeof desc);
  snprintf(line, sizeof line, "%s\t%s\n", key, desc);
  /* Every other device's line stays; this device's is replaced. */
  size_t old_len = 0;
  const char *old = find_line(text, key, &old_len);
  const char *header = "# leakycl: tuned variants, written by `leakycl tune`\n";
  const size_t text_len = strlen(text);
  size_t before = old ? (size_t)(old - text) : text_len;
  size_t after_at = old ? before + old_len + (text[before + old_len] == '\n') : text_len;
  const bool add_newline = !old && text_len > 0 && text[text_len - 1] != '\n';
  const void *parts[5] = {text_len == 0 ? header : "", text, "\n", line, text + after_at};
  const size_t lens[5] = {text_len == 0 ? strlen(header) : 0, before, add_newline ? 1u : 0u,
                          strlen(line), text_len - after_at};
  const int rc = lk_replace_file(path, parts, lens, 5);
  free(text);
  if (rc != 0)
    return lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR, "%s: could not write the tune table", path);
  return LEAKYCL_OK;
}
