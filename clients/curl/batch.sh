#!/usr/bin/env bash
# batch.sh - POST /v1/batch: several jobs in one request; the bad one gets
# its own error and does not fail the others.
set -eu
. "$(dirname "$0")/common.sh"
lk_curl -H 'Content-Type: application/json' "$LEAKYCL_URL/v1/batch" -d '{"jobs":[
  {"op":"forward","activation":"relu","x":[[-1,2],[3,"NaN"]]},
  {"op":"backward","activation":"leaky_relu","alpha":0.1,"x":[-1,1],"dy":[1,1]},
  {"op":"forward","activation":"no_such_activation","x":[1]}]}'
