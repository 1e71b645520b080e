#!/usr/bin/env python3
"""gpu_report.py - the helpers of scripts/gpu-run.sh (standard library only):

  gpu_report.py tag STEP < OUTPUT >> RUN.jsonl
      every JSON object of a step's output (arrays unrolled) on one line,
      with "step": STEP; other lines are left out (they are in the log)
  gpu_report.py nmax --devices DEVICES.json --device SPEC --n-min N --n-max N
      the largest n-min * 4^k <= n-max whose three float32 buffers fit the
      device (x, dy, out: 12n bytes within 80% of its global memory, 4n
      within its largest allocation)
  gpu_report.py summary --jsonl RUN.jsonl --steps STEPS.tsv --device SPEC
      [--ratio-n N] [--version V]
      the human summary: device, driver, date, each step's outcome, and per
      op at n (default 256 Mi, else the largest timed) leakycl's GB/s over
      clEnqueueCopyBuffer's (bench's cl_copy row) and over PyTorch's CUDA
      kernel for the same op (tests/bench/torch_cuda_ref.py)."""
import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bench"))
from report import size_label  # noqa: E402  "4Ki", "256Mi"


def tag(step):
    for line in sys.stdin:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        for obj in value if isinstance(value, list) else [value]:
            if isinstance(obj, dict):
                print(json.dumps({"step": step, **obj}))


def pick_device(devices, spec):
    """The device a SPEC names (an index "P:D", or a type: gpu, cpu), else
    the first; None when there is none."""
    for d in devices:
        if spec in (d.get("index"), d.get("type")):
            return d
    return devices[0] if devices else None


def nmax(args):
    try:
        with open(args.devices, encoding="utf-8") as f:
            devices = json.load(f)
    except (OSError, ValueError):
        devices = []
    d = pick_device(devices, args.device)
    limit = args.n_max
    if d:
        limit = min(limit, int(0.8 * d.get("global_mem_bytes", 0)) // 12,
                    d.get("max_alloc_bytes", 0) // 4)
    n = args.n_min
    while n * 4 <= limit:
        n *= 4
    print(n)


def read_jsonl(path):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return rows


def read_steps(path):
    steps = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t") + ["", "", ""]
                steps.append(parts[:4])
    except OSError:
        pass
    return steps


def op_key(row):
    return "backward+dalpha" if row.get("fused_dalpha") else row.get("op")


def torch_op(row):
    """"aten.leaky_relu.out" from "torch 2.4.0 aten.leaky_relu.out"."""
    return row["variant"].split(" ", 2)[-1] if row else ""


def ratio_table(rows, want_n):
    """The lines of the ratio table, or a line saying why there is none."""
    bench = [r for r in rows if r.get("step", "").startswith("bench") and r.get("seconds", 0) > 0]
    torch = [r for r in rows if r.get("name") == "torch_cuda" and r.get("seconds", 0) > 0]
    leak = [r for r in bench if r.get("kind") == "leakycl" and r.get("resident")]
    if not leak:
        return ["no leakycl bench rows: see the bench step in the log"]
    sizes = sorted({r["n"] for r in leak})
    below = [x for x in sizes if x <= want_n]
    n = max(below) if below else sizes[0]
    out = [f"leakycl / reference at n = {size_label(n)} ({n} elements), resident; GB/s count bytes "
           "read + written" + ("" if n == want_n else f" ({size_label(want_n)} was not timed)")]
    copy = {r["device_index"]: r["gbps"] for r in bench
            if r.get("name") == "cl_copy" and r["n"] == n}
    ref = {op_key(r): r for r in torch if r["n"] == n}
    if ref:
        out.append(f"torch: {next(iter(ref.values()))['variant'].split(' ')[1]}, CUDA events")
    out.append(f"{'op':<16} {'activation':<12} {'leakycl GB/s':>12} {'cl_copy GB/s':>12} "
               f"{'/cl_copy':>9} {'torch GB/s':>11} {'/torch':>8}  torch op")
    ops = ["forward", "backward", "backward+dalpha", "reduce"]
    acts = ["relu", "leaky_relu", "prelu", "phased_relu"]
    for r in sorted((r for r in leak if r["n"] == n),
                    key=lambda r: (ops.index(op_key(r)) if op_key(r) in ops else 9,
                                   acts.index(r["activation"]) if r["activation"] in acts else 9)):
        c = copy.get(r["device_index"])
        t = ref.get(op_key(r))
        c_text, c_ratio = (f"{c:.1f}", f"{r['gbps'] / c:.2f}x") if c else ("-", "-")
        t_text, t_ratio = (f"{t['gbps']:.1f}", f"{r['gbps'] / t['gbps']:.2f}x") if t \
            else ("-", "-")
        out.append(f"{op_key(r):<16} {r['activation']:<12} {r['gbps']:>12.1f} {c_text:>12} "
                   f"{c_ratio:>9} {t_text:>11} {t_ratio:>8}  {torch_op(t)}")
    t = ref.get("copy")
    if t and copy:
        c = next(iter(copy.values()))
        out.append(f"torch copy_ {t['gbps']:.1f} GB/s, clEnqueueCopyBuffer {c:.1f} GB/s "
                   f"({c / t['gbps']:.2f}x)")
    return out


def summary(args):
    rows = read_jsonl(args.jsonl)
    devices = [r for r in rows if r.get("step") == "devices"]
    d = pick_device(devices, args.device)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    variant = next((r["variant"] for r in rows if r.get("step") == "bench"
                    and r.get("kind") == "leakycl"), "")
    print(f"leakycl {args.version} on {d['name'] if d else 'an unknown device'} "
          f"(--device {args.device}), {now}, scripts/gpu-run.sh")
    if d:
        print(f"device {d.get('index')}: {d.get('name')} ({d.get('vendor')}), "
              f"platform {d.get('platform')}, {d.get('version')}, "
              f"driver version {d.get('driver_version')}, "
              f"{d.get('global_mem_bytes', 0) / 2**30:.1f} GiB")
    else:
        print("no device information: `leakycl devices --json` failed (see the log)")
    if variant:
        print(f"leakycl's kernel variant in the bench: {variant}")
    print("\nsteps:")
    for name, status, seconds, note in read_steps(args.steps):
        print(f"  {name:<14} {status:<16} {seconds:>6} s  {note}")
    checks = [r for r in rows if r.get("step") == "check" and r.get("type") == "summary"]
    for c in checks:
        print(f"check: {c.get('cases')} cases, {c.get('failures')} failures, worst dalpha "
              f"error {c.get('worst_dalpha_error')} of sum|terms|, "
              f"{'passed' if c.get('passed') else 'FAILED'}")
    for t in (r for r in rows if r.get("step") == "tune"):
        print(f"tune: best {t.get('best')!r} (default {t.get('default')!r}), "
              f"speedup {t.get('confirmed_speedup')}")
    print()
    for line in ratio_table(rows, args.ratio_n):
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("tag").add_argument("step")
    p = sub.add_parser("nmax")
    p.add_argument("--devices", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--n-min", type=int, required=True)
    p.add_argument("--n-max", type=int, required=True)
    p = sub.add_parser("summary")
    p.add_argument("--jsonl", required=True)
    p.add_argument("--steps", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--ratio-n", type=int, default=1 << 28)
    p.add_argument("--version", default="(version unknown)")
    args = ap.parse_args()
    if args.cmd == "tag":
        tag(args.step)
    elif args.cmd == "nmax":
        nmax(args)
    else:
        summary(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
