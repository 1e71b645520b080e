"""local.py - leakycl in this process: a Context owns one OpenCL device
(the library's leakycl_context) and runs forward, backward, reduce and
run_jobs on the caller's arrays, in place of their memory (no copy)."""
import ctypes
import threading

import numpy as np

from . import _arrays, _native
from ._types import Backward, Error, Reduce, as_job, check_activation, check_conventions, check_source

_SHAPE_T = ctypes.c_size_t * _native.MAX_RANK


class _Call:
    """The library's view of one call's parameters; keeps alpha alive."""

    __slots__ = ("params", "view", "count", "alpha", "has_grads")

    def __init__(self, lib, activation, shape, alpha, beta, channel_axis, conventions):
        code = _native.ACTIVATIONS[check_activation(activation)]
        self.params = _native.Params()
        lib.leakycl_params_init(ctypes.byref(self.params), code)
        self.params.conventions = _native.CONVENTIONS[check_conventions(conventions)]
        self.alpha = _arrays.as_alpha(alpha)
        if self.alpha is not None:
            self.params.alpha_count = self.alpha.size
            self.params.alpha = self.alpha.__array_interface__["data"][0]
        beta = _arrays.as_beta(beta)
        if beta is not None:
            if code != _native.ACTIVATIONS["phased_relu"]:
                raise Error("INVALID_ARGUMENT", "%s takes no beta (phased_relu does)" % activation)
            self.params.beta = beta
        rank = len(shape)
        if rank > _native.MAX_RANK:
            raise Error("INVALID_ARGUMENT", "rank %d is over the maximum %d" % (rank, _native.MAX_RANK))
        if channel_axis is None:
            channel_axis = 1 if rank >= 2 else 0  # PyTorch's channel dimension
        elif not isinstance(channel_axis, (int, np.integer)) or isinstance(channel_axis, bool):
            raise Error("INVALID_ARGUMENT", "channel_axis must be an integer, not %r" % (channel_axis,))
        self.view = _native.View()
        err = _native.err_buffer()
        _native.check(lib.leakycl_view_from_shape(_SHAPE_T(*shape), rank, int(channel_axis),
                                                  ctypes.byref(self.view), err, len(err)), err.value)
        self.has_grads = code in (_native.ACTIVATIONS["prelu"], _native.ACTIVATIONS["phased_relu"])
        self.count = max(self.params.alpha_count, 1)


class _GradOut:
    """dalpha and the two diagnostics, float32 arrays of the alpha count."""

    def __init__(self, count):
        block = np.empty(3 * count, dtype=np.float32)  # one allocation, three views
        self.arrays = (block[:count], block[count:2 * count], block[2 * count:])
        base = block.__array_interface__["data"][0]
        self.struct = _native.Grads(base, base + 4 * count, base + 8 * count)

    def result(self):
        return Reduce(*self.arrays)


