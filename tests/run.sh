#!/usr/bin/env bash
# run.sh - runs every test program and script, counts their PASS/FAIL/SKIP
# lines, and ends with "N passed, N failed, N skipped".
#   tests/run.sh BUILD_DIR [SANITIZED_BUILD_DIR]
# Unit tests are the executables in BUILD_DIR/tests (and the sanitized
# build's); end-to-end tests are tests/e2e/*.sh and *.py, run with
# LEAKYCL_BUILD=BUILD_DIR; all on $LEAKYCL_TEST_DEVICE (default: PoCL's CPU
# device, PoCL alone). Beside it, tests/implementations.sh runs the
# conformance suite and the program-cache tests on the other OpenCL
# implementations (rusticl, Oclgrind); LEAKYCL_TEST_SKIP_IMPLEMENTATIONS=1
# leaves them out. LEAKYCL_TEST_ONLY=PATTERN runs only the end-to-end
# tests whose path matches the shell pattern (make test-torch). A program
# that exits non-zero without printing a FAIL line counts as one failure (a
# crash is never a pass).
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
san=${2:-}
passed=0 failed=0 skipped=0
# The e2e tests' Python: make test passes the venv of scripts/test-pydeps.sh
# (Debian's packages plus tests/requirements.txt).
python=${LEAKYCL_TEST_PYTHON:-/usr/bin/python3}
only=${LEAKYCL_TEST_ONLY:-}
if [ -n "$only" ]; then
  san= LEAKYCL_TEST_SKIP_IMPLEMENTATIONS=1
fi
export LEAKYCL_BUILD="$build"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_odr_violation=0"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Hermetic: the user's tuned variants and program cache never steer a test;
# one fresh cache for the whole run, so later tests also cover cache hits.
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
export LEAKYCL_TUNE_FILE="$state/variants.tsv" LEAKYCL_CACHE_DIR="$state/programs"
# PoCL's kernel cache would follow the program cache into $state (the
# library points it there) and start cold every run, tripling the unit
# tests' time; it is keyed by content, so the user's own is shared as before.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pocl/kcache}"
unset LEAKYCL_VARIANT LEAKYCL_CACHE

# One OpenCL implementation at a time: OCL_ICD_VENDORS names a directory
# holding that implementation's .icd file alone, so no other runtime is
# loaded into the process (the ICD loader otherwise loads every one
# installed). icd_dir NAME LIBRARY prints the directory.
icd_dir() {
  mkdir -p "$state/icd/$1" && echo "$2" > "$state/icd/$1/$1.icd" && echo "$state/icd/$1"
}
vendor_lib() { # the library an installed /etc/OpenCL/vendors/NAME.icd names
  [ -r "/etc/OpenCL/vendors/$1.icd" ] && head -n 1 "/etc/OpenCL/vendors/$1.icd"
}
# The main run: every unit and end-to-end test on $LEAKYCL_TEST_DEVICE.
# Unset, that is PoCL's CPU device with PoCL alone; set (say, gpu), the
# user's own set of implementations stays as it is.
if [ -z "${LEAKYCL_TEST_DEVICE:-}" ]; then
  export LEAKYCL_TEST_DEVICE=cpu
  lib=$(vendor_lib pocl) && export OCL_ICD_VENDORS=$(icd_dir pocl "$lib")
fi
# Commands the tests run without --device (leakycl run) take it from here.
export LEAKYCL_DEVICE="$LEAKYCL_TEST_DEVICE"
echo "# main run on device \"$LEAKYCL_TEST_DEVICE\"${OCL_ICD_VENDORS:+ (ICDs: $(cat "$OCL_ICD_VENDORS"/*.icd | tr '\n' ' '))}"

run_one() {
  local label=$1; shift
  local out rc t0=$SECONDS
  echo "== $label"
  out=$("$@" 2>&1); rc=$?
  # LeakSanitizer's own failure to stop the world at exit (it ptraces the
  # process) is a tool failure, not a test result: run that program again
  # once, saying so. A leak report is never retried.
  if [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -q 'LeakSanitizer has encountered a fatal error'; then
    echo "# $label: LeakSanitizer failed to run (not a leak report); running it again"
    out=$("$@" 2>&1); rc=$?
  fi
  printf '%s\n' "$out" | grep -E '^(FAIL|SKIP)|^  |ERROR|Sanitizer|runtime error' | head -40
  local p f s
  p=$(printf '%s\n' "$out" | grep -c '^PASS ')
  f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
  s=$(printf '%s\n' "$out" | grep -c '^SKIP ')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $label exited with status $rc"
    printf '%s\n' "$out" | tail -20
    f=1
  fi
  echo "   $p passed, $f failed, $s skipped ($((SECONDS - t0)) s)"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

# The other implementations (Mesa rusticl, Oclgrind; tests/implementations.sh
# says what runs there) go beside the main run's unit tests: they build with
# other compilers into other caches, mostly on the core that PoCL's
# single-threaded builds leave idle, and are done before the end-to-end
# tests, whose timings they would disturb, get far.
impl_pid=
if [ -z "${LEAKYCL_TEST_SKIP_IMPLEMENTATIONS:-}" ]; then
  for impl in rusticl oclgrind; do
    env LEAKYCL_STATE="$state" tests/implementations.sh "$impl" "$build" $san \
      > "$state/implementation-$impl.out" 2>&1
  done &
  impl_pid=$!
fi

# The normal build's unit tests run in two lanes: with cold caches each is
# mostly PoCL building programs on one core. A lane claims the next program
# (mkdir is atomic) and keeps its output and status; each lane has its own
# program cache, so a lane sees the hits and misses of its own order only.
# They are counted below in their usual order.
unit="$state/unit"
mkdir -p "$unit/claims"
unit_lane() {
  export LEAKYCL_CACHE_DIR="$state/programs-lane$1"
  local t n
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    mkdir "$unit/claims/$n" 2>/dev/null || continue
    local t0=$SECONDS
    "$t" > "$unit/$n.out" 2>&1
    echo $? > "$unit/$n.rc"
    echo "# ran in lane $1 in $((SECONDS - t0)) s" >> "$unit/$n.out"
  done
}
# replay NAME: what a lane's program printed, and its exit status.
replay() { cat "$unit/$1.out"; return "$(cat "$unit/$1.rc")"; }
if [ -d "$build/tests" ] && [ -z "$only" ]; then
  unit_lane 1 &
  lane_pid=$!
  unit_lane 2
  wait "$lane_pid"
  for t in "$build"/tests/test_*; do
    [ -f "$unit/$(basename "$t").rc" ] && run_one "$t" replay "$(basename "$t")"
  done
fi
for dir in $san; do
  [ -d "$dir/tests" ] || continue
  for t in "$dir"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$t" "$t"
  done
done
for t in tests/e2e/*.sh tests/e2e/*.py; do
  [ -f "$t" ] || continue
  # shellcheck disable=SC2053 # $only is a pattern
  [ -z "$only" ] || [[ $t == $only ]] || continue
  case "$t" in
    *.py) run_one "$t" "$python" "$t" ;;
    *) run_one "$t" bash "$t" ;;
  esac
done
# The other implementations' results, counted like the rest.
if [ -n "$impl_pid" ]; then
  wait "$impl_pid"
  for impl in rusticl oclgrind; do
    run_one "implementation $impl" cat "$state/implementation-$impl.out"
  done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
