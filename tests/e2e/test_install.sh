#!/usr/bin/env bash
# test_install.sh - `make install PREFIX=<temp>` then use what it installed:
# pkg-config builds a C program against the library that runs a real forward
# on the CPU device (static and shared), the man pages render and cover every
# option of --help, systemd-analyze verifies the unit, and the Python client
# pip-installs into a throwaway venv and imports.
set -u
cd "$(dirname "$0")/../.."
build=${LEAKYCL_BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; [ $# -gt 1 ] && printf '  %s\n' "$2" | head -20; }
check() { local name=$1; shift; if "$@" >"$tmp/out" 2>&1; then pass "$name"; else fail "$name" "$(tail -20 "$tmp/out")"; fi; }

# ---- install ----
if ! make -s install BUILD="$build" PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
  fail make_install "$(tail -20 "$tmp/install.log")"
  exit 1
fi
pass make_install
for f in lib/libleakycl.a lib/libleakycl.so lib/libleakycl.so.0 include/leakycl.h \
         lib/pkgconfig/leakycl.pc bin/leakycl bin/leakycld share/man/man1/leakycl.1 \
         share/man/man3/leakycl.3 share/man/man8/leakycld.8 lib/systemd/system/leakycld.service; do
  check "installed $f" test -e "$prefix/$f"
done
check soname_is_libleakycl.so.0 sh -c "objdump -p '$prefix/lib/libleakycl.so' | grep -q 'SONAME *libleakycl.so.0'"
check installed_daemon_runs sh -c "'$prefix/bin/leakycld' --version | grep -q '^leakycld '"

# ---- a C program through pkg-config ----
cat >"$tmp/forward.c" <<'C'
/* forward.c - leaky_relu forward on the CPU device through the installed
 * library; checks y against the float formula. */
#include <leakycl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char err[512];
  leakycl_context *ctx;
  if (leakycl_context_create(getenv("LEAKYCL_TEST_DEVICE") ? getenv("LEAKYCL_TEST_DEVICE") : "cpu", &ctx, err, sizeof err) != LEAKYCL_OK) {
    fprintf(stderr, "context: %s\n", err);
    return 1;
  }
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  float alpha = 0.25f;
  p.alpha = &alpha;
  p.alpha_count = 1;
  float x[6] = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f, -1e-3f}, y[6];
  size_t shape[1] = {6};
  leakycl_view view;
  if (leakycl_view_from_shape(shape, 1, 0, &view, err, sizeof err) != LEAKYCL_OK) {
    fprintf(stderr, "view: %s\n", err);
    return 1;
  }
  leakycl_status st = leakycl_forward(ctx, &p, view, x, y);
  if (st != LEAKYCL_OK) {
    fprintf(stderr, "%s: %s\n", leakycl_status_name(st), leakycl_last_error(ctx));
    return 1;
  }
  int bad = 0;
  for (int i = 0; i < 6; i++) {
    float want = x[i] > 0 ? x[i] : alpha * x[i];
    if (y[i] != want) {
      fprintf(stderr, "y[%d] = %.9g, want %.9g\n", i, y[i], want);
      bad = 1;
    }
  }
  leakycl_context_release(ctx);
  int major = -1, minor = -1, patch = -1;
  const char *version = leakycl_version(&major, &minor, &patch);
  if (strcmp(version, LEAKYCL_VERSION) != 0 || major != LEAKYCL_VERSION_MAJOR ||
      minor != LEAKYCL_VERSION_MINOR || patch != LEAKYCL_VERSION_PATCH) {
    fprintf(stderr, "leakycl_version %s (%d.%d.%d), header %s\n", version, major, minor, patch,
            LEAKYCL_VERSION);
    bad = 1;
  }
  if (!bad)
    printf("forward ok\n");
  return bad;
}
C
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check pkg_config_knows_leakycl pkg-config --exists leakycl
flags=$(pkg-config --cflags --libs leakycl)
check pkg_config_flags_name_prefix sh -c "echo '$flags' | grep -q -- '-I$prefix/include' && echo '$flags' | grep -q -- '-L$prefix/lib'"
check cc_shared_against_installed cc -std=c11 -Wall -Wextra -Werror -o "$tmp/fwd_shared" "$tmp/forward.c" $flags
check run_shared_forward sh -c "LD_LIBRARY_PATH='$prefix/lib' '$tmp/fwd_shared' | grep -q 'forward ok'"
check shared_binary_uses_installed_library sh -c "LD_LIBRARY_PATH='$prefix/lib' ldd '$tmp/fwd_shared' | grep -q '$prefix/lib/libleakycl.so.0'"
check cc_static_against_installed cc -std=c11 -Wall -Wextra -Werror -o "$tmp/fwd_static" "$tmp/forward.c" \
  $(pkg-config --cflags leakycl) "$prefix/lib/libleakycl.a" $(pkg-config --libs-only-other --static leakycl) \
  $(pkg-config --static --libs-only-l leakycl | sed 's/-lleakycl//')