class Context:
    """One OpenCL device, opened by SPEC as everywhere in leakycl: "auto"
    (GPU, then accelerator, then CPU), "cpu", "gpu", "accelerator", an index
    "P:D" or a name substring. Thread-safe (the library serialises calls on a
    context); close() or `with` releases it, and so does garbage collection."""

    def __init__(self, device="auto"):
        self._lib = _native.library()
        self._handle = ctypes.c_void_p()
        err = _native.err_buffer()
        _native.check(self._lib.leakycl_context_create(str(device).encode(), ctypes.byref(self._handle),
                                                       err, len(err)), err.value)
        self._lock = threading.Lock()
        self.trace = None  # a list to record each call's pointers (tests check zero-copy with it)
        info = _native.DeviceInfo()
        self._native_call(self._lib.leakycl_context_device, ctypes.byref(info))
        self.device = _device_dict(self._lib, info)

    # ---- lifetime ----
    def close(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._lib.leakycl_context_release(handle)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "leakycl.Context(%r)" % (self.device.get("name", "?"),)

    def _native_call(self, fn, *args):
        """fn(ctx, *args) with its error text read under the same lock."""
        if not self._handle:
            raise Error("INVALID_ARGUMENT", "the context is closed")
        with self._lock:
            status = fn(self._handle, *args)
            if status != 0:
                _native.check(status, self._lib.leakycl_last_error(self._handle))

    def _record(self, name, **pointers):
        if self.trace is not None:
            self.trace.append((name, pointers))

    # ---- operations ----
    def forward(self, activation, x, *, alpha=None, beta=None, channel_axis=None, out=None, conventions="pytorch"):
        """y = f(x), an array of x's kind, dtype and shape (or out, which may be x).
        conventions: the profile of the corners (-0, NaN, Inf): "pytorch" (the
        default: torch autograd's bits), "ieee" (NaN in x gives NaN) or "jax"."""
        xt = _arrays.as_input(x, "x")
        call = _Call(self._lib, activation, xt.shape, alpha, beta, channel_axis, conventions)
        y, yt = _arrays.new_output(xt) if out is None else _arrays.as_output(out, xt)
        self._record("forward", x=xt.ptr, out=yt.ptr)
        self._native_call(self._lib.leakycl_forward_typed, ctypes.byref(call.params), call.view, xt.dtype,
                          xt.ptr, yt.ptr)
        return y

    def backward(self, activation, x, dy, *, alpha=None, beta=None, channel_axis=None, source="x", out=None,
                 conventions="pytorch"):
        """Backward(dx, dalpha, neg_fraction, mean_abs_grad): dx = f'(x) * dy
        (x is y = f(x) when source="y"), and for prelu and phased_relu the
        fused parameter gradient and diagnostics (None otherwise).
        conventions: as in forward."""
        src = _native.FROM_Y if check_source(source) == "y" else _native.FROM_X
        xt, dyt = _inputs(x, dy)
        call = _Call(self._lib, activation, xt.shape, alpha, beta, channel_axis, conventions)
        dx, dxt = _arrays.new_output(xt) if out is None else _arrays.as_output(out, xt)
        grads = _GradOut(call.count) if call.has_grads else None
        self._record("backward", x=xt.ptr, dy=dyt.ptr, out=dxt.ptr)
        self._native_call(self._lib.leakycl_backward_typed, ctypes.byref(call.params), call.view, xt.dtype, src,
                          xt.ptr, dyt.ptr, dxt.ptr, ctypes.byref(grads.struct) if grads else None)
        return Backward(dx, *grads.result()) if grads else Backward(dx, None, None, None)

    def reduce(self, activation, x, dy, *, alpha=None, beta=None, channel_axis=None, conventions="pytorch"):
        """Reduce(dalpha, neg_fraction, mean_abs_grad) without dx (prelu,
        phased_relu); conventions as in forward."""
        xt, dyt = _inputs(x, dy)
        call = _Call(self._lib, activation, xt.shape, alpha, beta, channel_axis, conventions)
        if not call.has_grads:
            raise Error("UNSUPPORTED", "%s has no parameter gradient (prelu and phased_relu do)" % activation)
        grads = _GradOut(call.count)
        self._record("reduce", x=xt.ptr, dy=dyt.ptr)
        if xt.dtype == _arrays.FLOAT32:
            self._native_call(self._lib.leakycl_reduce, ctypes.byref(call.params), call.view, xt.ptr, dyt.ptr,
                              ctypes.byref(grads.struct))
        else:  # half storage: the fused backward, its dx dropped
            _, scratch = _arrays.new_output(xt)
            self._native_call(self._lib.leakycl_backward_typed, ctypes.byref(call.params), call.view, xt.dtype,
                              _native.FROM_X, xt.ptr, dyt.ptr, scratch.ptr, ctypes.byref(grads.struct))
        return grads.result()

    def run_jobs(self, jobs, return_errors=False):
        """Runs many jobs (leakycl.Job or dicts) in one launch per storage
        type, each with its own conventions (default "pytorch"); returns their
        results in order (forward: the array; backward: a Backward). A bad job
        does not stop the others: with return_errors its place holds its
        leakycl.Error, else the first one is raised after all ran."""
        jobs = [as_job(j) for j in jobs]
        native = (_native.Job * len(jobs))()
        keep, results = [], []
        for i, (j, nj) in enumerate(zip(jobs, native)):
            try:
                results.append(self._prepare_job(j, nj, keep))
            except Error as e:
                e.job_index = i
                results.append(e)
                nj.op = -1  # marks it: not run
        runnable = [nj for nj in native if nj.op != -1]
        if runnable:
            packed = (_native.Job * len(runnable))(*runnable)
            self._record("run_jobs", count=len(runnable))
            if not self._handle:
                raise Error("INVALID_ARGUMENT", "the context is closed")
            with self._lock:
                self._lib.leakycl_run_jobs(self._handle, packed, len(runnable))
            it = iter(packed)
            for i, nj in enumerate(native):
                if nj.op == -1:
                    continue
                done = next(it)
                if done.status != 0:
                    results[i] = Error(_native.status_name(done.status), done.error.decode(errors="replace"),
                                       job_index=i)
        out = [r if isinstance(r, Error) else r() for r in results]
        if not return_errors:
            for r in out:
                if isinstance(r, Error):
                    raise r
        return out

    def _prepare_job(self, j, nj, keep):
        """Fills the native job nj; returns a function giving its result once run."""
        if j.op not in ("forward", "backward"):
            raise Error("INVALID_ARGUMENT", 'op must be "forward" or "backward", not %r' % (j.op,))
        forward = j.op == "forward"
        if forward:
            xt, dyt = _arrays.as_input(j.x, "x"), None
        else:
            xt, dyt = _inputs(j.x, j.dy)
        call = _Call(self._lib, j.activation, xt.shape, j.alpha, j.beta, j.channel_axis, j.conventions)
        out, outt = _arrays.new_output(xt)
        grads = _GradOut(call.count) if call.has_grads and not forward else None
        nj.op = _native.OP_FORWARD if forward else _native.OP_BACKWARD
        nj.params, nj.view, nj.dtype = call.params, call.view, xt.dtype
        nj.source = _native.FROM_Y if check_source(j.source) == "y" else _native.FROM_X
        nj.x, nj.dy, nj.out = xt.ptr, dyt.ptr if dyt else None, outt.ptr
        if grads:
            nj.grads = ctypes.pointer(grads.struct)
        keep.append((xt, dyt, call, outt, grads))
        if forward:
            return lambda: out
        return lambda: Backward(out, *grads.result()) if grads else Backward(out, None, None, None)


def _inputs(x, dy):
    xt, dyt = _arrays.as_input(x, "x"), _arrays.as_input(dy, "dy")
    if tuple(xt.shape) != tuple(dyt.shape) or xt.dtype != dyt.dtype:
        raise Error("INVALID_ARGUMENT", "x is %s%s but dy is %s%s: they must match" % (
            _arrays.DTYPE_NAMES[xt.dtype], list(xt.shape), _arrays.DTYPE_NAMES[dyt.dtype], list(dyt.shape)))
    return xt, dyt


def _device_dict(lib, info):
    def text(b):
        return b.decode(errors="replace")

    return {"index": "%d:%d" % (info.platform_index, info.device_index),
            "type": text(lib.leakycl_device_type_name(info.type)), "name": text(info.name),
            "vendor": text(info.vendor), "platform": text(info.platform_name), "version": text(info.version),
            "driver_version": text(info.driver_version), "compute_units": info.compute_units,
            "global_mem_bytes": info.global_mem_bytes}


def devices():
    """Every OpenCL device the library sees, as dicts (index "P:D", type, name, ...)."""
    lib = _native.library()
    cap = 64
    infos = (_native.DeviceInfo * cap)()
    count = ctypes.c_size_t()
    err = _native.err_buffer()
    _native.check(lib.leakycl_list_devices(infos, cap, ctypes.byref(count), err, len(err)), err.value)
    return [_device_dict(lib, infos[i]) for i in range(min(count.value, cap))]
