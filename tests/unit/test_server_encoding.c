/* test_server_encoding.c - HTTP content codings without a socket
 * (server/http/encoding.c): Content-Encoding and Accept-Encoding values,
 * gzip, zlib and raw deflate bodies inflated, a truncated or corrupt
 * stream, bytes after it, a body that inflates past --max-body (stopped
 * there) or past the in-flight budget, and answers compressed and read
 * back. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "encoding.h"
#include "request.h"
#include "test.h"

/* n bytes of text compressed with zlib's windowBits (31: gzip, 15: zlib,
 * -15: raw deflate) into out (malloc'd); returns its length. */
static size_t pack(const char *text, size_t n, int bits, unsigned char **out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  CHECK_INT_EQ(deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  const uLong bound = deflateBound(&z, n);
  *out = malloc(bound);
  z.next_in = (unsigned char *)text;
  z.avail_in = (uInt)n;
  z.next_out = *out;
  z.avail_out = (uInt)bound;
  CHECK_INT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  const size_t len = z.total_out;
  deflateEnd(&z);
  return len;
}

/* A request whose stored body is body[0, n) sent with coding, charged to
 * h's budget as the HTTP layer charges it. */
static void request_with(lkd_http *h, lkd_http_request *req, lkd_coding coding, const void *body,
                         size_t n) {
  memset(req, 0, sizeof *req);
  req->http = h;
  req->coding = coding;
  req->body = lkt_mem_alloc(n + 1, &req->cap);
  memcpy(req->body, body, n);
  req->len = n;
  req->charged = n + 1;
  lkd_budget_charge(&h->budget, req->charged);
}

static void request_done(lkd_http *h, lkd_http_request *req) {
  lkt_mem_release(req->body);
  lkd_budget_give(&h->budget, req->charged);
}

static void test_coding_values(void) {
  lkd_coding c;
  lkd_error e = {LKD_OK, ""};
  CHECK_INT_EQ(lkd_coding_parse(NULL, &c, &e), 0);
  CHECK_INT_EQ(c, LKD_CODING_IDENTITY);
  CHECK_INT_EQ(lkd_coding_parse(" GZip ", &c, &e), 0);
  CHECK_INT_EQ(c, LKD_CODING_GZIP);
  CHECK_INT_EQ(lkd_coding_parse("x-gzip", &c, &e), 0);
  CHECK_INT_EQ(c, LKD_CODING_GZIP);
  CHECK_INT_EQ(lkd_coding_parse("deflate", &c, &e), 0);
  CHECK_INT_EQ(c, LKD_CODING_DEFLATE);
  CHECK_INT_EQ(lkd_coding_parse("identity", &c, &e), 0);
  CHECK_INT_EQ(c, LKD_CODING_IDENTITY);
  CHECK_INT_EQ(lkd_coding_parse("br", &c, &e), -1);
  CHECK_INT_EQ(e.code, LKD_UNSUPPORTED_MEDIA_TYPE);
  CHECK_CONTAINS(e.message, "\"br\"");
  CHECK_INT_EQ(lkd_coding_parse("gzip, gzip", &c, &e), -1);
  CHECK_INT_EQ(lkd_coding_accepted(NULL), LKD_CODING_IDENTITY);
  CHECK_INT_EQ(lkd_coding_accepted("gzip"), LKD_CODING_GZIP);
  CHECK_INT_EQ(lkd_coding_accepted("deflate, gzip;q=0.5"), LKD_CODING_GZIP);
  CHECK_INT_EQ(lkd_coding_accepted("gzip;q=0, deflate"), LKD_CODING_DEFLATE);
  CHECK_INT_EQ(lkd_coding_accepted("br, *"), LKD_CODING_GZIP);
  CHECK_INT_EQ(lkd_coding_accepted("br;q=1, identity"), LKD_CODING_IDENTITY);
  CHECK_INT_EQ(lkd_coding_accepted("GZIP ; Q=0.0"), LKD_CODING_IDENTITY);
}

static void test_inflate(void) {
  static const char text[] = "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\","
                             "\"data\":[1,-2]}]}";
  const size_t n = sizeof text - 1;
  static const struct {
    lkd_coding coding;
    int bits;
  } cases[] = {{LKD_CODING_GZIP, 31}, {LKD_CODING_DEFLATE, 15}, {LKD_CODING_DEFLATE, -15}};
  lkd_http h;
  memset(&h, 0, sizeof h);
  lkd_budget_init(&h.budget, 1 << 20);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    unsigned char *packed;
    const size_t len = pack(text, n, cases[i].bits, &packed);
    lkd_http_request req;
    request_with(&h, &req, cases[i].coding, packed, len);
    CHECK_INT_EQ(lkd_body_decode(&req, 4096), 0);
    CHECK_INT_EQ(req.len, n);
    CHECK(req.cap > n && memcmp(req.body, text, n) == 0);
    CHECK_INT_EQ(lkd_budget_used(&h.budget), req.charged);
    request_done(&h, &req);
    /* Truncated: a 400, the body left as it came. */
    request_with(&h, &req, cases[i].coding, packed, len - 3);
    CHECK_INT_EQ(lkd_body_decode(&req, 4096), -1);
    CHECK_INT_EQ(req.early.code, LKD_INVALID_ARGUMENT);
    CHECK_INT_EQ(req.len, len - 3);
    request_done(&h, &req);
    free(packed);
    CHECK_INT_EQ(lkd_budget_used(&h.budget), 0);
  }
  /* Corrupt, and bytes after a zlib stream: 400s. Two gzip members: both. */
  lkd_http_request req;
  request_with(&h, &req, LKD_CODING_GZIP, text, n);
  CHECK_INT_EQ(lkd_body_decode(&req, 4096), -1);
  CHECK_INT_EQ(req.early.code, LKD_INVALID_ARGUMENT);
  CHECK_CONTAINS(req.early.message, "not valid gzip data");
  request_done(&h, &req);
  unsigned char *packed;
  size_t len = pack(text, n, 15, &packed);
  unsigned char twice[512];
  memcpy(twice, packed, len);
  memcpy(twice + len, packed, len);
  request_with(&h, &req, LKD_CODING_DEFLATE, twice, 2 * len);
  CHECK_INT_EQ(lkd_body_decode(&req, 4096), -1);
  CHECK_CONTAINS(req.early.message, "after the end");
  request_done(&h, &req);
  free(packed);
  len = pack(text, n, 31, &packed);
  memcpy(twice, packed, len);
  memcpy(twice + len, packed, len);
  request_with(&h, &req, LKD_CODING_GZIP, twice, 2 * len);
  CHECK_INT_EQ(lkd_body_decode(&req, 4096), 0);
  CHECK_INT_EQ(req.len, 2 * n);
  request_done(&h, &req);
  free(packed);
}

