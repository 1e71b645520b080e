#!/usr/bin/python3
"""test_mask.py - seed 004's packed masks end to end: `leakycl run --mask-out`
and `--from mask`, /v1 forward with "mask": true and backward from mask_b64,
/v1/batch, /v2 output mask (UINT8 as JSON data and binary, through
tritonclient too) and input mask (UINT8, BOOL), for every activation and
profile. The mask's bits are held against a NumPy reading of the README's
layout written here, dx against the float64 oracle (np_oracle.py) and against
backward from x, bit for bit; then the errors."""
import base64
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon, build_dir  # noqa: E402
from np_oracle import oracle_backward, oracle_forward  # noqa: E402

F32 = np.float32
ACTS = ["relu", "leaky_relu", "prelu", "phased_relu"]
ALPHA = {"relu": 0.0, "leaky_relu": 0.01, "prelu": 0.25, "phased_relu": 0.1}
BETA = 0.5


def threshold(a, beta=BETA):
    return F32(-np.float64(beta) / np.float64(a)) if a else F32(-np.inf)


def sample(rng, shape):
    """N(0, 4) with +-0, NaN, +-Inf, subnormals and phased_relu's threshold."""
    x = (rng.standard_normal(shape) * 2).astype(F32).ravel()
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45,
                         threshold(0.1), np.nextafter(threshold(0.1), F32(0))], dtype=F32)
    x[::7][:len(specials)] = specials[:len(x[::7])]
    return x.reshape(shape)


def identity_bits(act, x, conv):
    """Plane 0 as the README defines it: the identity branch of backward."""
    with np.errstate(invalid="ignore"):
        if act == "relu":
            return (x > 0) | (np.isnan(x) if conv == "pytorch" else False)
        if act in ("leaky_relu", "prelu"):
            return x >= 0 if conv == "jax" else x > 0
        return x >= 0


