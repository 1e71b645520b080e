/* float_text.h - exact float32 text both ways: correctly rounded parsing of
 * JSON numbers, shortest round-trip printing. */
#ifndef LKT_FLOAT_TEXT_H
#define LKT_FLOAT_TEXT_H

#include <stddef.h>

/* Longest text lkt_float_print writes, without the terminating NUL: a quoted
 * "-Infinity" or something like -1.17549435e-38. */
#define LKT_FLOAT_TEXT_MAX 16

/* Parses one JSON number at [p, end), or one of the strings "NaN",
 * "Infinity", "-Infinity" (with their quotes), into the correctly rounded
 * float32 (round to nearest even; overflow gives +-Inf only for values that
 * round past FLT_MAX, underflow gives +-0 or subnormals correctly). JSON
 * grammar is strict: no leading '+', no leading zeros, no "1.", no hex.
 * Returns a pointer just past the token, or NULL when there is no valid
 * token at p. */
const char *lkt_float_parse(const char *p, const char *end, float *out);

/* Writes the shortest decimal text that reads back (as float32) to exactly
 * v, at most 9 significant digits, JSON-valid ("1", "-0", "0.01", "1e+30",
 * "1.17549435e-38"); NaN, +Inf and -Inf are written as the JSON strings
 * "NaN", "Infinity", "-Infinity" including the quotes. Returns the length
 * written (<= LKT_FLOAT_TEXT_MAX); out needs LKT_FLOAT_TEXT_MAX + 1 bytes. */
size_t lkt_float_print(float v, char *out);

#endif
