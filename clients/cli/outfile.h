/* outfile.h - output files written atomically as a set: each goes to a
 * temporary file in the same directory, and only when every one of them is
 * complete are they renamed into place, so a failure leaves no half-written
 * (or half-updated) result behind. */
#ifndef LEAKYCL_CLI_OUTFILE_H
#define LEAKYCL_CLI_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

#define OUTFILE_MAX 4

typedef struct outfile {
  char *final_path; /* owned */
  char *temp_path;  /* owned */
  FILE *stream;     /* open while writing */
} outfile;

typedef struct outfile_set {
  outfile files[OUTFILE_MAX];
  size_t count;
} outfile_set;

/* Creates `path` and its missing parents as directories (like mkdir -p);
 * an existing directory is fine. Returns 0, or -1 with a reason in err. */
int outfile_mkdirs(const char *path, char *err, size_t errlen);

/* Starts file dir/name as a fresh temporary file (mode 0644) and returns its
 * stream in *stream (owned by the set). Returns 0, or -1 with a reason. */
int outfile_begin(outfile_set *set, const char *dir, const char *name, FILE **stream, char *err,
                  size_t errlen);

/* Flushes, syncs and closes every temporary file, then renames each to its
 * final name. Returns 0, or -1 with a reason (then no temporary file is
 * left; files renamed before a failed rename stay). Frees the set. */
int outfile_commit(outfile_set *set, char *err, size_t errlen);

/* Closes and removes every temporary file and frees the set. Safe on a set
 * that was committed or never started. */
void outfile_abort(outfile_set *set);

#endif
