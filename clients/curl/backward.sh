#!/usr/bin/env bash
# backward.sh - POST /v1/backward: prelu with one alpha per channel (NCHW,
# channel axis 1): dx, dalpha and the diagnostics.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl -H 'Content-Type: application/json' "$LEAKYCL_URL/v1/backward" -d '{
  "activation": "prelu", "alpha": [0.25, 0.1], "shape": [2, 2, 3], "channel_axis": 1,
  "x":  [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12],
  "dy": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}'
