#!/usr/bin/env bash
# soak.sh - the load test behind `make soak`: leakycld on a free loopback
# port, wrk sending a mix of small and large forward, backward and batch
# jobs, JSON and base64, and 5 % bad requests (tests/soak/gen_requests.py,
# tests/soak/mix.lua), first for a warm-up, then for the timed phase. Every
# answer must match the golden status and body recorded before the load.
# Prints requests/s, latency percentiles, counts by kind and the daemon's
# RSS before, after the warm-up and at the end; exits 1 on any unexpected
# answer or socket error, RSS growth over SOAK_MAX_GROWTH % from the end of
# the warm-up to the end, or an unclean stop.
#   tests/soak/soak.sh BUILD_DIR
# Environment: SOAK_SECONDS (300), SOAK_WARMUP (30), SOAK_CONNECTIONS (16),
# SOAK_MAX_GROWTH (5), LEAKYCL_DEVICE (auto).
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
bin=$build/bin/leakycld
seconds=${SOAK_SECONDS:-300}
warmup=${SOAK_WARMUP:-30}
conns=${SOAK_CONNECTIONS:-16}
max_growth=${SOAK_MAX_GROWTH:-5}
device=${LEAKYCL_DEVICE:-auto}

for tool in wrk curl python3; do
  command -v "$tool" > /dev/null || { echo "soak: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "soak: $bin is not built" >&2; exit 1; }

tmp=$(mktemp -d)
pid=""
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2> /dev/null
  [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2> /dev/null; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# Room for the load's connections plus the probes of this script.
"$bin" --listen 127.0.0.1:0 --device "$device" --quiet --max-connections $((conns + 16)) \
  > "$tmp/daemon.out" 2> "$tmp/daemon.err" &
pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/^leakycld listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/daemon.out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "soak: the daemon did not start:" >&2
  cat "$tmp/daemon.err" >&2
  exit 1
fi
url="http://127.0.0.1:$port"
rss_start=$(rss_kb)

# The golden answers: one request of each kind, alone, before any load.
python3 tests/soak/gen_requests.py "$tmp/mix" || exit 1
while read -r name method path weight; do
  if [ "$method" = POST ]; then
    status=$(curl -s -o "$tmp/mix/$name.golden" -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary "@$tmp/mix/$name.body" "$url$path")
  else
    status=$(curl -s -o "$tmp/mix/$name.golden" -w '%{http_code}' "$url$path")
  fi
  printf '%s' "$status" > "$tmp/mix/$name.status"
  case "$name:$status" in
    bad_*:4??) ;;
    bad_*:*) echo "soak: $name answered $status, not 4xx" >&2; exit 1 ;;
    *:200) ;;
    *) echo "soak: $name answered $status:" >&2; head -c 400 "$tmp/mix/$name.golden" >&2; exit 1 ;;
  esac
done < "$tmp/mix/manifest"

run_wrk() { # SECONDS OUTPUT
  wrk -t "$conns" -c "$conns" -d "${1}s" --timeout 30s --latency -s tests/soak/mix.lua \
    "$url" -- "$tmp/mix" > "$2" 2>&1
}

echo "soak: $bin on $url, device $device, $conns connections, warm-up ${warmup}s, then ${seconds}s"
run_wrk "$warmup" "$tmp/warmup.txt"
warm_unexpected=$(sed -n 's/^SOAK unexpected //p' "$tmp/warmup.txt")
rss_warm=$(rss_kb)

# RSS every tenth of the timed phase, to show whether it levels off.
(
  step=$(( seconds / 10 > 0 ? seconds / 10 : 1 ))
  while sleep "$step"; do rss_kb; done > "$tmp/rss_samples"
) &
sampler=$!
run_wrk "$seconds" "$tmp/main.txt"
kill "$sampler" 2> /dev/null
wait "$sampler" 2> /dev/null
sampler=""
rss_end=$(rss_kb)

health=$(curl -s -m 10 "$url/v1/health")
kill -TERM "$pid"
stop_rc=124
for _ in $(seq 1 300); do
  if ! kill -0 "$pid" 2> /dev/null; then
    wait "$pid"
    stop_rc=$?
    break
  fi
  sleep 0.1
done
pid_done=$pid
pid=""

sed -n 's/^SOAK //p' "$tmp/main.txt"
unexpected=$(sed -n 's/^SOAK unexpected //p' "$tmp/main.txt")
growth=$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN {printf "%.2f", (b - a) * 100 / a}')
samples=$(tr '\n' ' ' < "$tmp/rss_samples" | awk '{for (i = 1; i <= NF; i++) printf "%.1f ", $i / 1024}')
echo "rss start $(mib "$rss_start"), after warm-up $(mib "$rss_warm"), end $(mib "$rss_end"):" \
  "growth ${growth}% (limit ${max_growth}%)"
echo "rss samples during the timed phase (MiB): $samples"
echo "warm-up: $(sed -n 's/^SOAK rps //p' "$tmp/warmup.txt") requests/s," \
  "${warm_unexpected:-?} unexpected"

fail=0
if [ "${unexpected:-x}" != 0 ] || [ "${warm_unexpected:-x}" != 0 ]; then
  echo "soak: FAIL: unexpected answers or socket errors (warm-up ${warm_unexpected:-?}," \
    "timed ${unexpected:-?})"
  grep -h 'first_unexpected' "$tmp/warmup.txt" "$tmp/main.txt"
  grep -v '^SOAK' "$tmp/main.txt" | tail -5
  fail=1
fi
if awk -v g="$growth" -v m="$max_growth" 'BEGIN {exit !(g > m)}'; then
  echo "soak: FAIL: RSS grew ${growth}% after the warm-up"
  fail=1
fi
if [ "$health" != '{"status":"ok"}' ]; then
  echo "soak: FAIL: /v1/health after the load answered: $health"
  fail=1
fi
if [ "$stop_rc" != 0 ]; then
  echo "soak: FAIL: the daemon (pid $pid_done) exited with $stop_rc on SIGTERM"
  tail -20 "$tmp/daemon.err"
  fail=1
fi
[ "$fail" = 0 ] && echo "soak: PASS"
exit "$fail"
