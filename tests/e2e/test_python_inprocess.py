#!/usr/bin/env python3
"""test_python_inprocess.py - `import leakycl` in process: the package
installs with pip and finds its bundled library; NumPy arrays go in without
a copy (checked by pointer); every storage dtype and shape comes back as it
went in, 0-d included; DLPack producers pass; out= and in place; run_jobs;
errors are leakycl.Error; threads share a context; the conventions
profiles (pytorch, ieee, jax) on the corners (-0, NaN, Inf, subnormals, the
phased threshold). Values are checked against float64 formulas written here,
rounded as the semantics say, on whatever device LEAKYCL_TEST_DEVICE names."""
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from harness import ROOT, Checks, build_dir  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import numpy as np  # noqa: E402

import leakycl  # noqa: E402
from leakycl import _arrays  # noqa: E402

DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")


# ---- independent references (float64, rounded once to the storage type) ----
def ref_forward(act, x, alpha, beta=0.5, axis=None):
    x64 = x.astype(np.float64)
    a = per_channel(alpha, x.shape, axis)
    a32 = a.astype(np.float32).astype(np.float64)
    if act == "relu":
        y = np.where(x64 > 0, x64, 0.0)
    elif act == "phased_relu":
        t = np.float64(np.float32(-np.float32(beta) / np.float32(alpha)))
        y = np.where(x64 >= 0, x64, np.where(x64 >= t, a32 * x64, 0.0))
    else:
        y = np.where(x64 > 0, x64, a32 * x64)
    return y.astype(np.float32)  # each element is one product: one rounding


def ref_dalpha(x, dy, axis, channels):
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    terms = np.where(x64 > 0, 0.0, x64 * dy64)
    if channels == 1:
        return np.array([terms.sum()]), np.array([np.abs(terms).sum()])
    moved = np.moveaxis(terms, axis, 0).reshape(channels, -1)
    return moved.sum(axis=1), np.abs(moved).sum(axis=1)


def per_channel(alpha, shape, axis):
    a = np.asarray(alpha, dtype=np.float64).reshape(-1)
    if a.size == 1:
        return a[0]
    bshape = [1] * len(shape)
    bshape[axis] = a.size
    return a.reshape(bshape)


def pointer(arr):
    return arr.__array_interface__["data"][0]


def bits(a):
    return np.ascontiguousarray(a).view(np.uint8).tobytes()


class Producer:
    """A DLPack producer that is neither NumPy nor torch (as JAX is)."""

    def __init__(self, arr):
        self.arr = arr

    def __dlpack__(self, stream=None):
        return self.arr.__dlpack__()

    def __dlpack_device__(self):
        return self.arr.__dlpack_device__()


# ---- the conventions profiles (float32; a = alpha, t = -beta/alpha) ----
def ref_profile(conv, act, x, dy, alpha, beta=None):
    """(y, dx, dalpha term) of profile conv, from its formulas in float64:
    each product of float32 operands rounded once to float32 (exact, then
    one rounding, as a float32 multiply), each sum of two float32 values too.
    alpha: one value or one per element. +0 is written 0.0."""
    X, D = x.astype(np.float64), dy.astype(np.float64)
    A = np.broadcast_to(np.asarray(alpha, np.float32).astype(np.float64), X.shape)
    nan = np.isnan(X)

    def r(v):  # one rounding to float32, back in float64
        return np.asarray(v, np.float64).astype(np.float32).astype(np.float64)

    with np.errstate(all="ignore"):
        if act == "relu":
            if conv == "pytorch":
                y = np.where(X < 0, 0.0, X)  # -0 and NaN pass
                dx = np.where((X > 0) | nan, D, 0.0)
            else:
                y = np.where((X > 0) | nan, X, 0.0)  # relu(-0) = +0
                dx = np.where(nan, X, np.where(X > 0, D, 0.0)) if conv == "ieee" else np.where(X > 0, D, 0.0)
            term = np.zeros_like(X)
        elif act in ("leaky_relu", "prelu"):
            if conv == "jax":
                y = np.where(X >= 0, X, r(A * X))
                below = np.where(~(X >= 0), D, 0.0)
                dx = r(np.where(X >= 0, D, 0.0) + r(A * below))
                term = r(below * X)
            else:
                y = np.where(X > 0, X, r(A * X))
                dx = np.where(X > 0, D, r(A * D))
                if conv == "ieee":
                    dx = np.where(nan, X, dx)
                term = np.where(X > 0, 0.0, r(X * D))
        else:  # phased_relu
            T = np.broadcast_to(np.float64(-np.asarray(beta, np.float32) / np.asarray(alpha, np.float32)), X.shape)
            band = (X < 0) & (X >= T)
            if conv == "ieee":
                y = np.where((X >= 0) | nan, X, np.where(X >= T, r(A * X), 0.0))
                dx = np.where(nan, X, np.where(X >= 0, D, np.where(X >= T, r(A * D), 0.0)))
                term = np.where(band | nan, r(D * X), 0.0)
            else:  # pytorch and jax: the seed's where()s, NaN to the zero branch
                y = np.where(X >= 0, X, np.where(X >= T, r(A * X), 0.0))
                in_band = np.where(band, D, 0.0)
                dx = r(np.where(X >= 0, D, 0.0) + r(in_band * A))
                term = r(in_band * X)
        return y.astype(np.float32), dx.astype(np.float32), term.astype(np.float32)


