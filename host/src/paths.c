/* paths.c - where leakycl keeps files per user (the program cache, the table
 * of tuned variants) and how they are written: directories made private to
 * the user, files replaced atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

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

int lk_replace_file(const char *path, const void *const *parts, const size_t *lens, size_t count) {
  char dir[1024], tmp[1100];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
    return -1;
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (lk_make_dirs(dir) != 0)
      return -1;
  }
  if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
    return -1;
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return -1;
  bool ok = true;
  for (size_t i = 0; i < count && ok; i++)
    ok = lens[i] == 0 || fwrite(parts[i], 1, lens[i], f) == lens[i];
  ok = fclose(f) == 0 && ok;
  if (ok && rename(tmp, path) == 0)
    return 0;
  const int saved = errno; /* callers report why, not unlink's result */
  unlink(tmp);
  errno = saved;
  return -1;
}
