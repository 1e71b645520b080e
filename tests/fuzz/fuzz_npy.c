/* fuzz_npy.c - fuzz target for the CLI's .npy reader and writer
 * (clients/cli/npy.c, included to reach the file loader's static body).
 * Invariants: on success the data is exactly product(shape) * the element
 * size (4 for '<f4', 2 for '<f2') bytes after the header, rank <= 16, the
 * values are those bytes little-endian in the dtype's own array; every
 * shorter prefix of a good header asks for more; the stream loader agrees
 * with the memory parser; writing the array back and parsing that gives
 * the same shape and bytes. */
#include "npy.c"

#include "fuzz.h"

const char lk_fuzz_target[] = "npy";

static uint32_t le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t le16(const unsigned char *b) { return (uint16_t)(b[0] | b[1] << 8); }

static void check_same(const npy_array *a, const npy_array *b, const char *what) {
  FUZZ_CHECK(a->rank == b->rank && a->count == b->count && a->dtype == b->dtype,
             "%s: rank %zu count %zu dtype %d vs %zu %zu %d", what, a->rank, a->count,
             (int)a->dtype, b->rank, b->count, (int)b->dtype);
  for (size_t d = 0; d < a->rank; d++)
    FUZZ_CHECK(a->shape[d] == b->shape[d], "%s: shape[%zu] %zu vs %zu", what, d, a->shape[d],
               b->shape[d]);
  if (a->count > 0)
    FUZZ_CHECK(
        memcmp(npy_array_bytes(a), npy_array_bytes(b), a->count * npy_dtype_size(a->dtype)) == 0,
        "%s: values differ", what);
}

/* Runs the file loader's body over the bytes through a memory stream. */
static npy_result load_stream(const uint8_t *data, size_t size, npy_array *out, char *err,
                              size_t errlen) {
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f)
    return NPY_NEED_MORE; /* no stream to compare with (size 0) */
  npy_result r = npy_load_open(f, size, out, err, errlen);
  fclose(f);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256] = "";
  npy_array arr;
  memset(&arr, 0, sizeof arr);
  npy_result r = npy_parse(data, size, &arr, err, sizeof err);
  FUZZ_CHECK(r == NPY_OK || r == NPY_BAD, "npy_parse returned %d", (int)r);
  if (r == NPY_BAD)
    FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err), "a failure without a reason");

  npy_array loaded;
  memset(&loaded, 0, sizeof loaded);
  char lerr[256] = "";
  npy_result lr = load_stream(data, size, &loaded, lerr, sizeof lerr);
  if (lr != NPY_NEED_MORE) {
    FUZZ_CHECK(lr == r, "npy_load_open says %d (%s), npy_parse %d (%s)", (int)lr, lerr, (int)r,
               err);
    if (lr == NPY_OK)
      check_same(&arr, &loaded, "stream vs memory");
    npy_array_free(&loaded);
  }
  if (r != NPY_OK)
    return 0;

  /* The header alone parses to the same array description. */
  npy_header h;
  size_t needed = 0;
  FUZZ_CHECK(npy_parse_header(data, size, &h, &needed, err, sizeof err) == NPY_OK,
             "npy_parse accepted what npy_parse_header rejects: %s", err);
  FUZZ_CHECK(h.rank <= NPY_MAX_RANK && h.rank == arr.rank, "rank %zu (array %zu)", h.rank,
             arr.rank);
  size_t product = 1;
  for (size_t d = 0; d < h.rank; d++) {
    FUZZ_CHECK(h.shape[d] == arr.shape[d], "shape[%zu] %zu vs %zu", d, h.shape[d], arr.shape[d]);
    FUZZ_CHECK(h.shape[d] == 0 || product <= SIZE_MAX / h.shape[d], "shape overflows");
    product *= h.shape[d];
  }
  FUZZ_CHECK(product == arr.count && h.count == arr.count, "count %zu, shape product %zu",
             arr.count, product);
  const size_t item = npy_dtype_size(arr.dtype);
  FUZZ_CHECK(h.dtype == arr.dtype && (item == 4 || item == 2), "dtype %d (header %d)",
             (int)arr.dtype, (int)h.dtype);
  FUZZ_CHECK(h.data_offset <= size && size - h.data_offset == arr.count * item,
             "%zu data bytes after offset %zu for %zu values", size - h.data_offset, h.data_offset,
             arr.count);
  const void *bytes = npy_array_bytes(&arr);
  FUZZ_CHECK(arr.count == 0 ? bytes == NULL : ((uintptr_t)bytes % 64) == 0,
             "data %p for %zu values is not 64-byte aligned", bytes, arr.count);
  /* Only the dtype's own array is set. */
  FUZZ_CHECK(arr.dtype == NPY_FLOAT16 ? arr.data == NULL : arr.data_f16 == NULL,
             "both data arrays set for dtype %d", (int)arr.dtype);
  for (size_t i = 0; i < arr.count; i++) {
    if (item == 2) {
      FUZZ_CHECK(arr.data_f16[i] == le16(data + h.data_offset + 2 * i),
                 "value %zu: 0x%04x, file has 0x%04x", i, arr.data_f16[i],
                 le16(data + h.data_offset + 2 * i));
      continue;
    }
    uint32_t u;
    memcpy(&u, &arr.data[i], sizeof u);
    FUZZ_CHECK(u == le32(data + h.data_offset + 4 * i), "value %zu: 0x%08x, file has 0x%08x", i, u,
               le32(data + h.data_offset + 4 * i));
  }

  /* Every prefix that ends inside the header asks for more, never for less
   * than it has nor more than the header is. */
  for (size_t k = 0; k < h.data_offset; k++) {
    npy_header hk;
    size_t need = 0;
    npy_result rk = npy_parse_header(data, k, &hk, &need, err, sizeof err);
    FUZZ_CHECK(rk == NPY_NEED_MORE && need > k && need <= h.data_offset,
               "prefix of %zu bytes (header %zu): result %d, needs %zu", k, h.data_offset, (int)rk,
               need);
  }

  /* Write it back (as numpy would) and read that. */
  char *text = NULL;
  size_t text_len = 0;
  FILE *f = open_memstream(&text, &text_len);
  FUZZ_CHECK(f != NULL, "open_memstream failed");
  npy_result wr =
      npy_write_typed(f, arr.shape, arr.rank, arr.dtype, npy_array_bytes(&arr), err, sizeof err);
  FUZZ_CHECK(fclose(f) == 0, "closing the memory stream failed");
  FUZZ_CHECK(wr == NPY_OK, "npy_write failed on a parsed array: %s", err);
  npy_array again;
  memset(&again, 0, sizeof again);
  npy_result r2 = npy_parse((const unsigned char *)text, text_len, &again, err, sizeof err);
  FUZZ_CHECK(r2 == NPY_OK, "the written file does not parse: %s", err);
  npy_header h2;
  FUZZ_CHECK(npy_parse_header((const unsigned char *)text, text_len, &h2, &needed, err,
                              sizeof err) == NPY_OK &&
                 h2.version_major == 1 && h2.data_offset % 64 == 0,
             "written header: version %u, data at %zu (want 1.0, a multiple of 64)",
             h2.version_major, h2.data_offset);
  check_same(&arr, &again, "written and read back");
  FUZZ_CHECK(memcmp(text + h2.data_offset, data + h.data_offset, arr.count * item) == 0,
             "written data bytes differ from the input's");
  npy_array_free(&again);
  free(text);
  npy_array_free(&arr);
  return 0;
}
