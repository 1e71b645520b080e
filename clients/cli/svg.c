/* svg.c - the SVG chart of `leakycl bench --svg`: a grid of panels (one per
 * op, two columns), log2 x axis over n, linear y axis from 0; colour by
 * implementation, marker shape by device, min-max whiskers, dashed copy
 * limits, the ratios to the references under each panel, a legend of what
 * ran and a footer with leakycl's version, each device's variant, the date. */
#include "svg.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakycl.h"
#include "svg_model.h"

#define PANEL_W 470.0
#define PLOT_H 300.0 /* a panel without its ratio lines */
#define PAD_L 62.0   /* room for the y labels inside a panel */
#define PAD_R 16.0
#define PAD_T 34.0
#define PAD_B 48.0
#define LINE_H 14.0 /* a line of small text */
#define TOP 44.0    /* the figure's title */
#define LEGEND_W 340.0
#define NAME_MAX_CHARS 52

/* Writes text with &, <, >, " escaped and control bytes (not allowed in
 * XML 1.0) dropped. */
static void svg_text(FILE *f, const char *s) {
  for (; *s; s++) {
    const char *entity = *s == '&'   ? "&amp;"
                         : *s == '<' ? "&lt;"
                         : *s == '>' ? "&gt;"
                         : *s == '"' ? "&quot;"
                                     : NULL;
    if (entity)
      fputs(entity, f);
    else if ((unsigned char)*s >= 0x20)
      fputc(*s, f);
  }
}

/* svg_text of s cut to max (at most NAME_MAX_CHARS) bytes with "...",
 * never inside a UTF-8 sequence. */
static void svg_text_cut(FILE *f, const char *s, size_t max) {
  char buf[NAME_MAX_CHARS + 4];
  max = max < NAME_MAX_CHARS ? max : NAME_MAX_CHARS;
  snprintf(buf, sizeof buf, "%s", s);
  if (strlen(s) > max) {
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)buf[cut] & 0xc0) == 0x80)
      cut--;
    memcpy(buf + cut, "...", 4);
  }
  svg_text(f, buf);
}

/* A marker at (x, y): circle, square, triangle or diamond (by device). */
static void marker(FILE *f, int shape, double x, double y, const char *color, int hollow) {
  const double r = 3.6;
  switch (shape % 4) {
  case 0:
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", x, y, r);
    break;
  case 1:
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x - r, y - r, 2 * r,
            2 * r);
    break;
  case 2:
    fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y - r - 0.8, x + r + 0.6,
            y + r * 0.8, x - r - 0.6, y + r * 0.8);
    break;
  default:
    fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y - r - 1, x + r + 1, y,
            x, y + r + 1, x - r - 1, y);
  }
  fprintf(f, " fill=\"%s\" stroke=\"%s\" stroke-width=\"1.2\"/>\n", hollow ? "#ffffff" : color,
          color);
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static double nice_step(double max) {
  const double raw = max / 5, p = pow(10, floor(log10(raw))), m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* A panel's axes: data ranges and the plot rectangle. */
typedef struct axes {
  double lx0, lx1, ymax, step;
  double x0, x1, y0, y1;
} axes;

static double px(const axes *a, double n) {
  return a->x0 + (log2(n) - a->lx0) / (a->lx1 - a->lx0) * (a->x1 - a->x0);
}

static double py(const axes *a, double g) { return a->y0 - g / a->ymax * (a->y0 - a->y1); }

/* The frame, grid, tick labels and axis titles of a panel whose left edge
 * is ox. */
static void draw_axes(FILE *f, const axes *a, double nmin, double nmax, double ox) {
  fprintf(f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
          "stroke=\"#999\"/>\n",
          a->x0, a->y1, a->x1 - a->x0, a->y0 - a->y1);
  for (double g = 0; g <= a->ymax + a->step / 2; g += a->step) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
            a->x0, py(a, g), a->x1, py(a, g));
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%g</text>\n",
            a->x0 - 5, py(a, g) + 3, g);
  }
  for (double n = nmin; n <= nmax * 1.0001; n *= 2) { /* every other power of two, and the last */
    if (fmod(log2(n / nmin), 2) != 0 && n != nmax)
      continue;
    char label[32];
    bench_format_count((size_t)n, label, sizeof label);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
            px(a, n), a->y0, px(a, n), a->y1);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
            px(a, n), a->y0 + 14, label);
  }
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">"
          "n (float32 elements, log scale)</text>\n",
          (a->x0 + a->x1) / 2, a->y0 + 32);
  const double cy = (a->y0 + a->y1) / 2;
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 %.1f %.1f)\">GB/s (read + written)</text>\n",
          ox + 16, cy, ox + 16, cy);
}

