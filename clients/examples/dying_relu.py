#!/usr/bin/env python3
"""dying_relu.py - seed 002's single-neuron regression, run through leakycld.

A neuron z = w*x + b, output f(z), mean squared error over the data
(1, 1), (2, 0), (-1, 2), from w = 0, b = -1: every z is -1 < 0. With ReLU
the gradient f'(z) is 0 everywhere, so w and b never move (the "dying
ReLU"); with LeakyReLU (alpha 0.1) the gradient is alpha and the neuron
learns. PReLU also learns its alpha from dalpha (the daemon's backward),
projected after each step onto alpha >= 0 (alpha = max(alpha, 0), seed 002).

The daemon computes f(z) (/v1/forward) and dL/dz and dL/dalpha
(/v1/backward, given dL/df); this script does the chain rule to w and b
and the gradient steps.

    python3 dying_relu.py [--url http://127.0.0.1:8080] [--steps 30] [--lr 0.1] [--json]

Without --url it starts a daemon of its own (build/bin/leakycld, else
leakycld on PATH) on a free loopback port and stops it at the end.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import leakycl_client
except ImportError:  # run from the source tree, without pip install
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    import leakycl_client

DATA_X = [1.0, 2.0, -1.0]
DATA_Y = [1.0, 0.0, 2.0]
W0, B0 = 0.0, -1.0


def train(client, activation, steps, lr, alpha=None):
    """Gradient descent on the MSE; returns one row a step, before its update:
    {"step", "loss", "w", "b", "alpha"}, then the final parameters."""
    w, b = W0, B0
    n = len(DATA_X)
    rows = []
    for step in range(steps + 1):
        z = [w * x + b for x in DATA_X]
        f = client.forward(activation, z, alpha=alpha)["y"]
        loss = sum((fi - yi) ** 2 for fi, yi in zip(f, DATA_Y)) / n
        rows.append({"step": step, "loss": loss, "w": w, "b": b, "alpha": alpha})
        if step == steps:
            break
        df = [2.0 * (fi - yi) / n for fi, yi in zip(f, DATA_Y)]  # dL/df
        back = client.backward(activation, z, df, alpha=alpha)
        dz = back["dx"]                                           # dL/dz = f'(z) dL/df
        w -= lr * sum(d * x for d, x in zip(dz, DATA_X))
        b -= lr * sum(dz)
        if activation == "prelu":
            alpha = max(alpha - lr * back["dalpha"][0], 0.0)      # step, then projection
    return rows


def start_daemon():
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    binary = os.path.join(root, "build", "bin", "leakycld")
    if not os.access(binary, os.X_OK):
        binary = shutil.which("leakycld")
    if not binary:
        sys.exit("dying_relu: no leakycld (build it with make, or pass --url)")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("leakycld listening on "):
        proc.kill()
        sys.exit("dying_relu: the daemon did not start: %r" % line)
    return proc, "http://" + line.rsplit(" ", 1)[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="a running leakycld (default: start one)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--json", action="store_true", help="the histories as one JSON object")
    args = ap.parse_args()
    proc = None
    url = args.url
    if not url:
        proc, url = start_daemon()
    try:
        client = leakycl_client.Client(url)
        runs = {
            "relu": train(client, "relu", args.steps, args.lr),
            "leaky_relu": train(client, "leaky_relu", args.steps, args.lr, alpha=0.1),
            "prelu": train(client, "prelu", args.steps, args.lr, alpha=0.25),
        }
    except leakycl_client.LeakyclError as e:
        sys.exit("dying_relu: %s" % e)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    if args.json:
        print(json.dumps({"steps": args.steps, "lr": args.lr, "runs": runs}))
        return 0
    print("single neuron z = w*x + b, MSE on (1,1) (2,0) (-1,2), from w=0 b=-1, lr %g" % args.lr)
    print("%5s | %9s %7s %7s | %9s %7s %7s | %9s %7s %7s %7s" %
          ("step", "relu loss", "w", "b", "leaky", "w", "b", "prelu", "w", "b", "alpha"))
    for k in sorted({k for k in (0, 1, 2, 5, 10, args.steps // 2) if k < args.steps} | {args.steps}):
        r, lk, p = runs["relu"][k], runs["leaky_relu"][k], runs["prelu"][k]
        print("%5d | %9.5f %7.4f %7.4f | %9.5f %7.4f %7.4f | %9.5f %7.4f %7.4f %7.4f" %
              (k, r["loss"], r["w"], r["b"], lk["loss"], lk["w"], lk["b"],
               p["loss"], p["w"], p["b"], p["alpha"]))
    print("relu: the gradient is 0 at every z < 0, so w and b never move (a dead neuron);")
    print("leaky_relu: slope alpha = 0.1 below 0 keeps a gradient, the loss falls;")
    print("prelu: alpha is learned from dalpha and projected, alpha = max(alpha, 0): with z < 0")
    print("  and targets above f = alpha*z the loss pulls alpha below 0 (a decreasing, non-monotone")
    print("  activation); the projection stops it at 0, where prelu is relu and the neuron dies too.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
