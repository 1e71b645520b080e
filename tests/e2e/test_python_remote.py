#!/usr/bin/env python3
"""test_python_remote.py - end-to-end: leakycl.Remote, the HTTP client of the
leakycl package, against a live daemon. Its answers must be those of the
in-process API on the same device (bit for bit: NaN payloads, infinities,
-0) and of float64 formulas written here, in every dtype and shape (0-d,
3-D with a per-channel alpha), over /v1 (base64 and JSON numbers) and /v2
(binary); and its transport: one kept-alive connection, a reconnect after
the daemon closed it, errors as leakycl.Error with the daemon's code and
HTTP status, bad arguments refused before anything is sent, run_jobs with a
bad job in the middle, a token; the conventions profiles (ieee, jax and the
default pytorch) give the in-process bits on the corners over both wires.

  LEAKYCL_BUILD=build build/test-venv/bin/python tests/e2e/test_python_remote.py
"""
import os
import sys
import tempfile
import threading
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from harness import ROOT, Checks, Daemon  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import leakycl  # noqa: E402

try:
    import ml_dtypes
    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:
    BF16 = None

F32, F16 = np.float32, np.float16
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")
TOKEN = "s3cret-token"


# ---- references written here ----

def channel_alpha(alpha, shape, axis):
    """alpha broadcast over x (float32): per channel along axis, or shared."""
    a = np.asarray(alpha, dtype=F32).reshape(-1)
    if a.size == 1:
        return np.full(shape, a[0], dtype=F32)
    view = [1] * len(shape)
    view[axis] = a.size
    return np.broadcast_to(a.reshape(view), shape)


def leaky_ref(x, alpha, axis=1):
    """where(x > 0, x, a*x): the branch in float32, the product in float64
    rounded once to float32 (exact: a float32 product fits a double), then to
    x's storage dtype (half dtypes: computed in float32, rounded to nearest even)."""
    xf = x.astype(F32)
    a = channel_alpha(alpha, xf.shape, axis).astype(np.float64)
    with np.errstate(invalid="ignore"):
        y = np.where(xf > 0, xf, (a * xf.astype(np.float64)).astype(F32))
    return y.astype(x.dtype)


def prelu_grads_ref(x, dy, alpha, axis):
    """dx, and per channel: dalpha = sum over x <= 0 of dy*x (float64), the
    sum of |terms| (for the tolerance), neg_fraction = count(x < 0) / N_c."""
    a = channel_alpha(alpha, x.shape, axis).astype(np.float64)
    xd, dyd = x.astype(np.float64), dy.astype(np.float64)
    dx = np.where(xd > 0, dy, (a * dyd).astype(F32)).astype(F32)
    terms = np.where(xd <= 0, dyd * xd, 0.0)
    red = tuple(i for i in range(x.ndim) if i != axis)
    n_c = x.size // x.shape[axis]
    return dx, terms.sum(axis=red), np.abs(terms).sum(axis=red), (xd < 0).sum(axis=red) / n_c


def grads_ok(g, x, dy, alpha, axis):
    """g's dalpha and diagnostics against float64: float32 arrays of alpha's
    length, |error| <= 1e-6 * sum|terms|. (Not bit for bit against the
    in-process call: how the daemon runs a job - packed with others or
    alone - may sum in another order.)"""
    _, da, da_abs, neg = prelu_grads_ref(x.astype(F32), dy.astype(F32), alpha, axis)
    n = np.asarray(alpha).size
    if not all(isinstance(v, np.ndarray) and v.dtype == F32 and v.shape == (n,)
               for v in (g.dalpha, g.neg_fraction, g.mean_abs_grad)):
        return False
    n_c = x.size // x.shape[axis]
    return bool(np.all(np.abs(g.dalpha - da) <= 1e-6 * da_abs + 1e-30) and
                np.all(np.abs(g.neg_fraction - neg) <= 1e-6 * neg) and
                np.all(np.abs(g.mean_abs_grad - da_abs / n_c) <= 1e-6 * da_abs / n_c + 1e-30))


def bits(a):
    a = np.asarray(a)
    return a.reshape(-1).view(np.uint32 if a.dtype.itemsize == 4 else np.uint16)


