"""_arrays.py - the caller's arrays as pointers the library reads, without
a copy, and outputs made like the input.

In: NumPy arrays (float32, float16, and bfloat16 from ml_dtypes) and other
buffer-protocol objects (array.array("f"), memoryview) by their buffer, and
any object with __dlpack__ (a CPU torch tensor, a JAX array) by
its DLPack capsule. A C-contiguous array goes in as it is; a strided one is
copied once (the library reads contiguous memory). Lists and Python
numbers become float32 arrays. Other dtypes are refused: leakycl stores
float32, float16 and bfloat16 only, and a silent conversion would hide a
precision change.

Out: an array of the input's kind (NumPy for NumPy and lists, torch for
torch, NumPy for other DLPack producers), dtype and shape, 0-d included.
"""
import ctypes

import numpy as np

from ._types import Error

try:  # bfloat16 for NumPy
    import ml_dtypes as _ml_dtypes

    BFLOAT16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - depends on the environment
    BFLOAT16 = None

FLOAT32, FLOAT16, BF16 = 0, 1, 2  # leakycl_dtype
DTYPE_NAMES = ("float32", "float16", "bfloat16")
_NUMPY_CODES = {np.dtype(np.float32): FLOAT32, np.dtype(np.float16): FLOAT16}
if BFLOAT16 is not None:
    _NUMPY_CODES[BFLOAT16] = BF16


def numpy_dtype(code):
    if code == BF16:
        if BFLOAT16 is None:
            raise Error("UNSUPPORTED", "bfloat16 NumPy arrays need the ml_dtypes package (pip install ml_dtypes)")
        return BFLOAT16
    return np.dtype(np.float32) if code == FLOAT32 else np.dtype(np.float16)


# ---- DLPack (dlpack.h v0.x, the layout torch, JAX and NumPy export) ----
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


_DL_CPU, _DL_CUDA_HOST = 1, 3
_DL_FLOAT, _DL_BFLOAT = 2, 4
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class Tensor:
    """One array as the library sees it. keep holds what must stay alive
    while ptr is used (the array, or the DLPack capsule: its destructor
    frees the export when we drop it)."""

    __slots__ = ("ptr", "dtype", "shape", "kind", "keep", "like")

    def __init__(self, ptr, dtype, shape, kind, keep, like):
        self.ptr, self.dtype, self.shape, self.kind, self.keep, self.like = ptr, dtype, shape, kind, keep, like

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n


def _is_torch(obj):
    return type(obj).__module__.split(".")[0] == "torch"


def _from_numpy(arr, name):
    code = _NUMPY_CODES.get(arr.dtype)
    if code is None:
        if arr.dtype.kind == "f" and arr.dtype.newbyteorder("=") in _NUMPY_CODES and not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))  # big-endian: one converting copy
            code = _NUMPY_CODES[arr.dtype]
        else:
            raise Error("INVALID_ARGUMENT", "%s has dtype %s; leakycl stores float32, float16 or bfloat16 "
                        "(convert with .astype(numpy.float32))" % (name, arr.dtype))
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    return Tensor(arr.__array_interface__["data"][0], code, arr.shape, "numpy", arr, arr)


def _from_dlpack(obj, name):
    if _is_torch(obj):
        if obj.requires_grad:
            obj = obj.detach()
        if not obj.is_contiguous():
            obj = obj.contiguous()
    try:
        capsule = obj.__dlpack__()
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        raise Error("INVALID_ARGUMENT", "%s cannot be exported through DLPack: %s" % (name, e)) from None
    t = _DLTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    if t.device.device_type not in (_DL_CPU, _DL_CUDA_HOST):
        raise Error("INVALID_ARGUMENT", "%s lives on a device (DLPack device type %d); leakycl reads host "
                    "memory: move it to the CPU first (.cpu())" % (name, t.device.device_type))
    dt = t.dtype
    code = {(_DL_FLOAT, 32): FLOAT32, (_DL_FLOAT, 16): FLOAT16, (_DL_BFLOAT, 16): BF16}.get((dt.code, dt.bits))
    if code is None or dt.lanes != 1:
        raise Error("INVALID_ARGUMENT", "%s has DLPack dtype code %d bits %d; leakycl stores float32, "
                    "float16 or bfloat16" % (name, dt.code, dt.bits))
    shape = tuple(t.shape[i] for i in range(t.ndim))
    if t.strides:
        expect = 1
        for i in reversed(range(t.ndim)):
            if shape[i] != 1 and t.strides[i] != expect:
                if _is_torch(obj):
                    break  # contiguous() above makes this unreachable
                arr = np.ascontiguousarray(np.from_dlpack(obj))  # strided: one copy
                return _from_numpy(arr, name)
            expect *= shape[i]
    return Tensor(t.data + t.byte_offset, code, shape, "torch" if _is_torch(obj) else "dlpack", (obj, capsule), obj)


