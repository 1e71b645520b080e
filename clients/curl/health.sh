#!/usr/bin/env bash
# health.sh - GET /v1/health.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl "$LEAKYCL_URL/v1/health"
