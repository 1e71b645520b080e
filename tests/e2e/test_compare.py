#!/usr/bin/env python3
"""test_compare.py - POST /v1/compare and `leakycl bench --compare` on two
devices: two PoCL pthread devices (PoCL alone, POCL_DEVICES="pthread
pthread"), and PoCL beside Mesa rusticl when rusticl is installed. The
answers' outputs are held against the NumPy oracle of np_oracle.py, the
figures against the bytes counted here, and the agreement fields against
what the devices returned (and a falsified output that must show up).

Run from the repository root: LEAKYCL_BUILD=build python3 tests/e2e/test_compare.py
Prints PASS/FAIL/SKIP lines; exits 1 when a check failed."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, Daemon, build_dir  # noqa: E402
from np_oracle import oracle_backward, oracle_forward  # noqa: E402

F32 = np.float32
CLI = os.path.join(build_dir(), "bin", "leakycl")
VENDORS = "/etc/OpenCL/vendors"


def icd_env(scratch, names, **extra):
    """The environment with OpenCL restricted to the named implementations
    (OCL_ICD_VENDORS: a directory holding their .icd files alone), or None
    when one is not installed."""
    folder = os.path.join(scratch, "-".join(names))
    os.makedirs(folder, exist_ok=True)
    for name in names:
        src = os.path.join(VENDORS, name + ".icd")
        if not os.path.exists(src):
            return None
        with open(src) as f, open(os.path.join(folder, name + ".icd"), "w") as g:
            g.write(f.readline())
    env = dict(os.environ, OCL_ICD_VENDORS=folder, **extra)
    # Tuned variants of the user's never steer a test.
    env.setdefault("LEAKYCL_TUNE_FILE", os.path.join(scratch, "variants.tsv"))
    return env


def prelu_job(rng, n_outer=16, channels=3, inner=1000):
    x = rng.uniform(-4, 4, size=(n_outer, channels, inner)).astype(F32)
    dy = rng.uniform(-1, 1, size=x.shape).astype(F32)
    alpha = np.array([0.25, 0.1, 0.3], F32)
    return x, dy, alpha


def row_problems(rows, devices, nbytes, with_dalpha):
    """The per-device figures: one row per listed device, in order, with
    positive times in order, gbps = bytes / seconds, and agreement from the
    devices (bit-identical here: same implementation and variant)."""
    problems = []
    if [r.get("device") for r in rows] != devices:
        problems.append("devices %r, expected %r" % ([r.get("device") for r in rows], devices))
    for r in rows:
        if not (0 < r["min_seconds"] <= r["seconds"] <= r["max_seconds"]):
            problems.append("times out of order: %r" % r)
        if not (r["gbps"] > 0 and abs(r["gbps"] - nbytes / r["seconds"] / 1e9) <= 1e-6 * r["gbps"]):
            problems.append("gbps %r is not %d bytes / %r s" % (r["gbps"], nbytes, r["seconds"]))
        for key in ("agrees_with_first", "agrees_with_oracle"):
            a = r[key]
            if a.get("identical") is not True or a.get("max_ulp") != 0:
                problems.append("%s of device %s: %r" % (key, r["device"], a))
            if with_dalpha != ("dalpha_rel" in a):
                problems.append("%s: dalpha_rel present is %s" % (key, "dalpha_rel" in a))
            elif with_dalpha and not (isinstance(a["dalpha_rel"], (float, int))
                                      and 0 <= a["dalpha_rel"] <= 1e-6):
                problems.append("%s: dalpha_rel %r over 1e-6" % (key, a["dalpha_rel"]))
    return problems


def check_daemon_two_pocl(ck, env, rng):
    d = Daemon(device="all", env=env)
    try:
        # leaky_relu backward, JSON arrays: dx as /v1 writes it.
        x = rng.uniform(-8, 8, 5000).astype(F32)
        dy = rng.uniform(-1, 1, 5000).astype(F32)
        job = {"op": "backward", "activation": "leaky_relu", "alpha": 0.02,
               "x": x.tolist(), "dy": dy.tolist(), "repeats": 3}
        status, body, raw = d.call("POST", "/v1/compare", job)
        ck.check("compare_leaky_relu_200", status == 200, raw[:500])
        if status == 200:
            want = oracle_backward("leaky_relu", x, dy, F32(0.02), F32(0))
            got = np.array(body["dx"], F32)
            ck.check("compare_leaky_relu_dx_is_the_oracles",
                     got.tobytes() == want.tobytes(), "%d elements differ"
                     % int(np.sum(got.view(np.uint32) != want.view(np.uint32))))
            ck.check("compare_leaky_relu_repeats_echoed", body["repeats"] == 3, body["repeats"])
            probs = row_problems(body["devices"], [0, 1], 12 * x.size, False)
            ck.check("compare_leaky_relu_two_rows_identical", not probs, "\n".join(probs))

        # leaky_relu forward with the default alpha, base64 in and out.
        job = {"op": "forward", "activation": "leaky_relu",
               "x_b64": base64.b64encode(x.tobytes()).decode()}
        status, body, raw = d.call("POST", "/v1/compare", job)
        ok = status == 200 and "y_b64" in body and body.get("dtype") == "float32"
        ck.check("compare_b64_answers_y_b64", ok, raw[:300])
        if ok:
            got = np.frombuffer(base64.b64decode(body["y_b64"]), F32)
            want = oracle_forward("leaky_relu", x, F32(0.01), F32(0))
            ck.check("compare_b64_y_is_the_oracles", got.tobytes() == want.tobytes())
            probs = row_problems(body["devices"], [0, 1], 8 * x.size, False)
            ck.check("compare_b64_default_repeats_two_rows", body["repeats"] == 5 and not probs,
                     "\n".join(probs))

        # prelu backward, alpha per channel: dx, dalpha and its agreement.
        x3, dy3, alpha = prelu_job(rng)
        job = {"op": "backward", "activation": "prelu", "alpha": alpha.tolist(),
               "shape": list(x3.shape), "x": x3.ravel().tolist(), "dy": dy3.ravel().tolist()}
        status, body, raw = d.call("POST", "/v1/compare", job)
        ck.check("compare_prelu_backward_200", status == 200, raw[:500])
        if status == 200:
            a = alpha.reshape(1, 3, 1)
            want = oracle_backward("prelu", x3, dy3, a, F32(0))
            got = np.array(body["dx"], F32).reshape(x3.shape)
            ck.check("compare_prelu_dx_is_the_oracles", got.tobytes() == want.tobytes())
            terms = np.where(x3 > 0, 0.0, dy3.astype(np.float64) * x3.astype(np.float64))
            exact = terms.sum(axis=(0, 2))
            scale = np.abs(terms).sum(axis=(0, 2))
            rel = np.abs(np.array(body["dalpha"], np.float64) - exact) / scale
            ck.check("compare_prelu_dalpha_within_1e-6", np.all(rel <= 1e-6), rel)
            probs = row_problems(body["devices"], [0, 1], 12 * x3.size + 4 * 3, True)
            ck.check("compare_prelu_two_rows_identical_dalpha_rel", not probs, "\n".join(probs))

        # A subset, by index and by SPEC.
        small = {"op": "forward", "activation": "relu", "x": [-1.5, 0.0, 2.5]}
        for devices, expect in (([1], [1]), (["0:1", 0], [1, 0])):
            status, body, raw = d.call("POST", "/v1/compare", dict(small, devices=devices))
            ck.check("compare_subset_%s" % json.dumps(devices),
                     status == 200 and [r["device"] for r in body["devices"]] == expect
                     and body["y"] == [0, 0, 2.5], raw[:400])

        # Errors: 400 with /v1's error object.
        bad = [("unknown_device_index", dict(small, devices=[5])),
               ("unknown_device_spec", dict(small, devices=["no-such-device"])),
               ("empty_devices", dict(small, devices=[])),
               ("device_not_devices", dict(small, device="0:0")),
               ("repeats_over_20", dict(small, repeats=21)),
               ("no_op", {"activation": "relu", "x": [1]}),
               ("backward_without_dy", {"op": "backward", "activation": "relu", "x": [1]}),
               ("unknown_activation", {"op": "forward", "activation": "gelu", "x": [1]}),
               ("unknown_field", dict(small, warmup=2))]
        for name, job in bad:
            status, body, raw = d.call("POST", "/v1/compare", job)
            ck.check("compare_400_" + name,
                     status == 400 and isinstance(body, dict)
                     and body.get("error", {}).get("code") == "invalid_argument", raw[:300])
        ck.check("compare_daemon_alive", d.alive())
    finally:
        rc = d.stop()
    err = d.stderr()
    ck.check("compare_daemon_clean_exit", rc == 0 and "Sanitizer" not in err
             and "runtime error" not in err, err[-2000:])


def check_daemon_pocl_rusticl(ck, scratch, rng):
    env = icd_env(scratch, ["pocl", "rusticl"], POCL_DEVICES="pthread",
                  RUSTICL_ENABLE="llvmpipe")
    if env is None:
        ck.skip("compare_pocl_and_rusticl", "no rusticl.icd in " + VENDORS)
        return
    d = Daemon(device="all", env=env)
    try:
        x, dy, alpha = prelu_job(rng, n_outer=4)
        job = {"op": "backward", "activation": "prelu", "alpha": alpha.tolist(),
               "shape": list(x.shape), "x": x.ravel().tolist(), "dy": dy.ravel().tolist(),
               "repeats": 2}
        status, body, raw = d.call("POST", "/v1/compare", job)
        ok = status == 200 and len(body["devices"]) == 2
        ck.check("compare_pocl_and_rusticl_two_rows", ok, raw[:500])
        if ok:
            names = [r["name"] for r in body["devices"]]
            oracle = [r["agrees_with_oracle"] for r in body["devices"]]
            ck.check("compare_pocl_and_rusticl_agree_with_the_oracle",
                     all(a["identical"] and a["dalpha_rel"] <= 1e-6 for a in oracle)
                     and all(r["seconds"] > 0 and r["gbps"] > 0 for r in body["devices"]),
                     (names, oracle))
    finally:
        d.stop()


def bench(env, *args):
    return subprocess.run([CLI, "bench", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def check_cli(ck, env):
    args = ["--device", "all", "--compare", "--n", "65536", "--activation", "leaky_relu",
            "--repeat", "3"]
    p = bench(env, *args)
    ck.check("bench_compare_exit_0", p.returncode == 0 and "Sanitizer" not in p.stderr
             and "runtime error" not in p.stderr, p.stderr[-1500:])
    lines = p.stdout.splitlines()
    header = [line for line in lines if line.startswith("OP ")]
    rows = [line for line in lines if line.split()[:2] in (["forward", "leaky_relu"],
                                                           ["backward", "leaky_relu"])]
    ok = (len(header) == 1 and "0:0 GB/S" in header[0] and "0:1 GB/S" in header[0]
          and len(rows) == 2 and all(r.count("x)") == 2 and "identical" in r for r in rows))
    ck.check("bench_compare_table_two_device_columns", ok, p.stdout[-1500:])

    p = bench(env, *args, "--json", "--op", "backward")
    ck.check("bench_compare_json_exit_0", p.returncode == 0, p.stderr[-1500:])
    try:
        rows = [json.loads(line) for line in p.stdout.splitlines()]
    except ValueError as e:
        rows = []
        ck.check("bench_compare_json_parses", False, "%s\n%s" % (e, p.stdout[-800:]))
    problems = []
    for r in rows:
        devs = r.get("devices", [])
        if [x.get("device_index") for x in devs] != ["0:0", "0:1"]:
            problems.append("devices %r" % [x.get("device_index") for x in devs])
            continue
        if r["op"] != "backward" or r["n"] != 65536 or r["bytes"] != 12 * 65536:
            problems.append("row %r" % {k: r[k] for k in ("op", "n", "bytes")})
        best = max(x["gbps"] for x in devs)
        for x in devs:
            if not (x["gbps"] > 0 and abs(x["gbps"] - r["bytes"] / x["seconds"] / 1e9)
                    <= 1e-6 * x["gbps"]):
                problems.append("gbps %r for %r bytes in %r s" % (x["gbps"], r["bytes"],
                                                               x["seconds"]))
            if abs(x["ratio_to_fastest"] - x["gbps"] / best) > 1e-5:
                problems.append("ratio %r, gbps %r of the best %r" % (x["ratio_to_fastest"],
                                                                     x["gbps"], best))
            if x["agrees_with_first"] != {"identical": True, "max_ulp": 0} or \
                    x["agrees_with_oracle"] != {"identical": True, "max_ulp": 0}:
                problems.append("agreement %r %r" % (x["agrees_with_first"],
                                                     x["agrees_with_oracle"]))
    ck.check("bench_compare_json_rows_carry_both_devices", len(rows) == 1 and not problems,
             "\n".join(problems) or p.stdout[-800:])

    # A falsified output (the test hook of --verify) must show as a
    # disagreement with the oracle, on both devices alike.
    p = bench(dict(env, LEAKYCL_CHECK_CORRUPT="1"), *args, "--json", "--op", "forward")
    try:
        devs = json.loads(p.stdout.splitlines()[0])["devices"]
        seen = [(x["agrees_with_first"]["identical"], x["agrees_with_oracle"]["identical"],
                 x["agrees_with_oracle"]["max_ulp"] > 0) for x in devs]
    except (ValueError, IndexError, KeyError) as e:
        seen = str(e)
    ck.check("bench_compare_sees_a_falsified_output", p.returncode == 0
             and seen == [(True, False, True)] * 2, (seen, p.stderr[-800:]))

    p = bench(env, "--device", "0:0,,0:1", "--compare", "--n", "4096")
    ck.check("bench_compare_bad_device_list_exit_2",
             p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr)


def main():
    ck = Checks()
    rng = np.random.default_rng(16)
    scratch = tempfile.mkdtemp(prefix="leakycl-compare-")
    try:
        env = icd_env(scratch, ["pocl"], POCL_DEVICES="pthread pthread")
        if env is None:
            ck.skip("compare_two_pocl_devices", "no pocl.icd in " + VENDORS)
        else:
            check_daemon_two_pocl(ck, env, rng)
            check_cli(ck, env)
        check_daemon_pocl_rusticl(ck, scratch, rng)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