/* One series: the line, then a whisker and a marker per point. */
static void draw_series(FILE *f, const svg_model *m, const svg_series *s, int panel,
                        const axes *a) {
  const svg_device *d = &m->devices[s->device];
  const int limit = s->impl->limit;
  fprintf(f, "<polyline class=\"%s\" data-device=\"", limit ? "limit" : "series");
  svg_text(f, d->index);
  fputs("\" data-impl=\"", f);
  svg_text(f, s->impl->name[0] ? s->impl->name : s->name);
  fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"", s->impl->color,
          limit ? "1.4" : "1.8", limit ? " stroke-dasharray=\"7 4\"" : "");
  for (size_t k = 0; k < s->count; k++)
    fprintf(f, "%s%.1f,%.1f", k ? " " : "", px(a, s->points[k].n), py(a, s->points[k].gbps));
  fputs("\"><title>", f);
  svg_text(f, svg_series_label(s));
  fputs(" on ", f);
  svg_text(f, d->label);
  fprintf(f, ", %s</title></polyline>\n", svg_panel_name(limit ? -1 : panel));
  for (size_t k = 0; k < s->count; k++) {
    const svg_point *p = &s->points[k];
    const double x = px(a, p->n), lo = py(a, p->lo), hi = py(a, p->hi);
    fprintf(f,
            "<path class=\"whisker\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" "
            "stroke=\"%s\" stroke-width=\"1\" fill=\"none\"><title>%.3g GB/s (%d row%s), "
            "samples %.3g-%.3g</title></path>\n",
            x, lo, hi, x - 3, lo, x + 3, x - 3, hi, x + 3, s->impl->color, p->gbps, p->merged,
            p->merged == 1 ? "" : "s", p->lo, p->hi);
    marker(f, s->device, x, py(a, p->gbps), s->impl->color, limit);
  }
}

/* Under the plot, a line per device: leakycl against the fastest reference
 * and the copy limit at its largest n. */
static void draw_ratios(FILE *f, const svg_model *m, int panel, double x, double y) {
  for (size_t d = 0; d < m->ndevices; d++) {
    double n, vs_ref, vs_limit;
    const char *ref, *limit;
    if (svg_model_ratios(m, panel, (int)d, &n, &vs_ref, &ref, &vs_limit, &limit) != 0)
      continue;
    char count[32];
    bench_format_count((size_t)n, count, sizeof count);
    marker(f, (int)d, x - 8, y - 3.5, "#444444", 0);
    fprintf(f, "<text class=\"ratio\" x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">", x, y);
    svg_text_cut(f, m->devices[d].label, 30); /* the line stays within the panel */
    fprintf(f, ", %s:", count);
    if (ref)
      fprintf(f, " %.*fx %s", vs_ref < 0.1 ? 4 : 2, vs_ref, ref); /* 0.0032x, not 0.00x */
    if (limit)
      fprintf(f, "%s %.*fx %s", ref ? "," : "", vs_limit < 0.1 ? 4 : 2, vs_limit, limit);
    if (!ref && !limit)
      fputs(" no reference ran", f);
    fputs("</text>\n", f);
    y += LINE_H;
  }
}

/* Draws panel p with its top-left corner at (ox, oy). */
static void draw_panel(FILE *f, const svg_model *m, int panel, double ox, double oy) {
  double nmin = INFINITY, nmax = 0, gmax = 0;
  for (size_t i = 0; i < m->nseries; i++) {
    const svg_series *s = &m->series[i];
    for (size_t k = 0; k < s->count && svg_series_in_panel(s, panel); k++) {
      nmin = fmin(nmin, s->points[k].n);
      nmax = fmax(nmax, s->points[k].n);
      gmax = fmax(gmax, s->points[k].hi);
    }
  }
  if (nmax == 0)
    return;
  axes a = {.lx0 = log2(nmin) - (nmin == nmax ? 1 : 0.25),
            .lx1 = log2(nmax) + (nmin == nmax ? 1 : 0.25),
            .step = nice_step(gmax > 0 ? gmax * 1.08 : 1),
            .x0 = ox + PAD_L,
            .x1 = ox + PANEL_W - PAD_R,
            .y0 = oy + PLOT_H - PAD_B,
            .y1 = oy + PAD_T};
  a.ymax = ceil((gmax > 0 ? gmax * 1.08 : 1) / a.step) * a.step;
  fprintf(f, "<g class=\"panel\" data-op=\"%s\">\n", svg_panel_name(panel));
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", a.x0,
          oy + 20, svg_panel_name(panel));
  draw_axes(f, &a, nmin, nmax, ox);
  for (size_t i = 0; i < m->nseries; i++)
    if (svg_series_in_panel(&m->series[i], panel))
      draw_series(f, m, &m->series[i], panel, &a);
  draw_ratios(f, m, panel, a.x0 + 10, oy + PLOT_H + 4);
  fputs("</g>\n", f);
}