def as_input(obj, name):
    """A Tensor for obj (see the module's doc)."""
    if isinstance(obj, np.ndarray):
        return _from_numpy(obj, name)
    if hasattr(obj, "__dlpack__"):
        return _from_dlpack(obj, name)
    try:  # the buffer protocol (array.array, memoryview, ...): a NumPy view of the same memory
        view = memoryview(obj)
    except TypeError:
        view = None
    if view is not None:
        return _from_numpy(np.asarray(view), name)
    if isinstance(obj, (list, tuple, int, float, np.number)):
        try:
            arr = np.asarray(obj, dtype=np.float32)
        except (ValueError, TypeError) as e:
            raise Error("INVALID_ARGUMENT", "%s is not a numeric array: %s" % (name, e)) from None
        return _from_numpy(arr, name)
    raise Error("INVALID_ARGUMENT", "%s must be a NumPy array, an object with __dlpack__ (torch, JAX), a list "
                "or a number, not %s" % (name, type(obj).__name__))


def new_output(like, name="out"):
    """An uninitialised array of like's kind, dtype and shape, and its Tensor."""
    if like.kind == "torch":
        import torch

        # NumPy's memory under a torch tensor: glibc hands a freed block back
        # already mapped, where torch.empty maps fresh pages for big tensors
        # and the kernel then pays a page fault per 4 KiB (+80% at 1 Mi).
        arr = np.empty(like.shape, dtype=np.int16 if like.dtype == BF16 else numpy_dtype(like.dtype))
        t = torch.from_numpy(arr)
        if like.dtype == BF16:
            t = t.view(torch.bfloat16)
        return t, Tensor(arr.__array_interface__["data"][0], like.dtype, like.shape, "torch", arr, t)
    arr = np.empty(like.shape, dtype=numpy_dtype(like.dtype))
    return arr, Tensor(arr.__array_interface__["data"][0], like.dtype, like.shape, "numpy", arr, arr)


def as_output(out, like, name="out"):
    """The caller's out= array, checked: writable, contiguous, like's dtype and shape."""
    if isinstance(out, np.ndarray):
        if not out.flags.writeable or not out.flags.c_contiguous:
            raise Error("INVALID_ARGUMENT", "%s must be a writable C-contiguous array" % name)
        t = _from_numpy(out, name)
    elif _is_torch(out):
        if out.requires_grad or not out.is_contiguous():
            raise Error("INVALID_ARGUMENT", "%s must be a contiguous tensor that does not require grad" % name)
        t = _from_dlpack(out, name)
    else:
        raise Error("INVALID_ARGUMENT", "%s must be a NumPy array or a torch tensor" % name)
    if t.dtype != like.dtype or tuple(t.shape) != tuple(like.shape):
        raise Error("INVALID_ARGUMENT", "%s is %s%s, the input %s%s" % (
            name, DTYPE_NAMES[t.dtype], list(t.shape), DTYPE_NAMES[like.dtype], list(like.shape)))
    return out, t


def _parameter(value, name, what):
    """value (a number, list, NumPy or torch value) as a float32 NumPy array."""
    if _is_torch(value):
        value = value.detach().cpu().float().numpy()
    try:
        return np.asarray(value, dtype=np.float32)
    except (ValueError, TypeError) as e:
        raise Error("INVALID_ARGUMENT", "%s must be %s: %s" % (name, what, e)) from None


def as_alpha(alpha):
    """alpha as a flat float32 NumPy array (None stays None)."""
    if alpha is None:
        return None
    a = _parameter(alpha, "alpha", "a number or a flat array of numbers")
    if a.ndim > 1:
        raise Error("INVALID_ARGUMENT", "alpha must be a number or a flat array, not of shape %s" % (a.shape,))
    return np.ascontiguousarray(a.reshape(-1))


def as_beta(beta):
    """beta as a Python float (None stays None)."""
    if beta is None:
        return None
    b = _parameter(beta, "beta", "a number")
    if b.size != 1:
        raise Error("INVALID_ARGUMENT", "beta must be one number, not %d" % b.size)
    return float(b.reshape(()))
