#!/usr/bin/env python3
"""test_triton.py - end-to-end: the Triton HTTP surface that tools use beyond
inference. The model configuration (GET /v2/models/{name}[/versions/1]/config)
and statistics (.../stats, GET /v2/models/stats) through tritonclient.http,
the calls perf_analyzer makes (metadata, config, an infer of every listed
input with --shape, binary data), the nv_inference_* lines of /metrics against
the statistics, and compressed bodies: requests sent with Content-Encoding gzip
or deflate and answers asked for with Accept-Encoding, bit for bit against the
plain ones, and their errors as raw requests (a corrupt or truncated stream
400, an unknown coding 415, a zip bomb and a body that inflates past
--max-body 413). The tritonclient checks SKIP when the client is missing (run
with build/test-venv/bin/python, scripts/test-pydeps.sh); the raw ones need
only numpy. Runs against the ASan/UBSan daemon too."""
import gzip
import json
import os
import re
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, on_each_build  # noqa: E402

import numpy as np  # noqa: E402

try:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException
except ImportError as exc:
    httpclient = None
    IMPORT_ERROR = str(exc)

MAX_BODY = 1 << 20
ACTIVATIONS = ("relu", "leaky_relu", "prelu", "phased_relu")
MODELS = ACTIVATIONS + tuple(a + "_backward" for a in ACTIVATIONS)
F32 = np.float32
STAT_KEYS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output",
             "cache_hit", "cache_miss")


def signature(model):
    """(inputs, outputs) of a model as its metadata lists them."""
    inputs = ["x"] + (["dy"] if model.endswith("_backward") else []) + \
        (["alpha"] if not model.startswith("relu") else [])
    if model.endswith("_backward"):
        outputs = ["dx"] + (["dalpha"] if model.split("_backward")[0] in ("prelu", "phased_relu")
                            else [])
    else:
        outputs = ["y"]
    return inputs, outputs


def infer_body(model, x, dy=None):
    inputs = [{"name": "x", "shape": [len(x)], "datatype": "FP32", "data": [float(v) for v in x]}]
    if dy is not None:
        inputs.append({"name": "dy", "shape": [len(dy)], "datatype": "FP32",
                       "data": [float(v) for v in dy]})
    return json.dumps({"inputs": inputs}).encode()


def post(d, path, body, headers=None):
    st, hdrs, raw = d.request("POST", path, body, dict({"Content-Type": "application/json"},
                                                       **(headers or {})))
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return st, hdrs, raw, parsed


def deflate_raw(data):
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


def v2_error(parsed, *words):
    return isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and \
        all(w in parsed["error"] for w in words)


# ---- compressed bodies, raw ----

