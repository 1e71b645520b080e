/* encoding.h - HTTP content codings (zlib): request bodies sent with
 * Content-Encoding gzip or deflate, inflated before their handler runs and
 * never past --max-body; answers gzipped (or deflated) for clients whose
 * Accept-Encoding asks for it. Internal to server/http. */
#ifndef LEAKYCLD_ENCODING_H
#define LEAKYCLD_ENCODING_H

#include <stddef.h>

#include "buffer.h"
#include "errors.h"

typedef enum lkd_coding { LKD_CODING_IDENTITY, LKD_CODING_GZIP, LKD_CODING_DEFLATE } lkd_coding;

/* Answers this long or shorter are sent as they are: compressing a few
 * hundred bytes saves nothing. */
#define LKD_COMPRESS_MIN 1024

/* The coding of a Content-Encoding value (NULL or "identity": none; "gzip"
 * or "x-gzip"; "deflate", the zlib format, or raw deflate as some clients
 * send it), case-insensitive. 0, or -1 with e set to a 415 for any other
 * coding or a list of codings. */
int lkd_coding_parse(const char *value, lkd_coding *out, lkd_error *e);

struct lkd_http_request;
/* Replaces the request's stored body with its decoding (identity: nothing
 * to do), in a buffer from the pool whose bytes are taken from the
 * in-flight budget as it grows; inflation stops as soon as the output
 * passes max_body, so a small body that would expand without bound costs
 * at most max_body + 1 bytes. 0, or -1 with req->early set: 413 past
 * max_body, 400 for a corrupt or truncated stream (or bytes after it), 503
 * over the budget or out of memory; the body is then left as it was. */
int lkd_body_decode(struct lkd_http_request *req, size_t max_body);

/* The coding to answer in for an Accept-Encoding value: gzip when it
 * accepts gzip (or x-gzip, or *) with a q above 0, else deflate when it
 * accepts deflate, else identity. */
lkd_coding lkd_coding_accepted(const char *accept_encoding);

/* Compresses body (more than LKD_COMPRESS_MIN bytes) with coding into a
 * new pooled buffer that replaces it. 0, or -1 (out of memory, or not
 * smaller) with body unchanged. */
int lkd_body_compress(lkt_buf *body, lkd_coding coding);

/* "gzip", "deflate"; NULL for identity. */
const char *lkd_coding_name(lkd_coding coding);

#endif
