#!/usr/bin/env bash
# fuzz_run.sh - runs one libFuzzer target for a while (make fuzz calls it).
#   tests/fuzz/fuzz_run.sh TARGET FUZZ_BUILD SECONDS MAX_LEN
# New inputs go to FUZZ_BUILD/corpus/TARGET (a scratch corpus kept between
# runs), never into the repository; the seeds and the kept crashes are read
# only. On a crash, a leak, a timeout or running out of memory the input is
# copied into tests/fuzz/regression/TARGET/ (which make test replays) and
# the script fails.
set -u
cd "$(dirname "$0")/../.."
target=$1 build=$2 seconds=$3 max_len=$4
bin=$build/fuzz_$target
scratch=$build/corpus/$target
artifacts=$build/artifacts/$target
log=$build/fuzz_$target.log
mkdir -p "$scratch" "$artifacts"
rm -f "$artifacts"/*
dict=()
[ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
echo "fuzz_$target: $seconds s, max_len $max_len, log $log"
"$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
  "$scratch" "tests/fuzz/corpus/$target" "tests/fuzz/regression/$target" >"$log" 2>&1
rc=$?
grep -aE '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | sed "s/^/fuzz_$target: /"
grep -aE '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" |
  sed "s/^/fuzz_$target: /"
found=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
  -o -name 'oom-*' \) 2>/dev/null)
if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
  grep -aE 'ERROR|FAIL fuzz_|runtime error|SUMMARY' "$log" | head -20
  for f in $found; do
    cp "$f" "tests/fuzz/regression/$target/"
    echo "fuzz_$target: kept tests/fuzz/regression/$target/$(basename "$f")"
  done
  echo "FAIL fuzz_$target (exit $rc); see $log"
  exit 1
fi
echo "PASS fuzz_$target: nothing found in $seconds s"
