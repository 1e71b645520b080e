/* svg.c - the SVG chart of `leakycl bench --svg`: panels in a grid (a row
 * per device, a column per op), log2 x axis over n, linear y axis from 0,
 * colour by implementation, marker by activation, hollow markers for
 * backward fused with dalpha, lighter lines for host-pointer calls, dashed
 * lines for the copy limits, one legend for the whole figure. */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANEL_W 440.0
#define PANEL_H 300.0
#define PAD_L 62.0 /* room for the y labels inside a panel */
#define PAD_R 16.0
#define PAD_T 34.0
#define PAD_B 48.0
#define TOP 44.0 /* the figure's title */
#define LEGEND_W 310.0
#define MAX_PANELS 64
#define MAX_SERIES 96
#define MAX_POINTS 64

typedef struct style {
  const char *name;
  const char *color;
  const char *label;
} style;

/* One colour per implementation; host-pointer leakycl calls get their own. */
static const style styles[] = {
    {"leakycl", "#1f5fbf", "leakycl, resident (cl_mem)"},
    {"leakycl-host", "#62b6e8", "leakycl, host pointers"},
    {"openmp", "#e07b00", "OpenMP C loop"},
    {"numpy", "#2a9d3a", "NumPy"},
    {"jax", "#c8322b", "JAX jit (CPU)"},
    {"pyopencl", "#8856b8", "pyopencl ElementwiseKernel"},
    {"stream_copy", "#222222", "copy limit: streaming stores"},
    {"cl_copy", "#888888", "copy limit: clEnqueueCopyBuffer"},
};
static const char *const activations[] = {"relu", "leaky_relu", "prelu", "phased_relu"};

static const style *style_of(const bench_row *r) {
  const char *key = strcmp(r->name, "leakycl") == 0 && !r->resident ? "leakycl-host" : r->name;
  for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
    if (strcmp(styles[i].name, key) == 0)
      return &styles[i];
  return &styles[2]; /* an unknown reference still gets drawn */
}

static int activation_index(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(activations[i], name) == 0)
      return i;
  return 0;
}

/* Writes text with &, <, >, " escaped. */
static void svg_text(FILE *f, const char *s) {
  for (; *s; s++) {
    const char *entity = *s == '&'   ? "&amp;"
                         : *s == '<' ? "&lt;"
                         : *s == '>' ? "&gt;"
                         : *s == '"' ? "&quot;"
                                     : NULL;
    if (entity)
      fputs(entity, f);
    else
      fputc(*s, f);
  }
}

