"""Namespace detection, validation and small helpers shared by the array-API solvers."""

import math

import numpy as np

from .._validate import _where

# Libraries whose arrays take the array-API path (recognised without importing them).
_FOREIGN_MODULES = ("torch", "cupy", "jax", "jaxlib", "array_api_strict")


def is_foreign(x):
    """True for an array of another array library (never for NumPy arrays or lists)."""
    if x is None or isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return False
    return type(x).__module__.split(".")[0] in _FOREIGN_MODULES or hasattr(
        x, "__array_namespace__")


def namespace(*arrays):
    """The array namespace of the foreign arrays among ``arrays``, or None if there are none."""
    foreign = [a for a in arrays if is_foreign(a)]
    if not foreign:
        return None
    try:
        import array_api_compat
    except ImportError:  # pragma: no cover - the extras install it
        raise ImportError(
            "arrays of other libraries need array-api-compat: pip install array-api-compat "
            "(the extras torch, jax, cupy and cuda include it)") from None
    return array_api_compat.array_namespace(*foreign)


def device_of(x):
    import array_api_compat

    return array_api_compat.device(x)


def supports_float64(xp):
    """False only for JAX without ``jax_enable_x64`` (float64 silently becomes float32)."""
    import array_api_compat

    if array_api_compat.is_jax_namespace(xp):
        import jax

        return bool(jax.config.read("jax_enable_x64"))
    return True


def accumulator(xp):
    """The dtype sums are accumulated in: float64 where the library has it."""
    return xp.float64 if supports_float64(xp) else xp.float32


def as_float(xp, values, name, device):
    """``values`` as a real floating array of ``xp`` on ``device`` (integers become float64)."""
    array = xp.asarray(values, device=device)
    if xp.isdtype(array.dtype, "complex floating"):
        raise TypeError(f"{name} must be real; got complex dtype {array.dtype}")
    if xp.isdtype(array.dtype, "real floating"):
        return array
    if xp.isdtype(array.dtype, ("integral", "bool")):
        return xp.astype(array, accumulator(xp))
    raise TypeError(f"{name} must be numeric; got dtype {array.dtype}")


def _require(xp, ok, array, name, what):
    """Raise ``ValueError`` at the first entry where ``ok`` fails (one host synchronisation),
    in the message template of :mod:`isotree._validate`."""
    if bool(xp.all(ok)):
        return
    bad = int(xp.argmin(xp.astype(xp.reshape(ok, (-1,)), xp.int32)))
    value = float(xp.reshape(array, (-1,))[bad])
    raise ValueError(f"{name} must be {what}; {name}{_where(bad, tuple(array.shape))} is "
                     f"{value}")


def check_finite(xp, array, name):
    """No NaN or inf."""
    _require(xp, xp.isfinite(array), array, name, "finite")


def check_positive(xp, array, name):
    """Every weight > 0 (after the finiteness check)."""
    _require(xp, array > 0, array, name, "> 0")


def check_nonnegative(xp, array, name):
    """Every entry >= 0 (after the finiteness check)."""
    _require(xp, array >= 0, array, name, ">= 0")


def rows(xp, array, axis):
    """``array`` with ``axis`` moved last and the rest flattened: (m, n), and the moved shape."""
    moved = xp.moveaxis(array, axis, -1) if array.ndim > 1 else array
    shape = tuple(moved.shape)
    n = shape[-1]
    return xp.reshape(moved, (math.prod(shape[:-1]), n)), shape


def unrows(xp, array, shape, axis):
    """Inverse of :func:`rows`."""
    out = xp.reshape(array, shape)
    return xp.moveaxis(out, -1, axis) if len(shape) > 1 else out


def take_rows(xp, array, index):
    """``array[r, index[r, j]]`` for every row r (a gather through the flattened array)."""
    m, n = array.shape
    offset = xp.reshape(xp.arange(m, device=device_of(array)) * n, (m, 1))
    flat_index = xp.reshape(xp.astype(index, offset.dtype) + offset, (-1,))
    return xp.reshape(xp.take(xp.reshape(array, (-1,)), flat_index), tuple(index.shape))


def masked_sum(xp, mask, values, axis=1):
    """Sum of ``values`` where ``mask`` (no boolean indexing: static shapes)."""
    return xp.sum(xp.where(mask, values, xp.zeros_like(values)), axis=axis)


def weights_rows(xp, weights, shape, axis, dtype, device):
    """Validated weights laid out as (m or 1, n) rows in ``dtype`` (None: their own float
    dtype); no weights give ones."""
    n = shape[axis]
    if weights is None:
        return xp.ones((1, n), dtype=dtype or xp.float64, device=device)
    w = as_float(xp, weights, "weights", device)
    if tuple(w.shape) != tuple(shape) and tuple(w.shape) != (n,):
        raise ValueError(f"weights must have shape ({n},) or the shape of y {tuple(shape)}; "
                         f"got {tuple(w.shape)}")
    check_finite(xp, w, "weights")
    check_positive(xp, w, "weights")
    if dtype is not None:
        w = xp.astype(w, dtype)
    if w.ndim == 1:
        return xp.reshape(w, (1, n))
    return rows(xp, w, axis)[0]


def to_host(x):
    """A NumPy copy of a foreign array (the one explicit device-to-host transfer)."""
    import array_api_compat

    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def from_host(xp, array, like):
    """``array`` (NumPy) as an array of ``xp`` on the device of ``like``."""
    import array_api_compat

    if array_api_compat.is_torch_array(like):
        import torch

        return torch.as_tensor(np.ascontiguousarray(array), device=like.device)
    return xp.asarray(np.ascontiguousarray(array), device=device_of(like))


def _exponent(xp, x):
    """e with x < 2**e (frexp's exponent, up to one for round-off in log2); 0 where x == 0."""
    positive = x > 0
    safe = xp.where(positive, x, xp.ones_like(x))
    return xp.where(positive, xp.floor(xp.log2(safe)) + 1, xp.zeros_like(x))


def row_scales(xp, y, w):
    """Exact powers of two per row, ``(sy, sw)``, each of shape (m, 1), that keep
    every sum of ``w * y`` and of ``w`` finite and tiny values out of the subnormal range.

    The rule of the host kernels (``isotree._numba.scaling.row_shifts``), vectorised, so a
    row's fit never depends on the magnitudes of the other rows (in float32 accumulators
    the limit is float32's).
    """
    limit = 1000.0 if y.dtype == xp.float64 else 100.0
    log_n = float(max(int(y.shape[1]), 1).bit_length())
    exp_y = _exponent(xp, xp.max(xp.abs(y), axis=1, keepdims=True))
    exp_w = _exponent(xp, xp.max(w, axis=1, keepdims=True))
    zero = xp.zeros_like(exp_w)
    shift_w = xp.where(exp_w + log_n > limit, limit - exp_w - log_n,
                       xp.where(exp_w < -limit // 2, xp.minimum(-exp_w, limit), zero))
    shift_y = xp.where(exp_y < -limit // 2, xp.minimum(-exp_y, limit), xp.zeros_like(exp_y))
    excess = exp_y + shift_y + exp_w + shift_w + log_n - limit
    take_y = xp.minimum(xp.minimum(excess, exp_y + shift_y + limit // 2), limit + shift_y)
    over = excess > 0
    shift_y = xp.where(over, shift_y - take_y, shift_y)
    shift_w = xp.where(over, xp.maximum(shift_w - (excess - take_y), -limit), shift_w)
    two = xp.asarray(2.0, dtype=y.dtype, device=device_of(y))
    return xp.pow(two, shift_y), xp.pow(two, shift_w)
