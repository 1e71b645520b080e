/* cache.c - program binaries on disk, so that a process opening a
 * device pays each source build (~0.7 s a program on PoCL, more on some GPU
 * drivers) once per machine instead of once per start.
 *
 * A file holds a magic line, the full key text, the binary's length and
 * checksum, and the binary. The key names everything that changes a binary:
 * leakycl's version, the kernel source's hash, the build options, the
 * platform, the device, its version and its driver version. The file name is
 * a hash of the key, and the key is stored and compared in full, so a hash
 * collision is a miss, never a wrong program. The checksum (binary.c)
 * is verified before the driver sees a byte: drivers trust binaries, and a
 * damaged one can abort the process (PoCL) or panic the runtime (rusticl).
 * The cache is best effort: any failure to read, verify, load or write is a
 * miss (the program is then built from source and stored again), never an
 * error; a damaged entry is removed. Writes go to a temporary file, synced,
 * then renamed into place, so readers never see half a file. The key text,
 * the checksum, reading a binary and building from one are shared with
 * offline-compiled bundles (binary.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"

/* Format 2 added the checksum; a format 1 file fails the magic and is a
 * miss that the rebuild replaces. */
#define LK_CACHE_MAGIC "leakycl-program-binary 2\n"

/* The file name's hash: only a name (the key inside is compared in full),
 * and the one every format has used, so an old entry sits where the new
 * one goes and the rebuild replaces it rather than leaving it behind. */
static unsigned long long fnv1a(const char *s) {
  unsigned long long h = 1469598103934665603ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

/* The key text and the file path for a program built with `options`. */
static int cache_entry(const leakycl_context *ctx, const char *options, char *key, size_t keylen,
                       char *path, size_t pathlen) {
  char dir[1024];
  if (lk_program_cache_dir(dir, sizeof dir) != 0 ||
      lk_binary_identity(&ctx->info, options, key, keylen) != 0)
    return -1;
  const int w = snprintf(path, pathlen, "%s/%016llx.bin", dir, fnv1a(key));
  return w > 0 && (size_t)w < pathlen ? 0 : -1;
}

/* What reading an entry found. */
typedef enum entry_state {
  ENTRY_NONE,    /* no file, another key's or format's, or not a regular file (a
                    FIFO, a directory: the store's rename replaces what it can) */
  ENTRY_DAMAGED, /* the right head, but cut, padded or failing its checksum */
  ENTRY_OK,
} entry_state;

/* Reads the entry for `key`: its binary (malloc'd) when the file starts with
 * the magic and the exact key and its length and checksum hold. */
static entry_state read_entry(const char *path, const char *key, unsigned char **binary,
                              size_t *binary_len) {
  *binary = NULL;
  FILE *f;
  struct stat sb;
  if (lk_open_regular(path, &f, &sb) != 0)
    return ENTRY_NONE;
  const size_t magic_len = strlen(LK_CACHE_MAGIC), key_len = strlen(key);
  char *head = malloc(magic_len + key_len);
  entry_state state = ENTRY_NONE;
  unsigned long long len = 0, sum = 0;
  if (head && fread(head, 1, magic_len + key_len, f) == magic_len + key_len &&
      memcmp(head, LK_CACHE_MAGIC, magic_len) == 0 && memcmp(head + magic_len, key, key_len) == 0) {
    state = ENTRY_DAMAGED;
    if (fread(&len, sizeof len, 1, f) == 1 && fread(&sum, sizeof sum, 1, f) == 1 && len > 0 &&
        len <= LK_BINARY_MAX && (*binary = malloc((size_t)len)) != NULL &&
        fread(*binary, 1, (size_t)len, f) == (size_t)len && fgetc(f) == EOF &&
        lk_binary_checksum(*binary, (size_t)len) == sum)
      state = ENTRY_OK;
  }
  if (state != ENTRY_OK) {
    free(*binary);
    *binary = NULL;
  }
  free(head);
  fclose(f);
  *binary_len = (size_t)len;
  return state;
}

/* Removes an unusable entry; the library prints nothing, so the count is
 * where a damaged entry shows (tests read it). */
static void drop_entry(leakycl_context *ctx, const char *path) {
  if (unlink(path) == 0)
    ctx->test.cache_drops++;
}

cl_program lk_cache_load(leakycl_context *ctx, const char *options) {
  char key[2048], path[1200];
  if (cache_entry(ctx, options, key, sizeof key, path, sizeof path) != 0)
    return NULL;
  size_t len = 0;
  unsigned char *binary = NULL;
  const entry_state state = read_entry(path, key, &binary, &len);
  if (state == ENTRY_DAMAGED)
    drop_entry(ctx, path);
  if (state != ENTRY_OK)
    return NULL;
  cl_program program = NULL;
  const cl_int rc = lk_program_from_binary(ctx, options, binary, len, &program);
  free(binary);
  if (rc != CL_SUCCESS) {
    /* Whole but refused by the driver (stale): drop it; the source build
     * rewrites it. */
    drop_entry(ctx, path);
    return NULL;
  }
  return program;
}

void lk_cache_drop(leakycl_context *ctx, const char *options) {
  char key[2048], path[1200];
  if (cache_entry(ctx, options, key, sizeof key, path, sizeof path) == 0)
    drop_entry(ctx, path);
}

void lk_cache_store(leakycl_context *ctx, const char *options, cl_program program) {
  char key[2048], path[1200];
  if (cache_entry(ctx, options, key, sizeof key, path, sizeof path) != 0)
    return;
  size_t len = 0;
  unsigned char *binary = lk_binary_of(program, LK_BINARY_MAX, &len);
  if (!binary)
    return;
  const unsigned long long len64 = len, sum = lk_binary_checksum(binary, len);
  const void *parts[5] = {LK_CACHE_MAGIC, key, &len64, &sum, binary};
  const size_t lens[5] = {strlen(LK_CACHE_MAGIC), strlen(key), sizeof len64, sizeof sum, len};
  if (lk_replace_file(path, parts, lens, 5) == 0)
    ctx->test.cache_stores++;
  free(binary);
}
