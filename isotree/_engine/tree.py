"""Rooted trees and forests on the host: IRT-BIN, with stars and paths sent to their
linear-time solvers."""

import numpy as np

from .. import _threads
from .._numba.irt import irt_rows
from .._numba.star import star_rows
from .._scratch import scratch
from ..tree import as_tree
from . import missing
from .kernels import pava
from .rows import UNIT, Rows, check_length


def solve(options, y, parent, weights):
    """:func:`isotree.tree_isotonic_regression` on host arrays."""
    tree = as_tree(parent)
    check_length(y, tree.n_nodes, options.axis)
    rows = Rows(y, weights, options.axis, sign=1.0 if options.increasing else -1.0)
    if rows.zeros:
        fit, labels = missing.tree(rows, tree, options.workers, tree_rows)
    else:
        fit, labels = tree_rows(rows, tree, options.workers, options.return_blocks)
    return rows.result(fit, labels, options)


def tree_rows(rows, tree, workers, with_labels=True):
    """The fit of every row of ``rows`` (direction by its sign: +1, values grow away from
    the roots) on ``tree``, in the caller's units and node order, and block labels (the
    top node of each block) or None."""
    if tree.kind == "star":  # the simple tree order: linear time, no traversal
        roots = np.full(rows.y.shape[0], tree.roots[0], dtype=np.int64)
        return star_solve(rows, roots, workers, with_labels)
    if tree.kind == "path":
        return _path_as_chain(rows, tree, workers, with_labels)
    # The kernel's orientation is fit[parent] >= fit[child]: the opposite sign.
    oriented = rows.oriented(-rows.sign)
    y_visit, w_visit = oriented.scaled(columns=tree.order)
    fit_visit = rows.new()
    labels_visit = rows.new(np.int64)
    if not rows.empty:
        _threads.call(irt_rows, rows.threads(workers), tree.preorder_parent, y_visit,
                      w_visit, fit_visit, labels_visit)
    fit_visit /= oriented.scale[:, :1]
    fit = np.empty_like(fit_visit)
    fit[:, tree.order] = fit_visit
    if not with_labels:
        return fit, None
    labels = np.empty_like(labels_visit)
    labels[:, tree.order] = tree.order[labels_visit]
    return fit, labels


def star_solve(rows, roots, workers, with_labels):
    """The star of every row of ``rows`` with its root (``roots``, one per row; sign +1:
    the root is the minimum), in the caller's units: ``(fit, labels or None)``."""
    oriented = rows.oriented(-rows.sign)  # the kernel's root is the maximum
    n = rows.y.shape[1]
    fit = rows.new()
    labels = rows.labels(with_labels)
    if not rows.empty:
        threads = rows.threads(workers)
        floats, ints = scratch((threads, 2, n), (threads, n))
        _threads.call(star_rows, threads, oriented.y, oriented.w, roots, oriented.scale, fit,
                      labels, floats, ints)
    return fit, (labels if with_labels else None)


def _path_as_chain(rows, tree, workers, with_labels):
    """A tree that is one path is a chain in its traversal order (root first)."""
    order = tree.order
    y_chain = np.ascontiguousarray(rows.y[:, order])
    w_chain = rows.w if rows.w is UNIT else np.ascontiguousarray(rows.w[:, order])
    fit_chain = rows.new()
    labels_chain = rows.new(np.int64)
    if not rows.empty:
        pava(rows, y_chain, w_chain, fit_chain, labels_chain, workers)
    fit = np.empty_like(fit_chain)
    fit[:, order] = fit_chain
    if not with_labels:
        return fit, None
    labels = np.empty_like(labels_chain)
    labels[:, order] = order[labels_chain]  # a chain block's first entry is its top node
    return fit, labels
