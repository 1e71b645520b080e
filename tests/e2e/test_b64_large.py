#!/usr/bin/python3
"""test_b64_large.py - big base64 tensors through leakycld end to end: forward
and backward round trips of millions of float32 (special values included)
checked bit for bit against float64 formulas rounded to float32 in numpy,
escaped bodies, errors deep inside big payloads, the size limits, concurrent
big requests, and memory that stays bounded across requests."""
import base64
import json
import os
import sys
import threading

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon  # noqa: E402

MIB = 1 << 20


def b64(a):
    return base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode()


def unb64(text):
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def same_bits(got, want):
    """Bit-identical float32 arrays, any NaN matching any NaN."""
    got = np.asarray(got, dtype=np.float32)
    want = np.asarray(want, dtype=np.float32)
    if got.shape != want.shape:
        return False
    nan = np.isnan(want)
    return bool(np.array_equal(np.isnan(got), nan) and
                np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32)))


def first_mismatch(got, want):
    got = np.asarray(got, dtype=np.float32)
    want = np.asarray(want, dtype=np.float32)
    if got.shape != want.shape:
        return "shape %s != %s" % (got.shape, want.shape)
    bad = np.nonzero((got.view(np.uint32) != want.view(np.uint32)) &
                     ~(np.isnan(got) & np.isnan(want)))[0]
    if not len(bad):
        return ""
    i = bad[0]
    return "%d mismatches, first [%d]: got %r want %r" % (len(bad), i, got[i], want[i])


def sample(rng, n):
    """N(0, 4) values with the special ones sprinkled in: NaN, +-Inf, +-0,
    subnormals, the extremes."""
    x = (rng.standard_normal(n) * 2).astype(np.float32)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38,
                         -3.4028235e38, 3.4028235e38], dtype=np.float32)
    idx = rng.choice(n, size=min(n, 1000), replace=False)
    x[idx] = specials[np.arange(len(idx)) % len(specials)]
    return x


def f32(v64):
    """float64 results rounded once to float32."""
    return np.asarray(v64, dtype=np.float64).astype(np.float32)


def leaky_forward(x, alpha):
    x64 = x.astype(np.float64)
    return f32(np.where((x64 > 0) | np.isnan(x64), x64, np.float64(np.float32(alpha)) * x64))


def phased_forward(x, alpha, beta):
    a = np.float32(alpha)
    t = np.float64(np.float32(-np.float32(beta) / a))  # the threshold, in float32
    x64 = x.astype(np.float64)
    neg = np.where(x64 >= t, np.float64(a) * x64, 0.0)
    return f32(np.where(x64 >= 0, x64, neg))  # pytorch: NaN takes the zero branch


def prelu_backward(x, dy, alpha, shape, axis):
    """dx and dalpha per channel (float64 sums) for a per-channel alpha."""
    c = shape[axis]
    bshape = [1] * len(shape)
    bshape[axis] = c
    a = np.asarray(alpha, dtype=np.float32).astype(np.float64).reshape(bshape)
    x64 = x.astype(np.float64).reshape(shape)
    dy64 = dy.astype(np.float64).reshape(shape)
    pos = x64 > 0
    dx = f32(np.where(pos, dy64, a * dy64)).reshape(-1)
    terms = np.where(pos, 0.0, dy64 * x64)
    axes = tuple(i for i in range(len(shape)) if i != axis)
    return dx, terms.sum(axis=axes), np.abs(terms).sum(axis=axes)


def post(d, path, body):
    """POST raw bytes; (status, parsed JSON or None, raw)."""
    status, _, data = d.request("POST", path, body, {"Content-Type": "application/json"},
                                timeout=300)
    try:
        return status, json.loads(data), data
    except ValueError:
        return status, None, data


