/* device.c - OpenCL platform and device discovery into leakycl_device_info. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"

/* Indexed by the type's bit; LEAKYCL_DEVICE_OTHER and the gaps are "other". */
static const char *const device_type_names[] = {[LEAKYCL_DEVICE_CPU] = "cpu",
                                                [LEAKYCL_DEVICE_GPU] = "gpu",
                                                [LEAKYCL_DEVICE_ACCELERATOR] = "accelerator"};

const char *leakycl_device_type_name(leakycl_device_type type) {
  return LK_NAME_OF(device_type_names, type, "other");
}

static leakycl_device_type type_of(cl_device_type t) {
  if (t & CL_DEVICE_TYPE_GPU)
    return LEAKYCL_DEVICE_GPU;
  if (t & CL_DEVICE_TYPE_ACCELERATOR)
    return LEAKYCL_DEVICE_ACCELERATOR;
  if (t & CL_DEVICE_TYPE_CPU)
    return LEAKYCL_DEVICE_CPU;
  return LEAKYCL_DEVICE_OTHER;
}

/* A string info into a fixed field, always terminated. */
static cl_int device_string(cl_device_id id, cl_device_info what, char *buf, size_t len) {
  buf[0] = '\0';
  cl_int rc = clGetDeviceInfo(id, what, len - 1, buf, NULL);
  if (rc == CL_INVALID_VALUE) { /* longer than the field: take its start */
    size_t need = 0;
    rc = clGetDeviceInfo(id, what, 0, NULL, &need);
    char *tmp = rc == CL_SUCCESS ? malloc(need + 1) : NULL;
    if (tmp && clGetDeviceInfo(id, what, need, tmp, NULL) == CL_SUCCESS) {
      snprintf(buf, len, "%s", tmp);
      rc = CL_SUCCESS;
    }
    free(tmp);
  }
  buf[len - 1] = '\0';
  return rc;
}

leakycl_status lk_device_info_of(cl_device_id id, unsigned platform_index, unsigned device_index,
                                 leakycl_device_info *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->platform_index = platform_index;
  out->device_index = device_index;
  cl_platform_id platform;
  cl_device_type type;
  cl_uint units;
  cl_ulong global_mem, local_mem, max_alloc;
  size_t max_wg;
  cl_bool unified = CL_FALSE;
  /* The numeric queries, then the strings (each cut to its field). */
  const struct {
    cl_device_info what;
    size_t size;
    void *value;
  } numbers[] = {{CL_DEVICE_TYPE, sizeof type, &type},
                 {CL_DEVICE_PLATFORM, sizeof platform, &platform},
                 {CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units},
                 {CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global_mem, &global_mem},
                 {CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem},
                 {CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc},
                 {CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg}};
  const struct {
    cl_device_info what;
    char *buf;
    size_t len;
  } strings[] = {{CL_DEVICE_NAME, out->name, sizeof out->name},
                 {CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor},
                 {CL_DEVICE_VERSION, out->version, sizeof out->version},
                 {CL_DRIVER_VERSION, out->driver_version, sizeof out->driver_version}};
  cl_int rc = CL_SUCCESS;
  for (size_t i = 0; i < sizeof numbers / sizeof numbers[0] && rc == CL_SUCCESS; i++)
    rc = clGetDeviceInfo(id, numbers[i].what, numbers[i].size, numbers[i].value, NULL);
  for (size_t i = 0; i < sizeof strings / sizeof strings[0] && rc == CL_SUCCESS; i++)
    rc = device_string(id, strings[i].what, strings[i].buf, strings[i].len);
  if (rc != CL_SUCCESS)
    return lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clGetDeviceInfo: %s (%d)",
                       leakycl_cl_error_name(rc), rc);
  /* Deprecated in OpenCL 2.0 and absent on some drivers: treat as unknown. */
  if (clGetDeviceInfo(id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL) !=
      CL_SUCCESS)
    unified = CL_FALSE;
  out->platform_name[0] = '\0';
  clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof out->platform_name - 1, out->platform_name,
                    NULL);
  out->platform_name[sizeof out->platform_name - 1] = '\0';
  out->type = type_of(type);
  out->compute_units = units;
  out->global_mem_bytes = global_mem;
  out->local_mem_bytes = local_mem;
  out->max_alloc_bytes = max_alloc;
  out->max_work_group_size = max_wg;
  out->unified_memory = unified == CL_TRUE;
  return LEAKYCL_OK;
}

