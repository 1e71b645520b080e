/* jsonw.c - the text library's JSON writers, onto a stdio stream. */
#include "jsonw.h"

#include "json_write.h"

/* Writes what b holds to f and frees it: 0, or -1 when it failed. */
static int jsonw_flush(FILE *f, lkt_buf *b) {
  const int ok = !b->oom && fwrite(b->data, 1, b->len, f) == b->len;
  lkt_buf_free(b);
  return ok ? 0 : -1;
}

int jsonw_string(FILE *f, const char *s) {
  lkt_buf b = {0};
  lkt_json_string(&b, s);
  return jsonw_flush(f, &b);
}

int jsonw_float(FILE *f, float v) {
  lkt_buf b = {0};
  lkt_json_float(&b, v);
  return jsonw_flush(f, &b);
}

int jsonw_float_array(FILE *f, const float *v, size_t n) {
  lkt_buf b = {0};
  lkt_buf_append(&b, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      lkt_buf_append(&b, ",", 1);
    lkt_json_float(&b, v[i]);
  }
  lkt_buf_append(&b, "]", 1);
  return jsonw_flush(f, &b);
}
