#!/usr/bin/env python3
"""report.py - assembles build/bench/report.json from the benchmark figures
and prints the ratios of the standard sweep next to their goals.

  python3 tests/bench/report.py BENCH_DIR      (default build/bench)

Reads BENCH_DIR/ops.jsonl (`leakycl bench --json`: "leakycl" and "reference"
rows) and writes BENCH_DIR/report.json:
  {"ops": [leakycl rows], "references": [reference rows],
   "ratios": [one per device, op and activation at the largest n (64 Mi in
              the standard sweep): leakycl resident GB/s over each reference,
              host pointers over resident, and the goals],
   "<stem>": the contents of every other BENCH_DIR/*.json or *.jsonl
             (daemon.jsonl, batch.jsonl, ... written by other benchmarks)}
Figures only: the goals are printed beside the ratios, never enforced."""
import glob
import json
import os
import sys

# (key, column title, goal): leakycl resident / reference, unless noted.
GOALS = [
    ("openmp", "OpenMP", 1.0),
    ("stream_copy", "copy", 0.9),
    ("host_vs_resident", "host/res", 0.95),
    ("numpy", "NumPy", 10.0),
    ("jax", "JAX", 6.0),
    ("pyopencl", "pyopencl", 1.0),
]


def read_jsonl(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"report: {path}: skipped a line that is not JSON", file=sys.stderr)
    return rows


def ratios(rows):
    """Ratios at the largest n of each device, per op, fusion and activation."""
    out = []
    for device in sorted({r["device_index"] for r in rows}):
        mine = [r for r in rows if r["device_index"] == device]
        n = max(r["n"] for r in mine)
        at_n = [r for r in mine if r["n"] == n]
        copy = {r["name"]: r for r in at_n if r["op"] == "copy"}
        for lk in at_n:
            if lk["kind"] != "leakycl" or not lk["resident"]:
                continue
            same = [r for r in at_n if r["op"] == lk["op"] and r["activation"] == lk["activation"]
                    and r["fused_dalpha"] == lk["fused_dalpha"]]
            entry = {"device": lk["device"], "device_index": device, "op": lk["op"],
                     "fused_dalpha": lk["fused_dalpha"], "activation": lk["activation"], "n": n,
                     "leakycl_gbps": lk["gbps"], "vs": {}, "goals": {k: g for k, _, g in GOALS}}
            for r in same:
                if r["kind"] == "reference" and r["gbps"] > 0:
                    entry["vs"][r["name"]] = lk["gbps"] / r["gbps"]
                elif r["kind"] == "leakycl" and not r["resident"] and lk["gbps"] > 0:
                    entry["host_gbps"] = r["gbps"]
                    entry["vs"]["host_vs_resident"] = r["gbps"] / lk["gbps"]
            for name, r in copy.items():
                if r["gbps"] > 0:
                    entry["vs"][name] = lk["gbps"] / r["gbps"]
            out.append(entry)
    return out


def size_label(n):
    for unit in ("", "Ki", "Mi", "Gi"):
        if n < 1024 or n % 1024:
            return f"{n}{unit}"
        n //= 1024
    return f"{n}Ti"


def print_summary(table):
    if not table:
        print("report: no leakycl rows to compare")
        return
    heads = [f"{title} (>={goal:g}x)" for _, title, goal in GOALS]
    for device in sorted({e["device_index"] for e in table}):
        rows = [e for e in table if e["device_index"] == device]
        print(f"\nleakycl / reference at n = {size_label(rows[0]['n'])}, resident, "
              f"{device} {rows[0]['device']} (goals in brackets; figures, not a verdict)")
        print(f"{'op':<12} {'activation':<12} {'GB/s':>6}  " + "  ".join(f"{h:>15}" for h in heads))
        for e in rows:
            op = e["op"] + ("+da" if e["fused_dalpha"] else "")
            cells = []
            for key, _, _ in GOALS:
                v = e["vs"].get(key)
                cells.append(f"{'-' if v is None else f'{v:.2f}x':>15}")
            print(f"{op:<12} {e['activation']:<12} {e['leakycl_gbps']:>6.1f}  " + "  ".join(cells))