leakycl_status lk_enumerate(leakycl_device_info **infos, cl_device_id **ids, size_t *count,
                            char *err, size_t errlen) {
  *infos = NULL;
  if (ids)
    *ids = NULL;
  *count = 0;
  cl_uint nplat = 0;
  lk_runtime_cache_setup(); /* before the runtime reads its environment */
  cl_int rc = clGetPlatformIDs(0, NULL, &nplat);
  if (rc == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found none */ || nplat == 0)
    return LEAKYCL_OK;
  if (rc != CL_SUCCESS)
    return lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clGetPlatformIDs: %s (%d)",
                       leakycl_cl_error_name(rc), rc);
  leakycl_status st = LEAKYCL_OK;
  cl_platform_id *plats = calloc(nplat, sizeof *plats);
  leakycl_device_info *all = NULL;
  cl_device_id *all_ids = NULL;
  size_t total = 0;
  if (!plats) {
    st = lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for platforms");
    goto done;
  }
  rc = clGetPlatformIDs(nplat, plats, NULL);
  if (rc != CL_SUCCESS) {
    st = lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clGetPlatformIDs: %s (%d)",
                     leakycl_cl_error_name(rc), rc);
    goto done;
  }
  for (cl_uint p = 0; p < nplat; p++) {
    cl_uint ndev = 0;
    rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
    if (rc == CL_DEVICE_NOT_FOUND || ndev == 0)
      continue;
    if (rc != CL_SUCCESS) {
      st = lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clGetDeviceIDs: %s (%d)",
                       leakycl_cl_error_name(rc), rc);
      goto done;
    }
    cl_device_id *devs = calloc(ndev, sizeof *devs);
    leakycl_device_info *grown = realloc(all, (total + ndev) * sizeof *all);
    cl_device_id *grown_ids = grown ? realloc(all_ids, (total + ndev) * sizeof *all_ids) : NULL;
    if (grown)
      all = grown;
    if (grown_ids)
      all_ids = grown_ids;
    if (!devs || !grown || !grown_ids) {
      free(devs);
      st = lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for devices");
      goto done;
    }
    rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs, NULL);
    for (cl_uint d = 0; rc == CL_SUCCESS && d < ndev && st == LEAKYCL_OK; d++) {
      st = lk_device_info_of(devs[d], p, d, &all[total], err, errlen);
      all_ids[total++] = devs[d];
    }
    free(devs);
    if (rc != CL_SUCCESS)
      st = lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clGetDeviceIDs: %s (%d)",
                       leakycl_cl_error_name(rc), rc);
    if (st != LEAKYCL_OK)
      goto done;
  }
done:
  free(plats);
  if (st != LEAKYCL_OK) {
    free(all);
    free(all_ids);
    return st;
  }
  *infos = all;
  *count = total;
  if (ids)
    *ids = all_ids;
  else
    free(all_ids);
  return LEAKYCL_OK;
}

leakycl_status leakycl_list_devices(leakycl_device_info *out, size_t capacity, size_t *count,
                                    char *err, size_t errlen) {
  if (!count || (capacity > 0 && !out))
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "count is NULL, or out is NULL with capacity %zu", capacity);
  leakycl_device_info *infos;
  size_t n;
  leakycl_status st = lk_enumerate(&infos, NULL, &n, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  for (size_t i = 0; i < n && i < capacity; i++)
    out[i] = infos[i];
  *count = n;
  free(infos);
  return LEAKYCL_OK;
}
