"""Chains and predictor orders on the host: PAVA, and sort + PAVA for a predictor."""

import functools

import numpy as np

from .. import _threads
from .. import _validate as v
from .._numba.ties import ties_rows
from .._options import TIES
from ..tree import Tree
from . import missing
from .kernels import pava
from .rows import Rows
from .tree import tree_rows


def solve(options, y, weights, x):
    """:func:`isotree.isotonic_regression` on host arrays: ``fit`` or ``(fit, labels)``."""
    rows = Rows(y, weights, options.axis, sign=1.0 if options.increasing else -1.0)
    if x is not None:
        x_rows = v.check_predictor(x, rows.array.shape, rows.axis, rows.y.shape)
    if x is None:
        fit, labels = chain_rows(rows, options.workers, options.return_blocks)
    elif rows.zeros:
        fit, labels = missing.predictor(rows, x_rows, TIES.index(options.ties),
                                        functools.partial(predictor_rows, y_min=options.y_min,
                                                          y_max=options.y_max))
    else:
        fit, labels = rows.new(), rows.labels(options.return_blocks)
        if not rows.empty:
            predictor_rows(rows, x_rows, TIES.index(options.ties), fit, labels,
                           rows.threads(options.workers), options.y_min, options.y_max)
    # Tertiary ties bound the group means, in the kernel; every other fit is clipped.
    return rows.result(fit, labels, options, clip=x is None or options.ties != "tertiary")


def chain_rows(rows, workers, with_labels=True):
    """The fit of every row of ``rows`` as a chain (rising with its sign), in the caller's
    units, and block labels (each block's first entry; an (m, 0) array unless
    ``with_labels``, except with zero weights, where they are always computed)."""
    if rows.zeros:  # missing observations: the chain is a path
        path = Tree(np.arange(rows.y.shape[1]) - 1)
        return missing.tree(rows, path, workers, tree_rows)
    fit, labels = rows.new(), rows.labels(with_labels)
    if not rows.empty:
        pava(rows, rows.y, rows.w, fit, labels, workers)
    return fit, labels


def predictor_rows(rows, x_rows, mode, fit, labels, threads, y_min=None, y_max=None):
    """Sort every row by (x, y), solve the sorted rows, and scatter the results back.

    ``x_rows`` keeps x's own dtype (int64, uint64 or float64), so integer predictors
    above 2**53 (nanosecond timestamps) keep their order and their ties. The bounds apply
    to the tie groups' means under tertiary ties (the caller clips the other fits).
    """
    y, w = rows.scaled()
    # The bounds in each row's scaled and oriented units (a negative factor swaps them).
    factor = rows.scale[:, :1]
    bounds = np.sort(np.hstack([(-np.inf if y_min is None else y_min) * factor,
                                (np.inf if y_max is None else y_max) * factor]), axis=1)
    bounds = np.ascontiguousarray(np.broadcast_to(bounds, (y.shape[0], 2)))
    order = np.lexsort((y, x_rows), axis=-1)
    y_sorted = np.take_along_axis(y, order, axis=-1)
    x_sorted = np.take_along_axis(x_rows, order, axis=-1)
    w_sorted = np.take_along_axis(np.broadcast_to(w, y.shape), order, axis=-1)
    fit_sorted = np.empty_like(y_sorted)
    labels_sorted = np.empty_like(labels)
    _threads.call(ties_rows, threads, y_sorted, w_sorted, x_sorted, mode, bounds, fit_sorted,
                  labels_sorted)
    fit_sorted /= rows.scale[:, :1]
    np.put_along_axis(fit, order, fit_sorted, axis=-1)
    if labels.shape[1]:
        # A sorted position names a block; report the original index of that entry.
        np.put_along_axis(labels, order, np.take_along_axis(order, labels_sorted, axis=-1),
                          axis=-1)
