"""Rooted trees and forests on the host: IRT-BIN, with stars and paths sent to their
linear-time solvers."""

import numpy as np

from .. import _threads
from .._numba.irt import irt_rows
from .._options import Star
from ..tree import as_tree
from . import star
from .chain import pava
from .rows import UNIT, Rows, check_length


def solve(options, y, parent, weights):
    """:func:`isotree.tree_isotonic_regression` on host arrays."""
    tree = as_tree(parent)
    check_length(y, tree.n_nodes, options.axis)
    if tree.kind == "star":  # the simple tree order: linear time, no traversal
        as_star = Star(increasing=options.increasing, axis=options.axis,
                       return_blocks=options.return_blocks, workers=options.workers)
        return star.solve(as_star, y, int(tree.roots[0]), weights)
    if tree.kind == "path":
        return _path_as_chain(options, y, tree, weights)
    # The kernel's orientation is fit[parent] >= fit[child]: negate for increasing.
    rows = Rows(y, weights, options.axis, sign=-1.0 if options.increasing else 1.0)
    y_visit, w_visit = rows.scaled(columns=tree.order)
    fit_visit = rows.new()
    labels_visit = rows.new(np.int64)
    if not rows.empty:
        _threads.call(irt_rows, rows.threads(options.workers), tree.preorder_parent, y_visit,
                      w_visit, fit_visit, labels_visit)
    fit_visit /= rows.scale[:, :1]
    fit = np.empty_like(fit_visit)
    fit[:, tree.order] = fit_visit
    fit = rows.finish(fit)
    if options.return_blocks:
        labels = np.empty_like(labels_visit)
        labels[:, tree.order] = tree.order[labels_visit]
        return fit, rows.shape_back(labels)
    return fit


def _path_as_chain(options, y, tree, weights):
    """A tree that is one path is a chain in its traversal order (root first)."""
    rows = Rows(y, weights, options.axis, sign=1.0 if options.increasing else -1.0)
    order = tree.order
    y_chain = np.ascontiguousarray(rows.y[:, order])
    w_chain = rows.w if rows.w is UNIT else np.ascontiguousarray(rows.w[:, order])
    fit_chain = rows.new()
    labels_chain = rows.new(np.int64)
    if not rows.empty:
        pava(rows, y_chain, w_chain, fit_chain, labels_chain, options.workers)
    fit = np.empty_like(fit_chain)
    fit[:, order] = fit_chain
    fit = rows.finish(fit)
    if not options.return_blocks:
        return fit
    labels = np.empty_like(labels_chain)
    labels[:, order] = order[labels_chain]  # a chain block's first entry is its top node
    return fit, rows.shape_back(labels)