check run_static_forward sh -c "'$tmp/fwd_static' | grep -q 'forward ok'"

# ---- man pages ----
check man_l_leakycl_renders sh -c "man -l '$prefix/share/man/man1/leakycl.1' 2>&1 | grep -q 'leakycl devices'"
check man_l_leakycld_renders sh -c "man -l '$prefix/share/man/man8/leakycld.8' 2>&1 | grep -q 'max-connections'"
check manpath_man_leakycl sh -c "MANPATH='$prefix/share/man' man leakycl 2>/dev/null | grep -q '^NAME'"
check manpath_man_8_leakycld sh -c "MANPATH='$prefix/share/man' man 8 leakycld 2>/dev/null | grep -q '^NAME'"
# Every option of every --help is in its man page.
render() { MANWIDTH=200 man -l "$1" 2>/dev/null; }
missing=""
for cmd in "" devices run bench tune; do
  for opt in $("$prefix/bin/leakycl" $cmd --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    render "$prefix/share/man/man1/leakycl.1" | grep -q -- "$opt" || missing="$missing leakycl $cmd $opt"
  done
done
for opt in $("$prefix/bin/leakycld" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  render "$prefix/share/man/man8/leakycld.8" | grep -q -- "$opt" || missing="$missing leakycld $opt"
done
if [ -z "$missing" ]; then pass man_pages_cover_every_help_option; else fail man_pages_cover_every_help_option "$missing"; fi
# leakycl(3) names every function of the header.
missing=""
for fn in $(grep -o 'LEAKYCL_API [^(]*(' "$prefix/include/leakycl.h" | grep -o 'leakycl_[a-z0-9_]*' | sort -u); do
  render "$prefix/share/man/man3/leakycl.3" | grep -q -- "$fn" || missing="$missing $fn"
done
if [ -z "$missing" ]; then pass man_3_names_every_function; else fail man_3_names_every_function "$missing"; fi
check manpath_man_3_leakycl sh -c "MANPATH='$prefix/share/man' man 3 leakycl 2>/dev/null | grep -q '^STABILITY'"

# ---- systemd unit ----
unit=$prefix/lib/systemd/system/leakycld.service
check unit_execstart_under_prefix grep -q "^ExecStart=$prefix/bin/leakycld --listen .* --device " "$unit"
for key in DynamicUser=yes ProtectSystem=strict CacheDirectory=leakycl Restart=on-failure \
           'Environment=LEAKYCL_CACHE_DIR=%C/leakycl/programs'; do
  check "unit_has $key" grep -qx "$key" "$unit"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # MANPATH: verify runs `man leakycld(8)` for the unit's Documentation=.
  check systemd_analyze_verify env MANPATH="$prefix/share/man" systemd-analyze verify "$unit"
else
  echo "SKIP systemd_analyze_verify (no systemd-analyze)"
fi

# ---- the Python client ----
# Debian's python with its setuptools and wheel (scripts/deps.sh), no index:
# the package must build from its directory alone. A copy keeps build
# debris out of the tree.
cp -r clients/python "$tmp/client-src"
if /usr/bin/python3 -m venv --system-site-packages "$tmp/venv" >/dev/null 2>&1; then
  check pip_install_python_client "$tmp/venv/bin/pip" install -q --no-index --no-build-isolation "$tmp/client-src"
  check python_client_imports "$tmp/venv/bin/python" -c \
    "import leakycl_client as c; assert c.Client('http://127.0.0.1:1').url; print(c.__version__)"
  # Built out of the source tree, nothing is bundled: `import leakycl` runs
  # on the installed libleakycl.so.0, found by the dynamic loader.
  check python_inprocess_uses_installed_library env LD_LIBRARY_PATH="$prefix/lib" \
    LEAKYCL_LIBRARY= LEAKYCL_BUILD=no-such-build "$tmp/venv/bin/python" -c \
    "import leakycl; from leakycl import _native
y = leakycl.forward('leaky_relu', [-2.0, 4.0], alpha=0.25, device='${LEAKYCL_TEST_DEVICE:-cpu}')
assert y.tolist() == [-0.5, 4.0], y
assert _native.library().path == 'libleakycl.so.0', _native.library().path"
else
  fail pip_install_python_client "python3 -m venv failed (python3-venv missing?)"
fi

# ---- uninstall: everything install put there goes, nothing else ----
touch "$prefix/lib/keep-me"
if make -s uninstall BUILD="$build" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1; then
  left=$(find "$prefix" -type f -o -type l | grep -v keep-me)
  if [ -z "$left" ] && [ -e "$prefix/lib/keep-me" ]; then pass make_uninstall_removes_what_install_put
  else fail make_uninstall_removes_what_install_put "left: $left"; fi
else
  fail make_uninstall_removes_what_install_put "$(tail -20 "$tmp/uninstall.log")"
fi
