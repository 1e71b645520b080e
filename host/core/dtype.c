/* dtype.c - the storage types of tensors (float32, float16, bfloat16): their
 * names and element sizes. The conversions themselves live in the kernels
 * (kernels/common.cl, LK_DTYPE). */
#include "core/core.h"

static const char *const dtype_names[] = {
    [LEAKYCL_FLOAT32] = "float32", [LEAKYCL_FLOAT16] = "float16", [LEAKYCL_BFLOAT16] = "bfloat16"};

const char *leakycl_dtype_name(leakycl_dtype dtype) { return LK_NAME_OF(dtype_names, dtype, NULL); }

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
