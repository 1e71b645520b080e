/* errors.h - the daemon's error codes (one X-macro table: code, HTTP status,
 * default message) and the JSON error body {"error":{"code","message"}}. */
#ifndef LEAKYCLD_ERRORS_H
#define LEAKYCLD_ERRORS_H

#include <stddef.h>

#include "buffer.h"

/* X(enum suffix, code text, HTTP status, default message) */
#define LKD_ERROR_MAP(X)                                                                           \
  X(INVALID_ARGUMENT, "invalid_argument", 400, "invalid argument")                                 \
  X(UNAUTHORIZED, "unauthorized", 401, "missing or wrong bearer token")                            \
  X(NOT_FOUND, "not_found", 404, "no such path")                                                   \
  X(METHOD_NOT_ALLOWED, "method_not_allowed", 405, "method not allowed")                           \
  X(PAYLOAD_TOO_LARGE, "payload_too_large", 413, "request over the configured limit")              \
  X(UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", 415, "unsupported content encoding")         \
  X(INTERNAL, "internal", 500, "internal error")                                                   \
  X(DEVICE_ERROR, "device_error", 503, "device failure")                                           \
  X(OUT_OF_MEMORY, "out_of_memory", 503, "out of memory")                                          \
  X(UNAVAILABLE, "unavailable", 503, "the daemon is at its connection limit, retry later")

typedef enum lkd_error_code {
  LKD_OK = 0,
#define LKD_ERROR_ENUM_(name, text, status, msg) LKD_##name,
  LKD_ERROR_MAP(LKD_ERROR_ENUM_)
#undef LKD_ERROR_ENUM_
      LKD_ERROR_COUNT_
} lkd_error_code;

/* One error: its code and a one-line message ("" means the default). */
typedef struct lkd_error {
  lkd_error_code code;
  char message[256];
} lkd_error;

/* "invalid_argument", ...; "ok" for LKD_OK. */
const char *lkd_error_name(lkd_error_code code);
/* The HTTP status of the code (200 for LKD_OK). */
int lkd_error_status(lkd_error_code code);
/* The table's default message. */
const char *lkd_error_default_message(lkd_error_code code);

/* Sets *e to code with a printf-style message; returns -1 so that callers
 * can write `return lkd_fail(e, ...)`. e may be NULL. */
int lkd_fail(lkd_error *e, lkd_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends {"code":"...","message":"..."} (the inner object, without the
 * "error" key) to b. */
void lkd_error_append_object(lkt_buf *b, const lkd_error *e);
/* Appends the whole body {"error":{...}}. */
void lkd_error_append_body(lkt_buf *b, const lkd_error *e);

#endif
