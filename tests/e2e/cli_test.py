#!/usr/bin/env python3
"""cli_test.py - end-to-end tests of the leakycl command-line tool: `run` on
random .npy tensors for every activation, op, alpha form, channel axis and
kernel variant against a float64 NumPy oracle written here (y and dx bit for
bit, dalpha within 1e-6 * sum|terms| and reproducible), the seed 001 example,
hostile inputs and usage errors (exit 2, one line), and `devices --json`.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/cli_test.py
Prints PASS/FAIL/SKIP lines; exits 1 when a check failed."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from np_oracle import oracle_backward, oracle_forward  # noqa: E402

BUILD = os.path.abspath(os.environ.get("LEAKYCL_BUILD", "build"))
CLI = os.path.join(BUILD, "bin", "leakycl")
F32 = np.float32
F64 = np.float64
ACTIVATIONS = ["relu", "leaky_relu", "prelu", "phased_relu"]
DEFAULT_ALPHA = {"leaky_relu": 0.01, "prelu": 0.25, "phased_relu": 0.1}
DEFAULT_BETA = 0.5

failures = 0


def report(name, problems, skip=None):
    """One PASS/FAIL/SKIP line, problems indented below a FAIL."""
    global failures
    if skip:
        print(f"SKIP {name} ({skip})")
    elif problems:
        failures += 1
        print(f"FAIL {name}")
        for p in problems[:8]:
            print(f"  {p}")
        if len(problems) > 8:
            print(f"  ... {len(problems) - 8} more")
    else:
        print(f"PASS {name}")
    sys.stdout.flush()


def cli(*args, timeout=60):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


# ---- the float64 oracle (the README's semantics table) ----

def channel_shape(shape, axis):
    """Shape that broadcasts one value per channel along `axis`."""
    rank = len(shape)
    if rank == 0:
        return ()
    axis = axis % rank
    return tuple(shape[d] if d == axis else 1 for d in range(rank))


def alpha_full(alpha, shape, axis):
    """alpha (float32 array of 1 or C values) broadcast against x."""
    if alpha.size == 1:
        return alpha.reshape(())
    return alpha.reshape(channel_shape(shape, axis))


def threshold(alpha, beta):
    """t = -beta/alpha in float32 (alpha may be an array)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return F32(-F32(beta)) / alpha.astype(F32)


def oracle_grads(act, x, dy, a, t, axis, per_channel):
    """(dalpha, bound, neg_fraction, mean_abs_grad) in float64, per channel
    (rows of the channel-major view) or over everything (one row)."""
    with np.errstate(invalid="ignore"):
        x64, dy64 = x.astype(F64), dy.astype(F64)
        prod = dy64 * x64
        if act == "prelu":
            term = np.where(x > 0, 0.0, prod)
        else:
            tt = np.broadcast_to(t, x.shape)
            term = np.where(((x < 0) & (x >= tt)) | np.isnan(x), prod, 0.0)
        neg = (x < 0).astype(F64)
        mag = np.where(x < 0, np.abs(prod), 0.0)

        def rows(v):
            if per_channel:
                return np.moveaxis(v, axis % x.ndim, 0).reshape(x.shape[axis % x.ndim], -1)
            return v.reshape(1, -1)

        n_c = rows(term).shape[1]
        return (rows(term).sum(1), np.abs(rows(term)).sum(1), rows(neg).sum(1) / n_c,
                rows(mag).sum(1) / n_c)


def bit_problems(name, got, want):
    """Differences between float32 arrays, NaN equal to NaN, -0 != +0."""
    if got.shape != want.shape:
        return [f"{name}: shape {got.shape} != {want.shape}"]
    if got.dtype != F32:
        return [f"{name}: dtype {got.dtype}"]
    gn, wn = np.isnan(got), np.isnan(want)
    bad = (gn != wn) | (~gn & (got.view(np.uint32) != want.view(np.uint32)))
    out = []
    for idx in np.argwhere(bad)[:4]:
        i = tuple(idx)
        out.append(f"{name}{list(i)}: got {got[i]!r} want {want[i]!r}")
    if bad.any():
        out.append(f"{name}: {int(bad.sum())} of {bad.size} elements differ")
    return out