def print_extras(report):
    """The daemon, codec and packed-job figures, next to their goals."""
    lines = []
    for row in report.get("codec", []):
        lines.append(f"codec {row['what']:<14} {row['ours_floats_per_s'] / 1e6:9.1f} M floats/s, "
                     f"{row['ratio']:7.1f}x cJSON (>= 10x)")
    for row in report.get("daemon", []):
        if row.get("case") == "b64_forward":
            lines.append(f"daemon base64 forward {row['mib']:>3} MiB: {1e3 * row['seconds']:8.1f} ms "
                         f"[{1e3 * row['min']:.1f}-{1e3 * row['max']:.1f}], "
                         f"{row['gbps_payload']:.2f} GB/s of payload (>= 1 GB/s)")
        elif row.get("case") == "json_forward":
            lines.append(f"daemon JSON forward {row['floats']} floats: "
                         f"{1e3 * row['seconds']:.1f} ms")
        elif row.get("case") == "small_wrk":
            rate = row.get("requests_per_s", row.get("req_per_s", 0))
            line = f"daemon {row['elements']}-element forwards with wrk: {rate:,.0f} req/s"
            if "forward_over_health" in row:
                line += (f", {row['forward_over_health']:.2f}x /v1/health's "
                         f"{row['health_requests_per_s']:,.0f} req/s in the same run (>= 0.5x)")
            lines.append(line)
    for row in report.get("batch", []):
        lines.append(f"packed jobs {row['jobs']} x {row['n']} {row.get('dtype', 'float32'):<8} "
                     f"{row['op']:<8} {row['mode']:<7} "
                     f"{row['us_per_job']:7.2f} us/job [{row['min']:.2f}-{row['max']:.2f}]"
                     + (" (<= 5 us)" if row["mode"] == "packed" else ""))
    goals = {"triton": "<= 1.2", "c_forward": "<= 1.5", "c_backward_dalpha": "<= 1.5",
             "py_backward_dalpha": ">= 1 (torch over leakycl)", "py_forward_torch": "torch over leakycl"}
    for row in report.get("python", []):
        if "ratio" in row:
            lines.append(f"python {row['section']} {row['case']} {row['elements'] // (1 << 20)} Mi: "
                         f"{1e3 * row['seconds']:.3f} ms, {row['ratio']:.2f}x {row['vs']} "
                         f"({goals.get(row['vs'], '')})")
    if lines:
        print("\n" + "\n".join(lines))


def main():
    bench_dir = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    ops_path = os.path.join(bench_dir, "ops.jsonl")
    rows = read_jsonl(ops_path) if os.path.exists(ops_path) else []
    report = {"ops": [r for r in rows if r.get("kind") == "leakycl"],
              "references": [r for r in rows if r.get("kind") == "reference"],
              "ratios": ratios(rows) if rows else []}
    for path in sorted(glob.glob(os.path.join(bench_dir, "*.json")) +
                       glob.glob(os.path.join(bench_dir, "*.jsonl"))):
        stem, ext = os.path.splitext(os.path.basename(path))
        if stem in ("ops", "report") or stem in report:
            continue
        try:
            if ext == ".jsonl":
                report[stem] = read_jsonl(path)
            else:
                with open(path) as f:
                    report[stem] = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            print(f"report: {path} skipped: {e}", file=sys.stderr)
    out = os.path.join(bench_dir, "report.json")
    with open(out + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(out + ".tmp", out)
    print_summary(report["ratios"])
    print_extras(report)
    extra = [k for k in report if k not in ("ops", "references", "ratios")]
    print(f"\nreport: {out} ({len(report['ops'])} leakycl rows, {len(report['references'])} "
          f"reference rows{', also ' + ', '.join(extra) if extra else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
