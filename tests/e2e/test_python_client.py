#!/usr/bin/env python3
"""test_python_client.py - end-to-end: the leakycl_client package (installs
with pip, talks to a live daemon; lists and NumPy arrays in and out; base64
for large tensors; errors raise LeakyclError; token)."""
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from harness import ROOT, Checks, Daemon  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from leakycl_client import Client, LeakyclError  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None


def main():
    ck = Checks()
    # pip-installable: a wheel builds from the package directory.
    if shutil.which("pip3") or subprocess.run([sys.executable, "-m", "pip", "--version"],
                                              capture_output=True).returncode == 0:
        tmp = tempfile.mkdtemp()
        src = os.path.join(tmp, "src")
        shutil.copytree(os.path.join(ROOT, "clients", "python"), src)
        p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                            "--no-index", "--target", os.path.join(tmp, "t"), src],
                           capture_output=True, timeout=120)
        ok = p.returncode == 0 and os.path.exists(os.path.join(tmp, "t", "leakycl_client", "__init__.py"))
        ck.check("pip_install", ok, p.stdout[-800:] + p.stderr[-800:])
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        ck.skip("pip_install", "no pip")

    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("tok123\n")
        token_path = f.name
    d = Daemon("--token-file", token_path)
    try:
        c = Client("http://127.0.0.1:%d" % d.port, token="tok123")
        ck.check("client_health", c.health() == {"status": "ok"})
        ck.check("client_devices", any(x.get("in_use") for x in c.devices()["devices"]))
        ck.check("client_activations", len(c.activations()["activations"]) == 4)
        ck.check("client_metrics", "leakycld_requests_total" in c.metrics())
        r = c.forward("leaky_relu", [-1, 0, 1], alpha=0.01)
        ck.check("client_forward_list", r == {"y": [-0.01, 0.0, 1.0]}, r)
        r = c.forward("relu", [[-1, float("nan")], [float("inf"), -float("inf")]])
        y = r["y"]
        ck.check("client_nan_inf_nested", y[0][0] == 0 and math.isnan(y[0][1]) and y[1] == [float("inf"), 0], r)
        x = [(-1) ** i * i / 7 for i in range(5000)]
        r = c.forward("leaky_relu", x, alpha=0.5)
        ck.check("client_large_list_base64", len(r["y"]) == 5000 and
                 all(abs(a - (v if v > 0 else 0.5 * v)) < 1e-5 * (1 + abs(v)) for a, v in zip(r["y"], x)))
        r = c.forward("relu", [1.0, -2.0], binary=True)
        ck.check("client_forced_binary", list(r["y"]) == [1.0, 0.0], r)
        r = c.backward("prelu", [-2.0, 3.0, -1.0, 4.0], [1.0, 1.0, 2.0, 2.0], alpha=[0.25, 0.5],
                       shape=[2, 2], channel_axis=1)
        ck.check("client_backward_prelu", list(r["dx"]) == [0.25, 1.0, 0.5, 2.0] and
                 list(r["dalpha"]) == [-4.0, 0.0] and list(r["stats"]["neg_fraction"]) == [1.0, 0.0], r)
        res = c.batch([{"op": "forward", "activation": "relu", "x": [-1, 1], "id": 1},
                       {"op": "forward", "activation": "bad", "x": [1]},
                       {"op": "backward", "activation": "leaky_relu", "x": [-1, 1], "dy": [1, 1]}])
        ck.check("client_batch", res[0]["y"] == [0.0, 1.0] and res[0]["id"] == 1 and
                 res[1]["error"]["code"] == "invalid_argument" and res[2]["dx"] == [0.01, 1.0], res)
        try:
            c.forward("gelu", [1])
            ck.check("client_error_raises", False, "no exception")
        except LeakyclError as e:
            ck.check("client_error_raises", e.status == 400 and e.code == "invalid_argument" and e.message, e)
        try:
            Client("http://127.0.0.1:%d" % d.port, token="wrong").health()
            ck.check("client_wrong_token_401", False, "no exception")
        except LeakyclError as e:
            ck.check("client_wrong_token_401", e.status == 401 and e.code == "unauthorized", e)
        if np is None:
            ck.skip("client_numpy", "numpy not installed")
        else:
            rng = np.random.default_rng(3)
            xa = rng.standard_normal((4, 3, 5)).astype(np.float32)
            r = c.forward("prelu", xa, alpha=np.array([0.1, 0.2, 0.3], dtype=np.float32))
            a = np.array([0.1, 0.2, 0.3], dtype=np.float32).reshape(1, 3, 1)
            want = np.where(xa > 0, xa, a * xa).astype(np.float32)
            ck.check("client_numpy_forward_small", isinstance(r["y"], np.ndarray) and r["y"].shape == xa.shape and
                     r["y"].dtype == np.float32 and np.array_equal(r["y"], want), r)
            xb = rng.standard_normal((64, 128)).astype(np.float32)
            dy = rng.standard_normal((64, 128)).astype(np.float32)
            r = c.backward("prelu", xb, dy)
            want_dx = np.where(xb > 0, dy, np.float32(0.25) * dy)
            want_da = np.sum(np.where(xb > 0, 0, dy.astype(np.float64) * xb))
            ck.check("client_numpy_backward_base64",
                     r["dx"].shape == xb.shape and np.array_equal(r["dx"], want_dx) and
                     abs(r["dalpha"][0] - want_da) <= 1e-5 * np.sum(np.abs(dy * xb)), r["dalpha"])
    finally:
        ck.check("client_daemon_exit_0", d.stop() == 0, d.stderr()[-500:])
        os.unlink(token_path)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
