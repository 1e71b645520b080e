#!/usr/bin/env python3
"""test_dying_relu.py - clients/examples/dying_relu.py against a test daemon:
the numbers it reports against the same training written here in float64
(f, f' and dalpha by the formulas of the README's semantics table): ReLU's w and b never move,
exactly; LeakyReLU's loss falls; PReLU's alpha moves and stays >= 0."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import ROOT, Checks, Daemon  # noqa: E402

EXAMPLE = os.path.join(ROOT, "clients", "examples", "dying_relu.py")
X, Y = [1.0, 2.0, -1.0], [1.0, 0.0, 2.0]


def reference(activation, steps, lr, alpha):
    """The example's training in float64: rows of (loss, w, b, alpha)."""
    a = alpha if alpha is not None else 0.0
    w, b = 0.0, -1.0
    rows = []
    for step in range(steps + 1):
        z = [w * x + b for x in X]
        f = [v if v > 0 else a * v for v in z]
        loss = sum((fi - yi) ** 2 for fi, yi in zip(f, Y)) / 3
        rows.append((loss, w, b, alpha if activation != "relu" else None))
        if step == steps:
            break
        df = [2 * (fi - yi) / 3 for fi, yi in zip(f, Y)]
        dz = [d if v > 0 else a * d for v, d in zip(z, df)]
        dalpha = sum(d * v for v, d in zip(z, df) if v <= 0)
        w -= lr * sum(d * x for d, x in zip(dz, X))
        b -= lr * sum(dz)
        if activation == "prelu":
            a = alpha = max(a - lr * dalpha, 0.0)
    return rows


def close(got, want, tol=1e-4):
    return abs(got - want) <= tol * max(1.0, abs(want))


def main():
    ck = Checks()
    d = Daemon("--quiet")
    try:
        url = "http://127.0.0.1:%d" % d.port
        steps, lr = 30, 0.1
        p = subprocess.run([sys.executable, EXAMPLE, "--url", url, "--steps", str(steps),
                            "--lr", str(lr), "--json"], capture_output=True, text=True, timeout=120)
        ck.check("example_runs", p.returncode == 0, p.stderr[-2000:])
        runs = json.loads(p.stdout)["runs"] if p.returncode == 0 else {}
        relu = runs.get("relu", [])
        ck.check("relu_weights_never_move_exactly",
                 len(relu) == steps + 1 and all(r["w"] == 0.0 and r["b"] == -1.0 for r in relu),
                 relu[:3])
        ck.check("relu_loss_constant_5_over_3",
                 relu and all(close(r["loss"], 5.0 / 3, 1e-7) for r in relu), relu[:3])
        for name, alpha in (("leaky_relu", 0.1), ("prelu", 0.25)):
            got = runs.get(name, [])
            want = reference(name, steps, lr, alpha)
            bad = [(k, g, w) for k, (g, w) in enumerate(zip(got, want))
                   if not (close(g["loss"], w[0]) and close(g["w"], w[1]) and close(g["b"], w[2])
                           and close(g["alpha"], w[3]))]
            ck.check(name + "_matches_float64_training", len(got) == steps + 1 and not bad, bad[:3])
        leaky = runs.get("leaky_relu", [])
        ck.check("leaky_relu_loss_decreases",
                 leaky and all(b["loss"] < a["loss"] for a, b in zip(leaky, leaky[1:])) and
                 leaky[-1]["loss"] < leaky[0]["loss"] - 0.1, [r["loss"] for r in leaky[::10]])
        ck.check("leaky_relu_learns_weights", leaky and leaky[-1]["w"] != 0 and leaky[-1]["b"] > -1,
                 leaky[-1:] if leaky else None)
        prelu = runs.get("prelu", [])
        alphas = [r["alpha"] for r in prelu]
        ck.check("prelu_alpha_moves", alphas and alphas[0] == 0.25 and alphas[-1] != 0.25, alphas[:5])
        ck.check("prelu_alpha_stays_nonnegative", alphas and min(alphas) >= 0.0, alphas)

        # The table (no --json) starts its own daemon when no --url is given.
        p = subprocess.run([sys.executable, EXAMPLE, "--steps", "5"], capture_output=True,
                           text=True, timeout=180)
        ck.check("example_table_with_its_own_daemon",
                 p.returncode == 0 and "relu loss" in p.stdout and "alpha" in p.stdout,
                 p.stdout[-1000:] + p.stderr[-1000:])
    finally:
        d.stop()
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
