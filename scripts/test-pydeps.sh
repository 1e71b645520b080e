#!/usr/bin/env bash
# test-pydeps.sh - the Python packages the end-to-end tests use beyond
# Debian's (tests/requirements.txt, pinned), in a venv at VENV_DIR made from
# /usr/bin/python3 with --system-site-packages (so Debian's numpy stays
# visible). Prints the python the tests should run; exits 1 when a package
# cannot be installed (the tests that need it would otherwise be skipped
# silently).
#   scripts/test-pydeps.sh [VENV_DIR]      (default build/test-venv)
set -u
venv=${1:-build/test-venv}
req=tests/requirements.txt
if ! grep -qv '^\s*\(#\|$\)' "$req" 2>/dev/null; then
  echo /usr/bin/python3 # nothing beyond Debian's
  exit 0
fi
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
  echo "$venv/bin/python"
  exit 0
fi
/usr/bin/python3 -m venv --system-site-packages "$venv" >&2 || {
  echo "test-pydeps: cannot make a venv at $venv (python3-venv missing?)" >&2
  exit 1
}
# Keep Debian's numpy: a numpy 2 wheel would shadow it.
pin=$(/usr/bin/python3 -c "import numpy; print('numpy==' + numpy.__version__)" 2>/dev/null)
constraints=$(mktemp)
echo "$pin" > "$constraints"
echo "test-pydeps: pip install -r $req into $venv" >&2
if ! "$venv/bin/python" -m pip install -q -r "$req" -c "$constraints" >&2; then
  rm -f "$constraints"
  echo "test-pydeps: pip install failed (is PyPI reachable?)" >&2
  exit 1
fi
rm -f "$constraints"
cp "$req" "$stamp"
echo "$venv/bin/python"
