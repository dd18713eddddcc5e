"""Optimality certificates on the host: O(n) for a tree fit (:mod:`isotree._numba.kkt`),
two maximum flows per row for a DAG fit."""

import numpy as np

from .. import _validate as v
from .._flow import flow_value
from .._numba.kkt import kkt_rows
from ..tree import as_tree
from .edges import check_edges
from .rows import UNIT, Rows, check_length

_EPS = np.finfo(np.float64).eps


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


def dag(options, y, fit, edges, weights):
    """:func:`isotree.dag.dag_kkt_violation` on host arrays: a float."""
    rows = Rows(y, weights, -1, sign=1.0)
    if np.shape(fit) != np.shape(y):
        raise ValueError(f"fit must have the shape of y {np.shape(y)}; got {np.shape(fit)}")
    fit64, _ = v.as_float(fit, "fit")
    v.check_finite(fit64, "fit")
    n = rows.y.shape[1]
    pairs, order = check_edges(edges, n)
    if not options.increasing:
        pairs, order = pairs[:, ::-1], order[::-1]
    if rows.empty:
        return 0.0
    w = np.ones((1, n)) if rows.w is UNIT else rows.w
    return dag_rows(rows.y, fit64.reshape(rows.y.shape), w, pairs, order)


def _exponent(x):
    """e with 2**(e - 1) <= x < 2**e for x > 0 (frexp's exponent)."""
    return int(np.frexp(x)[1])


def dag_rows(y, fit, w, pairs, order):
    """:func:`~isotree.dag.dag_kkt_violation` of the rows of ``y`` and ``fit`` (R, n) with
    weights ``w`` ((R or 1), n) on validated ``pairs`` (``order``: topological, lower ends
    first). Values and weights are scaled by powers of two first, values to below 1 and
    weights to at most 1, so no residual or sum overflows or loses digits to underflow."""
    largest_y = float(np.abs(y).max())
    largest = max(largest_y, float(np.abs(fit).max()))
    if largest == 0.0:
        return 0.0  # y and fit all zero: optimal
    shift_v = -_exponent(largest)
    shift_w = -_exponent(float(w.max()))
    y = np.ldexp(y, shift_v)
    fit = np.ldexp(fit, shift_v)
    w = np.ldexp(w, shift_w)
    value_scale = np.ldexp(largest_y, shift_v) if largest_y > 0.0 else 0.5
    mass_scale = value_scale * float(w.sum(axis=1).max())
    worst = 0.0
    for r in range(y.shape[0]):
        row_w = w[0] if w.shape[0] == 1 else w[r]
        worst = max(worst, _dag_row(y[r], fit[r], row_w, pairs, order, value_scale,
                                    mass_scale))
    return worst


def _dag_row(y, fit, w, edges, order, value_scale, mass_scale):
    """The certificate of one row (see :func:`~isotree.dag.dag_kkt_violation`)."""
    n = y.shape[0]
    upper, lower = edges[:, 0], edges[:, 1]
    gap = (fit[upper] - fit[lower]) / value_scale
    infeasible = max(0.0, -float(gap.min())) if gap.size else 0.0
    residual = w * (y - fit)
    supply, demand = np.maximum(-residual, 0.0), np.maximum(residual, 0.0)
    total = max(float(supply.sum()), float(demand.sum()))
    readings = []
    # Multipliers carry mass down the edges, upper to lower: upper ends first.
    downward = np.ascontiguousarray(order[::-1])
    for support in (gap <= 0.0, gap <= np.sqrt(_EPS)):
        carried = flow_value(n, upper[support], lower[support], supply, demand, downward)
        slack = float(np.max(gap[support], initial=0.0))
        readings.append(max((total - carried) / mass_scale, slack))
    return max(infeasible, min(readings))
