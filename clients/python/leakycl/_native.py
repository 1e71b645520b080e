"""_native.py - libleakycl through ctypes: the structs of leakycl.h, the
prototypes, and where the shared library is found.

The library is loaded on first use, not at import, so that the HTTP client
(leakycl.Remote) works on a machine without it. Search order:
  1. $LEAKYCL_LIBRARY, a path to libleakycl.so;
  2. the copy pip bundled into this package (leakycl/_lib/);
  3. a source tree around this file: <root>/$LEAKYCL_BUILD/lib (default build);
  4. the system's (ldconfig): libleakycl.so.0, as `make install` puts it.
"""
import ctypes
import ctypes.util
import os
import threading

from ._types import Error

# ---- structs, field for field as in leakycl.h ----
c_size = ctypes.c_size_t


class Params(ctypes.Structure):
    # alpha (const float *) as an address: set from a NumPy array's pointer
    # without building ctypes pointer objects on every call. conventions (an
    # enum, int-sized) is the last field: without it the library reads past
    # the struct (Job embeds Params, so its layout follows).
    _fields_ = [("activation", ctypes.c_int), ("alpha_count", c_size),
                ("alpha", ctypes.c_void_p), ("beta", ctypes.c_float),
                ("conventions", ctypes.c_int)]


class View(ctypes.Structure):
    _fields_ = [("outer", c_size), ("channels", c_size), ("inner", c_size)]


class Grads(ctypes.Structure):
    # leakycl_grads whole: the library reads dbeta (NULL here: phased_relu's
    # boundary estimate is not asked for) and its window after the three.
    _fields_ = [("dalpha", ctypes.c_void_p), ("neg_fraction", ctypes.c_void_p),
                ("mean_abs_grad", ctypes.c_void_p), ("dbeta", ctypes.c_void_p),
                ("dbeta_window", ctypes.c_float)]


class Job(ctypes.Structure):
    _fields_ = [("op", ctypes.c_int), ("params", Params), ("view", View), ("source", ctypes.c_int),
                ("dtype", ctypes.c_int), ("x", ctypes.c_void_p), ("dy", ctypes.c_void_p),
                ("out", ctypes.c_void_p), ("grads", ctypes.POINTER(Grads)),
                ("mask", ctypes.c_void_p), ("status", ctypes.c_int), ("error", ctypes.c_char * 256)]


class DeviceInfo(ctypes.Structure):
    _fields_ = [("platform_index", ctypes.c_uint), ("device_index", ctypes.c_uint),
                ("type", ctypes.c_int), ("platform_name", ctypes.c_char * 128),
                ("name", ctypes.c_char * 128), ("vendor", ctypes.c_char * 128),
                ("version", ctypes.c_char * 128), ("driver_version", ctypes.c_char * 128),
                ("compute_units", ctypes.c_uint), ("global_mem_bytes", ctypes.c_uint64),
                ("local_mem_bytes", ctypes.c_uint64), ("max_alloc_bytes", ctypes.c_uint64),
                ("max_work_group_size", c_size), ("unified_memory", ctypes.c_int)]


ACTIVATIONS = {"relu": 0, "leaky_relu": 1, "prelu": 2, "phased_relu": 3}
CONVENTIONS = {"pytorch": 0, "ieee": 1, "jax": 2}  # leakycl_conventions
OP_FORWARD, OP_BACKWARD = 0, 1
FROM_X, FROM_Y = 0, 1
MAX_RANK = 16

_P = ctypes.c_void_p
_ERR = [ctypes.c_char_p, c_size]
# name: (restype, argtypes)
_PROTOTYPES = {
    "leakycl_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "leakycl_params_init": (ctypes.c_int, [ctypes.POINTER(Params), ctypes.c_int]),
    "leakycl_default_alpha": (ctypes.c_float, [ctypes.c_int]),
    "leakycl_init_gain": (ctypes.c_double, [ctypes.c_double]),
    "leakycl_view_from_shape": (ctypes.c_int, [ctypes.POINTER(c_size), c_size, ctypes.c_long,
                                               ctypes.POINTER(View)] + _ERR),
    "leakycl_list_devices": (ctypes.c_int, [ctypes.POINTER(DeviceInfo), c_size,
                                            ctypes.POINTER(c_size)] + _ERR),
    "leakycl_device_type_name": (ctypes.c_char_p, [ctypes.c_int]),
    "leakycl_context_create": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_P)] + _ERR),
    "leakycl_context_release": (None, [_P]),
    "leakycl_last_error": (ctypes.c_char_p, [_P]),
    "leakycl_context_device": (ctypes.c_int, [_P, ctypes.POINTER(DeviceInfo)]),
    "leakycl_forward_typed": (ctypes.c_int, [_P, ctypes.POINTER(Params), View, ctypes.c_int, _P, _P]),
    "leakycl_backward_typed": (ctypes.c_int, [_P, ctypes.POINTER(Params), View, ctypes.c_int,
                                              ctypes.c_int, _P, _P, _P, ctypes.POINTER(Grads)]),
    "leakycl_reduce": (ctypes.c_int, [_P, ctypes.POINTER(Params), View, _P, _P, ctypes.POINTER(Grads)]),
    "leakycl_run_jobs": (ctypes.c_int, [_P, ctypes.POINTER(Job), c_size]),
}

_lib = None
_lib_lock = threading.Lock()


def _candidates():
    env = os.environ.get("LEAKYCL_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "_lib", "libleakycl.so")
    build = os.environ.get("LEAKYCL_BUILD", "build")
    d = here
    for _ in range(4):  # clients/python/leakycl -> the source tree's root
        d = os.path.dirname(d)
        yield os.path.join(d, build, "lib", "libleakycl.so")
    found = ctypes.util.find_library("leakycl")
    yield found or "libleakycl.so.0"


def library():
    """The loaded library (ctypes.CDLL), loading it on first use."""
    global _lib
    if _lib is not None:
        return _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in _candidates():
            if os.sep in path and not os.path.exists(path):
                tried.append(path + " (absent)")
                continue
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                tried.append("%s (%s)" % (path, e))
                continue
            for name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(lib, name)
                fn.restype, fn.argtypes = restype, argtypes
            lib.path = path
            _lib = lib
            return lib
        raise Error("NOT_FOUND", "libleakycl.so was not found; tried: " + "; ".join(tried) +
                    ". Run make in the source tree, make install, or set LEAKYCL_LIBRARY")


def status_name(status):
    return library().leakycl_status_name(status).decode()


def err_buffer():
    return ctypes.create_string_buffer(512)


def check(status, message):
    """Raises Error(status name, message) unless status is LEAKYCL_OK."""
    if status != 0:
        if isinstance(message, bytes):
            message = message.decode(errors="replace")
        raise Error(status_name(status), message or "")
