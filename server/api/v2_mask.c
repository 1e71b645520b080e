/* v2_mask.c - the packed mask of seed 004 as an Open Inference Protocol
 * tensor: UINT8 bytes (the library's words, byte by byte) or BOOL, one
 * byte an element, packed here. */
#include <stdlib.h>
#include <string.h>

#include "v2_request.h"

void lkd_v2_mask_shape(leakycl_activation activation, size_t n, size_t shape[2]) {
  shape[0] = leakycl_mask_words(activation, 32); /* the planes */
  shape[1] = leakycl_mask_words(activation, n) / shape[0] * sizeof(uint32_t);
}

int lkd_v2_mask_pack(leakycl_activation activation, size_t n, lkd_kserve_dtype dtype,
                     const uint8_t *bytes, size_t count, uint32_t **out, lkd_error *e) {
  const size_t words = leakycl_mask_words(activation, n);
  const size_t planes = leakycl_mask_words(activation, 32);
  const size_t plane_words = words / planes;
  *out = calloc(words ? words : 1, sizeof **out);
  if (!*out)
    return lkd_fail(e, LKD_OUT_OF_MEMORY, "out of memory for a mask of %zu words", words);
  if (dtype == LKD_DT_UINT8) {
    if (count != words * sizeof(uint32_t))
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input mask has %zu bytes; %s of %zu elements needs %zu (UINT8, shape "
                      "[%zu, %zu])",
                      count, leakycl_activation_name(activation), n, words * sizeof(uint32_t),
                      planes, plane_words * sizeof(uint32_t));
    for (size_t b = 0; b < count; b++) /* little-endian words, any host */
      (*out)[b / 4] |= (uint32_t)bytes[b] << (8 * (b % 4));
  } else {
    if (count != planes * n)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input mask has %zu BOOL elements; %s of %zu elements needs %zu", count,
                      leakycl_activation_name(activation), n, planes * n);
    for (size_t p = 0; p < planes; p++)
      for (size_t i = 0; i < n; i++)
        (*out)[p * plane_words + i / 32] |= (uint32_t)(bytes[p * n + i] != 0) << (i % 32);
  }
  const size_t tail = n % 32; /* bits past n must be 0, as a forward writes them */
  for (size_t p = 0; tail && dtype == LKD_DT_UINT8 && p < planes; p++)
    if ((*out)[p * plane_words + n / 32] >> tail)
      return lkd_fail(e, LKD_INVALID_ARGUMENT,
                      "input mask has bits set past element %zu (plane %zu): not a mask of %zu "
                      "elements",
                      n, p, n);
  return 0;
}
