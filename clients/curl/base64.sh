#!/usr/bin/env bash
# base64.sh - POST /v1/forward with a base64 float32 payload: x = [-1, 2]
# (little-endian); the answer comes back as y_b64.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl -H 'Content-Type: application/json' "$LEAKYCL_URL/v1/forward" \
  -d '{"activation":"relu","dtype":"float32","x_b64":"AACAvwAAAEA="}'