# ---- one run of the CLI against the oracle ----

class Case:
    def __init__(self, tmp, tag, x, dy, axis, act, alpha_mode, beta, variant, seed):
        self.tmp, self.tag, self.x, self.dy = tmp, tag, x, dy
        self.axis, self.act, self.alpha_mode = axis, act, alpha_mode
        self.beta, self.variant, self.seed = beta, variant, seed
        self.extra = []

    def channels(self):
        return self.x.shape[self.axis % self.x.ndim] if self.x.ndim else 1

    def alpha_args(self, rng):
        """(CLI arguments, float32 alpha array, per_channel)."""
        if self.act == "relu" or self.alpha_mode == "default":
            if self.act == "relu":
                return [], np.zeros(1, F32), False
            return [], np.array([DEFAULT_ALPHA[self.act]], F32), False
        if self.alpha_mode == "shared":
            a = F32(rng.uniform(0.05, 0.9))
            return ["--alpha", repr(float(a))], np.array([a], F32), False
        count = 1 if self.alpha_mode == "file1" else self.channels()
        a = rng.uniform(-0.5, 1.5, count).astype(F32)
        path = os.path.join(self.tmp, f"alpha_{self.tag}.npy")
        np.save(path, a)
        return ["--alpha-file", path], a, count > 1


def run_case(c, op, repeats=1):
    """Runs one case; returns problems (empty when everything matches)."""
    rng = np.random.default_rng(c.seed)
    extra, alpha, per_channel = c.alpha_args(rng)
    xpath = os.path.join(c.tmp, f"x_{c.tag}.npy")
    np.save(xpath, c.x)
    args = ["run", "--activation", c.act, "--op", op, "--x", xpath,
            "--channel-axis", c.axis, "--variant", c.variant, *extra, *c.extra]
    if c.act == "phased_relu" and c.beta is not None:
        args += ["--beta", repr(c.beta)]
    if op == "backward":
        dypath = os.path.join(c.tmp, f"dy_{c.tag}.npy")
        np.save(dypath, c.dy)
        args += ["--dy", dypath]
    beta = DEFAULT_BETA if c.beta is None else c.beta
    a = alpha_full(alpha, c.x.shape, c.axis)
    t = threshold(a, beta)
    problems = []
    seen = []
    for rep in range(repeats):
        out = os.path.join(c.tmp, f"out_{c.tag}_{op}_{rep}")
        r = cli(*args, "--out", out)
        if r.returncode != 0:
            return [f"exit {r.returncode}: {r.stderr.strip()}"]
        leftovers = [f for f in os.listdir(out) if f.startswith(".")]
        if leftovers:
            problems.append(f"temporary files left: {leftovers}")
        if op == "forward":
            problems += bit_problems("y", np.load(os.path.join(out, "y.npy")),
                                     oracle_forward(c.act, c.x, a, t))
            continue
        problems += bit_problems("dx", np.load(os.path.join(out, "dx.npy")),
                                 oracle_backward(c.act, c.x, c.dy, a, t))
        has_grad = c.act in ("prelu", "phased_relu")
        if not has_grad:
            if os.path.exists(os.path.join(out, "dalpha.npy")):
                problems.append(f"{c.act} wrote dalpha.npy")
            continue
        dalpha = np.load(os.path.join(out, "dalpha.npy"))
        with open(os.path.join(out, "stats.json")) as f:
            stats = json.load(f)
        problems += grad_problems(c, a, t, per_channel, dalpha, stats)
        seen.append((dalpha.tobytes(), json.dumps(stats, sort_keys=True)))
    if len(set(seen)) > 1:
        problems.append(f"dalpha/stats differ across {repeats} runs: {[s[1] for s in seen]}")
    return problems


def as_float(v):
    return float(v) if not isinstance(v, str) else float(v.replace("Infinity", "inf"))