def same_bits_nan(a, b):
    """Same float32 bits, any NaN equal to any NaN."""
    a, b = np.asarray(a, np.float32).reshape(-1), np.asarray(b, np.float32).reshape(-1)
    return a.shape == b.shape and bool(np.all((a.view(np.uint32) == b.view(np.uint32)) |
                                              (np.isnan(a) & np.isnan(b))))


def diff_report(got, want, x, dy):
    """The first differences: x, dy and the got and wanted bits."""
    got, want = np.asarray(got, np.float32).reshape(-1), np.asarray(want, np.float32).reshape(-1)
    bad = ~((got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want)))
    return "\n".join("x=%r (0x%08x) dy=%r: got 0x%08x (%r) want 0x%08x (%r)" % (
        float(x[i]), x.view(np.uint32)[i], float(dy[i]), got.view(np.uint32)[i], float(got[i]),
        want.view(np.uint32)[i], float(want[i])) for i in np.flatnonzero(bad)[:8])


TINY = np.float32(1.4e-45)  # the smallest subnormal
CORNER_X = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, np.nan, np.inf, -np.inf, TINY, -TINY, 3.4e38, -3.4e38, -0.3, -5.0,
            -1.25]
CORNER_DY = [1.0, -1.0, 0.0, -0.0, 0.5, np.inf, -np.inf, np.nan]
NEGATIVE_NAN = np.array([0xffc00001], np.uint32).view(np.float32)[0]  # sign and payload set


def corner_grid(thresholds=()):
    """x and dy: every pair of the corner values (x with each threshold t and
    its float32 neighbours, and a negative NaN), flat float32 arrays."""
    xs = [np.float32(v) for v in CORNER_X] + [NEGATIVE_NAN]
    for t in thresholds:
        t = np.float32(t)
        xs += [t, np.nextafter(t, np.float32(-np.inf)), np.nextafter(t, np.float32(np.inf))]
    xs = np.array(xs, np.float32)
    dys = np.array(CORNER_DY, np.float32)
    return np.repeat(xs, dys.size), np.tile(dys, xs.size)


# (activation, alpha, beta): negative and zero slopes flip the sign of a*(+-0)
PROFILE_CASES = [("relu", None, None), ("leaky_relu", 0.01, None), ("leaky_relu", 0.2, None),
                 ("leaky_relu", -0.5, None), ("prelu", 0.25, None), ("prelu", 0.0, None),
                 ("phased_relu", 0.1, 0.5), ("phased_relu", 0.4, 0.5)]


