/* view.c - the [outer, channels, inner] view of a contiguous tensor from its
 * shape and channel axis, with overflow checks. */
#include <stdint.h>

#include "core/core.h"

/* a * b into *out, false on size_t overflow. */
static bool mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a)
    return false;
  *out = a * b;
  return true;
}

leakycl_status leakycl_view_count(leakycl_view view, size_t *count) {
  size_t oc, n;
  if (!count)
    return LEAKYCL_INVALID_ARGUMENT;
  if (view.outer == 0 || view.channels == 0 || view.inner == 0) {
    *count = 0; /* an empty tensor, however large its other dimensions */
    return LEAKYCL_OK;
  }
  if (!mul_size(view.outer, view.channels, &oc) || !mul_size(oc, view.inner, &n))
    return LEAKYCL_INVALID_ARGUMENT;
  *count = n;
  return LEAKYCL_OK;
}

leakycl_view leakycl_view_flat(size_t n) {
  leakycl_view v = {1, 1, n};
  return v;
}

leakycl_status leakycl_view_from_shape(const size_t *shape, size_t rank, long channel_axis,
                                       leakycl_view *out, char *err, size_t errlen) {
  if (!out)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "out is NULL");
  if (rank > LEAKYCL_MAX_RANK)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "rank %zu is over the maximum %d",
                       rank, LEAKYCL_MAX_RANK);
  if (rank > 0 && !shape)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "shape is NULL");
  if (rank == 0) {
    if (channel_axis != 0 && channel_axis != -1)
      return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                         "channel_axis %ld is out of range for a scalar (0 or -1)", channel_axis);
    out->outer = out->channels = out->inner = 1;
    return LEAKYCL_OK;
  }
  const long r = (long)rank;
  if (channel_axis < -r || channel_axis >= r)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "channel_axis %ld is out of range for rank %zu ([%ld, %ld])", channel_axis,
                       rank, -r, r - 1);
  const size_t axis = (size_t)(channel_axis < 0 ? channel_axis + r : channel_axis);
  leakycl_view v = {1, shape[axis], 1};
  bool empty = false;
  for (size_t d = 0; d < rank; d++)
    empty |= shape[d] == 0;
  for (size_t d = 0; d < rank; d++) {
    size_t *part = d < axis ? &v.outer : &v.inner;
    /* An empty tensor's other dimensions may be anything (NumPy agrees). */
    if (d != axis && !mul_size(*part, shape[d], part) && !empty)
      return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                         "shape has more elements than size_t holds");
  }
  size_t n;
  if (leakycl_view_count(v, &n) != LEAKYCL_OK)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "shape has more elements than size_t holds");
  *out = v;
  return LEAKYCL_OK;
}
