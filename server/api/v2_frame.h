/* v2_frame.h - the byte level of Open Inference Protocol (KServe v2)
 * bodies: where the JSON header ends (Inference-Header-Content-Length),
 * JSON's bare NaN / Infinity literals (what tritonclient's rapidjson
 * writes) turned into the quoted strings our codec reads, and
 * little-endian tensor bytes in and out (float32, float16, bfloat16). */
#ifndef LEAKYCLD_KSERVE_FRAME_H
#define LEAKYCLD_KSERVE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"

/* Parses an Inference-Header-Content-Length value: a decimal integer no
 * larger than body_len. Returns 0 with *json_len set, or -1 with a message
 * in err. */
int lkd_kserve_header_length(const char *value, size_t body_len, size_t *json_len, char *err,
                             size_t errlen);

/* How many bare NaN, Infinity and -Infinity tokens json[0, len) holds
 * outside strings (invalid JSON that rapidjson, Python's json and Triton
 * read and write). */
size_t lkd_kserve_count_nonfinite(const char *json, size_t len);

/* A malloc'd copy of json[0, len) with every such token quoted ("NaN",
 * "Infinity", "-Infinity": the convention of our codec), NUL-terminated,
 * its length in *out_len; NULL when out of memory. */
char *lkd_kserve_quote_nonfinite(const char *json, size_t len, size_t *out_len);

/* Element sizes of the wire datatypes. */
#define LKD_KSERVE_FP32_SIZE 4
#define LKD_KSERVE_HALF_SIZE 2 /* FP16 and BF16 */

/* Reads count little-endian float32 values from src (any alignment). */
void lkd_kserve_floats_from_le(float *dst, const unsigned char *src, size_t count);
/* Appends count floats as little-endian float32 bytes. */
void lkd_kserve_append_le(lkt_buf *b, const float *values, size_t count);
/* The same for 16-bit patterns (FP16, BF16). */
void lkd_kserve_halves_from_le(uint16_t *dst, const unsigned char *src, size_t count);
void lkd_kserve_append_le16(lkt_buf *b, const uint16_t *values, size_t count);

#endif