def grad_problems(c, a, t, per_channel, dalpha, stats, skip_channels=()):
    want, bound, neg, mag = oracle_grads(c.act, c.x, c.dy, a, t, c.axis, per_channel)
    n = len(want)
    problems = []
    if dalpha.shape != (n,) or dalpha.dtype != F32:
        return [f"dalpha.npy: shape {dalpha.shape} dtype {dalpha.dtype}, want ({n},) float32"]
    if sorted(stats) != ["dalpha", "mean_abs_grad", "neg_fraction"]:
        return [f"stats.json keys {sorted(stats)}"]
    for key in stats:
        if len(stats[key]) != n:
            problems.append(f"stats.json {key} has {len(stats[key])} values, want {n}")
    if problems:
        return problems
    sd = [as_float(v) for v in stats["dalpha"]]
    for ch in range(n):
        if ch in skip_channels:
            continue
        got = float(dalpha[ch])
        if np.isnan(want[ch]):
            if not np.isnan(got):
                problems.append(f"dalpha[{ch}] = {got!r}, want NaN")
            continue
        if abs(got - want[ch]) > 1e-6 * bound[ch] + 1e-30:
            problems.append(f"dalpha[{ch}] = {got!r}, want {want[ch]!r} "
                            f"(bound {1e-6 * bound[ch]:.3g})")
        if F32(sd[ch]) != dalpha[ch]:  # the shortest text reads back to the same float32
            problems.append(f"stats dalpha[{ch}] = {sd[ch]!r} but dalpha.npy has {got!r}")
        for key, ref in (("neg_fraction", neg[ch]), ("mean_abs_grad", mag[ch])):
            v = as_float(stats[key][ch])
            if not abs(v - ref) <= 1e-6 * abs(ref) + 1e-12:
                problems.append(f"{key}[{ch}] = {v!r}, want {ref!r}")
    return problems


def random_tensor(rng, shape, scale=3.0):
    """Normal values with some exact +0/-0 and small magnitudes."""
    x = (rng.standard_normal(shape) * scale).astype(F32)
    flat = x.reshape(-1)
    if flat.size >= 8:
        k = max(1, flat.size // 16)
        flat[rng.choice(flat.size, k, replace=False)] = F32(0.0)
        flat[rng.choice(flat.size, k, replace=False)] = F32(-0.0)
    return x


def devices_json():
    r = cli("devices", "--json")
    problems = []
    devices = []
    if r.returncode != 0:
        problems.append(f"exit {r.returncode}: {r.stderr.strip()}")
    else:
        try:
            devices = json.loads(r.stdout)
        except ValueError as e:
            problems.append(f"not JSON: {e}: {r.stdout[:200]!r}")
    if not problems:
        if not isinstance(devices, list) or not devices:
            problems.append(f"want a non-empty array, got {r.stdout[:200]!r}")
        else:
            need = {"index", "type", "vendor", "name", "version", "driver_version",
                    "compute_units", "global_mem_bytes", "local_mem_bytes", "unified_memory",
                    "max_work_group_size", "platform"}
            for d in devices:
                missing = need - set(d)
                if missing:
                    problems.append(f"device {d.get('index')} lacks {sorted(missing)}")
                if not isinstance(d.get("unified_memory"), bool):
                    problems.append("unified_memory is not a boolean")
    report("cli devices --json", problems)
    table = cli("devices")
    report("cli devices table",
           [] if table.returncode == 0 and "INDEX" in table.stdout and
           (not devices or devices[0]["name"] in table.stdout)
           else [f"exit {table.returncode}: {table.stdout[:200]!r} {table.stderr.strip()}"])
    return devices


def test_seed_001(tmp):
    x = np.array([[-1, 2], [-3, -4]], F32)
    np.save(os.path.join(tmp, "seed.npy"), x)
    problems = []
    for variant in ("cpu", "gpu"):
        out = os.path.join(tmp, f"seed_out_{variant}")
        r = cli("run", "--activation", "leaky_relu", "--alpha", "0.2", "--op", "forward",
                "--x", os.path.join(tmp, "seed.npy"), "--out", out, "--variant", variant)
        if r.returncode != 0:
            problems.append(f"{variant}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        problems += [f"{variant}: {p}" for p in bit_problems(
            "y", np.load(os.path.join(out, "y.npy")),
            np.array([[-0.2, 2], [-0.6, -0.8]], F32))]
    report("cli seed 001 leaky_relu alpha 0.2", problems)


