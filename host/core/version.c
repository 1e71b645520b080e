/* version.c - the version of the library that is loaded. */
#include "leakycl.h"

const char *leakycl_version(int *major, int *minor, int *patch) {
  if (major)
    *major = LEAKYCL_VERSION_MAJOR;
  if (minor)
    *minor = LEAKYCL_VERSION_MINOR;
  if (patch)
    *patch = LEAKYCL_VERSION_PATCH;
  return LEAKYCL_VERSION;
}
