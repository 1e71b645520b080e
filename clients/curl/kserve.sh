#!/usr/bin/env bash
# kserve.sh - POST /v2/models/prelu_backward/infer (the Open Inference
# Protocol, KServe v2): a per-channel alpha as the input tensor "alpha",
# channel_axis as a request parameter, outputs dx and dalpha as JSON.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl -H 'Content-Type: application/json' "$LEAKYCL_URL/v2/models/prelu_backward/infer" -d '{
  "id": "example",
  "parameters": {"channel_axis": 1},
  "inputs": [
    {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [-1, 2, -3, 4]},
    {"name": "dy", "shape": [2, 2], "datatype": "FP32", "data": [1, 1, 1, 1]},
    {"name": "alpha", "shape": [2], "datatype": "FP32", "data": [0.25, 0.1]}
  ]
}'
