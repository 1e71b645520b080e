#!/usr/bin/env bash
# torch-deps.sh - makes sure Debian's PyTorch (python3-torch) is installed
# for `make test-torch`: installs it when run as root, otherwise says how
# and fails.
set -u
p=python3-torch
dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "torch-deps: $p is missing; run as root, or: sudo apt-get install $p" >&2
  exit 1
fi
echo "torch-deps: installing $p" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "$p" >/dev/null 2>&1 ||
  { apt-get update -q >/dev/null && apt-get install -y -q "$p" >/dev/null; }
