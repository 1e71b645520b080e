/* main.c - leakycld: command-line flags and their limits, the token file,
 * the start-up order, signals, and a graceful stop (SIGTERM/SIGINT:
 * stop accepting, finish what is in flight, exit 0; a second one exits at
 * once with 128 + the signal; SIGHUP changes nothing). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "body_limits.h"
#include "devices.h"
#include "http.h"
#include "memory.h"
#include "metrics.h"
#include "server.h"
#include "startup.h"

/* Signals are taken by one thread with sigwait, never by a handler: they
 * are blocked before any other thread exists (PoCL's, libmicrohttpd's), so
 * none is ever delivered to a thread, neither a default action that ends
 * the process (SIGHUP's) nor the handlers LLVM installs inside PoCL's
 * compiler (which restore the default and raise the signal again). */
enum { LKD_STARTING, LKD_SERVING, LKD_STOPPING };
static struct {
  sigset_t set;     /* SIGINT, SIGTERM, SIGHUP */
  atomic_int phase; /* LKD_STARTING until the daemon serves */
  sem_t stop;       /* posted on the first stop signal while serving */
  int stop_signal;  /* that signal; read by main after the post */
} lkd_signals;

static const char *lkd_signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

static void *lkd_signal_loop(void *unused) {
  (void)unused;
  for (;;) {
    int sig;
    if (sigwait(&lkd_signals.set, &sig) != 0)
      continue;
    if (sig == SIGHUP) {
      /* The log is stderr, which the daemon cannot reopen: whoever
       * redirected it rotates it (copytruncate, or journald). A HUP from a
       * closing terminal or a reload must not stop the daemon. */
      lkd_log(LKD_LOG_NOTICE, "SIGHUP: nothing to reopen (the log is stderr); serving on");
      continue;
    }
    int serving = LKD_SERVING;
    if (atomic_compare_exchange_strong(&lkd_signals.phase, &serving, LKD_STOPPING)) {
      lkd_signals.stop_signal = sig;
      sem_post(&lkd_signals.stop);
      continue;
    }
    /* Still starting (nothing in flight to finish), or a second stop
     * signal: whoever sends it would rather lose the slow requests than
     * wait up to --timeout + 10 s for them. */
    lkd_log(LKD_LOG_WARN, "%s %s: exiting now (status %d)", lkd_signal_name(sig),
            atomic_load(&lkd_signals.phase) == LKD_STOPPING ? "during the stop" : "while starting",
            128 + sig);
    _exit(128 + sig);
  }
  return NULL;
}

/* Blocks the signals in this thread, and so in every thread created after,
 * and starts the thread that takes them. 0, or -1 after saying why. */
static int lkd_signals_start(void) {
  sigemptyset(&lkd_signals.set);
  sigaddset(&lkd_signals.set, SIGINT);
  sigaddset(&lkd_signals.set, SIGTERM);
  sigaddset(&lkd_signals.set, SIGHUP);
  atomic_init(&lkd_signals.phase, LKD_STARTING);
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  pthread_t thread;
  pthread_attr_t attr;
  if (sem_init(&lkd_signals.stop, 0, 0) != 0 || sigaction(SIGPIPE, &ign, NULL) != 0 ||
      pthread_sigmask(SIG_BLOCK, &lkd_signals.set, NULL) != 0 || pthread_attr_init(&attr) != 0) {
    lkd_log(LKD_LOG_ERROR, "cannot set up signal handling");
    return -1;
  }
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  const int rc = pthread_create(&thread, &attr, lkd_signal_loop, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    lkd_log(LKD_LOG_ERROR, "cannot start the signal thread: %s", strerror(rc));
    return -1;
  }
  return 0;
}

/* Serves until the first SIGINT or SIGTERM; returns it. */
static int lkd_wait_for_stop(void) {
  while (sem_wait(&lkd_signals.stop) != 0 && errno == EINTR)
    ;
  return lkd_signals.stop_signal;
}

