#!/usr/bin/env python3
"""bench_python.py - what the leakycl Python package costs, timed from Python.

Sections (--sections, default all):
  http   a daemon (leakycld) on a free port, forward of float32 leaky_relu
         at 1 Mi and 16 Mi elements through
           remote_v1   leakycl.Remote, /v1 with base64 tensors,
           remote_v2   leakycl.Remote (protocol="v2", the default), binary
                       tensor data,
           triton      tritonclient.http infer, binary input and output
                       (NVIDIA's client for the same /v2 endpoint),
           old_client  leakycl_client.Client (1 Mi only, for reference);
         repeats interleaved (the machine is shared and noisy), median,
         and each Remote's ratio to triton (the goal: <= 1.2).
  inprocess  leakycl in this process on 1 Mi float32 elements against the C
         library's own call on the same arrays (a bare ctypes call of
         leakycl_forward_typed / leakycl_backward_typed, outputs allocated
         once; the goal: the package at most 1.5x), and against PyTorch's
         CPU kernels when torch is importable (aten leaky_relu,
         leaky_relu_backward, prelu_backward with its weight gradient: the
         goal is leakycl's backward+dalpha at least as fast as torch's).
Every answer is checked bit for bit against the others before timing.
A table goes to stderr, one JSON object a line to stdout. Figures only:
never a pass/fail on time.

  build/test-venv/bin/python tests/bench/bench_python.py [--build DIR]
      [--device SPEC] [--runs N] [--sizes 1,16] [--sections http]
Environment: $LEAKYCL_BUILD (default build), $LEAKYCL_DEVICE (default cpu).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "lib"))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from harness import Daemon, daemon_binary  # noqa: E402

# Spinning OpenMP threads (torch's) would take turns with PoCL's workers on
# a small machine and slow whichever runs next: as `leakycl bench` does.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
MI = 1 << 20
ALPHA = 0.01


def log(*args):
    print(*args, file=sys.stderr)
    sys.stderr.flush()


def interleaved(methods, runs):
    """{name: [seconds]}: one warm-up call each, then runs rounds calling
    every method once a round, so that drifts in the machine's load hit all alike."""
    for fn in methods.values():
        fn()
    times = {name: [] for name in methods}
    for _ in range(runs):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


# ---- http: leakycl.Remote against tritonclient on the same daemon ----

def triton_forward(client, x):
    import tritonclient.http as httpclient

    inp = httpclient.InferInput("x", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=True)
    out = httpclient.InferRequestedOutput("y", binary_data=True)
    return client.infer("leaky_relu", [inp], outputs=[out], parameters={"alpha": ALPHA}).as_numpy("y")


def bench_http(args):
    import leakycl
    import tritonclient.http as httpclient
    from leakycl_client import Client

    n_max = max(args.sizes) * MI
    # base64 is 4/3 of the bytes: 256 MiB holds a 16 Mi float32 tensor with room.
    body = max(256 << 20, n_max * 4 * 2)
    d = Daemon("--max-body", str(body), "--max-elements", str(n_max), "--quiet",
               binary=daemon_binary(args.build), device=args.device)
    rows = []
    try:
        url = "http://127.0.0.1:%d" % d.port
        v1 = leakycl.Remote(url, timeout=300, protocol="v1")
        v2 = leakycl.Remote(url, timeout=300, protocol="v2")  # the default
        triton = httpclient.InferenceServerClient("127.0.0.1:%d" % d.port, connection_timeout=300,
                                                  network_timeout=300)
        old = Client(url, timeout=300)
        rng = np.random.default_rng(1)
        for mi in args.sizes:
            n = mi * MI
            x = rng.standard_normal(n, dtype=np.float32)
            methods = {"remote_v1": lambda: v1.forward("leaky_relu", x, alpha=ALPHA),
                       "remote_v2": lambda: v2.forward("leaky_relu", x, alpha=ALPHA),
                       "triton": lambda: triton_forward(triton, x)}
            if mi == 1:
                methods["old_client"] = lambda: old.forward("leaky_relu", x, alpha=ALPHA)["y"]
            want = methods["triton"]().view(np.uint32)
            for name, fn in methods.items():
                if not np.array_equal(np.asarray(fn(), dtype=np.float32).view(np.uint32), want):
                    raise RuntimeError("%s at %d Mi: not the same bits as triton" % (name, mi))
            times = interleaved(methods, args.runs)
            base = float(np.median(times["triton"]))
            for name, secs in times.items():
                med = float(np.median(secs))
                rows.append({"bench": "python", "section": "http", "case": name, "elements": n,
                             "dtype": "float32", "runs": args.runs, "seconds": med, "min": min(secs),
                             "max": max(secs), "melements_per_s": n / med / 1e6,
                             "vs": "triton", "ratio": med / base})
        v1.close()
        v2.close()
        triton.close()
    finally:
        d.stop()
    return rows


