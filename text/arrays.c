/* arrays.c - JSON number arrays: one-pass parse into float32, shortest-text print. */
#include "arrays.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error_text.h"
#include "float_parse_impl.h"
#include "float_print_impl.h"

/* ---- Number arrays ---- */

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

void lkt_tensor_free(lkt_tensor *t) {
  lkt_mem_release(t->values); /* malloc'd (arrays) or from the hooks (base64) */
  memset(t, 0, sizeof *t);
}

/* The parse is one loop over the text with a counter per open level (no
 * recursion, so depth is bounded by max_depth, not by the stack). The rank
 * is fixed by the leading run of '['; each level's length is fixed by the
 * first array to close at that level and every later one must match. */
int lkt_array_parse(const char *p, const char *end, const lkt_limits *limits, lkt_tensor *out,
                    const char **stop, size_t *bad_index, char *err, size_t errlen) {
  size_t max_depth = limits->max_depth < LKT_MAX_RANK ? limits->max_depth : LKT_MAX_RANK;
  size_t children[LKT_MAX_RANK]; /* elements of the open array at each level */
  size_t shape[LKT_MAX_RANK];
  int shape_known[LKT_MAX_RANK] = {0};
  float *values = NULL;
  size_t count = 0, cap = 0, depth = 0;

  memset(out, 0, sizeof *out);
  *bad_index = SIZE_MAX;
  p = skip_ws(p, end);
  if (p == end || *p != '[')
    return lkt_fail(err, errlen, "expected an array");
  while (p < end && *p == '[') {
    if (depth == max_depth)
      return lkt_fail(err, errlen, "array nested deeper than %zu", max_depth);
    children[depth++] = 0;
    p = skip_ws(p + 1, end);
  }
  const size_t rank = depth;

  for (;;) { /* p is at an element or ']' of the open array at level depth */
    if (p == end)
      goto unterminated;
    if (depth == rank) {
      const size_t row_start = count;
      while (*p != ']') {
        if (*p == '[') {
          lkt_fail(err, errlen, "ragged array: element %zu is nested deeper than element 0", count);
          goto done;
        }
        if (count == cap) {
          if (count >= limits->max_elements) {
            lkt_fail(err, errlen, "array has more than %zu elements", limits->max_elements);
            goto done;
          }
          size_t grown = cap ? cap * 2 : 256;
          if (grown > limits->max_elements)
            grown = limits->max_elements;
          float *v = realloc(values, grown * sizeof *v);
          if (!v) {
            lkt_fail(err, errlen, "out of memory for %zu elements", grown);
            goto done;
          }
          values = v;
          cap = grown;
        }
        const char *q = parse_number(p, end, &values[count]);
        if (!q) {
          *bad_index = count;
          lkt_fail(err, errlen, "element %zu is not a number", count);
          goto done;
        }
        count++;
        p = skip_ws(q, end);
        if (p == end)
          goto unterminated;
        if (*p == ',') {
          p = skip_ws(p + 1, end);
          if (p == end)
            goto unterminated;
          if (*p == ']') {
            lkt_fail(err, errlen, "trailing comma after element %zu", count - 1);
            goto done;
          }
        } else if (*p != ']') {
          lkt_fail(err, errlen, "expected ',' or ']' after element %zu", count - 1);
          goto done;
        }
      }
      children[depth - 1] = count - row_start;
    } else if (*p == '[') {
      children[depth++] = 0;
      p = skip_ws(p + 1, end);
      continue;
    } else if (*p != ']') {
      lkt_fail(err, errlen, "ragged array: a number where level %zu has arrays (element %zu)",
               depth + 1, count);
      goto done;
    }
    /* *p == ']': close the array at level depth */
    const size_t n = children[depth - 1];
    if (!shape_known[depth - 1]) {
      shape[depth - 1] = n;
      shape_known[depth - 1] = 1;
    } else if (n != shape[depth - 1]) {
      lkt_fail(err, errlen, "ragged array: %zu elements at level %zu where the first had %zu", n,
               depth, shape[depth - 1]);
      goto done;
    }
    const char *after = ++p;
    if (--depth == 0) {
      *stop = after;
      break;
    }
    children[depth - 1]++;
    p = skip_ws(p, end);
    if (p == end)
      goto unterminated;
    if (*p == ',') {
      p = skip_ws(p + 1, end);
      if (p < end && *p == ']') {
        lkt_fail(err, errlen, "trailing comma in array at level %zu", depth);
        goto done;
      }
    } else if (*p != ']') {
      lkt_fail(err, errlen, "expected ',' or ']' after a nested array at level %zu", depth);
      goto done;
    }
  }

  out->values = values; /* NULL when count == 0: nothing was allocated */
  out->count = count;
  out->rank = rank;
  memcpy(out->shape, shape, rank * sizeof shape[0]);
  return 0;

unterminated:
  lkt_fail(err, errlen, "unterminated array");
done:
  free(values);
  return -1;
}

/* Appends values[first, first + n) separated by commas, reserving room in
 * blocks (and TEXT_ROOM for the last number) so the hot loop writes
 * straight into the buffer. */
static void print_values(lkt_buf *b, const float *values, size_t first, size_t n) {
  enum { BLOCK = 4096 };
  for (size_t i = 0; i < n;) {
    size_t todo = n - i < BLOCK ? n - i : BLOCK;
    if (lkt_buf_reserve(b, todo * (LKT_FLOAT_TEXT_MAX + 1) + TEXT_ROOM) != 0)
      return;
    char *p = b->data + b->len;
    for (size_t j = 0; j < todo; j++, i++) {
      *p = ',';
      p += i != 0;
      p += float_to_text(values[first + i], p);
    }
    b->len = (size_t)(p - b->data);
  }
}

/* The product of shape, or SIZE_MAX when it overflows. */
static size_t shape_product(const size_t *shape, size_t rank) {
  size_t product = 1;
  for (size_t i = 0; i < rank; i++) {
    if (shape[i] == 0)
      return 0;
    if (product > SIZE_MAX / shape[i])
      product = SIZE_MAX;
    else
      product *= shape[i];
  }
  return product;
}

/* A shape that does not multiply out to count (a caller bug) prints flat
 * rather than reading past values. */
void lkt_array_print(lkt_buf *b, const float *values, size_t count, const size_t *shape,
                     size_t rank) {
  lkt_buf_append(b, "[", 1);
  if (rank <= 1 || rank > LKT_MAX_RANK || shape_product(shape, rank) != count) {
    print_values(b, values, 0, count);
    lkt_buf_append(b, "]", 1);
    return;
  }
  /* An odometer over the outer levels: idx[d] counts the arrays written in
   * the open array at level d; the innermost level prints a row at once. */
  size_t idx[LKT_MAX_RANK];
  size_t d = 0, at = 0;
  idx[0] = 0;
  for (;;) {
    if (d == rank - 1) {
      print_values(b, values, at, shape[d]);
      at += shape[d];
    } else if (idx[d] < shape[d]) {
      lkt_buf_append(b, idx[d] ? ",[" : "[", idx[d] ? 2 : 1);
      idx[++d] = 0;
      continue;
    }
    lkt_buf_append(b, "]", 1);
    if (d == 0)
      return;
    idx[--d]++;
  }
}
