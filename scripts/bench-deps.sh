#!/usr/bin/env bash
# bench-deps.sh - the benchmark-only dependencies of `make bench`, best
# effort: Debian's python3-numpy and python3-pyopencl (installed with apt
# when running as root, else named), and a venv at BUILD/bench-venv made
# from /usr/bin/python3 with --system-site-packages (so it sees those two)
# into which pip installs jax[cpu]. Any failure only skips that reference:
# the script always exits 0 and prints the python `leakycl bench` should use.
#   scripts/bench-deps.sh [VENV_DIR]      (default build/bench-venv)
set -u
venv=${1:-build/bench-venv}
packages="python3-numpy python3-pyopencl python3-venv"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bench-deps: installing$missing" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null 2>&1; } ||
      echo "bench-deps: apt-get install$missing failed; those references are skipped" >&2
  else
    echo "bench-deps: missing$missing (run as root to install); those references are skipped" >&2
  fi
fi
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv" >&2 ||
    { echo "bench-deps: no venv; using /usr/bin/python3" >&2; echo /usr/bin/python3; exit 0; }
fi
if ! "$venv/bin/python" -c "import jax" 2>/dev/null; then
  # Pin numpy to Debian's: a numpy 2 wheel in the venv would shadow it and
  # break Debian's pyopencl, which is built against numpy 1.
  pin=$(/usr/bin/python3 -c "import numpy; print('numpy==' + numpy.__version__)" 2>/dev/null)
  constraints=$(mktemp)
  echo "$pin" > "$constraints"
  echo "bench-deps: pip install jax[cpu] ${pin:+($pin) }into $venv" >&2
  "$venv/bin/python" -m pip install -q "jax[cpu]" -c "$constraints" >&2 ||
    echo "bench-deps: pip install jax[cpu] failed; the JAX reference is skipped" >&2
  rm -f "$constraints"
fi
echo "$venv/bin/python"
