#!/usr/bin/env python3
"""test_cli_bench.py - end-to-end tests of `leakycl bench`: the JSON lines
(the README's keys with the right types, every activation x op, bytes and
gbps consistent), the table, the --svg chart (well-formed XML, a panel per
op, a line per device and implementation that ran, whiskers, the footer's
version, variants and date; an unwritable path fails before the sweep), the
references (OpenMP, copy limits, Python ones or their skip note) and usage
errors (exit 2, one line; an unknown device exits 1). Asserts values and
structure, never timings; a few seconds in all.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_cli_bench.py
Prints PASS/FAIL/SKIP lines; exits 1 when a check failed."""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

BUILD = os.path.abspath(os.environ.get("LEAKYCL_BUILD", "build"))
CLI = os.path.join(BUILD, "bin", "leakycl")
ACTIVATIONS = ["relu", "leaky_relu", "prelu", "phased_relu"]
WITH_GRADIENT = ["prelu", "phased_relu"]
DESIGN_KEYS = {"device": str, "activation": str, "op": str, "n": int, "dtype": str,
               "variant": str, "resident": bool, "seconds": float, "gbps": float}
EXTRA_KEYS = {"min_seconds": float, "max_seconds": float, "bytes": int, "samples": int,
              "kind": str, "name": str, "device_index": str, "fused_dalpha": bool,
              "from": str}
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")
FAST = ["--device", DEVICE, "--n", "4096", "--repeat", "2"]
NS = "{http://www.w3.org/2000/svg}"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(ROOT, "host", "include", "leakycl.h"), encoding="utf-8") as _h:
    VERSION = re.search(r'#define LEAKYCL_VERSION "([^"]+)"', _h.read()).group(1)

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