def check_conventions(ck, ctx):
    thresholds = [np.float32(-np.float32(b) / np.float32(a)) for _, a, b in PROFILE_CASES if b is not None]
    x, dy = corner_grid(thresholds)
    for conv in ("pytorch", "ieee", "jax"):
        for act, alpha, beta in PROFILE_CASES:
            name = "conventions_%s_%s_%s" % (conv, act, alpha)
            y_want, dx_want, term_want = ref_profile(conv, act, x, dy, 0.0 if alpha is None else alpha, beta)
            y = ctx.forward(act, x, alpha=alpha, beta=beta, conventions=conv)
            ck.check(name + "_y", same_bits_nan(y, y_want), diff_report(y, y_want, x, dy))
            g = ctx.backward(act, x, dy, alpha=alpha, beta=beta, conventions=conv)
            ck.check(name + "_dx", same_bits_nan(g.dx, dx_want), diff_report(g.dx, dx_want, x, dy))
            if act in ("prelu", "phased_relu"):
                # one alpha per element (channel_axis 0): each channel's dalpha is
                # the sum of its one term, begun at +0 (so a -0 term sums to +0)
                per = np.full(x.size, alpha, np.float32)
                sum_want = (term_want.astype(np.float64) + 0.0).astype(np.float32)
                g1 = ctx.backward(act, x, dy, alpha=per, beta=beta, channel_axis=0, conventions=conv)
                ck.check(name + "_dalpha_terms", same_bits_nan(g1.dalpha, sum_want) and
                         same_bits_nan(g1.dx, dx_want), diff_report(g1.dalpha, sum_want, x, dy))
                r = ctx.reduce(act, x, dy, alpha=per, beta=beta, channel_axis=0, conventions=conv)
                ck.check(name + "_reduce_as_backward", bits(r.dalpha) == bits(g1.dalpha),
                         diff_report(r.dalpha, g1.dalpha, x, dy))
    # the module-level functions pass it on
    y = leakycl.forward("relu", x, conventions="ieee", device=DEVICE)
    ck.check("conventions_module_forward", same_bits_nan(y, ref_profile("ieee", "relu", x, dy, 0.0)[0]))
    g = leakycl.backward("leaky_relu", x, dy, alpha=0.2, conventions="jax", device=DEVICE)
    ck.check("conventions_module_backward",
             same_bits_nan(g.dx, ref_profile("jax", "leaky_relu", x, dy, 0.2)[1]))
    r = leakycl.reduce("prelu", x, dy, alpha=np.full(x.size, 0.25, np.float32), channel_axis=0,
                       conventions="jax", device=DEVICE)
    ck.check("conventions_module_reduce",
             same_bits_nan(r.dalpha, ref_profile("jax", "prelu", x, dy, 0.25)[2].astype(np.float64) + 0.0))
    # the default is pytorch: relu(-0) = -0, NaN in x passes dy
    z = np.array([-0.0, np.nan], np.float32)
    ck.check("conventions_default_is_pytorch",
             bits(ctx.forward("relu", z)) == bits(ctx.forward("relu", z, conventions="pytorch")) and
             bits(ctx.forward("relu", z))[:4] == bits(np.float32(-0.0)) and
             ctx.backward("relu", z, np.float32([3, 3])).dx.tolist() == [0.0, 3.0])
    for bad in ("PyTorch", "numpy", "", None, 1):
        try:
            ctx.forward("relu", x, conventions=bad)
            ck.check("conventions_unknown_%r" % (bad,), False, "no error")
        except leakycl.Error as e:
            ck.check("conventions_unknown_%r" % (bad,), e.status == "INVALID_ARGUMENT" and
                     all(n in e.message for n in ("pytorch", "ieee", "jax")), e)
    for fn in (lambda: ctx.backward("relu", x, dy, conventions="tf"),
               lambda: ctx.reduce("prelu", x, dy, conventions="tf"),
               lambda: leakycl.forward("relu", x, conventions="tf", device=DEVICE)):
        try:
            fn()
            ck.check("conventions_unknown_every_call", False, "no error")
        except leakycl.Error as e:
            ck.check("conventions_unknown_every_call", e.status == "INVALID_ARGUMENT" and "jax" in e.message, e)


