#!/usr/bin/env python3
"""test_cli_bench.py - end-to-end tests of `leakycl bench`: the JSON lines
(DESIGN.md's keys with the right types, every activation x op, bytes and
gbps consistent), the table, the --svg chart (well-formed XML, one line per
series), the references (OpenMP, copy limits, Python ones or their skip
note) and usage errors (exit 2, one line; an unknown device exits 1).
Asserts values and structure, never timings; a few seconds in all.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_cli_bench.py
Prints PASS/FAIL/SKIP lines; exits 1 when a check failed."""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

BUILD = os.path.abspath(os.environ.get("LEAKYCL_BUILD", "build"))
CLI = os.path.join(BUILD, "bin", "leakycl")
ACTIVATIONS = ["relu", "leaky_relu", "prelu", "phased_relu"]
WITH_GRADIENT = ["prelu", "phased_relu"]
DESIGN_KEYS = {"device": str, "activation": str, "op": str, "n": int, "dtype": str,
               "variant": str, "resident": bool, "seconds": float, "gbps": float}
EXTRA_KEYS = {"min_seconds": float, "max_seconds": float, "bytes": int, "samples": int,
              "kind": str, "name": str, "device_index": str, "fused_dalpha": bool}
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")
FAST = ["--device", DEVICE, "--n", "4096", "--repeat", "2"]

failures = 0


def report(name, problems, skip=None):
    global failures
    if skip:
        print(f"SKIP {name} ({skip})")
    elif problems:
        failures += 1
        print(f"FAIL {name}")
        for p in problems[:10]:
            print(f"  {p}")
        if len(problems) > 10:
            print(f"  ... {len(problems) - 10} more")
    else:
        print(f"PASS {name}")
    sys.stdout.flush()


def cli(*args, env=None, timeout=120):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def expected_bytes(op, fused, n):
    return {"forward": 8 * n, "backward": 12 * n + (4 if fused else 0),
            "reduce": 8 * n + 4, "copy": 8 * n}[op]


def row_problems(row, where):
    """Keys, types and internal consistency of one JSON row."""
    problems = []
    for key, kind in {**DESIGN_KEYS, **EXTRA_KEYS}.items():
        if key not in row:
            problems.append(f"{where}: no key {key!r}")
        elif kind is float and not (isinstance(row[key], (int, float))
                                    and not isinstance(row[key], bool)):
            problems.append(f"{where}: {key} is {row[key]!r}, not a number")
        elif kind is int and not (isinstance(row[key], int) and not isinstance(row[key], bool)):
            problems.append(f"{where}: {key} is {row[key]!r}, not an integer")
        elif kind in (str, bool) and not isinstance(row[key], kind):
            problems.append(f"{where}: {key} is {row[key]!r}, not {kind.__name__}")
    if problems:
        return problems
    if row["dtype"] != "float32":
        problems.append(f"{where}: dtype {row['dtype']!r}")
    if row["kind"] not in ("leakycl", "reference"):
        problems.append(f"{where}: kind {row['kind']!r}")
    if not (0 < row["min_seconds"] <= row["seconds"] <= row["max_seconds"]):
        problems.append(f"{where}: not 0 < min {row['min_seconds']} <= median "
                        f"{row['seconds']} <= max {row['max_seconds']}")
    want = expected_bytes(row["op"], row["fused_dalpha"], row["n"])
    if row["bytes"] != want:
        problems.append(f"{where}: bytes {row['bytes']}, want {want}")
    elif row["seconds"] > 0 and not math.isclose(row["gbps"], row["bytes"] / row["seconds"] / 1e9,
                                                 rel_tol=1e-6):
        problems.append(f"{where}: gbps {row['gbps']} != bytes/seconds/1e9 "
                        f"{row['bytes'] / row['seconds'] / 1e9}")
    return problems