def compression_checks(ck, tag, d):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(2000).astype(F32)
    body = infer_body("leaky_relu", x)
    path = "/v2/models/leaky_relu/infer"
    st, hdrs, plain, _ = post(d, path, body)
    ck.check(tag + "plain_infer", st == 200 and "content-encoding" not in hdrs, (st, hdrs))
    for name, packed, coding in (("gzip", gzip.compress(body), "gzip"),
                                 ("x_gzip", gzip.compress(body), "x-gzip"),
                                 ("zlib_deflate", zlib.compress(body), "deflate"),
                                 ("raw_deflate", deflate_raw(body), "deflate"),
                                 ("gzip_two_members", gzip.compress(body[:100]) +
                                  gzip.compress(body[100:]), "gzip")):
        st, _, raw, _ = post(d, path, packed, {"Content-Encoding": coding})
        ck.check(tag + "request_" + name + "_same_answer", st == 200 and raw == plain,
                 (st, raw[:200]))
    # /v1 takes compressed bodies too
    v1 = json.dumps({"activation": "leaky_relu", "x": [float(v) for v in x[:8]]}).encode()
    st1, _, raw1, _ = post(d, "/v1/forward", v1)
    st2, _, raw2, _ = post(d, "/v1/forward", gzip.compress(v1), {"Content-Encoding": "gzip"})
    ck.check(tag + "v1_gzip_same_answer", st1 == 200 and st2 == 200 and raw1 == raw2, (st2, raw2))
    # binary tensors: Inference-Header-Content-Length counts inflated bytes
    header = json.dumps({"inputs": [{"name": "x", "shape": [len(x)], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 4 * len(x)}}],
                         "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}).encode()
    whole = header + x.tobytes()
    hl = {"Inference-Header-Content-Length": str(len(header))}
    st1, h1, raw1, _ = post(d, path, whole, hl)
    st2, h2, raw2, _ = post(d, path, gzip.compress(whole), dict(hl, **{"Content-Encoding": "gzip"}))
    ck.check(tag + "binary_gzip_same_answer", st1 == 200 and st2 == 200 and raw1 == raw2 and
             h1.get("inference-header-content-length") == h2.get(
                 "inference-header-content-length"), (st1, st2, h2))
    # answers: gzip or deflate when asked, over 1 KiB, with Vary
    for coding, unpack in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
        st, hdrs, raw, _ = post(d, path, body, {"Accept-Encoding": coding})
        ok = st == 200 and hdrs.get("content-encoding") == coding and \
            hdrs.get("vary") == "Accept-Encoding" and len(raw) < len(plain) and unpack(raw) == plain
        ck.check(tag + "answer_" + coding, ok, (st, hdrs))
    st, hdrs, raw, _ = post(d, path, body, {"Accept-Encoding": "gzip;q=0, br"})
    ck.check(tag + "answer_not_accepted_plain", st == 200 and raw == plain and
             "content-encoding" not in hdrs, hdrs)
    st, hdrs, raw, _ = post(d, path, infer_body("leaky_relu", x[:4]), {"Accept-Encoding": "gzip"})
    ck.check(tag + "answer_small_plain", st == 200 and "content-encoding" not in hdrs and
             json.loads(raw)["outputs"], hdrs)
    st, hdrs, raw = d.request("GET", "/v2/models/stats", headers={"Accept-Encoding": "gzip"})
    ck.check(tag + "get_answer_gzip", st == 200 and hdrs.get("content-encoding") == "gzip" and
             "model_stats" in json.loads(gzip.decompress(raw)), hdrs)


def compression_error_checks(ck, tag, d):
    path = "/v2/models/relu/infer"
    body = infer_body("relu", [1.0, -2.0])
    packed = gzip.compress(body)
    st, _, _, parsed = post(d, path, packed[:len(packed) - 6], {"Content-Encoding": "gzip"})
    ck.check(tag + "err_truncated_gzip_400", st == 400 and v2_error(parsed, "gzip", "ends early"),
             (st, parsed))
    st, _, _, parsed = post(d, path, body, {"Content-Encoding": "gzip"})
    ck.check(tag + "err_not_gzip_400", st == 400 and v2_error(parsed, "not valid gzip data"),
             (st, parsed))
    bad = bytearray(packed)
    bad[12] ^= 0xff
    st, _, _, parsed = post(d, path, bytes(bad), {"Content-Encoding": "gzip"})
    ck.check(tag + "err_corrupt_gzip_400", st == 400 and v2_error(parsed, "gzip"), (st, parsed))
    st, _, _, parsed = post(d, path, zlib.compress(body) + b"junk", {"Content-Encoding": "deflate"})
    ck.check(tag + "err_deflate_trailing_400", st == 400 and v2_error(parsed, "after the end"),
             (st, parsed))
    st, _, _, parsed = post(d, path, body, {"Content-Encoding": "br"})
    ck.check(tag + "err_unknown_coding_415", st == 415 and v2_error(parsed, "\"br\"", "gzip"),
             (st, parsed))
    st, _, _, parsed = post(d, "/v1/forward", body, {"Content-Encoding": "compress"})
    ck.check(tag + "err_unknown_coding_v1_415", st == 415 and
             parsed["error"]["code"] == "unsupported_media_type", (st, parsed))
    st, _, raw, _ = post(d, path, body, {"Content-Encoding": "identity"})
    ck.check(tag + "identity_coding", st == 200, (st, raw[:200]))
    # a zip bomb: 64 MiB of zeros in a 64 KiB body, stopped at --max-body
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)
    t0 = time.time()
    st, _, _, parsed = post(d, path, bomb, {"Content-Encoding": "gzip"})
    ck.check(tag + "err_zip_bomb_413", st == 413 and v2_error(parsed, "--max-body") and
             len(bomb) < MAX_BODY, (st, parsed, len(bomb), time.time() - t0))
    st, _, _, parsed = post(d, "/v1/batch", bomb, {"Content-Encoding": "gzip"})
    ck.check(tag + "err_zip_bomb_v1_413", st == 413 and
             parsed["error"]["code"] == "payload_too_large", (st, parsed))
    # a real body of exactly --max-body inflated runs; one byte more is a 413
    at_limit = body + b" " * (MAX_BODY - len(body))
    st, _, raw, _ = post(d, path, gzip.compress(at_limit), {"Content-Encoding": "gzip"})
    ck.check(tag + "inflated_at_limit_ok", st == 200, (st, raw[:200]))
    st, _, _, parsed = post(d, path, gzip.compress(at_limit + b" "), {"Content-Encoding": "gzip"})
    ck.check(tag + "err_inflated_past_limit_413", st == 413 and v2_error(parsed, "inflates past"),
             (st, parsed))
    ck.check(tag + "alive_after_compression_errors", d.alive())


