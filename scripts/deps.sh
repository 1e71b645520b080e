#!/usr/bin/env bash
# deps.sh - makes sure the Debian packages leakycl builds and tests with are
# installed: installs the missing ones when run as root, otherwise names them
# and fails.
set -u
packages="build-essential pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd
clinfo libmicrohttpd-dev libcjson-dev zlib1g-dev curl python3 python3-numpy python3-pip python3-setuptools wrk clang
libclang-rt-14-dev valgrind python3-venv python3-wheel man-db nginx mesa-opencl-icd oclgrind"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run as root, or: sudo apt-get install$missing" >&2
  exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null