static void lkd_usage(FILE *f) {
  fprintf(f,
          "usage: leakycld [--listen HOST:PORT] [--device SPEC]... [--threads N]\n"
          "                [--max-body BYTES] [--max-elements N] [--max-depth N] [--max-jobs N]\n"
          "                [--max-connections N] [--timeout S] [--token-file FILE]\n"
          "                [--max-inflight-bytes BYTES] [--header-timeout S] [--min-rate BYTES]\n"
          "                [--max-per-address N] [--program-binary FILE]...\n"
          "                [--log-level LEVEL] [--log-format text|json] [--quiet]\n"
          "       leakycld --version | --help\n"
          "  --listen HOST:PORT     address to serve (default 127.0.0.1:8080, loopback only;\n"
          "                         port 0 picks a free port and prints it)\n"
          "  --device SPEC          auto, cpu, gpu, accelerator, gpu:1, P:D, a name substring,\n"
          "                         or all; repeatable; the first is the default device\n"
          "                         (default $LEAKYCL_DEVICE, else auto)\n"
          "  --threads N            HTTP worker threads (default 64: concurrent small jobs\n"
          "                         share one launch; big bodies run 4 at a time)\n"
          "  --max-body BYTES       largest request body, k/m/g suffixes (default: what a\n"
          "                         backward job of two --max-elements tensors needs as\n"
          "                         JSON, 36 bytes an element + 1m: 577m): 413\n"
          "  --max-elements N       largest tensor, in elements (default 16777216): 413\n"
          "  --max-depth N          deepest JSON nesting of a body (default %d): 400\n"
          "  --max-jobs N           most jobs in one batch (default %d): 413\n"
          "  --max-connections N    connections open at once (default 256); when full,\n"
          "                         an idle or slow one is dropped for the new client,\n"
          "                         else it is answered 503 and closed\n"
          "  --timeout S            close a connection idle (nothing received or sent)\n"
          "                         for S seconds (default 30)\n"
          "  --max-inflight-bytes BYTES  request and answer bodies held at once, k/m/g\n"
          "                         suffixes (default 0: a quarter of RAM or the cgroup's\n"
          "                         limit); a body over it is answered 503 before it is read\n"
          "  --header-timeout S     close a connection whose request headers take over S\n"
          "                         seconds (default %d)\n"
          "  --min-rate BYTES       after --header-timeout seconds, close a connection whose\n"
          "                         body arrives, or answer is read, slower than BYTES/s\n"
          "                         (k/m suffixes; default %d; 0: off)\n"
          "  --max-per-address N    connections open from one client address (default 0:\n"
          "                         no limit); more are answered 503 and closed\n"
          "  --token-file FILE      require Authorization: Bearer <the file's first line>;\n"
          "                         the file must not be readable or writable by group or\n"
          "                         others (chmod 600)\n"
          "  --program-binary FILE  take the programs of the device FILE was compiled for\n"
          "                         (leakycl compile) from FILE, never from source;\n"
          "                         repeatable, one per device; a bundle that matches no\n"
          "                         opened device stops the start (exit 2)\n"
          "  --log-level LEVEL      error, warn, info or debug (default info): what stderr\n"
          "                         gets: error: 5xx requests and errors; warn: also 4xx\n"
          "                         requests, warnings and the start-up lines (devices,\n"
          "                         program cache, limits, warm-up); info: also every other\n"
          "                         request and each connection a limit cuts; debug: also\n"
          "                         each connection opened and closed\n"
          "  --log-format FORMAT    text (default): one line a request, \"TIME CLIENT\n"
          "                         REQUEST_ID METHOD PATH STATUS BYTES DURATIONms ERROR END\",\n"
          "                         or json: one JSON object a line (see leakycld(8))\n"
          "  --quiet                the same as --log-level warn: no access log of\n"
          "                         successful requests\n"
          "  --version              print leakycld's version and exit\n"
          "  --help, -h             print this text and exit\n",
          LKD_DEFAULT_MAX_DEPTH, LKD_DEFAULT_MAX_JOBS, LKD_DEFAULT_HEADER_TIMEOUT,
          LKD_DEFAULT_MIN_RATE);
}

/* Parses a whole unsigned number in [lo, hi], with an optional k/m/g
 * (powers of 1024) suffix when `suffixes` is set. */
