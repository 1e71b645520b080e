#!/usr/bin/env bash
# devices.sh - GET /v1/devices.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl "$LEAKYCL_URL/v1/devices"
