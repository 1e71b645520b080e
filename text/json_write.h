/* json_write.h - JSON text written into a buffer: strings escaped so the
 * output is valid JSON whatever the input, float32 numbers in their shortest
 * round-trip text, and "key": members. Shared by the daemon and the CLI. */
#ifndef LKT_JSON_WRITE_H
#define LKT_JSON_WRITE_H

#include <stddef.h>

#include "buffer.h"

/* Appends s (NULL reads as "") as a quoted JSON string: '"', '\\' and
 * control characters are escaped (\n, \t, \r by name, the rest \u00XX);
 * valid UTF-8 passes through, and a byte that is not part of a valid UTF-8
 * sequence is written as \u00XX (read as Latin-1). */
void lkt_json_string(lkt_buf *b, const char *s);
/* Appends "key": (the key is trusted: a literal of the caller's). */
void lkt_json_key(lkt_buf *b, const char *key);
/* Appends "key":"value" with the value escaped as lkt_json_string does. */
void lkt_json_string_member(lkt_buf *b, const char *key, const char *value);
/* Appends v as lkt_float_print writes it: the shortest text that reads back
 * to v, or "NaN" / "Infinity" / "-Infinity" in quotes. */
void lkt_json_float(lkt_buf *b, float v);

#endif
