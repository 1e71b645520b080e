/* dtype.c - the storage types of tensors (float32, float16, bfloat16): their
 * names and element sizes. The conversions themselves live in the kernels
 * (kernels/common.cl, LK_DTYPE). */
#include "core/core.h"

const char *leakycl_dtype_name(leakycl_dtype dtype) {
  switch (dtype) {
  case LEAKYCL_FLOAT32:
    return "float32";
  case LEAKYCL_FLOAT16:
    return "float16";
  case LEAKYCL_BFLOAT16:
    return "bfloat16";
  default:
    return NULL;
  }
}

size_t leakycl_dtype_size(leakycl_dtype dtype) {
  switch (dtype) {
  case LEAKYCL_FLOAT32:
    return 4;
  case LEAKYCL_FLOAT16:
  case LEAKYCL_BFLOAT16:
    return 2;
  default:
    return 0;
  }
}