/* Whether series i is the first of its (device, implementation): the one
 * that gets the legend entry. */
static int legend_first(const svg_model *m, size_t i) {
  const svg_series *s = &m->series[i];
  for (size_t k = 0; k < i; k++)
    if (m->series[k].device == s->device && m->series[k].impl == s->impl &&
        strcmp(m->series[k].name, s->name) == 0)
      return 0;
  return 1;
}

static const char *const notes[] = {
    "Points: median GB/s, over the activations timed",
    "(the median of their medians; --activation picks one).",
    "Whiskers: slowest to fastest sample of those rows.",
    "Dashed: copy limits, the same in every panel.",
    "Bytes: forward 8n, backward 12n (+4 with dalpha),",
    "reduce 8n + 4, copy 8n.",
    "Under each panel, per device at the largest n: leakycl",
    "(resident) over the fastest reference and the faster",
    "copy limit (1.00x: as fast).",
};
#define NNOTES (sizeof notes / sizeof notes[0])

/* The legend's height, for the figure's size. */
static double legend_height(const svg_model *m) {
  double h = (double)m->ndevices * 26 + 16 + (double)(NNOTES + 1) * LINE_H;
  for (size_t i = 0; i < m->nseries; i++)
    h += legend_first(m, i) ? 18 : 0;
  return h;
}

/* The legend: per device, an entry for each implementation that ran on it,
 * then how to read the chart. */
static void draw_legend(FILE *f, const svg_model *m, double ox, double oy) {
  double y = oy;
  fputs("<g class=\"legend\">\n", f);
  for (size_t d = 0; d < m->ndevices; d++) {
    y += d ? 26 : 0;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" font-weight=\"bold\">", ox, y);
    svg_text_cut(f, m->devices[d].label, 44); /* within LEGEND_W */
    fputs("</text>\n", f);
    for (size_t i = 0; i < m->nseries; i++) {
      const svg_series *s = &m->series[i];
      if (s->device != (int)d || !legend_first(m, i))
        continue;
      y += 18;
      fputs("<g class=\"legend-entry\" data-device=\"", f);
      svg_text(f, m->devices[d].index);
      fputs("\" data-impl=\"", f);
      svg_text(f, s->impl->name[0] ? s->impl->name : s->name);
      fprintf(f,
              "\">\n<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
              "stroke-width=\"2\"%s/>\n",
              ox, y - 4, ox + 28, y - 4, s->impl->color,
              s->impl->limit ? " stroke-dasharray=\"7 4\"" : "");
      marker(f, (int)d, ox + 14, y - 4, s->impl->color, s->impl->limit);
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", ox + 36, y);
      svg_text(f, svg_series_label(s));
      fputs("</text>\n</g>\n", f);
    }
  }
  y += 16;
  for (size_t i = 0; i < NNOTES; i++) {
    y += LINE_H;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">%s</text>\n", ox, y,
            notes[i]);
  }
  fputs("</g>\n", f);
}

