/* bundle.c - program bundles: every program a variant needs,
 * compiled offline for one device (`leakycl compile`), for devices that
 * cannot compile OpenCL C at run time (FPGAs) or should not (start-up time).
 *
 * The file is text lines, then raw binaries:
 *   leakycl-program-bundle 2
 *   leakycl <version>            } lk_binary_identity(): the same fields as
 *   source <kernel source hash>  } the on-disk cache's key, less the options
 *   platform <name>              }
 *   device <name>                }
 *   version <device version>     }
 *   driver <driver version>      }
 *   variant <description>        the variant it was compiled for
 *   programs <N>
 *   N times: "program <bytes> <checksum> <build options>\n", the bytes, "\n"
 * (checksum: 16 hex digits of lk_binary_checksum of the bytes). Every
 * length is checked against the file's size before it is used, and every
 * binary against its checksum when the bundle is loaded, before a driver
 * sees it (a damaged binary can abort the process in the driver), so a
 * truncated, garbled or damaged file is an error naming what is wrong,
 * never a crash. Format 1 (no checksums) is refused with a clear message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"

#define LK_BUNDLE_MAGIC_PREFIX "leakycl-program-bundle "
#define LK_BUNDLE_MAGIC LK_BUNDLE_MAGIC_PREFIX "2"
#define LK_BUNDLE_MAX_FILE ((size_t)1 << 30)
#define LK_BUNDLE_MAX_PROGRAMS 4096
#define LK_BUNDLE_MAX_LINE 1024

/* The identity fields in file order, and how a mismatch names them. */
static const char *const identity_fields[][2] = {
    {"leakycl", "leakycl version"}, {"source", "kernel source hash"}, {"platform", "platform"},
    {"device", "device"},           {"version", "device version"},    {"driver", "driver version"},
};
#define LK_IDENTITY_FIELDS (sizeof identity_fields / sizeof identity_fields[0])

typedef struct cursor {
  unsigned char *p, *end;
} cursor;

/* The next line, NUL-terminated in place (its '\n' overwritten); NULL when
 * there is no end of line within LK_BUNDLE_MAX_LINE or it holds a NUL. */
static char *next_line(cursor *c) {
  const size_t left = (size_t)(c->end - c->p);
  unsigned char *nl = memchr(c->p, '\n', left < LK_BUNDLE_MAX_LINE ? left : LK_BUNDLE_MAX_LINE);
  if (!nl || memchr(c->p, '\0', (size_t)(nl - c->p)))
    return NULL;
  *nl = '\0';
  char *line = (char *)c->p;
  c->p = nl + 1;
  return line;
}

/* The value of a "name value" line, or NULL when the line is another one. */
static char *field_value(char *line, const char *name) {
  const size_t n = strlen(name);
  return line && strncmp(line, name, n) == 0 && line[n] == ' ' ? line + n + 1 : NULL;
}

/* A whole decimal number up to max; -1 otherwise. */
static int parse_count(const char *s, const char **end, size_t max, size_t *out) {
  size_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (max - (size_t)(*p - '0')) / 10)
      return -1;
    v = v * 10 + (size_t)(*p - '0');
  }
  if (p == s)
    return -1;
  *end = p;
  *out = v;
  return 0;
}

/* Exactly 16 hex digits (a checksum as lk_bundle_write prints it). */
static int parse_checksum(const char *s, const char **end, uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < 16; i++) {
    const char ch = s[i];
    const int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0)
      return -1;
    v = v << 4 | (uint64_t)d;
  }
  *end = s + 16;
  *out = v;
  return 0;
}

static unsigned char *read_whole_file(const char *path, size_t *size, char *err, size_t errlen,
                                      leakycl_status *st) {
  struct stat sb;
  FILE *f;
  const int opened = lk_open_regular(path, &f, &sb);
  if (opened < 0) {
    *st = lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR, "program bundle \"%s\": %s", path,
                      strerror(errno));
    return NULL;
  }
  if (opened > 0) {
    *st =
        lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR, "program bundle \"%s\" is not a regular file%s",
                    path, S_ISDIR(sb.st_mode) ? " (a directory)" : "");
    return NULL;
  }
  if (sb.st_size == 0 || (unsigned long long)sb.st_size > LK_BUNDLE_MAX_FILE) {
    fclose(f);
    *st = lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                      "program bundle \"%s\" is %s (%lld bytes), not a leakycl program bundle",
                      path, sb.st_size == 0 ? "empty" : "too large", (long long)sb.st_size);
    return NULL;
  }
  unsigned char *data = malloc((size_t)sb.st_size);
  if (!data || fread(data, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size || fgetc(f) != EOF) {
    *st = !data ? lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY,
                              "program bundle \"%s\": no memory for %lld bytes", path,
                              (long long)sb.st_size)
                : lk_fail_buf(err, errlen, LEAKYCL_IO_ERROR,
                              "program bundle \"%s\": cannot read it whole: it changed while "
                              "being read",
                              path);
    free(data);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *size = (size_t)sb.st_size;
  return data;
}

