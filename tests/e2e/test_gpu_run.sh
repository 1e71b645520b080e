#!/usr/bin/env bash
# test_gpu_run.sh - scripts/gpu-run.sh end to end on $LEAKYCL_TEST_DEVICE
# (default cpu) with tiny sizes: `pack` gathers the built binaries and their
# libraries (none of glibc's) into a temporary folder, `run` writes the JSON
# lines, the chart and the summary, and a run whose check and bench fail
# (LEAKYCL_CHECK_CORRUPT) still writes every other step's results.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${LEAKYCL_BUILD:-build}
python=${LEAKYCL_TEST_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; [ $# -gt 1 ] && printf '  %s\n' "$2" | head -20; }
export CARRY=$tmp/carry DEVICE=${LEAKYCL_TEST_DEVICE:-cpu} N_MIN=4096 N_MAX=16384 REPEAT=2 \
  PYTHON=$python BUDGET_S=120 CHECK_ARGS=--quick

# ---- pack ----
if NO_BUILD=1 BUILD=$build scripts/gpu-run.sh pack > "$tmp/pack.log" 2>&1; then
  missing=""
  for f in bin/leakycl bin/leakycld lib/libleakycl.so lib/libcjson.so.1 lib/libOpenCL.so.1 \
    lib/libmicrohttpd.so.12; do
    [ -e "$CARRY/$f" ] || missing="$missing $f"
  done
  glibc=$(cd "$CARRY/lib" && ls libc.so.* libm.so.* ld-linux* 2> /dev/null)
  if [ -z "$missing" ] && [ -z "$glibc" ] && grep -q 'needs glibc >= 2\.' "$tmp/pack.log"; then
    pass gpu_run_pack
  else
    fail gpu_run_pack "missing:$missing; glibc's own carried: $glibc; $(tail -3 "$tmp/pack.log")"
  fi
else
  fail gpu_run_pack "$(tail -20 "$tmp/pack.log")"
  exit 1
fi

# check_outputs NAME DIR WANT: the three files parse; WANT "ok" or "corrupt"
# says which steps must have succeeded.
check_outputs() {
  "$python" - "$2" "$1" "$3" << 'EOF'
import json, os, re, sys
import xml.etree.ElementTree as ET
out, name, want = sys.argv[1:]
problems = []
try:
    rows = [json.loads(line) for line in open(os.path.join(out, name + ".jsonl"))]
except (OSError, ValueError) as e:
    rows = []
    problems.append(f"jsonl: {e}")
steps = {r.get("step") for r in rows}
bench = [r for r in rows if r.get("step") == "bench"]
for s in ["devices", "tune"] + (["check", "bench"] if want == "ok" else []):
    if s not in steps:
        problems.append(f"no JSON lines of step {s} (have {sorted(steps)})")
if want == "ok" and not {r.get("name") for r in bench} >= {"leakycl", "cl_copy"}:
    problems.append("bench rows lack leakycl or cl_copy")
try:
    text = open(os.path.join(out, name + ".txt")).read()
except OSError as e:
    text = ""
    problems.append(f"txt: {e}")
for what, pattern in [("driver", r"driver version \S+"), ("date", r"\b20\d\d-\d\d-\d\d\b"),
                      ("e2e_api", r"e2e_api +ok .*\b[1-9]\d* PASS, 0 FAIL"),
                      ("torch", r"no CUDA|aten\.leaky_relu")]:
    if not re.search(pattern, text):
        problems.append(f"txt has no {what} ({pattern})")
if want == "ok":
    if not re.search(r"^forward +relu +[\d.]+ +[\d.]+ +[\d.]+x", text, re.M):
        problems.append("txt has no forward relu row with a leakycl/cl_copy ratio")
    try:
        root = ET.parse(os.path.join(out, name + ".svg")).getroot()
        panels = [g for g in root.iter("{http://www.w3.org/2000/svg}g")
                  if g.get("class") == "panel"]
        if len(panels) != 4:
            problems.append(f"svg: {len(panels)} panels, want 4")
    except (OSError, ET.ParseError) as e:
        problems.append(f"svg: {e}")
else:
    for s in ("check", "bench"):
        if not re.search(rf"^  {s} +failed \(1\)", text, re.M):
            problems.append(f"txt does not say that {s} failed")
print("\n".join(problems))
EOF
}

start=$SECONDS
NAME=ok scripts/gpu-run.sh run "$tmp/out" > "$tmp/run.log" 2>&1
problems=$(check_outputs ok "$tmp/out" ok)
if [ -z "$problems" ]; then
  pass "gpu_run_writes_jsonl_svg_txt ($((SECONDS - start)) s)"
else
  fail gpu_run_writes_jsonl_svg_txt "$problems
$(tail -12 "$tmp/run.log")"
fi

# A check and a bench that fail (a corrupted output) lose nothing else.
LEAKYCL_CHECK_CORRUPT=1 NAME=corrupt scripts/gpu-run.sh run "$tmp/out" > "$tmp/corrupt.log" 2>&1
problems=$(check_outputs corrupt "$tmp/out" corrupt)
if [ -z "$problems" ]; then
  pass gpu_run_failed_steps_keep_the_others
else
  fail gpu_run_failed_steps_keep_the_others "$problems
$(tail -12 "$tmp/corrupt.log")"
fi
