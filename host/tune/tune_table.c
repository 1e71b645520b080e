/* tune_table.c - the on-disk table of tuned variants that `leakycl tune`
 * writes and every context reads when it opens. One line per device:
 *   leakycl 0.1.0|<platform>|<device>|<driver version><TAB><description>
 * The key names the release and the driver, so either changing means the
 * device is tuned again rather than run with a stale choice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Copies s, with '|' (the separator) and control bytes (tabs, line ends:
 * what check_table refuses) made spaces. */
static void key_part(char *dst, size_t len, const char *s) {
  size_t i = 0;
  for (; s[i] && i + 1 < len; i++)
    dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '|') ? ' ' : s[i];
  dst[i] = '\0';
}

static void table_key(const leakycl_device_info *d, char *key, size_t len) {
  char platform[128], name[128], driver[128];
  key_part(platform, sizeof platform, d->platform_name);
  key_part(name, sizeof name, d->name);
  key_part(driver, sizeof driver, d->driver_version);
  snprintf(key, len, "leakycl %s|%s|%s|%s", LEAKYCL_VERSION, platform, name, driver);
}

/* The whole table as a string (an empty one when there is no file): a
 * regular file (a FIFO in its place is an error, never a wait), under
 * 1 MiB. NUL and other stray bytes are left to check_table, which can say
 * on which line they are. */
static leakycl_status read_table(const char *path, char **out, size_t *len, char *err,
                                 size_t errlen) {
  *out = NULL;
  *len = 0;
  FILE *f;
  struct stat sb;
  const int opened = lk_open_regular(path, &f, &sb);
  if (opened < 0 && errno != ENOENT && errno != ENOTDIR)
    return lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR, "%s: cannot open the tune table: %s", path,
                       strerror(errno));
  if (opened > 0)
    return lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR,
                       "%s: the tune table is not a regular file; remove it and run `leakycl "
                       "tune` again",
                       path);
  char *text = calloc(1, LK_TABLE_MAX_BYTES + 1);
  if (!text) {
    if (f)
      fclose(f);
    return lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for the tune table");
  }
  if (f) {
    *len = fread(text, 1, LK_TABLE_MAX_BYTES + 1, f);
    const bool failed = ferror(f);
    fclose(f);
    if (failed || *len > LK_TABLE_MAX_BYTES) {
      free(text);
      return lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR,
                         "%s: unreadable or over 1 MiB; delete it and run `leakycl tune` again",
                         path);
    }
  }
  *out = text;
  return LEAKYCL_OK;
}

/* The bytes of a line around offset `at` (at most 80), in C escapes ("\r",
 * "\x00"), quoted, "..." marking a cut: what a message shows of a bad line. */
static void escape_around(const char *s, size_t n, size_t at, char *buf, size_t len) {
  const size_t from = at > 40 ? at - 40 : 0, to = from + 80 < n ? from + 80 : n;
  size_t used = (size_t)snprintf(buf, len, "%s\"", from > 0 ? "..." : "");
  for (size_t i = from; i < to && used + 8 < len; i++) {
    const unsigned char c = (unsigned char)s[i];
    if (c == '\r' || c == '\t' || c == '"' || c == '\\')
      used += (size_t)snprintf(buf + used, len - used, "\\%c",
                               c == '\r'   ? 'r'
                               : c == '\t' ? 't'
                                           : (char)c);
    else if (c < 0x20 || c >= 0x7f)
      used += (size_t)snprintf(buf + used, len - used, "\\x%02x", c);
    else
      buf[used++] = (char)c;
  }
  snprintf(buf + used, len - used, "\"%s", to < n ? "..." : "");
}

/* The error for line `number` (n bytes at s; the fault near offset at),
 * naming the file. */
static leakycl_status bad_line(char *err, size_t errlen, leakycl_status st, const char *path,
                               size_t number, const char *s, size_t n, size_t at, const char *why) {
  char shown[400];
  escape_around(s, n, at, shown, sizeof shown);
  return lk_fail_buf(err, errlen, st,
                     "%s: line %zu: %s: %s; fix or delete the line, or delete the file and run "
                     "`leakycl tune` again",
                     path, number, why, shown);
}

