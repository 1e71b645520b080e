/* fault.c - LEAKYCL_FAULT, a test-only switch: "build", "alloc" or
 * "enqueue" makes the first program build, buffer allocation or kernel
 * enqueue of each new context fail once, as the OpenCL call would, so that
 * callers (the daemon) can prove they report it and recover. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"

leakycl_status lk_fault_init(leakycl_context *ctx, char *err, size_t errlen) {
  static const struct {
    const char *name;
    lk_fault kind;
  } kinds[] = {{"build", LK_FAULT_BUILD}, {"alloc", LK_FAULT_ALLOC}, {"enqueue", LK_FAULT_ENQUEUE}};
  const char *value = getenv("LEAKYCL_FAULT");
  ctx->fault_pending = LK_FAULT_NONE;
  if (!value || !*value)
    return LEAKYCL_OK;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (strcmp(value, kinds[i].name) == 0) {
      ctx->fault_pending = kinds[i].kind;
      return LEAKYCL_OK;
    }
  }
  return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                     "LEAKYCL_FAULT=\"%s\": expected build, alloc or enqueue", value);
}

bool lk_fault_take(leakycl_context *ctx, lk_fault kind) {
  if (ctx->fault_pending != kind)
    return false;
  ctx->fault_pending = LK_FAULT_NONE;
  ctx->error.injected = true;
  return true;
}

cl_mem lk_create_buffer(leakycl_context *ctx, cl_mem_flags flags, size_t bytes, void *host,
                        cl_int *rc) {
  if (lk_fault_take(ctx, LK_FAULT_ALLOC)) {
    *rc = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    return NULL;
  }
  return clCreateBuffer(ctx->cl_ctx, flags, bytes, host, rc);
}
