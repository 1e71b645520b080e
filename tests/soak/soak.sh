#!/usr/bin/env bash
# soak.sh - the load test behind `make soak`: leakycld on a free loopback
# port, wrk sending a mix of small and large forward, backward and batch
# jobs, JSON and base64, and 5 % bad requests (tests/soak/gen_requests.py,
# tests/soak/mix.lua), first for a warm-up, then for the timed phase. Every
# answer must match the golden status and body recorded before the load.
# Prints requests/s, latency percentiles, counts by kind, the daemon's RSS
# before, after the warm-up and at the end, its high-water mark (VmHWM) and
# the slope of its RSS during the timed phase (a least-squares fit of
# samples taken every few seconds). Then two short scenarios, each against a
# daemon of its own (tests/soak/scenarios.py), SOAK_SCENARIO seconds each:
# a slowloris (SOAK_SLOW_CONNECTIONS connections trickling headers) while a
# normal client keeps sending requests, and an overload of big bodies
# against --max-inflight-bytes 16m. Exits 1 on any unexpected answer or
# socket error (main load, the slowloris's normal client, the overload:
# only 200 and 503 there), an RSS slope that would grow RSS by more than
# SOAK_MAX_GROWTH % of the post-warm-up RSS in 30 minutes, or an unclean
# stop.
#   tests/soak/soak.sh BUILD_DIR
# Environment: SOAK_SECONDS (300), SOAK_WARMUP (30), SOAK_CONNECTIONS (16),
# SOAK_MAX_GROWTH (5), SOAK_SCENARIO (SOAK_SECONDS/10 within 20..30),
# SOAK_SLOW_CONNECTIONS (1000), LEAKYCL_DEVICE (auto).
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
bin=$build/bin/leakycld
seconds=${SOAK_SECONDS:-300}
warmup=${SOAK_WARMUP:-30}
conns=${SOAK_CONNECTIONS:-16}
max_growth=${SOAK_MAX_GROWTH:-5}
scenario=${SOAK_SCENARIO:-$(( seconds / 10 < 20 ? 20 : seconds / 10 > 30 ? 30 : seconds / 10 ))}
slow_conns=${SOAK_SLOW_CONNECTIONS:-1000}
device=${LEAKYCL_DEVICE:-auto}