def bench_inprocess(args):
    import ctypes

    import leakycl
    from leakycl import _native

    ctx = leakycl.Context(args.device)
    lib, h = _native.library(), ctx._handle
    n = MI
    rng = np.random.default_rng(1)
    x, dy = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    y, dx = np.empty_like(x), np.empty_like(x)
    weight = np.array([0.25], np.float32)

    def params(activation, alpha):
        p = _native.Params()
        lib.leakycl_params_init(ctypes.byref(p), _native.ACTIVATIONS[activation])
        p.alpha_count, p.alpha = 1, alpha.ctypes.data
        return p

    leaky, prelu = params("leaky_relu", np.array([ALPHA], np.float32)), params("prelu", weight)
    view = _native.View(1, 1, n)
    grads_out = np.empty(3, np.float32)
    grads = _native.Grads(grads_out.ctypes.data, grads_out.ctypes.data + 4, grads_out.ctypes.data + 8)
    px, pdy, py, pdx = x.ctypes.data, dy.ctypes.data, y.ctypes.data, dx.ctypes.data
    methods = {
        "c_forward": lambda: lib.leakycl_forward_typed(h, ctypes.byref(leaky), view, 0, px, py),
        "py_forward": lambda: ctx.forward("leaky_relu", x, alpha=ALPHA),
        "py_forward_out": lambda: ctx.forward("leaky_relu", x, alpha=ALPHA, out=y),
        "c_backward_dalpha": lambda: lib.leakycl_backward_typed(h, ctypes.byref(prelu), view, 0, 0, px, pdy, pdx,
                                                                ctypes.byref(grads)),
        "py_backward_dalpha": lambda: ctx.backward("prelu", x, dy, alpha=weight),
    }
    vs = {"py_forward": "c_forward", "py_forward_out": "c_forward", "py_backward_dalpha": "c_backward_dalpha"}
    try:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)  # every core, as PoCL uses them
        tx, tdy, tw = torch.from_numpy(x), torch.from_numpy(dy), torch.from_numpy(weight)
        methods.update({
            "torch_forward": lambda: torch.nn.functional.leaky_relu(tx, ALPHA),
            "py_forward_torch": lambda: ctx.forward("leaky_relu", tx, alpha=ALPHA),
            "torch_leaky_backward": lambda: torch.ops.aten.leaky_relu_backward(tdy, tx, ALPHA, False),
            "torch_prelu_backward_dalpha": lambda: torch.ops.aten.prelu_backward(tdy, tx, tw),
        })
        vs.update({"torch_forward": "py_forward_torch", "torch_leaky_backward": "py_backward_dalpha",
                   "torch_prelu_backward_dalpha": "py_backward_dalpha"})
    except ImportError:
        log("bench_python: no PyTorch; its rows are skipped (make test-torch installs it)")
    # several calls a sample (one call of 1 Mi is a fraction of a millisecond);
    # each answer is dropped before the next call, as y = forward(x) in a loop does
    inner = 10

    def repeat(fn):
        for _ in range(inner):
            fn()

    times = interleaved({k: (lambda f=f: repeat(f)) for k, f in methods.items()}, args.runs)
    med = {k: float(np.median(v)) / inner for k, v in times.items()}
    rows = []
    for name, secs in times.items():
        row = {"bench": "python", "section": "inprocess", "case": name, "elements": n, "dtype": "float32",
               "runs": args.runs, "seconds": med[name], "min": min(secs) / inner, "max": max(secs) / inner,
               "melements_per_s": n / med[name] / 1e6}
        if name in vs:  # torch rows: torch's time over leakycl's (> 1: leakycl is faster)
            row.update(vs=vs[name], ratio=med[name] / med[vs[name]])
        rows.append(row)
    ctx.close()
    return rows


SECTIONS = {"http": bench_http, "inprocess": bench_inprocess}


def print_table(rows):
    log("%-9s %-28s %10s %10s %10s %10s %10s  %s" % ("section", "case", "elements", "median ms", "min ms",
                                                       "max ms", "M elem/s", "ratio"))
    for r in rows:
        ratio = "%6.2f x %s" % (r["ratio"], r["vs"]) if "ratio" in r else "-"
        log("%-9s %-28s %10d %10.3f %10.3f %10.3f %10.1f  %s" % (
            r["section"], r["case"], r["elements"], r["seconds"] * 1e3, r["min"] * 1e3, r["max"] * 1e3,
            r["melements_per_s"], ratio))
    log("goals: remote_* / triton <= 1.2; py_* / c_* <= 1.5; torch_*backward* / py_backward_dalpha >= 1")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.environ.get("LEAKYCL_BUILD", "build"))
    p.add_argument("--device", default=os.environ.get("LEAKYCL_DEVICE", "cpu"))
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--sizes", default="1,16", help="Mi elements, comma-separated")
    p.add_argument("--sections", default=",".join(SECTIONS), help="of: " + ", ".join(SECTIONS))
    args = p.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = []
    for name in args.sections.split(","):
        if name not in SECTIONS:
            p.error("unknown section %r (of %s)" % (name, ", ".join(SECTIONS)))
        rows += SECTIONS[name](args)
    print_table(rows)
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
