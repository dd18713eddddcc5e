"""Chains and predictor orders on the host: PAVA, and sort + PAVA for a predictor."""

import numpy as np

from .. import _threads
from .. import _validate as v
from .._numba.pava import pava_rows
from .._numba.ties import ties_rows
from .._options import TIES
from .._scratch import scratch
from .rows import Rows


def solve(options, y, weights, x):
    """:func:`isotree.isotonic_regression` on host arrays: ``fit`` or ``(fit, labels)``."""
    rows = Rows(y, weights, options.axis, sign=1.0 if options.increasing else -1.0)
    if x is not None:
        x_rows = v.check_predictor(x, rows.array.shape, rows.axis, rows.y.shape)
    fit = rows.new()
    labels = rows.labels(options.return_blocks)
    if not rows.empty and x is None:
        pava(rows, rows.y, rows.w, fit, labels, options.workers)
    elif not rows.empty:
        _predictor_order(rows, x_rows, TIES.index(options.ties), fit, labels,
                         rows.threads(options.workers))
    fit = rows.finish(fit)
    if options.bounded:
        fit = np.clip(fit, options.y_min, options.y_max)
    if options.return_blocks:
        return fit, rows.shape_back(labels)
    return fit


def pava(rows, y, w, fit, labels, workers):
    """PAVA on the rows ``y``/``w`` (laid out as ``rows``, with its factors) into ``fit``;
    ``labels`` (m, n) or (m, 0)."""
    threads = rows.threads(workers)
    n = y.shape[1]
    floats, ints = scratch((threads, 2, n), (threads, n))
    _threads.call(pava_rows, threads, y, w, rows.scale, fit, labels, floats, ints)


def _predictor_order(rows, x_rows, mode, fit, labels, threads):
    """Sort every row by (x, y), solve the sorted rows, and scatter the results back.

    ``x_rows`` keeps x's own dtype (int64, uint64 or float64), so integer predictors
    above 2**53 (nanosecond timestamps) keep their order and their ties.
    """
    y, w = rows.scaled()
    order = np.lexsort((y, x_rows), axis=-1)
    y_sorted = np.take_along_axis(y, order, axis=-1)
    x_sorted = np.take_along_axis(x_rows, order, axis=-1)
    w_sorted = np.take_along_axis(np.broadcast_to(w, y.shape), order, axis=-1)
    fit_sorted = np.empty_like(y_sorted)
    labels_sorted = np.empty_like(labels)
    _threads.call(ties_rows, threads, y_sorted, w_sorted, x_sorted, mode, fit_sorted,
                  labels_sorted)
    fit_sorted /= rows.scale[:, :1]
    np.put_along_axis(fit, order, fit_sorted, axis=-1)
    if labels.shape[1]:
        # A sorted position names a block; report the original index of that entry.
        np.put_along_axis(labels, order, np.take_along_axis(order, labels_sorted, axis=-1),
                          axis=-1)
