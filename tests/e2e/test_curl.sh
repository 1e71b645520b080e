#!/usr/bin/env bash
# test_curl.sh - end-to-end: runs every script in clients/curl/ and every
# curl line of clients/curl/README.md against a live daemon (port 0), and
# checks the README's answers byte for byte; one script with a token.
set -u
cd "$(dirname "$0")/../.."
build=${LEAKYCL_BUILD:-build}
bin=$build/bin/leakycld
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; shift; printf '  %s\n' "$@" | head -20; failed=1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_daemon NAME ARGS...: starts leakycld, sets $port.
start_daemon() {
  local name=$1; shift
  "$bin" --listen 127.0.0.1:0 --device "${LEAKYCL_TEST_DEVICE:-cpu}" --quiet "$@" \
    > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pids+=($!)
  port=""
  for _ in $(seq 1 600); do
    port=$(sed -n 's/^leakycld listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  fail "start_$name" "$(cat "$tmp/$name.err")"
  exit 1
}

start_daemon plain
export LEAKYCL_URL="http://127.0.0.1:$port"
unset LEAKYCL_TOKEN

# script expected-substring
check_script() {
  local s=$1 want=$2 out
  if out=$(bash "clients/curl/$s" 2>&1) && grep -qF -- "$want" <<<"$out"; then
    pass "curl_script_${s%.sh}"
  else
    fail "curl_script_${s%.sh}" "want: $want" "got: $out"
  fi
}
check_script health.sh '{"status":"ok"}'
check_script devices.sh '"in_use":true'
check_script activations.sh '"name":"phased_relu"'
check_script forward.sh '{"y":[-0.01,0,1]}'
check_script backward.sh '{"dx":[1,0.25,1,0.1,1,0.1,1,0.25,1,0.1,1,0.1],"dalpha":[-10,-32],"stats":{"neg_fraction":[0.33333334,0.6666667],"mean_abs_grad":[1.6666666,5.3333335]}}'
check_script batch.sh '{"results":[{"y":[[0,2],[3,"NaN"]]},{"dx":[0.1,1]},{"error":{"code":"invalid_argument"'
check_script base64.sh '{"y_b64":"AAAAAAAAAEA=","dtype":"float32"}'
check_script kserve.sh '{"model_name":"prelu_backward","model_version":"1","id":"example","outputs":[{"name":"dx","datatype":"FP32","shape":[2,2],"data":[0.25,1,0.25,1]},{"name":"dalpha","datatype":"FP32","shape":[2],"data":[-4,0]}]}'
check_script metrics.sh 'leakycld_requests_total{path="/v1/forward",status="200"}'
for s in clients/curl/*.sh; do
  case $s in */common.sh) continue ;; esac
  grep -q "check_script $(basename "$s")" "$0" || fail "curl_script_untested_$(basename "$s")"
done

# The README: every curl line, and the answers in order (metrics excluded).
mapfile -t cmds < <(sed -n 's/^curl -s localhost:8080/curl -s localhost:8080/p' clients/curl/README.md)
mapfile -t answers < <(awk '/^The answers:/{f=1;next} f&&/^```/{n++; if(n==2)exit; next} f&&n==1' clients/curl/README.md)
k=0
for c in "${cmds[@]}"; do
  real=${c//localhost:8080/127.0.0.1:$port}
  out=$(eval "$real" 2>&1)
  if [[ $c == *"/metrics"* ]]; then
    if grep -q '^leakycld_requests_total' <<<"$out"; then pass "readme_curl_metrics"; else fail "readme_curl_metrics" "$out"; fi
    continue
  fi
  if [ "$out" == "${answers[$k]:-}" ]; then
    pass "readme_curl_$k"
  else
    fail "readme_curl_$k" "command: $c" "want: ${answers[$k]:-}" "got:  $out"
  fi
  k=$((k + 1))
done
[ "${#cmds[@]}" -ge 6 ] || fail "readme_has_curl_examples" "found ${#cmds[@]}"

# With a token: scripts send it; without it the daemon answers 401.
echo "tok-$$" > "$tmp/token"
chmod 600 "$tmp/token"
start_daemon token --token-file "$tmp/token"
if out=$(LEAKYCL_URL="http://127.0.0.1:$port" LEAKYCL_TOKEN="tok-$$" bash clients/curl/health.sh) &&
   [ "$out" == '{"status":"ok"}' ]; then pass "curl_script_with_token"; else fail "curl_script_with_token" "$out"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/health")
[ "$code" == 401 ] && pass "curl_without_token_401" || fail "curl_without_token_401" "$code"

exit $failed
