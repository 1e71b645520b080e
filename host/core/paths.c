/* paths.c - where leakycl keeps files per user (the program cache, the table
 * of tuned variants) and how they are written: directories made private to
 * the user, files replaced atomically and durably. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

int lk_user_cache_path(const char *override_env, const char *leaf, char *buf, size_t len) {
  const char *override = override_env ? getenv(override_env) : NULL;
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int w;
  if (override && *override)
    w = snprintf(buf, len, "%s", override);
  else if (xdg && *xdg)
    w = snprintf(buf, len, "%s/leakycl/%s", xdg, leaf);
  else if (home && *home)
    w = snprintf(buf, len, "%s/.cache/leakycl/%s", home, leaf);
  else
    return -1;
  return w > 0 && (size_t)w < len ? 0 : -1;
}

int lk_make_dirs(const char *dir) {
  char path[1024];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
    return -1;
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    const int rc = mkdir(path, 0700);
    *p = '/';
    if (rc != 0 && errno != EEXIST)
      return -1;
  }
  return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Makes a rename inside `dir` durable: without it a crash soon after can
 * leave the directory naming the old file, or (on some filesystems) an
 * empty one. Best effort: a directory that cannot be opened is left be. */
static void sync_dir(const char *dir) {
  const int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int lk_replace_file(const char *path, const void *const *parts, const size_t *lens, size_t count) {
  /* Each temporary name is new within the process too: two threads (two
   * contexts) storing the same cache entry must not write one file. */
  static atomic_ulong serial;
  char dir[1024], tmp[1150];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
    return -1;
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (lk_make_dirs(dir) != 0)
      return -1;
  } else {
    snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
  }
  if (snprintf(tmp, sizeof tmp, "%s.%ld.%lu.tmp", path, (long)getpid(),
               (unsigned long)atomic_fetch_add(&serial, 1)) >= (int)sizeof tmp)
    return -1;
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return -1;
  bool ok = true;
  for (size_t i = 0; i < count && ok; i++)
    ok = lens[i] == 0 || fwrite(parts[i], 1, lens[i], f) == lens[i];
  /* The data reaches the disk before the rename publishes it, so a crash
   * or power loss leaves the old file or the whole new one, never a torn
   * one under the real name. */
  ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = fclose(f) == 0 && ok;
  if (ok && rename(tmp, path) == 0) {
    sync_dir(dir);
    return 0;
  }
  const int saved = errno; /* callers report why, not unlink's result */
  unlink(tmp);
  errno = saved;
  return -1;
}
