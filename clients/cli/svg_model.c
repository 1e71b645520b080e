/* svg_model.c - the bench chart's content from the rows: devices by name,
 * series per (device, implementation, panel), points merged over the
 * activations (memory-bound ops differ little between them; --activation
 * picks one), and the ratios printed under each panel. */
#include "svg_model.h"

#include <stdlib.h>
#include <string.h>

/* Legend order; the last entry stands for any other reference. */
static const svg_impl impls[] = {
    {"leakycl", "#1f5fbf", "leakycl, resident (cl_mem)", 0},
    {"leakycl-host", "#62b6e8", "leakycl, host pointers", 0},
    {"openmp", "#e07b00", "OpenMP C loop", 0},
    {"numpy", "#2a9d3a", "NumPy", 0},
    {"jax", "#c8322b", "JAX jit (CPU)", 0},
    {"pyopencl", "#8856b8", "pyopencl ElementwiseKernel", 0},
    {"stream_copy", "#222222", "copy limit: streaming stores", 1},
    {"cl_copy", "#888888", "copy limit: clEnqueueCopyBuffer", 1},
    {"", "#17a2b8", "", 0},
};
#define NIMPLS (sizeof impls / sizeof impls[0])

static const char *const panel_names[SVG_PANELS] = {"forward", "backward", "backward+dalpha",
                                                    "reduce"};

const char *svg_panel_name(int panel) {
  return panel >= 0 && panel < SVG_PANELS ? panel_names[panel] : "copy";
}

static const svg_impl *impl_of(const bench_row *r) {
  const char *key = strcmp(r->name, "leakycl") == 0 && !r->resident ? "leakycl-host" : r->name;
  for (size_t i = 0; i + 1 < NIMPLS; i++)
    if (strcmp(impls[i].name, key) == 0)
      return &impls[i];
  return &impls[NIMPLS - 1];
}

static int panel_of(const bench_row *r) {
  switch (r->op) {
  case BENCH_FORWARD:
    return 0;
  case BENCH_BACKWARD:
    return r->fused_dalpha ? 2 : 1;
  case BENCH_REDUCE:
    return 3;
  case BENCH_COPY:
    break;
  }
  return -1;
}

const char *svg_series_label(const svg_series *s) {
  return s->impl->label[0] ? s->impl->label : s->name;
}

int svg_series_in_panel(const svg_series *s, int panel) {
  return s->panel == panel || s->panel < 0;
}

/* The device of r, added on first sight (-1 when the table is full). */
static int device_of(svg_model *m, const bench_row *r) {
  for (size_t i = 0; i < m->ndevices; i++)
    if (strcmp(m->devices[i].index, r->device_index) == 0) {
      if (!m->devices[i].variant[0] && strcmp(r->kind, "leakycl") == 0)
        snprintf(m->devices[i].variant, sizeof m->devices[i].variant, "%s", r->variant);
      return (int)i;
    }
  if (m->ndevices == SVG_MAX_DEVICES)
    return -1;
  svg_device *d = &m->devices[m->ndevices];
  snprintf(d->index, sizeof d->index, "%s", r->device_index);
  snprintf(d->label, sizeof d->label, "%s", r->device);
  if (strcmp(r->kind, "leakycl") == 0)
    snprintf(d->variant, sizeof d->variant, "%s", r->variant);
  return (int)m->ndevices++;
}

static svg_series *series_of(svg_model *m, int device, const svg_impl *impl, const char *name,
                             int panel) {
  for (size_t i = 0; i < m->nseries; i++) {
    svg_series *s = &m->series[i];
    if (s->device == device && s->impl == impl && s->panel == panel && strcmp(s->name, name) == 0)
      return s;
  }
  if (m->nseries == SVG_MAX_SERIES)
    return NULL;
  svg_series *s = &m->series[m->nseries++];
  s->device = device;
  s->impl = impl;
  s->panel = panel;
  snprintf(s->name, sizeof s->name, "%s", name);
  return s;
}