def same(a, b):
    """Same dtype, shape and bit patterns (NaN payloads and -0 included)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and
            a.shape == b.shape and np.array_equal(bits(a), bits(b)))


def same_values(a, b):
    """Same dtype and shape; equal values, NaN where NaN, -0 where -0 (any NaN payload)."""
    if not (isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape):
        return False
    af, bf = a.astype(F32).reshape(-1), b.astype(F32).reshape(-1)
    nan = np.isnan(af) & np.isnan(bf)
    return bool(np.all(nan | ((af == bf) & (np.signbit(af) == np.signbit(bf)))))


def show(a, b):
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.shape != b.shape:
        return "shapes %s vs %s" % (a.shape, b.shape)
    bad = np.flatnonzero(bits(a) != bits(b))[:5]
    return "first differences: %s" % [(int(i), float(a[i]), float(b[i])) for i in bad]


def edge_values(rng, shape, dtype=F32):
    """Random values with both zeros, NaNs (two payloads, both signs), infinities, subnormals."""
    n = int(np.prod(shape, dtype=np.int64))
    x = (rng.standard_normal(n) * 4).astype(F32)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, -5.0], dtype=F32)
    nans = np.array([0x7fc00000, 0xffc00000, 0x7fc01234, 0xffa00001], dtype=np.uint32).view(F32)
    specials = np.concatenate([edges, nans])[:n]
    x[rng.choice(n, size=specials.size, replace=False)] = specials
    with np.errstate(invalid="ignore"):
        return x.astype(dtype).reshape(shape)


def expect_error(ck, name, fn, status, http_status=None, message=None):
    try:
        fn()
    except leakycl.Error as e:
        ok = e.status == status and e.http_status == http_status and bool(e.message)
        if message is not None:
            ok = ok and e.message == message
        return ck.check(name, ok, "got %r http_status=%r" % (e, e.http_status))
    return ck.check(name, False, "no exception")


def local_error(fn):
    try:
        fn()
    except leakycl.Error as e:
        return e
    return None


# ---- the checks ----

def check_values(ck, remote, json_remote, v2, local, rng):
    """Forward and backward values, every dtype and shape, every wire."""
    wires = (("v1", remote), ("json", json_remote), ("v2", v2))
    dtypes = [("f32", F32), ("f16", F16)] + ([("bf16", BF16)] if BF16 is not None else [])
    if BF16 is None:
        ck.skip("remote_bfloat16", "ml_dtypes is not importable")
    alpha3 = np.array([0.1, 0.25, 3.0], dtype=F32)
    for dname, dt in dtypes:
        shapes = {"1d": ((5000,), 0.01, None), "0d": ((), 0.5, None), "3d": ((2, 3, 7), alpha3, 1),
                  "3d_axis2": ((4, 5, 3), alpha3, 2), "small": ((37,), 0.2, None)}
        for sname, (shape, alpha, axis) in shapes.items():
            x = edge_values(rng, shape, dt)
            act = "leaky_relu" if np.ndim(alpha) == 0 else "prelu"
            want = leaky_ref(x, alpha, axis if axis is not None else (1 if len(shape) >= 2 else 0))
            here = local.forward(act, x, alpha=alpha, channel_axis=axis)
            for wname, r in wires:
                y = r.forward(act, x, alpha=alpha, channel_axis=axis)
                ck.check("remote_forward_%s_%s_%s_formula" % (wname, dname, sname), same_values(y, want),
                         show(y, want))
                ck.check("remote_forward_%s_%s_%s_bits_as_in_process" % (wname, dname, sname), same(y, here),
                         show(y, here))
    # Finite small float32: the JSON numbers path itself (subnormals, -0, extremes), bit for bit.
    x = np.array([-0.0, 1e-45, -1e-45, 3.4028235e38, -3.4028235e38, 1.1754942e-38, -7.0, 0.1, 1 / 3],
                 dtype=F32)
    for act, alpha in (("leaky_relu", 0.3), ("relu", None), ("phased_relu", 0.5)):
        want = local.forward(act, x, alpha=alpha)
        y = json_remote.forward(act, x, alpha=alpha)
        ck.check("remote_json_numbers_exact_%s" % act, same(y, want), show(y, want))
    # Lists and Python numbers in: float32 NumPy out, as in process.
    y = remote.forward("leaky_relu", [[-1, 2], [3, -4]], alpha=0.5)
    ck.check("remote_list_input", same(y, np.array([[-0.5, 2], [3, -2]], dtype=F32)), y)
    y = remote.forward("relu", -2.5)
    ck.check("remote_python_number_0d", same(y, np.array(0.0, dtype=F32)), repr(y))


def check_backward(ck, remote, json_remote, v2, local, rng):
    for dname, dt in (("f32", F32), ("f16", F16)):
        # prelu, 3-D, per-channel alpha on axis 1: dx bit for bit, dalpha against float64.
        x = edge_values(rng, (3, 4, 500), dt)
        x[np.isnan(x) | np.isinf(x)] = -1.5  # finite: dalpha's float64 sum must exist
        dy = (rng.standard_normal(x.shape) * 2).astype(dt)
        alpha = np.array([0.1, 0.2, 0.3, 0.4], dtype=F32)
        dx_want = prelu_grads_ref(x.astype(F32), dy.astype(F32), alpha, 1)[0]
        here = local.backward("prelu", x, dy, alpha=alpha)
        for wname, r in (("v1", remote), ("json", json_remote), ("v2", v2)):
            g = r.backward("prelu", x, dy, alpha=alpha)
            ck.check("remote_backward_prelu_%s_%s_dx" % (wname, dname), same(g.dx, here.dx) and
                     same_values(g.dx, dx_want.astype(dt)), show(g.dx, here.dx))
            ck.check("remote_backward_prelu_%s_%s_grads" % (wname, dname), grads_ok(g, x, dy, alpha, 1), g)
        red = remote.reduce("prelu", x, dy, alpha=alpha)
        ck.check("remote_reduce_prelu_%s" % dname, isinstance(red, leakycl.Reduce) and
                 grads_ok(red, x, dy, alpha, 1), red)
        # leaky_relu (no grads: /v2 carries it), 0-d and 1-D with NaN/Inf, and source="y".
        for shape in ((), (3000,)):
            x = edge_values(rng, shape, dt)
            dy = edge_values(rng, shape, dt)
            here = local.backward("leaky_relu", x, dy, alpha=0.02)
            for wname, r in (("v1", remote), ("v2", v2)):
                g = r.backward("leaky_relu", x, dy, alpha=0.02)
                ck.check("remote_backward_leaky_%s_%s_%dd" % (wname, dname, len(shape)),
                         same(g.dx, here.dx) and g.dalpha is None and g.neg_fraction is None, show(g.dx, here.dx))
        y = local.forward("leaky_relu", x, alpha=0.5)
        here = local.backward("leaky_relu", y, dy, alpha=0.5, source="y")
        for wname, r in (("v1", remote), ("v2", v2)):
            g = r.backward("leaky_relu", y, dy, alpha=0.5, source="y")
            ck.check("remote_backward_source_y_%s_%s" % (wname, dname), same(g.dx, here.dx), show(g.dx, here.dx))
    # v2 and v1 give the same bits, through the explicit helper too.
    x = edge_values(rng, (2, 3, 64))
    dy = edge_values(rng, (2, 3, 64))
    x16 = x.astype(F16)
    for name, xx in (("f32", x), ("f16", x16)):
        y1 = remote.forward("prelu", xx, alpha=[0.5, 0.1, 2.0])
        y2 = v2.infer_v2("prelu", {"x": xx, "alpha": np.array([0.5, 0.1, 2.0], F32)})["y"]
        ck.check("remote_infer_v2_forward_%s_same_as_v1" % name, same(y1, y2), show(y1, y2))
    x[~np.isfinite(x)], dy[~np.isfinite(dy)] = 1.0, 0.5  # a finite dalpha (a NaN's payload is lost in /v1's JSON)
    g1 = remote.backward("prelu", x, dy, alpha=0.3)
    out = v2.infer_v2("prelu_backward", {"x": x, "dy": dy}, {"alpha": 0.3})
    ck.check("remote_infer_v2_backward_same_as_v1", same(out["dx"], g1.dx) and same(out["dalpha"], g1.dalpha),
             "%s vs %s" % (out.get("dalpha"), g1.dalpha))
    # out= is filled and returned, as in process.
    buf = np.empty((2, 3, 64), dtype=F32)
    for wname, r in (("v1", remote), ("v2", v2)):
        y = r.forward("leaky_relu", x, alpha=0.1, out=buf)
        ck.check("remote_out_%s" % wname, y is buf and same(buf, local.forward("leaky_relu", x, alpha=0.1)))


def corner_grid():
    """Every pair of x and dy corner values (signed zeros, NaNs of both signs,
    infinities, subnormals, extremes, phased_relu's threshold -5 and its
    neighbours), flat float32."""
    xs = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, np.nan, np.inf, -np.inf, 1.4e-45, -1.4e-45, 3.4e38, -3.4e38,
                   -0.3, -5.0, np.nextafter(F32(-5), F32(-6)), np.nextafter(F32(-5), F32(0))], dtype=F32)
    xs = np.append(xs, np.array([0xffc00001], np.uint32).view(F32))
    dys = np.array([1.0, -1.0, 0.0, -0.0, 0.5, np.inf, -np.inf, np.nan], dtype=F32)
    return np.repeat(xs, dys.size), np.tile(dys, xs.size)


def check_conventions(ck, remote, json_remote, v2, local):
    """conventions= over /v1 (base64 and the JSON-numbers remote) and /v2:
    the in-process Context's bits, y and dx exact (NaN payloads included),
    dalpha per element (one alpha per element: each channel's sum is its one
    term) by value (/v1's JSON numbers drop a NaN's payload)."""
    x, dy = corner_grid()
    per = np.full(x.size, 0.25, dtype=F32)
    cases = [("relu", None, None, None), ("leaky_relu", 0.2, None, None), ("leaky_relu", -0.5, None, None),
             ("prelu", per, None, 0), ("phased_relu", 0.1, 0.5, None), ("phased_relu", per * 0.4, 0.5, 0)]
    wires = (("v1", remote), ("json", json_remote), ("v2", v2))
    for conv in ("ieee", "jax", "pytorch"):
        for act, alpha, beta, axis in cases:
            name = "remote_conventions_%s_%s%s" % (conv, act, "_per_element" if axis is not None else "")
            y_here = local.forward(act, x, alpha=alpha, beta=beta, channel_axis=axis, conventions=conv)
            g_here = local.backward(act, x, dy, alpha=alpha, beta=beta, channel_axis=axis, conventions=conv)
            for wname, r in wires:
                y = r.forward(act, x, alpha=alpha, beta=beta, channel_axis=axis, conventions=conv)
                ck.check("%s_%s_forward" % (name, wname), same(y, y_here), show(y, y_here))
                g = r.backward(act, x, dy, alpha=alpha, beta=beta, channel_axis=axis, conventions=conv)
                ok = same(g.dx, g_here.dx)
                if g_here.dalpha is not None:
                    ok = ok and g.dalpha is not None and same_values(g.dalpha, g_here.dalpha)
                ck.check("%s_%s_backward" % (name, wname), ok, show(g.dx, g_here.dx))
        # the profiles differ on these inputs: the parameter is not lost on the way
        y_relu = v2.forward("relu", x, conventions=conv)
        ck.check("remote_conventions_%s_v2_not_default" % conv, conv == "pytorch" or
                 not same(y_relu, local.forward("relu", x)), show(y_relu, local.forward("relu", x)))
        # /v2 with dalpha as an output (the helper's own parameters) and per-element alpha as a tensor
        out = v2.infer_v2("prelu_backward", {"x": x, "dy": dy, "alpha": per}, {"conventions": conv})
        g_here = local.backward("prelu", x, dy, alpha=per, channel_axis=0, conventions=conv)
        ck.check("remote_conventions_%s_infer_v2_prelu_backward" % conv,
                 same(out["dx"], g_here.dx) and same(out["dalpha"], g_here.dalpha), show(out["dx"], g_here.dx))
        # run_jobs: /v1/batch, each job with its own profile
        jobs = [leakycl.Job("forward", "relu", x, conventions=conv),
                leakycl.Job("backward", "leaky_relu", x, dy, alpha=0.2, conventions=conv),
                {"op": "backward", "activation": "phased_relu", "x": x, "dy": dy, "alpha": 0.1, "beta": 0.5,
                 "conventions": conv}]
        got, want = remote.run_jobs(jobs), local.run_jobs(jobs)
        ck.check("remote_conventions_%s_run_jobs" % conv, same(got[0], want[0]) and same(got[1].dx, want[1].dx)
                 and same(got[2].dx, want[2].dx) and same_values(got[2].dalpha, want[2].dalpha),
                 show(got[2].dx, want[2].dx))
    # the default goes unsaid on the wire (older daemons refuse unknown fields); the others are sent
    from leakycl import remote as remote_module
    wire = {}
    for conv in ("pytorch", "jax"):
        job = remote_module._Job("forward", "relu", x[:4], None, None, None, None, "x", None, None, conv)
        wire[conv] = (b"".join(job.v1_pieces(1 << 30, True)), job.v2_call()[2])
    ck.check("remote_conventions_default_not_sent", b"conventions" not in wire["pytorch"][0] and
             "conventions" not in wire["pytorch"][1] and b'"conventions": "jax"' in wire["jax"][0] and
             wire["jax"][1].get("conventions") == "jax", wire)
    # an unknown value the daemon itself refuses (this client refuses it before sending)
    expect_error(ck, "remote_conventions_daemon_refuses_v2",
                 lambda: v2.infer_v2("relu", {"x": x}, {"conventions": "tf"}), "INVALID_ARGUMENT", 400)
    job = remote_module._Job("forward", "relu", x, None, None, None, None, "x", None, None, "ieee")
    job.conventions = "tf"
    expect_error(ck, "remote_conventions_daemon_refuses_v1", lambda: remote._post_v1("/v1/forward", [job]),
                 "INVALID_ARGUMENT", 400)
    res = remote.run_jobs([leakycl.Job("forward", "relu", x), leakycl.Job("forward", "relu", x, conventions="tf")],
                          return_errors=True)
    ck.check("remote_conventions_unknown_job", same(res[0], local.forward("relu", x)) and
             isinstance(res[1], leakycl.Error) and res[1].job_index == 1 and res[1].status == "INVALID_ARGUMENT",
             res[1])


def check_jobs(ck, remote, local, rng):
    x = edge_values(rng, (2, 3, 10))
    dy = edge_values(rng, (2, 3, 10))
    xf, dyf = (np.where(np.isfinite(v), v, F32(1)) for v in (x, dy))  # the prelu job's: a finite dalpha
    jobs = [leakycl.Job("forward", "leaky_relu", x, alpha=0.2),
            leakycl.Job("forward", "gelu", x),                                   # refused here
            {"op": "backward", "activation": "prelu", "x": x, "dy": dy, "alpha": [0.1, 0.2]},  # by the daemon
            {"op": "backward", "activation": "prelu", "x": xf, "dy": dyf, "alpha": [0.1, 0.2, 0.3]},
            leakycl.Job("forward", "relu", x.astype(F16))]
    res = remote.run_jobs(jobs, return_errors=True)
    want = local.run_jobs([jobs[0], jobs[3], jobs[4]])
    err = [isinstance(res[i], leakycl.Error) and res[i].job_index == i and res[i].status == "INVALID_ARGUMENT"
           for i in (1, 2)]
    ok = [len(res) == 5, same(res[0], want[0]), err[0], err[1] and "channel" in res[2].message,
          same(res[3].dx, want[1].dx), grads_ok(res[3], xf, dyf, [0.1, 0.2, 0.3], 1), same(res[4], want[2])]
    ck.check("remote_run_jobs_return_errors", all(ok), "%s: %s" % (ok, res[1:3]))
    try:
        remote.run_jobs(jobs)
        ck.check("remote_run_jobs_raises_first", False, "no exception")
    except leakycl.Error as e:
        ck.check("remote_run_jobs_raises_first", e.job_index == 1 and e.status == "INVALID_ARGUMENT", repr(e))
    ck.check("remote_run_jobs_empty", remote.run_jobs([]) == [])


def check_errors(ck, url, remote, v2, local):
    x = np.ones((2, 2), dtype=F32)
    # Refused before sending: a Remote at a dead address answers the argument's error, not UNREACHABLE.
    dead = leakycl.Remote("http://127.0.0.1:1")
    for name, call in (("unknown_activation", lambda c: c.forward("gelu", x)),
                       ("alpha_nan", lambda c: c.forward("prelu", x, alpha=[0.1, float("nan")])),
                       ("beta_not_phased", lambda c: c.forward("prelu", x, beta=0.5)),
                       ("float64_input", lambda c: c.forward("relu", x.astype(np.float64))),
                       ("dy_mismatch", lambda c: c.backward("relu", x, x[:1])),
                       ("bad_source", lambda c: c.backward("relu", x, x, source="z")),
                       ("reduce_relu", lambda c: c.reduce("relu", x, x)),
                       ("unknown_conventions", lambda c: c.forward("relu", x, conventions="tf")),
                       ("unknown_conventions_backward", lambda c: c.backward("relu", x, x, conventions="IEEE"))):
        want = local_error(lambda: call(local))
        ck.check("remote_%s_local_error_exists" % name, want is not None)
        if want is not None:
            expect_error(ck, "remote_%s_before_sending" % name, lambda: call(dead), want.status,
                         message=want.message)
    ck.check("remote_nothing_sent", dead.connections_opened == 0, dead.connections_opened)
    expect_error(ck, "remote_unreachable", dead.health, "UNREACHABLE")
    # Daemon-side: /v1's code, /v2's status.
    for wname, r in (("v1", remote), ("v2", v2)):
        expect_error(ck, "remote_daemon_400_%s" % wname, lambda: r.forward("prelu", x, alpha=[1, 2, 3]),
                     "INVALID_ARGUMENT", 400)
        expect_error(ck, "remote_wrong_token_%s" % wname,
                     lambda: leakycl.Remote(url, token="wrong", protocol=wname).forward("relu", x),
                     "UNAUTHORIZED", 401)
    spec = remote.devices()[0]["spec"]
    for wname, r in (("v1", remote), ("v2", v2)):  # device= goes by /v1 on both
        ck.check("remote_device_spec_%s" % wname, same(r.forward("relu", -x, device=spec), np.zeros_like(x)))
    expect_error(ck, "remote_bad_device", lambda: remote.forward("relu", x, device="no-such-device"),
                 "INVALID_ARGUMENT", 400)
    expect_error(ck, "remote_v2_unknown_model", lambda: v2.infer_v2("gelu", {"x": x}), "NOT_FOUND", 404)
    expect_error(ck, "remote_v2_metadata_unknown", lambda: v2.model_metadata("gelu"), "NOT_FOUND", 404)
    expect_error(ck, "remote_no_token", lambda: leakycl.Remote(url).health(), "UNAUTHORIZED", 401)
    ck.check("remote_serves_after_errors", same(remote.forward("relu", x), x))


def check_transport(ck, remote):
    x = np.linspace(-2, 2, 3000, dtype=F32)
    with leakycl.Remote(remote.url, token=TOKEN) as r:
        r.forward("relu", x)
        port = r._conn.sock.getsockname()[1]
        for _ in range(5):
            r.forward("relu", x)
            r.health()
        ck.check("remote_keep_alive", r.connections_opened == 1 and r._conn.sock.getsockname()[1] == port,
                 r.connections_opened)
    expect_error(ck, "remote_closed", lambda: r.health(), "INVALID_ARGUMENT")
    # One Remote shared by threads: each gets its own answer.
    bad = []

    def worker(k):
        for i in range(15):
            v = np.full(100 + k, -(k + 1) * (i + 1), dtype=F32)
            if not same(remote.forward("leaky_relu", v, alpha=0.5), v * F32(0.5)):
                bad.append((k, i))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ck.check("remote_threads", not bad, bad[:5])


def check_reconnect_and_limits(ck, local):
    """A daemon that closes idle connections after 1 s, with a small tensor limit."""
    d = Daemon("--timeout", "1", "--max-elements", "4096")
    try:
        x = np.linspace(-3, 3, 1000, dtype=F32)
        for proto in ("v1", "v2"):
            r = leakycl.Remote("http://127.0.0.1:%d" % d.port, protocol=proto)
            first = r.forward("leaky_relu", x, alpha=0.25)
            time.sleep(2.2)  # the daemon closes the idle connection
            again = r.forward("leaky_relu", x, alpha=0.25)
            want = local.forward("leaky_relu", x, alpha=0.25)
            ck.check("remote_reconnect_%s" % proto, same(first, want) and same(again, want) and
                     r.connections_opened == 2, r.connections_opened)
            expect_error(ck, "remote_413_%s" % proto, lambda: r.forward("relu", np.ones(5000, F32)),
                         "PAYLOAD_TOO_LARGE", 413)
            ck.check("remote_after_413_%s" % proto, same(r.forward("relu", x), np.maximum(x, 0)))
    finally:
        ck.check("remote_limits_daemon_exit_0", d.stop() == 0, d.stderr()[-500:])


def check_daemon(ck, remote, v2):
    ck.check("remote_health", remote.health() == {"status": "ok"})
    devs = remote.devices()
    ck.check("remote_devices", isinstance(devs, list) and any(x.get("in_use") for x in devs), devs)
    ck.check("remote_activations", len(remote.activations()["activations"]) == 4)
    ck.check("remote_metrics", "leakycld_requests_total" in remote.metrics())
    meta = v2.model_metadata("prelu_backward")
    ck.check("remote_model_metadata", [i["name"] for i in meta["inputs"]] == ["x", "dy", "alpha"] and
             [o["name"] for o in meta["outputs"]] == ["dx", "dalpha"], meta)
    ck.check("remote_server_metadata", "binary_tensor_data" in v2.server_metadata()["extensions"])


def check_torch(ck, remote, v2, local):
    try:
        import torch
    except ImportError:
        ck.skip("remote_torch_in_torch_out", "torch is not importable")
        return
    t = torch.tensor([[-1.0, 2.0, -0.0], [float("nan"), -3.0, 4.0]])
    want = local.forward("leaky_relu", t, alpha=0.5).numpy()
    for wname, r in (("v1", remote), ("v2", v2)):
        y = r.forward("leaky_relu", t, alpha=0.5)
        ck.check("remote_torch_in_torch_out_%s" % wname, isinstance(y, torch.Tensor) and same(y.numpy(), want), y)


def section(ck, name, fn, *args):
    """Runs one group of checks; an exception in it is one FAIL line, and the rest still run."""
    try:
        fn(ck, *args)
    except Exception:  # noqa: BLE001 - reported, not hidden
        ck.check("remote_%s_raised_nothing" % name, False, traceback.format_exc()[-1500:])


def main():
    ck = Checks()
    rng = np.random.default_rng(20240611)
    local = leakycl.Context(DEVICE)
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write(TOKEN + "\n")
        token_path = f.name
    os.chmod(token_path, 0o600)
    d = Daemon("--token-file", token_path)
    try:
        url = "http://127.0.0.1:%d" % d.port
        remote = leakycl.Remote(url, token=TOKEN, protocol="v1")
        json_remote = leakycl.Remote(url, token=TOKEN, binary_threshold=1 << 30, protocol="v1")
        v2 = leakycl.Remote(url, token=TOKEN, protocol="v2")
        section(ck, "daemon", check_daemon, remote, v2)
        section(ck, "values", check_values, remote, json_remote, v2, local, rng)
        section(ck, "backward", check_backward, remote, json_remote, v2, local, rng)
        section(ck, "jobs", check_jobs, remote, local, rng)
        section(ck, "conventions", check_conventions, remote, json_remote, v2, local)
        section(ck, "errors", check_errors, url, remote, v2, local)
        section(ck, "transport", check_transport, remote)
        section(ck, "torch", check_torch, remote, v2, local)
        for r in (remote, json_remote, v2):
            r.close()
    finally:
        ck.check("remote_daemon_exit_0", d.stop() == 0, d.stderr()[-500:])
        os.unlink(token_path)
    section(ck, "reconnect", check_reconnect_and_limits, local)
    local.close()
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