/* A marker at (x, y): circle, square, triangle or diamond by activation. */
static void marker(FILE *f, int shape, double x, double y, const char *color, int hollow) {
  const char *fill = hollow ? "#ffffff" : color;
  const double r = 3.6;
  switch (shape) {
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
  fprintf(f, " fill=\"%s\" stroke=\"%s\" stroke-width=\"1.2\"/>\n", fill, color);
}

/* "4Ki", "64Mi", or the plain number. */
static void count_label(double n, char *buf, size_t buflen) {
  static const char *const units[] = {"", "Ki", "Mi", "Gi"};
  int u = 0;
  while (u < 3 && n >= 1024 && fmod(n, 1024) == 0) {
    n /= 1024;
    u++;
  }
  snprintf(buf, buflen, "%.0f%s", n, units[u]);
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static double nice_step(double max) {
  const double raw = max / 5, p = pow(10, floor(log10(raw))), m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

typedef struct panel {
  char device_index[24];
  char device[160];
  bench_op op;
} panel;

static int same_series(const bench_row *a, const bench_row *b) {
  return strcmp(a->name, b->name) == 0 && strcmp(a->activation, b->activation) == 0 &&
         a->fused_dalpha == b->fused_dalpha && a->resident == b->resident;
}

static int in_panel(const bench_row *r, const panel *p) {
  return strcmp(r->device_index, p->device_index) == 0 && (r->op == p->op || r->op == BENCH_COPY);
}

static int cmp_size(const void *a, const void *b) {
  const bench_row *x = *(const bench_row *const *)a, *y = *(const bench_row *const *)b;
  return (x->n > y->n) - (x->n < y->n);
}

/* Draws one panel with its top-left corner at (ox, oy). */
static void draw_panel(FILE *f, const bench_rows *rows, const panel *p, double ox, double oy) {
  double nmin = INFINITY, nmax = 0, gmax = 0;
  for (size_t i = 0; i < rows->count; i++) {
    const bench_row *r = &rows->items[i];
    if (!in_panel(r, p) || r->seconds <= 0)
      continue;
    nmin = fmin(nmin, (double)r->n);
    nmax = fmax(nmax, (double)r->n);
    gmax = fmax(gmax, bench_row_gbps(r));
  }
  if (nmax == 0)
    return;
  const double lx0 = log2(nmin) - (nmin == nmax ? 1 : 0.25);
  const double lx1 = log2(nmax) + (nmin == nmax ? 1 : 0.25);
  const double step = nice_step(gmax > 0 ? gmax * 1.08 : 1);
  const double ymax = ceil(gmax * 1.08 / step) * step;
  const double x0 = ox + PAD_L, x1 = ox + PANEL_W - PAD_R;
  const double y0 = oy + PANEL_H - PAD_B, y1 = oy + PAD_T;
#define PX(n) (x0 + (log2(n) - lx0) / (lx1 - lx0) * (x1 - x0))
#define PY(g) (y0 - (g) / ymax * (y0 - y1))
  fputs("<g class=\"panel\" data-device=\"", f);
  svg_text(f, p->device_index);
  fprintf(f, "\" data-op=\"%s\">\n", bench_op_name(p->op));
  /* The op and device index in bold, the device's name (cut to fit) below. */
  char name[56];
  snprintf(name, sizeof name, "%s", p->device);
  if (strlen(p->device) >= sizeof name) {
    size_t cut = sizeof name - 4;
    while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
      cut--; /* never split a UTF-8 sequence */
    memcpy(name + cut, "...", 4);
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">%s on ", ox + PAD_L,
          oy + 12, bench_op_name(p->op));
  svg_text(f, p->device_index);
  fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">", ox + PAD_L,
          oy + 26);
  svg_text(f, name);
  fputs("</text>\n", f);
  fprintf(f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
          "stroke=\"#999\"/>\n",
          x0, y1, x1 - x0, y0 - y1);
  for (double g = 0; g <= ymax + step / 2; g += step) { /* y grid and labels */
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", x0,
            PY(g), x1, PY(g));
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%g</text>\n",
            x0 - 5, PY(g) + 3, g);
  }
  for (double n = nmin; n <= nmax * 1.0001; n *= 2) { /* x ticks at powers of two of the data */
    if (fmod(log2(n / nmin), 2) != 0 && n != nmax)
      continue;
    char label[32];
    count_label(n, label, sizeof label);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
            PX(n), y0, PX(n), y1);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
            PX(n), y0 + 14, label);
  }
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">"
          "n (float32 elements, log scale)</text>\n",
          (x0 + x1) / 2, y0 + 32);
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 %.1f %.1f)\">GB/s (read + written)</text>\n",
          ox + 16, (y0 + y1) / 2, ox + 16, (y0 + y1) / 2);
  /* Series: gather each one's rows, sort by n, draw the line then markers. */
  const bench_row *seen[MAX_SERIES];
  size_t nseen = 0;
  for (size_t i = 0; i < rows->count && nseen < MAX_SERIES; i++) {
    const bench_row *r = &rows->items[i];
    int known = 0;
    for (size_t k = 0; k < nseen && !known; k++)
      known = same_series(seen[k], r) && seen[k]->op == r->op;
    if (!in_panel(r, p) || known)
      continue;
    seen[nseen++] = r;
    const bench_row *pts[MAX_POINTS] = {0};
    size_t np = 0;
    for (size_t j = i; j < rows->count && np < MAX_POINTS; j++)
      if (in_panel(&rows->items[j], p) && rows->items[j].op == r->op &&
          same_series(&rows->items[j], r) && rows->items[j].seconds > 0)
        pts[np++] = &rows->items[j];
    qsort(pts, np, sizeof pts[0], cmp_size);
    const style *st = style_of(r);
    const int limit = r->op == BENCH_COPY;
    fprintf(f, "<polyline class=\"%s\" data-series=\"", limit ? "limit" : "series");
    svg_text(f, r->name);
    fputc(' ', f);
    svg_text(f, r->activation);
    fprintf(f, "%s %s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
            r->fused_dalpha ? "+dalpha" : "", r->resident ? "resident" : "host", st->color,
            limit ? "1.6" : "1.4", limit ? " stroke-dasharray=\"7 4\"" : "");
    for (size_t k = 0; k < np; k++)
      fprintf(f, "%s%.1f,%.1f", k ? " " : "", PX((double)pts[k]->n), PY(bench_row_gbps(pts[k])));
    fprintf(f, "\"><title>%s ", st->label);
    svg_text(f, r->activation);
    fprintf(f, "%s %s</title></polyline>\n", r->fused_dalpha ? " +dalpha" : "",
            r->resident ? "resident" : "host pointers");
    for (size_t k = 0; k < np && !limit; k++)
      marker(f, activation_index(r->activation), PX((double)pts[k]->n), PY(bench_row_gbps(pts[k])),
             st->color, r->fused_dalpha);
  }
  fputs("</g>\n", f);
