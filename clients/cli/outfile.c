/* outfile.c - output files written atomically as a set (temporary file in
 * the target directory, then rename). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error_text.h"

/* mkdir that accepts an existing directory. */
static int outfile_mkdir_one(const char *path) {
  if (mkdir(path, 0777) == 0)
    return 0;
  const int saved = errno;
  struct stat st;
  if (saved == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  errno = saved == EEXIST ? ENOTDIR : saved;
  return -1;
}

int outfile_mkdirs(const char *path, char *err, size_t errlen) {
  if (!path || !*path)
    return lkt_fail(err, errlen, "empty directory name");
  char *copy = strdup(path);
  if (!copy)
    return lkt_fail(err, errlen, "out of memory");
  /* Create each prefix that ends before a '/', then the whole path. */
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    const int rc = outfile_mkdir_one(copy);
    *p = '/';
    if (rc != 0) {
      const int saved = errno;
      *p = '\0';
      lkt_fail(err, errlen, "cannot create directory %s: %s", copy, strerror(saved));
      free(copy);
      return -1;
    }
  }
  const int rc = outfile_mkdir_one(copy);
  const int saved = errno;
  free(copy);
  if (rc != 0)
    return lkt_fail(err, errlen, "cannot create directory %s: %s", path, strerror(saved));
  return 0;
}

/* Returns a newly allocated "a/b" (or "a/.b.XXXXXX" when temp). */
static char *outfile_join(const char *dir, const char *name, int temp) {
  const size_t n = strlen(dir) + strlen(name) + 16;
  char *s = malloc(n);
  if (!s)
    return NULL;
  snprintf(s, n, temp ? "%s/.%s.XXXXXX" : "%s/%s", dir, name);
  return s;
}

int outfile_begin(outfile_set *set, const char *dir, const char *name, FILE **stream, char *err,
                  size_t errlen) {
  if (set->count >= OUTFILE_MAX)
    return lkt_fail(err, errlen, "too many output files");
  outfile *o = &set->files[set->count];
  memset(o, 0, sizeof *o);
  o->final_path = outfile_join(dir, name, 0);
  o->temp_path = outfile_join(dir, name, 1);
  if (!o->final_path || !o->temp_path) {
    free(o->final_path);
    free(o->temp_path);
    memset(o, 0, sizeof *o);
    return lkt_fail(err, errlen, "out of memory");
  }
  set->count++; /* from here outfile_abort cleans it up */
  const int fd = mkstemp(o->temp_path);
  if (fd < 0) {
    const int saved = errno;
    free(o->temp_path);
    o->temp_path = NULL;
    return lkt_fail(err, errlen, "cannot create a file in %s: %s", dir, strerror(saved));
  }
  /* mkstemp makes 0600; results are ordinary files others may read. */
  if (fchmod(fd, 0644) != 0 || !(o->stream = fdopen(fd, "wb"))) {
    const int saved = errno;
    close(fd);
    return lkt_fail(err, errlen, "cannot open %s: %s", o->temp_path, strerror(saved));
  }
  *stream = o->stream;
  return 0;
}

static void outfile_free(outfile_set *set) {
  for (size_t i = 0; i < set->count; i++) {
    free(set->files[i].final_path);
    free(set->files[i].temp_path);
  }
  memset(set, 0, sizeof *set);
}

int outfile_commit(outfile_set *set, char *err, size_t errlen) {
  int rc = 0;
  for (size_t i = 0; i < set->count; i++) {
    outfile *o = &set->files[i];
    if (!o->stream) {
      rc = lkt_fail(err, errlen, "output file %s was not opened", o->final_path);
      break;
    }
    FILE *f = o->stream;
    o->stream = NULL;
    const int flushed = fflush(f) == 0 && fsync(fileno(f)) == 0;
    const int saved = errno;
    if (fclose(f) != 0 || !flushed) {
      rc = lkt_fail(err, errlen, "cannot write %s: %s", o->final_path,
                    strerror(flushed ? errno : saved));
      break;
    }
  }
  for (size_t i = 0; rc == 0 && i < set->count; i++) {
    outfile *o = &set->files[i];
    if (rename(o->temp_path, o->final_path) != 0) {
      rc = lkt_fail(err, errlen, "cannot rename to %s: %s", o->final_path, strerror(errno));
      break;
    }
    free(o->temp_path);
    o->temp_path = NULL;
  }
  if (rc != 0) {
    outfile_abort(set);
    return -1;
  }
  outfile_free(set);
  return 0;
}

void outfile_abort(outfile_set *set) {
  for (size_t i = 0; i < set->count; i++) {
    outfile *o = &set->files[i];
    if (o->stream) {
      fclose(o->stream); /* the file is being discarded */
      o->stream = NULL;
    }
    if (o->temp_path)
      unlink(o->temp_path);
  }
  outfile_free(set);
}
