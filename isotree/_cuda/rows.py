"""Arrays on a CUDA device validated and laid out as (m, n) rows where they live.

The device-side counterpart of :mod:`isotree._engine.rows`: every check is one reduction and
one host synchronisation (:func:`isotree._validate.device_require`), with the same messages;
values keep their float dtype (the kernels read float32 and float64 as they are, sum in
float64 and scale every row by its own power of two themselves).
"""

import math

from .. import _validate as v


class NeedsHost(Exception):
    """A problem the CUDA kernels do not solve (weights of 0): the dispatcher takes the
    host instead."""


def kernel_dtype(xp, dtype):
    """float32 and float64 go to the kernels as they are; other floats (float16, bfloat16)
    as float32."""
    return dtype if dtype in (xp.float32, xp.float64) else xp.float32


def rows(xp, array, axis):
    """``array`` with ``axis`` moved last and the rest flattened: (m, n), and the moved shape."""
    moved = xp.moveaxis(array, axis, -1) if array.ndim > 1 else array
    shape = tuple(moved.shape)
    return xp.reshape(moved, (math.prod(shape[:-1]), shape[-1])), shape


def unrows(xp, array, shape, axis):
    """Inverse of :func:`rows`."""
    out = xp.reshape(array, shape)
    return xp.moveaxis(out, -1, axis) if len(shape) > 1 else out


def take_rows(xp, array, index):
    """``array[r, index[r, j]]`` for every row r (a gather through the flattened array)."""
    m, n = array.shape
    offset = xp.reshape(xp.arange(m, device=array.device) * n, (m, 1))
    flat_index = xp.reshape(xp.astype(index, offset.dtype) + offset, (-1,))
    return xp.reshape(xp.take(xp.reshape(array, (-1,)), flat_index), tuple(index.shape))


def sort_rows(xp, key, tie):
    """Each row's indices sorted by (key, tie, index): two stable sorts."""
    by_tie = xp.argsort(tie, axis=1, stable=True)
    by_key = xp.argsort(take_rows(xp, key, by_tie), axis=1, stable=True)
    return take_rows(xp, by_tie, by_key)


class Problem:
    """Validated values of one library laid out as (m, n) rows along ``axis``, in their own
    float dtype (``dtype``: the caller's; ``y``: the kernels')."""

    def __init__(self, bridge, y, weights, axis, name="y"):
        xp = self.xp = bridge.xp
        self.device = bridge.device(y) if bridge.is_array(y) else None
        y = v.device_float(xp, y, name, self.device, bridge.accumulator)
        if y.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension; got a scalar")
        v.device_finite(xp, y, name)
        self.dtype = y.dtype
        self.axis = v.check_axis(axis, y.ndim)
        self.y, self.shape = rows(xp, xp.astype(y, kernel_dtype(xp, y.dtype)), self.axis)
        self.w = self._weights(bridge, weights, tuple(y.shape))

    def _weights(self, bridge, weights, shape):
        xp, n = self.xp, shape[self.axis]
        if weights is None:
            return xp.ones((1, n), dtype=xp.float64, device=self.device)
        w = v.device_float(xp, weights, "weights", self.device, bridge.accumulator)
        if tuple(w.shape) != shape and tuple(w.shape) != (n,):
            raise ValueError(f"weights must have shape ({n},) or the shape of y {shape}; "
                             f"got {tuple(w.shape)}")
        v.device_finite(xp, w, "weights")
        v.device_require(xp, w >= 0, w, "weights", ">= 0")
        if bool(xp.any(w == 0)):
            raise NeedsHost("weights of 0 (missing observations) are solved on the host")
        return xp.reshape(w, (1, n)) if w.ndim == 1 else rows(xp, w, self.axis)[0]

    def lay_out(self, values, name):
        """Another array of y's shape or length (a predictor), validated and laid out the
        same way, in its own dtype."""
        xp = self.xp
        values = xp.asarray(values, device=self.device)
        if xp.isdtype(values.dtype, "real floating"):
            v.device_finite(xp, values, name)
        elif not xp.isdtype(values.dtype, ("integral", "bool")):
            raise TypeError(f"{name} must be real numeric; got dtype {values.dtype}")
        n = self.shape[-1]
        if values.ndim == 1 and values.shape[0] == n:
            return xp.broadcast_to(xp.reshape(values, (1, n)), self.y.shape)
        full = tuple(unrows(xp, self.y, self.shape, self.axis).shape)
        if tuple(values.shape) != full:
            raise ValueError(f"{name} must have shape ({n},) or the shape of y {full}; got "
                             f"{tuple(values.shape)}")
        return rows(xp, values, self.axis)[0]

    def finish(self, fit):
        out = unrows(self.xp, fit, self.shape, self.axis)
        return out if out.dtype == self.dtype else self.xp.astype(out, self.dtype)

    def finish_labels(self, labels):
        return unrows(self.xp, labels, self.shape, self.axis)
