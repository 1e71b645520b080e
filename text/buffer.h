/* buffer.h - where the text library's output memory comes from (hooks, like
 * cJSON_InitHooks) and the growable output buffer every writer appends to. */
#ifndef LKT_BUFFER_H
#define LKT_BUFFER_H

#include <stddef.h>
#include <stdint.h>

/* ---- Memory hooks ----
 * Where the codec's output buffers (lkt_buf storage, decoded base64 tensors)
 * come from: malloc and free unless hooks are set, like cJSON_InitHooks.
 * The daemon sets its buffer pool once at start, before any thread runs;
 * release must accept memory malloc'd before the hooks were set. */
typedef struct lkt_memory_hooks {
  /* At least size bytes, *cap set to the usable size; NULL when out of memory. */
  void *(*alloc)(size_t size, size_t *cap);
  void (*release)(void *p);
} lkt_memory_hooks;

void lkt_set_memory_hooks(const lkt_memory_hooks *hooks); /* NULL: malloc and free */
void *lkt_mem_alloc(size_t size, size_t *cap);
void lkt_mem_release(void *p);

/* ---- Growable output buffer ----
 * Storage from the memory hooks: release it with lkt_buf_free, or hand
 * data to whoever calls lkt_mem_release on it. */
typedef struct lkt_buf {
  char *data;
  size_t len;
  size_t cap;
  int oom; /* set once an allocation failed; later appends are no-ops */
} lkt_buf;

int lkt_buf_reserve(lkt_buf *b, size_t extra);
void lkt_buf_append(lkt_buf *b, const char *s, size_t n);
void lkt_buf_append_str(lkt_buf *b, const char *s);
void lkt_buf_free(lkt_buf *b);

#endif
