#!/usr/bin/env python3
"""gen_requests.py - writes the request mix of `make soak` into a folder:
one NAME.body a request and a manifest with a line per request
("NAME METHOD PATH WEIGHT"); weights are in percent and sum to 100, and
5 % of them are bad requests (4xx expected). Values come from a fixed seed,
so that every run sends the same bytes.
  gen_requests.py DIR"""
import base64
import json
import os
import random
import struct
import sys


def floats(rng, n, lo=-4.0, hi=4.0):
    """n float32 values (as Python floats), a few of them exactly 0."""
    out = []
    for _ in range(n):
        v = struct.unpack("<f", struct.pack("<f", rng.uniform(lo, hi)))[0]
        out.append(0.0 if rng.random() < 0.01 else v)
    return out


def b64(values):
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode()


def nested(values, shape):
    """values (flat, row-major) as nested lists of the given shape."""
    if len(shape) == 1:
        return list(values)
    step = len(values) // shape[0]
    return [nested(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def mix(rng):
    """(name, method, path, weight, body) of every request kind."""
    small = floats(rng, 16)
    small_dy = floats(rng, 16)
    large = floats(rng, 64 * 1024)
    large_b64 = floats(rng, 64 * 1024)
    prelu_x = floats(rng, 8 * 16 * 64)
    prelu_dy = floats(rng, 8 * 16 * 64)
    prelu_alpha = [round(rng.uniform(0.05, 0.5), 3) for _ in range(16)]
    wide_x = floats(rng, 4 * 32 * 256)
    wide_dy = floats(rng, 4 * 32 * 256)
    wide_alpha = [round(rng.uniform(0.05, 0.5), 3) for _ in range(32)]
    phased = floats(rng, 32 * 32, -8.0, 8.0)

    jobs = []
    for i in range(50):
        n = 64 + 16 * (i % 5)
        x = floats(rng, n)
        if i == 17:  # one bad job: the batch still answers 200
            jobs.append({"op": "forward", "activation": "relu", "x": [[1, 2], [3]], "id": i})
        elif i % 5 == 0:
            jobs.append({"op": "backward", "activation": "prelu", "alpha": [0.1, 0.2],
                         "shape": [2, n // 2], "channel_axis": 0, "x": x, "dy": floats(rng, n),
                         "id": i})
        elif i % 5 == 1:
            jobs.append({"op": "forward", "activation": "phased_relu", "alpha": 0.2, "beta": 0.6,
                         "x": x, "id": i})
        elif i % 5 == 2:
            jobs.append({"op": "backward", "activation": "leaky_relu", "alpha": 0.01, "x": x,
                         "dy": floats(rng, n), "id": i})
        else:
            jobs.append({"op": "forward", "activation": "leaky_relu", "alpha": 0.02, "x": x,
                         "id": i})

    good = [
        ("small_forward", "POST", "/v1/forward", 30,
         {"activation": "leaky_relu", "alpha": 0.01, "x": small}),
        ("small_backward", "POST", "/v1/backward", 10,
         {"activation": "relu", "x": small, "dy": small_dy}),
        ("large_forward", "POST", "/v1/forward", 8,
         {"activation": "leaky_relu", "alpha": 0.1, "x": large}),
        ("large_forward_b64", "POST", "/v1/forward", 8,
         {"activation": "prelu", "alpha": 0.25, "x_b64": b64(large_b64), "dtype": "float32"}),
        ("prelu_backward", "POST", "/v1/backward", 12,
         {"activation": "prelu", "alpha": prelu_alpha, "channel_axis": 1,
          "x": nested(prelu_x, [8, 16, 64]), "dy": nested(prelu_dy, [8, 16, 64])}),
        ("prelu_backward_b64", "POST", "/v1/backward", 7,
         {"activation": "prelu", "alpha": wide_alpha, "shape": [4, 32, 256], "channel_axis": 1,
          "x_b64": b64(wide_x), "dy_b64": b64(wide_dy)}),
        ("batch_50", "POST", "/v1/batch", 10, {"jobs": jobs}),
        ("phased_forward", "POST", "/v1/forward", 10,
         {"activation": "phased_relu", "alpha": 0.1, "beta": 0.5, "x": nested(phased, [32, 32])}),
    ]
    out = [(n, m, p, w, json.dumps(b, separators=(",", ":"))) for n, m, p, w, b in good]
    out += [
        ("bad_malformed_json", "POST", "/v1/forward", 2, '{"activation":"relu","x":[1,2,'),
        ("bad_unknown_activation", "POST", "/v1/forward", 2, '{"activation":"gelu","x":[1,2]}'),
        ("bad_unknown_path", "POST", "/v1/nowhere", 0.5, '{"activation":"relu","x":[1]}'),
        ("bad_method", "GET", "/v1/forward", 0.5, ""),
    ]
    assert abs(sum(k[3] for k in out) - 100) < 1e-9
    return out


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "manifest"), "w") as manifest:
        for name, method, path, weight, body in mix(random.Random(20261124)):
            with open(os.path.join(folder, name + ".body"), "w") as f:
                f.write(body)
            manifest.write("%s %s %s %s\n" % (name, method, path, weight))
    return 0


if __name__ == "__main__":
    sys.exit(main())
