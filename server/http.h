/* http.h - leakycld's HTTP layer on libmicrohttpd: the request lifecycle
 * (bounded body, early 401/404/405/413 with the rest drained), the token
 * check, the access log, and a graceful stop. */
#ifndef LEAKYCLD_HTTP_H
#define LEAKYCLD_HTTP_H

#include <stddef.h>

#include "server.h"

typedef struct lkd_http lkd_http;

/* Starts serving s->config.host:port with a pool of s->config.threads.
 * Writes the bound port (the real one for port 0) to *port. Returns 0, or
 * -1 with a message in err. */
int lkd_http_start(lkd_server *s, lkd_http **out, unsigned *port, char *err, size_t errlen);

/* Stops accepting connections, waits (at most grace_s seconds) for the
 * requests in flight to complete, then stops the daemon and frees it. */
void lkd_http_stop(lkd_http *h, unsigned grace_s);

/* Whether the Authorization header value is "Bearer <token>" for the
 * configured token, compared in constant time (for a given token length).
 * Pure; exposed for the unit tests. */
int lkd_token_matches(const char *header, const char *token, size_t token_len);

#endif
