#!/usr/bin/env python3
"""test_multidevice.py - a daemon with several devices (--device all) spreads
the jobs that name no device over them (server/exec/schedule.c): with two
PoCL devices (POCL_DEVICES="pthread pthread"), and with PoCL beside Mesa's
rusticl on llvmpipe. Checks /v1/devices (both in use, each with its load),
that concurrent unnamed /v1 and /v2 jobs run on both devices (the per-device
metrics), that every answer is bit-identical to the same job on device 0
and to a float64 oracle written here, and that a job naming a device still
runs there. OpenCL is restricted to the named implementations the way
tests/run.sh does it (OCL_ICD_VENDORS); a missing one is a SKIP.

Run from the repository root: LEAKYCL_BUILD=build python3 tests/e2e/test_multidevice.py"""
import base64
import json
import os
import random
import re
import struct
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, Daemon, f32  # noqa: E402

N = 256 * 1024  # elements of a load job: a launch of its own, long enough to overlap
ALPHA = 0.125
THREADS = 8
PER_THREAD = 4
ROUNDS = 6  # load rounds at most, until both devices ran jobs


def icd_dir(d, names):
    """d made a directory of .icd files for the installed implementations
    names (as /etc/OpenCL/vendors lists them), or None when one is missing."""
    os.makedirs(d)
    for name in names:
        try:
            with open("/etc/OpenCL/vendors/%s.icd" % name) as f:
                lib = f.readline().strip()
        except OSError:
            return None
        with open(os.path.join(d, name + ".icd"), "w") as f:
            f.write(lib + "\n")
    return d


def device_metrics(d):
    """{(series, device index): value} of the leakycld_device_* series."""
    _, text, _ = d.call("GET", "/metrics")
    out = {}
    for line in text.splitlines():
        m = re.match(r'(leakycld_device_\w+)\{device="(\d+)",name="[^"]*"\} (\S+)$', line)
        if m:
            out[(m.group(1), int(m.group(2)))] = float(m.group(3))
    return out


def jobs_by_device(d):
    m = device_metrics(d)
    return [m.get(("leakycld_device_jobs_total", i), 0) for i in range(2)]


