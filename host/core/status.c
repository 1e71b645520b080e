/* status.c - status names and messages (from LEAKYCL_STATUS_MAP), OpenCL
 * error names, and formatting of error details. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* Each status's name and message, indexed by the status. */
static const struct {
  const char *name, *message;
} statuses[LEAKYCL_STATUS_COUNT_] = {
#define LK_STATUS_ROW_(name, msg) [LEAKYCL_##name] = {#name, msg},
    LEAKYCL_STATUS_MAP(LK_STATUS_ROW_)
#undef LK_STATUS_ROW_
};

const char *leakycl_status_name(leakycl_status status) {
  return (unsigned)status < LEAKYCL_STATUS_COUNT_ ? statuses[status].name : "UNKNOWN_STATUS";
}

const char *leakycl_status_message(leakycl_status status) {
  return (unsigned)status < LEAKYCL_STATUS_COUNT_ ? statuses[status].message : "unknown status";
}

const char *leakycl_cl_error_name(cl_int code) {
  switch (code) {
#define LK_CL_CASE_(c)                                                                             \
  case c:                                                                                          \
    return #c;
    LK_CL_CASE_(CL_SUCCESS)
    LK_CL_CASE_(CL_DEVICE_NOT_FOUND)
    LK_CL_CASE_(CL_DEVICE_NOT_AVAILABLE)
    LK_CL_CASE_(CL_COMPILER_NOT_AVAILABLE)
    LK_CL_CASE_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    LK_CL_CASE_(CL_OUT_OF_RESOURCES)
    LK_CL_CASE_(CL_OUT_OF_HOST_MEMORY)
    LK_CL_CASE_(CL_PROFILING_INFO_NOT_AVAILABLE)
    LK_CL_CASE_(CL_MEM_COPY_OVERLAP)
    LK_CL_CASE_(CL_IMAGE_FORMAT_MISMATCH)
    LK_CL_CASE_(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    LK_CL_CASE_(CL_BUILD_PROGRAM_FAILURE)
    LK_CL_CASE_(CL_MAP_FAILURE)
    LK_CL_CASE_(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    LK_CL_CASE_(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    LK_CL_CASE_(CL_COMPILE_PROGRAM_FAILURE)
    LK_CL_CASE_(CL_LINKER_NOT_AVAILABLE)
    LK_CL_CASE_(CL_LINK_PROGRAM_FAILURE)
    LK_CL_CASE_(CL_DEVICE_PARTITION_FAILED)
    LK_CL_CASE_(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    LK_CL_CASE_(CL_INVALID_VALUE)
    LK_CL_CASE_(CL_INVALID_DEVICE_TYPE)
    LK_CL_CASE_(CL_INVALID_PLATFORM)
    LK_CL_CASE_(CL_INVALID_DEVICE)
    LK_CL_CASE_(CL_INVALID_CONTEXT)
    LK_CL_CASE_(CL_INVALID_QUEUE_PROPERTIES)
    LK_CL_CASE_(CL_INVALID_COMMAND_QUEUE)
    LK_CL_CASE_(CL_INVALID_HOST_PTR)
    LK_CL_CASE_(CL_INVALID_MEM_OBJECT)
    LK_CL_CASE_(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    LK_CL_CASE_(CL_INVALID_IMAGE_SIZE)
    LK_CL_CASE_(CL_INVALID_SAMPLER)
    LK_CL_CASE_(CL_INVALID_BINARY)
    LK_CL_CASE_(CL_INVALID_BUILD_OPTIONS)
    LK_CL_CASE_(CL_INVALID_PROGRAM)
    LK_CL_CASE_(CL_INVALID_PROGRAM_EXECUTABLE)
    LK_CL_CASE_(CL_INVALID_KERNEL_NAME)
    LK_CL_CASE_(CL_INVALID_KERNEL_DEFINITION)
    LK_CL_CASE_(CL_INVALID_KERNEL)
    LK_CL_CASE_(CL_INVALID_ARG_INDEX)
    LK_CL_CASE_(CL_INVALID_ARG_VALUE)
    LK_CL_CASE_(CL_INVALID_ARG_SIZE)
    LK_CL_CASE_(CL_INVALID_KERNEL_ARGS)
    LK_CL_CASE_(CL_INVALID_WORK_DIMENSION)
    LK_CL_CASE_(CL_INVALID_WORK_GROUP_SIZE)
    LK_CL_CASE_(CL_INVALID_WORK_ITEM_SIZE)
    LK_CL_CASE_(CL_INVALID_GLOBAL_OFFSET)
    LK_CL_CASE_(CL_INVALID_EVENT_WAIT_LIST)
    LK_CL_CASE_(CL_INVALID_EVENT)
    LK_CL_CASE_(CL_INVALID_OPERATION)
    LK_CL_CASE_(CL_INVALID_GL_OBJECT)
    LK_CL_CASE_(CL_INVALID_BUFFER_SIZE)
    LK_CL_CASE_(CL_INVALID_MIP_LEVEL)
    LK_CL_CASE_(CL_INVALID_GLOBAL_WORK_SIZE)
    LK_CL_CASE_(CL_INVALID_PROPERTY)
    LK_CL_CASE_(CL_INVALID_IMAGE_DESCRIPTOR)
    LK_CL_CASE_(CL_INVALID_COMPILER_OPTIONS)
    LK_CL_CASE_(CL_INVALID_LINKER_OPTIONS)
    LK_CL_CASE_(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef LK_CL_CASE_
  case -1001:
    return "CL_PLATFORM_NOT_FOUND_KHR";
  default:
    return "CL_UNKNOWN_ERROR";
  }
}

/* The one formatter of error details: into buf, NULL-safe. */
static void format_detail(char *buf, size_t buflen, const char *fmt, va_list ap) {
  if (buf && buflen > 0)
    vsnprintf(buf, buflen, fmt, ap);
}

leakycl_status lk_fail_buf(char *buf, size_t buflen, leakycl_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  format_detail(buf, buflen, fmt, ap);
  va_end(ap);
  return status;
}

leakycl_status lk_fail(lk_error *err, leakycl_status status, const char *fmt, ...) {
  if (!err)
    return status;
  va_list ap;
  va_start(ap, fmt);
  format_detail(err->text, sizeof err->text, fmt, ap);
  va_end(ap);
  if (err->injected) {
    const size_t used = strlen(err->text);
    snprintf(err->text + used, sizeof err->text - used, " (injected by LEAKYCL_FAULT)");
    err->injected = false;
  }
  return status;
}

leakycl_status lk_fail_cl(lk_error *err, cl_int code, const char *what) {
  leakycl_status st = (code == CL_OUT_OF_HOST_MEMORY || code == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                       code == CL_INVALID_BUFFER_SIZE)
                          ? LEAKYCL_OUT_OF_MEMORY
                          : LEAKYCL_OPENCL_ERROR;
  return lk_fail(err, st, "%s: %s (%d)", what, leakycl_cl_error_name(code), (int)code);
}
