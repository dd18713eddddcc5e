"""A batch of problems laid out as contiguous rows, validated and scaled in one pass.

Every solver works on independent problems laid out as the rows of a C-contiguous float64
``(m, n)`` array (a view of the caller's array where it already is one: no copy) and solves
one direction only (see :mod:`isotree._numba`). The other direction and an exact power-of-two
scaling (for values near the overflow threshold or in the subnormal range, chosen per row by
:func:`isotree._numba.scaling.row_shifts`) are one factor per row that the chain and star
kernels apply as they read, and that the others get as scaled copies; a row's factor depends
on that row alone.
"""

import math

import numpy as np

from .. import _threads
from .. import _validate as v
from .._numba.scaling import scan_rows

# "No weights": the kernels read a (1, 0) weight array as all ones.
UNIT = np.empty((1, 0))
# The factors of every row when no row needs scaling (kernels never write them).
_NO_SCALE = {1.0: np.array([[1.0, 1.0, 1.0]]), -1.0: np.array([[-1.0, 1.0, 1.0]])}


class Rows:
    """A validated batch laid out as rows along ``axis``.

    ``y`` is (m, n) float64, C-contiguous; ``w`` is (m, n), (1, n) shared, or :data:`UNIT`;
    ``scale`` holds every row's factors ``(sign * 2**a, 2**b)`` for y and w and a flag (1.0:
    products of its sums stay finite), or one shared row ``(sign, 1, 1)`` when no row needs
    more (the common case).
    """

    def __init__(self, y, weights, axis, *, sign):
        self.sign = sign
        array, self.out_dtype = v.as_float(y, "y")
        if array.ndim == 0:
            raise ValueError("y must have at least one dimension; got a scalar")
        self.axis = v.check_axis(axis, array.ndim)
        self.array = array
        moved = array if self.axis == array.ndim - 1 else np.moveaxis(array, self.axis, -1)
        self.shape = moved.shape
        n = self.shape[-1]
        m = math.prod(self.shape[:-1])
        self.y = np.ascontiguousarray(moved.reshape(m, n))
        if weights is None:
            self.w = UNIT
        else:
            w64 = v.check_weights_shape(weights, array.shape, self.axis)
            if w64.ndim == 1:
                self.w = np.ascontiguousarray(w64.reshape(1, n))
            else:
                moved_w = w64 if self.axis == w64.ndim - 1 else np.moveaxis(w64, self.axis, -1)
                self.w = np.ascontiguousarray(moved_w.reshape(m, n))
        scale = np.empty((m, 3))
        bad_y, bad_w, scaled, zeros = scan_rows(self.y.view(np.uint64),
                                                self.w.view(np.uint64), sign, scale)
        if bad_y:
            v.check_finite(array, "y")  # raises, naming the index in the caller's shape
        if bad_w:
            v.check_weights(weights, array.shape, self.axis)  # likewise
        if zeros:
            v.check_some_weight(self.w, self.shape[:-1])
        #: How many weights are 0 (missing observations: see :mod:`.missing`).
        self.zeros = zeros
        self.scale = scale if scaled else _NO_SCALE[sign]

    @property
    def empty(self):
        return self.y.size == 0

    def oriented(self, sign):
        """These rows with factors of direction ``sign`` (the kernels' own orientations
        differ: the chain's values rise, IRT-BIN's and the star's roots are maxima)."""
        if sign == self.sign:
            return self
        out = object.__new__(Rows)
        out.__dict__.update(self.__dict__)
        out.sign, out.scale = sign, self.scale * np.array([[-1.0, 1.0, 1.0]])
        return out

    def restricted(self, rows, columns):
        """The problems ``rows`` (an index array) on the entries ``columns`` alone: the
        same factors, no validation again (for problems solved without some entries)."""
        out = object.__new__(Rows)
        out.__dict__.update(self.__dict__)
        out.y = np.ascontiguousarray(self.y[np.ix_(rows, columns)])
        if self.w is not UNIT:
            w = self.w if self.w.shape[0] == 1 else self.w[rows]
            out.w = np.ascontiguousarray(w[:, columns])
        out.scale = self.scale if self.scale.shape[0] == 1 else self.scale[rows]
        out.zeros = 0
        return out

    def with_values(self, y):
        """These rows with other values ``y`` of the same shape, whose magnitudes the same
        factors cover (no validation again)."""
        out = object.__new__(Rows)
        out.__dict__.update(self.__dict__)
        out.y = y
        return out

    def scaled(self, columns=None):
        """Copies ``(y, w)`` with the factors applied (and ``columns`` gathered), for the
        kernels that take plain rows; unit weights become a row of ones."""
        y = self.y if columns is None else self.y[:, columns]
        y = y * self.scale[:, :1]
        if self.w is UNIT:
            w = np.ones((1, self.y.shape[1]))
        else:
            w = self.w if columns is None else self.w[:, columns]
            w = np.ascontiguousarray(w * self.scale[:, 1:2])
        return np.ascontiguousarray(y), w

    def lay_out_like(self, values, name):
        """Validate ``values`` of y's shape and lay them out as y's rows, scaled alike."""
        values64, _ = v.as_float(values, name)
        v.check_finite(values64, name)
        moved = values64 if self.axis == values64.ndim - 1 else np.moveaxis(
            values64, self.axis, -1)
        return moved.reshape(self.y.shape) * self.scale[:, :1]

    def new(self, dtype=np.float64):
        return np.empty(self.y.shape, dtype=dtype)

    def labels(self, wanted):
        """An (m, n) label array, or the (m, 0) one that tells a kernel to skip labels."""
        return np.empty(self.y.shape if wanted else (self.y.shape[0], 0), np.int64)

    def threads(self, workers):
        return _threads.threads_for(workers, self.y.size, self.y.shape[0])

    def finish(self, rows):
        """Restore the caller's shape, axis and dtype."""
        return self.shape_back(rows).astype(self.out_dtype, copy=False)

    def result(self, fit, labels, options, clip=True):
        """What a solver returns: the fit in the caller's shape and dtype, clipped to the
        options' bounds (``clip``: exact for constant bounds), with the labels if asked."""
        fit = self.finish(fit)
        if clip and options.bounded:
            fit = np.clip(fit, options.y_min, options.y_max)
        return (fit, self.shape_back(labels)) if options.return_blocks else fit

    def shape_back(self, rows):
        out = rows.reshape(self.shape)
        return out if self.axis == out.ndim - 1 else np.moveaxis(out, -1, self.axis)


def check_length(y, n_nodes, axis=-1, name="y"):
    """``y`` has one entry per node along ``axis`` (an axis out of range is left to
    :class:`Rows`)."""
    shape = np.shape(y)
    if len(shape) == 0:
        raise ValueError(f"{name} must have at least one dimension; got a scalar")
    if -len(shape) <= axis < len(shape) and shape[axis] != n_nodes:
        where = "its last axis" if axis in (-1, len(shape) - 1) else f"axis {axis}"
        raise ValueError(f"{name} must have one entry per node along {where} "
                         f"({n_nodes}); got {shape[axis]}")