/* Parses the lines and the entries; values point into b->data. */
static leakycl_status parse_bundle(lk_bundle *b, size_t size, const char **identity, char *err,
                                   size_t errlen) {
  cursor c = {b->data, b->data + size};
  char *line = next_line(&c);
  const char *version = field_value(line, "leakycl-program-bundle");
  if (version && *version && strspn(version, "0123456789") == strlen(version) &&
      strcmp(line, LK_BUNDLE_MAGIC) != 0)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "program bundle \"%s\" is in format %.16s; this leakycl reads format %s "
                       "(with checksums): compile it again with `leakycl compile`",
                       b->path, version, LK_BUNDLE_MAGIC + strlen(LK_BUNDLE_MAGIC_PREFIX));
  if (!line || strcmp(line, LK_BUNDLE_MAGIC) != 0)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "program bundle \"%s\" is not a leakycl program bundle (no \"%s\" line)",
                       b->path, LK_BUNDLE_MAGIC);
  for (size_t i = 0; i < LK_IDENTITY_FIELDS; i++) {
    identity[i] = field_value(next_line(&c), identity_fields[i][0]);
    if (!identity[i])
      return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                         "program bundle \"%s\" is damaged: no \"%s\" line in its header", b->path,
                         identity_fields[i][0]);
  }
  const char *variant = field_value(next_line(&c), "variant");
  const char *programs = field_value(next_line(&c), "programs");
  const char *end;
  if (!variant || strlen(variant) >= sizeof b->variant || !programs ||
      parse_count(programs, &end, LK_BUNDLE_MAX_PROGRAMS, &b->count) != 0 || *end || b->count == 0)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "program bundle \"%s\" is damaged: bad \"variant\" or \"programs\" line",
                       b->path);
  snprintf(b->variant, sizeof b->variant, "%s", variant);
  b->entries = calloc(b->count, sizeof *b->entries);
  if (!b->entries)
    return lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for a program bundle");
  for (size_t i = 0; i < b->count; i++) {
    const char *text = field_value(next_line(&c), "program");
    size_t len = 0;
    uint64_t sum = 0;
    if (!text || parse_count(text, &end, LK_BINARY_MAX, &len) != 0 || *end != ' ' || len == 0 ||
        parse_checksum(end + 1, &end, &sum) != 0 || *end != ' ' || len >= (size_t)(c.end - c.p) ||
        c.p[len] != '\n')
      return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                         "program bundle \"%s\" is damaged or truncated at program %zu of %zu",
                         b->path, i + 1, b->count);
    b->entries[i] = (lk_bundle_entry){end + 1, c.p, len};
    if (lk_binary_checksum(c.p, len) != sum)
      return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                         "program bundle \"%s\" is damaged: program %zu of %zu (build options "
                         "\"%s\", %zu bytes) fails its checksum",
                         b->path, i + 1, b->count, end + 1, len);
    c.p += len + 1;
  }
  if (c.p != c.end)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "program bundle \"%s\" is damaged: %zu bytes after its last program",
                       b->path, (size_t)(c.end - c.p));
  return LEAKYCL_OK;
}

/* The first identity field that differs from the device's, named. */
static leakycl_status check_identity(const lk_bundle *b, const char **identity,
                                     const leakycl_device_info *device, char *err, size_t errlen) {
  char expected[2048];
  if (lk_binary_identity(device, NULL, expected, sizeof expected) != 0)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "device names too long");
  cursor c = {(unsigned char *)expected, (unsigned char *)expected + strlen(expected)};
  for (size_t i = 0; i < LK_IDENTITY_FIELDS; i++) {
    const char *want = field_value(next_line(&c), identity_fields[i][0]);
    if (want && strcmp(want, identity[i]) != 0)
      return lk_fail_buf(err, errlen, LEAKYCL_UNSUPPORTED,
                         "program bundle \"%s\" was compiled for %s \"%s\", but this device "
                         "(%s) has \"%s\"; compile one for it with `leakycl compile`",
                         b->path, identity_fields[i][1], identity[i], device->name, want);
  }
  return LEAKYCL_OK;
}