for tool in wrk curl python3; do
  command -v "$tool" > /dev/null || { echo "soak: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "soak: $bin is not built" >&2; exit 1; }

# The slowloris needs a descriptor a connection, on both ends.
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((2 * slow_conns + 256)) ] ||
  ulimit -n $((2 * slow_conns + 256)) 2> /dev/null ||
  { echo "soak: cannot raise ulimit -n for $slow_conns slow connections" >&2; exit 1; }

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
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2> /dev/null; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# Starts the daemon with the given extra options: sets pid and url.
start_daemon() { # NAME OPTIONS...
  local name=$1 port=""
  shift
  "$bin" --listen 127.0.0.1:0 --device "$device" --quiet "$@" \
    > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pid=$!
  for _ in $(seq 1 600); do
    port=$(sed -n 's/^leakycld listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out" 2> /dev/null)
    [ -n "$port" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "soak: the daemon ($name) did not start:" >&2
    cat "$tmp/$name.err" >&2
    exit 1
  fi
  url="http://127.0.0.1:$port"
}

# SIGTERM, then waits up to 30 s: sets stop_rc (124: still running).
stop_daemon() {
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
  pid=""
}

# Room for the load's connections plus the probes of this script.
start_daemon daemon --max-connections $((conns + 16))
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

# RSS (seconds since the start of the timed phase, KiB) every step seconds,
# about 60 samples, for the slope.
step=$(awk -v s="$seconds" 'BEGIN {v = s / 60; print (v < 1 ? 1 : v)}')
(
  t0=$(date +%s.%N)
  while sleep "$step"; do
    echo "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}') $(rss_kb)"
  done > "$tmp/rss_samples"
) &
sampler=$!
run_wrk "$seconds" "$tmp/main.txt"
kill "$sampler" 2> /dev/null
wait "$sampler" 2> /dev/null
sampler=""
rss_end=$(rss_kb)
hwm_main=$(hwm_kb)
curl -s -m 10 "$url/metrics" | grep -E '^(process_resident|leakycld_(pool|malloc|inflight|resident))' \
  > "$tmp/memory_metrics"

health=$(curl -s -m 10 "$url/v1/health")
stop_daemon

sed -n 's/^SOAK //p' "$tmp/main.txt"
unexpected=$(sed -n 's/^SOAK unexpected //p' "$tmp/main.txt")
growth=$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN {printf "%.2f", (b - a) * 100 / a}')
samples=$(awk '$2 != "" {printf "%.1f ", $2 / 1024}' "$tmp/rss_samples")
# Least squares of RSS (MiB) over time (minutes), with its standard error:
# big requests' buffers come and go, so single samples swing by several MiB.
# The limit: SOAK_MAX_GROWTH % of the post-warm-up RSS over 30 minutes; the
# soak fails when the slope exceeds it by more than two standard errors.
read -r slope slope_se slope_limit projected < <(awk -v warm="$rss_warm" -v m="$max_growth" '
  $2 != "" {n++; x = $1 / 60; y = $2 / 1024; sx += x; sy += y; sxx += x * x; sxy += x * y
            syy += y * y}
  END {
    Sxx = sxx - sx * sx / n; Sxy = sxy - sx * sy / n; Syy = syy - sy * sy / n
    s = (n >= 3 && Sxx > 0) ? Sxy / Sxx : 0
    r = (n >= 3 && Sxx > 0) ? (Syy - s * Sxy) / (n - 2) : 0
    printf "%.3f %.3f %.3f %.2f\n", s, (r > 0 ? sqrt(r / Sxx) : 0), warm / 1024 * m / 100 / 30,
      s * 30 * 100 / (warm / 1024)
  }' "$tmp/rss_samples")
echo "rss start $(mib "$rss_start"), after warm-up $(mib "$rss_warm"), end $(mib "$rss_end")" \
  "(${growth}%), high-water mark (VmHWM) $(mib "$hwm_main")"
echo "rss slope ${slope} ± ${slope_se} MiB/min over $(grep -c . "$tmp/rss_samples") samples: ${projected}% in" \
  "30 min (limit ${max_growth}%: ${slope_limit} MiB/min)"
echo "rss samples during the timed phase (MiB): $samples"
echo "memory at the end: $(awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1,
  ($1 ~ /blocks/ ? $2 : sprintf("%.1f MiB", $2 / 1048576))}' \
  "$tmp/memory_metrics")"
echo "warm-up: $(sed -n 's/^SOAK rps //p' "$tmp/warmup.txt") requests/s," \
  "${warm_unexpected:-?} unexpected"
main_stop_rc=$stop_rc

# Slowloris: far more slow connections than the default --max-connections
# (256); the daemon drops the oldest to make room for the normal client.
start_daemon slowloris
python3 tests/soak/scenarios.py slowloris "$url" "$tmp/mix" "$scenario" "$slow_conns" \
  > "$tmp/slowloris.txt" 2>&1
slow_rc=$?
slow_health=$(curl -s -m 10 "$url/v1/health")
slow_hwm=$(hwm_kb)
stop_daemon
slow_stop_rc=$stop_rc
sed -n 's/^SCEN //p' "$tmp/slowloris.txt"
echo "slowloris ${scenario}s: daemon high-water mark $(mib "$slow_hwm")"

# Overload: big bodies from many clients against a small budget.
start_daemon overload --max-inflight-bytes 16m --max-connections 64
python3 tests/soak/scenarios.py overload "$url" "$scenario" 12 4 > "$tmp/overload.txt" 2>&1
over_rc=$?
over_health=$(curl -s -m 10 "$url/v1/health")
over_rss=$(rss_kb)
over_hwm=$(hwm_kb)
stop_daemon
over_stop_rc=$stop_rc
sed -n 's/^SCEN //p' "$tmp/overload.txt"
echo "overload ${scenario}s against --max-inflight-bytes 16m: RSS after $(mib "$over_rss")," \
  "high-water mark (VmHWM) $(mib "$over_hwm")"

fail=0
if [ "${unexpected:-x}" != 0 ] || [ "${warm_unexpected:-x}" != 0 ]; then
  echo "soak: FAIL: unexpected answers or socket errors (warm-up ${warm_unexpected:-?}," \
    "timed ${unexpected:-?})"
  grep -h 'first_unexpected' "$tmp/warmup.txt" "$tmp/main.txt"
  grep -v '^SOAK' "$tmp/main.txt" | tail -5
  fail=1
fi
if awk -v s="$slope" -v e="$slope_se" -v l="$slope_limit" 'BEGIN {exit !(s - 2 * e > l)}'; then
  echo "soak: FAIL: RSS grows ${slope} ± ${slope_se} MiB/min after the warm-up" \
    "(limit ${slope_limit})"
  fail=1
fi
if [ "$slow_rc" != 0 ]; then
  echo "soak: FAIL: the normal client failed during the slowloris"
  grep -v '^SCEN' "$tmp/slowloris.txt" | tail -5
  fail=1
fi
if [ "$over_rc" != 0 ]; then
  echo "soak: FAIL: the overload got answers other than 200 and 503 (or no 200)"
  grep -v '^SCEN' "$tmp/overload.txt" | tail -5
  fail=1
fi
for h in "main:$health" "slowloris:$slow_health" "overload:$over_health"; do
  if [ "${h#*:}" != '{"status":"ok"}' ]; then
    echo "soak: FAIL: /v1/health after the ${h%%:*} load answered: ${h#*:}"
    fail=1
  fi
done
for r in "daemon:$main_stop_rc" "slowloris:$slow_stop_rc" "overload:$over_stop_rc"; do
  if [ "${r#*:}" != 0 ]; then
    echo "soak: FAIL: the daemon (${r%%:*}) exited with ${r#*:} on SIGTERM"
    tail -20 "$tmp/${r%%:*}.err"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "soak: PASS"
exit "$fail"