def check_conventions_jobs(ck, ctx):
    """Jobs of different profiles in one run_jobs (the packed launch and a big
    job of its own), each as its formulas say; a bad one fails alone."""
    x, dy = corner_grid([-5.0])
    big_x = np.tile(x, 800)  # over the packing limit: a launch of its own
    big_dy = np.tile(dy, 800)
    jobs, wants = [], []
    for conv in ("pytorch", "ieee", "jax"):
        jobs += [leakycl.Job("forward", "relu", x, conventions=conv),
                 leakycl.Job("backward", "leaky_relu", x, dy, alpha=0.2, conventions=conv),
                 {"op": "backward", "activation": "phased_relu", "x": x, "dy": dy, "alpha": 0.1, "beta": 0.5,
                  "conventions": conv},
                 leakycl.Job("backward", "relu", big_x, big_dy, conventions=conv)]
        wants += [ref_profile(conv, "relu", x, dy, 0.0)[0], ref_profile(conv, "leaky_relu", x, dy, 0.2)[1],
                  ref_profile(conv, "phased_relu", x, dy, 0.1, 0.5)[1],
                  ref_profile(conv, "relu", big_x, big_dy, 0.0)[1]]
    jobs.append(leakycl.Job("forward", "relu", x, conventions="tf"))
    res = ctx.run_jobs(jobs, return_errors=True)
    for i, (job, want) in enumerate(zip(jobs, wants)):
        got = res[i] if job_op(job) == "forward" else res[i].dx
        jx, jdy = (job.x, job.dy) if isinstance(job, leakycl.Job) else (job["x"], job["dy"])
        ck.check("run_jobs_conventions_%d_%s" % (i, job_conv(job)), same_bits_nan(got, want),
                 diff_report(got, want, jx, jdy if jdy is not None else jx))
    err = res[-1]
    ck.check("run_jobs_conventions_unknown", isinstance(err, leakycl.Error) and err.status == "INVALID_ARGUMENT"
             and err.job_index == len(jobs) - 1 and "jax" in err.message, err)
    # positional jobs written before the field mean what they meant; it is last
    j = leakycl.Job("backward", "prelu", x, dy, 0.25, None, None, "x")
    ck.check("job_conventions_last_default_pytorch", j.conventions == "pytorch" and
             leakycl.Job._fields[-1] == "conventions" and
             same_bits_nan(ctx.run_jobs([j])[0].dx, ref_profile("pytorch", "prelu", x, dy, 0.25)[1]))


def job_op(job):
    return job.op if isinstance(job, leakycl.Job) else job["op"]


def job_conv(job):
    return job.conventions if isinstance(job, leakycl.Job) else job["conventions"]


def check_install(ck):
    """pip builds the package from the tree and bundles the library."""
    tmp = tempfile.mkdtemp()
    target = os.path.join(tmp, "site")
    env = dict(os.environ, LEAKYCL_LIBRARY=os.path.join(build_dir(), "lib", "libleakycl.so"))
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", target, os.path.join(ROOT, "clients", "python")],
                       capture_output=True, text=True, timeout=300, env=env)
    bundled = os.path.join(target, "leakycl", "_lib", "libleakycl.so")
    ck.check("pip_install_bundles_library", p.returncode == 0 and os.path.exists(bundled),
             p.stdout[-800:] + p.stderr[-800:])
    env = {k: v for k, v in os.environ.items() if k not in ("LEAKYCL_LIBRARY", "LEAKYCL_BUILD")}
    env["PYTHONPATH"] = target
    code = ("import leakycl, numpy as np; from leakycl import _native\n"
            "y = leakycl.forward('leaky_relu', np.array([-2, 3], np.float32), alpha=0.5, device=%r)\n"
            "print(_native.library().path, y.tolist())" % DEVICE)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                       cwd=tmp)
    ck.check("installed_package_uses_bundled_library",
             p.returncode == 0 and p.stdout.split()[0] == bundled and "[-1.0, 3.0]" in p.stdout,
             p.stdout + p.stderr)


