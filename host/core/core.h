/* core.h - what needs no device: error details, device SPECs, call
 * parameters resolved for the kernels, and per-user files. */
#ifndef LEAKYCL_CORE_H
#define LEAKYCL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "leakycl.h"

/* ---- errors (status.c) ---- */
#define LK_ERROR_MAX 4096

/* The detail of a context's last failure (leakycl_last_error). */
typedef struct lk_error {
  char text[LK_ERROR_MAX];
  /* LEAKYCL_FAULT caused the failure being reported: its message says so. */
  bool injected;
} lk_error;

/* Formats a message into buf (NULL-safe), returns status for tail calls:
 * the one error formatter of the library. */
leakycl_status lk_fail_buf(char *buf, size_t buflen, leakycl_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records the detail of a failure in err (NULL-safe) and returns status. */
leakycl_status lk_fail(lk_error *err, leakycl_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for a failed OpenCL call: "what: CL_ERROR_NAME (code)". */
leakycl_status lk_fail_cl(lk_error *err, cl_int code, const char *what);

/* ---- enum names (dtype, device type, strategy, activation) ---- */
/* table[value] when value indexes a named entry, else fallback. */
static inline const char *lk_name_in(const char *const *table, size_t count, unsigned value,
                                     const char *fallback) {
  return value < count && table[value] ? table[value] : fallback;
}
/* The same for a table array in scope: LK_NAME_OF(dtype_names, dtype, NULL). */
#define LK_NAME_OF(table, value, fallback)                                                         \
  lk_name_in(table, sizeof(table) / sizeof((table)[0]), (unsigned)(value), fallback)

/* ---- device SPEC (spec.c; pure: no OpenCL, testable alone) ---- */
typedef enum lk_spec_kind {
  LK_SPEC_AUTO,
  LK_SPEC_TYPE,      /* "cpu", "gpu:1": type and ordinal among that type */
  LK_SPEC_INDEX,     /* "P:D" */
  LK_SPEC_SUBSTRING, /* anything else: device or platform name */
} lk_spec_kind;

typedef struct lk_spec {
  lk_spec_kind kind;
  leakycl_device_type type;
  unsigned ordinal;
  unsigned platform, device;
  char text[256];
} lk_spec;

leakycl_status lk_spec_parse(const char *spec, lk_spec *out, char *err, size_t errlen);
/* Picks the device the spec names among `devices`; NO_DEVICE names the spec
 * and lists the devices seen. */
leakycl_status lk_spec_match(const lk_spec *spec, const leakycl_device_info *devices, size_t count,
                             size_t *index, char *err, size_t errlen);

/* ---- parameters resolved for one call (activation.c) ---- */
typedef struct lk_resolved {
  leakycl_activation activation;
  leakycl_conventions conventions;
  size_t alpha_count; /* 1 (shared) or C */
  bool per_channel;
  float alpha;               /* shared */
  float beta;                /* phased_relu's (0 for the others) */
  float thresh;              /* shared: -beta/alpha in float32 */
  float *alpha_c, *thresh_c; /* per channel (malloc'd, alpha_count each) */
  /* The view the kernels see: [1, 1, n] when alpha is shared. */
  size_t n, inner, channels;
  /* How the tensors are stored (lk_resolve leaves float32; the typed calls
   * set it) and the bytes of one element. */
  leakycl_dtype dtype;
  size_t elem_size;
} lk_resolved;

/* Checks params against the view and resolves them; a failure's detail
 * goes to err. */
leakycl_status lk_resolve(lk_error *err, const leakycl_params *params, leakycl_view view,
                          lk_resolved *out);
void lk_resolved_free(lk_resolved *r);

/* ---- per-user files (paths.c) ---- */
/* $<override_env>, else $XDG_CACHE_HOME/leakycl/<leaf>, else
 * $HOME/.cache/leakycl/<leaf>; -1 when none is set or it does not fit. */
int lk_user_cache_path(const char *override_env, const char *leaf, char *buf, size_t len);
/* The on-disk program cache's directory: $LEAKYCL_CACHE_DIR, else
 * $XDG_CACHE_HOME/leakycl/programs, else $HOME/.cache/leakycl/programs; -1
 * when LEAKYCL_CACHE=off (or 0) or no directory is known. */
int lk_program_cache_dir(char *buf, size_t len);
/* Once a process, before its first OpenCL call: points PoCL's kernel cache
 * at <program cache>/pocl (POCL_CACHE_DIR) unless it is set already, the
 * program cache is off, or that directory cannot be made. */
void lk_runtime_cache_setup(void);
/* Before a build: makes that directory again if it was deleted since. */
void lk_runtime_cache_keep(void);
/* 0 and why, naming the directory, when the directory PoCL would take for
 * its kernel cache cannot be made or written (PoCL then offers no device);
 * -1 when it can. */
int lk_runtime_cache_problem(char *buf, size_t len);
/* Opens path for reading if it is a regular file, never blocking (a FIFO
 * in its place): 0 with *out set, 1 (*sb says what it is) when it is not a
 * regular file, -1 with errno when it cannot be opened. *sb is filled. */
int lk_open_regular(const char *path, FILE **out, struct stat *sb);
/* mkdir -p, each new directory private to the user (0700). */
int lk_make_dirs(const char *dir);
/* Writes the parts to a temporary file beside path, syncs it, renames it
 * into place and syncs the directory: readers, and a crash at any point,
 * see the old file or the whole new one, never half of one. */
int lk_replace_file(const char *path, const void *const *parts, const size_t *lens, size_t count);

#endif /* LEAKYCL_CORE_H */
