/* bench_refs.c - the C references of `leakycl bench`: the README's formulas
 * as OpenMP loops (one simple loop per activation, so the compiler
 * vectorizes each), and a streaming-store copy. */
#include "bench_refs.h"

#include <stdio.h>

#ifdef _OPENMP
#include <omp.h>
#define BENCH_OMP(directive) _Pragma(directive)
#else
#define BENCH_OMP(directive)
#endif
#if defined(__SSE__) || defined(__SSE2__)
#include <xmmintrin.h>
#define BENCH_HAVE_STREAM 1
#else
#define BENCH_HAVE_STREAM 0
#endif

void bench_ref_params_default(bench_ref_params *p, leakycl_activation activation) {
  p->activation = activation;
  p->alpha = leakycl_default_alpha(activation);
  /* The library computes t once in float32 on the host; so do we. */
  p->threshold = activation == LEAKYCL_PHASED_RELU ? -LEAKYCL_DEFAULT_PHASED_BETA / p->alpha : 0.0f;
}

/* Below this many elements the loops run on one thread, as a careful C
 * programmer would write them: waking a thread team costs more than it
 * saves there, and on a small machine the team's threads and the OpenCL
 * runtime's workers take turns on the cores (3-6 ms stalls were measured). */
static const size_t bench_parallel_min = (size_t)1 << 18;

/* One parallel, vectorized loop over i in [0, n) running BODY. Bodies
 * compute both branches, then select, and this file is built with
 * -fno-trapping-math (Makefile): otherwise GCC will not if-convert a
 * multiply that one branch does (it might trap) and 9 of the 10 loops stay
 * scalar. Results are unchanged: no fast-math, NaN and Inf behave. */
#define BENCH_LOOP(BODY)                                                                           \
  do {                                                                                             \
    BENCH_OMP("omp parallel for simd schedule(static) if (n >= bench_parallel_min)")               \
    for (size_t i = 0; i < n; i++) {                                                               \
      BODY;                                                                                        \
    }                                                                                              \
  } while (0)

/* The same with a float64 sum of TERM into *sum. */
#define BENCH_SUM_LOOP(sum, BODY, TERM)                                                            \
  do {                                                                                             \
    double acc = 0;                                                                                \
    BENCH_OMP(                                                                                     \
        "omp parallel for simd schedule(static) reduction(+ : acc) if (n >= bench_parallel_min)")  \
    for (size_t i = 0; i < n; i++) {                                                               \
      BODY;                                                                                        \
      acc += (double)(TERM);                                                                       \
    }                                                                                              \
    *(sum) = acc;                                                                                  \
  } while (0)

void bench_ref_forward(const bench_ref_params *p, const float *x, float *y, size_t n) {
  const float a = p->alpha, t = p->threshold;
  switch (p->activation) {
  case LEAKYCL_RELU: /* a select that keeps NaN, never x * (x > 0) */
    BENCH_LOOP(y[i] = !(x[i] <= 0.0f) ? x[i] : 0.0f);
    break;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    BENCH_LOOP(const float v = x[i]; const float s = a * v; y[i] = v > 0.0f ? v : s);
    break;
  case LEAKYCL_PHASED_RELU:
    BENCH_LOOP(const float v = x[i]; const float s = a * v;
               y[i] = v >= 0.0f ? v : (v >= t ? s : 0.0f));
    break;
  }
}

void bench_ref_backward(const bench_ref_params *p, const float *x, const float *dy, float *dx,
                        size_t n) {
  const float a = p->alpha, t = p->threshold;
  switch (p->activation) {
  case LEAKYCL_RELU:
    BENCH_LOOP(dx[i] = x[i] > 0.0f ? dy[i] : 0.0f);
    break;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    BENCH_LOOP(const float g = dy[i]; const float s = a * g; dx[i] = x[i] > 0.0f ? g : s);
    break;
  case LEAKYCL_PHASED_RELU:
    BENCH_LOOP(const float v = x[i]; const float g = dy[i]; const float s = a * g;
               dx[i] = v >= 0.0f ? g : (v >= t ? s : 0.0f));
    break;
  }
}

double bench_ref_backward_dalpha(const bench_ref_params *p, const float *x, const float *dy,
                                 float *dx, size_t n) {
  const float a = p->alpha, t = p->threshold;
  double sum = 0;
  switch (p->activation) {
  case LEAKYCL_PRELU:
    BENCH_SUM_LOOP(&sum, const float v = x[i]; const float g = dy[i]; const float s = a * g;
                   const float gx = g * v; dx[i] = v > 0.0f ? g : s, v > 0.0f ? 0.0f : gx);
    break;
  case LEAKYCL_PHASED_RELU:
    BENCH_SUM_LOOP(&sum, const float v = x[i]; const float g = dy[i]; const float s = a * g;
                   const float gx = g * v;
                   dx[i] = v >= 0.0f ? g : (v >= t ? s : 0.0f), (v < 0.0f) & (v >= t) ? gx : 0.0f);
    break;
  default:
    bench_ref_backward(p, x, dy, dx, n);
    break;
  }
  return sum;
}

double bench_ref_dalpha(const bench_ref_params *p, const float *x, const float *dy, size_t n) {
  const float t = p->threshold;
  double sum = 0;
  switch (p->activation) {
  case LEAKYCL_PRELU:
    BENCH_SUM_LOOP(&sum, const float v = x[i]; const float gx = dy[i] * v, v > 0.0f ? 0.0f : gx);
    break;
  case LEAKYCL_PHASED_RELU:
    BENCH_SUM_LOOP(&sum, const float v = x[i];
                   const float gx = dy[i] * v, (v < 0.0f) & (v >= t) ? gx : 0.0f);
    break;
  default:
    break;
  }
  return sum;
}

void bench_stream_copy(const float *src, float *dst, size_t n) {
#if BENCH_HAVE_STREAM
  /* Blocks of 16 floats (one 64-byte line) with streaming stores; each
   * thread fences its own stores. A misaligned dst takes the plain loop. */
  if (((size_t)dst & 15u) == 0) {
    const size_t blocks = n / 16;
    BENCH_OMP("omp parallel if (n >= bench_parallel_min)") {
      BENCH_OMP("omp for schedule(static) nowait")
      for (size_t b = 0; b < blocks; b++) {
        const float *s = src + 16 * b;
        float *d = dst + 16 * b;
        _mm_stream_ps(d, _mm_loadu_ps(s));
        _mm_stream_ps(d + 4, _mm_loadu_ps(s + 4));
        _mm_stream_ps(d + 8, _mm_loadu_ps(s + 8));
        _mm_stream_ps(d + 12, _mm_loadu_ps(s + 12));
      }
      _mm_sfence();
    }
    for (size_t i = 16 * blocks; i < n; i++)
      dst[i] = src[i];
    return;
  }
#endif
  BENCH_LOOP(dst[i] = src[i]);
}

const char *bench_ref_description(void) {
  static char text[96];
#ifdef _OPENMP
  snprintf(text, sizeof text, "openmp simd, %d threads from %zu elements", omp_get_max_threads(),
           bench_parallel_min);
#else
  snprintf(text, sizeof text, "no openmp, 1 thread");
#endif
  return text;
}