def expected_bytes(op, fused, n, source="x", activation=""):
    if source == "mask":  # dy in, dx out, and the mask's uint32 words
        planes = 2 if activation == "phased_relu" else 1
        return 8 * n + 4 * planes * ((n + 31) // 32)
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
    want = expected_bytes(row["op"], row["fused_dalpha"], row["n"], row["from"], row["activation"])
    if row["from"] not in ("x", "mask") or (row["from"] == "mask") != ("speedup_vs_x" in row):
        problems.append(f"{where}: from {row['from']!r} with speedup_vs_x "
                        f"{row.get('speedup_vs_x')!r}")
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
            want.add((act, "forward", False, resident, "x"))
            want.add((act, "backward", False, resident, "x"))
            want.add((act, "backward", False, resident, "mask"))
            if act in WITH_GRADIENT:
                want.add((act, "backward", True, resident, "x"))
                want.add((act, "reduce", False, resident, "x"))
    got = [(x.get("activation"), x.get("op"), x.get("fused_dalpha"), x.get("resident"),
            x.get("from")) for x in rows]
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
    """The table; a chart of leakycl alone lists leakycl alone."""
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
    panels = [g.get("data-op") for g in root.iter(NS + "g") if g.get("class") == "panel"]
    if panels != ["forward"]:
        problems.append(f"panels {panels}, want one forward panel")
    impls = sorted(g.get("data-impl") for g in root.iter(NS + "g")
                   if g.get("class") == "legend-entry")
    if impls != ["leakycl", "leakycl-host"]:
        problems.append(f"legend entries {impls}, want leakycl and leakycl-host alone")
    texts = " ".join(t.text or "" for t in root.iter(NS + "text"))
    for absent in ("OpenMP", "NumPy", "JAX", "pyopencl", "copy limit:"):
        if absent in texts:
            problems.append(f"text {absent!r} in a chart without references")
    report("bench --svg and the table", problems)


def svg_impl(row):
    """The chart's implementation key of a JSON row."""
    return "leakycl-host" if row["name"] == "leakycl" and not row["resident"] else row["name"]


def svg_op(row):
    return "backward+dalpha" if row["fused_dalpha"] else row["op"]


def whisker_span(d):
    """(x, y_lo, y_hi) of a whisker path "Mx yVy2...", or None."""
    m = re.match(r"M([\d.]+) ([\d.]+)V([\d.]+)", d or "")
    return (float(m.group(1)), float(m.group(2)), float(m.group(3))) if m else None


def svg_chart_problems(root, rows):
    """The chart against the rows it was drawn from: a panel per op, a line
    per (device, implementation) that ran and no other, a whisker per
    point, the legend, device names, the footer. Backward from the mask is
    not charted (other bytes; its figures are the table's)."""
    rows = [x for x in rows if x.get("from") != "mask"]
    problems = []
    if root.tag != NS + "svg":
        problems.append(f"root element {root.tag}")
    want_ops = {svg_op(x) for x in rows if x["op"] != "copy"}
    panels = [g for g in root.iter(NS + "g") if g.get("class") == "panel"]
    got_ops = [g.get("data-op") for g in panels]
    if sorted(got_ops) != sorted(want_ops):
        problems.append(f"panels {got_ops}, want one per op {sorted(want_ops)}")
    limits = {(x["device_index"], x["name"]) for x in rows if x["op"] == "copy"}
    for g in panels:
        op = g.get("data-op")
        ran = [x for x in rows if svg_op(x) == op and x["op"] != "copy"]
        want = {(x["device_index"], svg_impl(x)) for x in ran}
        lines = [p for p in g.iter(NS + "polyline")]
        got = {(p.get("data-device"), p.get("data-impl")) for p in lines
               if p.get("class") == "series"}
        got_limits = {(p.get("data-device"), p.get("data-impl")) for p in lines
                      if p.get("class") == "limit"}
        if got != want or len(got) != len([p for p in lines if p.get("class") == "series"]):
            problems.append(f"{op}: lines {sorted(got)}, want {sorted(want)}")
        if got_limits != limits:
            problems.append(f"{op}: copy limits {sorted(got_limits)}, want {sorted(limits)}")
        points = 0
        for p in lines:
            sizes = {x["n"] for x in rows if x["device_index"] == p.get("data-device")
                     and (svg_op(x) == op or x["op"] == "copy")
                     and svg_impl(x) == p.get("data-impl")}
            pts = p.get("points", "").split()
            points += len(pts)
            if len(pts) != len(sizes) or not all(len(pt.split(",")) == 2 for pt in pts):
                problems.append(f"{op} {p.get('data-impl')}: points {pts}, want {len(sizes)}")
        whiskers = [whisker_span(w.get("d")) for w in g.iter(NS + "path")
                    if w.get("class") == "whisker"]
        if len(whiskers) != points or None in whiskers:
            problems.append(f"{op}: {len(whiskers)} whiskers for {points} points")
        elif not all(lo >= hi for _, lo, hi in whiskers):  # y grows downwards
            problems.append(f"{op}: a whisker's min above its max: {whiskers[:3]}")
    legend = sorted((g.get("data-device"), g.get("data-impl")) for g in root.iter(NS + "g")
                    if g.get("class") == "legend-entry")
    want_legend = sorted({(x["device_index"], svg_impl(x)) for x in rows})
    if legend != want_legend:
        problems.append(f"legend {legend}, want what ran: {want_legend}")
    texts = " ".join(t.text or "" for t in root.iter(NS + "text"))
    for name in {x["device"] for x in rows}:
        if name[:20] not in texts:
            problems.append(f"device name {name!r} not in the chart")
    footer = [g for g in root.iter(NS + "g") if g.get("class") == "footer"]
    foot = " ".join(t.text or "" for g in footer for t in g.iter(NS + "text"))
    if f"leakycl {VERSION}" not in foot or not re.search(r"\b20\d\d-\d\d-\d\d\b", foot):
        problems.append(f"footer {foot!r}: want 'leakycl {VERSION}' and a date")
    for variant in {x["variant"] for x in rows if x["kind"] == "leakycl"}:
        if variant not in foot:
            problems.append(f"footer {foot!r} lacks the variant {variant!r}")
    for absent in {"numpy", "jax", "pyopencl"} - {x["name"] for x in rows}:
        if f'data-impl="{absent}"' in ET.tostring(root, encoding="unicode"):
            problems.append(f"{absent} drawn though it did not run")
    return problems


def test_svg_chart(tmp):
    """Every op, two sizes, the C references, no Python: the chart drawn
    from the same run's JSON rows."""
    svg = os.path.join(tmp, "all.svg")
    r = cli("bench", "--device", DEVICE, "--n-min", "4096", "--n-max", "16384", "--repeat", "2",
            "--json", "--svg", svg, env={"LEAKYCL_PYTHON": os.path.join(tmp, "no-such-python")})
    name = "bench --svg: a panel per op, a line per device and implementation, whiskers, footer"
    if r.returncode != 0:
        report(name, [f"exit {r.returncode}: {r.stderr.strip()[-300:]}"])
        return
    rows, problems = parse_lines(r.stdout)
    try:
        problems += svg_chart_problems(ET.parse(svg).getroot(), rows)
    except (OSError, ET.ParseError) as e:
        problems.append(f"{svg}: {e}")
    report(name, problems)


def test_svg_unwritable(tmp):
    """--svg is tried before the sweep: an unwritable path fails at once
    (exit 2, the path named, nothing timed), and the probe leaves no file."""
    problems = []
    for path in ("/nonexistent-dir/x.svg", tmp):
        start = time.monotonic()
        r = cli("bench", "--device", DEVICE, "--svg", path, "--repeat", "3")
        took = time.monotonic() - start
        if r.returncode != 2 or path not in r.stderr or "n=" in r.stderr or r.stdout \
                or len(r.stderr.strip().splitlines()) != 1 or took > 1.0:
            problems.append(f"--svg {path}: exit {r.returncode} (want 2) after {took:.2f} s, "
                            f"stderr {r.stderr.strip()[:200]!r}, stdout {r.stdout[:80]!r}")
    probe = os.path.join(tmp, "never.svg")
    r = cli("bench", "--device", "no-such-device-xyz", "--svg", probe, "--no-references")
    if r.returncode != 1 or os.path.exists(probe):
        problems.append(f"unknown device with --svg: exit {r.returncode} (want 1), "
                        f"probe file left: {os.path.exists(probe)}")
    report("bench --svg to an unwritable path fails before timing anything", problems)


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
        "--n 5Gi over 2^32": ["--n", "5Gi"],
        "--n 4Kib": ["--n", "4Kib"],
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


def test_size_suffixes():
    """Sizes as the table prints them (4Ki) and as --max-body takes them (4k)."""
    problems = []
    for text in ("4Ki", "4k", "4K", "4096"):
        r = cli("bench", "--device", DEVICE, "--n", text, "--repeat", "1", "--op", "forward",
                "--activation", "relu", "--no-references", "--json")
        ns = {row.get("n") for row in parse_lines(r.stdout)[0]} if r.returncode == 0 else set()
        if ns != {4096}:
            problems.append(f"--n {text}: exit {r.returncode}, n {ns}: {r.stderr.strip()[-200:]}")
    report("bench --n takes Ki/Mi/Gi and k/m/g suffixes", problems)


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
        test_size_suffixes()
        test_table_and_svg(tmp)
        test_svg_chart(tmp)
        test_svg_unwritable(tmp)
        test_references(tmp)
        test_verify_and_variant()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
