#!/usr/bin/env bash
# metrics.sh - GET /metrics (Prometheus text).
set -eu
. "$(dirname "$0")/common.sh"
lk_curl "$LEAKYCL_URL/metrics"
