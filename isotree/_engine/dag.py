"""Any partial order on the host: DAGs and grids.

Orders that are chains or forests (every node with at most one node directly above it, or
at most one directly below) go to PAVA and IRT-BIN; 2-D grids to the staircase program;
every other order to recursive partitioning on the max-flow (:mod:`.partition`). Entries
of weight 0 follow the rule of :mod:`.missing`, the order kept through them: a DAG is solved
on its positive-weight nodes, a 2-D grid keeps its holes as free cells.
"""

import math

import numpy as np

from .. import _options as opt
from .. import _validate as v
from .._numba.graph import single_neighbours, smallest_member
from ..tree import Tree
from . import missing, partition
from .chain import chain_rows
from .edges import check_edges, grid_edges
from .rows import UNIT, Rows
from .tree import tree_rows


def solve(options, y, edges, weights):
    """:func:`isotree.dag_isotonic_regression` on host arrays."""
    rows = Rows(y, weights, -1, sign=1.0)
    pairs, order = check_edges(edges, rows.y.shape[1])
    fit, labels = dag_rows(rows, pairs, order)
    return rows.result(fit, labels, options)


def dag_rows(rows, pairs, order):
    """The fit of every row of ``rows`` (sign +1) on the DAG ``pairs`` (validated; ``order``
    topological, lower ends first), in the caller's units, and block labels (the smallest
    node of each block; of its positive-weight nodes when some weights are 0)."""
    if rows.zeros:
        return missing.dag(rows, pairs, order, dag_rows)
    forest = as_forest(pairs, rows.y.shape[1])
    if forest is not None:
        return forest_rows(rows, *forest)
    y, w = rows.scaled()  # fresh arrays: the caller's are never touched
    fit, labels = partition.dag_rows(y, w, pairs, order)
    fit /= rows.scale[:, :1]
    return fit, labels


def as_forest(pairs, n):
    """``(parent, increasing)`` when the order of the edges ``pairs`` is a forest (every
    node has at most one node directly above it, or at most one directly below), as
    :func:`~isotree.tree_isotonic_regression` takes it; else None."""
    upper, lower = np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
    above, one_above, below, one_below = single_neighbours(n, upper, lower)
    if one_above:  # fit[parent] >= fit[child]: roots are maxima
        return above, False
    if one_below:  # fit[parent] <= fit[child]
        return below, True
    return None


def forest_rows(rows, parent, increasing):
    """A DAG whose order is a forest, by the tree solver (PAVA for a single chain); block
    labels as the DAG solver gives them (the smallest node of each block).

    Each row is measured from the middle of its range and moved back after, so a large
    offset of the values costs no digits of their differences (the tree solver sums
    ``w * y`` as they come); a node alone in its block keeps its value exactly.
    """
    n = parent.shape[0]
    if rows.empty:
        return rows.new(), rows.new(np.int64)
    y = rows.y
    centre = 0.5 * y.max(axis=1, keepdims=True) + 0.5 * y.min(axis=1, keepdims=True)
    centred = rows.with_values(y - centre).oriented(1.0 if increasing else -1.0)
    fit, top = tree_rows(centred, Tree(parent), None)
    fit += centre
    offsets = (np.arange(top.shape[0]) * n)[:, None]
    alone = (np.bincount((top + offsets).ravel(), minlength=top.size) == 1).reshape(
        top.shape)[np.arange(top.shape[0])[:, None], top]
    fit[alone] = y[alone]
    return fit, smallest_member(np.ascontiguousarray(top), np.arange(n, dtype=np.int64))


def grid(options, y, weights):
    """:func:`isotree.grid_isotonic_regression` on host arrays."""
    shape = np.shape(y)
    ndim = len(shape)
    if ndim == 0:
        raise ValueError("y must have at least one dimension; got a scalar")
    if options.axes is None:
        axes = tuple(range(ndim))
    else:
        axes = tuple(v.check_axis(a, ndim, "axes") for a in options.axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axes must not repeat an axis; got {options.axes}")
    directions = opt.directions(options.increasing, len(axes))
    cells = tuple(shape[a] for a in axes)
    # The grid's axes last, flattened in C order: one problem per row.
    last = tuple(range(ndim - len(axes), ndim))
    moved_shape = tuple(np.delete(shape, axes)) + cells
    flat_shape = moved_shape[:ndim - len(axes)] + (math.prod(cells),)
    flat_w = weights
    if weights is not None:
        w = np.asarray(weights)
        if w.shape == shape:
            flat_w = np.moveaxis(w, axes, last).reshape(flat_shape)
        elif w.shape == cells:
            flat_w = w.reshape(-1)
        else:
            raise ValueError(f"weights must have the shape of y {shape} or of its grid "
                             f"{cells}; got {w.shape}")
    try:
        flat = np.moveaxis(np.asarray(y), axes, last).reshape(flat_shape)
        rows = Rows(flat, flat_w, -1, sign=1.0)
    except ValueError:
        _name_bad_entry(y, weights)
        raise
    if len(cells) == 1:
        fit, labels = chain_rows(rows.oriented(1.0 if directions[0] else -1.0), None)
    elif len(cells) == 2 and not _extreme_weights(rows.w):
        fit, labels = staircase_rows(rows, cells, directions)
    else:
        pairs, order = check_edges(grid_edges(cells, directions), flat_shape[-1])
        fit, labels = dag_rows(rows, pairs, order)
    result = rows.result(fit, labels, options)
    if not options.return_blocks:
        return np.moveaxis(result.reshape(moved_shape), last, axes)
    return tuple(np.moveaxis(r.reshape(moved_shape), last, axes) for r in result)


def staircase_rows(rows, cells, directions):
    """2-D grids by the staircase program, in the caller's units, with block labels.

    Cells of weight 0 stay in the grid as free nodes (:mod:`isotree._numba.partition`),
    each given the smallest value of its problem (they then break no edge among
    themselves), and are filled by the rule of :mod:`.missing` after.
    """
    y, w = rows.scaled()  # fresh arrays: the caller's are never touched
    if rows.zeros:
        holes = np.broadcast_to(w == 0.0, y.shape)
        observed = np.where(holes, np.inf, y).min(axis=1, keepdims=True)
        y = np.where(holes, observed, y)
    fit, labels = partition.grid_rows(y, w, cells, directions)
    fit /= rows.scale[:, :1]
    if rows.zeros:
        pairs, order = check_edges(grid_edges(cells, directions), y.shape[1])
        missing.kept_in_place(rows, pairs, order, fit, labels)
    return fit, labels


def _name_bad_entry(y, weights):
    """Raise the error of a bad value or weight with its index in the caller's shape (the
    rows' own error names it in the flattened grid)."""
    v.check_finite(v.as_float(y, "y")[0], "y")
    if weights is not None:
        w = np.asarray(weights)
        v.check_weights(w, w.shape, w.ndim - 1)


def _extreme_weights(w):
    """Weights (rows, validated) that span more than ``2**53``: the staircase program's
    sums can lose a light cell's gain entirely, so such grids take the max-flow, whose cuts
    follow arcs, not sums (:mod:`isotree._numba.partition` corrects both)."""
    if w is UNIT or w.size == 0:
        return False
    positive = w[w > 0.0]
    return positive.size > 0 and float(positive.min()) < 2.0**-53 * float(positive.max())
