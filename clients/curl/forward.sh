#!/usr/bin/env bash
# forward.sh - POST /v1/forward: leaky_relu of [-1, 0, 1] -> {"y":[-0.01,0,1]}.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl -H 'Content-Type: application/json' "$LEAKYCL_URL/v1/forward" \
  -d '{"activation":"leaky_relu","alpha":0.01,"x":[-1,0,1]}'
