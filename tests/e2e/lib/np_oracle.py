"""np_oracle.py - the README's semantics tables in NumPy for the end-to-end
tests (cli_test.py, test_half.py), one per conventions profile (pytorch, the
default; ieee; jax): the branch is picked on the float32 input, a*v is the
exact float64 product rounded once to float32, and where() fills the branch
it does not take with +0 before two gradients are added (pytorch, jax)."""
import numpy as np

F32, F64 = np.float32, np.float64


def times(a, v):
    """a*v as float32 through float64 (exact product, one rounding)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(a, F64) * np.asarray(v).astype(F64)).astype(F32)


def fill(cond, v):
    """where(cond, v, +0)."""
    return np.where(cond, v, F32(0)).astype(F32)


def oracle_forward(act, x, a, t, conv="pytorch"):
    zero = F32(0)
    with np.errstate(invalid="ignore"):
        if act == "relu":
            if conv == "pytorch":  # clamp_min: -0 and NaN pass
                return np.where(x < 0, zero, x).astype(F32)
            return np.where((x > 0) | np.isnan(x), x, zero).astype(F32)
        ax = times(a, x)
        if act in ("leaky_relu", "prelu"):
            return np.where(x >= 0 if conv == "jax" else x > 0, x, ax).astype(F32)
        y = np.where(x >= 0, x, np.where(x >= t, ax, zero))
        if conv == "ieee":
            y = np.where(np.isnan(x), x, y)
        return y.astype(F32)


def oracle_backward(act, x, dy, a, t, conv="pytorch"):
    with np.errstate(invalid="ignore"):
        if act == "relu":
            if conv == "pytorch":
                dx = fill((x > 0) | np.isnan(x), dy)
            else:
                dx = fill(x > 0, dy)
        elif act in ("leaky_relu", "prelu"):
            if conv == "jax":
                dx = (fill(x >= 0, dy).astype(F64) + times(a, fill(~(x >= 0), dy))).astype(F32)
            else:
                dx = np.where(x > 0, dy, times(a, dy))
        elif conv == "ieee":
            dx = np.where(x >= 0, dy, np.where(x >= t, times(a, dy), F32(0)))
        else:
            band = (x < 0) & (x >= t)
            dx = (fill(x >= 0, dy).astype(F64) + times(fill(band, dy), a)).astype(F32)
        if conv == "ieee":
            dx = np.where(np.isnan(x), x, dx)
        return np.asarray(dx).astype(F32)
