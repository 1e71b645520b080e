/* bench_verify.c - `leakycl bench --verify`: a timed call's output against
 * the float64 oracle (oracle/check_oracle.c), element by element and for dalpha. */
#include "bench_verify.h"

#include <stdio.h>
#include <string.h>

#include "check_oracle.h"

int bench_verify(const bench_verify_call *call, char *err, size_t errlen) {
  const leakycl_activation act = call->activation;
  /* bench calls run with leakycl_params_init's defaults. */
  const float a = leakycl_default_alpha(act);
  const float t = act == LEAKYCL_PHASED_RELU ? ck_threshold(a, LEAKYCL_DEFAULT_PHASED_BETA) : 0.0f;
  /* bench data is finite and normal: denormal support does not matter. */
  const int denormals = 1;
  for (size_t i = 0; call->out && i < call->n; i++) {
    const ck_elem e = {act,
                       LEAKYCL_FLOAT32,
                       call->op == BENCH_BACKWARD,
                       call->x[i],
                       call->dy[i],
                       a,
                       t,
                       LEAKYCL_CONVENTIONS_PYTORCH};
    uint32_t want = 0;
    if (!ck_check_elem(&e, ck_bits(call->out[i]), denormals, &want)) {
      snprintf(err, errlen,
               "%s %s element %zu of %zu: x=%a dy=%a: got %a (0x%08x), the oracle gives %a "
               "(0x%08x)",
               leakycl_activation_name(act), bench_op_name(call->op), i, call->n,
               (double)call->x[i], (double)call->dy[i], (double)call->out[i],
               (unsigned)ck_bits(call->out[i]), (double)ck_float(want), (unsigned)want);
      return -1;
    }
  }
  if (!call->dalpha)
    return 0;
  ck_grad_sums g;
  memset(&g, 0, sizeof g);
  for (size_t i = 0; i < call->n; i++)
    ck_grad_add(&g, LEAKYCL_CONVENTIONS_PYTORCH, act, call->x[i], call->dy[i], t);
  ck_grad_result bad;
  if (!ck_grad_check(&g, denormals, *call->dalpha, NULL, NULL, &bad, NULL)) {
    snprintf(err, errlen, "%s %s n=%zu: %s is %.9g, the oracle gives %.17g (allowed error %.3g)",
             leakycl_activation_name(act), bench_op_name(call->op), call->n, bad.what,
             (double)bad.got, bad.want, bad.bound);
    return -1;
  }
  return 0;
}