def test_matrix(tmp):
    """Every activation x op x alpha form x channel axis x variant."""
    rng = np.random.default_rng(1234)
    shapes = {0: (3, 5, 7), 1: (3, 5, 7), -1: (3, 5, 7)}
    seed = 0
    for variant in ("cpu", "gpu"):
        for act in ACTIVATIONS:
            for op in ("forward", "backward"):
                problems = []
                modes = ["default"] if act == "relu" else ["default", "shared", "file1",
                                                           "per_channel"]
                for axis, shape in shapes.items():
                    x = random_tensor(rng, shape)
                    dy = random_tensor(rng, shape, 1.0)
                    for mode in modes:
                        seed += 1
                        beta = None if mode == "default" else float(F32(rng.uniform(0.1, 1.0)))
                        tag = f"{variant}_{act}_{op}_{axis}_{mode}"
                        c = Case(tmp, tag, x, dy, axis, act, mode, beta, variant, seed)
                        problems += [f"axis {axis} alpha {mode}: {p}" for p in run_case(c, op)]
                report(f"cli {op} {act} variant={variant} (axes 0/1/-1, alpha forms)",
                       problems)


def test_ranks(tmp):
    """Default channel axis for ranks 0, 1, 2 and 4, and an empty tensor."""
    rng = np.random.default_rng(77)
    problems = []
    for shape, axis in (((), 0), ((11,), 0), ((6, 4), 1), ((2, 3, 4, 5), 1), ((0, 3), 1)):
        x = random_tensor(rng, shape)
        dy = random_tensor(rng, shape, 1.0)
        for act in ("prelu", "phased_relu"):
            tag = f"rank{len(shape)}_{act}_{'x'.join(map(str, shape))}"
            mode = "per_channel" if len(shape) >= 2 else "shared"
            c = Case(tmp, tag, x, dy, axis, act, mode, 0.3, "cpu", len(shape))
            for op in ("forward", "backward"):
                if x.size == 0 and op == "backward":
                    continue  # N_c = 0: NaN diagnostics, checked in the library's tests
                problems += [f"shape {shape} {act} {op}: {p}" for p in run_case(c, op)]
    # The default channel axis (1 for rank >= 2) gives the same dalpha shape as axis 1.
    x = random_tensor(rng, (2, 3, 4))
    np.save(os.path.join(tmp, "dflt_x.npy"), x)
    np.save(os.path.join(tmp, "dflt_dy.npy"), x)
    np.save(os.path.join(tmp, "dflt_a.npy"), np.array([0.1, 0.2, 0.3], F32))
    r = cli("run", "--activation", "prelu", "--op", "backward", "--x",
            os.path.join(tmp, "dflt_x.npy"), "--dy", os.path.join(tmp, "dflt_dy.npy"),
            "--alpha-file", os.path.join(tmp, "dflt_a.npy"), "--out",
            os.path.join(tmp, "dflt_out"))
    if r.returncode != 0:
        problems.append(f"default axis: exit {r.returncode}: {r.stderr.strip()}")
    elif np.load(os.path.join(tmp, "dflt_out", "dalpha.npy")).shape != (3,):
        problems.append("default axis: dalpha is not per channel of axis 1")
    report("cli ranks 0/1/2/4, empty tensor, default channel axis", problems)


