/* log.c - the log's level and form; each line built whole and written to stderr at once. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json_write.h"

static struct {
  lkd_log_level level;
  int json;
} lkd_log_cfg = {LKD_LOG_INFO, 0};

static const char *const lkd_level_names[] = {"error", "notice", "warn", "info", "debug"};

const char *lkd_log_level_name(lkd_log_level level) {
  return (unsigned)level <= LKD_LOG_DEBUG ? lkd_level_names[level] : "info";
}

int lkd_log_parse_level(const char *text, lkd_log_level *out) {
  for (int l = LKD_LOG_ERROR; l <= LKD_LOG_DEBUG; l++)
    if (l != LKD_LOG_NOTICE && text && strcmp(text, lkd_level_names[l]) == 0) {
      *out = (lkd_log_level)l;
      return 0;
    }
  return -1;
}

int lkd_log_parse_format(const char *text, int *json) {
  if (text && (strcmp(text, "text") == 0 || strcmp(text, "json") == 0)) {
    *json = text[0] == 'j';
    return 0;
  }
  return -1;
}

void lkd_log_setup(lkd_log_level level, int json) {
  lkd_log_cfg.level = level;
  lkd_log_cfg.json = json;
}

int lkd_log_on(lkd_log_level level) { return level <= lkd_log_cfg.level; }

void lkd_log_time(const struct timespec *t, char *out, size_t cap) {
  struct tm tm;
  time_t sec = t->tv_sec;
  if (!gmtime_r(&sec, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    snprintf(out, cap, "-");
    return;
  }
  size_t n = strlen(out);
  snprintf(out + n, cap - n, ".%03ldZ", t->tv_nsec / 1000000);
}

/* Writes the line (the buffer's text and a newline) in one write: lines
 * of concurrent requests never interleave. */
static void lkd_log_write(lkt_buf *b) {
  lkt_buf_append(b, "\n", 1);
  if (b->oom) {
    lkt_buf_free(b);
    return;
  }
  const char *p = b->data;
  size_t left = b->len;
  while (left > 0) {
    ssize_t w = write(STDERR_FILENO, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    p += w;
    left -= (size_t)w;
  }
  lkt_buf_free(b);
}

/* The line's start: "TIME " in text; {"time":..,"level":..,"type":.. in JSON. */
static void lkd_log_open(lkt_buf *b, lkd_log_level level, const struct timespec *when,
                         const char *type) {
  char stamp[40];
  lkd_log_time(when, stamp, sizeof stamp);
  if (!lkd_log_cfg.json) {
    lkt_buf_append_str(b, stamp);
    lkt_buf_append(b, " ", 1);
    return;
  }
  lkt_buf_append_str(b, "{\"time\":");
  lkt_json_string(b, stamp);
  lkt_buf_append_str(b, ",\"level\":");
  lkt_json_string(b, lkd_log_level_name(level));
  lkt_buf_append_str(b, ",\"type\":");
  lkt_json_string(b, type);
}

void lkd_log(lkd_log_level level, const char *fmt, ...) {
  if (!lkd_log_on(level))
    return;
  char message[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  lkt_buf b = {0};
  lkd_log_open(&b, level, &now, "message");
  if (lkd_log_cfg.json) {
    lkt_buf_append_str(&b, ",\"message\":");
    lkt_json_string(&b, message);
    lkt_buf_append(&b, "}", 1);
  } else {
    lkt_buf_append_str(&b, level == LKD_LOG_ERROR  ? "leakycld: error: "
                           : level == LKD_LOG_WARN ? "leakycld: warning: "
                                                   : "leakycld: ");
    lkt_buf_append_str(&b, message);
  }
  lkd_log_write(&b);
}

void lkd_log_record(lkd_log_level level, const struct timespec *when, const char *type,
                    const lkd_log_field *fields, size_t n) {
  if (!lkd_log_on(level))
    return;
  lkt_buf b = {0};
  lkd_log_open(&b, level, when, type);
  for (size_t i = 0; i < n; i++) {
    const lkd_log_field *f = &fields[i];
    if (!lkd_log_cfg.json) {
      if (i)
        lkt_buf_append(&b, " ", 1);
      lkt_buf_append_str(&b, f->value ? f->value : "-");
      if (f->value && f->unit)
        lkt_buf_append_str(&b, f->unit);
      continue;
    }
    lkt_buf_append(&b, ",", 1);
    lkt_json_key(&b, f->key);
    if (!f->value)
      lkt_buf_append_str(&b, "null");
    else if (f->number)
      lkt_buf_append_str(&b, f->value);
    else
      lkt_json_string(&b, f->value);
  }
  if (lkd_log_cfg.json)
    lkt_buf_append(&b, "}", 1);
  lkd_log_write(&b);
}
