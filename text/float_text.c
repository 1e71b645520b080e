/* float_text.c - the public entry points of float32 text both ways. */
#include "float_text.h"

#include "float_parse_impl.h"
#include "float_print_impl.h"

size_t lkt_float_print(float v, char *out) {
  char text[TEXT_ROOM];
  const size_t n = float_to_text(v, text);
  memcpy(out, text, n + 1);
  return n;
}

const char *lkt_float_parse(const char *p, const char *end, float *out) {
  return parse_number(p, end, out);
}