static void test_inflate_limits(void) {
  const size_t big = (size_t)8 << 20;
  char *zeros = calloc(big, 1);
  unsigned char *packed;
  const size_t len = pack(zeros, big, 31, &packed);
  CHECK(len < 16384);
  lkd_http h;
  memset(&h, 0, sizeof h);
  lkd_budget_init(&h.budget, (size_t)64 << 20);
  lkd_http_request req;
  /* Exactly the limit is fine; one byte over is a 413, with no more than
   * the limit + 1 inflated. */
  request_with(&h, &req, LKD_CODING_GZIP, packed, len);
  CHECK_INT_EQ(lkd_body_decode(&req, big), 0);
  CHECK_INT_EQ(req.len, big);
  request_done(&h, &req);
  request_with(&h, &req, LKD_CODING_GZIP, packed, len);
  CHECK_INT_EQ(lkd_body_decode(&req, big - 1), -1);
  CHECK_INT_EQ(req.early.code, LKD_PAYLOAD_TOO_LARGE);
  CHECK_CONTAINS(req.early.message, "--max-body");
  request_done(&h, &req);
  CHECK_INT_EQ(lkd_budget_used(&h.budget), 0);
  /* Past the in-flight budget while another request holds the rest: 503. */
  lkd_budget_init(&h.budget, (size_t)4 << 20);
  lkd_budget_charge(&h.budget, (size_t)3 << 20);
  request_with(&h, &req, LKD_CODING_GZIP, packed, len);
  CHECK_INT_EQ(lkd_body_decode(&req, big), -1);
  CHECK_INT_EQ(req.early.code, LKD_UNAVAILABLE);
  request_done(&h, &req);
  CHECK_INT_EQ(lkd_budget_used(&h.budget), (size_t)3 << 20);
  free(packed);
  free(zeros);
}

static void test_compress(void) {
  lkt_buf b = {0};
  for (int i = 0; i < 500; i++)
    lkt_buf_append_str(&b, i % 2 ? "0.25," : "-1.5,");
  const size_t n = b.len;
  char *copy = malloc(n);
  memcpy(copy, b.data, n);
  static const struct {
    lkd_coding coding;
    int bits;
  } cases[] = {{LKD_CODING_GZIP, 31}, {LKD_CODING_DEFLATE, 15}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lkt_buf c = {0};
    lkt_buf_append(&c, copy, n);
    CHECK_INT_EQ(lkd_body_compress(&c, cases[i].coding), 0);
    CHECK(c.len < n);
    char back[4096];
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK_INT_EQ(inflateInit2(&z, cases[i].bits), Z_OK);
    z.next_in = (unsigned char *)c.data;
    z.avail_in = (uInt)c.len;
    z.next_out = (unsigned char *)back;
    z.avail_out = sizeof back;
    CHECK_INT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
    CHECK_INT_EQ(z.total_out, n);
    CHECK(memcmp(back, copy, n) == 0);
    inflateEnd(&z);
    lkt_buf_free(&c);
  }
  /* Identity, or too short to gain: left as it is. */
  CHECK_INT_EQ(lkd_body_compress(&b, LKD_CODING_IDENTITY), -1);
  lkt_buf s = {0};
  lkt_buf_append_str(&s, "{\"ok\":true}");
  CHECK_INT_EQ(lkd_body_compress(&s, LKD_CODING_GZIP), -1);
  CHECK_INT_EQ(s.len, 11);
  lkt_buf_free(&s);
  lkt_buf_free(&b);
  free(copy);
}

int main(void) {
  RUN_TEST(test_coding_values);
  RUN_TEST(test_inflate);
  RUN_TEST(test_inflate_limits);
  RUN_TEST(test_compress);
  return TEST_SUMMARY();
}