/* "2025-01-31 14:05 UTC": now, or $SOURCE_DATE_EPOCH for reproducible files. */
static void chart_date(char *buf, size_t buflen) {
  const char *epoch = getenv("SOURCE_DATE_EPOCH");
  time_t t = epoch && *epoch ? (time_t)strtoll(epoch, NULL, 10) : time(NULL);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || strftime(buf, buflen, "%Y-%m-%d %H:%M UTC", &tm) == 0)
    snprintf(buf, buflen, "unknown date");
}

/* The footer: version and date, then each device's variant. */
static void draw_footer(FILE *f, const svg_model *m, double y, double width) {
  char date[64];
  chart_date(date, sizeof date);
  fprintf(f,
          "<g class=\"footer\" font-size=\"10\" fill=\"#444\">\n"
          "<line x1=\"16\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n"
          "<text x=\"16\" y=\"%.1f\">leakycl " LEAKYCL_VERSION ", %s</text>\n",
          y - 12, width - 16, y - 12, y, date);
  for (size_t d = 0; d < m->ndevices; d++) {
    y += LINE_H;
    fprintf(f, "<text x=\"16\" y=\"%.1f\">%s: ", y, m->devices[d].index);
    svg_text(f, m->devices[d].label);
    fputs(", variant ", f);
    svg_text(f, m->devices[d].variant[0] ? m->devices[d].variant : "(leakycl not timed)");
    fputs("</text>\n", f);
  }
  fputs("</g>\n", f);
}

int bench_svg_check(const char *path, char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  const int created = fd >= 0;
  if (fd < 0 && errno == EEXIST)
    fd = open(path, O_WRONLY); /* no O_TRUNC: a failed sweep keeps the old chart */
  if (fd < 0) {
    snprintf(err, errlen, "--svg %s: cannot write: %s", path, strerror(errno));
    return -1;
  }
  close(fd);
  if (created)
    unlink(path);
  return 0;
}

/* The devices' names, comma-separated, for the title. */
static void title_devices(FILE *f, const svg_model *m) {
  for (size_t d = 0; d < m->ndevices; d++) {
    fputs(d ? ", " : " on ", f);
    svg_text_cut(f, m->devices[d].label, NAME_MAX_CHARS);
  }
}

int bench_svg_write(const char *path, const bench_rows *rows, char *err, size_t errlen) {
  svg_model *m = malloc(sizeof *m);
  if (!m) {
    snprintf(err, errlen, "out of memory for the chart");
    return -1;
  }
  svg_model_build(m, rows);
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    free(m);
    return -1;
  }
  const size_t cols = m->npanels > 1 ? 2 : 1, grid_rows = (m->npanels + 1) / 2;
  const double panel_h = PLOT_H + 10 + LINE_H * (double)m->ndevices;
  const double body_h = fmax((double)(grid_rows ? grid_rows : 1) * panel_h, 20 + legend_height(m));
  const double width = (double)cols * PANEL_W + LEGEND_W;
  const double height = TOP + body_h + 30 + LINE_H * (double)(m->ndevices + 1);
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
          "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">leakycl bench: GB/s "
          "against n, float32",
          width, height, width, height);
  title_devices(f, m);
  fputs("</text>\n", f);
  size_t slot = 0;
  for (int p = 0; p < SVG_PANELS; p++)
    if (m->panel_used[p]) {
      draw_panel(f, m, p, (double)(slot % cols) * PANEL_W, TOP + (double)(slot / cols) * panel_h);
      slot++;
    }
  draw_legend(f, m, (double)cols * PANEL_W + 16, TOP + 20);
  draw_footer(f, m, TOP + body_h + 30, width);
  fputs("</svg>\n", f);
  free(m);
  const int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    snprintf(err, errlen, "cannot write %s", path);
    return -1;
  }
  return 0;
}
