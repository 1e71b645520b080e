#!/usr/bin/python3
"""test_half.py - half-precision storage end to end: `leakycl run` on float16
.npy files ('<f2') for every activation and op, and leakycld's base64 tensors
in float16 and bfloat16 (the normal and the ASan daemon), against a numpy
oracle written here: the float32 formula on the widened values, rounded to
the storage type to nearest even (numpy's float32 -> float16 cast for
float16, integer bit operations for bfloat16), compared bit for bit; dalpha
stays float32 within 1e-6 * sum|terms|.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_half.py"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon, build_dir, daemon_builds  # noqa: E402
from np_oracle import oracle_backward, oracle_forward  # noqa: E402

F32, F64 = np.float32, np.float64
DEFAULT_ALPHA = {"relu": 0.0, "leaky_relu": 0.01, "prelu": 0.25, "phased_relu": 0.1}
ACTIVATIONS = list(DEFAULT_ALPHA)


# ---- storage types, written from their definitions ----

def bf16_widen(bits):
    """bfloat16 patterns (uint16) to float32: the top half of a float32."""
    return (bits.astype(np.uint32) << 16).view(F32)


def bf16_narrow(v):
    """float32 to bfloat16 patterns, round to nearest even; NaN stays a quiet
    NaN of its sign."""
    u = np.asarray(v, F32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    quiet = ((u >> 16) | 0x40).astype(np.uint16)
    return np.where(np.isnan(v), quiet, rounded).astype(np.uint16)


def widen(dtype, bits):
    return bits.view(np.float16).astype(F32) if dtype == "float16" else bf16_widen(bits)


def narrow(dtype, v):
    """float32 values to storage patterns; numpy's float32 -> float16 cast
    rounds to nearest even."""
    if dtype == "float16":
        with np.errstate(over="ignore"):
            return np.asarray(v, F32).astype(np.float16).view(np.uint16)
    return bf16_narrow(v)


def is_nan_bits(dtype, bits):
    return np.isnan(widen(dtype, bits))


def bit_problems(name, dtype, got, want):
    """Patterns equal, NaN matching NaN (bfloat16 NaN must be quiet)."""
    got, want = np.asarray(got, np.uint16), np.asarray(want, np.uint16)
    if got.shape != want.shape:
        return ["%s: shape %s != %s" % (name, got.shape, want.shape)]
    wn, gn = is_nan_bits(dtype, want), is_nan_bits(dtype, got)
    bad = (wn != gn) | (~wn & (got != want))
    if dtype == "bfloat16":
        bad |= wn & ((got & 0x40) == 0)
    if not bad.any():
        return []
    i = np.flatnonzero(bad)[0]
    return ["%s %s: %d of %d differ, first [%d] got 0x%04x want 0x%04x" %
            (dtype, name, int(bad.sum()), bad.size, i, got.flat[i], want.flat[i])]


# ---- dalpha on widened values (y and dx: tests/e2e/lib/np_oracle.py) ----

def oracle_dalpha(act, x, dy, t, rows):
    """(sum, sum|terms|) per row of rows(term) in float64."""
    with np.errstate(invalid="ignore", over="ignore"):
        prod = dy.astype(F64) * x.astype(F64)
        if act == "prelu":
            term = np.where(x > 0, 0.0, prod)
        else:  # pytorch: where(band, dy, +0) * x (0 * Inf is NaN)
            band = (x < 0) & (x >= t)
            term = np.where(band, dy.astype(F64), 0.0) * x.astype(F64)
        r = rows(term)
        return r.sum(1), np.abs(r).sum(1)


def threshold(a, beta):
    with np.errstate(divide="ignore", invalid="ignore"):
        return F32(-F32(beta)) / np.asarray(a, F32)


def sample_bits(rng, dtype, shape, specials=True):
    """Rounded N(0, 16) values, raw patterns now and then, and the special
    ones: NaN, +-Inf, +-0, the smallest subnormal, the largest finite."""
    n = int(np.prod(shape))
    bits = narrow(dtype, (rng.standard_normal(n) * 4).astype(F32))
    raw = rng.integers(0, 1 << 16, n).astype(np.uint16)
    pick = rng.random(n) < 0.1
    bits[pick] = raw[pick]
    if specials and n:
        sp = [np.nan, np.inf, -np.inf, 0.0, -0.0]
        sp = list(narrow(dtype, np.array(sp, F32))) + [0x0001, 0x8001, 0x7BFF if dtype ==
                                                      "float16" else 0x7F7F]
        idx = rng.choice(n, size=min(n, len(sp) * 3), replace=False)
        bits[idx] = np.array(sp, np.uint16)[np.arange(len(idx)) % len(sp)]
    else:
        bits[is_nan_bits(dtype, bits) | np.isinf(widen(dtype, bits))] = 0x3C00 if \
            dtype == "float16" else 0x3F80
    return bits.reshape(shape)


# ---- the CLI on float16 .npy ----

def cli(*args):
    return subprocess.run([os.path.join(build_dir(), "bin", "leakycl"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def cli_case(ck, tmp, rng, act, op, shape, axis, per_channel):
    tag = "%s_%s_%s_%s" % (act, op, "x".join(map(str, shape)) or "scalar", per_channel)
    x16 = sample_bits(rng, "float16", shape)
    dy16 = sample_bits(rng, "float16", shape, specials=False)
    xp, dyp, out = (os.path.join(tmp, p + tag) for p in ("x_", "dy_", "out_"))
    np.save(xp + ".npy", x16.view(np.float16))
    np.save(dyp + ".npy", dy16.view(np.float16))
    args = ["run", "--activation", act, "--op", op, "--x", xp + ".npy", "--out", out]
    rank = len(shape)
    C = shape[axis] if rank else 1
    if per_channel and act != "relu":
        alpha = rng.uniform(-0.5, 1.5, C).astype(F32)
        np.save(os.path.join(tmp, "a_" + tag + ".npy"), alpha)
        args += ["--alpha-file", os.path.join(tmp, "a_" + tag + ".npy"), "--channel-axis", axis]
        a = alpha.reshape([C if d == axis else 1 for d in range(rank)])
    else:
        alpha = np.array([DEFAULT_ALPHA[act]], F32)
        a = alpha.reshape(())
        if rank:
            args += ["--channel-axis", axis]
    if op == "backward":
        args += ["--dy", dyp + ".npy"]
    r = cli(*args)
    if not ck.check("cli_" + tag + "_exit", r.returncode == 0, r.stderr):
        return
    x, dy = widen("float16", x16), widen("float16", dy16)
    t = threshold(a, 0.5)
    if op == "forward":
        y = np.load(os.path.join(out, "y.npy"))
        ck.check("cli_" + tag + "_y", y.dtype == np.float16 and not bit_problems(
            "y", "float16", y.view(np.uint16), narrow("float16", oracle_forward(act, x, a, t))),
            "dtype %s; %s" % (y.dtype, bit_problems("y", "float16", y.view(np.uint16),
                                                     narrow("float16",
                                                            oracle_forward(act, x, a, t)))))
        return
    dx = np.load(os.path.join(out, "dx.npy"))
    want = narrow("float16", oracle_backward(act, x, dy, a, t))
    probs = ["dtype %s" % dx.dtype] if dx.dtype != np.float16 else \
        bit_problems("dx", "float16", dx.view(np.uint16), want)
    if act in ("prelu", "phased_relu"):
        da = np.load(os.path.join(out, "dalpha.npy"))
        if da.dtype != F32:
            probs.append("dalpha dtype %s" % da.dtype)
        pc = per_channel and C > 1

        def rows(v):
            return np.moveaxis(v, axis, 0).reshape(C, -1) if pc else v.reshape(1, -1)
        s, sa = oracle_dalpha(act, x, dy, np.broadcast_to(t, x.shape), rows)
        for c in range(len(s)):
            if np.isfinite(s[c]) and sa[c] < 3e38 and not abs(float(da[c]) - s[c]) <= \
                    1e-6 * sa[c] + 1e-30:
                probs.append("dalpha[%d] %r, float64 %r" % (c, float(da[c]), s[c]))
    ck.check("cli_" + tag + "_dx", not probs, "\n".join(probs))


def test_cli(ck):
    tmp = tempfile.mkdtemp(prefix="leakycl_half_")
    try:
        rng = np.random.default_rng(16)
        for act in ACTIVATIONS:
            for op in ("forward", "backward"):
                cli_case(ck, tmp, rng, act, op, (2, 3, 5), 1, True)
                cli_case(ck, tmp, rng, act, op, (1001,), 0, False)
                cli_case(ck, tmp, rng, act, op, (0,), 0, False)
                cli_case(ck, tmp, rng, act, op, (), 0, False)
        # x and dy in different dtypes, and a float16 alpha file: exit 2.
        x = os.path.join(tmp, "mix_x.npy")
        dy = os.path.join(tmp, "mix_dy.npy")
        np.save(x, np.ones(4, np.float16))
        np.save(dy, np.ones(4, F32))
        r = cli("run", "--activation", "relu", "--op", "backward", "--x", x, "--dy", dy,
                "--out", os.path.join(tmp, "mix_out"))
        ck.check("cli_mixed_dtypes_rejected", r.returncode == 2 and
                 "--dy is float32 ('<f4') but --x is float16 ('<f2')" in r.stderr, r.stderr)
        ck.check("cli_mixed_dtypes_writes_nothing",
                 not os.path.exists(os.path.join(tmp, "mix_out", "dx.npy")))
        a16 = os.path.join(tmp, "a16.npy")
        np.save(a16, np.ones(1, np.float16))
        r = cli("run", "--activation", "prelu", "--op", "forward", "--x", x, "--alpha-file", a16,
                "--out", os.path.join(tmp, "a16_out"))
        ck.check("cli_float16_alpha_file_rejected", r.returncode == 2 and
                 "alpha is float32" in r.stderr, r.stderr)
        r = cli("run", "--help")
        ck.check("cli_help_names_dtypes", "'<f2'" in r.stdout and "bfloat16" in r.stdout,
                 r.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the daemon's base64 tensors in float16 and bfloat16 ----

def b64(bits):
    return base64.b64encode(np.asarray(bits, "<u2").tobytes()).decode()


def unb64(text):
    return np.frombuffer(base64.b64decode(text), dtype="<u2")


def daemon_forward(ck, d, tag, rng, dtype, act, n):
    x = sample_bits(rng, dtype, (n,))
    body = {"activation": act, "x_b64": b64(x), "dtype": dtype}
    if act != "relu":
        body["alpha"] = 1.5 if act == "prelu" else 0.2
    st, res, raw = d.call("POST", "/v1/forward", body)
    name = "%s%s_forward_%s_n%d" % (tag, dtype, act, n)
    if not ck.check(name + "_200", st == 200 and "y_b64" in res, raw[:300]):
        return
    a = np.array(body.get("alpha", 0.0), F32)
    want = narrow(dtype, oracle_forward(act, widen(dtype, x), a, threshold(a, 0.5)))
    probs = bit_problems("y", dtype, unb64(res["y_b64"]), want)
    if res.get("dtype") != dtype:
        probs.append("dtype %r" % res.get("dtype"))
    ck.check(name + "_bits", not probs, "\n".join(probs))


def daemon_backward(ck, d, tag, rng, dtype, act):
    shape, C = (2, 3, 5), 3
    x = sample_bits(rng, dtype, shape)
    dy = sample_bits(rng, dtype, shape, specials=False)
    alpha = rng.uniform(-0.5, 1.5, C).astype(F32)
    body = {"activation": act, "shape": list(shape), "channel_axis": 1, "dtype": dtype,
            "x_b64": b64(x.ravel()), "dy_b64": b64(dy.ravel())}
    if act != "relu":
        body["alpha"] = [float(v) for v in alpha]
    else:
        alpha = np.zeros(C, F32)
    st, res, raw = d.call("POST", "/v1/backward", body)
    name = "%s%s_backward_%s" % (tag, dtype, act)
    if not ck.check(name + "_200", st == 200 and "dx_b64" in res, raw[:300]):
        return
    xf, dyf = widen(dtype, x), widen(dtype, dy)
    a = alpha.reshape(1, C, 1)
    t = threshold(a, 0.5)
    want = narrow(dtype, oracle_backward(act, xf, dyf, a, t))
    probs = bit_problems("dx", dtype, unb64(res["dx_b64"]).reshape(shape), want)
    if res.get("dtype") != dtype:
        probs.append("dtype %r" % res.get("dtype"))
    if act in ("prelu", "phased_relu"):
        s, sa = oracle_dalpha(act, xf, dyf, np.broadcast_to(t, shape),
                              lambda v: np.moveaxis(v, 1, 0).reshape(C, -1))
        da = [float(v) for v in res.get("dalpha", [])]
        if len(da) != C or len(res.get("stats", {}).get("neg_fraction", [])) != C:
            probs.append("dalpha/stats: %r" % res)
        for c in range(min(C, len(da))):
            if np.isfinite(s[c]) and sa[c] < 3e38 and not abs(da[c] - s[c]) <= 1e-6 * sa[c] + 1e-30:
                probs.append("dalpha[%d] %r, float64 %r" % (c, da[c], s[c]))
    ck.check(name + "_bits", not probs, "\n".join(probs))


def test_daemon(ck):
    rng = np.random.default_rng(2)
    for tag, binary in daemon_builds(ck):
        d = Daemon(binary=binary)
        try:
            for dtype in ("float16", "bfloat16"):
                for act in ACTIVATIONS:
                    for n in (1001, 17, 1, 0):
                        daemon_forward(ck, d, tag, rng, dtype, act, n)
                    daemon_backward(ck, d, tag, rng, dtype, act)
                # backward from y: relu on the stored half y
                x = sample_bits(rng, dtype, (64,))
                st, res, _ = d.call("POST", "/v1/forward",
                                    {"activation": "relu", "x_b64": b64(x), "dtype": dtype})
                y = unb64(res["y_b64"])
                dy = sample_bits(rng, dtype, (64,), specials=False)
                st, res, raw = d.call("POST", "/v1/backward", {
                    "activation": "relu", "from": "y", "y_b64": b64(y), "dy_b64": b64(dy),
                    "dtype": dtype})
                want = narrow(dtype, oracle_backward("relu", widen(dtype, y), widen(dtype, dy),
                                                     F32(0), F32(0)))
                ck.check(tag + dtype + "_backward_from_y", st == 200 and not bit_problems(
                    "dx", dtype, unb64(res["dx_b64"]), want), raw[:300])
                # a batch mixing a half job with float32 ones: each in its own dtype
                xb = sample_bits(rng, dtype, (40,))
                st, res, raw = d.call("POST", "/v1/batch", {"jobs": [
                    {"op": "forward", "activation": "leaky_relu", "x": [-1, 2]},
                    {"op": "forward", "activation": "leaky_relu", "x_b64": b64(xb),
                     "dtype": dtype},
                    {"op": "forward", "activation": "relu", "x_b64": b64(xb), "dtype": "int4"}]})
                r = res["results"] if st == 200 else []
                want = narrow(dtype, oracle_forward("leaky_relu", widen(dtype, xb), F32(0.01),
                                                    F32(0)))
                ck.check(tag + dtype + "_batch_mixed", len(r) == 3 and r[0].get("y") ==
                         [-0.01, 2] and r[1].get("dtype") == dtype and not bit_problems(
                             "y", dtype, unb64(r[1].get("y_b64", "")), want) and
                         r[2].get("error", {}).get("code") == "invalid_argument", raw[:400])
                # errors: JSON numbers with a half dtype, a half-value's odd byte
                st, res, raw = d.call("POST", "/v1/forward",
                                      {"activation": "relu", "x": [1, 2], "dtype": dtype})
                ck.check(tag + dtype + "_json_numbers_400", st == 400 and
                         "applies to base64 tensors: give x_b64" in res["error"]["message"],
                         raw)
                st, res, raw = d.call("POST", "/v1/forward",
                                      {"activation": "relu", "x_b64": "AAAA", "dtype": dtype})
                ck.check(tag + dtype + "_odd_bytes_400", st == 400 and
                         "x_b64 has 3 bytes, not a multiple of 2 (%s values)" % dtype in
                         res["error"]["message"], raw)
            st, res, raw = d.call("POST", "/v1/forward",
                                  {"activation": "relu", "x_b64": "AACAPw==", "dtype": "float8"})
            ck.check(tag + "unknown_dtype_400", st == 400 and
                     "expected float32, float16 or bfloat16" in res["error"]["message"], raw)
            ck.check(tag + "daemon_alive", d.alive())
        finally:
            rc = d.stop()
            ck.check(tag + "daemon_clean_exit", rc == 0, d.stderr()[-2000:])


def main():
    ck = Checks()
    test_cli(ck)
    test_daemon(ck)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
