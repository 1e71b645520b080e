#!/usr/bin/env python3
"""test_api.py - end-to-end: every leakycld endpoint against float64 oracles
written here (inputs and outputs rounded to float32), NaN/Inf transport,
shortest float printing, base64 round trips, batches (isolation, packing)."""
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import (Checks, Daemon, b64_floats, decode_json_floats, f32, floats_b64,  # noqa: E402
                     same_f32)

NAN = float("nan")
INF = float("inf")


def channel_of(i, channels, inner):
    return (i // inner) % channels


def view(shape, axis):
    rank = len(shape)
    if rank == 0:
        return 1, 1, 1
    if axis < 0:
        axis += rank
    outer = 1
    for d in shape[:axis]:
        outer *= d
    inner = 1
    for d in shape[axis + 1:]:
        inner *= d
    return outer, shape[axis], inner


def slope(activation, alpha, c):
    if activation == "relu":
        return 0.0
    if isinstance(alpha, list):
        return f32(alpha[c] if len(alpha) > 1 else alpha[0])
    return f32(alpha)


def oracle_forward(activation, x, alpha, beta, channels, inner, grad_input=None):
    """y (or dx when grad_input is dy) by the README's semantics table, in float64 on float32 inputs."""
    out = []
    t = None
    if activation == "phased_relu":
        a = slope(activation, alpha, 0)
        t = f32(-f32(beta) / a) if a != 0 else (-INF if beta > 0 else NAN)
    for i, v in enumerate(x):
        g = v if grad_input is None else grad_input[i]
        a = slope(activation, alpha, channel_of(i, channels, inner))
        if math.isnan(v):
            out.append(NAN)
        elif activation == "phased_relu":
            if v >= 0:
                out.append(g)
            elif t is not None and not math.isnan(t) and v >= t:
                out.append(f32(a * g))
            else:
                out.append(0.0)
        elif v > 0:
            out.append(g)
        else:
            out.append(f32(a * g) if activation != "relu" else 0.0)
    return out


def oracle_grads(activation, x, dy, alpha, beta, channels, inner, per_channel):
    n_ch = channels if per_channel else 1
    dalpha = [0.0] * n_ch
    terms = [0.0] * n_ch
    neg = [0] * n_ch
    mag = [0.0] * n_ch
    count = [0] * n_ch
    a0 = slope(activation, alpha, 0)
    t = f32(-f32(beta) / a0) if activation == "phased_relu" and a0 != 0 else None
    for i, v in enumerate(x):
        c = channel_of(i, channels, inner) if per_channel else 0
        count[c] += 1
        if v < 0:
            neg[c] += 1
            mag[c] += abs(dy[i] * v)
        if activation == "prelu":
            inside = not v > 0
        else:
            inside = t is not None and t <= v < 0
        if inside:
            dalpha[c] += dy[i] * v
            terms[c] += abs(dy[i] * v)
    return (dalpha, terms, [neg[c] / count[c] for c in range(n_ch)],
            [mag[c] / count[c] for c in range(n_ch)])


def same_value(a, b):
    """Equal as float32, with +0 == -0: the sign of a zero product is checked
    separately (nan_inf_transport_leaky), not in the random sweeps."""
    if not isinstance(a, str) and not isinstance(b, str) and a == 0 and b == 0:
        return True
    return same_f32(a, b)


def close(a, b, tol):
    return abs(a - b) <= tol


def main():
    ck = Checks()
    rnd = random.Random(1234)
    d = Daemon()
    try:
        run(ck, d, rnd)
        check_mixed_batch_matches_single_jobs(ck, d, rnd)
    finally:
        rc = d.stop()
        ck.check("sigterm_exit_status_0", rc == 0, "exit status %s\n%s" % (rc, d.stderr()[-2000:]))
    return ck.done()


def rand_x(rnd, n):
    vals = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.05:
            vals.append(0.0)
        else:
            vals.append(f32(rnd.uniform(-8, 8)))
    return vals


def run(ck, d, rnd):
    st, body, raw = d.call("GET", "/v1/health")
    ck.check("health", st == 200 and body == {"status": "ok"}, raw)

    st, body, raw = d.call("GET", "/v1/activations")
    names = [a["name"] for a in body["activations"]] if st == 200 else []
    ck.check("activations_names", names == ["relu", "leaky_relu", "prelu", "phased_relu"], raw)
    gains = {a["name"]: a["init_gain"] for a in body["activations"]} if st == 200 else {}
    ck.check("activations_init_gain",
             gains and close(gains["leaky_relu"], math.sqrt(2 / (1 + 0.01 ** 2)), 1e-6)
             and close(gains["relu"], math.sqrt(2), 1e-6)
             and close(gains["prelu"], math.sqrt(2 / (1 + 0.25 ** 2)), 1e-6), gains)
    defaults = {}
    for a in body["activations"] if st == 200 else []:
        for p in a["parameters"]:
            defaults[a["name"] + "." + p["name"]] = p["default"]
    ck.check("activations_defaults",
             defaults == {"leaky_relu.alpha": 0.01, "prelu.alpha": 0.25, "phased_relu.alpha": 0.1,
                          "phased_relu.beta": 0.5}, defaults)

    st, body, raw = d.call("GET", "/v1/devices")
    in_use = [x for x in body.get("devices", []) if x.get("in_use")] if st == 200 else []
    ck.check("devices_in_use_marked", st == 200 and len(in_use) == 1 and in_use[0]["index"] == 0
             and in_use[0]["type"] in ("cpu", "gpu", "accelerator", "other"), raw)

    # The "done when" example, byte for byte.
    st, _, raw = d.call("POST", "/v1/forward",
                        raw='{"activation":"leaky_relu","alpha":0.01,"x":[-1,0,1]}')
    ck.check("forward_readme_example", st == 200 and raw == b'{"y":[-0.01,0,1]}', raw)
    st, hdr, _ = d.request("POST", "/v1/forward", '{"activation":"relu","x":[1]}')
    ck.check("content_type_json", hdr.get("content-type", "").startswith("application/json"), hdr)

    # Forward, every activation, flat, against the oracle.
    params = {"relu": {}, "leaky_relu": {"alpha": 0.2}, "prelu": {"alpha": -0.3},
              "phased_relu": {"alpha": 0.5, "beta": 1.5}}
    defaults_p = {"relu": (0, 0), "leaky_relu": (0.01, 0), "prelu": (0.25, 0),
                  "phased_relu": (0.1, 0.5)}
    for act, p in params.items():
        for use_default in (False, True):
            x = rand_x(rnd, 257)
            req = {"activation": act, "x": x}
            if not use_default:
                req.update(p)
            st, body, raw = d.call("POST", "/v1/forward", req)
            alpha = p.get("alpha", 0) if not use_default else defaults_p[act][0]
            beta = p.get("beta", 0) if not use_default else defaults_p[act][1]
            want = oracle_forward(act, x, alpha, beta, len(x), 1)
            got = decode_json_floats(body["y"]) if st == 200 else []
            ok = st == 200 and len(got) == len(want) and all(same_value(a, b) for a, b in zip(got, want))
            ck.check("forward_%s%s" % (act, "_defaults" if use_default else ""), ok,
                     raw[:500] if not ok else "")

    # Nested x: nested y; shape and channel_axis with per-channel alpha.
    x = [[[f32(rnd.uniform(-4, 4)) for _ in range(3)] for _ in range(2)] for _ in range(2)]
    flat = [v for a in x for b in a for v in b]
    alpha = [0.25, 0.1]
    st, body, raw = d.call("POST", "/v1/forward", {"activation": "prelu", "alpha": alpha, "x": x})
    want = oracle_forward("prelu", flat, alpha, 0, 2, 3)
    got = body.get("y") if st == 200 else None
    ok = (isinstance(got, list) and len(got) == 2 and len(got[0]) == 2 and len(got[0][0]) == 3 and
          all(same_f32(a, b) for a, b in zip([v for a in got for b in a for v in b], want)))
    ck.check("forward_nested_prelu_nchw", ok, raw)
    st, body, raw = d.call("POST", "/v1/forward", {"activation": "prelu", "alpha": [0.5, 0.25, 0.125],
                                                   "shape": [2, 2, 3], "channel_axis": -1, "x": flat})
    want = oracle_forward("prelu", flat, [0.5, 0.25, 0.125], 0, 3, 1)
    ok = st == 200 and all(same_f32(a, b) for a, b in zip(body["y"], want)) and len(body["y"]) == 12
    ck.check("forward_flat_shape_nhwc_axis_minus1", ok, raw)

    # NaN and infinities travel as strings, both ways; relu(-Inf) = +0;
    # relu(-0) is -0 under pytorch (the default), +0 under ieee.
    st, body, raw = d.call("POST", "/v1/forward", raw='{"activation":"relu","x":["NaN","Infinity","-Infinity",-1,-0.0]}')
    ck.check("nan_inf_transport_relu", st == 200 and raw == b'{"y":["NaN","Infinity",0,0,-0]}', raw)
    st, body, raw = d.call("POST", "/v1/forward", raw='{"activation":"relu","conventions":"ieee","x":["NaN","Infinity","-Infinity",-1,-0.0]}')
    ck.check("nan_inf_transport_relu_ieee", st == 200 and raw == b'{"y":["NaN","Infinity",0,0,0]}', raw)
    st, body, raw = d.call("POST", "/v1/forward", raw='{"activation":"relu","conventions":"numpy","x":[1]}')
    ck.check("unknown_conventions_400", st == 400 and b"pytorch, ieee or jax" in raw, raw)
    st, body, raw = d.call("POST", "/v1/forward", raw='{"activation":"leaky_relu","x":["-Infinity",-0.0,"NaN"]}')
    ck.check("nan_inf_transport_leaky", st == 200 and raw == b'{"y":["-Infinity",-0,"NaN"]}', raw)

    # Shortest round-trip float32 text.
    st, body, raw = d.call("POST", "/v1/forward",
                           raw='{"activation":"relu","x":[0.1,0.3333333333333333,1e30,1.17549435e-38,16777217,3.4028235e38]}')
    ck.check("shortest_float_printing", st == 200 and raw ==
             b'{"y":[0.1,0.33333334,1e+30,1.1754944e-38,16777216,3.4028235e+38]}', raw)

    # Backward, every activation, with dalpha and stats.
    for act, p in params.items():
        shape, axis = [3, 4, 5], 1
        n = 60
        x = rand_x(rnd, n)
        dy = [f32(rnd.uniform(-2, 2)) for _ in range(n)]
        req = {"activation": act, "x": x, "dy": dy, "shape": shape, "channel_axis": axis}
        req.update(p)
        per_channel = act == "prelu"
        if per_channel:
            req["alpha"] = [0.25, -0.5, 1.5, 0.0]
        outer, C, inner = view(shape, axis)
        st, body, raw = d.call("POST", "/v1/backward", req)
        a = req.get("alpha", 0)
        want = oracle_forward(act, x, a, req.get("beta", 0), C, inner, grad_input=dy)
        got = decode_json_floats(body["dx"]) if st == 200 else []
        ok = st == 200 and len(got) == n and all(same_value(u, v) for u, v in zip(got, want))
        ck.check("backward_dx_%s" % act, ok, raw[:600])
        if act in ("prelu", "phased_relu"):
            da, terms, nf, mag = oracle_grads(act, x, dy, a, req.get("beta", 0), C, inner, per_channel)
            gd = body.get("dalpha", []) if st == 200 else []
            stats = body.get("stats", {}) if st == 200 else {}
            ok = (len(gd) == len(da) and
                  all(close(g, w, 1e-6 * t + 1e-6) for g, w, t in zip(gd, da, terms)) and
                  all(close(g, w, 1e-6) for g, w in zip(stats.get("neg_fraction", []), nf)) and
                  all(close(g, w, 1e-5 * (1 + abs(w))) for g, w in zip(stats.get("mean_abs_grad", []), mag)) and
                  len(stats.get("neg_fraction", [])) == len(nf))
            ck.check("backward_dalpha_stats_%s" % act, ok,
                     "got %s\nwant dalpha %s nf %s mag %s" % (raw[-300:], da, nf, mag))
        else:
            ck.check("backward_no_dalpha_%s" % act, st == 200 and "dalpha" not in body, raw[:200])

    # backward from y (relu, leaky with alpha > 0).
    x = rand_x(rnd, 50)
    dy = [f32(rnd.uniform(-2, 2)) for _ in range(50)]
    y = oracle_forward("leaky_relu", x, 0.2, 0, 50, 1)
    st, body, raw = d.call("POST", "/v1/backward", {"activation": "leaky_relu", "alpha": 0.2, "from": "y",
                                                    "y": y, "dy": dy})
    want = oracle_forward("leaky_relu", x, 0.2, 0, 50, 1, grad_input=dy)
    ck.check("backward_from_y", st == 200 and all(same_f32(u, v) for u, v in zip(body["dx"], want)), raw[:300])

    # base64 round trips.
    x = rand_x(rnd, 1000) + [NAN, INF, -INF, -0.0]
    st, body, raw = d.call("POST", "/v1/forward", {"activation": "leaky_relu", "alpha": 0.1,
                                                   "x_b64": b64_floats(x), "dtype": "float32"})
    want = oracle_forward("leaky_relu", x, 0.1, 0, len(x), 1)
    got = floats_b64(body["y_b64"]) if st == 200 and "y_b64" in body else []
    ck.check("base64_forward_round_trip", len(got) == len(want) and body.get("dtype") == "float32" and
             all(same_f32(u, v) for u, v in zip(got, want)), raw[:300])
    dy = [f32(rnd.uniform(-1, 1)) for _ in range(len(x))]
    st, body, raw = d.call("POST", "/v1/backward", {"activation": "prelu", "x_b64": b64_floats(x),
                                                    "dy": dy, "conventions": "ieee"})
    want = oracle_forward("prelu", x, 0.25, 0, len(x), 1, grad_input=dy)
    got = floats_b64(body["dx_b64"]) if st == 200 and "dx_b64" in body else []
    ck.check("base64_backward_dx_b64_and_json_dalpha",
             len(got) == len(want) and all(same_f32(u, v) for u, v in zip(got, want)) and
             isinstance(body.get("dalpha"), list) and body["dalpha"][0] == "NaN", raw[-300:])

    # Batch: isolation, order, ids, packing.
    jobs = [
        {"op": "forward", "activation": "relu", "x": [-1, 2], "id": "a"},
        {"op": "forward", "activation": "nope", "x": [1]},
        {"op": "backward", "activation": "prelu", "x": [-2, 3], "dy": [1, 1], "id": 7},
        {"op": "forward", "activation": "relu", "x": "not an array"},
        {"op": "forward", "activation": "relu", "x": [[5, -5]]},
        {"op": "backward", "activation": "relu", "x": [1, 2], "dy": [1]},
        {"op": "forward", "activation": "leaky_relu", "x_b64": b64_floats([-4.0])},
    ]
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": jobs})
    res = body.get("results", []) if st == 200 else []
    ok = (len(res) == 7 and res[0] == {"id": "a", "y": [0, 2]} and
          res[1]["error"]["code"] == "invalid_argument" and
          res[2]["id"] == 7 and res[2]["dx"] == [0.25, 1] and res[2]["dalpha"] == [-2] and
          "error" in res[3] and res[4] == {"y": [[5, 0]]} and "error" in res[5] and
          floats_b64(res[6]["y_b64"]) == [f32(-0.04)])
    ck.check("batch_isolation_order_ids", ok, raw)
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": []})
    ck.check("batch_empty", st == 200 and body == {"results": []}, raw)

    # Scalar alpha is correctly rounded: a decimal just above the midpoint of
    # two floats whose lower one is even reads as the upper one; going
    # through a double first would round to the midpoint, then (ties to
    # even) down.
    from decimal import Decimal, getcontext
    import numpy as np
    getcontext().prec = 60
    lo = np.float32(0.1)
    while int(lo.view(np.uint32)) % 2:
        lo = np.nextafter(lo, np.float32(1))
    hi = np.nextafter(lo, np.float32(1))
    mid = (Decimal(float(lo)) + Decimal(float(hi))) / 2
    text = str(mid + mid * Decimal(2) ** -70)
    assert np.float32(float(Decimal(text))) == lo  # the double route is wrong here
    st, body, raw = d.call("POST", "/v1/forward",
                           raw='{"activation":"leaky_relu","alpha":%s,"x":[-1]}' % text)
    ck.check("scalar_alpha_correctly_rounded",
             st == 200 and np.float32(body["y"][0]) == -hi, raw)
    st, body, raw = d.call("POST", "/v1/forward",
                           raw='{"activation":"phased_relu","alpha":%s,"beta":%s,"x":[-1]}'
                           % (text, text))
    ck.check("scalar_beta_correctly_rounded", st == 200 and np.float32(body["y"][0]) == -hi, raw)

    # A tensor that is valid JSON but no tensor (ragged, a non-number) fails
    # its own job only; brackets that do not pair up fail the whole body.
    jobs = [
        {"op": "forward", "activation": "relu", "x": [[1, 2], [3]]},
        {"op": "forward", "activation": "relu", "x": [-1, 1]},
        {"op": "forward", "activation": "relu", "x": [1, True]},
        {"op": "backward", "activation": "prelu", "x": [-2, 3], "dy": [1, [1]]},
        {"op": "forward", "activation": "prelu", "alpha": [0.5, [1]], "x": [-2]},
    ]
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": jobs})
    res = body.get("results", []) if st == 200 else []
    ok = (len(res) == 5 and "ragged" in res[0]["error"]["message"] and
          res[1] == {"y": [0, 1]} and res[2]["error"]["message"] == "x[1] is not a number" and
          res[3]["error"]["code"] == "invalid_argument" and
          res[4]["error"]["code"] == "invalid_argument")
    ck.check("batch_isolates_bad_tensor_arrays", ok, raw)
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": [
        {"op": "forward", "activation": "relu", "x": [1], "id": {"x": [1, 2]}},
        {"op": "forward", "activation": "relu", "x": [-1], "id": 3}]})
    res = body.get("results", []) if st == 200 else []
    ck.check("batch_id_string_or_number",
             len(res) == 2 and
             res[0]["error"]["message"] == "id must be a string or a finite number"
             and "id" not in res[0] and res[1] == {"id": 3, "y": [0]}, raw)
    # A number id comes back as the same double (cJSON's own printer rounded
    # 0.30000000000000004 to 0.3 and -1.7976931348623155e308 past -DBL_MAX:
    # schemathesis found the second); 1e999 is no finite number.
    ids = [0.30000000000000004, -1.7976931348623155e308, 5e-324, 123456789012345680000.0]
    raw_jobs = ",".join('{"op":"forward","activation":"relu","x":[1],"id":%r}' % v for v in ids)
    raw_jobs += ',{"op":"forward","activation":"relu","x":[1],"id":1e999}'
    st, body, raw = d.call("POST", "/v1/batch", raw='{"jobs":[%s]}' % raw_jobs)
    res = body.get("results", []) if st == 200 else []
    ck.check("batch_number_id_echoed_exactly",
             len(res) == 5 and all(float(r.get("id")) == v for r, v in zip(res, ids)) and
             "finite" in res[4].get("error", {}).get("message", ""), raw)
    raw_body = '{"jobs":[{"op":"forward","activation":"relu","x":[1,[2}]},' \
               '{"op":"forward","activation":"relu","x":[1]}]}'
    st, body, raw = d.call("POST", "/v1/batch", raw=raw_body)
    ck.check("batch_unbalanced_brackets_fail_whole_body",
             st == 400 and body["error"]["code"] == "invalid_argument", raw)

    def metric(name):
        _, text, _ = d.call("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return None

    calls0 = metric("leakycld_library_calls_total")
    jobs = []
    wants = []
    for i in range(200):
        x = rand_x(rnd, rnd.randint(1, 40))
        act = ["relu", "leaky_relu"][i % 2]
        jobs.append({"op": "forward", "activation": act, "x": x})
        wants.append(oracle_forward(act, x, 0.01, 0, len(x), 1))
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": jobs})
    res = body.get("results", []) if st == 200 else []
    ok = len(res) == 200 and all(
        len(r["y"]) == len(w) and all(same_f32(u, v) for u, v in zip(r["y"], w)) for r, w in zip(res, wants))
    ck.check("batch_200_small_jobs_correct", ok, raw[:300])
    calls1 = metric("leakycld_library_calls_total")
    ck.check("batch_packs_small_jobs", calls0 is not None and calls1 is not None and calls1 - calls0 <= 4,
             "library calls for 200 jobs: %s" % (calls1 - calls0 if calls1 is not None else None))

    # device field.
    st, body, raw = d.call("POST", "/v1/forward", {"activation": "relu", "x": [1],
                                                      "device": os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")})
    ck.check("job_device_cpu", st == 200, raw)
    st, body, raw = d.call("POST", "/v1/forward", {"activation": "relu", "x": [1], "device": "gpu:7"})
    ck.check("job_device_not_open_400", st == 400 and body["error"]["code"] == "invalid_argument", raw)

    # Empty tensors.
    st, body, raw = d.call("POST", "/v1/forward", {"activation": "relu", "x": []})
    ck.check("forward_empty", st == 200 and body == {"y": []}, raw)

    # Metrics text.
    _, text, _ = d.call("GET", "/metrics")
    ck.check("metrics_prometheus", 'leakycld_requests_total{path="/v1/forward",status="200"}' in text and
             "leakycld_request_duration_seconds_bucket" in text and
             "leakycld_elements_processed_total" in text, text[:500])


def check_mixed_batch_matches_single_jobs(ck, d, rnd):
    """One /v1/batch of every activation x op x alpha layout (shared, per
    channel), flat and nested, base64 and JSON, from y, with NaN and Inf,
    around a bad job: each answer is exactly the single /v1/forward or
    /v1/backward answer (y, dx bit for bit; dalpha and stats within the
    reduction bound), and the bad job fails alone with its own error."""
    jobs = []
    for act in ["relu", "leaky_relu", "prelu", "phased_relu"]:
        for op in ["forward", "backward"]:
            for per_channel in [False, True]:
                if act == "relu" and per_channel:
                    continue
                shape = [2, 3, 5] if per_channel or rnd.random() < 0.5 else [rnd.randint(1, 70)]
                n = 1
                for s in shape:
                    n *= s
                x = rand_x(rnd, n)
                x[0], x[-1] = "NaN", ("-Infinity" if n > 1 else x[-1])
                job = {"op": op, "activation": act, "shape": shape}
                if act != "relu":
                    job["alpha"] = [f32(rnd.uniform(0.05, 1.5)) for _ in range(3)] if per_channel \
                        else f32(rnd.uniform(-1, 2))
                if act == "phased_relu":
                    job["beta"] = 0.75
                if op == "backward":
                    job["dy"] = rand_x(rnd, n)
                if rnd.random() < 0.3:
                    job["x_b64"] = b64_floats([float(v) for v in x])
                    if op == "backward":
                        job["dy_b64"] = b64_floats(job.pop("dy"))
                else:
                    job["x"] = x
                jobs.append(job)
    # Backward from y (prelu, alpha > 0), and a bad job in the middle.
    y_src = [f32(v) for v in rand_x(rnd, 12)]
    jobs.append({"op": "backward", "activation": "prelu", "alpha": 0.5, "from": "y",
                 "y": y_src, "dy": rand_x(rnd, 12)})
    bad_at = len(jobs) // 2
    jobs.insert(bad_at, {"op": "backward", "activation": "prelu", "alpha": [0.1, 0.2],
                         "shape": [2, 3], "x": [1, 2, 3, 4, 5, 6], "dy": [1, 1, 1, 1, 1, 1]})
    st, body, raw = d.call("POST", "/v1/batch", {"jobs": jobs})
    results = body.get("results", []) if st == 200 else []
    ok = len(results) == len(jobs)
    detail = raw[:300]
    for i, (job, res) in enumerate(zip(jobs, results)):
        single = dict(job)
        op = single.pop("op")
        s_st, s_body, s_raw = d.call("POST", "/v1/" + op, single)
        if i == bad_at:
            ok = ok and s_st == 400 and res == s_body
            if not ok:
                detail = "bad job: %s vs %s" % (res, s_raw[:200])
            continue
        if s_st != 200 or "error" in res:
            ok, detail = False, "job %d: %s / %s" % (i, res, s_raw[:200])
            break
        for key in ("y", "dx", "y_b64", "dx_b64"):
            if (key in res) != (key in s_body):
                ok, detail = False, "job %d: %s missing" % (i, key)
            elif key in res:
                a = floats_b64(res[key]) if key.endswith("_b64") else res[key]
                b = floats_b64(s_body[key]) if key.endswith("_b64") else s_body[key]
                if json_flat(a) != json_flat(b) and not all(
                        same_f32(u, v) for u, v in zip(json_flat(a), json_flat(b))):
                    ok, detail = False, "job %d: %s differs: %s vs %s" % (i, key, a, b)
        if "dalpha" in s_body:
            xs = job.get("x") or floats_b64(job["x_b64"])
            dys = job.get("dy") or floats_b64(job["dy_b64"])
            bound = 1e-6 * sum(abs(float(u) * float(v)) for u, v in zip(xs, dys)
                               if not isinstance(u, str)) + 1e-30
            for key, a, b in [("dalpha", res.get("dalpha"), s_body["dalpha"]),
                              ("neg_fraction", res.get("stats", {}).get("neg_fraction"),
                               s_body["stats"]["neg_fraction"]),
                              ("mean_abs_grad", res.get("stats", {}).get("mean_abs_grad"),
                               s_body["stats"]["mean_abs_grad"])]:
                if a is None or len(a) != len(b) or not all(
                        same_f32(u, v) or (not isinstance(u, str) and not isinstance(v, str)
                                           and abs(u - v) <= max(bound, 1e-6 * abs(v)))
                        for u, v in zip(a, b)):
                    ok, detail = False, "job %d: %s %s vs %s" % (i, key, a, b)
        if not ok:
            break
    ck.check("batch_mixed_matches_single_jobs", ok, detail)


def json_flat(v):
    """A nested JSON array flattened in order."""
    if isinstance(v, list):
        out = []
        for e in v:
            out.extend(json_flat(e))
        return out
    return [v]


if __name__ == "__main__":
    sys.exit(main())
