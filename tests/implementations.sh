#!/usr/bin/env bash
# implementations.sh - leakycl on the other OpenCL implementations Debian
# installs beside PoCL, each loaded alone (OCL_ICD_VENDORS names a directory
# holding its .icd file only):
#   rusticl   Mesa's, on llvmpipe (RUSTICL_ENABLE=llvmpipe): `leakycl check
#             --quick`, the program cache and bundle unit tests on it
#             (LEAKYCL_TEST_DEVICE), and one sanitized unit test, so
#             tests/lsan.supp is proven there. (Every unit test runs there:
#             LEAKYCL_TEST_DEVICE=llvmpipe with rusticl's ICD alone.)
#   oclgrind  the Oclgrind simulator (a GPU-type device with non-unified
#             memory): `leakycl check --quick` for both strategies with small
#             work-groups under --data-races and --check-api, then under
#             --uninitialized, which needs -cl-opt-disable (it aborts on LLVM's
#             `freeze` otherwise) and pools grown first (it reports a buffer
#             released and re-created larger). Any report in Oclgrind's log
#             fails the run.
# An implementation that is not installed is a SKIP, never a pass.
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
#   tests/implementations.sh rusticl|oclgrind BUILD_DIR [SANITIZED_BUILD_DIR]
set -u
cd "$(dirname "$0")/.."
impl=$1 build=$2 san=${3:-}
state=${LEAKYCL_STATE:-}
if [ -z "$state" ]; then
  state=$(mktemp -d)
  trap 'rm -rf "$state"' EXIT
fi
cli=$build/bin/leakycl
# Each implementation gets its own program cache and tune table (their keys
# differ anyway; this keeps the runs apart from the main run beside them).
export LEAKYCL_CACHE_DIR="$state/programs-$impl" LEAKYCL_TUNE_FILE="$state/variants-$impl.tsv"
unset LEAKYCL_VARIANT

icd_dir() {
  mkdir -p "$state/icd/$1" && echo "$2" > "$state/icd/$1/$1.icd" && echo "$state/icd/$1"
}

# check LABEL [ENV=VALUE ...] -- ARGS: one PASS/FAIL line for `leakycl check ARGS`.
check() {
  local label=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local out rc t0=$SECONDS
  out=$(env "${envs[@]}" "$cli" check "$@" 2>&1); rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "PASS $label ($((SECONDS - t0)) s)"
  else
    echo "FAIL $label: leakycl check $* exited $rc"
    printf '%s\n' "$out" | sed 's/^/  /' | tail -30
  fi
  printf '%s\n' "$out" | grep -E '^(device|DEVICE|[[:space:]]*[0-9]+:[0-9]+)' | head -5 | sed 's/^/# /'
}

case "$impl" in
rusticl)
  lib=$(head -n 1 /etc/OpenCL/vendors/rusticl.icd 2>/dev/null) || lib=
  if [ -z "$lib" ]; then
    echo "SKIP rusticl: /etc/OpenCL/vendors/rusticl.icd missing (Debian: mesa-opencl-icd)"
    exit 0
  fi
  export OCL_ICD_VENDORS=$(icd_dir rusticl "$lib") RUSTICL_ENABLE=llvmpipe
  export LEAKYCL_TEST_DEVICE=llvmpipe
  check "check_rusticl" -- --quick --device llvmpipe
  # The unit tests of what check cannot see from outside (damaged cache
  # entries and bundles, the cache's hits and misses, the tuner) on rusticl;
  # the ops and packed batches are check's. Each prints PASS/FAIL lines.
  for t in test_binaries test_tune; do
    [ -x "$build/tests/$t" ] || continue
    out=$("$build/tests/$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP) |^  ' | sed -E "s/^(PASS|FAIL|SKIP) /\1 rusticl:/"
    # A crash prints no FAIL line: it is one all the same.
    if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
      echo "FAIL rusticl:$t exited with status $rc"
      printf '%s\n' "$out" | tail -15 | sed 's/^/  /'
    fi
  done
  # Under ASan with rusticl loaded, LeakSanitizer must see nothing of ours
  # (tests/lsan.supp). test_fault opens contexts on the device and runs calls;
  # the big op tests are left out here: under ASan, llvmpipe's JIT grows to
  # tens of GB on the scalar variants.
  if [ -n "$san" ] && [ -x "$san/tests/test_fault" ]; then
    if out=$("$san/tests/test_fault" 2>&1); then
      echo "PASS rusticl_sanitized_test_fault"
    else
      echo "FAIL rusticl_sanitized_test_fault"
      printf '%s\n' "$out" | grep -E 'FAIL|Sanitizer|ERROR|#[0-9]' | head -30 | sed 's/^/  /'
    fi
  fi
  ;;
oclgrind)
  lib=/usr/lib/oclgrind/liboclgrind-rt-icd.so
  if [ ! -r "$lib" ]; then
    echo "SKIP oclgrind: $lib missing (Debian: oclgrind)"
    exit 0
  fi
  export OCL_ICD_VENDORS=$(icd_dir oclgrind "$lib")
  log=$state/oclgrind.log
  # report NAME: a non-empty log is a FAIL, its first lines shown.
  report() {
    if [ -s "$log" ]; then
      echo "FAIL oclgrind_reports_$1"
      head -30 "$log" | sed 's/^/  /'
    else
      echo "PASS oclgrind_reports_$1"
    fi
    rm -f "$log"
  }
  for variant in "gpu vw4 wg16" "cpu vw4 wg4"; do
    name=$(echo "$variant" | tr ' ' '_')
    rm -f "$log"
    check "check_oclgrind_races_$name" OCLGRIND_DATA_RACES=1 OCLGRIND_CHECK_API=1 \
      OCLGRIND_LOG="$log" -- --quick --device oclgrind --variant "$variant"
    report "races_$name"
  done
  rm -f "$log"
  # The pools pre-sized (LEAKYCL_POOL_MIN_BYTES, over every quick case):
  # Oclgrind reports reads of a pooled buffer released and re-created larger.
  check "check_oclgrind_uninitialized" OCLGRIND_UNINITIALIZED=1 OCLGRIND_CHECK_API=1 \
    OCLGRIND_BUILD_OPTIONS=-cl-opt-disable OCLGRIND_LOG="$log" LEAKYCL_POOL_MIN_BYTES=1048576 \
    LEAKYCL_CACHE_DIR="$state/programs-oclgrind-O0" -- --quick --device oclgrind --variant "gpu vw4 wg16"
  report "uninitialized"
  ;;
*)
  echo "FAIL implementations.sh: unknown implementation \"$impl\" (rusticl, oclgrind)"
  exit 1
  ;;
esac
exit 0
