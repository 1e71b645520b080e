/* jsonw.h - minimal JSON text output for the CLI: escaped strings and
 * float32 numbers (NaN and infinities as the strings "NaN", "Infinity",
 * "-Infinity", the daemon's convention). */
#ifndef LEAKYCL_CLI_JSONW_H
#define LEAKYCL_CLI_JSONW_H

#include <stddef.h>
#include <stdio.h>

/* Writes s as a quoted JSON string: '"', '\\' and control characters are
 * escaped; valid UTF-8 passes through, and any byte that is not part of a
 * valid UTF-8 sequence is written as \u00XX (read as Latin-1), so the output
 * is valid JSON whatever the input. Returns 0, or -1 on a write error. */
int jsonw_string(FILE *f, const char *s);

/* Writes a float32 with %.9g (enough digits to read back the same float),
 * or "NaN" / "Infinity" / "-Infinity" in quotes. Returns 0 or -1. */
int jsonw_float(FILE *f, float v);

/* Writes `[v0,v1,...]` with jsonw_float. Returns 0 or -1. */
int jsonw_float_array(FILE *f, const float *v, size_t n);

#endif
