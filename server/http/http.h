/* http.h - leakycld's HTTP layer on libmicrohttpd: the request lifecycle
 * (strict HTTP/1.1, bounded body, early 400/401/404/405/413/503 with the
 * rest drained), the in-flight byte budget, the connection limits and
 * clocks, the token check, the access log, and a graceful stop. */
#ifndef LEAKYCLD_HTTP_H
#define LEAKYCLD_HTTP_H

#include <stddef.h>

#include "server.h"

typedef struct lkd_http lkd_http;

/* Starts serving s->config.host:port with a pool of s->config.threads.
 * A connection that opens while s->config.max_connections are open (and
 * none of them is slow enough to drop), or over max_per_address from its
 * address, gets a 503 "unavailable" (Retry-After: 1) to its request and is
 * closed; so does a body that would pass max_inflight_bytes. One idle for
 * s->config.timeout_s seconds is closed, and so is one whose headers take
 * over header_timeout_s or whose body or answer moves slower than
 * min_rate. Warns on stderr when the address is not loopback and no token
 * is set, and when RLIMIT_NOFILE is too low. Writes the bound port (the
 * real one for port 0) to *port. Returns 0, or -1 with a message in err. */
int lkd_http_start(lkd_server *s, lkd_http **out, unsigned *port, char *err, size_t errlen);

/* Stops accepting connections and closes every connection after its next
 * answer; waits (at most grace_s seconds) until no request is in flight and
 * none has begun or ended for a quarter of a second (a request already sent
 * on a kept-alive connection is still answered), then stops the daemon and
 * frees it. h may be NULL. */
void lkd_http_stop(lkd_http *h, unsigned grace_s);

/* Whether the Authorization header value is "Bearer <token>" for the
 * configured token, compared in constant time (for a given token length).
 * Pure; exposed for the unit tests. */
int lkd_token_matches(const char *header, const char *token, size_t token_len);

#endif