/* Every line as `leakycl tune` writes them, or an error naming the first
 * that is not: each ends in '\n' (no CR LF, no line cut short), holds no
 * control byte but the key's tab, and is a comment ('#'), blank, or
 * "leakycl ...|...|...|...<TAB>description" with the description in the
 * variant alphabet. A damaged table is an error rather than a silently
 * different variant (a line cut in "vw16" reads "vw1"). */
static leakycl_status check_table(const char *path, const char *text, size_t len, char *err,
                                  size_t errlen) {
  size_t number = 1;
  for (const char *line = text, *end = text + len; line < end; number++) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
    const char *why = NULL;
    const char *tab = memchr(line, '\t', n);
    size_t bars = 0, at = 0;
    for (; at < n && !why; at++) {
      const unsigned char c = (unsigned char)line[at];
      bars += c == '|';
      if (c == '\r')
        why = at + 1 == n ? "ends in CR LF (a Windows line end)" : "holds a carriage return";
      else if ((c < 0x20 && c != '\t') || c == 0x7f)
        why = c ? "holds a control byte" : "holds a NUL byte";
      else if (tab && line + at > tab && !strchr("abcdefghijklmnopqrstuvwxyz0123456789 ", c))
        why = "holds a byte no variant description has";
    }
    if (why)
      at--; /* the loop stepped past the bad byte */
    else if (!nl)
      why = "is cut short (no end of line)";
    else if (n > 0 && line[0] != '#' &&
             (!tab || strncmp(line, "leakycl ", 8) != 0 || bars != 3 || tab + 1 == line + n)) {
      why = "is not \"key<TAB>variant description\"";
      at = tab ? (size_t)(tab - line) : 0;
    }
    if (why)
      return bad_line(err, errlen, LEAKYCL_INVALID_ARGUMENT, path, number, line, n, at, why);
    line += n + 1;
  }
  return LEAKYCL_OK;
}

/* The checked table: read_table, then check_table. */
static leakycl_status load_table(const char *path, char **out, char *err, size_t errlen) {
  size_t len = 0;
  leakycl_status st = read_table(path, out, &len, err, errlen);
  if (st == LEAKYCL_OK && (st = check_table(path, *out, len, err, errlen)) != LEAKYCL_OK) {
    free(*out);
    *out = NULL;
  }
  return st;
}

/* The line of `key` in text, or NULL; *len is its length without '\n' and
 * *number its line number. */
static const char *find_line(const char *text, const char *key, size_t *len, size_t *number) {
  const size_t klen = strlen(key);
  *number = 1;
  for (const char *line = text; *line; ++*number) {
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
  leakycl_status st = load_table(path, &text, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  table_key(device, key, sizeof key);
  size_t len = 0, number = 0, again_len = 0, again_number = 0;
  const char *line = find_line(text, key, &len, &number);
  const char *again = line ? find_line(line + len, key, &again_len, &again_number) : NULL;
  if (again) {
    /* Two lines for one device: which was meant is unknown. */
    st = bad_line(err, errlen, LEAKYCL_INVALID_ARGUMENT, path, number + again_number - 1, again,
                  again_len, 0, "repeats the key of an earlier line");
  } else if (line) {
    char desc[256], why[512];
    const size_t klen = strlen(key) + 1;
    snprintf(desc, sizeof desc, "%.*s", (int)(len - klen), line + klen);
    st = leakycl_variant_parse(desc, device, out, why, sizeof why);
    if (st == LEAKYCL_OK)
      *found = 1;
    else
      bad_line(err, errlen, st, path, number, line, len, klen, why);
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
  st = load_table(path, &text, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  table_key(device, key, sizeof key);
  leakycl_variant_describe(variant, desc, sizeof desc);
  snprintf(line, sizeof line, "%s\t%s\n", key, desc);
  /* Every other device's line stays; this device's is replaced. */
  size_t old_len = 0, old_number = 0;
  const char *old = find_line(text, key, &old_len, &old_number);
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
