"""leakycl.torch - PyTorch modules backed by leakycl's kernels.

LeakyReLU, PReLU (shared or per channel) and PhasedReLU (seed 003's module:
learnable alpha and beta) are nn.Modules whose forward and backward run in
leakycl on the tensors' own memory (CPU tensors: float32, float16,
bfloat16). Backward is one fused call: dx and the slope gradient together,
so loss.backward() fills weight.grad (PReLU) or alpha.grad (PhasedReLU).
beta enters PhasedReLU only through the comparison x >= -beta/alpha, which
has no gradient: beta.grad stays None, as torch autograd leaves it for the
seed's module.

    import torch, leakycl.torch as lt
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), lt.PReLU(8))

They run leakycl's default conventions, "pytorch" (torch autograd's bits
at -0, NaN and Inf), and pass no conventions of their own.

cl_device picks the OpenCL device by SPEC (default: leakycl.context()'s).
Parameters and their gradients are float32 inside leakycl whatever the
module's dtype; a half-precision module's grads are rounded to its dtype.
"""
import torch
from torch import nn

import leakycl


def _grad_like(values, param):
    return torch.from_numpy(values).to(param.dtype).reshape(param.shape)


class _LeakyReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, negative_slope, inplace, cl_device):
        lc = leakycl.context(cl_device)
        ctx.negative_slope, ctx.cl_device = negative_slope, cl_device
        if inplace:
            # the input is overwritten: backward reads the sign from y, which
            # is only possible for a positive slope (the library checks it)
            ctx.mark_dirty(x)
            lc.forward("leaky_relu", x, alpha=negative_slope, out=x.detach())
            ctx.source = "y"
            ctx.save_for_backward(x)
            return x
        ctx.source = "x"
        ctx.save_for_backward(x)
        return lc.forward("leaky_relu", x, alpha=negative_slope)

    @staticmethod
    def backward(ctx, dy):
        (src,) = ctx.saved_tensors
        g = leakycl.context(ctx.cl_device).backward("leaky_relu", src, dy, alpha=ctx.negative_slope,
                                                    source=ctx.source)
        return g.dx, None, None, None


class _PReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, cl_device):
        ctx.cl_device = cl_device
        ctx.save_for_backward(x, weight)
        return leakycl.context(cl_device).forward("prelu", x, alpha=weight)

    @staticmethod
    def backward(ctx, dy):
        x, weight = ctx.saved_tensors
        lc = leakycl.context(ctx.cl_device)
        need_dx, need_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if need_dx:
            g = lc.backward("prelu", x, dy, alpha=weight)
            return g.dx, _grad_like(g.dalpha, weight) if need_dw else None, None
        r = lc.reduce("prelu", x, dy, alpha=weight)
        return None, _grad_like(r.dalpha, weight), None


class _PhasedReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha, beta, cl_device):
        ctx.cl_device = cl_device
        ctx.save_for_backward(x, alpha, beta)
        return leakycl.context(cl_device).forward("phased_relu", x, alpha=alpha, beta=beta)

    @staticmethod
    def backward(ctx, dy):
        x, alpha, beta = ctx.saved_tensors
        lc = leakycl.context(ctx.cl_device)
        need_dx, need_da = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if need_dx:
            g = lc.backward("phased_relu", x, dy, alpha=alpha, beta=beta)
            return g.dx, _grad_like(g.dalpha, alpha) if need_da else None, None, None
        r = lc.reduce("phased_relu", x, dy, alpha=alpha, beta=beta)
        return None, _grad_like(r.dalpha, alpha), None, None


def leaky_relu(x, negative_slope=0.01, inplace=False, cl_device=None):
    """torch.nn.functional.leaky_relu on leakycl."""
    return _LeakyReLUFunction.apply(x, float(negative_slope), bool(inplace), cl_device)


def prelu(x, weight, cl_device=None):
    """torch.nn.functional.prelu on leakycl: weight of 1 or C (channel axis 1, as torch's) values."""
    if x.dim() < 2 and weight.numel() != 1:
        # torch has no channel axis below rank 2 (leakycl's own API would take axis 0)
        raise leakycl.Error("INVALID_ARGUMENT", "a rank-%d input has no channel axis: PReLU takes one weight, "
                            "not %d (as torch.nn.PReLU)" % (x.dim(), weight.numel()))
    return _PReLUFunction.apply(x, weight, cl_device)


def phased_relu(x, alpha, beta, cl_device=None):
    """Seed 003's PhasedReLU on leakycl: x >= 0 ? x : (x >= -beta/alpha ? alpha*x : 0)."""
    return _PhasedReLUFunction.apply(x, alpha, beta, cl_device)


class LeakyReLU(nn.Module):
    """torch.nn.LeakyReLU's interface."""

    def __init__(self, negative_slope=0.01, inplace=False, cl_device=None):
        super().__init__()
        self.negative_slope, self.inplace, self.cl_device = negative_slope, inplace, cl_device

    def forward(self, x):
        return leaky_relu(x, self.negative_slope, self.inplace, self.cl_device)

    def extra_repr(self):
        return "negative_slope=%s%s" % (self.negative_slope, ", inplace=True" if self.inplace else "")


class PReLU(nn.Module):
    """torch.nn.PReLU's interface: weight of num_parameters values, init init."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None, cl_device=None):
        super().__init__()
        self.num_parameters, self.cl_device = num_parameters, cl_device
        self.weight = nn.Parameter(torch.full((num_parameters,), float(init), device=device, dtype=dtype))

    def forward(self, x):
        return prelu(x, self.weight, self.cl_device)

    def extra_repr(self):
        return "num_parameters=%d" % self.num_parameters


class PhasedReLU(nn.Module):
    """Seed 003's PhasedReLU: the same parameters, alpha (0.1) and beta (0.5)."""

    def __init__(self, alpha=0.1, beta=0.5, cl_device=None):
        super().__init__()
        self.cl_device = cl_device
        self.alpha = nn.Parameter(torch.tensor(alpha))
        self.beta = nn.Parameter(torch.tensor(beta))

    def forward(self, x):
        return phased_relu(x, self.alpha, self.beta, self.cl_device)
