#!/usr/bin/env python3
"""refs.py - the Python references of `leakycl bench`: NumPy, JAX (jit, CPU)
and pyopencl's ElementwiseKernel/ReductionKernel on the same OpenCL device,
timed on the data leakycl was timed on (x and dy from .npy files).

The leakycl CLI embeds this file at build time and runs it as
`python -c <script> ARGS`; it also runs on its own:
  python3 tests/bench/refs.py --x x.npy --dy dy.npy [--repeat R] [--cl-device P:D]
      [--activations relu,leaky_relu,prelu,phased_relu] [--ops forward,backward,reduce]

Prints one JSON object a line on stdout: a result
  {"name","activation","op","fused_dalpha","variant","resident","seconds",
   "min_seconds","max_seconds","samples"}
(seconds per call: median over the repeats; every candidate is timed once
per repeat, round-robin, after a warm-up), or {"note": "..."} when a library
is missing or fails (that reference is skipped). Formulas and default
parameters are the README's, as in clients/cli/bench_refs.c."""
import argparse
import json
import statistics
import sys
import time
import warnings

ACTIVATIONS = ["relu", "leaky_relu", "prelu", "phased_relu"]
WITH_GRADIENT = ("prelu", "phased_relu")
DEFAULT_ALPHA = {"relu": 0.0, "leaky_relu": 0.01, "prelu": 0.25, "phased_relu": 0.1}
PHASED_BETA = 0.5
# A sample lasts at least this long (small sizes repeat the call inside it).
MIN_SAMPLE_SECONDS = 0.005


def note(text, skip=None):
    """A note for stderr; `skip` names a library the caller need not ask for again."""
    print(json.dumps({"note": text, **({"skip": skip} if skip else {})}), flush=True)


def cases(activations, ops):
    """(activation, op, fused_dalpha) triples, as leakycl bench times them."""
    out = []
    for act in activations:
        for op in ops:
            if op == "forward":
                out.append((act, op, False))
            elif op == "backward":
                out.append((act, op, False))
                if act in WITH_GRADIENT:
                    out.append((act, op, True))
            elif op == "reduce" and act in WITH_GRADIENT:
                out.append((act, op, False))
    return out


def scalars(np, act):
    """alpha and phased_relu's threshold t = -beta/alpha in float32."""
    a = np.float32(DEFAULT_ALPHA[act])
    t = np.float32(-np.float32(PHASED_BETA) / a) if act == "phased_relu" else np.float32(0)
    return a, t


# ---- NumPy: the idiomatic expressions, a fresh output per call ----

def numpy_candidates(np, x, dy, todo):
    zero = np.float32(0)

    def fwd(act, a, t):
        if act == "relu":
            return lambda: np.where(x > 0, x, zero)
        if act == "phased_relu":
            return lambda: np.where(x >= 0, x, np.where(x >= t, a * x, zero))
        return lambda: np.where(x > 0, x, a * x)

    def bwd(act, a, t):
        if act == "relu":
            return lambda: np.where(x > 0, dy, zero)
        if act == "phased_relu":
            return lambda: np.where(x >= 0, dy, np.where(x >= t, a * dy, zero))
        return lambda: np.where(x > 0, dy, a * dy)

    def dalpha(act, t):
        if act == "phased_relu":
            return lambda: np.sum(np.where((x < 0) & (x >= t), dy * x, zero), dtype=np.float64)
        return lambda: np.sum(np.where(x > 0, zero, dy * x), dtype=np.float64)

    out = []
    for act, op, fused in todo:
        a, t = scalars(np, act)
        if op == "forward":
            fn, how = fwd(act, a, t), "np.where"
        elif op == "backward" and not fused:
            fn, how = bwd(act, a, t), "np.where"
        elif op == "backward":
            dx_fn, da_fn = bwd(act, a, t), dalpha(act, t)
            fn, how = (lambda d=dx_fn, s=da_fn: (d(), s())), "np.where + np.sum(float64)"
        else:
            fn, how = dalpha(act, t), "np.sum(np.where, float64)"
        out.append(("numpy", act, op, fused, f"numpy {np.__version__} {how}", fn))
    return out


# ---- JAX: jit-compiled on the CPU, inputs already on the device ----

