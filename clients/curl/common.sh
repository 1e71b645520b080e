# common.sh - sourced by the example scripts: the daemon's URL
# ($LEAKYCL_URL, default http://127.0.0.1:8080), the optional bearer token
# ($LEAKYCL_TOKEN) and a curl that fails on HTTP errors but still prints the
# JSON error body.
LEAKYCL_URL=${LEAKYCL_URL:-http://127.0.0.1:8080}
lk_curl() {
  if [ -n "${LEAKYCL_TOKEN:-}" ]; then
    curl -sS --fail-with-body -H "Authorization: Bearer $LEAKYCL_TOKEN" "$@"
  else
    curl -sS --fail-with-body "$@"
  fi
  local rc=$?
  echo
  return $rc
}
