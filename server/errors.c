/* errors.c - the error table's lookups and the JSON error body. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void lkd_json_append_string(lk_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  lk_buf_append(b, "\"", 1);
  const char *run = s;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    lk_buf_append(b, run, (size_t)(p - run));
    run = p + 1;
    switch (c) {
    case '"':
      lk_buf_append(b, "\\\"", 2);
      break;
    case '\\':
      lk_buf_append(b, "\\\\", 2);
      break;
    case '\n':
      lk_buf_append(b, "\\n", 2);
      break;
    case '\t':
      lk_buf_append(b, "\\t", 2);
      break;
    case '\r':
      lk_buf_append(b, "\\r", 2);
      break;
    default: {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      lk_buf_append(b, u, sizeof u);
    }
    }
  }
  lk_buf_append_str(b, run);
  lk_buf_append(b, "\"", 1);
}

void lkd_error_append_object(lk_buf *b, const lkd_error *e) {
  lk_buf_append_str(b, "{\"code\":");
  lkd_json_append_string(b, lkd_error_name(e->code));
  lk_buf_append_str(b, ",\"message\":");
  lkd_json_append_string(b, e->message[0] ? e->message : lkd_error_default_message(e->code));
  lk_buf_append(b, "}", 1);
}

void lkd_error_append_body(lk_buf *b, const lkd_error *e) {
  lk_buf_append_str(b, "{\"error\":");
  lkd_error_append_object(b, e);
  lk_buf_append(b, "}", 1);
}
