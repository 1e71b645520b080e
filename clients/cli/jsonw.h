/* jsonw.h - JSON text on a stdio stream for the CLI, written by the shared
 * text library (text/json_write.h): escaped strings and float32 numbers in
 * their shortest round-trip text (NaN and infinities as the strings "NaN",
 * "Infinity", "-Infinity", the daemon's convention). */
#ifndef LEAKYCL_CLI_JSONW_H
#define LEAKYCL_CLI_JSONW_H

#include <stddef.h>
#include <stdio.h>

/* Writes s as a quoted JSON string (lkt_json_string: valid JSON whatever
 * the input). Returns 0, or -1 on a write error or no memory. */
int jsonw_string(FILE *f, const char *s);
/* Writes a float32 as lkt_json_float does. Returns 0 or -1. */
int jsonw_float(FILE *f, float v);
/* Writes `[v0,v1,...]` with jsonw_float's numbers. Returns 0 or -1. */
int jsonw_float_array(FILE *f, const float *v, size_t n);

#endif
