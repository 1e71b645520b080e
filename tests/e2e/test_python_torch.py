#!/usr/bin/env python3
"""test_python_torch.py - leakycl.torch against PyTorch itself: the modules
give torch's own modules' outputs and input gradients bit for bit and their
parameter gradients within the reduction's bound; torch.autograd.gradcheck
(float64 reference, through float32 casts) passes; torch tensors of every
storage dtype go in without a copy and come back as torch tensors; the
example training loop learns; leakycl.forward/backward with the default
conventions ("pytorch") are torch autograd's bits for nn.ReLU,
nn.LeakyReLU, nn.PReLU and the seed's PhasedReLU on every pair of corner
values (-0, NaN, Inf, subnormals, extremes, the threshold and its
neighbours), and so are the leakycl.torch modules. Skipped when PyTorch is not installed
(`make test-torch` installs Debian's and runs this file)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from harness import ROOT, Checks  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")
os.environ.setdefault("LEAKYCL_DEVICE", DEVICE)  # the modules' shared context

try:
    import torch
    from torch import nn
except ImportError:
    torch = None


class SeedPhasedReLU(nn.Module if torch else object):
    """Seed 003's module, verbatim."""

    def __init__(self, alpha=0.1, beta=0.5):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(alpha))
        self.beta = nn.Parameter(torch.tensor(beta))

    def forward(self, x):
        return torch.where(x >= 0, x, torch.where(x >= -self.beta / self.alpha, self.alpha * x, torch.zeros_like(x)))


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.contiguous().view(torch.int16 if
                                                                     a.element_size() == 2 else torch.int32),
                                                                     b.contiguous().view(torch.int16 if
                                                                     b.element_size() == 2 else torch.int32))


def grads_of(module, x, dy):
    """y, dx and each parameter's grad after one backward of dy."""
    x = x.detach().clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    return y.detach(), x.grad, [p.grad for p in module.parameters()]


def close_sum(a, b, x, dy):
    """a within 1e-6 * sum |terms| of b (the library's reduction bound)."""
    scale = (x.double() * dy.double()).abs().sum().item()
    return a is not None and b is not None and (a.double() - b.double()).abs().max().item() <= 1e-6 * scale + 1e-30


def check_against_torch(ck, lt):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(8, 4, 6, 6, generator=g)
    dy = torch.randn(8, 4, 6, 6, generator=g)
    pairs = [
        ("leaky_relu", lt.LeakyReLU(0.07), nn.LeakyReLU(0.07)),
        ("prelu_shared", lt.PReLU(1, 0.3), nn.PReLU(1, 0.3)),
        ("prelu_per_channel", lt.PReLU(4, 0.2), nn.PReLU(4, 0.2)),
        ("phased_relu", lt.PhasedReLU(0.1, 0.5), SeedPhasedReLU(0.1, 0.5)),
    ]
    # spread x so that phased_relu's three branches all occur
    x = x * 4
    for name, ours, theirs in pairs:
        if name == "prelu_per_channel":
            with torch.no_grad():
                w = torch.tensor([0.2, -0.5, 1.5, 0.0])
                ours.weight.copy_(w)
                theirs.weight.copy_(w)
        y1, dx1, p1 = grads_of(ours, x, dy)
        y2, dx2, p2 = grads_of(theirs, x, dy)
        ck.check("torch_%s_forward_bits" % name, same_bits(y1, y2))
        ck.check("torch_%s_dx_bits" % name, same_bits(dx1, dx2))
        if name.startswith("prelu") or name == "phased_relu":
            ck.check("torch_%s_param_grad" % name, close_sum(p1[0], p2[0], x, dy), (p1[0], p2[0]))
        if name == "phased_relu":
            ck.check("torch_phased_beta_grad_none_like_seed", p1[1] is None and p2[1] is None, (p1[1], p2[1]))
    # rank 2 (N, C); rank 1 has no channel axis in torch: one weight only
    x2, dy2 = x[:, 0, 0, :5].contiguous(), dy[:, 0, 0, :5].contiguous()
    y1, dx1, p1 = grads_of(lt.PReLU(5, 0.1), x2, dy2)
    y2, dx2, p2 = grads_of(nn.PReLU(5, 0.1), x2, dy2)
    ck.check("torch_prelu_rank2", same_bits(y1, y2) and same_bits(dx1, dx2) and close_sum(p1[0], p2[0], x2, dy2))
    refused = []
    for module, error in ((lt.PReLU(5), Exception), (nn.PReLU(5), RuntimeError)):
        try:
            module(x2[0])
        except error as e:
            refused.append(str(e))
    ck.check("torch_prelu_rank1_per_channel_refused_as_torch", len(refused) == 2, refused)
    # only the weight needs a gradient: the reduction alone runs
    m = lt.PReLU(4, 0.2)
    m(x).backward(dy)
    _, _, p2 = grads_of(nn.PReLU(4, 0.2), x, dy)
    ck.check("torch_prelu_weight_only", close_sum(m.weight.grad, p2[0], x, dy))
    # in place, as nn.LeakyReLU(inplace=True)
    a = x.clone().requires_grad_(True)
    b = x.clone().requires_grad_(True)
    ya = lt.LeakyReLU(0.2, inplace=True)(a * 1)
    yb = nn.LeakyReLU(0.2, inplace=True)(b * 1)
    ya.backward(dy)
    yb.backward(dy)
    ck.check("torch_leaky_inplace", same_bits(ya.detach(), yb.detach()) and same_bits(a.grad, b.grad))


