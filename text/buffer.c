/* buffer.c - memory hooks and the growable, NUL-terminated output buffer. */
#include "buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- Memory hooks ---- */

static const lkt_memory_hooks *mem_hooks; /* NULL: malloc and free */

void lkt_set_memory_hooks(const lkt_memory_hooks *hooks) { mem_hooks = hooks; }

void *lkt_mem_alloc(size_t size, size_t *cap) {
  if (mem_hooks)
    return mem_hooks->alloc(size, cap);
  *cap = size;
  return malloc(size ? size : 1);
}

void lkt_mem_release(void *p) {
  if (mem_hooks)
    mem_hooks->release(p);
  else
    free(p);
}

/* ---- Growable output buffer ----
 * data stays NUL-terminated after every append (one byte is always kept
 * spare for it), so a finished buffer can be used as a C string. */

int lkt_buf_reserve(lkt_buf *b, size_t extra) {
  if (b->oom)
    return -1;
  if (extra < b->cap - b->len)
    return 0;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->oom = 1;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (!mem_hooks) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
      cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
      b->oom = 1;
      return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
  }
  /* Doubling for many small appends; exactly what is asked for one big
   * reserve (a base64 payload), so that a pooled buffer is not oversized. */
  size_t want = b->cap < 128 ? 256 : 2 * b->cap;
  if (want < need)
    want = need;
  size_t cap = 0;
  char *data = lkt_mem_alloc(want, &cap);
  if (!data) {
    b->oom = 1;
    return -1;
  }
  if (b->data)
    memcpy(data, b->data, b->len);
  data[b->len] = '\0';
  lkt_mem_release(b->data);
  b->data = data;
  b->cap = cap;
  return 0;
}

void lkt_buf_append(lkt_buf *b, const char *s, size_t n) {
  if (lkt_buf_reserve(b, n) != 0)
    return;
  if (n)
    memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void lkt_buf_append_str(lkt_buf *b, const char *s) { lkt_buf_append(b, s, strlen(s)); }

void lkt_buf_free(lkt_buf *b) {
  lkt_mem_release(b->data);
  memset(b, 0, sizeof *b);
}