def parse_lines(text):
    rows, problems = [], []
    for i, line in enumerate(text.splitlines()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {i + 1} is not JSON ({e}): {line[:100]!r}")
            continue
        if not isinstance(row, dict):
            problems.append(f"line {i + 1} is not an object")
            continue
        rows.append(row)
        problems += row_problems(row, f"line {i + 1} ({row.get('op')} {row.get('activation')})")
    return rows, problems


def test_json_lines():
    r = cli("bench", *FAST, "--json", "--no-references")
    if r.returncode != 0:
        report("bench --json: lines, keys, coverage", [f"exit {r.returncode}: {r.stderr.strip()}"])
        return
    rows, problems = parse_lines(r.stdout)
    want = set()
    for act in ACTIVATIONS:
        for resident in (True, False):
            want.add((act, "forward", False, resident))
            want.add((act, "backward", False, resident))
            if act in WITH_GRADIENT:
                want.add((act, "backward", True, resident))
                want.add((act, "reduce", False, resident))
    got = [(x.get("activation"), x.get("op"), x.get("fused_dalpha"), x.get("resident"))
           for x in rows]
    if sorted(got) != sorted(want):
        problems.append(f"cases: missing {sorted(want - set(got))}, extra "
                        f"{sorted(set(got) - want)}, {len(got)} rows for {len(want)} cases")
    for x in rows:
        if x.get("kind") != "leakycl" or x.get("n") != 4096 or x.get("samples") != 2:
            problems.append(f"row {x.get('op')} {x.get('activation')}: kind {x.get('kind')}, "
                            f"n {x.get('n')}, samples {x.get('samples')}")
            break
    if "n=4096" not in r.stderr:
        problems.append(f"no progress line on stderr: {r.stderr[:200]!r}")
    report("bench --json: lines, keys, coverage", problems)


def test_table_and_svg(tmp):
    svg = os.path.join(tmp, "chart.svg")
    r = cli("bench", *FAST, "--no-references", "--op", "forward", "--svg", svg)
    problems = []
    if r.returncode != 0:
        report("bench --svg and the table", [f"exit {r.returncode}: {r.stderr.strip()}"])
        return
    lines = r.stdout.splitlines()
    if not any(line.startswith("OP ") and "GB/S" in line for line in lines):
        problems.append("no table header on stdout")
    data = [line for line in lines if line.startswith("forward ")]
    if len(data) != 8:  # 4 activations x resident/host
        problems.append(f"{len(data)} table rows, want 8")
    try:
        root = ET.parse(svg).getroot()
    except (OSError, ET.ParseError) as e:
        report("bench --svg and the table", problems + [f"{svg}: {e}"])
        return
    ns = "{http://www.w3.org/2000/svg}"
    if root.tag != ns + "svg":
        problems.append(f"root element {root.tag}")
    panels = [g for g in root.iter(ns + "g") if g.get("class") == "panel"]
    if len(panels) != 1 or panels[0].get("data-op") != "forward":
        problems.append(f"{len(panels)} panels, want one forward panel")
    series = [p for p in root.iter(ns + "polyline") if p.get("class") == "series"]
    names = sorted(p.get("data-series", "") for p in series)
    want = sorted(f"leakycl {a} {d}" for a in ACTIVATIONS for d in ("resident", "host"))
    if names != want:
        problems.append(f"series {names}, want {want}")
    for p in series:
        points = p.get("points", "").split()
        if len(points) != 1 or not all(len(pt.split(",")) == 2 for pt in points):
            problems.append(f"series {p.get('data-series')}: points {p.get('points')!r}")
    texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
    for label in ("GB/s", "n (float32 elements", "leakycl, resident"):
        if label not in texts:
            problems.append(f"no text {label!r} (axis label or legend)")
    report("bench --svg and the table", problems)


def test_references(tmp):
    """The C references always; the Python ones skipped with one note when
    the interpreter is missing, or present as reference rows with numpy."""
    problems = []
    env = {"LEAKYCL_PYTHON": os.path.join(tmp, "no-such-python")}
    r = cli("bench", *FAST, "--json", "--op", "forward", "--activation", "prelu", env=env)
    if r.returncode != 0:
        report("bench references", [f"exit {r.returncode}: {r.stderr.strip()}"])
        return
    rows, problems = parse_lines(r.stdout)
    names = sorted(x["name"] for x in rows if x.get("kind") == "reference")
    if names != ["cl_copy", "openmp", "stream_copy"]:
        problems.append(f"references {names}, want cl_copy, openmp, stream_copy")
    for x in rows:
        if x.get("name") == "openmp":
            lk = [y for y in rows if y["kind"] == "leakycl" and y["resident"]]
            ratio = lk[0]["gbps"] / x["gbps"] if lk and x["gbps"] else None
            if ratio is None or not math.isclose(x.get("leakycl_ratio", -1), ratio, rel_tol=1e-4):
                problems.append(f"openmp leakycl_ratio {x.get('leakycl_ratio')}, want {ratio}")
        if x.get("op") == "copy" and x.get("activation") != "none":
            problems.append(f"copy row activation {x.get('activation')!r}")
    notes = [line for line in r.stderr.splitlines() if "note:" in line]
    if len(notes) != 1 or "no-such-python" not in notes[0]:
        problems.append(f"want one note naming the missing python, got {notes}")
    # With Debian's python3 (numpy is a test dependency): a NumPy row.
    r = cli("bench", *FAST, "--json", "--op", "forward", "--activation", "relu",
            env={"LEAKYCL_PYTHON": "/usr/bin/python3"})
    if r.returncode != 0:
        problems.append(f"/usr/bin/python3: exit {r.returncode}: {r.stderr.strip()}")
    else:
        rows, more = parse_lines(r.stdout)
        problems += more
        numpy_rows = [x for x in rows if x.get("name") == "numpy"]
        if len(numpy_rows) != 1 or numpy_rows[0]["kind"] != "reference" or \
                numpy_rows[0]["activation"] != "relu" or "leakycl_ratio" not in numpy_rows[0]:
            problems.append(f"numpy rows: {numpy_rows}")
    report("bench references: OpenMP, copy limits, Python or its skip note", problems)


def test_usage_errors():
    problems = []
    bad = {
        "unknown op": ["--op", "sideways"],
        "--n 0": ["--n", "0"],
        "--n not a number": ["--n", "12x"],
        "--repeat 0": ["--repeat", "0"],
        "unknown activation": ["--activation", "gelu"],
        "unknown option": ["--fast"],
        "--n with --n-min": ["--n", "4096", "--n-min", "1024"],
        "--n-min above --n-max": ["--n-min", "8192", "--n-max", "4096"],
        "reduce without a gradient": ["--op", "reduce", "--activation", "relu"],
        "missing value": ["--n"],
    }
    for name, args in bad.items():
        r = cli("bench", *args, "--no-references")
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or not lines[0].startswith("leakycl: ") or r.stdout:
            problems.append(f"{name}: exit {r.returncode} (want 2), stderr {r.stderr.strip()!r}")
    r = cli("bench", "--device", "no-such-device-xyz", "--n", "4096", "--no-references")
    if r.returncode != 1 or "no-such-device-xyz" not in r.stderr:
        problems.append(f"unknown device: exit {r.returncode} (want 1): {r.stderr.strip()[:200]}")
    r = cli("bench", "--help")
    if r.returncode != 0 or "usage: leakycl bench" not in r.stdout:
        problems.append(f"--help: exit {r.returncode}, {r.stdout[:80]!r}")
    report("bench usage errors exit 2 with one line, unknown device 1", problems)


def test_verify_and_variant():
    """--verify checks each timed output (a corrupted one fails the run before
    its figure), --variant sets the kernel shape (a bad one is usage)."""
    problems = []
    args = ["bench", *FAST, "--repeat", "1", "--no-references", "--json", "--verify"]
    r = cli(*args)
    rows = parse_lines(r.stdout)[0] if r.returncode == 0 else []
    ops = {(row["op"], row["activation"], row["fused_dalpha"]) for row in rows}
    if r.returncode != 0 or len(ops) != 12:
        problems.append(f"--verify: exit {r.returncode}, {len(ops)} op rows (want 12): "
                        f"{r.stderr.strip()[-300:]}")
    if "verified against the float64 oracle" not in r.stderr:
        problems.append("--verify printed no verification progress line")
    r = cli(*args, env={"LEAKYCL_CHECK_CORRUPT": "1"})
    if r.returncode != 1 or "--verify" not in r.stderr or "the oracle gives" not in r.stderr \
            or r.stdout.strip():
        problems.append(f"corrupted output: exit {r.returncode} (want 1, no rows): "
                        f"stdout {r.stdout[:100]!r} stderr {r.stderr.strip()[-300:]!r}")
    r = cli("bench", *FAST, "--repeat", "1", "--no-references", "--json", "--op", "forward",
            "--activation", "relu", "--variant", "gpu vw2 wg32")
    rows = parse_lines(r.stdout)[0] if r.returncode == 0 else []
    if r.returncode != 0 or not rows or \
            not all(row["variant"].startswith("gpu vw2 wg32 ") for row in rows):
        problems.append(f"--variant gpu vw2 wg32: exit {r.returncode}, "
                        f"{[row['variant'] for row in rows]} {r.stderr.strip()[-200:]}")
    r = cli("bench", *FAST, "--no-references", "--variant", "cpu vw3")
    if r.returncode != 2 or "vector_width" not in r.stderr:
        problems.append(f"--variant cpu vw3: exit {r.returncode} (want 2): {r.stderr.strip()}")
    report("bench --verify checks every timed output, --variant sets the variant", problems)


def main():
    if not os.access(CLI, os.X_OK):
        report("cli bench", [], skip=f"{CLI} is not built")
        return 0
    test_usage_errors()
    devices = cli("devices", "--json")
    if devices.returncode != 0 or not any(d.get("type") == "cpu"
                                          for d in json.loads(devices.stdout or "[]")):
        report("cli bench", [], skip="no OpenCL CPU device")
        return 1 if failures else 0
    tmp = tempfile.mkdtemp(prefix="leakycl_bench_")
    try:
        test_json_lines()
        test_table_and_svg(tmp)
        test_references(tmp)
        test_verify_and_variant()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