def check_numpy(ck, ctx):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    dy = rng.standard_normal((4, 3, 5)).astype(np.float32)
    ctx.trace = []
    y = ctx.forward("leaky_relu", x, alpha=0.1)
    ck.check("numpy_zero_copy_forward", ctx.trace[-1] == ("forward", {"x": pointer(x), "out": pointer(y)}),
             ctx.trace)
    ck.check("forward_float32_exact", y.dtype == np.float32 and y.shape == x.shape and
             bits(y) == bits(ref_forward("leaky_relu", x, 0.1)))
    a = np.array([0.25, -0.5, 2.0], np.float32)
    g = ctx.backward("prelu", x, dy, alpha=a)
    ck.check("numpy_zero_copy_backward",
             ctx.trace[-1] == ("backward", {"x": pointer(x), "dy": pointer(dy), "out": pointer(g.dx)}))
    ref_dx = np.where(x > 0, dy, (a.reshape(1, 3, 1) * dy.astype(np.float64)).astype(np.float32))
    ck.check("prelu_per_channel_dx_exact", bits(g.dx) == bits(ref_dx))
    want, scale = ref_dalpha(x, dy, 1, 3)
    ck.check("prelu_per_channel_dalpha", g.dalpha.dtype == np.float32 and g.dalpha.shape == (3,) and
             np.all(np.abs(g.dalpha - want) <= 1e-6 * scale + 1e-30), (g.dalpha, want))
    negf = (np.moveaxis(x, 1, 0).reshape(3, -1) < 0).mean(axis=1)
    ck.check("prelu_neg_fraction", np.allclose(g.neg_fraction, negf, rtol=1e-6, atol=0))
    r = ctx.reduce("prelu", x, dy, alpha=a)
    ck.check("reduce_equals_fused_backward", bits(r.dalpha) == bits(g.dalpha) and
             bits(r.mean_abs_grad) == bits(g.mean_abs_grad))
    # a strided view is copied once, the answer is still right and contiguous
    xs = x[:, :, ::2]
    ys = ctx.forward("relu", xs)
    ck.check("strided_input_copied", ctx.trace[-1][1]["x"] != pointer(xs) and ys.shape == xs.shape and
             bits(ys) == bits(ref_forward("relu", np.ascontiguousarray(xs), 0)))
    # Fortran order is not C-contiguous either; a read-only array is fine
    xr = np.array(x)
    xr.setflags(write=False)
    ck.check("read_only_input", bits(ctx.forward("relu", xr)) == bits(ref_forward("relu", x, 0)))
    # 0-d, 1-d, empty
    z = ctx.forward("leaky_relu", np.float32(-3.0), alpha=0.5)
    ck.check("zero_d_stays_zero_d", isinstance(z, np.ndarray) and z.shape == () and float(z) == -1.5, repr(z))
    e = ctx.forward("relu", np.zeros((0, 4), np.float32))
    ck.check("empty_array", e.shape == (0, 4) and e.dtype == np.float32)
    lst = ctx.forward("relu", [[-1, 2], [3, -4]])
    ck.check("list_in_float32_out", lst.dtype == np.float32 and lst.tolist() == [[0, 2], [3, 0]])
    # out= and in place
    out = np.empty_like(x)
    r2 = ctx.forward("leaky_relu", x, alpha=0.1, out=out)
    ck.check("out_is_written", r2 is out and bits(out) == bits(y))
    xi = x.copy()
    ctx.forward("leaky_relu", xi, alpha=0.1, out=xi)
    ck.check("in_place", bits(xi) == bits(y))
    # backward from y (alpha > 0) equals backward from x
    gy = ctx.backward("leaky_relu", y, dy, alpha=0.1, source="y")
    gx = ctx.backward("leaky_relu", x, dy, alpha=0.1)
    ck.check("backward_from_y", bits(gy.dx) == bits(gx.dx) and gx.dalpha is None)
    # non-finite values and signed zeros follow the semantics table
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, -1e-30], np.float32)
    ys = ctx.forward("leaky_relu", special, alpha=0.5)
    ck.check("nan_inf_zero", np.isnan(ys[0]) and ys[1] == np.inf and ys[2] == -np.inf and
             bits(ys[3:5]) == bits(np.array([-0.0, 0.0], np.float32)) and ys[5] == np.float32(1e-30), ys)
    # alpha as a NumPy scalar, a 0-d array or a one-element list: all one shared alpha
    same = [bits(ctx.forward("leaky_relu", x, alpha=a)) for a in (np.float32(0.1), np.array(0.1, np.float32),
                                                                  [0.1], np.float64(0.1))]
    ck.check("alpha_scalar_kinds", all(b == bits(y) for b in same))
    # phased_relu with its threshold
    xp = np.array([-6, -5, -4.9, -1, 0, 2], np.float32)
    ck.check("phased_relu_threshold", bits(ctx.forward("phased_relu", xp, alpha=0.1, beta=0.5)) ==
             bits(ref_forward("phased_relu", xp, 0.1, 0.5)))


