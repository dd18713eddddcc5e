"""The public solvers: validate, lay the problems out as contiguous rows, call a kernel, shape.

Every solver works on a batch of independent problems laid out as rows of a C-contiguous
float64 ``(m, n)`` array and solves one direction only (see :mod:`isotree._numba`); the other
direction is the same problem on ``-y``, folded together with an exact power-of-two scaling
(for values near the overflow threshold) into one multiplication on the way in and out.
"""

import math

import numpy as np

from . import _validate as v
from ._numba.irt import irt_rows
from ._numba.kkt import kkt_rows
from ._numba.pava import pava_rows
from .tree import as_tree

TIES = ("primary", "secondary", "tertiary")


class _Rows:
    """A validated batch laid out as rows: ``y`` and ``w`` are (m, n) and (m or 1, n)."""

    def __init__(self, y, weights, axis, *, negate, columns=None):
        y64, self.out_dtype, largest_y = v.check_values(y)
        self.axis = v.check_axis(axis, y64.ndim)
        w64, largest_w = v.check_weights(weights, y64.shape, self.axis)
        moved = np.moveaxis(y64, self.axis, -1)
        self.shape = moved.shape
        n = self.shape[-1]
        scale_y, scale_w = v.power_of_two_scale(largest_y, largest_w, n)
        # Exact: a power of two with a sign. The solution of -y is minus the other direction's.
        self.factor = -scale_y if negate else scale_y
        self.columns = columns
        self.y = self._lay_out(moved, n, columns, self.factor)
        if w64 is None:
            self.w = np.ones((1, n))
        elif w64.ndim == 1:
            self.w = self._lay_out(w64, n, columns, scale_w)
        else:
            self.w = self._lay_out(np.moveaxis(w64, self.axis, -1), n, columns, scale_w)

    @staticmethod
    def _lay_out(array, n, columns, factor):
        rows = array.reshape(math.prod(array.shape[:-1]), n)
        if columns is not None:
            rows = rows[:, columns]
        if factor != 1.0:
            rows = rows * factor
        return np.ascontiguousarray(rows)

    def lay_out_like(self, values, name):
        """Validate ``values`` of y's shape and lay them out exactly as y (same factor)."""
        values64, _, _ = v.check_values(values, name)
        moved = np.moveaxis(values64, self.axis, -1)
        return self._lay_out(moved, self.shape[-1], self.columns, self.factor)

    @property
    def empty(self):
        return self.y.size == 0

    def new(self, dtype=np.float64):
        return np.empty(self.y.shape, dtype=dtype)

    def finish(self, rows):
        """Undo the scaling, restore the caller's shape and axis, and its dtype."""
        if self.factor != 1.0:
            rows *= 1.0 / self.factor
        return self.shape_back(rows).astype(self.out_dtype, copy=False)

    def shape_back(self, rows):
        return np.moveaxis(rows.reshape(self.shape), -1, self.axis)


