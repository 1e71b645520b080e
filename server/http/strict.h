/* strict.h - the HTTP/1.1 rules libmicrohttpd 0.9.75 does not enforce
 * (RFC 9112): request smuggling shapes (two Content-Lengths,
 * Content-Length beside Transfer-Encoding, codings other than chunked),
 * a missing or repeated Host, folded headers, control characters (bare CR)
 * and NUL in the request target. Each is a 400 the HTTP layer answers as
 * JSON and closes the connection after. */
#ifndef LEAKYCLD_STRICT_H
#define LEAKYCLD_STRICT_H

#include <microhttpd.h>

#include "errors.h"

/* What a broken request still allows. */
typedef enum lkd_strict_verdict {
  LKD_STRICT_OK,
  LKD_STRICT_BAD,     /* 400; the body's framing is known: read it, then answer */
  LKD_STRICT_BAD_NOW, /* 400; where the body ends is unknown: answer at once */
} lkd_strict_verdict;

/* Checks the request target as it came, before libmicrohttpd unescapes it
 * (it would end the path at a %00): no control characters, spaces or
 * %00. Sets e (400) when it fails. */
lkd_strict_verdict lkd_strict_target(const char *raw, lkd_error *e);

/* Checks the method (a token), the header lines and the body framing of
 * the request on c (version as libmicrohttpd gives it). Sets e (400) when
 * they fail. */
lkd_strict_verdict lkd_strict_request(struct MHD_Connection *c, const char *method,
                                      const char *version, lkd_error *e);

#endif