def grad_agrees(ours, theirs, terms):
    """A parameter gradient (a sum: its order may differ) against torch's:
    NaN exactly where torch's is NaN, the same infinities, finite values
    within 1e-6 of the sum of the finite |terms| (the reduction's bound)."""
    a = torch.as_tensor(ours).double().reshape(-1)
    b = theirs.detach().double().reshape(-1)
    if a.shape != b.shape or not torch.equal(a.isnan(), b.isnan()):
        return False
    inf = b.isinf()
    if not torch.equal(a.isinf(), inf) or not torch.equal(a[inf], b[inf]):
        return False
    t = terms.double().abs()
    scale = t[t.isfinite()].sum().item()
    fin = b.isfinite()
    return bool(((a[fin] - b[fin]).abs() <= 1e-6 * scale + 1e-30).all())


def first_differences(a, b, x, dy):
    """The first elements whose bits differ: x, dy and both values."""
    ab, bb = a.reshape(-1).view(torch.int32), b.reshape(-1).view(torch.int32)
    xs, dys = x.reshape(-1), dy.reshape(-1)
    bad = (ab != bb).nonzero().reshape(-1)[:6].tolist()
    return "; ".join("x=%r dy=%r: 0x%08x vs torch 0x%08x" % (xs[i].item(), dys[i].item(), ab[i].item() & 0xffffffff,
                                                             bb[i].item() & 0xffffffff) for i in bad)


def corner_pairs(thresholds):
    """Every pair of corner x and dy, then 10,000 random normal pairs: flat float32 tensors."""
    xs = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, float("nan"), float("inf"), float("-inf"), 1.4e-45, -1.4e-45,
          3.4e38, -3.4e38, -0.3, -5.0]
    xs = torch.tensor(xs, dtype=torch.float32)
    for t in thresholds:  # t and its float32 neighbours
        t = torch.tensor([t], dtype=torch.float32)
        xs = torch.cat([xs, t, torch.nextafter(t, t - 1), torch.nextafter(t, t + 1)])
    dys = torch.tensor([1.0, -1.0, 0.0, -0.0, 0.5, float("inf"), float("-inf"), float("nan")], dtype=torch.float32)
    g = torch.Generator().manual_seed(31)
    x = torch.cat([xs.repeat_interleave(dys.numel()), torch.randn(10000, generator=g) * 3])
    dy = torch.cat([dys.repeat(xs.numel()), torch.randn(10000, generator=g)])
    return x, dy


