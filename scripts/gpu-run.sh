#!/usr/bin/env bash
# gpu-run.sh - a GPU run in one go on a machine with no package registry.
#   scripts/gpu-run.sh pack          (here) make all, then gather into gpu-carry/
#                                    the binaries and the shared libraries a bare
#                                    image may lack (glibc's own left out)
#   scripts/gpu-run.sh run [OUTDIR]  (there; or here on PoCL with DEVICE=cpu)
# run: leakycl devices, check, tune, bench --verify (--json, --svg), PyTorch's
# CUDA kernels (tests/bench/torch_cuda_ref.py) and the daemon's end-to-end
# tests (test_api.py, test_kserve.py) on DEVICE, each step under a timeout and
# logged; a failed step never loses the others' results. Writes to OUTDIR
# (default docs/bench): NAME.jsonl (every JSON line, tagged "step"), NAME.svg
# (the bench chart), NAME.txt (device, driver, date, steps, ratios to
# clEnqueueCopyBuffer and torch at RATIO_N), NAME.log (everything printed).
# Environment: DEVICE (gpu), NAME (h200), N_MIN (1 Mi), N_MAX (1 Gi, lowered
# to what the device's memory holds), N_CHART_MAX (256 Mi: the charted sweep;
# larger sizes run last, JSON only), RATIO_N (256 Mi), REPEAT (7), CHECK_ARGS
# (default: the full suite on a GPU, --quick elsewhere), BUDGET_S (570: the
# whole run, under a 10-minute command limit), PYTHON (python3), CARRY
# (gpu-carry), BUILD (build; pack), NO_BUILD=1 (pack what is built).
set -u
cd "$(dirname "$0")/.." || exit 1
root=$PWD
carry=${CARRY:-gpu-carry}
case $carry in /*) ;; *) carry=$root/$carry ;; esac

die() { echo "gpu-run: $*" >&2; exit 1; }

# The libraries glibc itself provides: the image's own must be used.
is_glibc() {
  case $1 in
  libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
    libutil.so.* | libanl.so.* | ld-linux*) return 0 ;;
  esac
  return 1
}

pack() {
  local build=${BUILD:-build} lib exclude need
  if [ "${NO_BUILD:-0}" != 1 ]; then
    make BUILD="$build" -j"$(nproc)" all >&2 || die "make BUILD=$build all failed"
  fi
  { [ -x "$build/bin/leakycl" ] && [ -x "$build/bin/leakycld" ]; } || die "$build/bin: not built"
  rm -rf "$carry"
  mkdir -p "$carry/bin" "$carry/lib" || die "cannot create $carry"
  cp "$build/bin/leakycl" "$build/bin/leakycld" "$carry/bin/" || die "cannot copy the binaries"
  cp -P "$build"/lib/libleakycl.so* "$carry/lib/" || die "cannot copy libleakycl.so"
  # What the dynamic linker resolves here, under its soname (cp -L).
  for lib in $(ldd "$carry"/bin/* "$carry"/lib/libleakycl.so* |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
    is_glibc "$(basename "$lib")" || cp -L "$lib" "$carry/lib/" || die "cannot copy $lib"
  done
  # An ignored top-level folder: it travels only when named (carry).
  if [ "$carry" = "$root/gpu-carry" ] &&
    exclude=$(git rev-parse --git-path info/exclude 2> /dev/null); then
    mkdir -p "$(dirname "$exclude")"
    grep -qsx '/gpu-carry/' "$exclude" || echo '/gpu-carry/' >> "$exclude"
  fi
  need=$(objdump -T "$carry"/bin/* "$carry"/lib/* 2> /dev/null | grep -o 'GLIBC_[0-9.]*' |
    sort -uV | tail -n 1)
  echo "gpu-run: packed $carry ($(du -sh "$carry" | cut -f1)): $(cd "$carry" && echo bin/* lib/*)"
  echo "gpu-run: the image needs glibc >= ${need#GLIBC_} (libc, libm, ld-linux are the image's own)"
}

# ---- run ----

log() { echo "gpu-run: $*" | tee -a "$logfile" >&2; }

# step NAME LIMIT KIND COMMAND...: runs COMMAND under a timeout (LIMIT, cut to
# what the budget has left), stderr to the log; KIND json: stdout tagged into
# the JSON lines, other lines to the log (the first is the step's note);
# text: stdout to the log. Records "name status seconds note" in steps.tsv.
step() {
  local name=$1 limit=$2 kind=$3 left rc t0 status note=""
  shift 3
  left=$((deadline - $(date +%s) - 10)) # 10 s kept for the summary
  if [ "$left" -lt 10 ]; then
    log "$name: skipped, the budget of ${budget}s is spent"
    printf '%s\tskipped\t0\tout of time (BUDGET_S=%s)\n' "$name" "$budget" >> "$steps"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  log "$name: $* (timeout ${limit}s)"
  echo "==== $name" >> "$logfile"
  t0=$(date +%s)
  timeout -k 10 "$limit" "$@" > "$work/$name.out" 2>> "$logfile"
  rc=$?
  case $rc in
  0) status=ok ;;
  124 | 137) status="timed out" ;;
  *) status="failed ($rc)" ;;
  esac
  if [ "$kind" = json ]; then
    "$python" "$root/scripts/gpu_report.py" tag "$name" < "$work/$name.out" >> "$jsonl"
    grep -v '^[[{]' "$work/$name.out" >> "$logfile"
    note=$(grep -v '^[[{]' "$work/$name.out" | head -n 1)
    [ -z "$note" ] && note="$(grep -c '^[[{]' "$work/$name.out") JSON lines"
  else
    cat "$work/$name.out" >> "$logfile"
    grep -q '^PASS ' "$work/$name.out" &&
      note="$(grep -c '^PASS ' "$work/$name.out") PASS, $(grep -c '^FAIL ' "$work/$name.out") FAIL"
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - t0))" "$note" >> "$steps"
  log "$name: $status${note:+ ($note)}"
}

# NVIDIA's OpenCL library without an ICD file: write one (or, not root, point
# the loader at one of ours).
nvidia_icd() {
  local so dir=/usr/local/nvidia/lib64
  for so in "$dir/libnvidia-opencl.so.1" "$dir/libnvidia-opencl.so"; do
    [ -e "$so" ] || continue
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:${so%/*}"
    grep -qs libnvidia-opencl /etc/OpenCL/vendors/*.icd && return 0
    if mkdir -p /etc/OpenCL/vendors 2>/dev/null && echo "$so" > /etc/OpenCL/vendors/nvidia.icd; then
      log "wrote /etc/OpenCL/vendors/nvidia.icd: $so"
    else
      mkdir -p "$work/icd" && echo "$so" > "$work/icd/nvidia.icd"
      export OCL_ICD_VENDORS=$work/icd
      log "cannot write /etc/OpenCL/vendors: OCL_ICD_VENDORS=$work/icd"
    fi
    return 0
  done
}

version() { # "0.1.0", from the carried CLI
  local v
  v=$("$cli" --version 2> /dev/null) && echo "${v#leakycl }"
}

run() {
  local out=${1:-docs/bench} cli n_max chart_max tune_n check_args glibc
  local n_min=${N_MIN:-1048576} n_top=${N_MAX:-1073741824} repeat=${REPEAT:-7}
  [ -x "$carry/bin/leakycl" ] ||
    die "no $carry/bin/leakycl: run 'scripts/gpu-run.sh pack' first, and carry ${carry#"$root"/}"
  mkdir -p "$out" || die "cannot create $out"
  out=$(cd "$out" && pwd)
  name=${NAME:-h200} device=${DEVICE:-gpu} python=${PYTHON:-python3} budget=${BUDGET_S:-570}
  deadline=$(($(date +%s) + budget))
  work=$(mktemp -d) || die "mktemp failed"
  trap 'rm -rf "$work"' EXIT
  jsonl=$out/$name.jsonl logfile=$out/$name.log steps=$work/steps.tsv
  : > "$jsonl"
  : > "$logfile"
  : > "$steps"
  export LD_LIBRARY_PATH="$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LEAKYCL_TUNE_FILE=${LEAKYCL_TUNE_FILE:-$work/variants.tsv}
  nvidia_icd
  cli=$carry/bin/leakycl
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null)
  log "$(date -u '+%Y-%m-%d %H:%M UTC') $(uname -srm), ${glibc:-glibc ?}, device $device," \
    "budget ${budget}s"
  "$cli" --version >> "$logfile" 2>&1 ||
    log "$cli does not start (see the log): its libraries or glibc?"
  command -v nvidia-smi > /dev/null && nvidia-smi >> "$logfile" 2>&1

  step devices_table 60 text "$cli" devices
  step devices 60 json "$cli" devices --json
  n_max=$("$python" "$root/scripts/gpu_report.py" nmax --devices "$work/devices.out" \
    --device "$device" --n-min "$n_min" --n-max "$n_top") || n_max=$n_top
  chart_max=$n_max
  [ "$chart_max" -gt "${N_CHART_MAX:-268435456}" ] && chart_max=${N_CHART_MAX:-268435456}
  tune_n=$((n_max < 16777216 ? n_max : 16777216))
  check_args=${CHECK_ARGS-$([ "$device" = gpu ] || echo --quick)}
  log "sizes $n_min..$n_max (chart up to $chart_max), tune at $tune_n"

  # shellcheck disable=SC2086 # CHECK_ARGS is a list of options
  step check 180 json "$cli" check --device "$device" $check_args --json
  step tune 120 json "$cli" tune --device "$device" --n "$tune_n" --json
  # No Python references: NumPy and JAX time the host, not the device.
  local bench=(env LEAKYCL_PYTHON="$work/no-python" "$cli" bench --device "$device" --verify
    --repeat "$repeat" --json)
  step bench 300 json "${bench[@]}" --n-min "$n_min" --n-max "$chart_max" --svg "$out/$name.svg"
  step torch_cuda 120 json "$python" tests/bench/torch_cuda_ref.py --n-min "$n_min" \
    --n-max "$chart_max" --repeat "$repeat"
  local e2e=(env LEAKYCL_BUILD="$carry" LEAKYCL_TEST_DEVICE="$device" "$python")
  step e2e_api 120 text "${e2e[@]}" tests/e2e/test_api.py
  if "$python" -c 'import numpy, tritonclient.http' 2> /dev/null; then
    step e2e_kserve 120 text "${e2e[@]}" tests/e2e/test_kserve.py
  else
    printf 'e2e_kserve\tskipped\t0\tnumpy or tritonclient is not importable by %s\n' \
      "$python" >> "$steps"
  fi
  if [ "$n_max" -gt "$chart_max" ]; then # the largest sizes last: the longest, least needed
    step bench_large 600 json "${bench[@]}" --n-min $((chart_max * 4)) --n-max "$n_max"
    step torch_large 120 json "$python" tests/bench/torch_cuda_ref.py --n-min $((chart_max * 4)) \
      --n-max "$n_max" --repeat "$repeat"
  fi
  "$python" "$root/scripts/gpu_report.py" summary --jsonl "$jsonl" --steps "$steps" \
    --device "$device" --ratio-n "${RATIO_N:-268435456}" --version "$(version)" \
    > "$out/$name.txt" 2>> "$logfile" || log "the summary failed (see the log)"
  cat "$out/$name.txt" >&2
  log "wrote $jsonl, $out/$name.svg, $out/$name.txt, $logfile"
}

case ${1:-} in
pack) pack ;;
run) run "${2:-}" ;;
*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
