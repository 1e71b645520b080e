#!/usr/bin/env python3
"""test_binaries.py - offline-compiled program bundles end to end: `leakycl
compile` writes one, `leakycl run --program-binary` gives the same .npy
results as a source build; bad bundles and usage exit 2 with one line; the
daemon started with --program-binary answers exactly, and refuses to start
(exit 2, one line) with a bundle made for another driver.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_binaries.py"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon, build_dir, daemon_binary, f32  # noqa: E402

# The device of every test (tests/run.sh sets it; PoCL's CPU by default).
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")

CLI = os.path.join(build_dir(), "bin", "leakycl")
VARIANT = "cpu vw4 nt1024"


def cli(args, env=None, timeout=600):
    return subprocess.run([CLI] + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def one_line(r):
    """One error line (after compile's progress lines, which start with spaces)."""
    lines = [l for l in r.stderr.strip().splitlines()
             if not l.startswith("  ") and not l.startswith("compiling for ")]
    return len(lines) == 1 and lines[0].startswith("leakycl: ")


def main():
    ck = Checks()
    tmp = tempfile.mkdtemp(prefix="leakycl-binaries-")
    env = os.environ.copy()
    env.pop("LEAKYCL_PROGRAM_BINARY", None)
    env.pop("LEAKYCL_VARIANT", None)
    bundle = os.path.join(tmp, "cpu.lkbin")
    try:
        r = cli(["compile", "--device", DEVICE, "-o", bundle, "--variant", VARIANT], env)
        ck.check("compile_exit_0", r.returncode == 0 and os.path.isfile(bundle),
                 r.stdout + r.stderr)
        ck.check("compile_reports_programs", " programs for " in r.stdout, r.stdout)
        r = cli(["compile", "--help"], env)
        ck.check("compile_help", r.returncode == 0 and "-o, --output FILE" in r.stdout, r.stdout)
        for name, args in [("compile_no_output", ["compile", "--device", DEVICE]),
                           ("compile_bad_variant", ["compile", "-o", bundle + ".x",
                                                    "--variant", "cpu vw3"]),
                           ("compile_unknown_option", ["compile", "-o", bundle + ".x", "--bogus"]),
                           ("compile_unwritable", ["compile", "-o", "/proc/none/b.lkbin",
                                                   "--variant", VARIANT])]:
            r = cli(args, env)
            ck.check(name, r.returncode == 2 and one_line(r), r.stderr)

        # The same .npy results with and without the bundle.
        rng = np.random.default_rng(7)
        x = (rng.standard_normal((3, 4, 5, 7)) * 3).astype(np.float32)
        x.flat[::17] = 0
        dy = rng.standard_normal(x.shape).astype(np.float32)
        alpha = np.array([0.25, -0.5, 2.0, 0.1], np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        np.save(os.path.join(tmp, "dy.npy"), dy)
        np.save(os.path.join(tmp, "a.npy"), alpha)
        for act in ["relu", "leaky_relu", "prelu", "phased_relu"]:
            for op in ["forward", "backward"]:
                common = ["run", "--device", DEVICE, "--activation", act, "--op", op,
                          "--x", os.path.join(tmp, "x.npy")]
                if op == "backward":
                    common += ["--dy", os.path.join(tmp, "dy.npy")]
                if act == "prelu":
                    common += ["--alpha-file", os.path.join(tmp, "a.npy")]
                src_dir, bin_dir = os.path.join(tmp, "src"), os.path.join(tmp, "bin")
                shutil.rmtree(src_dir, ignore_errors=True)
                shutil.rmtree(bin_dir, ignore_errors=True)
                env_src = dict(env, LEAKYCL_VARIANT=VARIANT)
                r1 = cli(common + ["--out", src_dir], env_src)
                r2 = cli(common + ["--out", bin_dir, "--program-binary", bundle], env)
                same = r1.returncode == 0 and r2.returncode == 0
                if same:
                    for f in sorted(os.listdir(src_dir)):
                        if f.endswith(".npy"):
                            a = np.load(os.path.join(src_dir, f))
                            b = np.load(os.path.join(bin_dir, f))
                            same = same and a.tobytes() == b.tobytes()
                ck.check("run_%s_%s_same_with_bundle" % (act, op), same,
                         r1.stderr + r2.stderr)

        # Bad bundles: bad input, exit 2, one line naming the problem.
        with open(bundle, "rb") as f:
            data = f.read()
        other = os.path.join(tmp, "other.lkbin")
        lines = data.split(b"\n")
        driver = next(i for i, l in enumerate(lines) if l.startswith(b"driver "))
        lines[driver] = b"driver 0.0-other"
        with open(other, "wb") as f:
            f.write(b"\n".join(lines))
        truncated = os.path.join(tmp, "cut.lkbin")
        with open(truncated, "wb") as f:
            f.write(data[: len(data) // 2])
        run = ["run", "--device", DEVICE, "--activation", "relu", "--op", "forward",
               "--x", os.path.join(tmp, "x.npy"), "--out", os.path.join(tmp, "o")]
        for name, path, words in [("run_other_driver", other, "driver version"),
                                  ("run_truncated", truncated, "truncated"),
                                  ("run_missing", os.path.join(tmp, "none"), "No such file"),
                                  ("run_directory", tmp, "directory")]:
            r = cli(run + ["--program-binary", path], env)
            ck.check(name, r.returncode == 2 and one_line(r) and words in r.stderr, r.stderr)
        # A variant the bundle lacks: a clear error, no source build.
        r = cli(run + ["--program-binary", bundle, "--vector-width", "8"], env)
        ck.check("run_variant_not_in_bundle",
                 r.returncode == 2 and "has no program for build options" in r.stderr, r.stderr)
        # LEAKYCL_PROGRAM_BINARY is the default.
        r = cli(run, dict(env, LEAKYCL_PROGRAM_BINARY=bundle))
        ck.check("run_env_bundle", r.returncode == 0, r.stderr)

        # The daemon with the bundle answers exactly.
        d = Daemon("--program-binary", bundle, env=env)
        try:
            status, body, _ = d.call("GET", "/v1/devices")
            used = [dev for dev in body["devices"] if dev.get("in_use")]
            ck.check("daemon_variant_from_bundle",
                     used and used[0].get("variant_origin") == "bundle"
                     and used[0].get("variant", "").startswith("cpu vw4 "), body)
            xs = [(i % 37 - 18) / 4.0 for i in range(5001)]
            status, out, _ = d.call("POST", "/v1/forward",
                                    {"activation": "leaky_relu", "alpha": 0.2, "x": xs})
            want = [v if v > 0 else f32(f32(0.2) * v) for v in xs]
            ck.check("daemon_bundle_exact",
                     status == 200 and [f32(v) for v in out["y"]] == want, str(out)[:300])
        finally:
            d.stop()

        # ... and refuses to start with a bundle for another driver.
        p = subprocess.run([daemon_binary(), "--listen", "127.0.0.1:0", "--device", DEVICE,
                            "--program-binary", other], capture_output=True, text=True,
                           env=env, timeout=120)
        ck.check("daemon_refuses_other_driver",
                 p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
                 and "driver version" in p.stderr and other in p.stderr, p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
