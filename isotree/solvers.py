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
from ._numba.star import star_rows
from ._numba.ties import ties_rows
from ._xp.common import namespace
from .tree import as_tree

TIES = ("primary", "secondary", "tertiary")  # their index is the kernel's mode code


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

    def lay_out_predictor(self, x, name):
        """Validate a predictor of shape (n,) or y's shape; lay it out as (m, n) rows."""
        x64, _, _ = v.check_values(x, name)
        n = self.shape[-1]
        if x64.shape == (n,):
            return np.ascontiguousarray(np.broadcast_to(x64, self.y.shape))
        full_shape = self.shape[:-1]
        full_shape = full_shape[:self.axis] + (n,) + full_shape[self.axis:]  # y's own shape
        if x64.shape != full_shape:
            raise ValueError(f"{name} must have shape ({n},) or the shape of y {full_shape}; "
                             f"got {x64.shape}")
        return self._lay_out(np.moveaxis(x64, self.axis, -1), n, None, 1.0)

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
    x : array-like of shape (n,) or the shape of `y`, default=None
        A predictor: the order is then ``x[i] < x[j]  =>  f[i] <= f[j]`` instead of the
        position along `axis`, with tied ``x`` handled by `ties`.
    increasing : bool, default=True
        ``True`` asks for ``f[i] <= f[i + 1]``, ``False`` for ``f[i] >= f[i + 1]``.
    ties : {"primary", "secondary", "tertiary"}, default="primary"
        How entries with equal `x` are treated (de Leeuw 1977); used only with `x`.
        ``"primary"``: unordered among themselves; ``"secondary"``: they get one common
        fit; ``"tertiary"``: only their weighted mean is ordered, each keeps its offset
        from it.
    y_min, y_max : float, default=None
        Bounds of the fit.
    axis : int, default=-1
        The axis along which the order runs; every other axis indexes independent problems,
        solved in parallel.
    return_blocks : bool, default=False
        Also return, for every entry, a block label: the index along `axis` of the first
        entry of its block in the order (the maximal run pooled to one value), before
        clipping to the bounds. With ``ties="tertiary"`` a block's entries keep their
        offsets.

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
    with Numba. With `x`, the entries are first sorted by ``(x, y)`` (O(n log n)); with
    primary ties this makes PAVA exact (de Leeuw 1977). Every block of the fit is a run of
    consecutive entries whose value is the weighted mean of `y` over it. The same fit
    minimises every Bregman divergence :math:`\sum_i w_i D_\phi(y_i, f_i)` under the same
    order (Robertson, Wright & Dykstra 1988, Theorem 1.5.1), e.g. the Poisson deviance or
    the log-loss for values in [0, 1].

    References
    ----------
    .. [1] M. J. Best, N. Chakravarti and V. A. Ubhaya, "Active set algorithms for
       isotonic regression; a unifying framework", Mathematical Programming 47 (1990)
       425-439, :doi:`10.1007/BF01580873`.
    .. [2] J. de Leeuw, "Correctness of Kruskal's algorithms for monotone regression with
       ties", Psychometrika 42 (1977) 141-144, :doi:`10.1007/BF02293750`.

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

    A predictor with a tie (entries 1 and 2 share ``x = 2``):

    >>> y, x = [1.0, 4.0, 2.0, 3.0], [1, 2, 2, 3]
    >>> isotree.isotonic_regression(y, x=x)                      # 4 and 2 unordered
    array([1. , 3.5, 2. , 3.5])
    >>> isotree.isotonic_regression(y, x=x, ties="secondary")    # tied entries equal
    array([1., 3., 3., 3.])
    """
    increasing = v.check_flag(increasing, "increasing")
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    v.check_choice(ties, "ties", TIES)
    y_min, y_max = v.check_bounds(y_min, y_max)
    xp = namespace(y, weights, x)
    if xp is not None:
        from ._xp import api

        if api.runs_on_host(xp, y, weights, x):
            return api.on_host(xp, lambda y, w, x: isotonic_regression(
                y, w, x=x, increasing=increasing, ties=ties, y_min=y_min, y_max=y_max,
                axis=axis, return_blocks=return_blocks), y, weights, x)
        return api.chain(xp, y, weights, x, increasing, ties, y_min, y_max, axis, return_blocks)
    rows = _Rows(y, weights, axis, negate=not increasing)
    if x is not None:
        x_rows = rows.lay_out_predictor(x, "x")
    fit = rows.new()
    # Without return_blocks the kernel skips writing labels (an (m, 0) array).
    labels = rows.new(np.int64) if return_blocks else np.empty((fit.shape[0], 0), np.int64)
    if not rows.empty and x is None:
        pava_rows(rows.y, rows.w, fit, labels)
    elif not rows.empty:
        _solve_predictor_order(rows, x_rows, TIES.index(ties), fit, labels)
    fit = rows.finish(fit)
    if y_min is not None or y_max is not None:
        fit = np.clip(fit, y_min, y_max)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit


def _solve_predictor_order(rows, x_rows, mode, fit, labels):
    """Sort every row by (x, y), solve the sorted rows, and scatter the results back."""
    order = np.lexsort((rows.y, x_rows), axis=-1)
    y_sorted = np.take_along_axis(rows.y, order, axis=-1)
    x_sorted = np.take_along_axis(x_rows, order, axis=-1)
    w_sorted = np.take_along_axis(np.broadcast_to(rows.w, rows.y.shape), order, axis=-1)
    fit_sorted = np.empty_like(y_sorted)
    labels_sorted = np.empty_like(labels)
    ties_rows(y_sorted, w_sorted, x_sorted, mode, fit_sorted, labels_sorted)
    np.put_along_axis(fit, order, fit_sorted, axis=-1)
    if labels.shape[1]:
        # A sorted position names a block; report the original index of that entry.
        np.put_along_axis(labels, order, np.take_along_axis(order, labels_sorted, axis=-1),
                          axis=-1)


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
    xp = namespace(y, weights, parent)
    if xp is not None:
        # Trees run on the host: one explicit transfer each way (see the GPU guide).
        from ._xp import api

        return api.on_host(xp, lambda *a: tree_isotonic_regression(
            *a, increasing=increasing, return_blocks=return_blocks), y, parent, weights)
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
    xp = namespace(y, fit, parent, weights)
    if xp is not None:
        from ._xp import api

        return api.on_host(xp, lambda *a: kkt_violation(*a, increasing=increasing),
                           y, fit, parent, weights)
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


def star_isotonic_regression(y, root=0, weights=None, *, increasing=True, axis=-1,
                             return_blocks=False):
    r"""Isotonic regression under the simple tree order: one root below every other entry.

    Solves, for every 1-D slice of `y` along `axis`,

    .. math::

        \min_f \sum_i w_i (f_i - y_i)^2 \quad\text{subject to}\quad
        f_{\mathrm{root}} \le f_i \text{ for every } i \ne \mathrm{root}

    (``>=`` when ``increasing=False``): the "simple tree order" of order-restricted
    statistics, e.g. several treatments that must each be at least as good as a control.

    Parameters
    ----------
    y : array-like of shape (..., n, ...)
        The values. Integer input gives a float64 fit; floating input keeps its dtype.
    root : int or array-like of int, default=0
        The root's index along `axis`: one for every slice, or an array with the shape of
        `y` without `axis` (one per slice). Negative values count from the end.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        Positive, finite weights; ``(n,)`` is shared by every slice. Default: all ones.
    increasing : bool, default=True
        ``True``: the root is the minimum; ``False``: the root is the maximum.
    axis : int, default=-1
        The axis of each problem; the others index independent problems.
    return_blocks : bool, default=False
        Also return block labels: the root's index for the root and every entry pooled
        with it, an entry's own index otherwise.

    Returns
    -------
    fit : ndarray of the shape of `y`
        The fit: with ``increasing=True`` every non-root entry is ``max(y_i, t)`` and the
        root is ``t``.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`.

    Raises
    ------
    ValueError
        If `y` or `weights` has a NaN or inf, a weight is <= 0, a shape does not match, or
        a root is out of range.
    TypeError
        If `y` is not real numeric or `root` is not an integer.

    See Also
    --------
    tree_isotonic_regression : any tree; a star is the tree ``parent = [-1, 0, 0, ...]``.

    Notes
    -----
    With the root as the maximum, the leaves get :math:`\min(y_i, t)` where :math:`t`
    solves :math:`w_r (y_r - t) + \sum_i w_i (y_i - t)_+ = 0`. The breakpoint search keeps
    the leaves whose side of :math:`t` is unknown and tests a random pivot each round,
    discarding the side the sign settles, as in the projection onto the simplex of Duchi et
    al. (2008): expected :math:`O(n)` per slice, no sort. Slices run in parallel.

    References
    ----------
    .. [1] T. Robertson, F. T. Wright and R. L. Dykstra, *Order Restricted Statistical
       Inference*, Wiley (1988), section 2.3 (the simple tree order).
    .. [2] J. Duchi, S. Shalev-Shwartz, Y. Singer and T. Chandra, "Efficient projections
       onto the l1-ball for learning in high dimensions", ICML 2008,
       :doi:`10.1145/1390156.1390191`.

    Examples
    --------
    A control (entry 0, 20 animals) and three treatments that may not be worse:

    >>> import isotree
    >>> response = [5.0, 4.0, 6.5, 3.0]
    >>> group_size = [20, 10, 10, 10]
    >>> isotree.star_isotonic_regression(response, root=0, weights=group_size)
    array([4.25, 4.25, 6.5 , 4.25])
    """
    increasing = v.check_flag(increasing, "increasing")
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    xp = namespace(y, weights, root)
    if xp is not None:
        from ._xp import api

        if api.runs_on_host(xp, y, weights, root):
            return api.on_host(xp, lambda y, r, w: star_isotonic_regression(
                y, r, w, increasing=increasing, axis=axis, return_blocks=return_blocks),
                y, root, weights)
        return api.star(xp, y, root, weights, increasing, axis, return_blocks)
    rows = _Rows(y, weights, axis, negate=increasing)
    n = rows.shape[-1]
    roots = v.check_root(root, rows.shape[:-1], n)
    fit = rows.new()
    labels = rows.new(np.int64) if return_blocks else np.empty((fit.shape[0], 0), np.int64)
    if not rows.empty:
        star_rows(rows.y, rows.w, roots, fit, labels)
    fit = rows.finish(fit)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit
