#!/usr/bin/env python3
"""test_kserve.py - end-to-end: leakycld's Open Inference Protocol (KServe v2)
driven by NVIDIA's own client, tritonclient[http] (tests/requirements.txt):
health, server and model metadata, the repository index, inference on every
model with JSON and binary tensors, against /v1's answers for the same data
and a float64 oracle written here (bit for bit for y and dx; dalpha within
1e-6 * sum|terms|), and bad requests, which must raise with a useful message
and leave the daemon serving. Runs against the ASan/UBSan daemon too."""
import base64
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, Daemon, b64_floats, daemon_builds, floats_b64  # noqa: E402

try:
    import numpy as np
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException
except ImportError as exc:  # a missing client is a failure, never a skip
    print("FAIL tritonclient_import")
    print("  cannot import tritonclient.http or numpy (%s): run with the venv of "
          "scripts/test-pydeps.sh (build/test-venv/bin/python), which installs "
          "tests/requirements.txt" % exc)
    print("# 0 passed, 1 failed")
    sys.exit(1)

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "phased_relu")
MODELS = ACTIVATIONS + tuple(a + "_backward" for a in ACTIVATIONS)
F32 = np.float32


# ---- the float64 oracle (the README's semantics table), inputs and products in float32 ----

def channels_of(shape, axis):
    """(per-element channel index, channel count) of a C-order shape."""
    axis = axis % len(shape)
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n) // inner) % shape[axis], shape[axis]


def slopes(activation, alpha, ch):
    """The float32 slope of every element."""
    if activation == "relu":
        return np.zeros(len(ch), dtype=F32)
    a = np.asarray(alpha, dtype=F32).reshape(-1)
    return a[ch] if a.size > 1 else np.full(len(ch), a[0], dtype=F32)


def oracle(activation, x, dy, alpha, beta, ch):
    """y (dy None) or dx, flat float32 under the default profile (pytorch):
    the branch picked in float64, the product a*v rounded once to float32
    (exact as a float64 product), where()'s +0 fills added in."""
    x = x.reshape(-1).astype(np.float64)
    g = x if dy is None else dy.reshape(-1).astype(np.float64)
    a = slopes(activation, alpha, ch).astype(np.float64)
    with np.errstate(invalid="ignore"):
        scaled = (a * g).astype(F32)
        if activation == "phased_relu":
            t = np.float64(F32(-F32(beta)) / F32(alpha))
            if dy is None:  # NaN takes the zero branch
                return np.where(x >= 0, g.astype(F32), np.where(x >= t, scaled, F32(0))).astype(F32)
            band = (x < 0) & (x >= t)
            return (np.where(x >= 0, g, 0.0) +
                    (np.where(band, g, 0.0) * a).astype(F32).astype(np.float64)).astype(F32)
        if activation == "relu":
            if dy is None:  # clamp_min: -0 and NaN pass
                return np.where(x < 0, F32(0), g.astype(F32)).astype(F32)
            return np.where((x > 0) | np.isnan(x), g.astype(F32), F32(0)).astype(F32)
        return np.where(x > 0, g.astype(F32), scaled).astype(F32)


def oracle_dalpha(activation, x, dy, alpha, beta, ch, n_ch):
    """(dalpha, sum|terms|) per alpha entry, in float64."""
    x = x.reshape(-1).astype(np.float64)
    terms = x * dy.reshape(-1).astype(np.float64)
    if activation == "prelu":
        terms = np.where(~(x > 0), terms, 0.0)
    else:  # where(band, dy, +0) * x: 0 * Inf is NaN
        t = np.float64(F32(-F32(beta)) / F32(alpha))
        inside = (x >= t) & (x < 0)
        with np.errstate(invalid="ignore"):
            terms = np.where(inside, dy.reshape(-1).astype(np.float64), 0.0) * x
    idx = ch if n_ch > 1 else np.zeros(len(ch), dtype=np.int64)
    return (np.bincount(idx, weights=terms, minlength=n_ch),
            np.bincount(idx, weights=np.abs(terms), minlength=n_ch))


def bits(a):
    return np.asarray(a, dtype=F32).reshape(-1).view(np.uint32)


def same_bits(a, b):
    """Equal float32 bit patterns (any NaN equal to any NaN)."""
    a = np.asarray(a, dtype=F32).reshape(-1)
    b = np.asarray(b, dtype=F32).reshape(-1)
    if a.shape != b.shape:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (bits(a) == bits(b))))


def diff(a, b):
    a = np.asarray(a, dtype=F32).reshape(-1)
    b = np.asarray(b, dtype=F32).reshape(-1)
    if a.shape != b.shape:
        return "shapes %s vs %s" % (a.shape, b.shape)
    bad = [i for i in range(a.size)
           if not (np.isnan(a[i]) and np.isnan(b[i])) and bits(a[i:i + 1]) != bits(b[i:i + 1])]
    return "first differences: %s" % [(i, float(a[i]), float(b[i])) for i in bad[:5]]


# ---- the cases ----

def edge_x(rng, shape):
    """Random values with zeros of both signs, NaN, infinities and subnormals."""
    n = int(np.prod(shape))
    x = (rng.standard_normal(n) * 4).astype(F32)
    edges = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, -5.0, -4.999],
                     dtype=F32)
    x[:len(edges)] = edges[:n]
    rng.shuffle(x)
    return x.reshape(shape)


def finite_x(rng, shape):
    n = int(np.prod(shape))
    x = (rng.standard_normal(n) * 4).astype(F32)
    x[:2] = [0.0, -0.0]
    rng.shuffle(x)
    return x.reshape(shape)


def cases(rng):
    """(name, activation, op, x, dy, params, alpha tensor or None, axis)."""
    shape = (2, 3, 4)
    out = []
    for act in ACTIVATIONS:
        params, alpha_t = {}, None
        if act == "leaky_relu":
            params = {"alpha": 0.2}
        elif act == "prelu":
            alpha_t = np.array([0.25, -0.5, 1.5], dtype=F32)
        elif act == "phased_relu":
            params = {"alpha": 0.1, "beta": 0.5}
        out.append(("%s_fwd" % act, act, "forward", edge_x(rng, shape), None, params, alpha_t, 1))
        out.append(("%s_bwd" % act, act, "backward", finite_x(rng, shape),
                    (rng.standard_normal(24)).astype(F32).reshape(shape), params, alpha_t, 1))
    # NHWC-style channel axis, a shared [1] alpha tensor, defaults
    out.append(("prelu_bwd_axis_last", "prelu", "backward", finite_x(rng, (2, 2, 3)),
                rng.standard_normal(12).astype(F32).reshape(2, 2, 3), {"channel_axis": -1},
                np.array([0.1, 0.2, 0.3], dtype=F32), -1))
    out.append(("prelu_fwd_shared_tensor", "prelu", "forward", edge_x(rng, (3, 5)), None, {},
                np.array([0.3], dtype=F32), 1))
    out.append(("leaky_relu_fwd_default", "leaky_relu", "forward", edge_x(rng, (10,)), None, {},
                None, 0))
    out.append(("phased_relu_bwd_default", "phased_relu", "backward", finite_x(rng, (4, 8)),
                rng.standard_normal(32).astype(F32).reshape(4, 8), {}, None, 1))
    return out


DEFAULT_ALPHA = {"relu": 0.0, "leaky_relu": 0.01, "prelu": 0.25, "phased_relu": 0.1}


def make_inputs(x, dy, alpha_t, binary, dtype="FP32"):
    tensors = [("x", x)] + ([("dy", dy)] if dy is not None else []) + \
              ([("alpha", alpha_t)] if alpha_t is not None else [])
    inputs = []
    for name, value in tensors:
        inp = httpclient.InferInput(name, list(value.shape), dtype)
        inp.set_data_from_numpy(value, binary_data=binary)
        inputs.append(inp)
    return inputs


def dy_input(value, dtype, name="dy"):
    """One binary input of the given datatype."""
    inp = httpclient.InferInput(name, list(value.shape), dtype)
    inp.set_data_from_numpy(value, binary_data=True)
    return inp


def half_checks(ck, tag, d, client, rng):
    """FP16 and BF16 tensors (binary data only): y and dx are the float32
    formulas on the widened inputs, rounded to the type (numpy's and
    ml_dtypes' conversions round to nearest even), dalpha stays FP32; and
    /v1 with the same dtype answers the same bits."""
    import ml_dtypes  # installed with tritonclient[http]
    kinds = {"FP16": (np.float16, "float16"), "BF16": (ml_dtypes.bfloat16, "bfloat16")}
    for wire, (npt, v1_name) in kinds.items():
        for act, op, params in (("leaky_relu", "forward", {"alpha": 0.2}),
                                ("phased_relu", "forward", {"alpha": 0.5, "beta": 1.0}),
                                ("prelu", "backward", {"alpha": 0.25})):
            shape = (3, 4, 5)
            x = (rng.integers(-64, 64, size=shape) / 8.0).astype(npt)
            dy = (rng.integers(-32, 32, size=shape) / 16.0).astype(npt)
            model = act if op == "forward" else act + "_backward"
            inputs = [dy_input(x, wire, "x")] + ([dy_input(dy, wire)] if op == "backward" else [])
            outs = [httpclient.InferRequestedOutput("y" if op == "forward" else "dx",
                                                    binary_data=True)]
            if op == "backward":
                outs.append(httpclient.InferRequestedOutput("dalpha", binary_data=False))
            label = "%s%s_%s_%s" % (tag, wire.lower(), act, op)
            try:
                res = client.infer(model, inputs, outputs=outs, parameters=params)
            except InferenceServerException as exc:
                ck.check(label, False, exc.message())
                continue
            got = res.as_numpy("y" if op == "forward" else "dx")
            ch, _ = channels_of(shape, 1)
            want32 = oracle(act, x.astype(F32), None if op == "forward" else dy.astype(F32),
                            params["alpha"], params.get("beta", 0.5), ch)
            want = want32.astype(npt)
            ck.check(label + "_bits", got is not None and got.dtype == np.dtype(npt) and
                     np.array_equal(got.reshape(-1).view(np.uint16), want.view(np.uint16)),
                     (got, want))
            if op == "backward":
                exact, mag = oracle_dalpha(act, x.astype(F32), dy.astype(F32), params["alpha"],
                                           0.5, ch * 0, 1)
                da = res.as_numpy("dalpha")
                ck.check(label + "_dalpha_fp32", da is not None and da.dtype == F32 and
                         abs(float(da[0]) - exact[0]) <= 1e-6 * max(mag[0], 1e-30), (da, exact))
            # /v1 with the same dtype: the same bits.
            job = dict(params, activation=act, shape=list(shape), dtype=v1_name,
                       x_b64=base64.b64encode(x.tobytes()).decode())
            if op == "backward":
                job["dy_b64"] = base64.b64encode(dy.tobytes()).decode()
            st, body, raw = d.call("POST", "/v1/%s" % op, job)
            v1 = base64.b64decode(body.get("y_b64" if op == "forward" else "dx_b64", "")) \
                if st == 200 else b""
            ck.check(label + "_same_as_v1", got is not None and v1 == got.tobytes(), raw[:300])


def v1_answer(d, act, op, x, dy, params, alpha_t, axis):
    """/v1's answer for the same job, tensors as exact base64."""
    job = {"activation": act, "x_b64": b64_floats(x.reshape(-1).tolist()), "dtype": "float32",
           "shape": list(x.shape), "channel_axis": axis}
    if dy is not None:
        job["dy_b64"] = b64_floats(dy.reshape(-1).tolist())
    if "alpha" in params:
        job["alpha"] = params["alpha"]
    if alpha_t is not None:
        job["alpha"] = alpha_t.tolist()
    if "beta" in params:
        job["beta"] = params["beta"]
    st, body, raw = d.call("POST", "/v1/%s" % op, job)
    if st != 200:
        raise RuntimeError("/v1/%s answered %s: %s" % (op, st, raw[:300]))
    out = np.array(floats_b64(body["y_b64" if op == "forward" else "dx_b64"]), dtype=F32)
    dalpha = np.array(body["dalpha"], dtype=F32) if "dalpha" in body else None
    return out, dalpha


def infer_checks(ck, tag, d, client, rng):
    for name, act, op, x, dy, params, alpha_t, axis in cases(rng):
        model = act if op == "forward" else act + "_backward"
        ch, n_ch = channels_of(x.shape, axis)
        alpha = alpha_t if alpha_t is not None else params.get("alpha", DEFAULT_ALPHA[act])
        beta = params.get("beta", 0.5)
        want = oracle(act, x, dy, alpha, beta, ch)
        v1_out, v1_dalpha = v1_answer(d, act, op, x, dy, params, alpha_t, axis)
        out_name = "y" if op == "forward" else "dx"
        has_dalpha = op == "backward" and act in ("prelu", "phased_relu")
        for mode in ("json", "binary", "mixed", "default_outputs"):
            inputs = make_inputs(x, dy, alpha_t, binary=mode in ("binary", "default_outputs"))
            if mode == "mixed":  # x binary, the rest JSON; outputs one of each
                inputs[0].set_data_from_numpy(x, binary_data=True)
            outputs = None
            if mode != "default_outputs":
                names = [out_name] + (["dalpha"] if has_dalpha else [])
                outputs = [httpclient.InferRequestedOutput(
                    n, binary_data=(mode == "binary" or (mode == "mixed" and i == 0)))
                    for i, n in enumerate(names)]
            label = "%s%s_%s" % (tag, name, mode)
            try:
                res = client.infer(model, inputs, outputs=outputs, parameters=params or None,
                                   request_id="req-" + name)
            except InferenceServerException as exc:
                ck.check(label, False, exc)
                continue
            got = res.as_numpy(out_name)
            ck.check(label + "_shape", got is not None and got.shape == x.shape and
                     got.dtype == F32, None if got is None else (got.shape, got.dtype))
            ck.check(label + "_oracle_bits", got is not None and same_bits(got, want),
                     got is not None and diff(got, want))
            ck.check(label + "_v1_bits", got is not None and same_bits(got, v1_out),
                     got is not None and diff(got, v1_out))
            resp = res.get_response()
            ck.check(label + "_meta", resp.get("model_name") == model and
                     resp.get("model_version") == "1" and resp.get("id") == "req-" + name,
                     json.dumps(resp)[:300])
            if not has_dalpha:
                ck.check(label + "_no_dalpha", res.as_numpy("dalpha") is None)
                continue
            got_da = res.as_numpy("dalpha")
            n_alpha = alpha_t.size if alpha_t is not None else 1
            exact, mag = oracle_dalpha(act, x, dy, alpha, beta, ch if n_alpha > 1 else ch * 0,
                                       n_alpha)
            ok = got_da is not None and got_da.shape == (n_alpha,) and bool(
                np.all(np.abs(got_da.astype(np.float64) - exact) <= 1e-6 * mag + 1e-30))
            ck.check(label + "_dalpha_oracle", ok, (got_da, exact, mag))
            ck.check(label + "_dalpha_v1_bits", got_da is not None and
                     same_bits(got_da, v1_dalpha), (got_da, v1_dalpha))


