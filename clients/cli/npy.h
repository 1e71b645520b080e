/* npy.h - a strict reader and writer of NumPy .npy files holding float32
 * ('<f4'), float16 ('<f2') or uint32 ('<u4': packed masks), C order, rank
 * 0..16; format versions 1.0, 2.0 and 3.0. */
#ifndef LEAKYCL_CLI_NPY_H
#define LEAKYCL_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPY_MAX_RANK 16
/* The longest header we accept (numpy's own np.load stops at 10000 bytes by
 * default; ours needs well under 1 KiB even at rank 16). */
#define NPY_MAX_HEADER_LEN 65536u
/* Bytes before the header text: magic (6), version (2), length (2 or 4). */
#define NPY_PREAMBLE_MAX 12u

/* The element types we read and write. float16 values stay IEEE binary16
 * bit patterns (uint16_t): the library computes on them as they are.
 * uint32 words (packed masks) travel as 4-byte patterns in `data`, as
 * float32 values do: read them through npy_array_bytes(). */
typedef enum npy_dtype { NPY_FLOAT32 = 0, NPY_FLOAT16 = 1, NPY_UINT32 = 2 } npy_dtype;

/* Bytes per element: 4, 2 or 4 (0 for an unknown value). */
size_t npy_dtype_size(npy_dtype dtype);
/* The descr numpy writes: "<f4", "<f2" or "<u4" (NULL for an unknown value). */
const char *npy_dtype_descr(npy_dtype dtype);
/* "float32", "float16" or "uint32" ("unknown" for an unknown value). */
const char *npy_dtype_name(npy_dtype dtype);

/* What a .npy header says. count is the product of the shape (1 for rank 0)
 * and data_offset the byte where the data starts; both are overflow-checked,
 * and count * npy_dtype_size(dtype) fits in size_t. */
typedef struct npy_header {
  unsigned version_major;
  unsigned version_minor;
  npy_dtype dtype;
  size_t rank;
  size_t shape[NPY_MAX_RANK];
  size_t count;
  size_t data_offset;
} npy_header;

/* A loaded array: float32 values in data, or float16 bit patterns in
 * data_f16 (the other pointer is NULL). The data is 64-byte aligned (NULL
 * when count is 0) and owned: free it with npy_array_free(). */
typedef struct npy_array {
  size_t rank;
  size_t shape[NPY_MAX_RANK];
  size_t count;
  npy_dtype dtype;
  float *data;
  uint16_t *data_f16;
} npy_array;

/* Outcome of parsing: NPY_NEED_MORE says buf ends before the header does
 * (*needed then holds how many bytes are needed in all). */
typedef enum npy_result { NPY_OK = 0, NPY_BAD = -1, NPY_NEED_MORE = -2 } npy_result;

/* Parses the preamble and header at the start of buf[0..len). Accepts only
 * descr '<f4', '<f2' or '<u4' and fortran_order False, with the three keys in any order,
 * either quote style, any spacing and an optional trailing comma. Does not
 * look at the data. On NPY_BAD a one-line reason is written into err. */
npy_result npy_parse_header(const unsigned char *buf, size_t len, npy_header *out, size_t *needed,
                            char *err, size_t errlen);

/* Parses a whole file held in memory: the header, then exactly count *
 * element size data bytes (shorter or longer is an error). The values are decoded from
 * little-endian into out->data (allocated; free with npy_array_free). */
npy_result npy_parse(const unsigned char *buf, size_t len, npy_array *out, char *err,
                     size_t errlen);

/* Reads a .npy file. The file size is checked against the header before any
 * data is allocated, so a hostile shape never causes a huge allocation.
 * Returns NPY_OK or NPY_BAD (with the path in the message). */
npy_result npy_load(const char *path, npy_array *out, char *err, size_t errlen);

/* Frees the data of an array loaded above and zeroes it; NULL is a no-op. */
void npy_array_free(npy_array *array);

/* Formats a version 1.0 header (version 2.0 if it does not fit in 65535
 * bytes) for a float32 C-order array: preamble + dict + space padding + '\n',
 * the total a multiple of 64. Returns the length written, or 0 when buf is
 * too small or rank is over NPY_MAX_RANK. */
size_t npy_format_header(const size_t *shape, size_t rank, unsigned char *buf, size_t buflen);
/* The same for an array of `dtype` (0 also for an unknown dtype). */
size_t npy_format_header_typed(const size_t *shape, size_t rank, npy_dtype dtype,
                               unsigned char *buf, size_t buflen);

/* Writes a whole .npy (header, then the values little-endian) to f. Returns
 * NPY_OK or NPY_BAD with a reason (a failed write, an overflowing shape). The
 * caller closes f and checks that close. */
npy_result npy_write(FILE *f, const size_t *shape, size_t rank, const float *data, char *err,
                     size_t errlen);
/* The same for `dtype`: data holds float values (NPY_FLOAT32), float16
 * bit patterns (NPY_FLOAT16) or uint32 words (NPY_UINT32). */
npy_result npy_write_typed(FILE *f, const size_t *shape, size_t rank, npy_dtype dtype,
                           const void *data, char *err, size_t errlen);
/* The array's data as written by npy_write_typed (data or data_f16). */
const void *npy_array_bytes(const npy_array *array);

#endif