def jax_candidates(np, x, dy, todo):
    import jax
    import jax.numpy as jnp
    cpu = jax.devices("cpu")[0]
    xj = jax.device_put(x, cpu)
    dyj = jax.device_put(dy, cpu)
    xj.block_until_ready()
    dyj.block_until_ready()

    def fwd(act, a, t):
        if act == "relu":
            return lambda x: jnp.where(x > 0, x, 0.0)
        if act == "phased_relu":
            return lambda x: jnp.where(x >= 0, x, jnp.where(x >= t, a * x, 0.0))
        return lambda x: jnp.where(x > 0, x, a * x)

    def bwd(act, a, t):
        if act == "relu":
            return lambda x, dy: jnp.where(x > 0, dy, 0.0)
        if act == "phased_relu":
            return lambda x, dy: jnp.where(x >= 0, dy, jnp.where(x >= t, a * dy, 0.0))
        return lambda x, dy: jnp.where(x > 0, dy, a * dy)

    def dalpha(act, t):
        if act == "phased_relu":
            return lambda x, dy: jnp.sum(jnp.where((x < 0) & (x >= t), dy * x, 0.0))
        return lambda x, dy: jnp.sum(jnp.where(x > 0, 0.0, dy * x))

    out = []
    for act, op, fused in todo:
        a, t = scalars(np, act)
        if op == "forward":
            f = jax.jit(fwd(act, a, t))
            fn = lambda f=f: f(xj).block_until_ready()
        elif op == "backward" and not fused:
            f = jax.jit(bwd(act, a, t))
            fn = lambda f=f: f(xj, dyj).block_until_ready()
        elif op == "backward":
            b, s = bwd(act, a, t), dalpha(act, t)
            f = jax.jit(lambda x, dy, b=b, s=s: (b(x, dy), s(x, dy)))
            fn = lambda f=f: jax.block_until_ready(f(xj, dyj))
        else:
            f = jax.jit(dalpha(act, t))
            fn = lambda f=f: f(xj, dyj).block_until_ready()
        out.append(("jax", act, op, fused, f"jax {jax.__version__} jit cpu, float32 sum", fn))
    return out


# ---- pyopencl: ElementwiseKernel / ReductionKernel on the same device ----

PYOPENCL_FORWARD = {
    "relu": "!(x[i] <= 0.0f) ? x[i] : 0.0f",
    "leaky_relu": "x[i] > 0.0f ? x[i] : a * x[i]",
    "prelu": "x[i] > 0.0f ? x[i] : a * x[i]",
    "phased_relu": "x[i] >= 0.0f ? x[i] : (x[i] >= t ? a * x[i] : 0.0f)",
}
PYOPENCL_BACKWARD = {
    "relu": "x[i] > 0.0f ? dy[i] : 0.0f",
    "leaky_relu": "x[i] > 0.0f ? dy[i] : a * dy[i]",
    "prelu": "x[i] > 0.0f ? dy[i] : a * dy[i]",
    "phased_relu": "x[i] >= 0.0f ? dy[i] : (x[i] >= t ? a * dy[i] : 0.0f)",
}
PYOPENCL_DALPHA = {
    "prelu": "x[i] > 0.0f ? 0.0f : dy[i] * x[i]",
    "phased_relu": "(x[i] < 0.0f && x[i] >= t) ? dy[i] * x[i] : 0.0f",
}


