"""np_oracle.py - DESIGN.md's semantics table in NumPy for the end-to-end
tests (cli_test.py, test_half.py): the branch is picked on the float32
input, and a*v is the exact float64 product rounded once to float32."""
import numpy as np

F32, F64 = np.float32, np.float64


def times(a, v):
    """a*v as float32 through float64 (exact product, one rounding)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(a, F64) * v.astype(F64)).astype(F32)


def oracle_forward(act, x, a, t):
    zero = F32(0)
    if act == "relu":
        return np.where((x > 0) | np.isnan(x), x, zero).astype(F32)
    ax = times(a, x)
    if act in ("leaky_relu", "prelu"):
        return np.where(x > 0, x, ax).astype(F32)
    y = np.where(x >= 0, x, np.where(x >= t, ax, zero))
    return np.where(np.isnan(x), x, y).astype(F32)


def oracle_backward(act, x, dy, a, t):
    zero = F32(0)
    if act == "relu":
        dx = np.where(x > 0, dy, zero)
    elif act in ("leaky_relu", "prelu"):
        dx = np.where(x > 0, dy, times(a, dy))
    else:
        dx = np.where(x >= 0, dy, np.where(x >= t, times(a, dy), zero))
    return np.where(np.isnan(x), x, dx).astype(F32)
