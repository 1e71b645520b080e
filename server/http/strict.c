/* strict.c - RFC 9112 checks on what libmicrohttpd 0.9.75 parsed and let
 * through: the request target as sent, the method, every header line, and
 * the body's framing. MHD_OPTION_STRICT_FOR_CLIENT does not serve here: at
 * 1 it answers a missing Host with its own HTML page and closes on a space
 * in the target without a word; at -1 its whitespace-before-colon check is
 * also an HTML page. */
#include "strict.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "user_text.h"

/* The most whitespace between a header's colon and its value that the
 * fold check reads; a longer run counts as a moved name. */
#define LKD_MAX_OWS 256

/* What one pass over the header lines found. */
typedef struct lkd_header_scan {
  const char *content_length; /* the first Content-Length value */
  int content_lengths, differing_lengths;
  const char *transfer_encoding; /* the first Transfer-Encoding value */
  int transfer_encodings, hosts;
  /* Lines laid out as they came, and lines whose name was moved (a fold). */
  int in_place, moved;
  char moved_name[48];
  lkd_error line_error; /* the first bad name or value */
} lkd_header_scan;

static int lkd_is_tchar(unsigned char ch) {
  return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int lkd_is_token(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!lkd_is_tchar((unsigned char)s[i]))
      return 0;
  return n > 0;
}

/* The first control character of s[0, n) other than HTAB, or -1. */
static int lkd_control_char(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return ch;
  }
  return -1;
}

/* Whether the header line still lies in libmicrohttpd's read buffer as it
 * came: the name, its colon (now a NUL), optional whitespace, the value.
 * 0.9.75 joins an obs-fold continuation line onto the line's *name*, in a
 * new block of the connection's memory pool: the name then lies after its
 * value, and no header API tells the fold apart from a name sent so. */
static int lkd_line_in_place(const char *key, size_t key_size, const char *value) {
  const uintptr_t k = (uintptr_t)key, v = (uintptr_t)value;
  if (v <= k || v - k < key_size + 1 || v - k - key_size - 1 > LKD_MAX_OWS)
    return 0;
  for (const char *p = key + key_size + 1; p < value; p++)
    if (*p != ' ' && *p != '\t')
      return 0;
  return 1;
}

static int lkd_named(const char *key, size_t key_size, const char *name) {
  return key_size == strlen(name) && strncasecmp(key, name, key_size) == 0;
}

static enum MHD_Result lkd_scan_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  lkd_header_scan *scan = cls;
  char name[48];
  lkt_printable(key, name, sizeof name, 32, 0, 1);
  if (lkd_line_in_place(key, key_size, value)) {
    scan->in_place++;
  } else if (scan->moved++ == 0) {
    memcpy(scan->moved_name, name, sizeof name);
  }
  int ctl = lkd_control_char(value, value_size);
  if (scan->line_error.code == LKD_OK) {
    if (!lkd_is_token(key, key_size))
      lkd_fail(&scan->line_error, LKD_INVALID_ARGUMENT,
               "header name \"%s\" is not a token (a space before the colon, or a control "
               "character?)",
               name);
    else if (ctl >= 0)
      lkd_fail(&scan->line_error, LKD_INVALID_ARGUMENT,
               "header %s holds the control character 0x%02x (a bare CR?)", name, ctl);
  }
  if (lkd_named(key, key_size, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    if (scan->content_lengths++ == 0)
      scan->content_length = value;
    else if (strcmp(scan->content_length, value) != 0)
      scan->differing_lengths = 1;
  } else if (lkd_named(key, key_size, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
    if (scan->transfer_encodings++ == 0)
      scan->transfer_encoding = value;
  } else if (lkd_named(key, key_size, MHD_HTTP_HEADER_HOST)) {
    scan->hosts++;
  }
  return MHD_YES;
}

/* Whether a Transfer-Encoding value is "chunked" alone (any case, with
 * surrounding whitespace): the one coding leakycld reads. */
static int lkd_chunked_alone(const char *te) {
  while (*te == ' ' || *te == '\t')
    te++;
  size_t n = strlen(te);
  while (n > 0 && (te[n - 1] == ' ' || te[n - 1] == '\t'))
    n--;
  return n == 7 && strncasecmp(te, "chunked", 7) == 0;
}

lkd_strict_verdict lkd_strict_target(const char *raw, lkd_error *e) {
  if (!raw)
    return LKD_STRICT_OK;
  for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
    if (*p <= 0x20 || *p == 0x7f) {
      lkd_fail(e, LKD_INVALID_ARGUMENT,
               "the request target holds %s 0x%02x: send it percent-encoded",
               *p == ' ' ? "a space" : "the control character", *p);
      return LKD_STRICT_BAD;
    }
    if (p[0] == '%' && p[1] == '0' && p[2] == '0') {
      lkd_fail(e, LKD_INVALID_ARGUMENT, "the request target holds %%00 (a NUL byte)");
      return LKD_STRICT_BAD;
    }
  }
  return LKD_STRICT_OK;
}

lkd_strict_verdict lkd_strict_request(struct MHD_Connection *c, const char *method,
                                      const char *version, lkd_error *e) {
  lkd_header_scan scan;
  memset(&scan, 0, sizeof scan);
  MHD_get_connection_values_n(c, MHD_HEADER_KIND, lkd_scan_line, &scan);
  /* Framing first: a front proxy and this daemon must never disagree on
   * where a body ends (request smuggling). */
  if (scan.differing_lengths) {
    lkd_fail(e, LKD_INVALID_ARGUMENT, "two different Content-Length headers");
    return LKD_STRICT_BAD_NOW;
  }
  if (scan.transfer_encodings && scan.content_lengths) {
    lkd_fail(e, LKD_INVALID_ARGUMENT, "Content-Length together with Transfer-Encoding");
    return LKD_STRICT_BAD_NOW;
  }
  if (scan.transfer_encodings > 1 ||
      (scan.transfer_encodings && !lkd_chunked_alone(scan.transfer_encoding))) {
    char te[48];
    lkt_printable(scan.transfer_encoding, te, sizeof te, 32, 1, 1);
    if (scan.transfer_encodings > 1)
      lkd_fail(e, LKD_INVALID_ARGUMENT, "more than one Transfer-Encoding header");
    else
      lkd_fail(e, LKD_INVALID_ARGUMENT,
               "Transfer-Encoding \"%s\" is not supported: send chunked alone, or a "
               "Content-Length",
               te);
    return LKD_STRICT_BAD_NOW;
  }
  char what[48];
  lkt_printable(method, what, sizeof what, 32, 0, 1);
  if (!lkd_is_token(method, strlen(method)))
    lkd_fail(e, LKD_INVALID_ARGUMENT, "the method \"%s\" is not a token", what);
  else if (scan.line_error.code != LKD_OK)
    *e = scan.line_error;
  else if (scan.moved && scan.in_place)
    /* Only when other lines show the layout this check knows: another
     * libmicrohttpd could keep names elsewhere. */
    lkd_fail(e, LKD_INVALID_ARGUMENT,
             "a folded header line (obs-fold) in header %s: send each header on one line",
             scan.moved_name);
  else if (scan.hosts > 1)
    lkd_fail(e, LKD_INVALID_ARGUMENT, "more than one Host header");
  else if (scan.hosts == 0 && version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
    lkd_fail(e, LKD_INVALID_ARGUMENT, "an HTTP/1.1 request without a Host header");
  else
    return LKD_STRICT_OK;
  return LKD_STRICT_BAD;
}
