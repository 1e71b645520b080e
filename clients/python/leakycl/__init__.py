"""leakycl - the ReLU family (relu, leaky_relu, prelu, phased_relu) as
OpenCL kernels, from Python.

In process (libleakycl through ctypes, the caller's memory without a copy):

    import numpy as np, leakycl
    x = np.random.randn(1 << 20).astype(np.float32)
    y = leakycl.forward("leaky_relu", x, alpha=0.01)          # float32, x's shape
    g = leakycl.backward("prelu", x, dy, alpha=a)             # g.dx, g.dalpha, ...
    ctx = leakycl.Context("gpu")                              # or pick a device

Over HTTP, the same calls on a daemon (leakycld):

    ctx = leakycl.Remote("http://127.0.0.1:8080")
    y = ctx.forward("leaky_relu", x, alpha=0.01)

Every call that takes an activation also takes conventions="pytorch" (the
default: torch autograd's bits at -0, NaN and Inf), "ieee" or "jax".

Every failure raises leakycl.Error (status, message). PyTorch modules:
leakycl.torch (LeakyReLU, PReLU, PhasedReLU).
"""
import os
import threading

from ._types import Backward, Error, Job, Reduce
from .remote import Remote

__all__ = ["Backward", "Context", "Error", "Job", "Reduce", "Remote", "backward", "devices", "forward",
           "reduce", "run_jobs", "context"]
__version__ = "0.2.0"

_contexts = {}
_contexts_lock = threading.Lock()


def __getattr__(name):  # Context and devices load the library on first use only
    if name in ("Context", "devices"):
        from . import local

        return getattr(local, name)
    raise AttributeError("module 'leakycl' has no attribute %r" % name)


def context(device=None):
    """The shared Context of a device SPEC (default $LEAKYCL_DEVICE, else
    "auto"), opened on first use and kept for the process."""
    spec = device if device is not None else os.environ.get("LEAKYCL_DEVICE", "auto")
    ctx = _contexts.get(spec)
    if ctx is None:
        from .local import Context

        with _contexts_lock:
            ctx = _contexts.get(spec)
            if ctx is None:
                ctx = _contexts[spec] = Context(spec)
    return ctx


def forward(activation, x, *, alpha=None, beta=None, channel_axis=None, out=None, device=None,
            conventions="pytorch"):
    """y = f(x) on the device SPEC's shared context; see Context.forward
    (conventions: "pytorch", the default, "ieee" or "jax")."""
    return context(device).forward(activation, x, alpha=alpha, beta=beta, channel_axis=channel_axis, out=out,
                                   conventions=conventions)


def backward(activation, x, dy, *, alpha=None, beta=None, channel_axis=None, source="x", out=None, device=None,
             conventions="pytorch"):
    """Backward(dx, dalpha, neg_fraction, mean_abs_grad); see Context.backward."""
    return context(device).backward(activation, x, dy, alpha=alpha, beta=beta, channel_axis=channel_axis,
                                    source=source, out=out, conventions=conventions)


def reduce(activation, x, dy, *, alpha=None, beta=None, channel_axis=None, device=None, conventions="pytorch"):
    """Reduce(dalpha, neg_fraction, mean_abs_grad); see Context.reduce."""
    return context(device).reduce(activation, x, dy, alpha=alpha, beta=beta, channel_axis=channel_axis,
                                  conventions=conventions)


def run_jobs(jobs, return_errors=False, device=None):
    """Many jobs in one launch, each with its own Job.conventions; see Context.run_jobs."""
    return context(device).run_jobs(jobs, return_errors=return_errors)