leakycl_status lk_bundle_read(const char *path, const leakycl_device_info *device, lk_bundle **out,
                              char *err, size_t errlen) {
  *out = NULL;
  if (!path || !*path)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "program bundle path is empty");
  if (strlen(path) >= sizeof((lk_bundle *)0)->path)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "program bundle path is too long");
  lk_bundle *b = calloc(1, sizeof *b);
  if (!b)
    return lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for a program bundle");
  snprintf(b->path, sizeof b->path, "%s", path);
  size_t size = 0;
  leakycl_status st = LEAKYCL_OK;
  b->data = read_whole_file(path, &size, err, errlen, &st);
  const char *identity[LK_IDENTITY_FIELDS];
  if (b->data)
    st = parse_bundle(b, size, identity, err, errlen);
  if (st == LEAKYCL_OK)
    st = check_identity(b, identity, device, err, errlen);
  if (st == LEAKYCL_OK)
    *out = b;
  else
    lk_bundle_free(b);
  return st;
}

void lk_bundle_free(lk_bundle *b) {
  if (b) {
    free(b->entries);
    free(b->data);
  }
  free(b);
}

leakycl_status lk_bundle_build(leakycl_context *ctx, const char *options, bool fault,
                               cl_program *out) {
  const lk_bundle *b = ctx->bundle;
  const lk_bundle_entry *e = NULL;
  for (size_t i = 0; i < b->count && !e; i++) {
    if (strcmp(b->entries[i].options, options) == 0)
      e = &b->entries[i];
  }
  if (!e)
    return lk_fail(&ctx->error, LEAKYCL_UNSUPPORTED,
                   "program bundle \"%s\" has no program for build options \"%s\" (it holds "
                   "variant \"%s\"; compile a bundle for the variant in use with `leakycl "
                   "compile --variant`)",
                   b->path, options, b->variant);
  char what[1400];
  snprintf(what, sizeof what, "clBuildProgram(%s) from program bundle \"%s\"", options, b->path);
  const cl_int rc = fault ? CL_BUILD_PROGRAM_FAILURE
                          : lk_program_from_binary(ctx, options, e->binary, e->len, out);
  if (rc != CL_SUCCESS)
    return lk_build_failure(ctx, NULL, rc, what);
  ctx->test.bundle_builds++;
  return LEAKYCL_OK;
}

leakycl_status lk_bundle_write(leakycl_context *ctx, const char *path, const char *const *options,
                               unsigned char *const *binaries, const size_t *lens, size_t count) {
  char head[4096], identity[2048], variant[128];
  leakycl_variant_describe(&ctx->variant, variant, sizeof variant);
  if (lk_binary_identity(&ctx->info, NULL, identity, sizeof identity) != 0)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "device names too long for a bundle header");
  snprintf(head, sizeof head, "%s\n%svariant %s\nprograms %zu\n", LK_BUNDLE_MAGIC, identity,
           variant, count);
  const size_t nparts = 1 + 3 * count;
  const void **parts = calloc(nparts, sizeof *parts);
  size_t *part_lens = calloc(nparts, sizeof *part_lens);
  char(*lines)[320] = calloc(count, sizeof *lines);
  leakycl_status st = LEAKYCL_OK;
  if (!parts || !part_lens || !lines) {
    st = lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for a program bundle");
    goto out;
  }
  parts[0] = head;
  part_lens[0] = strlen(head);
  for (size_t i = 0; i < count; i++) {
    snprintf(lines[i], sizeof lines[i], "program %zu %016llx %s\n", lens[i],
             (unsigned long long)lk_binary_checksum(binaries[i], lens[i]), options[i]);
    parts[1 + 3 * i] = lines[i];
    part_lens[1 + 3 * i] = strlen(lines[i]);
    parts[2 + 3 * i] = binaries[i];
    part_lens[2 + 3 * i] = lens[i];
    parts[3 + 3 * i] = "\n";
    part_lens[3 + 3 * i] = 1;
  }
  if (lk_replace_file(path, parts, part_lens, nparts) != 0)
    st = lk_fail(&ctx->error, LEAKYCL_IO_ERROR, "cannot write program bundle \"%s\": %s", path,
                 strerror(errno));
out:
  free(parts);
  free(part_lens);
  free(lines);
  return st;
}
