#!/usr/bin/env python3
"""test_check.py - `leakycl check` end to end: the quick suite passes on the
test device with one JSON summary of the expected shape and case counts, bad
usage exits 2 with one line, and the checker can fail: with the test hook
LEAKYCL_CHECK_CORRUPT=1 one output bit is flipped, the run exits 1 and
prints the failing case shrunk to a one-element input with exact values.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_check.py"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, build_dir  # noqa: E402

CLI = os.path.join(build_dir(), "bin", "leakycl")
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")
# The quick suite's size (clients/cli/check_cases.c, ck_plan_build): cases on
# the device's default variant and on the one of the other strategy.
QUICK_CASES = 189  # 178, and 11 backward-from-mask cases
QUICK_ALT_CASES = 40
QUICK_BATCH_CASES = 3  # the mixed packed batches at one more vector width


def run_cli(args, env=None, timeout=300):
    e = os.environ.copy()
    e.pop("LEAKYCL_CHECK_CORRUPT", None)
    e.update(env or {})
    return subprocess.run([CLI] + args, capture_output=True, text=True, env=e, timeout=timeout)


def json_lines(text):
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"unparsed": line})
    return out


def check_quick(ck):
    r = run_cli(["check", "--quick", "--json", "--device", DEVICE])
    ck.check("check_quick_exit_0", r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:])
    lines = json_lines(r.stdout)
    ck.check("check_quick_json_lines", lines and all("type" in o for o in lines), r.stdout[:2000])
    summaries = [o for o in lines if o.get("type") == "summary"]
    failures = [o for o in lines if o.get("type") == "failure"]
    ck.check("check_quick_one_summary_no_failure", len(summaries) == 1 and not failures,
             r.stdout[:3000])
    if len(summaries) != 1:
        return
    s = summaries[0]
    variants = s.get("variants", [])
    ck.check("check_quick_summary_fields",
             isinstance(s.get("device"), str) and s["device"]
             and isinstance(s.get("index"), str) and ":" in s["index"]
             and s.get("quick") is True and isinstance(s.get("denormals"), bool)
             and isinstance(s.get("flushed"), int) and (not s["denormals"] or s["flushed"] == 0)
             and s.get("passed") is True and s.get("failures") == 0
             and isinstance(s.get("seconds"), (int, float)) and s["seconds"] > 0
             and 0 <= s.get("worst_dalpha_error", -1) <= 1e-6, s)
    # The default variant, one of the other strategy, then the mixed packed
    # batches at every other vector width of both strategies.
    widths = {(v.get("variant", "").split() or [""])[0] + " " +
              next((f for f in v.get("variant", "").split() if f.startswith("vw")), "")
              for v in variants}
    ck.check("check_quick_variants",
             2 <= len(variants) <= 12
             and all(isinstance(v.get("variant"), str) and v["variant"].split()[0] in ("cpu", "gpu")
                     and v.get("failures") == 0 and v.get("seconds", -1) >= 0
                     and 0 <= v.get("worst_dalpha_error", -1) <= 1e-6 for v in variants)
             and variants[0]["variant"].split()[0] != variants[1]["variant"].split()[0]
             and all("%s vw%d" % (st, w) in widths for st in ("cpu", "gpu")
                     for w in (1, 2, 4, 8, 16)),
             variants)
    want = [QUICK_CASES, QUICK_ALT_CASES] + [QUICK_BATCH_CASES] * (len(variants) - 2)
    ck.check("check_quick_case_counts",
             [v.get("cases") for v in variants] == want and s.get("cases") == sum(want),
             "%s, want %s" % ([v.get("cases") for v in variants], want))


def check_usage(ck):
    for args, needle in ((["check", "--bogus"], "unknown option"),
                         (["check", "--device"], "--device"),
                         (["check", "--device", DEVICE, "--variant", "cpu vw3"], "vector_width")):
        r = run_cli(args)
        ck.check("check_usage_" + args[-1].strip("-").replace(" ", "_"),
                 r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1
                 and r.stdout == "", "%d %r %r" % (r.returncode, r.stdout, r.stderr))
    r = run_cli(["check", "--help"])
    ck.check("check_help", r.returncode == 0 and "--quick" in r.stdout
             and "LEAKYCL_CHECK_CORRUPT" in r.stdout, r.stdout)
    r = run_cli(["check", "--device", "no-such-device-xyz"])
    ck.check("check_bad_device", r.returncode == 1 and "no-such-device-xyz" in r.stderr, r.stderr)


def check_corrupt(ck):
    hook = {"LEAKYCL_CHECK_CORRUPT": "1"}
    r = run_cli(["check", "--quick", "--device", DEVICE], hook)
    out = r.stdout
    ck.check("corrupt_exit_1", r.returncode == 1, out[-2000:] + r.stderr[-1000:])
    ck.check("corrupt_text_reports_failure",
             out.count("FAIL ") == 1 and "minimal failing input" in out
             and "expected" in out and "got" in out, out[:3000])
    # The shrunk input: one element, printed exactly, with x, expected, got.
    minimal = out.split("minimal failing input", 1)[-1]
    ck.check("corrupt_text_minimal_one_element",
             "float32 [1]" in minimal and re.search(r"x = \[-?0x[0-9a-f.]+p[-+]\d+\]", minimal)
             and "[0] (channel 0): x = " in minimal
             and "0x" in minimal.split("expected", 1)[-1], minimal)

    r = run_cli(["check", "--quick", "--json", "--device", DEVICE], hook)
    lines = json_lines(r.stdout)
    fails = [o for o in lines if o.get("type") == "failure"]
    sums = [o for o in lines if o.get("type") == "summary"]
    ck.check("corrupt_json_exit_1_one_failure",
             r.returncode == 1 and len(fails) == 1 and len(sums) == 1
             and sums[0].get("failures") == 1 and sums[0].get("passed") is False, r.stdout[:3000])
    if len(fails) != 1:
        return
    f = fails[0]
    m = f.get("minimal", {})
    inputs = m.get("inputs", [])
    # The hook flips a sign bit: expected and got differ exactly by it.
    ck.check("corrupt_json_failure_fields",
             f.get("what") in ("y", "dx") and f.get("variant") in
             [v["variant"] for v in sums[0]["variants"]]
             and f.get("expected", "").lstrip("-") == f.get("got", "").lstrip("-")
             and f.get("expected") != f.get("got") and "x" in f and "shape" in f
             and f.get("activation") in ("relu", "leaky_relu", "prelu", "phased_relu"), f)
    ck.check("corrupt_json_minimal",
             len(inputs) == 1 and inputs[0].get("n") == 1 and len(inputs[0].get("x", [])) == 1
             and m.get("element") == 0 and m.get("runs", 0) >= 1
             and m.get("expected") == f.get("expected") and m.get("got") == f.get("got"), m)

def main():
    ck = Checks()
    if not os.path.exists(CLI):
        ck.check("cli_built", False, CLI + " is missing")
        return ck.done()
    check_quick(ck)
    check_usage(ck)
    check_corrupt(ck)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