def metadata_checks(ck, tag, client):
    ck.check(tag + "server_live", client.is_server_live())
    ck.check(tag + "server_ready", client.is_server_ready())
    meta = client.get_server_metadata()
    ck.check(tag + "server_metadata", meta.get("name") == "leakycld" and
             "binary_tensor_data" in meta.get("extensions", []) and meta.get("version"), meta)
    index = client.get_model_repository_index()
    ck.check(tag + "repository_index",
             sorted(m["name"] for m in index) == sorted(MODELS) and
             all(m.get("state") == "READY" and m.get("version") == "1" for m in index), index)
    for model in MODELS:
        act = model.replace("_backward", "")
        backward = model.endswith("_backward")
        ck.check(tag + model + "_ready", client.is_model_ready(model) and
                 client.is_model_ready(model, model_version="1"))
        meta = client.get_model_metadata(model)
        want_in = ["x"] + (["dy"] if backward else []) + (["alpha"] if act != "relu" else [])
        want_out = (["dx"] if backward else ["y"]) + \
            (["dalpha"] if backward and act in ("prelu", "phased_relu") else [])
        tensors = meta.get("inputs", []) + meta.get("outputs", [])
        ck.check(tag + model + "_metadata",
                 meta.get("name") == model and meta.get("versions") == ["1"] and
                 meta.get("platform") and [t["name"] for t in meta["inputs"]] == want_in and
                 [t["name"] for t in meta["outputs"]] == want_out and
                 all(t["datatype"] == "FP32" and t["shape"] == [-1] for t in tensors), meta)
        ck.check(tag + model + "_metadata_v1",
                 client.get_model_metadata(model, model_version="1") == meta)
    ck.check(tag + "unknown_model_not_ready", not client.is_model_ready("gelu"))
    ck.check(tag + "unknown_version_not_ready", not client.is_model_ready("relu", model_version="2"))


def raises(ck, label, fn, status, *words):
    try:
        fn()
    except InferenceServerException as exc:
        msg = exc.message()
        ok = str(exc.status()) == str(status) and all(w in msg for w in words)
        ck.check(label, ok, "status %s message %r (want %s and %s)" %
                 (exc.status(), msg, status, words))
        return
    ck.check(label, False, "no exception")


def raw_infer(d, model, header, binary=b"", header_len=None):
    """POSTs a hand-made body; returns (status, parsed JSON or text)."""
    head = json.dumps(header).encode() if not isinstance(header, bytes) else header
    hdrs = {}
    if binary or header_len is not None:
        hdrs["Inference-Header-Content-Length"] = str(
            len(head) if header_len is None else header_len)
    st, body, _ = d.call("POST", "/v2/models/%s/infer" % model, raw=head + binary, headers=hdrs)
    return st, body


