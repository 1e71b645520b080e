#!/usr/bin/env bash
# activations.sh - GET /v1/activations.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl "$LEAKYCL_URL/v1/activations"
