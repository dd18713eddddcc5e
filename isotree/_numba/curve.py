"""The fitted curve of x: isotonic regression on a predictor, compressed to its thresholds.

What :class:`isotree.IsotonicRegression` fits, in one pass over the entries sorted by x:

1. pool the entries of each distinct x into one point (their weighted mean and weight sum:
   de Leeuw's secondary ties; a point of one entry keeps its value exactly);
2. PAVA on the points (:func:`isotree._numba.pava.pava_row`, with the exact power-of-two
   scaling of :mod:`isotree._numba.scaling`);
3. clip to the bounds (for constant bounds the clipped fit is the bounded fit);
4. keep only the points where the curve can bend: the first and the last point of every
   run of equal values. Linear or step interpolation through them is the same function as
   through every point (scikit-learn keeps the same points).

:func:`interpolate` then evaluates the curve at new x.
"""

import numpy as np

from ._jit import jit
from .pava import pava_row


@jit
def curve_thresholds(x, y, w, order, sy, sw, products, y_min, y_max):
    """The thresholds of the fitted curve: ``(first, values)``.

    ``order`` sorts ``x`` (any order of the ties); ``w`` is empty for unit weights. The
    points are solved as ``y * sy`` with weights ``w * sw`` (``sy`` carries the sign that
    picks the direction; see :func:`isotree._numba.scaling.row_shifts`), and the values
    come back unscaled and clipped to ``[y_min, y_max]``. ``first[k]`` is an index into
    ``x`` of the k-th threshold's x; ``values[k]`` is the curve there.
    """
    n = order.shape[0]
    unit = w.shape[0] == 0
    point_y = np.empty(n)
    point_w = np.empty(n)
    point_first = np.empty(n, dtype=np.int64)
    g = -1
    count = 0
    for k in range(n):
        i = order[k]
        if k == 0 or x[i] != x[point_first[g]]:
            if count == 1:  # one entry: its value exactly (w * y / w need not round back)
                point_y[g] = y[point_first[g]] * sy
            elif count > 1:
                point_y[g] /= point_w[g]
            g += 1
            point_first[g] = i
            point_y[g] = 0.0
            point_w[g] = 0.0
            count = 0
        wi = 1.0 if unit else w[i] * sw
        point_y[g] += wi * (y[i] * sy)
        point_w[g] += wi
        count += 1
    if count == 1:
        point_y[g] = y[point_first[g]] * sy
    elif count > 1:
        point_y[g] /= point_w[g]
    n_points = g + 1
    # PAVA on the points, in place of their values (scratch: n each; no labels).
    fit = np.empty(n_points)
    block_sum = np.empty(n_points)
    block_w = np.empty(n_points)
    block_start = np.empty(n_points, dtype=np.int64)
    pava_row(point_y[:n_points], point_w[:n_points], 1.0, 1.0, products, fit,
             np.empty(0, dtype=np.int64), block_sum, block_w, block_start)
    inverse = 1.0 / sy  # exact: a power of two
    for p in range(n_points):
        fit[p] = min(max(fit[p] * inverse, y_min), y_max)
    # Compress: a point inside a run of three or more equal values changes nothing.
    kept = 0
    for p in range(n_points):
        if (p == 0 or p == n_points - 1 or fit[p] != fit[p - 1]
                or fit[p] != fit[p + 1]):
            point_first[kept] = point_first[p]
            point_y[kept] = fit[p]
            kept += 1
    return point_first[:kept], point_y[:kept]


@jit
def interpolate(t, x, y, step, out):
    """The curve through the points ``(x[k], y[k])`` (``x`` increasing) at every ``t``.

    Linear between two points, or with ``step`` the value of the next point at or above
    ``t`` (R's left-continuous step function); NaN outside ``[x[0], x[-1]]``. At a point
    the value is that point's exactly, and between two points it lies between their values
    (monotone in ``t``) without overflow, even for values near the float64 limits.
    """
    k = x.shape[0]
    first = x[0]
    last = x[k - 1]
    for i in range(t.shape[0]):
        ti = t[i]
        if not (ti >= first and ti <= last):
            out[i] = np.nan
            continue
        # The smallest j with x[j] >= ti: a branch-free binary search.
        j = 0
        size = k
        while size > 1:
            half = size >> 1
            j = j + half if x[j + half - 1] < ti else j
            size -= half
        if step or j == 0 or x[j] == ti:
            out[i] = y[j]
            continue
        x0 = float(x[j - 1])
        x1 = float(x[j])
        y0 = float(y[j - 1])
        y1 = float(y[j])
        span = x1 - x0
        if span == np.inf:  # x of both signs near the limits: halve before subtracting
            frac = (0.5 * ti - 0.5 * x0) / (0.5 * x1 - 0.5 * x0)
        else:
            frac = (ti - x0) / span
        value = y0 + frac * (y1 - y0)
        if not np.isfinite(value):  # y1 - y0 overflowed
            value = (1.0 - frac) * y0 + frac * y1
        out[i] = min(max(value, min(y0, y1)), max(y0, y1))
