"""Weights of 0: missing observations.

An entry of weight 0 moves no other fit: the positive-weight entries are fitted as the
problem without it, the order through it kept (in a tree, every positive-weight node hangs
on its nearest positive-weight ancestor; a chain is the path tree; a star the tree of one
root; in a DAG, a positive-weight node is below every positive-weight node it was below
through zero-weight ones). Its own fit is the smallest value the order allows given the
others: the largest fit among the positive-weight entries it must lie above, or, if it lies
above none of them, the smallest fit of its problem. That value does not depend on its own
``y`` (a placeholder for data that is not there), keeps the whole fit feasible, and is the
fit of one positive-weight entry, whose block it joins (so derivatives treat it as a member
of weight 0).

Problems whose weights have the same zeros are solved together; weights of one row shared
by a batch give one such group.
"""

import numpy as np

from .._flow import arcs
from .._numba.graph import smallest_member
from .._numba.missing import (
    fill_missing,
    fill_missing_dag,
    nearest_positive_ancestor,
    positive_above,
)
from ..tree import Tree


def _patterns(rows):
    """``(row indices, positive mask)`` for the groups of rows with the same zeros."""
    m = rows.y.shape[0]
    if rows.w.shape[0] == 1:
        yield np.arange(m), rows.w[0] > 0
        return
    masks = rows.w > 0
    unique, group = np.unique(masks, axis=0, return_inverse=True)
    for g, mask in enumerate(unique):
        yield np.flatnonzero(group.reshape(-1) == g), mask


def _contracted(tree, positive):
    """The tree of the positive nodes, each hung on its nearest positive ancestor, and the
    original index of each of its nodes."""
    columns = np.flatnonzero(positive)
    ancestor = nearest_positive_ancestor(tree.parent, tree.order, positive)
    index = np.full(tree.n_nodes, -1, dtype=np.int64)
    index[columns] = np.arange(columns.size)
    parent = tree.parent[columns]
    has_parent = parent >= 0
    above = ancestor[parent[has_parent]]  # -1: no positive ancestor
    parent[has_parent] = np.where(above >= 0, index[above], -1)
    return Tree(parent), columns


def tree(rows, tree, workers, tree_rows):
    """Fit and labels of ``rows`` (with zero weights) on ``tree``; ``tree_rows`` is the
    engine's solver of rows without them."""
    fit = np.empty(rows.y.shape)
    labels = np.empty(rows.y.shape, dtype=np.int64)
    best, arg = np.empty(tree.n_nodes), np.empty(tree.n_nodes, dtype=np.int64)
    for selected, positive in _patterns(rows):
        sub_tree, columns = _contracted(tree, positive)
        sub_fit, sub_labels = tree_rows(rows.restricted(selected, columns), sub_tree, workers)
        group_fit = np.empty((selected.size, tree.n_nodes))
        group_labels = np.empty((selected.size, tree.n_nodes), dtype=np.int64)
        group_fit[:, columns] = sub_fit
        group_labels[:, columns] = columns[sub_labels]
        fill_missing(tree.parent, tree.order, positive, rows.sign > 0, group_fit,
                     group_labels, best, arg)
        fit[selected] = group_fit
        labels[selected] = group_labels
    return fit, labels


def star(rows, roots, workers, tree_rows):
    """The star with zero weights: the tree of each root, for the rows that have it."""
    n = rows.y.shape[1]
    fit = np.empty(rows.y.shape)
    labels = np.empty(rows.y.shape, dtype=np.int64)
    for root in np.unique(roots):
        selected = np.flatnonzero(roots == root)
        parent = np.full(n, root, dtype=np.int64)
        parent[root] = -1
        sub = rows.restricted(selected, np.arange(n))
        w = rows.w if rows.w.shape[0] == 1 else rows.w[selected]
        sub.zeros = int(np.count_nonzero(w == 0))
        fit[selected], labels[selected] = tree(sub, Tree(parent), workers, tree_rows)
    return fit, labels


def dag(rows, pairs, order, dag_rows):
    """Fit and labels of ``rows`` (with zero weights) on the DAG ``pairs`` (``order``:
    topological, lower ends first); ``dag_rows`` is the engine's solver of rows without
    them."""
    n = rows.y.shape[1]
    start, mid, nbr, _ = arcs(n, np.ascontiguousarray(pairs[:, 1]),
                              np.ascontiguousarray(pairs[:, 0]))
    fit = np.empty(rows.y.shape)
    labels = np.empty(rows.y.shape, dtype=np.int64)
    best, arg = np.empty(n), np.empty(n, dtype=np.int64)
    for selected, positive in _patterns(rows):
        columns = np.flatnonzero(positive)
        index = np.full(n, -1, dtype=np.int64)
        index[columns] = np.arange(columns.size)
        members, owner, count = positive_above(order, start, mid, nbr, positive)
        kept = positive[owner[:count]]
        sub_pairs = np.stack([index[members[:count][kept]], index[owner[:count][kept]]],
                             axis=1)
        sub_order = index[order[positive[order]]]
        sub_fit, sub_labels = dag_rows(rows.restricted(selected, columns), sub_pairs,
                                       sub_order)
        group_fit = np.empty((selected.size, n))
        group_labels = np.empty((selected.size, n), dtype=np.int64)
        group_fit[:, columns] = sub_fit
        group_labels[:, columns] = columns[sub_labels]
        fill_missing_dag(order, start, mid, nbr, positive, group_fit, group_labels, best,
                         arg)
        fit[selected] = group_fit
        labels[selected] = group_labels
    return fit, labels