# ---- routes, stats and metrics, raw ----

def metrics_values(text):
    """{(name, model): value} of the nv_inference_* samples, and the set of
    names with HELP and TYPE counter lines."""
    values, typed = {}, set()
    for line in text.splitlines():
        m = re.match(r'(nv_inference_\w+)\{model="(\w+)",version="1"\} (\d+)$', line)
        if m:
            values[(m.group(1), m.group(2))] = int(m.group(3))
        m = re.match(r"# TYPE (nv_inference_\w+) counter$", line)
        if m and ("# HELP %s " % m.group(1)) in text:
            typed.add(m.group(1))
    return values, typed


def metrics_match(ck, tag, d, stats):
    st, _, raw = d.request("GET", "/metrics")
    values, typed = metrics_values(raw.decode())
    names = ("nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
             "nv_inference_exec_count", "nv_inference_request_duration_us",
             "nv_inference_queue_duration_us", "nv_inference_compute_input_duration_us",
             "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us")
    ck.check(tag + "metrics_nv_help_type", st == 200 and typed == set(names), typed)
    bad = []
    for ms in stats["model_stats"]:
        s = ms["inference_stats"]
        want = {"nv_inference_request_success": s["success"]["count"],
                "nv_inference_request_failure": s["fail"]["count"],
                "nv_inference_count": ms["inference_count"],
                "nv_inference_exec_count": ms["execution_count"],
                "nv_inference_request_duration_us": s["success"]["ns"] // 1000,
                "nv_inference_queue_duration_us": s["queue"]["ns"] // 1000,
                "nv_inference_compute_input_duration_us": s["compute_input"]["ns"] // 1000,
                "nv_inference_compute_infer_duration_us": s["compute_infer"]["ns"] // 1000,
                "nv_inference_compute_output_duration_us": s["compute_output"]["ns"] // 1000}
        bad += [(k, ms["name"], values.get((k, ms["name"])), v) for k, v in want.items()
                if values.get((k, ms["name"])) != v]
    ck.check(tag + "metrics_match_stats", not bad and len(stats["model_stats"]) == len(MODELS),
             bad[:10])


def route_checks(ck, tag, d):
    st, _, raw = d.request("GET", "/v2/models/stats")
    stats = json.loads(raw) if st == 200 else {}
    ck.check(tag + "all_stats_routed", st == 200 and
             [m["name"] for m in stats.get("model_stats", [])] == list(MODELS), (st, raw[:300]))
    for path, words in (("/v2/models/nope/stats", "unknown model"),
                        ("/v2/models/relu/versions/2/stats", "no version \"2\""),
                        ("/v2/models/nope/config", "unknown model"),
                        ("/v2/models/relu/versions/7/config", "no version \"7\"")):
        st, _, raw = d.request("GET", path)
        ck.check(tag + "404_" + path.replace("/", "_"), st == 404 and
                 v2_error(json.loads(raw), words), (st, raw))
    st, hdrs, _ = d.request("POST", "/v2/models/stats", b"{}")
    ck.check(tag + "stats_post_405", st == 405 and hdrs.get("allow") == "GET, HEAD", (st, hdrs))
    st, hdrs, _ = d.request("POST", "/v2/models/relu/config", b"{}")
    ck.check(tag + "config_post_405", st == 405 and hdrs.get("allow") == "GET, HEAD", (st, hdrs))
    st, _, raw = d.request("GET", "/v2")
    ext = json.loads(raw).get("extensions", [])
    ck.check(tag + "server_extensions", "model_configuration" in ext and "statistics" in ext, ext)
    metrics_match(ck, tag, d, stats)


# ---- tritonclient ----

def config_checks(ck, tag, d, client):
    for model in MODELS:
        cfg = client.get_model_config(model)
        meta = client.get_model_metadata(model)
        inputs, outputs = signature(model)
        ok = (cfg["name"] == model and cfg["max_batch_size"] == 0 and cfg["platform"] == "leakycl"
              and [i["name"] for i in cfg["input"]] == [i["name"] for i in meta["inputs"]] == inputs
              and [o["name"] for o in cfg["output"]] == [o["name"] for o in meta["outputs"]]
              == outputs
              and all(t["data_type"] == "TYPE_FP32" and t["dims"] == [-1]
                      for t in cfg["input"] + cfg["output"])
              and all(i["optional"] == (i["name"] == "alpha") and i["format"] == "FORMAT_NONE"
                      for i in cfg["input"])
              and cfg["version_policy"] == {"latest": {"num_versions": 1}}
              and "dynamic_batching" not in cfg and "sequence_batching" not in cfg
              and [g["kind"] for g in cfg["instance_group"]] == ["KIND_CPU"]
              and cfg["parameters"]["conventions"] == {"string_value": "pytorch"})
        ck.check(tag + "config_" + model, ok, json.dumps(cfg)[:1500])
        ck.check(tag + "config_version_" + model,
                 client.get_model_config(model, model_version="1") == cfg)
    params = {m: client.get_model_config(m)["parameters"] for m in ("relu", "leaky_relu",
                                                                   "phased_relu")}
    ck.check(tag + "config_parameters",
             "alpha" not in params["relu"] and
             params["leaky_relu"]["alpha"] == {"string_value": "0.01"} and
             set(params["phased_relu"]) == {"alpha", "beta", "conventions"}, params)
    try:
        client.get_model_config("nope")
        ck.check(tag + "config_unknown_model_raises", False)
    except InferenceServerException as e:
        ck.check(tag + "config_unknown_model_raises", "unknown model" in str(e), str(e))


def perf_analyzer_checks(ck, tag, client):
    """What perf_analyzer -m MODEL --shape NAME:16 ... does over HTTP: the
    metadata and the configuration (every configured tensor must be in the
    metadata), then infers of every listed input, random bytes as binary
    data of the --shape, every output asked for as binary data."""
    rng = np.random.default_rng(3)
    for model in MODELS:
        meta = client.get_model_metadata(model)
        cfg = client.get_model_config(model)
        names = {t["name"] for t in meta["inputs"]}
        ck.check(tag + "pa_config_in_metadata_" + model,
                 {t["name"] for t in cfg["input"]} <= names and
                 {t["name"] for t in cfg["output"]} <= {t["name"] for t in meta["outputs"]})
        buf = rng.standard_normal(16).astype(F32)
        inputs = []
        for t in meta["inputs"]:
            shape = [1] if t["name"] == "alpha" else [16]
            inp = httpclient.InferInput(t["name"], shape, t["datatype"])
            inp.set_data_from_numpy(buf[:shape[0]].copy(), binary_data=True)
            inputs.append(inp)
        outputs = [httpclient.InferRequestedOutput(t["name"], binary_data=True)
                   for t in meta["outputs"]]
        res = client.infer(model, inputs, outputs=outputs)
        first = meta["outputs"][0]["name"]
        ck.check(tag + "pa_infer_" + model, res.as_numpy(first).shape == (16,))
    # its server-side report: the fields it reads, as unsigned integers
    every = client.get_inference_statistics()["model_stats"]
    ck.check(tag + "pa_stats_fields", len(every) == len(MODELS) and all(
        isinstance(m["name"], str) and isinstance(m["version"], str) and
        isinstance(m["inference_count"], int) and isinstance(m["execution_count"], int) and
        all(isinstance(m["inference_stats"][k][f], int) and m["inference_stats"][k][f] >= 0
            for k in STAT_KEYS if k != "fail" for f in ("count", "ns"))
        for m in every), every[:1])


def client_compression_checks(ck, tag, client):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(3000).astype(F32)
    dy = rng.standard_normal(3000).astype(F32)
    for binary in (False, True):
        def call(**kw):
            inputs = [httpclient.InferInput("x", [len(x)], "FP32"),
                      httpclient.InferInput("dy", [len(dy)], "FP32")]
            inputs[0].set_data_from_numpy(x, binary_data=binary)
            inputs[1].set_data_from_numpy(dy, binary_data=binary)
            outs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("dx", "dalpha")]
            res = client.infer("prelu_backward", inputs, outputs=outs, **kw)
            return res.as_numpy("dx").tobytes() + res.as_numpy("dalpha").tobytes()
        plain = call()
        for kw in ({"request_compression_algorithm": "gzip"},
                   {"request_compression_algorithm": "deflate"},
                   {"response_compression_algorithm": "gzip"},
                   {"response_compression_algorithm": "deflate"},
                   {"request_compression_algorithm": "gzip",
                    "response_compression_algorithm": "gzip"}):
            name = "_".join("%s_%s" % (k.split("_")[0], v) for k, v in kw.items())
            ck.check(tag + "client_%s_%s" % ("binary" if binary else "json", name),
                     call(**kw) == plain)


