"""The O(n) optimality certificate of a tree fit on the host (see
:mod:`isotree._numba.kkt`)."""

import numpy as np

from .._numba.kkt import kkt_rows
from ..tree import as_tree
from .rows import Rows, check_length


def tree(options, y, fit, parent, weights):
    """:func:`isotree.kkt_violation` with a tree, on host arrays: a float."""
    tree = as_tree(parent)
    check_length(y, tree.n_nodes)
    if np.shape(fit) != np.shape(y):
        raise ValueError(f"fit must have the shape of y {np.shape(y)}; got {np.shape(fit)}")
    rows = Rows(y, weights, -1, sign=-1.0 if options.increasing else 1.0)
    fit_rows = rows.lay_out_like(fit, "fit")[:, tree.order]
    y_visit, w_visit = rows.scaled(columns=tree.order)
    if rows.empty:
        return 0.0
    scale = float(np.abs(y_visit).max()) or 1.0
    total_w = float(w_visit.sum(axis=1).max())
    return float(kkt_rows(tree.preorder_parent, y_visit, w_visit,
                          np.ascontiguousarray(fit_rows), scale, scale * total_w))