static int lkd_parse_size(const char *flag, const char *text, unsigned long long lo,
                          unsigned long long hi, int suffixes, unsigned long long *out) {
  errno = 0;
  char *end = NULL;
  if (!text || !*text || *text == '-' || *text == '+')
    goto bad;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text)
    goto bad;
  if (suffixes && *end) {
    int shift = *end == 'k' || *end == 'K'   ? 10
                : *end == 'm' || *end == 'M' ? 20
                : *end == 'g' || *end == 'G' ? 30
                                             : -1;
    if (shift < 0 || end[1] != '\0' || v > (ULLONG_MAX >> shift))
      goto bad;
    v <<= shift;
    end++;
  }
  if (*end || v < lo || v > hi)
    goto bad;
  *out = v;
  return 0;
bad:
  fprintf(stderr, "leakycld: %s \"%s\": expected an integer in [%llu, %llu]%s\n", flag,
          text ? text : "", lo, hi, suffixes ? " (k, m, g suffixes allowed)" : "");
  return -1;
}

/* Splits HOST:PORT (IPv6 as [ADDR]:PORT) into the config. */
static int lkd_parse_listen(const char *text, lkd_config *cfg) {
  const char *colon = strrchr(text, ':');
  if (!colon)
    goto bad;
  const char *host = text;
  size_t host_len = (size_t)(colon - text);
  if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']') {
    host++;
    host_len -= 2;
  } else if (memchr(text, ':', host_len)) {
    goto bad; /* an IPv6 address needs its brackets */
  }
  if (host_len == 0 || host_len >= sizeof cfg->host)
    goto bad;
  unsigned long long port;
  if (lkd_parse_size("--listen port", colon + 1, 0, 65535, 0, &port) != 0)
    return -1;
  memcpy(cfg->host, host, host_len);
  cfg->host[host_len] = '\0';
  cfg->port = (unsigned)port;
  return 0;
bad:
  fprintf(stderr, "leakycld: --listen \"%s\": expected HOST:PORT (IPv6 as [ADDR]:PORT)\n", text);
  return -1;
}

/* The numeric options: name, range, whether k/m/g suffixes apply, and the
 * field they set (an unsigned or a size_t of lkd_config). */
typedef struct lkd_numeric_option {
  const char *name;
  unsigned long long lo, hi;
  int suffixes;
  size_t offset, size;
} lkd_numeric_option;

#define LKD_FIELD(f) offsetof(lkd_config, f), sizeof(((lkd_config *)0)->f)
static const lkd_numeric_option lkd_numeric_options[] = {
    {"--threads", 1, 1024, 0, LKD_FIELD(threads)},
    {"--max-body", 16, (unsigned long long)1 << 34, 1, LKD_FIELD(max_body)},
    {"--max-elements", 1, (unsigned long long)1 << 32, 1, LKD_FIELD(max_elements)},
    /* cJSON recurses once per level (its own limit is 1000): stay well
     * within it and within a worker thread's stack. */
    {"--max-depth", 1, 512, 0, LKD_FIELD(max_depth)},
    {"--max-jobs", 1, (unsigned long long)1 << 20, 1, LKD_FIELD(max_jobs)},
    {"--max-connections", 1, 65536, 0, LKD_FIELD(max_connections)},
    {"--timeout", 1, 86400, 0, LKD_FIELD(timeout_s)},
    {"--max-inflight-bytes", 0, (unsigned long long)1 << 40, 1, LKD_FIELD(max_inflight_bytes)},
    {"--header-timeout", 1, 86400, 0, LKD_FIELD(header_timeout_s)},
    {"--min-rate", 0, (unsigned long long)1 << 30, 1, LKD_FIELD(min_rate)},
    {"--max-per-address", 0, 65536, 0, LKD_FIELD(max_per_address)},
};
#undef LKD_FIELD
#define LKD_NUMERIC_OPTIONS (sizeof lkd_numeric_options / sizeof lkd_numeric_options[0])

static const lkd_numeric_option *lkd_find_numeric_option(const char *name) {
  for (size_t i = 0; i < LKD_NUMERIC_OPTIONS; i++)
    if (strcmp(name, lkd_numeric_options[i].name) == 0)
      return &lkd_numeric_options[i];
  return NULL;
}