def expected_mask(act, x, conv, a=None):
    """The words: planes of ceil(n/32) little-endian uint32, LSB first."""
    a = ALPHA[act] if a is None else a
    flat = x.ravel()
    planes = [identity_bits(act, flat, conv)]
    if act == "phased_relu":
        with np.errstate(invalid="ignore"):
            planes.append((flat < 0) & (flat >= threshold(a)))
    words = []
    for bits in planes:
        padded = np.zeros((flat.size + 31) // 32 * 32, dtype=np.uint8)
        padded[:flat.size] = bits
        words.append(np.packbits(padded, bitorder="little").view("<u4"))
    return np.concatenate(words)


def same_bits(a, b):
    a, b = np.asarray(a, F32).ravel(), np.asarray(b, F32).ravel()
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def want_dx(act, x, dy, conv):
    """The oracle's dx; under ieee, NaN in x gives dx from the bit (no bit carries NaN)."""
    a = ALPHA[act]
    dx = oracle_backward(act, x, dy, F32(a), threshold(a), conv)
    if conv == "ieee":
        nan = np.isnan(x)
        from_bit = {"relu": F32(0), "phased_relu": F32(0)}.get(act)
        alt = np.full_like(dy, 0) if from_bit is not None else (np.float64(a) * dy).astype(F32)
        dx = np.where(nan, alt, dx).astype(F32)
    return dx


def b64(a, dtype="<f4"):
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode()


def check_cli(ck, rng):
    cli = os.path.join(build_dir(), "bin", "leakycl")
    with tempfile.TemporaryDirectory() as tmp:
        x = sample(rng, (3, 4, 23))
        dy = rng.standard_normal(x.shape).astype(F32)
        np.save(os.path.join(tmp, "x.npy"), x)
        np.save(os.path.join(tmp, "dy.npy"), dy)
        for act in ACTS:
            fwd = os.path.join(tmp, "f_" + act)
            mpath = os.path.join(fwd, "m.npy")
            r1 = subprocess.run([cli, "run", "--activation", act, "--op", "forward", "--x",
                                 os.path.join(tmp, "x.npy"), "--out", fwd, "--mask-out", mpath],
                                capture_output=True, text=True)
            bwd = os.path.join(tmp, "b_" + act)
            r2 = subprocess.run([cli, "run", "--activation", act, "--op", "backward", "--from",
                                 "mask", "--mask", mpath, "--dy", os.path.join(tmp, "dy.npy"),
                                 "--out", bwd], capture_output=True, text=True)
            ok = r1.returncode == 0 and r2.returncode == 0
            detail = r1.stderr + r2.stderr
            if ok:
                m = np.load(mpath)
                want = expected_mask(act, x, "pytorch")
                planes = 2 if act == "phased_relu" else 1
                ok = (m.dtype == np.dtype("<u4") and m.shape == (planes, want.size // planes)
                      and np.array_equal(m.ravel(), want))
                detail = "mask %s %s" % (m.dtype, m.shape)
                y = np.load(os.path.join(fwd, "y.npy"))
                dx = np.load(os.path.join(bwd, "dx.npy"))
                a = ALPHA[act]
                ok = ok and same_bits(y, oracle_forward(act, x, F32(a), threshold(a)))
                ok = ok and same_bits(dx, want_dx(act, x, dy, "pytorch"))
            ck.check("cli_mask_" + act, ok, detail)
        r = subprocess.run([cli, "run", "--activation", "relu", "--op", "backward", "--from",
                            "mask", "--mask", os.path.join(tmp, "x.npy"), "--dy",
                            os.path.join(tmp, "dy.npy"), "--out", tmp], capture_output=True,
                           text=True)
        ck.check("cli_mask_float_refused", r.returncode == 2 and "a mask is uint32" in r.stderr,
                 r.stderr)
        r = subprocess.run([cli, "run", "--activation", "phased_relu", "--op", "backward",
                            "--mask", os.path.join(tmp, "f_relu", "m.npy"), "--dy",
                            os.path.join(tmp, "dy.npy"), "--out", tmp], capture_output=True,
                           text=True)
        ck.check("cli_mask_of_other_activation", r.returncode == 2 and "needs" in r.stderr,
                 r.stderr)
        r = subprocess.run([cli, "run", "--activation", "relu", "--op", "backward", "--x",
                            os.path.join(tmp, "x.npy"), "--dy", os.path.join(tmp, "dy.npy"),
                            "--out", tmp, "--mask-out", os.path.join(tmp, "m2.npy")],
                           capture_output=True, text=True)
        ck.check("cli_mask_out_forward_only", r.returncode == 2 and "only for --op forward"
                 in r.stderr, r.stderr)


def check_v1(ck, d, rng):
    x = sample(rng, (2, 3, 29))
    dy = rng.standard_normal(x.shape).astype(F32)
    for conv in ("pytorch", "ieee", "jax"):
        for act in ACTS:
            name = "v1_mask_%s_%s" % (conv, act)
            s1, f, _ = d.call("POST", "/v1/forward", {"activation": act, "conventions": conv,
                                                      "x_b64": b64(x), "shape": list(x.shape),
                                                      "mask": True})
            if not ck.check(name + "_forward", s1 == 200 and "mask_b64" in f, f):
                continue
            words = np.frombuffer(base64.b64decode(f["mask_b64"]), "<u4")
            ck.check(name + "_bits", np.array_equal(words, expected_mask(act, x, conv)),
                     "got %d words" % words.size)
            s2, b, _ = d.call("POST", "/v1/backward", {
                "activation": act, "conventions": conv, "from": "mask",
                "mask_b64": f["mask_b64"], "dy_b64": b64(dy), "shape": list(x.shape)})
            s3, c, _ = d.call("POST", "/v1/backward", {
                "activation": act, "conventions": conv, "x_b64": b64(x), "dy_b64": b64(dy),
                "shape": list(x.shape)})
            ok = s2 == 200 and s3 == 200
            if ok:
                dxm = np.frombuffer(base64.b64decode(b["dx_b64"]), "<f4")
                dxx = np.frombuffer(base64.b64decode(c["dx_b64"]), "<f4")
                finite = ~np.isnan(x.ravel()) if conv == "ieee" else slice(None)
                ok = (same_bits(dxm, want_dx(act, x, dy, conv))
                      and same_bits(dxm[finite], dxx[finite]) and "dalpha" not in b)
            ck.check(name + "_backward", ok, "%s %s" % (b, c) if not ok else "")
    # a batch mixing a mask job with packed ones
    xs = np.nan_to_num(x.ravel()[:40], nan=0.5, posinf=3.0, neginf=-3.0).tolist()
    s, r, _ = d.call("POST", "/v1/batch", {"jobs": [
        {"op": "forward", "activation": "prelu", "x": xs, "mask": True},
        {"op": "forward", "activation": "prelu", "x": xs},
        {"op": "backward", "activation": "relu", "from": "mask", "mask_b64": b64([1], "<u4"),
         "dy": [1.0, 2.0]}]})
    res = r.get("results", []) if isinstance(r, dict) else []
    ok = s == 200 and len(res) == 3 and "mask_b64" in res[0] and "mask_b64" not in res[1]
    ok = ok and res[2].get("dx") == [1.0, 0.0]
    ck.check("v1_batch_mask", ok, r)
    errors = [
        ({"activation": "relu", "from": "mask", "dy": [1.0]}, "/v1/backward", "give mask_b64"),
        ({"activation": "relu", "from": "mask", "mask_b64": b64([1, 2], "<u4"), "dy": [1.0]},
         "/v1/backward", "needs 4 (1 uint32 words)"),
        ({"activation": "relu", "from": "mask", "mask_b64": b64([1], "<u4"), "dy": [1.0],
          "x": [1.0]}, "/v1/backward", "x and y are not used"),
        ({"activation": "relu", "mask": True, "x": [1.0], "dy": [1.0]}, "/v1/backward",
         "asks a forward for the packed mask"),
        ({"activation": "relu", "mask": "yes", "x": [1.0]}, "/v1/forward", "true or false"),
        ({"activation": "prelu", "from": "mask", "mask_b64": "!!", "dy": [1.0]}, "/v1/backward",
         "mask_b64"),
    ]
    for i, (body, path, words) in enumerate(errors):
        s, r, _ = d.call("POST", path, body)
        msg = r.get("error", {}).get("message", "") if isinstance(r, dict) else str(r)
        ck.check("v1_mask_error_%d" % i, s == 400 and words in msg, "%s %s" % (s, r))
    s, r, _ = d.call("POST", "/v1/compare", {"activation": "relu", "op": "forward",
                                              "x": [1.0], "mask": True})
    ck.check("v1_compare_refuses_mask", s == 400, r)


def v2_infer(d, model, header, binary=b""):
    body = json.dumps(header).encode()
    headers = {"Content-Type": "application/json"}
    if binary:
        headers = {"Content-Type": "application/octet-stream",
                   "Inference-Header-Content-Length": str(len(body))}
    status, hdrs, data = d.request("POST", "/v2/models/%s/infer" % model, body + binary, headers)
    n = int(hdrs.get("inference-header-content-length", len(data)))
    return status, json.loads(data[:n]), data[n:]


def check_v2(ck, d, rng):
    x = sample(rng, (2, 5, 13))
    dy = rng.standard_normal(x.shape).astype(F32)
    shape = list(x.shape)
    for act in ACTS:
        want = expected_mask(act, x, "pytorch")
        planes = 2 if act == "phased_relu" else 1
        s, r, _ = v2_infer(d, act, {"inputs": [{"name": "x", "shape": shape, "datatype": "FP32",
                                                 "data": x.ravel().tolist()}],
                                     "outputs": [{"name": "y"}, {"name": "mask"}]})
        m = r["outputs"][1] if s == 200 else {}
        got = np.array(m.get("data", []), np.uint8)
        ok = (s == 200 and m.get("datatype") == "UINT8" and m.get("shape") == [planes, want.size * 4 // planes]
              and np.array_equal(got.view("<u4") if got.size % 4 == 0 else got, want))
        ck.check("v2_mask_json_" + act, ok, r)
        s, r, tail = v2_infer(d, act, {"inputs": [{"name": "x", "shape": shape, "datatype": "FP32",
                                                    "data": x.ravel().tolist()}],
                                        "outputs": [{"name": "mask", "parameters": {"binary_data": True}}]})
        ck.check("v2_mask_binary_" + act,
                 s == 200 and np.array_equal(np.frombuffer(tail, "<u4"), want), r)
        dx_want = want_dx(act, x, dy, "pytorch")
        dy_in = {"name": "dy", "shape": shape, "datatype": "FP32", "data": dy.ravel().tolist()}
        s, r, _ = v2_infer(d, act + "_backward", {"inputs": [
            {"name": "mask", "shape": [planes, want.size * 4 // planes], "datatype": "UINT8",
             "data": want.view(np.uint8).tolist()}, dy_in]})
        ok = s == 200 and [o["name"] for o in r["outputs"]] == ["dx"]
        ck.check("v2_backward_uint8_" + act,
                 ok and same_bits(r["outputs"][0]["data"], dx_want), r if not ok else "")
        bits = np.unpackbits(want.view(np.uint8).reshape(planes, -1), axis=1,
                             bitorder="little")[:, :x.size].astype(np.uint8)
        s, r, _ = v2_infer(d, act + "_backward", {"inputs": [
            {"name": "mask", "shape": ([2] if planes == 2 else []) + shape, "datatype": "BOOL",
             "parameters": {"binary_data_size": bits.size}}, dy_in]}, bits.tobytes())
        ck.check("v2_backward_bool_" + act,
                 s == 200 and same_bits(r["outputs"][0]["data"], dx_want), r)
    errors = [
        ("prelu_backward", [{"name": "mask", "shape": [3], "datatype": "UINT8", "data": [1, 2, 3]}],
         "needs 4"),
        ("prelu_backward", [{"name": "mask", "shape": [4], "datatype": "UINT8",
                             "data": [255, 0, 0, 0]}], "bits set past element 4"),
        ("prelu_backward", [{"name": "mask", "shape": [4], "datatype": "FP32", "data": [1, 0, 0, 0]}],
         "expected UINT8"),
        ("prelu", [{"name": "mask", "shape": [4], "datatype": "UINT8", "data": [1, 0, 0, 0]}],
         "has no input"),
        ("prelu_backward", [{"name": "mask", "shape": [4], "datatype": "UINT8", "data": [1, 0, 0, 0]},
                            {"name": "x", "shape": [4], "datatype": "FP32", "data": [1, 1, 1, 1]}],
         "not both"),
    ]
    for i, (model, inputs, words) in enumerate(errors):
        dy4 = {"name": "dy", "shape": [4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]}
        s, r, _ = v2_infer(d, model, {"inputs": inputs + ([dy4] if "backward" in model else [])})
        ck.check("v2_mask_error_%d" % i, s == 400 and words in r.get("error", ""), r)
    s, r, _ = v2_infer(d, "prelu_backward", {"inputs": [
        {"name": "mask", "shape": [4], "datatype": "UINT8", "data": [5, 0, 0, 0]},
        {"name": "dy", "shape": [4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]}],
        "outputs": [{"name": "dalpha"}]})
    ck.check("v2_mask_no_dalpha", s == 400 and "needs x" in r.get("error", ""), r)
    check_tritonclient(ck, d, x)


def check_tritonclient(ck, d, x):
    try:
        import tritonclient.http as httpclient
    except ImportError:
        ck.skip("v2_mask_tritonclient", "tritonclient is not installed")
        return
    client = httpclient.InferenceServerClient("127.0.0.1:%d" % d.port)
    inp = httpclient.InferInput("x", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    outs = [httpclient.InferRequestedOutput("mask", binary_data=True)]
    res = client.infer("phased_relu", [inp], outputs=outs)
    got = res.as_numpy("mask")
    want = expected_mask("phased_relu", x, "pytorch")
    ck.check("v2_mask_tritonclient", got is not None and got.dtype == np.uint8
             and np.array_equal(got.ravel().view("<u4"), want), repr(got))


def main():
    ck = Checks()
    rng = np.random.default_rng(2026)
    check_cli(ck, rng)
    d = Daemon()
    try:
        check_v1(ck, d, rng)
        check_v2(ck, d, rng)
    finally:
        rc = d.stop()
        ck.check("daemon_clean_exit", rc == 0, d.stderr()[-2000:])
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
