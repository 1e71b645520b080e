/* errors.c - the error table's lookups and the JSON error body. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_write.h"

typedef struct lkd_error_row {
  const char *name;
  int status;
  const char *message;
} lkd_error_row;

static const lkd_error_row lkd_error_rows[LKD_ERROR_COUNT_] = {{"ok", 200, "ok"},
#define LKD_ERROR_ROW_(name, text, status, msg) {text, status, msg},
                                                               LKD_ERROR_MAP(LKD_ERROR_ROW_)
#undef LKD_ERROR_ROW_
};

static const lkd_error_row *lkd_error_row_of(lkd_error_code code) {
  if ((int)code < 0 || code >= LKD_ERROR_COUNT_)
    return &lkd_error_rows[LKD_INTERNAL];
  return &lkd_error_rows[code];
}

const char *lkd_error_name(lkd_error_code code) { return lkd_error_row_of(code)->name; }
int lkd_error_status(lkd_error_code code) { return lkd_error_row_of(code)->status; }
const char *lkd_error_default_message(lkd_error_code code) {
  return lkd_error_row_of(code)->message;
}

int lkd_fail(lkd_error *e, lkd_error_code code, const char *fmt, ...) {
  if (!e)
    return -1;
  e->code = code;
  e->message[0] = '\0';
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
  }
  return -1;
}

void lkd_error_append_object(lkt_buf *b, const lkd_error *e) {
  lkt_buf_append_str(b, "{\"code\":");
  lkt_json_string(b, lkd_error_name(e->code));
  lkt_buf_append_str(b, ",\"message\":");
  lkt_json_string(b, e->message[0] ? e->message : lkd_error_default_message(e->code));
  lkt_buf_append(b, "}", 1);
}

void lkd_error_append_body(lkt_buf *b, const lkd_error *e) {
  lkt_buf_append_str(b, "{\"error\":");
  lkd_error_append_object(b, e);
  lkt_buf_append(b, "}", 1);
}
