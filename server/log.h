/* log.h - leakycld's log on stderr: levels (--log-level), the text or JSON
 * form of a line (--log-format), message lines, and records of named fields
 * (the access log's request lines). One log a process, set once at start. */
#ifndef LEAKYCLD_LOG_H
#define LEAKYCLD_LOG_H

#include <stddef.h>
#include <time.h>

/* A line's level, most severe first. A line is written when its level is
 * at most the configured one. NOTICE (start-up, stop and the devices) sits
 * above WARN so that --log-level warn keeps it and only error drops it. */
typedef enum lkd_log_level {
  LKD_LOG_ERROR,
  LKD_LOG_NOTICE,
  LKD_LOG_WARN,
  LKD_LOG_INFO,
  LKD_LOG_DEBUG,
} lkd_log_level;

/* "error", "notice", "warn", "info", "debug". */
const char *lkd_log_level_name(lkd_log_level level);
/* Parses a --log-level value (error, warn, info, debug); 0 or -1. */
int lkd_log_parse_level(const char *text, lkd_log_level *out);
/* Parses a --log-format value (text, json) into *json; 0 or -1. */
int lkd_log_parse_format(const char *text, int *json);

/* Sets the level and the form (before any thread logs). The default:
 * info, text. */
void lkd_log_setup(lkd_log_level level, int json);
/* Whether a line of this level is written. */
int lkd_log_on(lkd_log_level level);

/* Writes a message line: in text "TIME leakycld: [warning: |error: ]MESSAGE",
 * in JSON {"time","level","type":"message","message"}. */
void lkd_log(lkd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One field of a record: a key (a literal), its value (NULL: "-" in text,
 * null in JSON), whether the value is a JSON number, and a unit the text
 * form appends ("ms"). */
typedef struct lkd_log_field {
  const char *key;
  const char *value;
  int number;
  const char *unit;
} lkd_log_field;

/* Writes a record stamped `when` (CLOCK_REALTIME): in text "TIME V1 V2 ...",
 * the values space-separated in order, in JSON
 * {"time","level","type":type,"K1":V1,...}. Values must hold no space. */
void lkd_log_record(lkd_log_level level, const struct timespec *when, const char *type,
                    const lkd_log_field *fields, size_t n);

/* Writes t as ISO 8601 UTC with milliseconds, "2025-06-01T12:00:00.123Z"
 * (out: at least 32 bytes). */
void lkd_log_time(const struct timespec *t, char *out, size_t cap);

#endif
