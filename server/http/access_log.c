/* access_log.c - who sent a request (client address, request id) and its one access log line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "request.h"

void lkd_client_text(const struct sockaddr *addr, char *out, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "";
  unsigned port = 0;
  int v6 = 0;
  if (addr && addr->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
  } else if (addr && addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
    v6 = !IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);
    if (v6)
      inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    else
      inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, ip, sizeof ip);
    port = ntohs(a->sin6_port);
  }
  if (!ip[0])
    snprintf(out, cap, "-");
  else
    snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", ip, v6 ? "]" : "", port);
}

/* Made-up ids: splitmix64's output function over a counter from a random
 * start. The function is a bijection, so no two requests of one process
 * share an id, and ids of different runs do not follow each other. */
static _Atomic uint64_t lkd_id_next;
static atomic_int lkd_id_seeded;

static uint64_t lkd_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void lkd_make_id(char *out, size_t cap) {
  if (!atomic_load(&lkd_id_seeded)) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
      struct timespec t;
      clock_gettime(CLOCK_REALTIME, &t);
      seed = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec + ((uint64_t)getpid() << 40);
    }
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&lkd_id_next, &zero, seed | 1);
    atomic_store(&lkd_id_seeded, 1);
  }
  const uint64_t n = atomic_fetch_add(&lkd_id_next, 0x9e3779b97f4a7c15ull);
  snprintf(out, cap, "%016llx", (unsigned long long)lkd_mix(n));
}

/* A client's id is kept when it is 1 to LKD_REQUEST_ID_MAX characters of
 * printable ASCII without spaces (a log field, a header value as sent). */
static int lkd_id_sane(const char *id) {
  size_t n = 0;
  for (; id && id[n]; n++)
    if (n == LKD_REQUEST_ID_MAX || id[n] <= 0x20 || id[n] >= 0x7f)
      return 0;
  return n > 0;
}

void lkd_request_id_take(lkd_http_request *req, struct MHD_Connection *c) {
  const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-ID");
  if (lkd_id_sane(given))
    snprintf(req->id, sizeof req->id, "%s", given);
  else
    lkd_make_id(req->id, sizeof req->id);
}

static const char *lkd_end_name(enum MHD_RequestTerminationCode toe) {
  switch (toe) {
  case MHD_REQUEST_TERMINATED_COMPLETED_OK:
    return "completed";
  case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
    return "timed_out";
  case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
    return "shutdown";
  default:
    return "aborted";
  }
}

void lkd_access_log(lkd_http_request *req, int by_mhd, enum MHD_RequestTerminationCode toe,
                    double seconds) {
  const lkd_log_level level = req->status >= 500   ? LKD_LOG_ERROR
                              : req->status >= 400 ? LKD_LOG_WARN
                                                   : LKD_LOG_INFO;
  if (!lkd_log_on(level))
    return;
  if (!req->id[0])
    lkd_make_id(req->id, sizeof req->id);
  char status[16], bytes[24], ms[32];
  snprintf(status, sizeof status, "%d", req->status);
  snprintf(bytes, sizeof bytes, "%zu", req->bytes);
  snprintf(ms, sizeof ms, "%.3f", seconds * 1e3);
  const char *error = by_mhd                 ? "libmicrohttpd"
                      : req->error != LKD_OK ? lkd_error_name(req->error)
                                             : NULL;
  const lkd_log_field fields[] = {
      {"client", req->client, 0, NULL},    {"request_id", req->id, 0, NULL},
      {"method", req->method, 0, NULL},    {"path", req->path, 0, NULL},
      {"status", status, 1, NULL},         {"bytes", bytes, 1, NULL},
      {"duration_ms", ms, 1, "ms"},        {"error", error, 0, NULL},
      {"end", lkd_end_name(toe), 0, NULL},
  };
  lkd_log_record(level, &req->wall, "request", fields, sizeof fields / sizeof fields[0]);
}