def error_checks(ck, tag, d, client):
    x = np.array([-1.0, 0.5, 2.0, -3.0], dtype=F32)
    raises(ck, tag + "err_unknown_model",
           lambda: client.infer("gelu", make_inputs(x, None, None, True)), 404, "unknown model",
           "gelu")
    raises(ck, tag + "err_unknown_model_metadata", lambda: client.get_model_metadata("gelu"), 404,
           "unknown model")
    raises(ck, tag + "err_unknown_version",
           lambda: client.infer("relu", make_inputs(x, None, None, True), model_version="7"),
           404, "no version")
    xi = np.array([1, -2], dtype=np.int32)
    raises(ck, tag + "err_wrong_datatype",
           lambda: client.infer("relu", make_inputs(xi, None, None, False, "INT32")), 400,
           "INT32", "FP32")
    xh = x.astype(np.float16)
    raises(ck, tag + "err_fp16_output_as_json",
           lambda: client.infer("relu", make_inputs(xh, None, None, True, "FP16"),
                                outputs=[httpclient.InferRequestedOutput("y", binary_data=False)]),
           400, "FP16", "binary_data")
    raises(ck, tag + "err_fp16_dy_fp32_x",
           lambda: client.infer("leaky_relu_backward",
                                [dy_input(xh, "FP16", "x"), dy_input(x, "FP32")]),
           400, "same datatype")
    raises(ck, tag + "err_fp16_alpha",
           lambda: client.infer("prelu", make_inputs(xh, None, None, True, "FP16") +
                                [dy_input(np.array([0.25], dtype=np.float16), "FP16", "alpha")]),
           400, "alpha must be FP32")
    raises(ck, tag + "err_fp16_json",
           lambda: client.infer("relu", make_inputs(xh, None, None, False, "FP16")), 400,
           "FP16", "binary")

    def shape_mismatch(binary):
        inputs = make_inputs(x, None, None, binary)
        inputs[0].set_shape([5])
        return client.infer("relu", inputs)
    raises(ck, tag + "err_shape_vs_json_data", lambda: shape_mismatch(False), 400,
           "shape holds 5 elements but data has 4")
    raises(ck, tag + "err_shape_vs_binary_size", lambda: shape_mismatch(True), 400,
           "binary_data_size", "20 bytes")
    raises(ck, tag + "err_missing_dy",
           lambda: client.infer("prelu_backward", make_inputs(x, None, None, True)), 400,
           "input dy is required")
    raises(ck, tag + "err_dy_shape",
           lambda: client.infer("relu_backward",
                                make_inputs(x, x[:3].copy(), None, True)), 400, "dy has shape [3]")
    raises(ck, tag + "err_unknown_input",
           lambda: client.infer("relu", make_inputs(x, None, x.copy(), True)), 400,
           "has no input \"alpha\"")
    raises(ck, tag + "err_unknown_output",
           lambda: client.infer("relu", make_inputs(x, None, None, True),
                                outputs=[httpclient.InferRequestedOutput("dalpha")]), 400,
           "has no output \"dalpha\"")
    raises(ck, tag + "err_relu_alpha",
           lambda: client.infer("relu", make_inputs(x, None, None, True),
                                parameters={"alpha": 0.5}), 400, "relu takes no alpha")
    raises(ck, tag + "err_alpha_channels",
           lambda: client.infer("prelu", make_inputs(x.reshape(2, 2), None,
                                                     np.ones(3, dtype=F32), True)), 400,
           "alpha has 3 values but the channel axis has 2 channels")
    raises(ck, tag + "err_alpha_twice",
           lambda: client.infer("prelu", make_inputs(x, None, np.ones(1, dtype=F32), True),
                                parameters={"alpha": 0.5}), 400, "not both")
    raises(ck, tag + "err_bad_axis",
           lambda: client.infer("prelu", make_inputs(x, None, None, True),
                                parameters={"channel_axis": 3}), 400, "axis")
    raises(ck, tag + "err_unknown_parameter",
           lambda: client.infer("leaky_relu", make_inputs(x, None, None, True),
                                parameters={"aplha": 0.5}), 400, "unknown parameter \"aplha\"")

    # hand-made bodies: sizes tritonclient would never send
    base = {"inputs": [{"name": "x", "shape": [4], "datatype": "FP32",
                        "parameters": {"binary_data_size": 16}}]}
    payload = struct.pack("<4f", *x.tolist())
    st, body = raw_infer(d, "relu", base, payload[:12])
    ck.check(tag + "err_binary_short", st == 400 and "add up to 16 bytes, but 12" in
             body.get("error", ""), (st, body))
    st, body = raw_infer(d, "relu", base, payload + b"\0\0\0\0")
    ck.check(tag + "err_binary_long", st == 400 and "but 20 bytes" in body.get("error", ""),
             (st, body))
    st, body = raw_infer(d, "relu", base, payload, header_len=10 ** 6)
    ck.check(tag + "err_header_length_over_body", st == 400 and
             "Inference-Header-Content-Length" in body.get("error", ""), (st, body))
    st, body = raw_infer(d, "relu", base, payload, header_len="12x")
    ck.check(tag + "err_header_length_not_number", st == 400 and "not a number" in
             body.get("error", ""), (st, body))
    st, body = raw_infer(d, "relu", base)
    ck.check(tag + "err_binary_missing", st == 400 and "add up to 16 bytes, but 0" in
             body.get("error", ""), (st, body))
    st, body = raw_infer(d, "relu", b'{"inputs":[{"name":"x",')
    ck.check(tag + "err_malformed_json", st == 400 and "malformed JSON" in body.get("error", ""),
             (st, body))
    st, body = raw_infer(d, "relu", {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32",
                                                 "data": [1, True]}]})
    ck.check(tag + "err_data_not_number", st == 400 and "data[1] is not a number" in
             body.get("error", ""), (st, body))
    st, body = raw_infer(d, "relu", {"inputs": []})
    ck.check(tag + "err_no_inputs", st == 400 and "inputs" in body.get("error", ""), (st, body))
    st, body = raw_infer(d, "relu", {"inputs": [{"name": "x", "shape": [1 << 40, 1 << 40],
                                                 "datatype": "FP32", "data": [1]}]})
    ck.check(tag + "err_too_many_elements", st == 413 and "--max-elements" in
             body.get("error", ""), (st, body))
    st, _, raw = d.request("GET", "/v2/models/relu/infer")
    ck.check(tag + "err_infer_get_405", st == 405 and isinstance(json.loads(raw)["error"], str),
             (st, raw))
    st, _, raw = d.request("GET", "/v2/nothing")
    ck.check(tag + "err_unknown_v2_path", st == 404 and isinstance(json.loads(raw)["error"], str),
             (st, raw))
    # bare NaN/Infinity (what tritonclient's rapidjson writes) and our quoted ones
    st, body = raw_infer(d, "relu", b'{"inputs":[{"name":"x","shape":[4],"datatype":"FP32",'
                                    b'"data":[NaN,-Infinity,"Infinity",-1]}]}')
    ck.check(tag + "nonfinite_json_literals",
             st == 200 and body["outputs"][0]["data"] == ["NaN", 0, "Infinity", 0], (st, body))
    ck.check(tag + "survives_bad_requests", client.is_server_live() and d.alive())