def check_conventions_corners(ck, lt):
    """leakycl.forward/backward with the default conventions against torch
    autograd of torch's own modules: y and x.grad bit for bit on the corner
    grid; weight.grad (a sum) NaN where torch's is, else within the bound.
    The leakycl.torch modules on the same data, too."""
    import leakycl

    seeds = [(0.1, 0.5), (0.3, 0.5)]
    thresholds = [(-torch.tensor(b) / torch.tensor(a)).item() for a, b in seeds]  # as the seed computes it
    x, dy = corner_pairs(thresholds)
    finite = torch.isfinite(x) & torch.isfinite(dy) & (x.abs() < 1e38)  # sums that cannot overflow

    def torch_grads(module, xx, dd):
        for p in module.parameters():
            p.grad = None  # one backward's gradient, not a sum over runs
        xx = xx.detach().clone().requires_grad_(True)
        y = module(xx)
        y.backward(dd)
        return y.detach(), xx.grad, [p.grad for p in module.parameters()]

    # (name, torch module, leakycl activation, alpha, beta, channels, leakycl.torch module or None)
    cases = [("relu", nn.ReLU(), "relu", None, None, 0, None),
             ("leaky_relu_0.01", nn.LeakyReLU(0.01), "leaky_relu", 0.01, None, 0, lt.LeakyReLU(0.01)),
             ("leaky_relu_0.2", nn.LeakyReLU(0.2), "leaky_relu", 0.2, None, 0, lt.LeakyReLU(0.2)),
             ("prelu_shared", nn.PReLU(1, 0.25), "prelu", 0.25, None, 0, lt.PReLU(1, 0.25))]
    w = torch.tensor([0.2, -0.5, 1.5, 0.0])
    cases.append(("prelu_per_channel", nn.PReLU(4), "prelu", w, None, 4, lt.PReLU(4)))
    for a, b in seeds:
        cases.append(("phased_relu_%s_%s" % (a, b), SeedPhasedReLU(a, b), "phased_relu", a, b, 0,
                      lt.PhasedReLU(a, b)))
    for name, theirs, act, alpha, beta, channels, ours in cases:
        if channels:  # every pair meets every channel: (N, C), channel axis 1 as torch's
            with torch.no_grad():
                theirs.weight.copy_(alpha)
                ours.weight.copy_(alpha)
            xx, dd = x[:, None].repeat(1, channels), dy[:, None].repeat(1, channels)
        else:
            xx, dd = x, dy
        for subset, sx, sd in (("corners", xx, dd), ("finite", xx[finite], dd[finite])):
            if subset == "finite" and act in ("relu", "leaky_relu"):
                continue  # no parameter gradient: the corners say it all
            y2, dx2, p2 = torch_grads(theirs, sx, sd)
            label = "torch_conventions_%s_%s" % (name, subset)
            y1 = leakycl.forward(act, sx, alpha=alpha, beta=beta)
            g = leakycl.backward(act, sx, sd, alpha=alpha, beta=beta)
            ck.check(label + "_y_bits", same_bits(y1, y2), first_differences(y1, y2, sx, sd))
            ck.check(label + "_dx_bits", same_bits(g.dx, dx2), first_differences(g.dx, dx2, sx, sd))
            terms = sx.double() * sd.double()
            if p2:
                ck.check(label + "_param_grad", grad_agrees(g.dalpha, p2[0], terms), (g.dalpha, p2[0]))
            if ours is not None:
                y3, dx3, p3 = torch_grads(ours, sx, sd)
                ok = same_bits(y3, y2) and same_bits(dx3, dx2)
                if p2:
                    ok = ok and grad_agrees(p3[0], p2[0], terms)
                ck.check(label + "_leakycl_torch_module", ok, first_differences(dx3, dx2, sx, sd))
            if subset == "corners" and p2:
                ck.check(label + "_param_grad_nan_like_torch", bool(p2[0].isnan().all()), p2[0])