def f32s(raw):
    return struct.unpack("<%df" % (len(raw) // 4), raw)


def make_input(seed, n=N):
    """(x, dy) as little-endian float32 bytes: normal numbers of both signs."""
    rnd = random.Random(seed)
    x = [rnd.uniform(-8, 8) for _ in range(n)]
    dy = [rnd.uniform(-2, 2) for _ in range(n)]
    return struct.pack("<%df" % n, *x), struct.pack("<%df" % n, *dy)


def oracle(op, x, dy):
    """leaky_relu y (forward) or dx (backward), in float64 rounded to float32:
    alpha times a float32 is exact in float64, so one rounding, as the kernel."""
    a = f32(ALPHA)
    xs = f32s(x)
    gs = xs if op == "forward" else f32s(dy)
    return struct.pack("<%df" % len(xs), *[g if v > 0 else a * g for v, g in zip(xs, gs)])


def v1_job(op, x, dy, device=None, activation="leaky_relu", extra=None):
    job = {"activation": activation, "alpha": ALPHA, "x_b64": base64.b64encode(x).decode()}
    if op == "backward":
        job["dy_b64"] = base64.b64encode(dy).decode()
    if device is not None:
        job["device"] = device
    job.update(extra or {})
    return job


def v1_run(d, op, job):
    """The job's y or dx bytes, or the error text."""
    st, body, raw = d.call("POST", "/v1/" + op, job)
    key = "y_b64" if op == "forward" else "dx_b64"
    if st != 200 or not isinstance(body, dict) or key not in body:
        return "status %d: %s" % (st, raw[:300])
    return base64.b64decode(body[key])


def v2_run(d, x):
    """/v2 leaky_relu forward with binary x and y: the y bytes or the error."""
    head = json.dumps({"inputs": [{"name": "x", "shape": [len(x) // 4], "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(x)}}],
                       "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
                       "parameters": {"alpha": ALPHA}}).encode()
    st, hdrs, data = d.request("POST", "/v2/models/leaky_relu/infer", head + x,
                               {"Inference-Header-Content-Length": str(len(head))})
    if st != 200 or "inference-header-content-length" not in hdrs:
        return "status %d: %s" % (st, data[:300])
    return data[int(hdrs["inference-header-content-length"]):]


def load(ck, d, tag, inputs, want, send):
    """Rounds of THREADS x PER_THREAD concurrent unnamed jobs until both
    devices ran some; every answer must equal want[(op, i)]. Returns the
    per-device job counts the load added."""
    before = jobs_by_device(d)
    problems = []
    lock = threading.Lock()

    def client(t, r):
        for k in range(PER_THREAD):
            i = (t + k + r) % len(inputs)
            op = "backward" if (t + k) % 2 and send == "v1" else "forward"
            if send == "v1":
                got = v1_run(d, op, v1_job(op, inputs[i][0], inputs[i][1]))
            else:
                got = v2_run(d, inputs[i][0])
            if got != want[(op, i)]:
                with lock:
                    problems.append("%s input %d: %s" % (op, i, got[:200] if isinstance(
                        got, str) else "differs from device 0's answer"))

    rounds = 0
    added = [0, 0]
    while rounds < ROUNDS and (rounds == 0 or min(added) == 0):
        threads = [threading.Thread(target=client, args=(t, rounds)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        rounds += 1
        added = [a - b for a, b in zip(jobs_by_device(d), before)]
    print("# %s: jobs per device %s in %d round(s) of %d" % (tag, added, rounds,
                                                            THREADS * PER_THREAD))
    ck.check(tag + "_answers_equal_device0", not problems, "\n".join(problems[:5]))
    ck.check(tag + "_both_devices_ran_jobs", min(added) > 0, "jobs per device: %s" % added)
    return added


def devices_listed(ck, d, tag):
    st, body, raw = d.call("GET", "/v1/devices")
    used = [x for x in body["devices"] if x.get("in_use")] if st == 200 else []
    ck.check(tag + "_two_devices_in_use", len(used) == 2 and
             sorted(x["index"] for x in used) == [0, 1], raw[:2000])
    loads = [x.get("load") or {} for x in used]
    ck.check(tag + "_devices_show_load_and_speed",
             all(l.get("queued_jobs") == 0 and l.get("jobs") == 0 and
                 all(l["elements_per_second"][op][k] for op in ("forward", "backward")
                     for k in ("small", "large")) for l in loads), loads)
    return used


def references(ck, d, tag, inputs):
    """{(op, i): bytes}: each input's job run on device 0 (named), checked
    against the float64 oracle."""
    want, bad = {}, []
    for i, (x, dy) in enumerate(inputs):
        for op in ("forward", "backward"):
            got = v1_run(d, op, v1_job(op, x, dy, device="0"))
            want[(op, i)] = got
            if got != oracle(op, x, dy):
                bad.append("%s input %d: %s" % (op, i, got[:200] if isinstance(got, str)
                                                 else "differs from the oracle"))
    ck.check(tag + "_device0_equals_oracle", not bad, "\n".join(bad))
    return want


def named_device_runs_there(ck, d, tag, x, dy):
    before = jobs_by_device(d)
    got = v1_run(d, "forward", v1_job("forward", x, dy, device="1"))
    after = jobs_by_device(d)
    ck.check(tag + "_named_device_1_runs_there",
             got == oracle("forward", x, dy) and after[1] - before[1] == 1 and
             after[0] == before[0], "jobs per device before %s after %s" % (before, after))


def settled(ck, d, tag):
    m = device_metrics(d)
    ck.check(tag + "_queues_empty_after_load",
             all(m.get((s, i)) == 0 for s in ("leakycld_device_queue_depth",
                                                "leakycld_device_queued_elements")
                 for i in range(2)) and
             all(m.get(("leakycld_device_busy_seconds_total", i), 0) > 0 for i in range(2)), m)


def on_two_devices(ck, tag, env, body):
    """Starts the daemon on every device env shows, checks it opened two,
    runs body(d, used) and checks the daemon's clean exit."""
    d = Daemon("--quiet", device="all", env=env)
    try:
        used = devices_listed(ck, d, tag)
        if len(used) == 2:
            body(d, used)
    finally:
        rc = d.stop()
    ck.check(tag + "_clean_exit", rc == 0, d.stderr()[-2000:])


def two_pocl(d, ck):
    inputs = [make_input(s) for s in range(4)]
    want = references(ck, d, "pocl2", inputs)
    load(ck, d, "pocl2_v1", inputs, want, "v1")
    load(ck, d, "pocl2_v2", inputs, want, "v2")
    named_device_runs_there(ck, d, "pocl2", *inputs[0])
    settled(ck, d, "pocl2")


def same_answer(a, b, x, dy):
    """y/dx and neg_fraction (a count) bit for bit; dalpha within twice the
    reduction's bound (each device is within 1e-6 * sum |terms| of the exact
    sum) and mean_abs_grad (a sum of positive terms) within 2e-6 relative:
    two devices may run different variants, and leakycl.h promises the
    reduction's bits only on repeat for one device and variant."""
    if set(a) != set(b):
        return False
    scale = sum(abs(u * v) for u, v in zip(f32s(x), f32s(dy))) + 1e-30

    def close(p, q, tol):
        return len(p) == len(q) and all(abs(u - v) <= tol(u) for u, v in zip(p, q))

    for key in a:
        if key == "dalpha":
            ok = close(a[key], b[key], lambda u: 2e-6 * scale)
        elif key == "stats":
            ok = (a[key]["neg_fraction"] == b[key]["neg_fraction"] and
                  close(a[key]["mean_abs_grad"], b[key]["mean_abs_grad"], lambda u: 2e-6 * abs(u)))
        else:
            ok = a[key] == b[key]
        if not ok:
            return False
    return True


def pocl_rusticl(d, ck, used):
    print("# rusticl: devices %s" % [(x["index"], x["platform"], x["name"]) for x in used])
    # Device 1 (rusticl) against device 0 (PoCL) on a few jobs: packed and
    # alone, both ops, per-channel alpha, phased_relu; y or dx bit for bit,
    # prelu's dalpha and statistics within the reduction's bound.
    bad = []
    prelu = {"alpha": [0.25, 0.5, 0.125, 0.0625], "shape": [4, 4, 256]}
    cases = [("leaky_relu", "forward", 1000, {}), ("leaky_relu", "backward", 1000, {}),
             ("leaky_relu", "forward", N, {}), ("leaky_relu", "backward", N, {}),
             ("prelu", "forward", 4096, prelu), ("prelu", "backward", 4096, prelu),
             ("prelu", "backward", N, dict(prelu, shape=[N // 1024, 4, 256])),
             ("phased_relu", "forward", 5000, {"beta": 0.5})]
    for k, (act, op, n, extra) in enumerate(cases):
        x, dy = make_input(100 + k, n)
        (sa, a, ra), (sb, b, rb) = (d.call("POST", "/v1/" + op, v1_job(op, x, dy, dev, act, extra))
                                    for dev in ("0", "1"))
        if sa != 200 or sb != 200 or not same_answer(a, b, x, dy):
            bad.append("%s %s n=%d: %s" % (act, op, n, "answers differ" if sa == sb == 200
                                           else (ra if sa != 200 else rb)[:200]))
    ck.check("rusticl_answers_equal_device0", not bad, "\n".join(bad))
    inputs = [make_input(s) for s in range(3)]
    want = references(ck, d, "rusticl", inputs)
    load(ck, d, "rusticl_v1", inputs, want, "v1")
    named_device_runs_there(ck, d, "rusticl", *inputs[0])
    settled(ck, d, "rusticl")


def main():
    ck = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        pocl = icd_dir(os.path.join(tmp, "pocl"), ["pocl"])
        if not pocl:
            ck.skip("multidevice", "/etc/OpenCL/vendors/pocl.icd missing")
            return ck.done()
        on_two_devices(ck, "pocl2", dict(os.environ, OCL_ICD_VENDORS=pocl,
                                         POCL_DEVICES="pthread pthread"),
                       lambda d, used: two_pocl(d, ck))
        both = icd_dir(os.path.join(tmp, "both"), ["pocl", "rusticl"])
        if not both:
            ck.skip("multidevice_rusticl", "/etc/OpenCL/vendors/rusticl.icd missing")
        else:
            env = dict(os.environ, OCL_ICD_VENDORS=both, RUSTICL_ENABLE="llvmpipe")
            env.pop("POCL_DEVICES", None)  # PoCL's one CPU device beside rusticl's
            on_two_devices(ck, "rusticl", env, lambda d, used: pocl_rusticl(d, ck, used))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