def error_of(parsed):
    return (parsed or {}).get("error", {}) if isinstance(parsed, dict) else {}


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ck = Checks()
    rng = np.random.default_rng(20240601)
    d = Daemon("--max-body", "160m", "--max-elements", str(24 * MIB), "--quiet")
    try:
        # forward: 16 Mi floats (64 MiB, ~89 MB of base64), specials included
        n = 16 * MIB
        x = sample(rng, n)
        body = ('{"activation":"leaky_relu","alpha":0.01,"x_b64":"%s","dtype":"float32"}'
                % b64(x)).encode()
        st, res, raw = post(d, "/v1/forward", body)
        ok = st == 200 and isinstance(res, dict) and set(res) == {"y_b64", "dtype"}
        got = unb64(res["y_b64"]) if ok else np.zeros(0, np.float32)
        ck.check("forward_64mib_leaky_relu_bits", ok and same_bits(got, leaky_forward(x, 0.01)),
                 (st, raw[:200], first_mismatch(got, leaky_forward(x, 0.01))))
        ck.check("forward_64mib_dtype_float32", ok and res["dtype"] == "float32", raw[:200])
        del body, raw, got, res

        # phased_relu forward, 3 Mi + 1 floats (length not a multiple of 3 bytes' worth)
        n = 3 * MIB + 1
        x = sample(rng, n)
        body = ('{"activation":"phased_relu","alpha":0.2,"beta":0.75,"x_b64":"%s"}'
                % b64(x)).encode()
        st, res, raw = post(d, "/v1/forward", body)
        got = unb64(res["y_b64"]) if st == 200 and res else np.zeros(0, np.float32)
        want = phased_forward(x, 0.2, 0.75)
        ck.check("forward_phased_relu_odd_length_bits", st == 200 and same_bits(got, want),
                 (st, raw[:200], first_mismatch(got, want)))

        # backward prelu, per-channel alpha, shape [2, 4, N/8], x_b64 + dy_b64
        shape = [2, 4, MIB]
        n = 8 * MIB
        x = sample(rng, n)
        x[np.isnan(x) | np.isinf(x)] = 1.5  # finite, so the sums are finite
        x[np.abs(x) > 1e30] = -2.5
        dy = rng.standard_normal(n).astype(np.float32)
        alpha = [0.25, -0.5, 1.5, 0.0]
        body = json.dumps({"activation": "prelu", "alpha": alpha, "shape": shape,
                           "channel_axis": 1, "x_b64": b64(x), "dy_b64": b64(dy)}).encode()
        st, res, raw = post(d, "/v1/backward", body)
        want_dx, want_dalpha, sum_abs = prelu_backward(x, dy, alpha, shape, 1)
        ok = st == 200 and isinstance(res, dict) and "dx_b64" in res
        got = unb64(res["dx_b64"]) if ok else np.zeros(0, np.float32)
        ck.check("backward_prelu_dx_b64_bits", ok and same_bits(got, want_dx),
                 (st, raw[:200], first_mismatch(got, want_dx)))
        dalpha = np.array(res.get("dalpha", []) if ok else [], dtype=np.float64)
        ck.check("backward_prelu_dalpha_json_accurate",
                 ok and dalpha.shape == (4,) and
                 bool(np.all(np.abs(dalpha - want_dalpha) <= 1e-6 * sum_abs + 1e-30)),
                 (dalpha, want_dalpha))

        # JSON escapes: every '/' written as "\/" (as some encoders do) gives the same result
        n = MIB
        x = sample(rng, n)
        text = b64(x)
        if "/" not in text:
            text = text  # astronomically unlikely; the check below still holds
        body = ('{"activation":"relu","x_b64":"%s"}' % text.replace("/", "\\/")).encode()
        st, res, raw = post(d, "/v1/forward", body)
        got = unb64(res["y_b64"]) if st == 200 and res else np.zeros(0, np.float32)
        want = f32(np.where(x < 0, 0.0, x.astype(np.float64)))  # pytorch: -0 and NaN pass
        ck.check("forward_escaped_slashes_bits", st == 200 and same_bits(got, want),
                 (st, raw[:200], first_mismatch(got, want)))

        # errors deep inside a big payload: the exact offset, 400, no result
        text = b64(sample(rng, 4 * MIB))
        for name, bad_text, message in [
                ("bad_char_deep", text[:10000003] + "*" + text[10000004:],
                 "x_b64: invalid base64 character at offset 10000003"),
                # refused before the splice: an escaped NUL anywhere in a body (its offset in the body)
                ("nul_escape_deep", text[:9999999] + "\\u0000" + text[10000000:],
                 "a string holds an escaped NUL (\\u0000) at offset %d"
                 % (len('{"activation":"relu","x_b64":"') + 9999999)),
                ("bad_padding_end", text[:-4] + "AB==",
                 "x_b64: non-zero bits before base64 padding at offset %d" % (len(text) - 3)),
                ("length_not_multiple_of_4", text[:-1],
                 "x_b64: base64 length %d is not a multiple of 4" % (len(text) - 1)),
                ("whitespace_deep", text[:5000000] + "\n" + text[5000001:],
                 "x_b64: invalid base64 character at offset 5000000")]:
            body = ('{"activation":"relu","x_b64":"%s"}' % bad_text).encode()
            st, res, raw = post(d, "/v1/forward", body)
            err = error_of(res)
            ck.check("error_" + name, st == 400 and err.get("code") == "invalid_argument" and
                     err.get("message") == message and "y_b64" not in (res or {}),
                     (st, raw[:300]))

        # malformed JSON after a big base64 string: the offset in the original body
        body = ('{"activation":"relu","x_b64":"%s" "x":1}' % text).encode()
        st, res, raw = post(d, "/v1/forward", body)
        ck.check("malformed_json_offset_after_big_string",
                 st == 400 and error_of(res).get("message") ==
                 "malformed JSON at offset %d" % (body.index(b'" "x"') + 2), (st, raw[:300]))

        # a batch: big base64 jobs beside JSON ones, one bad job fails alone
        xa = sample(rng, 2 * MIB)
        xb = sample(rng, 1000)
        jobs = {"jobs": [
            {"op": "forward", "activation": "leaky_relu", "alpha": 0.5, "x_b64": b64(xa)},
            {"op": "forward", "activation": "relu", "x_b64": "AA*A"},
            {"op": "forward", "activation": "leaky_relu", "alpha": 0.5,
             "x": [float(v) if np.isfinite(v) else 0.0 for v in xb[:8]]},
            {"op": "forward", "activation": "relu", "x_b64": b64(xb)}]}
        st, res, raw = post(d, "/v1/batch", json.dumps(jobs).encode())
        results = res.get("results", []) if isinstance(res, dict) else []
        ok = st == 200 and len(results) == 4
        ck.check("batch_big_b64_job",
                 ok and same_bits(unb64(results[0].get("y_b64", "")), leaky_forward(xa, 0.5)),
                 raw[:300])
        ck.check("batch_bad_b64_job_fails_alone",
                 ok and error_of(results[1]).get("message") ==
                 "x_b64: invalid base64 character at offset 2" and "y" in results[2] and
                 same_bits(unb64(results[3].get("y_b64", "")),
                           f32(np.where(xb < 0, 0.0, xb.astype(np.float64)))),
                 raw[:300])

        # two big requests at once: each gets its own answer (the buffer pool is shared)
        xs = [sample(rng, 4 * MIB) for _ in range(2)]
        answers = [None, None]

        def one(i):
            body = ('{"activation":"leaky_relu","alpha":0.125,"x_b64":"%s"}' % b64(xs[i])).encode()
            answers[i] = post(d, "/v1/forward", body)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ck.check("concurrent_big_requests",
                 all(a and a[0] == 200 and same_bits(unb64(a[1]["y_b64"]),
                                                     leaky_forward(xs[i], 0.125))
                     for i, a in enumerate(answers)),
                 [a[2][:100] if a else None for a in answers])

        # memory stays bounded: big requests reuse pooled buffers
        body = ('{"activation":"relu","x_b64":"%s"}' % b64(sample(rng, 8 * MIB))).encode()
        for _ in range(6):
            post(d, "/v1/forward", body)
        rss = rss_bytes(d.proc.pid)
        ck.check("rss_bounded_after_repeated_big_requests", 0 < rss < 1200 * MIB,
                 "VmRSS %d MiB" % (rss // MIB))
        ck.check("daemon_alive", d.alive())
    finally:
        d.stop()

    # the limits: elements and body size, answered 413 before decoding anything big
    d = Daemon("--max-elements", "1000000", "--max-body", "12m", "--quiet")
    try:
        body = ('{"activation":"relu","x_b64":"%s"}' % b64(np.ones(1500000, np.float32))).encode()
        st, res, raw = post(d, "/v1/forward", body)
        ck.check("too_many_b64_elements_413", st == 413 and error_of(res).get("message") ==
                 "x_b64 has about 1500000 elements, over the limit of 1000000 (--max-elements)",
                 (st, raw[:300]))
        body = ('{"activation":"relu","x_b64":"%s"}' % b64(np.ones(3 * MIB, np.float32))).encode()
        st, res, raw = post(d, "/v1/forward", body)
        ck.check("b64_body_over_max_body_413",
                 st == 413 and error_of(res).get("code") == "payload_too_large", (st, raw[:300]))
        ck.check("daemon_alive_after_413", d.alive())
    finally:
        d.stop()
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