def check_dtypes(ck, ctx):
    rng = np.random.default_rng(3)
    x32 = rng.standard_normal((2, 3, 7)).astype(np.float32)
    x16 = x32.astype(np.float16)
    ctx.trace = []
    y16 = ctx.forward("prelu", x16, alpha=[0.25, 0.5, -1.0])
    want = ref_forward("prelu", x16.astype(np.float32), [0.25, 0.5, -1.0], axis=1).astype(np.float16)
    ck.check("float16_in_float16_out", y16.dtype == np.float16 and y16.shape == x16.shape and
             bits(y16) == bits(want) and ctx.trace[-1][1]["x"] == pointer(x16))
    dy16 = rng.standard_normal(x16.shape).astype(np.float16)
    g = ctx.backward("prelu", x16, dy16, alpha=[0.25, 0.5, -1.0])
    r = ctx.reduce("prelu", x16, dy16, alpha=[0.25, 0.5, -1.0])
    ck.check("float16_backward_and_reduce", g.dx.dtype == np.float16 and g.dalpha.dtype == np.float32 and
             bits(r.dalpha) == bits(g.dalpha))
    if _arrays.BFLOAT16 is None:
        ck.skip("bfloat16_numpy", "ml_dtypes is not installed")
    else:
        xb = x32.astype(_arrays.BFLOAT16)
        yb = ctx.forward("leaky_relu", xb, alpha=0.125)
        want = ref_forward("leaky_relu", xb.astype(np.float32), 0.125).astype(_arrays.BFLOAT16)
        ck.check("bfloat16_numpy", yb.dtype == _arrays.BFLOAT16 and bits(yb) == bits(want))
    for bad in (np.float64, np.int32):
        try:
            ctx.forward("relu", x32.astype(bad))
            ck.check("refuses_%s" % np.dtype(bad).name, False, "no error")
        except leakycl.Error as e:
            ck.check("refuses_%s" % np.dtype(bad).name, e.status == "INVALID_ARGUMENT" and
                     np.dtype(bad).name in e.message, e)
    xbe = x32.astype(">f4")
    ck.check("big_endian_converted", bits(ctx.forward("relu", xbe)) == bits(ref_forward("relu", x32, 0)))


def check_dlpack(ck, ctx):
    x = np.linspace(-2, 2, 24, dtype=np.float32).reshape(2, 3, 4)
    ctx.trace = []
    y = ctx.forward("leaky_relu", Producer(x), alpha=0.25)
    ck.check("dlpack_in_zero_copy", ctx.trace[-1][1]["x"] == pointer(x) and isinstance(y, np.ndarray) and
             bits(y) == bits(ref_forward("leaky_relu", x, 0.25)))
    back = np.from_dlpack(y)
    ck.check("dlpack_out", pointer(back) == pointer(y))


def check_buffer_protocol(ck, ctx):
    import array

    a = array.array("f", [-2.0, 1.0, -4.0])
    ctx.trace = []
    y = ctx.forward("leaky_relu", a, alpha=0.5)
    ck.check("buffer_protocol_zero_copy", ctx.trace[-1][1]["x"] == a.buffer_info()[0] and
             y.tolist() == [-1.0, 1.0, -2.0], y)
    try:
        ctx.forward("relu", b"abcd")
        ck.check("buffer_protocol_bytes_refused", False)
    except leakycl.Error as e:
        ck.check("buffer_protocol_bytes_refused", "uint8" in e.message, e)


def check_jobs(ck, ctx):
    x = np.array([-2, -1, 0, 1], np.float32)
    dy = np.array([1, 2, 3, 4], np.float32)
    jobs = [leakycl.Job("forward", "leaky_relu", x, alpha=0.5),
            {"op": "backward", "activation": "relu", "x": x, "dy": dy, "alpha": 0.1},  # relu takes no alpha
            leakycl.Job("backward", "prelu", x, dy, alpha=0.25),
            {"op": "forward", "activation": "gelu", "x": x}]
    res = ctx.run_jobs(jobs, return_errors=True)
    ok = (bits(res[0]) == bits(ref_forward("leaky_relu", x, 0.5)) and
          isinstance(res[1], leakycl.Error) and res[1].status == "INVALID_ARGUMENT" and res[1].job_index == 1 and
          res[2].dalpha.tolist() == [-4.0] and isinstance(res[3], leakycl.Error) and res[3].job_index == 3)
    ck.check("run_jobs_errors_per_job", ok, res)
    try:
        ctx.run_jobs(jobs)
        ck.check("run_jobs_raises_first_error", False, "no error")
    except leakycl.Error as e:
        ck.check("run_jobs_raises_first_error", e.job_index == 1, e)
    big = np.linspace(-1, 1, 100000, dtype=np.float32)  # over the packing limit: runs as its own call
    res = ctx.run_jobs([leakycl.Job("forward", "relu", big), leakycl.Job("forward", "relu", x)])
    ck.check("run_jobs_mixed_sizes", bits(res[0]) == bits(ref_forward("relu", big, 0)) and
             res[1].tolist() == [0, 0, 0, 1])