/* Merges row r into the point of its n, kept sorted by n. */
static void add_point(svg_series *s, const bench_row *r) {
  const double n = (double)r->n, g = bench_row_gbps(r);
  const double lo = r->max_seconds > 0 ? r->bytes / r->max_seconds / 1e9 : g;
  const double hi = r->min_seconds > 0 ? r->bytes / r->min_seconds / 1e9 : g;
  size_t k = 0;
  while (k < s->count && s->points[k].n < n)
    k++;
  if (k == s->count || s->points[k].n != n) {
    if (s->count == SVG_MAX_POINTS)
      return;
    memmove(&s->points[k + 1], &s->points[k], (s->count - k) * sizeof s->points[0]);
    s->count++;
    s->points[k] = (svg_point){.n = n, .lo = lo, .hi = hi};
  }
  svg_point *p = &s->points[k];
  p->lo = lo < p->lo ? lo : p->lo;
  p->hi = hi > p->hi ? hi : p->hi;
  if (p->merged < SVG_MAX_MERGED)
    p->each[p->merged++] = g;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Devices that share a name are told apart by their index. */
static void label_devices(svg_model *m) {
  for (size_t i = 0; i < m->ndevices; i++)
    for (size_t j = 0; j < m->ndevices; j++)
      if (i != j && strncmp(m->devices[i].label, m->devices[j].label, 160) == 0) {
        const size_t len = strlen(m->devices[i].label);
        snprintf(m->devices[i].label + len, sizeof m->devices[i].label - len, " (%s)",
                 m->devices[i].index);
        break;
      }
}

void svg_model_build(svg_model *m, const bench_rows *rows) {
  memset(m, 0, sizeof *m);
  for (size_t i = 0; i < rows->count; i++) {
    const bench_row *r = &rows->items[i];
    /* Backward from the mask moves other bytes: its figures are the
     * table's (with the speed-up over backward from x), not a line here. */
    if (r->seconds <= 0 || r->from_mask)
      continue;
    const int device = device_of(m, r), panel = panel_of(r);
    svg_series *s = device < 0 ? NULL : series_of(m, device, impl_of(r), r->name, panel);
    if (!s)
      continue;
    add_point(s, r);
    if (panel >= 0 && !m->panel_used[panel]) {
      m->panel_used[panel] = 1;
      m->npanels++;
    }
  }
  for (size_t i = 0; i < m->nseries; i++)
    for (size_t k = 0; k < m->series[i].count; k++) {
      svg_point *p = &m->series[i].points[k];
      qsort(p->each, (size_t)p->merged, sizeof p->each[0], cmp_double);
      p->gbps = p->merged % 2 ? p->each[p->merged / 2]
                              : 0.5 * (p->each[p->merged / 2 - 1] + p->each[p->merged / 2]);
    }
  label_devices(m);
}

/* The GB/s of series s at n, or 0. */
static double gbps_at(const svg_series *s, double n) {
  for (size_t k = 0; k < s->count; k++)
    if (s->points[k].n == n)
      return s->points[k].gbps;
  return 0;
}

int svg_model_ratios(const svg_model *m, int panel, int device, double *n, double *vs_ref,
                     const char **ref, double *vs_limit, const char **limit) {
  const svg_series *lk = NULL;
  for (size_t i = 0; i < m->nseries && !lk; i++)
    if (m->series[i].device == device && m->series[i].panel == panel &&
        m->series[i].impl == &impls[0])
      lk = &m->series[i];
  if (!lk || lk->count == 0)
    return -1;
  *n = lk->points[lk->count - 1].n;
  const double g = lk->points[lk->count - 1].gbps;
  double best_ref = 0, best_limit = 0;
  *ref = *limit = NULL;
  for (size_t i = 0; i < m->nseries; i++) {
    const svg_series *s = &m->series[i];
    const double x = gbps_at(s, *n);
    if (s->device != device || !svg_series_in_panel(s, panel) || s->impl == &impls[0] ||
        s->impl == &impls[1] || x <= 0)
      continue;
    if (s->impl->limit && x > best_limit) {
      best_limit = x;
      *limit = s->name;
    } else if (!s->impl->limit && x > best_ref) {
      best_ref = x;
      *ref = s->name;
    }
  }
  *vs_ref = best_ref > 0 ? g / best_ref : 0;
  *vs_limit = best_limit > 0 ? g / best_limit : 0;
  return 0;
}