#undef PX
#undef PY
}

/* The legend: colours (implementations), markers (activations), styles. */
static void draw_legend(FILE *f, double ox, double oy) {
  double y = oy;
  fprintf(f,
          "<g class=\"legend\">\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
          "font-weight=\"bold\">Implementation</text>\n",
          ox, y);
  for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
    y += 18;
    const int limit = i >= 6;
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"2\"%s/>\n",
            ox, y - 4, ox + 28, y - 4, styles[i].color, limit ? " stroke-dasharray=\"7 4\"" : "");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>\n", ox + 36, y,
            styles[i].label);
  }
  y += 30;
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\">Activation</text>\n",
          ox, y);
  for (int a = 0; a < 4; a++) {
    y += 18;
    marker(f, a, ox + 14, y - 4, "#444444", 0);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>\n", ox + 36, y,
            activations[a]);
  }
  y += 18;
  marker(f, 2, ox + 14, y - 4, "#444444", 1);
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">hollow: backward with dalpha "
          "fused</text>\n",
          ox + 36, y);
  y += 28;
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">Medians of interleaved "
          "samples;</text>\n",
          ox, y);
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">bytes: forward 8n, "
          "backward 12n,</text>\n",
          ox, y + 14);
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">reduce 8n, copy "
          "8n.</text>\n</g>\n",
          ox, y + 28);
}

int bench_svg_write(const char *path, const bench_rows *rows, char *err, size_t errlen) {
  panel panels[MAX_PANELS];
  size_t npanels = 0, ndevices = 0, nops = 0;
  char devices[MAX_PANELS][24];
  int op_used[BENCH_OP_COUNT] = {0};
  for (size_t i = 0; i < rows->count; i++) {
    const bench_row *r = &rows->items[i];
    if (r->op == BENCH_COPY)
      continue;
    int found = 0;
    for (size_t k = 0; k < npanels && !found; k++)
      found = strcmp(panels[k].device_index, r->device_index) == 0 && panels[k].op == r->op;
    if (!found && npanels < MAX_PANELS) {
      panel *p = &panels[npanels++];
      snprintf(p->device_index, sizeof p->device_index, "%s", r->device_index);
      snprintf(p->device, sizeof p->device, "%s", r->device);
      p->op = r->op;
    }
    found = 0;
    for (size_t k = 0; k < ndevices && !found; k++)
      found = strcmp(devices[k], r->device_index) == 0;
    if (!found && ndevices < MAX_PANELS)
      snprintf(devices[ndevices++], sizeof devices[0], "%s", r->device_index);
    op_used[r->op] = 1;
  }
  int column[BENCH_OP_COUNT];
  for (int op = 0; op < BENCH_OP_COUNT; op++)
    column[op] = op_used[op] ? (int)nops++ : -1;
  if (nops == 0)
    nops = 1;
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  const double width = (double)nops * PANEL_W + LEGEND_W;
  /* Tall enough for the legend even with one row of panels. */
  const double height = fmax(TOP + (ndevices ? (double)ndevices : 1) * PANEL_H + 10, 440);
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
          "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">leakycl bench: GB/s "
          "against n, float32, medians</text>\n",
          width, height, width, height);
  for (size_t k = 0; k < npanels; k++) {
    size_t row = 0;
    while (row < ndevices && strcmp(devices[row], panels[k].device_index) != 0)
      row++;
    draw_panel(f, rows, &panels[k], (double)column[panels[k].op] * PANEL_W,
               TOP + (double)row * PANEL_H);
  }
  draw_legend(f, (double)nops * PANEL_W + 20, TOP + 20);
  fputs("</svg>\n", f);
  const int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    snprintf(err, errlen, "cannot write %s", path);
    return -1;
  }
  return 0;
}