def check_errors(ck, ctx):
    x = np.ones(6, np.float32)
    cases = [
        ("unknown_activation", lambda: ctx.forward("gelu", x), "INVALID_ARGUMENT", "gelu"),
        ("nan_alpha", lambda: ctx.forward("leaky_relu", x, alpha=float("nan")), "INVALID_ARGUMENT", "finite"),
        ("alpha_count", lambda: ctx.forward("prelu", x.reshape(2, 3), alpha=[1, 2]), "INVALID_ARGUMENT", "alpha"),
        ("shape_mismatch", lambda: ctx.backward("relu", x, np.ones(5, np.float32)), "INVALID_ARGUMENT", "dy"),
        ("channel_axis_range", lambda: ctx.forward("relu", x, channel_axis=3), "INVALID_ARGUMENT", "channel_axis"),
        ("reduce_relu", lambda: ctx.reduce("relu", x, x), "UNSUPPORTED", "gradient"),
        ("not_an_array", lambda: ctx.forward("relu", "abc"), "INVALID_ARGUMENT", "str"),
        ("out_wrong_dtype", lambda: ctx.forward("relu", x, out=np.empty(6, np.float16)), "INVALID_ARGUMENT", "out"),
        ("bad_device", lambda: leakycl.Context("no-such-device-xyz"), "NO_DEVICE", "no-such-device-xyz"),
    ]
    for name, fn, status, needle in cases:
        try:
            fn()
            ck.check("error_" + name, False, "no error")
        except leakycl.Error as e:
            ck.check("error_" + name, e.status == status and needle in e.message and e.http_status is None, e)
    out = np.full(6, 7, np.float32)
    try:
        ctx.forward("leaky_relu", x, alpha=float("inf"), out=out)
    except leakycl.Error:
        pass
    ck.check("error_leaves_out_untouched", out.tolist() == [7] * 6)


def check_threads(ck, ctx):
    rng = np.random.default_rng(11)
    xs = [rng.standard_normal(5000 + i).astype(np.float32) for i in range(8)]
    bad = []

    def work(i):
        for _ in range(20):
            try:
                ctx.forward("leaky_relu", xs[i], alpha=float("nan") if i % 4 == 0 else 0.5)
                if i % 4 == 0:
                    bad.append("no error for NaN")
            except leakycl.Error as e:
                if i % 4 != 0 or "finite" not in e.message:
                    bad.append(str(e))
            if bits(ctx.forward("relu", xs[i])) != bits(ref_forward("relu", xs[i], 0)):
                bad.append("wrong relu")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ck.check("threads_share_a_context", not bad, bad[:5])


def main():
    ck = Checks()
    check_install(ck)
    ctx = leakycl.Context(DEVICE)
    ck.check("context_device", isinstance(ctx.device["name"], str) and ctx.device["index"] in
             [d["index"] for d in leakycl.devices()], ctx.device)
    check_numpy(ck, ctx)
    check_dtypes(ck, ctx)
    check_dlpack(ck, ctx)
    check_buffer_protocol(ck, ctx)
    check_jobs(ck, ctx)
    check_conventions(ck, ctx)
    check_conventions_jobs(ck, ctx)
    check_errors(ck, ctx)
    check_threads(ck, ctx)
    ck.check("module_functions_share_context", leakycl.context(DEVICE) is leakycl.context(DEVICE))
    ctx.close()
    try:
        ctx.forward("relu", np.ones(2, np.float32))
        ck.check("closed_context_refuses", False)
    except leakycl.Error as e:
        ck.check("closed_context_refuses", "closed" in e.message, e)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
