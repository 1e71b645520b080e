#!/usr/bin/env python3
"""test_tune.py - `leakycl tune` end to end: it measures, prints JSON with
every candidate, saves the winner in the table, and a daemon started
afterwards runs with that variant (/v1/devices says "tuned") and still
computes exact results; LEAKYCL_VARIANT overrides the table; bad usage
exits 2 with one line.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_tune.py"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon, build_dir, f32  # noqa: E402

# The device of every test (tests/run.sh sets it; PoCL's CPU by default).
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")

CLI = os.path.join(build_dir(), "bin", "leakycl")


def run_cli(args, env):
    return subprocess.run([CLI] + args, capture_output=True, text=True, env=env, timeout=600)


def main():
    ck = Checks()
    tmp = tempfile.mkdtemp(prefix="leakycl-tune-")
    env = os.environ.copy()
    env["LEAKYCL_TUNE_FILE"] = os.path.join(tmp, "variants.tsv")
    env.pop("LEAKYCL_VARIANT", None)

    r = run_cli(["tune", "--device", DEVICE, "--n", "65536", "--repeat", "1", "--json"], env)
    ck.check("tune_exit_0", r.returncode == 0, r.stderr)
    report = None
    try:
        report = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        ck.check("tune_json_parses", False, "%s: %r" % (e, r.stdout))
    if report:
        cands = report.get("candidates", [])
        ck.check("tune_json_fields",
                 report.get("n") == 65536 and isinstance(report.get("best"), str)
                 and isinstance(report.get("default"), str) and len(cands) >= 10
                 and all(c["seconds"][op] > 0 for c in cands
                         for op in ("forward", "backward", "reduce"))
                 and cands[0]["variant"] == report["default"]
                 and any(c["variant"] == report["best"] for c in cands)
                 and report.get("saved") == env["LEAKYCL_TUNE_FILE"], report)
        ck.check("tune_progress_lines", r.stderr.count(" score ") == len(cands), r.stderr)
        with open(env["LEAKYCL_TUNE_FILE"]) as f:
            lines = [l for l in f.read().splitlines() if not l.startswith("#")]
        ck.check("tune_table_one_line",
                 len(lines) == 1 and lines[0].split("\t")[1] == report["best"], lines)

        # A daemon opened afterwards uses the table's variant.
        d = Daemon(env=env)
        try:
            status, body, _ = d.call("GET", "/v1/devices")
            used = [dev for dev in body["devices"] if dev.get("in_use")]
            ck.check("daemon_uses_tuned_variant",
                     status == 200 and used and used[0].get("variant") == report["best"]
                     and used[0].get("variant_origin") == "tuned", body)
            x = [(i % 37 - 18) / 4.0 for i in range(10001)]
            status, out, _ = d.call("POST", "/v1/forward",
                                    {"activation": "leaky_relu", "alpha": 0.2, "x": x})
            want = [v if v > 0 else f32(f32(0.2) * v) for v in x]
            ck.check("tuned_variant_exact", status == 200 and [f32(v) for v in out["y"]] == want,
                     str(out)[:300])
        finally:
            d.stop()

    # LEAKYCL_VARIANT wins over the table.
    env2 = dict(env, LEAKYCL_VARIANT="gpu vw2 wg32")
    d = Daemon(env=env2)
    try:
        status, body, _ = d.call("GET", "/v1/devices")
        used = [dev for dev in body["devices"] if dev.get("in_use")]
        ck.check("env_variant_wins",
                 used and used[0].get("variant_origin") == "env"
                 and used[0].get("variant", "").startswith("gpu vw2 wg32 "), body)
    finally:
        d.stop()

    for args, needle in ((["tune", "--n", "5"], "--n"), (["tune", "--repeat", "0"], "--repeat"),
                         (["tune", "--bogus"], "unknown option")):
        r = run_cli(args, env)
        ck.check("tune_usage_" + args[1].strip("-"),
                 r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1,
                 "%d %r" % (r.returncode, r.stderr))
    r = run_cli(["tune", "--device", "no-such-device", "--no-save"], env)
    ck.check("tune_bad_device", r.returncode == 1 and "no-such-device" in r.stderr, r.stderr)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