def isotonic_regression(y, weights=None, *, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1, return_blocks=False):
    r"""Isotonic regression on a chain: the closest monotone sequence in weighted L2.

    Solves, independently for every 1-D slice of `y` along `axis`,

    .. math::

        \min_{f} \sum_i w_i (f_i - y_i)^2
        \quad\text{subject to}\quad f_0 \le f_1 \le \dots \le f_{n-1}

    (``>=`` when ``increasing=False``), then clips the fit to ``[y_min, y_max]``, which
    gives the solution of the bounded problem.

    Parameters
    ----------
    y : array-like of shape (..., n, ...)
        The values. Integer input gives a float64 fit; floating input keeps its dtype.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        Positive, finite weights; ``(n,)`` is shared by every slice. Default: all ones.
    x : array-like of shape (n,), default=None
        Reserved for the predictor order (not implemented yet; must be None).
    increasing : bool, default=True
        ``True`` asks for ``f[i] <= f[i + 1]``, ``False`` for ``f[i] >= f[i + 1]``.
    ties : {"primary", "secondary", "tertiary"}, default="primary"
        How tied predictor values are treated; used only with `x`.
    y_min, y_max : float, default=None
        Bounds of the fit.
    axis : int, default=-1
        The axis along which the order runs; every other axis indexes independent problems,
        solved in parallel.
    return_blocks : bool, default=False
        Also return, for every entry, the index along `axis` of the first entry of its
        block (the maximal run pooled to one value), before clipping to the bounds.

    Returns
    -------
    fit : ndarray of the shape of `y`
        The isotonic fit.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`: the block labels.

    Raises
    ------
    ValueError
        If `y` or `weights` has a NaN or inf (the message gives the first index), a weight
        is <= 0, `weights` has the wrong shape, ``y_min > y_max``, `axis` is out of range,
        or `ties` is unknown.
    TypeError
        If `y` or `weights` is complex or not numeric.

    See Also
    --------
    tree_isotonic_regression : the same problem on a rooted tree or forest.
    scipy.optimize.isotonic_regression : the 1-D chain solver of SciPy.

    Notes
    -----
    Pool-adjacent-violators (Best, Chakravarti & Ubhaya 1990) in O(n) per slice, compiled
    with Numba. Every block of the fit is a run of consecutive entries whose value is the
    weighted mean of `y` over it. The same fit minimises every Bregman divergence
    :math:`\sum_i w_i D_\phi(y_i, f_i)` under the same order (Robertson, Wright & Dykstra
    1988, Theorem 1.5.1), e.g. the Poisson deviance or the log-loss for values in [0, 1].

    References
    ----------
    .. [1] M. J. Best, N. Chakravarti and V. A. Ubhaya, "Active set algorithms for
       isotonic regression; a unifying framework", Mathematical Programming 47 (1990)
       425-439, :doi:`10.1007/BF01580873`.

    Examples
    --------
    >>> import numpy as np
    >>> import isotree
    >>> isotree.isotonic_regression([1.0, 3.0, 2.0, 4.0])
    array([1. , 2.5, 2.5, 4. ])
    >>> fit, blocks = isotree.isotonic_regression([3.0, 1.0, 2.0], weights=[1.0, 1.0, 2.0],
    ...                                           increasing=False, return_blocks=True)
    >>> fit, blocks
    (array([3.        , 1.66666667, 1.66666667]), array([0, 1, 1]))
    """
    increasing = v.check_flag(increasing, "increasing")
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    v.check_choice(ties, "ties", TIES)
    y_min, y_max = v.check_bounds(y_min, y_max)
    if x is not None:
        raise NotImplementedError("the predictor order (x=...) is not implemented yet")
    rows = _Rows(y, weights, axis, negate=not increasing)
    fit = rows.new()
    # Without return_blocks the kernel skips writing labels (an (m, 0) array).
    labels = rows.new(np.int64) if return_blocks else np.empty((fit.shape[0], 0), np.int64)
    if not rows.empty:
        pava_rows(rows.y, rows.w, fit, labels)
    fit = rows.finish(fit)
    if y_min is not None or y_max is not None:
        fit = np.clip(fit, y_min, y_max)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit


def tree_isotonic_regression(y, parent, weights=None, *, increasing=True,
                             return_blocks=False):
    r"""Isotonic regression on a rooted tree or forest.

    Solves, for every row of `y` (all rows share one tree),

    .. math::

        \min_{f} \sum_i w_i (f_i - y_i)^2
        \quad\text{subject to}\quad f_{\mathrm{parent}(i)} \le f_i \text{ for every non-root } i

    so values grow away from the roots (``>=`` when ``increasing=False``: every root is
    the maximum of its tree).

    Parameters
    ----------
    y : array-like of shape (..., n)
        The values, one tree node per entry of the last axis. Integer input gives a
        float64 fit; floating input keeps its dtype.
    parent : array-like of int of shape (n,) or Tree
        ``parent[i]`` is the parent of node ``i`` or -1 for a root. Any labelling works;
        several roots make a forest. Pass a :class:`Tree` to validate once and reuse it.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        Positive, finite weights. Default: all ones.
    increasing : bool, default=True
        ``True``: ``f[parent[i]] <= f[i]``; ``False``: ``f[parent[i]] >= f[i]``.
    return_blocks : bool, default=False
        Also return, for every node, its block's top node (the node of the block closest
        to the root). Blocks are connected subtrees whose value is the weighted mean of `y`
        over them; two blocks can share a value, so use these labels, not equal values.

    Returns
    -------
    fit : ndarray of the shape of `y`
        The isotonic fit.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`: the block labels.

    Raises
    ------
    ValueError
        If `y` or `weights` has a NaN or inf, a weight is <= 0, a shape does not match
        the tree, or `parent` is not a forest (entry out of range, self-loop, cycle).
    TypeError
        If `y` is not real numeric or `parent` does not hold integers.

    See Also
    --------
    Tree : validate a parent array once.
    kkt_violation : certify a fit.
    isotonic_regression : chains.

    Notes
    -----
    IRT-BIN of Pardalos & Xue (1999): children are finished before their parents; each
    block keeps a leftist max-heap of the finished blocks below it and pools the one with
    the largest mean while that mean exceeds its own. O(n log n) time and O(n) memory per
    row, no recursion (a path of 10^7 nodes is fine); rows are solved in parallel.

    References
    ----------
    .. [1] P. M. Pardalos and G. Xue, "Algorithms for a class of isotonic regression
       problems", Algorithmica 23 (1999) 211-222, :doi:`10.1007/PL00009258`.

    Examples
    --------
    A root with two children; the left child is below the root and gets pooled with it:

    >>> import isotree
    >>> isotree.tree_isotonic_regression([2.0, 0.0, 5.0], parent=[-1, 0, 0])
    array([1., 1., 5.])
    >>> fit, top = isotree.tree_isotonic_regression(
    ...     [2.0, 0.0, 5.0], parent=[-1, 0, 0], increasing=False, return_blocks=True)
    >>> fit, top
    (array([3.5, 0. , 3.5]), array([0, 1, 0]))
    """
    increasing = v.check_flag(increasing, "increasing")
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    tree = as_tree(parent)
    _check_tree_length(y, tree)
    # The kernel's orientation is fit[parent] >= fit[child]: negate for increasing.
    rows = _Rows(y, weights, -1, negate=increasing, columns=tree.order)
    fit_visit = rows.new()
    labels_visit = rows.new(np.int64)
    if not rows.empty:
        irt_rows(tree._visit_parent, rows.y, rows.w, fit_visit, labels_visit)
    fit = np.empty_like(fit_visit)
    fit[:, tree.order] = fit_visit
    fit = rows.finish(fit)
    if return_blocks:
        labels = np.empty_like(labels_visit)
        labels[:, tree.order] = tree.order[labels_visit]
        return fit, rows.shape_back(labels)
    return fit


def _check_tree_length(y, tree, name="y"):
    shape = np.shape(y)
    if len(shape) == 0 or shape[-1] != tree.n_nodes:
        got = shape[-1] if shape else "a scalar"
        raise ValueError(f"{name} must have one entry per node along its last axis "
                         f"({tree.n_nodes}); got {got}")


def kkt_violation(y, fit, parent, weights=None, *, increasing=True):
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
    parent : array-like of int of shape (n,) or Tree
        The tree (see :func:`tree_isotonic_regression`).
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
        As :func:`tree_isotonic_regression`, and if `fit` does not have the shape of `y`.

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
    increasing = v.check_flag(increasing, "increasing")
    tree = as_tree(parent)
    _check_tree_length(y, tree)
    if np.shape(fit) != np.shape(y):
        raise ValueError(f"fit must have the shape of y {np.shape(y)}; got {np.shape(fit)}")
    rows = _Rows(y, weights, -1, negate=increasing, columns=tree.order)
    fit_rows = rows.lay_out_like(fit, "fit")
    if rows.empty:
        return 0.0
    scale = float(np.abs(rows.y).max()) or 1.0
    total_w = float(rows.w.sum(axis=1).max())
    return float(kkt_rows(tree._visit_parent, rows.y, rows.w, fit_rows, scale,
                          scale * total_w))
