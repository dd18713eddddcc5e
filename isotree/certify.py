"""Optimality certificates: how far a candidate fit is from the isotonic regression.

They need no second solver: the Karush-Kuhn-Tucker conditions of the problem, checked in
O(n) for a tree and with two maximum flows per row for any DAG.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from . import _dispatch
from . import _options as opt
from .tree import Tree


def kkt_violation(y: ArrayLike, fit: ArrayLike, parent: ArrayLike | Tree | None = None, *,
                  edges: ArrayLike | None = None, weights: ArrayLike | None = None,
                  increasing: bool = True) -> float:
    r"""How far `fit` is from the isotonic regression of `y` on a tree: 0 means optimal.

    An O(n) certificate that needs no second solver. For the orientation
    ``f[parent] >= f[child]`` (flip signs for the other), `fit` is optimal exactly when it
    is feasible and every subtree's residual mass
    :math:`R_i = \sum_{u \in \mathrm{subtree}(i)} w_u (y_u - f_u)` (the Lagrange multiplier
    of the edge above `i`) is >= 0, is 0 at every root, and is 0 wherever the edge above
    `i` is slack. On an edge with both a gap and a multiplier the smaller of the two
    (relative) counts, so a fit whose equal values differ by round-off is not penalised.

    Parameters
    ----------
    y : array-like of shape (..., n)
        The data.
    fit : array-like of the shape of `y`
        A candidate fit.
    parent : array-like of int of shape (n,) or Tree, default=None
        The tree (see :func:`tree_isotonic_regression`).
    edges : array-like of int of shape (m, 2), default=None
        Instead of `parent`, any partial order given as edges: an edge ``(u, v)`` means
        ``fit[u] >= fit[v]`` (as :func:`isotree.dag_isotonic_regression` takes them);
        checked by :func:`isotree.dag.dag_kkt_violation` (two max-flows per row).
    weights : array-like of shape (n,) or the shape of `y`, default=None
        The weights of the problem.
    increasing : bool, default=True
        The orientation, as in :func:`tree_isotonic_regression`.

    Returns
    -------
    float
        The largest violation over all rows, relative to the data: order gaps divided by
        ``max|y|``, multipliers by ``max|y| * sum(w)``. Round-off gives about
        ``n * 1e-16`` for an optimal fit.

    Raises
    ------
    ValueError
        As :func:`tree_isotonic_regression` (or :func:`isotree.dag_isotonic_regression`
        with `edges`), and if `fit` does not have the shape of `y`.
    TypeError
        If both or neither of `parent` and `edges` are given.

    Notes
    -----
    These are the Karush-Kuhn-Tucker conditions of the convex problem, so they are
    sufficient as well as necessary (Robertson, Wright & Dykstra 1988, section 1.3).

    Examples
    --------
    >>> import isotree
    >>> y, parent = [2.0, 0.0, 5.0], [-1, 0, 0]
    >>> fit = isotree.tree_isotonic_regression(y, parent)
    >>> float(isotree.kkt_violation(y, fit, parent))
    0.0
    >>> bool(isotree.kkt_violation(y, [0.9, 1.1, 5.0], parent) > 0.01)
    True
    """
    options = opt.certificate(increasing=increasing)
    if edges is not None:
        if parent is not None:
            raise TypeError("kkt_violation takes parent (a tree) or edges (a DAG), not both")
        return _dispatch.run("dag certificate", options, y, fit, edges, weights,
                             public="kkt_violation")
    if parent is None:
        raise TypeError("kkt_violation needs parent (a tree) or edges (a DAG)")
    return _dispatch.run("tree certificate", options, y, fit, parent, weights,
                         public="kkt_violation")