def token_checks(ck):
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "token")
    with open(path, "w") as f:
        f.write("s3cret\n")
    os.chmod(path, 0o600)
    d = Daemon("--token-file", path)
    try:
        client = httpclient.InferenceServerClient("127.0.0.1:%d" % d.port)
        raises(ck, "token_missing_401", lambda: client.get_server_metadata(), 401, "token")
        auth = {"Authorization": "Bearer s3cret"}
        x = np.array([-2.0, 3.0], dtype=F32)
        res = client.infer("relu", make_inputs(x, None, None, True), headers=auth)
        ck.check("token_infer", same_bits(res.as_numpy("y"), [0.0, 3.0]), res.as_numpy("y"))
        client.close()
    finally:
        d.stop()
        os.unlink(path)
        os.rmdir(tmp)


def main():
    ck = Checks()
    for tag, binary in daemon_builds(ck):
        d = Daemon(binary=binary)
        try:
            client = httpclient.InferenceServerClient("127.0.0.1:%d" % d.port,
                                                      network_timeout=120.0)
            metadata_checks(ck, tag, client)
            infer_checks(ck, tag, d, client, np.random.default_rng(7))
            half_checks(ck, tag, d, client, np.random.default_rng(11))
            error_checks(ck, tag, d, client)
            st, _, raw = d.request("GET", "/metrics")
            ck.check(tag + "metrics_v2_label", st == 200 and
                     b"/v2/models/{name}/infer" in raw, raw[-600:])
            client.close()
        finally:
            rc = d.stop()
            ck.check(tag + "daemon_clean_exit", rc == 0, "exit %s\n%s" % (rc, d.stderr()[-2000:]))
    token_checks(ck)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
