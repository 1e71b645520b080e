#!/usr/bin/env python3
"""test_dbeta.py - phased_relu's dbeta boundary estimate through the daemon:
a /v1 backward job (single, batch) with "dbeta_window": h answers "dbeta"
next to dalpha, within 1e-6 * sum |terms| of a NumPy float64 formula,
  dbeta = sum over x < 0 with |alpha*x + beta| < h/2 of dy*|alpha|*x/h,
with dx, dalpha and stats the same bits as without the window; JSON, float32
and float16 base64; per-channel, shared and negative alpha; an empty
tensor; the 400s; /v1/activations' word on beta's gradient. The normal and
(when built) the ASan daemon."""
import base64
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, on_each_build  # noqa: E402

F32, F64 = np.float32, np.float64


def np_view(shape, axis):
    """(outer, channels, inner) of a shape with the channel on axis."""
    axis = axis % len(shape)
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


def oracle_dbeta(x, dy, alpha, beta, h, shape, axis):
    """(dbeta, sum |terms|). Which elements are in the window is decided
    with the kernel's float32 expression (alpha*x, then + beta, each
    rounded to float32; doubled exactly against h), so that elements on the
    window's edge cannot flake; the terms and their sum are float64."""
    x = np.asarray(x, F32)
    dy = np.asarray(dy, F32)
    outer, channels, inner = np_view(shape, axis)
    alpha = np.asarray(alpha, F32).reshape(-1)
    if alpha.size > 1:
        a = np.broadcast_to(alpha.reshape(1, channels, 1), (outer, channels, inner)).reshape(-1)
    else:
        a = np.full(x.size, alpha[0] if alpha.size else F32(0.1), F32)
    with np.errstate(over="ignore", invalid="ignore"):
        u = (a * x).astype(F32) + F32(beta)
        inside = (x < 0) & (np.abs(u.astype(F32)) * F32(2) < F32(h))
    terms = dy.astype(F64) * np.abs(a.astype(F64)) * x.astype(F64) / F64(F32(h))
    terms = np.where(inside, terms, 0.0)
    return float(terms.sum()), float(np.abs(terms).sum())


def close(got, want, scale):
    return abs(got - want) <= 1e-6 * scale


def same_grads(a, b, x, dy):
    """dx and neg_fraction the same, dalpha and mean_abs_grad within the
    bound: a small job with dbeta_window runs as its own call, the one
    without it is packed with others (the library keeps packed dalpha
    within the bound, not bit for bit; test_dbeta.c holds single calls
    with and without dbeta bit for bit)."""
    scale = 1e-6 * float(np.abs(np.asarray(x, F64) * np.asarray(dy, F64)).sum())
    near = all(abs(u - v) <= scale for u, v in zip(a["dalpha"], b["dalpha"]))
    near = near and all(abs(u - v) <= scale for u, v in
                        zip(a["stats"]["mean_abs_grad"], b["stats"]["mean_abs_grad"]))
    return (near and a["dx"] == b["dx"] and len(a["dalpha"]) == len(b["dalpha"])
            and a["stats"]["neg_fraction"] == b["stats"]["neg_fraction"])


def job(x, dy, shape, alpha, beta=0.75, h=None, **extra):
    j = {"activation": "phased_relu", "alpha": alpha, "beta": beta, "shape": list(shape),
         "channel_axis": 1, "x": [float(v) for v in x], "dy": [float(v) for v in dy]}
    if h is not None:
        j["dbeta_window"] = h
    j.update(extra)
    return j


def sample(rng, shape, alpha, beta):
    """x over [-s, s/4) with s = max(4, 2|t|), so the windows hold elements."""
    a = np.asarray(alpha, F64).reshape(-1)
    t = -beta / a[np.abs(a) > 0] if np.any(np.abs(a) > 0) else np.array([2.0])
    s = max(4.0, 2 * float(np.max(np.abs(t))))
    n = int(np.prod(shape))
    x = ((rng.random(n) * 1.25 - 1.0) * s).astype(F32)
    dy = (rng.random(n) * 2 - 1).astype(F32)
    return x, dy


def check_single(ck, d, tag, rng):
    cases = [("per_channel", [4, 3, 50], [0.1, -0.5, 1.5], 0.75),
             ("shared", [7, 1, 143], 0.2, 0.75),
             ("negative_alpha", [5, 2, 31], [-0.5, -1.25], -0.75),
             ("negative_alpha_positive_beta", [3, 1, 101], -0.5, 0.75)]
    for name, shape, alpha, beta in cases:
        x, dy = sample(rng, shape, alpha, beta)
        st0, plain, raw0 = d.call("POST", "/v1/backward", job(x, dy, shape, alpha, beta))
        for h in (0.0625, 0.5, 3.0):
            st, body, raw = d.call("POST", "/v1/backward", job(x, dy, shape, alpha, beta, h))
            ok = st == 200 and st0 == 200 and isinstance(body, dict) and "dbeta" in body
            detail = raw[:300]
            if ok:
                want, scale = oracle_dbeta(x, dy, alpha, beta, h, shape, 1)
                ok = close(float(body["dbeta"]), want, scale)
                detail = "dbeta %r, oracle %r (sum |terms| %g)" % (body["dbeta"], want, scale)
                same = same_grads(body, plain, x, dy)
                ok = ok and same and "dbeta" not in plain
                if not same:
                    detail += "; dx/dalpha/stats differ from the job without dbeta_window"
            ck.check("%s%s_h%g" % (tag, name, h), ok, detail)