/* Sets o's field of cfg from v; 0, or -1 after saying why. */
static int lkd_set_numeric(lkd_config *cfg, const lkd_numeric_option *o, const char *v) {
  unsigned long long n;
  if (lkd_parse_size(o->name, v, o->lo, o->hi, o->suffixes, &n) != 0)
    return -1;
  char *field = (char *)cfg + o->offset;
  if (o->size == sizeof(unsigned)) {
    const unsigned u = (unsigned)n;
    memcpy(field, &u, sizeof u);
  } else {
    const size_t z = (size_t)n;
    memcpy(field, &z, sizeof z);
  }
  return 0;
}

/* Parses argv into cfg. Returns 0, 1 for --help (done), -1 on bad usage. */
static int lkd_parse_args(int argc, char **argv, lkd_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
  cfg->port = LKD_DEFAULT_PORT;
  cfg->threads = 64;
  cfg->max_body = 0; /* derived from --max-elements (body_limits.c) */
  cfg->max_elements = (size_t)1 << 24;
  cfg->max_depth = LKD_DEFAULT_MAX_DEPTH;
  cfg->max_jobs = LKD_DEFAULT_MAX_JOBS;
  cfg->max_connections = 256;
  cfg->timeout_s = 30;
  cfg->header_timeout_s = LKD_DEFAULT_HEADER_TIMEOUT;
  cfg->min_rate = LKD_DEFAULT_MIN_RATE;
  cfg->log_level = LKD_LOG_INFO;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      lkd_usage(stdout);
      return 1;
    } else if (strcmp(a, "--version") == 0) {
      printf("leakycld %s\n", LEAKYCL_VERSION);
      return 1;
    } else if (strcmp(a, "--quiet") == 0) {
      cfg->log_level = LKD_LOG_WARN;
      continue;
    }
    const lkd_numeric_option *numeric = lkd_find_numeric_option(a);
    if (strncmp(a, "--", 2) != 0 ||
        (!numeric && strcmp(a, "--listen") != 0 && strcmp(a, "--device") != 0 &&
         strcmp(a, "--token-file") != 0 && strcmp(a, "--program-binary") != 0 &&
         strcmp(a, "--log-level") != 0 && strcmp(a, "--log-format") != 0)) {
      fprintf(stderr, "leakycld: unknown option \"%s\" (see --help)\n", a);
      return -1;
    }
    if (!v) {
      fprintf(stderr, "leakycld: %s needs a value\n", a);
      return -1;
    }
    i++;
    if (numeric) {
      if (lkd_set_numeric(cfg, numeric, v) != 0)
        return -1;
    } else if (strcmp(a, "--listen") == 0) {
      if (lkd_parse_listen(v, cfg) != 0)
        return -1;
    } else if (strcmp(a, "--device") == 0) {
      if (cfg->device_spec_count == LKD_MAX_DEVICES || !*v) {
        fprintf(stderr, "leakycld: --device: at most %d non-empty SPECs\n", LKD_MAX_DEVICES);
        return -1;
      }
      cfg->device_specs[cfg->device_spec_count++] = v;
    } else if (strcmp(a, "--program-binary") == 0) {
      if (cfg->bundle_count == LKD_MAX_DEVICES || !*v) {
        fprintf(stderr, "leakycld: --program-binary: at most %d non-empty paths\n",
                LKD_MAX_DEVICES);
        return -1;
      }
      cfg->bundles[cfg->bundle_count++] = v;
    } else if (strcmp(a, "--log-level") == 0) {
      if (lkd_log_parse_level(v, &cfg->log_level) != 0) {
        fprintf(stderr, "leakycld: --log-level \"%s\": expected error, warn, info or debug\n", v);
        return -1;
      }
    } else if (strcmp(a, "--log-format") == 0) {
      if (lkd_log_parse_format(v, &cfg->log_json) != 0) {
        fprintf(stderr, "leakycld: --log-format \"%s\": expected text or json\n", v);
        return -1;
      }
    } else {
      cfg->token_file = v;
    }
  }
  return 0;
}

/* Reads the token: the file's first line, without surrounding whitespace;
 * it must be non-empty printable ASCII without spaces. Like ssh with its
 * keys, refuses a file that group or others may read or write: a token
 * others can read is no secret, and one they can write lets them in. */