def test_specials(tmp):
    """NaN, +-Inf, +-0 and the phased threshold itself, in channel 0 only."""
    rng = np.random.default_rng(5)
    x = random_tensor(rng, (6, 9))
    dy = random_tensor(rng, (6, 9), 1.0)
    t = F32(-F32(0.5)) / F32(0.1)
    x[0, :] = [np.nan, np.inf, -np.inf, 0.0, -0.0, t, np.nextafter(t, F32(-np.inf)),
               np.nextafter(t, F32(np.inf)), -1.0]
    dy[0, 3] = F32(-0.0)
    problems = []
    for variant in ("cpu", "gpu"):
        for act in ACTIVATIONS:
            mode = "default"
            c = Case(tmp, f"spec_{variant}_{act}", x, dy, 0, act, mode, None, variant, 9)
            for op in ("forward", "backward"):
                problems += [f"{variant} {act} {op}: {p}" for p in run_case(c, op)]
            if act in ("prelu", "phased_relu"):
                # Per channel: channel 0 holds NaN (dalpha NaN), the rest is checked.
                c = Case(tmp, f"specpc_{variant}_{act}", x, dy, 0, act, "per_channel", 0.5,
                         variant, 10)
                problems += [f"{variant} {act} per-channel: {p}"
                             for p in run_case(c, "backward")
                             if not p.startswith(("mean_abs_grad[0]", "neg_fraction[0]"))]
    report("cli NaN/Inf/-0/threshold values bit for bit", problems)


def test_reductions(tmp):
    """Large channels (many reduction blocks): accuracy and three identical runs."""
    rng = np.random.default_rng(99)
    x = random_tensor(rng, (2, 3, 70001))
    dy = random_tensor(rng, (2, 3, 70001), 1.0)
    for variant in ("cpu", "gpu"):
        problems = []
        for act in ("prelu", "phased_relu"):
            for mode in ("per_channel", "default"):
                c = Case(tmp, f"big_{variant}_{act}_{mode}", x, dy, 1, act, mode, 0.7, variant,
                         42)
                problems += [f"{act} {mode}: {p}" for p in run_case(c, "backward", repeats=3)]
        report(f"cli dalpha accuracy and reproducibility variant={variant}", problems)


def test_vector_widths(tmp):
    """Every vector width on both strategies, with odd sizes (vector tails)."""
    rng = np.random.default_rng(11)
    x = random_tensor(rng, (3, 7, 143))
    dy = random_tensor(rng, (3, 7, 143), 1.0)
    problems = []
    for variant in ("cpu", "gpu"):
        for width in (1, 2, 4, 8, 16):
            for act, op in (("phased_relu", "forward"), ("prelu", "backward")):
                c = Case(tmp, f"vw_{variant}_{width}_{act}", x, dy, -1, act, "per_channel", 0.4,
                         variant, width)
                c.extra = ["--vector-width", width]
                problems += [f"{variant} vw{width} {act} {op}: {p}" for p in run_case(c, op)]
    report("cli --vector-width 1..16 on both variants", problems)


def test_from_y(tmp):
    rng = np.random.default_rng(3)
    x = random_tensor(rng, (4, 5))
    dy = random_tensor(rng, (4, 5), 1.0)
    problems = []
    for act, alpha in (("relu", None), ("leaky_relu", 0.2), ("prelu", 0.3)):
        a = np.array([alpha if alpha else 0.0], F32)
        y = oracle_forward(act, x, a.reshape(()), None)
        paths = {k: os.path.join(tmp, f"fy_{act}_{k}.npy") for k in ("y", "dy")}
        np.save(paths["y"], y)
        np.save(paths["dy"], dy)
        out = os.path.join(tmp, f"fy_{act}_out")
        args = ["run", "--activation", act, "--op", "backward", "--from", "y", "--y",
                paths["y"], "--dy", paths["dy"], "--out", out]
        if alpha:
            args += ["--alpha", alpha]
        r = cli(*args)
        if r.returncode != 0:
            problems.append(f"{act}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        problems += [f"{act}: {p}" for p in bit_problems(
            "dx", np.load(os.path.join(out, "dx.npy")),
            oracle_backward(act, x, dy, a.reshape(()), None))]
        if os.path.exists(os.path.join(out, "dalpha.npy")):
            problems.append(f"{act}: --from y wrote dalpha.npy")
    # phased_relu cannot: its band is lost in y (bad input, exit 2).
    r = cli("run", "--activation", "phased_relu", "--op", "backward", "--y",
            os.path.join(tmp, "fy_relu_y.npy"), "--dy", os.path.join(tmp, "fy_relu_dy.npy"),
            "--out", os.path.join(tmp, "fy_phased"))
    if r.returncode != 2 or len(r.stderr.strip().splitlines()) != 1:
        problems.append(f"phased_relu --from y: exit {r.returncode}: {r.stderr!r}")
    report("cli backward --from y", problems)


