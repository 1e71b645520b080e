#!/usr/bin/env python3
"""torch_cuda_ref.py - PyTorch's own CUDA kernels for the ops `leakycl bench`
times, as a reference on an NVIDIA GPU: aten leaky_relu.out (forward),
leaky_relu_backward (backward), _prelu_kernel_backward plus the sum of its
per-element weight gradient (backward with dalpha, prelu), clamp_max + dot
(dalpha alone, reduce) and copy_ (the copy limit), on the sizes bench uses.

  python3 tests/bench/torch_cuda_ref.py [--n-min N] [--n-max N] [--repeat R]
      [--device cuda|cpu]

Sizes: n-min, 4 n-min, ... up to n-max (default 1 Mi .. 256 Mi). Times with
CUDA events; a sample repeats a short call until it lasts 5 ms (as bench
calibrates), after a warm-up; each row is the median with min and max.
Prints one JSON object a line in bench's row format (kind "reference", name
"torch_cuda"); GB/s counts the bytes bench counts for the same op (forward
8n, backward 12n, +4 with dalpha, reduce 8n + 4, copy 8n), so the ratio of
GB/s is the ratio of times. Without CUDA (or torch) it prints one line
saying "no CUDA" and exits 0."""
import argparse
import json
import statistics
import sys
import time

MIN_SAMPLE_SECONDS = 0.005
ALPHA = {"leaky_relu": 0.01, "prelu": 0.25}  # the README's defaults


def sizes(n_min, n_max):
    n = n_min
    while n <= n_max:
        yield n
        n *= 4


def prelu_backward_op(aten):
    """(name, op): PyTorch 2's _prelu_kernel_backward (dx and the weight
    gradient per element), or the older prelu_backward."""
    for name in ("_prelu_kernel_backward", "prelu_backward"):
        try:
            return name, getattr(aten, name)
        except (AttributeError, RuntimeError):
            continue
    raise AttributeError("no prelu backward op in aten")


def candidates(torch, n, device):
    """(activation, op, fused_dalpha, what, call, bytes) on fresh data."""
    aten = torch.ops.aten
    gen = torch.Generator(device=device).manual_seed(1)
    x = torch.rand(n, device=device, generator=gen) * 16 - 8  # bench's range [-8, 8)
    dy = torch.rand(n, device=device, generator=gen)
    y = torch.empty_like(x)
    w = torch.full((1,), ALPHA["prelu"], device=device)
    f = 4 * n
    prelu_name, prelu_backward = prelu_backward_op(aten)
    return [
        ("leaky_relu", "forward", False, "aten.leaky_relu.out",
         lambda: aten.leaky_relu.out(x, ALPHA["leaky_relu"], out=y), 2 * f),
        ("leaky_relu", "backward", False, "aten.leaky_relu_backward.grad_input",
         lambda: aten.leaky_relu_backward.grad_input(dy, x, ALPHA["leaky_relu"], False,
                                                     grad_input=y), 3 * f),
        ("prelu", "backward", True, f"aten.{prelu_name} + sum",
         lambda: prelu_backward(dy, x, w)[1].sum(), 3 * f + 4),
        ("prelu", "reduce", False, "aten.clamp_max + dot",
         lambda: torch.dot(torch.clamp_max(x, 0), dy), 2 * f + 4),
        ("none", "copy", False, "Tensor.copy_", lambda: y.copy_(x), 2 * f),
    ]


def sample(torch, call, inner):
    """Seconds per call over `inner` back-to-back calls, by CUDA events (by
    the clock on the CPU, for --device cpu)."""
    if not torch.cuda.is_available():
        start = time.perf_counter()
        for _ in range(inner):
            call()
        return (time.perf_counter() - start) / inner
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(inner):
        call()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / inner


def time_call(torch, call, repeat):
    """(median, min, max) seconds of one call: warm-up, calibration, samples."""
    call()
    one = sample(torch, call, 1)
    inner = max(1, min(100000, int(MIN_SAMPLE_SECONDS / max(one, 1e-7)) + 1))
    times = [sample(torch, call, inner) for _ in range(repeat)]
    return statistics.median(times), min(times), max(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-min", type=int, default=1 << 20)
    ap.add_argument("--n-max", type=int, default=1 << 28)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--device", default="cuda",
                    help="cuda; cpu runs the same steps on the CPU (a test of this script)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"torch_cuda_ref: no CUDA (torch is not importable: {e})", flush=True)
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"torch_cuda_ref: no CUDA (torch {torch.__version__}: "
              "torch.cuda.is_available() is False)", flush=True)
        return 0
    cuda = args.device == "cuda"
    device = torch.cuda.get_device_name(0) if cuda else "cpu"
    for n in sizes(args.n_min, args.n_max):
        for act, op, fused, what, call, nbytes in candidates(torch, n, args.device):
            try:
                med, lo, hi = time_call(torch, call, args.repeat)
            except (RuntimeError, AttributeError, TypeError) as e:  # an op this torch lacks
                print(f"torch_cuda_ref: {what} n={n}: {e}", file=sys.stderr, flush=True)
                continue
            print(json.dumps({
                "device": device, "activation": act, "op": op, "n": n, "dtype": "float32",
                "variant": f"torch {torch.__version__} {what}", "resident": True,
                "seconds": med, "gbps": nbytes / med / 1e9, "min_seconds": lo,
                "max_seconds": hi, "bytes": nbytes, "samples": args.repeat,
                "kind": "reference", "name": "torch_cuda" if cuda else "torch_cpu",
                "device_index": "cuda:0" if cuda else "cpu",
                "fused_dalpha": fused}), flush=True)
        if cuda:
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