def check_base64(ck, d, tag, rng):
    shape, alpha, beta, h = [2, 4, 33], [0.3, 0.1, 2.0, -0.7], 0.5, 0.25
    x, dy = sample(rng, shape, alpha, beta)
    j = job(x, dy, shape, alpha, beta, h)
    del j["x"], j["dy"]
    j["x_b64"] = base64.b64encode(x.astype("<f4").tobytes()).decode()
    j["dy_b64"] = base64.b64encode(dy.astype("<f4").tobytes()).decode()
    st, body, raw = d.call("POST", "/v1/backward", j)
    want, scale = oracle_dbeta(x, dy, alpha, beta, h, shape, 1)
    ck.check(tag + "float32_base64", st == 200 and close(float(body["dbeta"]), want, scale),
             raw[:300])
    # float16 storage: the estimate on the widened values, still float32 out.
    x16, dy16 = x.astype(np.float16), dy.astype(np.float16)
    j["dtype"] = "float16"
    j["x_b64"] = base64.b64encode(x16.astype("<f2").tobytes()).decode()
    j["dy_b64"] = base64.b64encode(dy16.astype("<f2").tobytes()).decode()
    st, body, raw = d.call("POST", "/v1/backward", j)
    want, scale = oracle_dbeta(x16.astype(F32), dy16.astype(F32), alpha, beta, h, shape, 1)
    ck.check(tag + "float16_base64", st == 200 and close(float(body["dbeta"]), want, scale),
             raw[:300])


def check_batch(ck, d, tag, rng):
    shape, alpha, beta, h = [3, 2, 40], [0.25, -0.5], 0.75, 1.0
    x, dy = sample(rng, shape, alpha, beta)
    with_window = job(x, dy, shape, alpha, beta, h, op="backward")
    jobs = [dict(job(x, dy, shape, alpha, beta), op="forward"),
            with_window,
            dict(job(x, dy, shape, alpha, beta), op="backward"),
            dict(with_window, activation="prelu", beta=None),  # refused alone
            {"op": "backward", "activation": "prelu", "alpha": alpha, "shape": shape,
             "x": [float(v) for v in x], "dy": [float(v) for v in dy]}]
    del jobs[0]["dy"]
    del jobs[3]["beta"]
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": jobs})
    res = body.get("results", []) if st == 200 else []
    single_st, single, _ = d.call("POST", "/v1/backward", job(x, dy, shape, alpha, beta, h))
    want, scale = oracle_dbeta(x, dy, alpha, beta, h, shape, 1)
    ok = (len(res) == 5 and single_st == 200 and res[1].get("dbeta") == single["dbeta"]
          and close(float(res[1]["dbeta"]), want, scale)
          and res[1]["dalpha"] == single["dalpha"] and res[1]["dx"] == single["dx"])
    ck.check(tag + "batch_dbeta_job_as_single", ok, raw[:400])
    ck.check(tag + "batch_others_unaffected",
             len(res) == 5 and "dbeta" not in res[2] and "dalpha" in res[2]
             and "dbeta" not in res[4] and "y" in res[0], raw[:400])
    ck.check(tag + "batch_bad_dbeta_job_isolated",
             len(res) == 5 and "error" in res[3]
             and "dbeta_window" in res[3]["error"].get("message", ""), raw[:400])


def check_empty(ck, d, tag):
    st, body, raw = d.call("POST", "/v1/backward",
                           {"activation": "phased_relu", "x": [], "dy": [], "dbeta_window": 1})
    ck.check(tag + "empty_tensor_dbeta_0", st == 200 and body.get("dbeta") == 0, raw[:200])


def check_errors(ck, d, tag):
    base = job([-1.0, -7.5, 2.0], [1.0, 1.0, 1.0], [3], 0.1, 0.75, 1.0)
    base.pop("channel_axis")
    bad = [("prelu", "/v1/backward", dict(base, activation="prelu", beta=None)),
           ("forward", "/v1/forward", {k: v for k, v in base.items() if k != "dy"}),
           ("from_y", "/v1/backward", dict(base, **{"from": "y"})),
           ("compare", "/v1/compare", dict(base, op="backward", devices=[0], repeats=1))]
    for h in (0, -1, "NaN", "Infinity", 1e-50, 1e39, "wide", [1], {}):
        bad.append(("window_%s" % h, "/v1/backward", dict(base, dbeta_window=h)))
    for name, path, body in bad:
        if body.get("beta", 0) is None:
            del body["beta"]
        st, got, raw = d.call("POST", path, body)
        msg = got.get("error", {}).get("message", "") if isinstance(got, dict) else ""
        ck.check(tag + "refused_" + name, st == 400 and "dbeta_window" in msg, raw[:300])


def check_activations(ck, d, tag):
    st, body, raw = d.call("GET", "/v1/activations")
    beta = None
    for a in body.get("activations", []) if st == 200 else []:
        if a["name"] == "phased_relu":
            beta = next((p for p in a["parameters"] if p["name"] == "beta"), None)
    text = (beta or {}).get("gradient", "")
    ck.check(tag + "activations_beta_gradient",
             "zero almost everywhere" in text and "dbeta_window" in text, raw[:600])


def run(ck, d, tag):
    rng = np.random.default_rng(15)
    check_single(ck, d, tag, rng)
    check_base64(ck, d, tag, rng)
    check_batch(ck, d, tag, rng)
    check_empty(ck, d, tag)
    check_errors(ck, d, tag)
    check_activations(ck, d, tag)


def main():
    ck = Checks()
    on_each_build(ck, [], run)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