def write_raw(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def npy_bytes(header, data=b"", major=1):
    h = header.encode("latin1")
    if major == 1:
        pre = b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little")
    else:
        pre = b"\x93NUMPY" + bytes([major, 0]) + len(h).to_bytes(4, "little")
    return pre + h + data


def test_usage_errors(tmp):
    """Bad usage and bad input: exit 2, one line on stderr, nothing written."""
    good = os.path.join(tmp, "good.npy")
    np.save(good, np.array([[-1.0, 2.0], [3.0, -4.0]], F32))
    good3 = os.path.join(tmp, "good3.npy")
    np.save(good3, np.zeros((3, 2), F32))
    alpha3 = os.path.join(tmp, "alpha3.npy")
    np.save(alpha3, np.array([0.1, 0.2, 0.3], F32))
    alpha2d = os.path.join(tmp, "alpha2d.npy")
    np.save(alpha2d, np.ones((2, 1), F32))
    f64 = os.path.join(tmp, "f64.npy")
    np.save(f64, np.zeros(4, F64))
    fortran = os.path.join(tmp, "fortran.npy")
    np.save(fortran, np.asfortranarray(np.zeros((2, 3), F32)))
    big_endian = os.path.join(tmp, "be.npy")
    np.save(big_endian, np.zeros(4, ">f4"))
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }\n"
    hostile = {
        "empty": b"",
        "text": b"hello, world",
        "magic only": b"\x93NUMPY",
        "bad version": npy_bytes(hdr % "2,", b"\0" * 8, major=9),
        "huge header length": b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{",
        "header past end": npy_bytes(hdr % "2,")[:30],
        "short data": npy_bytes(hdr % "4,", b"\0" * 12),
        "long data": npy_bytes(hdr % "1,", b"\0" * 8),
        "shape overflow": npy_bytes(hdr % "4294967296, 4294967296, 4294967296", b"\0" * 4),
        "huge shape": npy_bytes(hdr % "100000000000,", b"\0" * 4),
        "negative dim": npy_bytes(hdr % "-1,"),
        "rank 17": npy_bytes(hdr % ("1, " * 17), b"\0" * 4),
        "not a tuple": npy_bytes(hdr % "4", b"\0" * 16),
        "garbage header": npy_bytes("{'descr': '<f4', 'shape': (1,), 'fortran_order': Fa",
                                    b"\0" * 4),
    }
    out = os.path.join(tmp, "err_out")
    base = ["run", "--op", "forward", "--out", out]
    cases = [
        ("no command", []),
        ("unknown command", ["frobnicate"]),
        ("unknown activation", ["run", "--activation", "foo", "--op", "forward", "--x", good,
                                "--out", out]),
        ("missing --activation", ["run", "--op", "forward", "--x", good, "--out", out]),
        ("missing --op", ["run", "--activation", "relu", "--x", good, "--out", out]),
        ("bad --op", ["run", "--activation", "relu", "--op", "sideways", "--x", good,
                      "--out", out]),
        ("missing --x", base + ["--activation", "relu"]),
        ("missing --out", ["run", "--activation", "relu", "--op", "forward", "--x", good]),
        ("missing value", ["run", "--activation", "relu", "--op", "forward", "--x", good,
                           "--out"]),
        ("unknown option", base + ["--activation", "relu", "--x", good, "--frob", "1"]),
        ("stray argument", base + ["--activation", "relu", "--x", good, "extra"]),
        ("duplicate option", base + ["--activation", "relu", "--activation", "relu", "--x",
                                     good]),
        ("relu with alpha", base + ["--activation", "relu", "--alpha", "0.1", "--x", good]),
        ("alpha NaN", base + ["--activation", "leaky_relu", "--alpha", "nan", "--x", good]),
        ("alpha inf", base + ["--activation", "leaky_relu", "--alpha", "1e39", "--x", good]),
        ("alpha text", base + ["--activation", "leaky_relu", "--alpha", "0.1x", "--x", good]),
        ("alpha and file", base + ["--activation", "prelu", "--alpha", "0.1", "--alpha-file",
                                   alpha3, "--x", good]),
        ("alpha-file count", base + ["--activation", "prelu", "--alpha-file", alpha3, "--x",
                                     good]),
        ("alpha-file rank 2", base + ["--activation", "prelu", "--alpha-file", alpha2d, "--x",
                                      good]),
        ("beta on prelu", base + ["--activation", "prelu", "--beta", "0.5", "--x", good]),
        ("channel axis out of range", base + ["--activation", "relu", "--channel-axis", "2",
                                              "--x", good]),
        ("channel axis text", base + ["--activation", "relu", "--channel-axis", "one", "--x",
                                      good]),
        ("dy on forward", base + ["--activation", "relu", "--x", good, "--dy", good]),
        ("backward without dy", ["run", "--activation", "relu", "--op", "backward", "--x",
                                 good, "--out", out]),
        ("dy shape", ["run", "--activation", "relu", "--op", "backward", "--x", good, "--dy",
                      good3, "--out", out]),
        ("bad --from", ["run", "--activation", "relu", "--op", "backward", "--from", "z",
                        "--x", good, "--dy", good, "--out", out]),
        ("--from y on forward", base + ["--activation", "relu", "--from", "y", "--x", good]),
        ("bad --variant", base + ["--activation", "relu", "--x", good, "--variant", "fpga"]),
        ("bad --vector-width", base + ["--activation", "relu", "--x", good,
                                       "--vector-width", "3"]),
        ("missing file", base + ["--activation", "relu", "--x",
                                 os.path.join(tmp, "nope.npy")]),
        ("directory as x", base + ["--activation", "relu", "--x", tmp]),
        ("float64", base + ["--activation", "relu", "--x", f64]),
        ("fortran order", base + ["--activation", "relu", "--x", fortran]),
        ("big endian", base + ["--activation", "relu", "--x", big_endian]),
        ("bench unknown op", ["bench", "--op", "sideways"]),
        ("tune bad --n", ["tune", "--n", "0"]),
    ]
    for name, data in hostile.items():
        cases.append((f"hostile {name}", base + ["--activation", "relu", "--x",
                                                  write_raw(tmp, "hostile.npy", data)]))
        # Each hostile file is rewritten before its case runs, below.
        cases[-1] = (cases[-1][0], cases[-1][1], data)
    problems = []
    for case in cases:
        name, args = case[0], case[1]
        if len(case) == 3:
            write_raw(tmp, "hostile.npy", case[2])
        shutil.rmtree(out, ignore_errors=True)
        r = cli(*args)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2:
            problems.append(f"{name}: exit {r.returncode} (want 2): {r.stderr.strip()[:200]}")
        elif len(lines) != 1 and name != "no command":
            problems.append(f"{name}: stderr is {len(lines)} lines: {r.stderr!r}")
        elif name != "no command" and not lines[0].startswith("leakycl: "):
            problems.append(f"{name}: message {lines[0]!r} does not start with 'leakycl: '")
        if os.path.exists(os.path.join(out, "y.npy")):
            problems.append(f"{name}: wrote y.npy")
    r = cli("run", "--activation", "foo", "--op", "forward", "--x", good, "--out", out)
    want = 'leakycl: --activation: unknown activation "foo" (relu, leaky_relu, prelu, phased_relu)'
    if r.stderr.strip() != want:
        problems.append(f"unknown activation message {r.stderr.strip()!r}, want {want!r}")
    report("cli usage and input errors exit 2 with one line", problems)


def test_runtime_errors_and_help(tmp):
    problems = []
    good = os.path.join(tmp, "good.npy")
    np.save(good, np.array([1.0, -1.0], F32))
    r = cli("run", "--activation", "relu", "--op", "forward", "--x", good, "--out",
            os.path.join(tmp, "dev_out"), "--device", "no-such-device-xyz")
    if r.returncode != 1 or "no-such-device-xyz" not in r.stderr:
        problems.append(f"unknown device: exit {r.returncode}: {r.stderr.strip()[:200]}")
    notdir = write_raw(tmp, "plainfile", b"x")
    r = cli("run", "--activation", "relu", "--op", "forward", "--x", good, "--out", notdir)
    if r.returncode != 1 or not r.stderr.startswith("leakycl: "):
        problems.append(f"--out is a file: exit {r.returncode}: {r.stderr.strip()[:200]}")
    for args in (["--help"], ["run", "--help"], ["devices", "--help"], ["run", "-h"]):
        r = cli(*args)
        if r.returncode != 0 or "usage: leakycl" not in r.stdout or r.stderr:
            problems.append(f"{' '.join(args)}: exit {r.returncode}, stdout {r.stdout[:80]!r}")
    # A rerun replaces results in place (rename over the old file).
    out = os.path.join(tmp, "rerun")
    for value in (0.5, 0.25):
        np.save(good, np.array([-2.0], F32))
        r = cli("run", "--activation", "leaky_relu", "--alpha", value, "--op", "forward",
                "--x", good, "--out", out)
        if r.returncode != 0:
            problems.append(f"rerun: exit {r.returncode}: {r.stderr.strip()}")
    if os.path.exists(os.path.join(out, "y.npy")) and \
            np.load(os.path.join(out, "y.npy")).tolist() != [-0.5]:
        problems.append(f"rerun: y.npy is {np.load(os.path.join(out, 'y.npy'))}")
    if sorted(os.listdir(out)) != ["y.npy"]:
        problems.append(f"rerun: directory holds {sorted(os.listdir(out))}")
    report("cli runtime errors exit 1, --help exits 0, reruns replace results", problems)


def test_npy_versions(tmp):
    """Headers numpy writes as version 2.0 and 3.0 (and odd spacing) are read."""
    rng = np.random.default_rng(8)
    x = random_tensor(rng, (3, 4))
    body = x.tobytes()
    problems = []
    variants = {
        "v1": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n", body),
        "v2": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
                        + " " * 50 + "\n", body, major=2),
        "v3": npy_bytes("{\"shape\": (3,4), \"descr\": \"<f4\", \"fortran_order\": False}\n",
                        body, major=3),
    }
    for name, data in variants.items():
        path = write_raw(tmp, f"ver_{name}.npy", data)
        out = os.path.join(tmp, f"ver_{name}_out")
        r = cli("run", "--activation", "relu", "--op", "forward", "--x", path, "--out", out)
        if r.returncode != 0:
            problems.append(f"{name}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        problems += [f"{name}: {p}" for p in bit_problems(
            "y", np.load(os.path.join(out, "y.npy")), oracle_forward("relu", x, None, None))]
    report("cli reads .npy versions 1.0, 2.0 and 3.0", problems)


def main():
    if not os.access(CLI, os.X_OK):
        report("cli", [], skip=f"{CLI} is not built")
        return 0
    tmp = tempfile.mkdtemp(prefix="leakycl_cli_")
    try:
        devices = devices_json()
        test_usage_errors(tmp)
        if not devices:
            report("cli run", [], skip="no OpenCL device")
            return 1 if failures else 0
        test_seed_001(tmp)
        test_runtime_errors_and_help(tmp)
        test_npy_versions(tmp)
        test_matrix(tmp)
        test_ranks(tmp)
        test_specials(tmp)
        test_vector_widths(tmp)
        test_from_y(tmp)
        test_reductions(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