def stats_checks(ck, tag, d, client):
    model = "phased_relu"  # untouched by the other checks until here
    before = client.get_inference_statistics(model)["model_stats"][0]
    t0 = int(time.time() * 1000)
    x = np.linspace(-3, 3, 64).astype(F32)
    sent = 0
    for binary in (False, True, False, True, True):
        inp = httpclient.InferInput("x", [len(x)], "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        client.infer(model, [inp])
        sent += 1
    bad = 0
    for params in ({"alpha": 0.0, "beta": "x"}, {"nope": 1}):
        inp = httpclient.InferInput("x", [len(x)], "FP32")
        inp.set_data_from_numpy(x)
        try:
            client.infer(model, [inp], parameters=params)
        except InferenceServerException:
            bad += 1
    t1 = int(time.time() * 1000) + 1
    after = client.get_inference_statistics(model)["model_stats"][0]
    b, a = before["inference_stats"], after["inference_stats"]
    ck.check(tag + "stats_shape", after["name"] == model and after["version"] == "1" and
             set(a) >= set(STAT_KEYS) and after["batch_stats"] == [], after)
    ck.check(tag + "stats_counts_exact",
             after["inference_count"] - before["inference_count"] == sent and
             after["execution_count"] - before["execution_count"] == sent and
             all(a[k]["count"] - b[k]["count"] == sent
                 for k in ("success", "queue", "compute_input", "compute_infer", "compute_output"))
             and a["fail"]["count"] - b["fail"]["count"] == bad == 2 and
             a["cache_hit"]["count"] == a["cache_miss"]["count"] == 0, (before, after))
    ck.check(tag + "stats_ns_grow",
             all(a[k]["ns"] > b[k]["ns"] for k in ("success", "fail", "queue", "compute_input",
                                                    "compute_infer", "compute_output")), (b, a))
    parts = sum(a[k]["ns"] - b[k]["ns"] for k in ("queue", "compute_input", "compute_infer",
                                                   "compute_output"))
    ck.check(tag + "stats_parts_within_total", parts <= a["success"]["ns"] - b["success"]["ns"],
             (parts, a["success"]["ns"] - b["success"]["ns"]))
    ck.check(tag + "stats_last_inference", t0 <= after["last_inference"] <= t1,
             (t0, after["last_inference"], t1))
    ck.check(tag + "stats_versioned_same",
             client.get_inference_statistics(model, model_version="1")["model_stats"][0] == after)
    every = client.get_inference_statistics()["model_stats"]
    ck.check(tag + "stats_every_model", [m["name"] for m in every] == list(MODELS) and
             every[MODELS.index(model)] == after)


def client_checks(ck, tag, d):
    client = httpclient.InferenceServerClient("127.0.0.1:%d" % d.port, network_timeout=120.0)
    try:
        config_checks(ck, tag, d, client)
        perf_analyzer_checks(ck, tag, client)
        client_compression_checks(ck, tag, client)
        stats_checks(ck, tag, d, client)
    finally:
        client.close()


def run(ck, d, tag):
    if httpclient is not None:
        client_checks(ck, tag, d)
    compression_checks(ck, tag, d)
    compression_error_checks(ck, tag, d)
    route_checks(ck, tag, d)


def main():
    ck = Checks()
    if httpclient is None:
        ck.skip("tritonclient_checks", "cannot import tritonclient.http (%s): run with "
                "build/test-venv/bin/python (scripts/test-pydeps.sh)" % IMPORT_ERROR)
    on_each_build(ck, ["--max-body", str(MAX_BODY)], run)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