def pyopencl_candidates(np, x, dy, todo, cl_device):
    import pyopencl as cl
    import pyopencl.array as cla
    from pyopencl.elementwise import ElementwiseKernel
    from pyopencl.reduction import ReductionKernel
    warnings.filterwarnings("ignore", module="pyopencl")
    p, d = (int(v) for v in cl_device.split(":"))
    device = cl.get_platforms()[p].get_devices()[d]
    ctx = cl.Context([device])
    queue = cl.CommandQueue(ctx)
    xg = cla.to_device(queue, x)
    dyg = cla.to_device(queue, dy)
    outg = cla.empty_like(xg)
    queue.finish()

    def elementwise(expr, name):
        k = ElementwiseKernel(ctx, "const float *x, const float *dy, float *out, float a, float t",
                              f"out[i] = {expr}", name)
        return lambda a, t: k(xg, dyg, outg, a, t, queue=queue)

    def reduction(expr, name):
        k = ReductionKernel(ctx, np.float32, neutral="0", reduce_expr="a+b", map_expr=expr,
                            arguments="const float *x, const float *dy, float a, float t",
                            name=name)
        return lambda a, t: k(xg, dyg, a, t, queue=queue).get()

    out = []
    for act, op, fused in todo:
        a, t = scalars(np, act)
        if op == "forward":
            k = elementwise(PYOPENCL_FORWARD[act], "fwd")
            fn, how = (lambda k=k, a=a, t=t: (k(a, t), queue.finish())), "ElementwiseKernel"
        elif op == "backward" and not fused:
            k = elementwise(PYOPENCL_BACKWARD[act], "bwd")
            fn, how = (lambda k=k, a=a, t=t: (k(a, t), queue.finish())), "ElementwiseKernel"
        elif op == "backward":
            k = elementwise(PYOPENCL_BACKWARD[act], "bwd")
            r = reduction(PYOPENCL_DALPHA[act], "dalpha")
            fn = lambda k=k, r=r, a=a, t=t: (k(a, t), r(a, t))
            how = "ElementwiseKernel + ReductionKernel (2 passes)"
        else:
            r = reduction(PYOPENCL_DALPHA[act], "dalpha")
            fn, how = (lambda r=r, a=a, t=t: r(a, t)), "ReductionKernel float32"
        out.append(("pyopencl", act, op, fused,
                    f"pyopencl {cl.VERSION_TEXT} {how}", fn))
    return out


def calibrate(fn):
    """Warm up (JIT, first launch), then the calls per sample."""
    fn()
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    return max(1, min(10000, int(MIN_SAMPLE_SECONDS / once) + 1))


def main():
    ap = argparse.ArgumentParser(description="Python references for leakycl bench")
    ap.add_argument("--x", required=True)
    ap.add_argument("--dy", required=True)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cl-device", default="")
    ap.add_argument("--activations", default=",".join(ACTIVATIONS))
    ap.add_argument("--ops", default="forward,backward,reduce")
    ap.add_argument("--skip", default="", help="libraries not to run: numpy,jax,pyopencl")
    args = ap.parse_args()
    try:
        import numpy as np
    except ImportError:
        note(f"numpy is not importable by {sys.executable}: NumPy, JAX and pyopencl "
             "references skipped (set LEAKYCL_PYTHON, or run make bench for its venv)",
             skip="numpy")
        return 0
    x = np.load(args.x)
    dy = np.load(args.dy)
    todo = cases(args.activations.split(","), args.ops.split(","))
    skip = set(filter(None, args.skip.split(",")))
    candidates = []
    builders = [("numpy", lambda: numpy_candidates(np, x, dy, todo)),
                ("jax", lambda: jax_candidates(np, x, dy, todo))]
    if args.cl_device:
        builders.append(("pyopencl",
                         lambda: pyopencl_candidates(np, x, dy, todo, args.cl_device)))
    for name, build in builders:
        if name in skip:
            continue
        try:
            built = build()
        except ImportError as e:
            note(f"{name} is not importable by {sys.executable} ({e}): {name} reference skipped",
                 skip=name)
            continue
        except Exception as e:  # a library that fails to start is skipped, not fatal
            note(f"{name} failed to start ({type(e).__name__}: {e}): {name} reference skipped",
                 skip=name)
            continue
        for c in built:
            try:
                candidates.append((c, calibrate(c[5])))
            except Exception as e:
                note(f"{name} {c[1]} {c[2]} failed ({type(e).__name__}: {e}): skipped")
    samples = [[] for _ in candidates]
    for _ in range(max(1, args.repeat)):
        for (c, calls), s in zip(candidates, samples):  # round-robin: one sample each
            fn = c[5]
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            s.append((time.perf_counter() - t0) / calls)
    for ((name, act, op, fused, variant, _), _), s in zip(candidates, samples):
        print(json.dumps({"name": name, "activation": act, "op": op, "fused_dalpha": fused,
                          "variant": variant, "resident": True,
                          "seconds": statistics.median(s), "min_seconds": min(s),
                          "max_seconds": max(s), "samples": len(s)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
