/* paths.c - where leakycl keeps files per user (the program cache, PoCL's
 * kernel cache, the table of tuned variants), how they are opened (regular
 * files only) and written (directories private to the user, files replaced
 * atomically and durably). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

int lk_program_cache_dir(char *buf, size_t len) {
  const char *off = getenv("LEAKYCL_CACHE");
  if (off && (strcmp(off, "off") == 0 || strcmp(off, "0") == 0))
    return -1;
  return lk_user_cache_path("LEAKYCL_CACHE_DIR", "programs", buf, len);
}

leakycl_status leakycl_program_cache_dir(char *buf, size_t len) {
  if (!buf || len == 0)
    return LEAKYCL_INVALID_ARGUMENT;
  char dir[4096];
  if (lk_program_cache_dir(dir, sizeof dir) != 0)
    dir[0] = '\0';
  const size_t n = strlen(dir);
  buf[0] = '\0';
  if (n >= len)
    return LEAKYCL_INVALID_ARGUMENT;
  memcpy(buf, dir, n + 1);
  return LEAKYCL_OK;
}

/* ---- PoCL's kernel cache ----
 * PoCL keeps its own cache of generated code (what makes a restart fast
 * there) and trusts it: a torn file in it aborts the process inside PoCL,
 * which leakycl cannot check first. So it goes into <program cache>/pocl,
 * where deleting the program cache drops both. */
static char pocl_dir[1100];      /* what POCL_CACHE_DIR was set to, once */
static atomic_bool pocl_dir_set; /* pocl_dir is written */

static void point_pocl_at_our_cache(void) {
  const char *set = getenv("POCL_CACHE_DIR");
  char dir[sizeof pocl_dir];
  if ((set && *set) || lk_program_cache_dir(dir, sizeof dir - 5) != 0)
    return;
  strcat(dir, "/pocl");
  /* Best effort, as the program cache: where it cannot be made, PoCL keeps
   * its default rather than offer no device at all. The environment is the
   * only way to reach PoCL, which reads it at the process's first OpenCL
   * call; this runs once, just before that call. */
  if (lk_make_dirs(dir) == 0 && setenv("POCL_CACHE_DIR", dir, 1) == 0) {
    memcpy(pocl_dir, dir, sizeof dir);
    atomic_store(&pocl_dir_set, true);
  }
}

void lk_runtime_cache_setup(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, point_pocl_at_our_cache);
}

void lk_runtime_cache_keep(void) {
  /* PoCL makes its directory once, at start, and every build fails once it
   * is gone: deleting the program cache (the remedy for a damaged one)
   * must not break a running process. */
  if (atomic_load(&pocl_dir_set))
    (void)lk_make_dirs(pocl_dir);
}

/* The directory PoCL 3 takes for its kernel cache (pocl_cache.c). */
static int pocl_cache_dir(char *buf, size_t len) {
  const char *set = getenv("POCL_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME"), *use = getenv("POCL_KERNEL_CACHE");
  const char *leaf = use && strcmp(use, "0") == 0 ? "pocl/uncached" : "pocl/kcache";
  int w;
  if (set && *set)
    w = snprintf(buf, len, "%s", set);
  else if (xdg && *xdg)
    w = snprintf(buf, len, "%s/%s", xdg, leaf);
  else if (home)
    w = snprintf(buf, len, "%s/.cache/%s", home, leaf);
  else
    w = snprintf(buf, len, "/tmp/%s", leaf);
  return w > 0 && (size_t)w < len ? 0 : -1;
}

int lk_runtime_cache_problem(char *buf, size_t len) {
  char dir[1024];
  if (pocl_cache_dir(dir, sizeof dir) != 0)
    return -1;
  struct stat sb;
  const char *why = NULL;
  if (lk_make_dirs(dir) != 0)
    why = strerror(errno);
  else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    why = "not a directory";
  else if (access(dir, W_OK | X_OK) != 0)
    why = strerror(errno);
  if (!why)
    return -1;
  snprintf(buf, len,
           "PoCL's kernel cache directory \"%s\" cannot be used (%s), and PoCL offers no device "
           "without it: point LEAKYCL_CACHE_DIR or POCL_CACHE_DIR at a writable directory",
           dir, why);
  return 0;
}

int lk_open_regular(const char *path, FILE **out, struct stat *sb) {
  *out = NULL;
  /* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -1;
  if (fstat(fd, sb) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  if (!S_ISREG(sb->st_mode)) {
    close(fd);
    return 1;
  }
  *out = fdopen(fd, "rb");
  if (!*out) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return 0;
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