def check_gradcheck(ck, lt):
    g = torch.Generator().manual_seed(9)

    def away_from_kinks(t, kinks):
        for k in kinks:  # finite differences need |x - kink| > eps
            t = torch.where((t - k).abs() < 0.02, t + 0.05, t)
        return t

    x = away_from_kinks(torch.rand(3, 4, 5, generator=g, dtype=torch.float64) * 4 - 2, [0.0]).requires_grad_()
    w = torch.tensor([0.25, -0.1, 0.7, 1.3], dtype=torch.float64, requires_grad=True)
    w1 = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    tol = dict(eps=1e-3, atol=1e-3, rtol=1e-3)
    ck.check("gradcheck_leaky_relu", torch.autograd.gradcheck(
        lambda x: lt.leaky_relu(x.float(), 0.05).double(), (x,), **tol))
    ck.check("gradcheck_prelu_per_channel", torch.autograd.gradcheck(
        lambda x, w: lt.prelu(x.float(), w.float()).double(), (x, w), **tol))
    ck.check("gradcheck_prelu_shared", torch.autograd.gradcheck(
        lambda x, w: lt.prelu(x.float(), w.float()).double(), (x, w1), **tol))
    alpha, beta = 0.4, 0.5  # threshold -1.25
    xp = away_from_kinks(torch.rand(40, generator=g, dtype=torch.float64) * 4 - 3, [0.0, -beta / alpha])
    xp.requires_grad_()
    a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(beta, dtype=torch.float64)
    ck.check("gradcheck_phased_relu", torch.autograd.gradcheck(
        lambda x, a: lt.phased_relu(x.float(), a.float(), bt.float()).double(), (xp, a), **tol))


def check_storage(ck, lt):
    import leakycl

    ctx = leakycl.context()
    g = torch.Generator().manual_seed(2)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        name = str(dtype).split(".")[1]
        t = (torch.randn(3, 5, generator=g) * 3).to(dtype)
        ctx.trace = []
        y = leakycl.forward("leaky_relu", t, alpha=0.125)
        want = torch.where(t.float() > 0, t.float(), t.float() * 0.125).to(dtype)  # exact in float32, one rounding
        ck.check("torch_%s_in_torch_out" % name, isinstance(y, torch.Tensor) and same_bits(y, want) and
                 ctx.trace[-1][1]["x"] == t.data_ptr() and ctx.trace[-1][1]["out"] == y.data_ptr())
        m = lt.PReLU(5, 0.25).to(dtype)
        tx = t.clone().requires_grad_(True)
        m(tx).sum().backward()
        ck.check("torch_%s_module_grads_dtype" % name, tx.grad.dtype == dtype and m.weight.grad.dtype == dtype)
    # a non-contiguous tensor is made contiguous; a tensor that needs grad is read through detach()
    t = torch.randn(4, 6, generator=g).t()
    ck.check("torch_non_contiguous", same_bits(leakycl.forward("relu", t), torch.relu(t).contiguous()))
    p = torch.randn(7, generator=g, requires_grad=True)
    ck.check("torch_requires_grad_input", same_bits(leakycl.forward("relu", p), torch.relu(p.detach())))
    # DLPack out: a NumPy answer is a torch tensor without a copy
    import numpy as np

    arr = leakycl.forward("relu", np.linspace(-1, 1, 9, dtype=np.float32))
    back = torch.from_dlpack(arr)
    ck.check("dlpack_numpy_to_torch", back.data_ptr() == arr.__array_interface__["data"][0])
    try:
        leakycl.forward("relu", torch.ones(3, dtype=torch.float64))
        ck.check("torch_float64_refused", False)
    except leakycl.Error as e:
        ck.check("torch_float64_refused", e.status == "INVALID_ARGUMENT", e)


def check_example(ck):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "clients", "examples", "train_prelu.py")],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "clients", "python")))
    lines = p.stdout.split()
    ok = p.returncode == 0 and "loss" in p.stdout
    if ok:
        first, last = float(lines[lines.index("loss") + 1]), float(lines[len(lines) - 1 - lines[::-1].index("loss") + 1])
        ok = last < 0.5 * first
    ck.check("example_training_loop_learns", ok, p.stdout[-600:] + p.stderr[-600:])


def main():
    ck = Checks()
    if torch is None:
        ck.skip("leakycl_torch", "PyTorch is not installed (make test-torch installs it)")
        return ck.done()
    import leakycl.torch as lt

    check_against_torch(ck, lt)
    check_conventions_corners(ck, lt)
    check_gradcheck(ck, lt)
    check_storage(ck, lt)
    check_example(ck)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