static int lkd_read_token(const char *path, lkd_server *s) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "leakycld: --token-file %s: %s\n", path, strerror(errno));
    return -1;
  }
  /* fstat on the open file, not stat on the name: the mode checked is the
   * mode of what is read. */
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    fprintf(stderr, "leakycld: --token-file %s: %s\n", path, strerror(errno));
    fclose(f);
    return -1;
  }
  if ((st.st_mode & 077) != 0) {
    fprintf(stderr,
            "leakycld: --token-file %s: mode %04o lets group or others read or write it "
            "(chmod 600 it)\n",
            path, (unsigned)(st.st_mode & 07777));
    fclose(f);
    return -1;
  }
  char line[4097];
  size_t n = fread(line, 1, sizeof line - 1, f);
  int read_error = ferror(f);
  fclose(f);
  if (read_error) {
    fprintf(stderr, "leakycld: --token-file %s: read error\n", path);
    return -1;
  }
  line[n] = '\0';
  char *start = line;
  while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
    start++;
  size_t len = strcspn(start, "\r\n");
  while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
    len--;
  if (len == 0) {
    fprintf(stderr, "leakycld: --token-file %s: the token is empty\n", path);
    return -1;
  }
  for (size_t i = 0; i < len; i++)
    if (start[i] <= 0x20 || start[i] >= 0x7f) {
      fprintf(stderr,
              "leakycld: --token-file %s: the token must be printable ASCII without spaces\n",
              path);
      return -1;
    }
  s->token = malloc(len + 1);
  if (!s->token)
    return -1;
  memcpy(s->token, start, len);
  s->token[len] = '\0';
  s->token_len = len;
  return 0;
}

int main(int argc, char **argv) {
  lkd_malloc_tune(); /* before any thread */
  lkd_server s;
  memset(&s, 0, sizeof s);
  int parsed = lkd_parse_args(argc, argv, &s.config);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  lkd_log_setup(s.config.log_level, s.config.log_json);
  lkd_limits_resolve(&s.config);
  if (s.config.token_file && lkd_read_token(s.config.token_file, &s) != 0)
    return 2;
  if (lkd_signals_start() != 0)
    return 1;

  int rc = 1;
  lkd_http *http = NULL;
  char err[1024] = "";
  int big_slots_made = 0;
  s.metrics = lkd_metrics_create();
  if (!s.metrics || sem_init(&s.big_slots, 0, LKD_BIG_SLOTS) != 0)
    goto out;
  big_slots_made = 1;
  if (lkd_devices_open(&s, err, sizeof err) != 0) {
    lkd_log(LKD_LOG_ERROR, "%s", err);
    goto out;
  }
  if (lkd_devices_load_bundles(&s, err, sizeof err) != 0) {
    lkd_log(LKD_LOG_ERROR, "%s", err);
    rc = 2; /* a bad input file, as the README's exit statuses say */
    goto out;
  }
  /* The variants are final once the bundles are in. */
  lkd_startup_report(&s);
  if (lkd_startup_warm_up(&s) != 0)
    goto out;

  unsigned port = 0;
  if (lkd_http_start(&s, &http, &port, err, sizeof err) != 0) {
    lkd_log(LKD_LOG_ERROR, "%s", err);
    goto out;
  }
  /* Serving before the line that says so: a stop signal sent right after a
   * client read it is a graceful stop, not an exit "while starting". */
  atomic_store(&lkd_signals.phase, LKD_SERVING);
  int v6 = strchr(s.config.host, ':') != NULL;
  printf("leakycld listening on %s%s%s:%u\n", v6 ? "[" : "", s.config.host, v6 ? "]" : "", port);
  fflush(stdout);
  lkd_log(LKD_LOG_NOTICE, "serving on %s%s%s:%u", v6 ? "[" : "", s.config.host, v6 ? "]" : "",
          port);

  const int sig = lkd_wait_for_stop();
  lkd_log(LKD_LOG_NOTICE, "%s: finishing the requests in flight (send it again to exit now)",
          lkd_signal_name(sig));
  lkd_http_stop(http, s.config.timeout_s + 10);
  http = NULL;
  rc = 0;
out:
  lkd_http_stop(http, 0);
  lkd_devices_close(&s);
  if (big_slots_made)
    sem_destroy(&s.big_slots);
  lkd_metrics_destroy(s.metrics);
  free(s.token);
  return rc;
}