def kept_in_place(rows, pairs, order, fit, labels):
    """Finish ``fit`` and ``labels`` of a solver that kept the zero-weight nodes of a DAG
    as free nodes (the staircase program on a grid with holes): every positive-weight node
    labelled by the smallest positive-weight node of its block, then every zero-weight
    node filled by the rule, in place."""
    n = rows.y.shape[1]
    start, mid, nbr, _ = arcs(n, np.ascontiguousarray(pairs[:, 1]),
                              np.ascontiguousarray(pairs[:, 0]))
    best, arg = np.empty(n), np.empty(n, dtype=np.int64)
    for selected, positive in _patterns(rows):
        index = np.where(positive, np.arange(n), n)
        group_fit = fit[selected]
        group_labels = smallest_member(np.ascontiguousarray(labels[selected]), index)
        fill_missing_dag(order, start, mid, nbr, positive, group_fit, group_labels, best,
                         arg)
        fit[selected] = group_fit
        labels[selected] = group_labels


def predictor(rows, x_rows, mode, predictor_rows):
    """Predictor orders with zero weights, one problem at a time: the positive-weight
    entries by ``predictor_rows``, then each zero-weight entry by the rule of the module,
    read in the order of ``x`` (ties: an entry tied with positive-weight entries shares
    their fit under secondary ties and keeps its offset from their shift under tertiary
    ties; otherwise the largest fit of the positive-weight entries strictly below it, where
    under tertiary ties a fit is a tie group's weighted mean: that order is on the means)."""
    m, n = rows.y.shape
    fit = np.empty((m, n))
    labels = np.empty((m, n), dtype=np.int64)
    rising = rows.sign > 0
    for r in range(m):
        positive = (rows.w[0] if rows.w.shape[0] == 1 else rows.w[r]) > 0
        columns = np.flatnonzero(positive)
        sub = rows.restricted(np.array([r]), columns)
        sub_fit = np.empty((1, columns.size))
        sub_labels = np.empty((1, columns.size), dtype=np.int64)
        predictor_rows(sub, np.ascontiguousarray(x_rows[r:r + 1, columns]), mode, sub_fit,
                       sub_labels, 1)
        fit[r, columns] = sub_fit[0]
        labels[r, columns] = columns[sub_labels[0]]
        w = rows.w[0] if rows.w.shape[0] == 1 else rows.w[r]
        _fill_predictor(rows.y[r], w, x_rows[r], positive, mode, rising, fit[r], labels[r])
    return fit, labels


def _fill_predictor(y, w, x, positive, mode, rising, fit, labels):
    """The zero-weight entries of one row of a predictor order (see :func:`predictor`)."""
    columns = np.flatnonzero(positive)
    missing = np.flatnonzero(~positive)
    order = columns[np.argsort(x[columns], kind="stable")]
    xs = x[order]
    # What the order compares: the fits, or under tertiary ties the groups' means.
    level = fit.copy()
    if mode == 2:
        _, group = np.unique(xs, return_inverse=True)
        means = (np.bincount(group, w[order] * fit[order])
                 / np.bincount(group, w[order]))
        level[order] = means[group]
    # The entries a missing one must lie above, in the order they are met, and at each
    # point the one of largest level so far.
    met = order if rising else order[::-1]
    values = level[met]
    newest = np.where(values == np.maximum.accumulate(values), np.arange(values.size), 0)
    leader = met[np.maximum.accumulate(newest)]
    if rising:  # below: the entries of smaller x
        count = np.searchsorted(xs, x[missing], side="left")
    else:  # below: the entries of larger x
        count = xs.size - np.searchsorted(xs, x[missing], side="right")
    lowest = columns[np.argmin(level[columns])]
    source = np.where(count > 0, leader[np.maximum(count - 1, 0)], lowest)
    new_fit = level[source]
    if mode:  # secondary or tertiary ties: an entry tied with positive-weight ones
        k = np.minimum(np.searchsorted(xs, x[missing]), xs.size - 1)
        tied = xs[k] == x[missing]
        partner = order[k]
        shared = fit[partner] if mode == 1 else y[missing] + (fit[partner] - y[partner])
        new_fit = np.where(tied, shared, new_fit)
        source = np.where(tied, partner, source)
    fit[missing] = new_fit
    labels[missing] = labels[source]
