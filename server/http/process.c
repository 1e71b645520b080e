/* process.c - build info and the process_* series of /metrics (getrusage, getrlimit, /proc). */
#include "process.h"

#include <dirent.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "leakycl.h"

/* Appends a metric's HELP and TYPE lines and one sample (short lines only). */
static void lkd_sample(lkt_buf *out, const char *name, const char *type, const char *help,
                       const char *labels, double v) {
  char line[640];
  int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s%s %.15g\n", name, help, name,
                   type, name, labels, v);
  if (n > 0)
    lkt_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Entries of /proc/self/fd (the one reading it included), or -1. */
static long lkd_open_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  long n = 0;
  const struct dirent *e;
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n;
}

/* When the process started, in seconds since the epoch: the boot time
 * (/proc/stat btime) plus its start in clock ticks after boot (field 22
 * of /proc/self/stat, counted after the parenthesized name); -1 when
 * unknown. */
static double lkd_start_time(void) {
  unsigned long long btime = 0, ticks = 0;
  char line[1024];
  FILE *f = fopen("/proc/stat", "r");
  if (!f)
    return -1;
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = sscanf(line, "btime %llu", &btime) == 1;
  fclose(f);
  if (!found || !(f = fopen("/proc/self/stat", "r")))
    return -1;
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = '\0';
  const char *p = strrchr(line, ')');
  /* After ") ": the state is field 3, the start time field 22. */
  for (int field = 2; p && field < 22; field++)
    p = strchr(p + 1, ' ');
  const long hz = sysconf(_SC_CLK_TCK);
  if (!p || hz <= 0 || sscanf(p + 1, "%llu", &ticks) != 1)
    return -1;
  return (double)btime + (double)ticks / (double)hz;
}

void lkd_process_render(lkt_buf *out) {
  char labels[256];
  snprintf(labels, sizeof labels, "{version=\"%s\",opencl=\"%d.%d\",libmicrohttpd=\"%s\"}",
           LEAKYCL_VERSION, CL_TARGET_OPENCL_VERSION / 100, CL_TARGET_OPENCL_VERSION / 10 % 10,
           MHD_get_version());
  lkd_sample(out, "leakycld_build_info", "gauge",
             "leakycld's version, the OpenCL API it is built for and the libmicrohttpd it runs "
             "on; always 1.",
             labels, 1);
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    lkd_sample(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", "",
               (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6);
  const long fds = lkd_open_fds();
  if (fds >= 0)
    lkd_sample(out, "process_open_fds", "gauge", "Number of open file descriptors.", "",
               (double)fds);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    lkd_sample(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", "",
               (double)rl.rlim_cur);
  const double start = lkd_start_time();
  if (start >= 0)
    lkd_sample(out, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.", "", start);
}
