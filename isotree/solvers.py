"""The public solvers: validate, lay the problems out as contiguous rows, call a kernel, shape.

Every solver works on a batch of independent problems laid out as rows of a C-contiguous
float64 ``(m, n)`` array (a view of the caller's array where it already is one: no copy) and
solves one direction only (see :mod:`isotree._numba`). The other direction and an exact
power-of-two scaling (for values near the overflow threshold or in the subnormal range) are
one factor per row that the chain and star kernels apply as they read, and that the others
get as scaled copies; a row's factor depends on that row alone. How many threads a call
uses is :mod:`isotree._threads`' policy (``workers=``).
"""

import math

import numpy as np

from . import _threads
from . import _validate as v
from ._numba.irt import irt_rows
from ._numba.kkt import kkt_rows
from ._numba.pava import pava_rows
from ._numba.scaling import scan_rows
from ._numba.star import star_rows
from ._numba.ties import ties_rows
from ._requires_grad import warn_if_requires_grad
from ._scratch import scratch
from ._xp.common import namespace
from .tree import as_tree

TIES = ("primary", "secondary", "tertiary")  # their index is the kernel's mode code

# "No weights": the kernels read a (1, 0) weight array as all ones.
_UNIT = np.empty((1, 0))
# The factors of every row when no row needs scaling (kernels never write them).
_NO_SCALE = {1.0: np.array([[1.0, 1.0, 1.0]]), -1.0: np.array([[-1.0, 1.0, 1.0]])}


class _Rows:
    """A validated batch laid out as rows along ``axis``.

    ``y`` is (m, n) float64, C-contiguous; ``w`` is (m, n), (1, n) shared, or ``_UNIT``;
    ``scale`` holds every row's factors ``(sign * 2**a, 2**b)`` for y and w and a flag (1.0:
    products of its sums stay finite), or one shared row ``(sign, 1, 1)`` when no row needs
    more (the common case).
    """

    def __init__(self, y, weights, axis, *, sign):
        array, self.out_dtype = v.as_float(y, "y")
        if array.ndim == 0:
            raise ValueError("y must have at least one dimension; got a scalar")
        self.axis = v.check_axis(axis, array.ndim)
        self.array = array
        moved = array if self.axis == array.ndim - 1 else np.moveaxis(array, self.axis, -1)
        self.shape = moved.shape
        n = self.shape[-1]
        m = math.prod(self.shape[:-1])
        self.y = np.ascontiguousarray(moved.reshape(m, n))
        if weights is None:
            self.w = _UNIT
        else:
            w64 = v.check_weights_shape(weights, array.shape, self.axis)
            if w64.ndim == 1:
                self.w = np.ascontiguousarray(w64.reshape(1, n))
            else:
                moved_w = w64 if self.axis == w64.ndim - 1 else np.moveaxis(w64, self.axis, -1)
                self.w = np.ascontiguousarray(moved_w.reshape(m, n))
        scale = np.empty((m, 3))
        bad_y, bad_w, scaled = scan_rows(self.y.view(np.uint64), self.w.view(np.uint64),
                                         sign, scale)
        if bad_y:
            v.check_finite(array, "y")  # raises, naming the index in the caller's shape
        if bad_w:
            v.check_weights(weights, array.shape, self.axis)  # likewise
        self.scale = scale if scaled else _NO_SCALE[sign]

    @property
    def empty(self):
        return self.y.size == 0

    def scaled(self, columns=None):
        """Copies ``(y, w)`` with the factors applied (and ``columns`` gathered), for the
        kernels that take plain rows; unit weights become a row of ones."""
        y = self.y if columns is None else self.y[:, columns]
        y = y * self.scale[:, :1]
        if self.w is _UNIT:
            w = np.ones((1, self.y.shape[1]))
        else:
            w = self.w if columns is None else self.w[:, columns]
            w = np.ascontiguousarray(w * self.scale[:, 1:2])
        return np.ascontiguousarray(y), w

    def lay_out_like(self, values, name):
        """Validate ``values`` of y's shape and lay them out as y's rows, scaled alike."""
        values64, _ = v.as_float(values, name)
        v.check_finite(values64, name)
        moved = values64 if self.axis == values64.ndim - 1 else np.moveaxis(
            values64, self.axis, -1)
        return moved.reshape(self.y.shape) * self.scale[:, :1]

    def new(self, dtype=np.float64):
        return np.empty(self.y.shape, dtype=dtype)

    def no_labels(self):
        """The (m, 0) label array that tells a kernel to skip writing labels."""
        return np.empty((self.y.shape[0], 0), np.int64)

    def threads(self, workers):
        return _threads.threads_for(workers, self.y.size, self.y.shape[0])

    def finish(self, rows, unscale=False):
        """Restore the caller's shape, axis and dtype (undoing the factors if asked)."""
        if unscale:
            rows /= self.scale[:, :1]
        return self.shape_back(rows).astype(self.out_dtype, copy=False)

    def shape_back(self, rows):
        out = rows.reshape(self.shape)
        return out if self.axis == out.ndim - 1 else np.moveaxis(out, -1, self.axis)


def isotonic_regression(y, *, weights=None, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1, return_blocks=False, workers=None):
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
        Bounds of the fit; None or an infinite bound means no bound.
    axis : int, default=-1
        The axis along which the order runs; every other axis indexes independent problems,
        solved in parallel.
    return_blocks : bool, default=False
        Also return, for every entry, a block label: the index along `axis` of the first
        entry of its block in the order (the maximal run pooled to one value), before
        clipping to the bounds. With ``ties="tertiary"`` a block's entries keep their
        offsets.
    workers : int, default=None
        Threads for a batch: ``None`` solves small batches (under 2**20 entries) in the
        calling thread and larger ones on every thread Numba may use; an int asks for at
        most that many (``-1``: all). See :doc:`/threads`.

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
    if x is None and ties != "primary":
        raise ValueError(f"ties={ties!r} needs a predictor x: without x the order is the "
                         f"position along axis and has no ties")
    y_min, y_max = v.check_bounds(y_min, y_max)
    workers = _threads.check_workers(workers)
    xp = namespace(y, weights, x)
    if xp is not None:
        warn_if_requires_grad("isotonic_regression", y, weights)
        from ._xp import api

        if api.runs_on_host(xp, y, weights, x):
            return api.on_host(xp, lambda y, w, x: isotonic_regression(
                y, weights=w, x=x, increasing=increasing, ties=ties, y_min=y_min,
                y_max=y_max, axis=axis, return_blocks=return_blocks, workers=workers),
                y, weights, x)
        return api.chain(xp, y, weights, x, increasing, ties, y_min, y_max, axis, return_blocks)
    rows = _Rows(y, weights, axis, sign=1.0 if increasing else -1.0)
    if x is not None:
        x_rows = v.check_predictor(x, rows.array.shape, rows.axis, rows.y.shape)
    fit = rows.new()
    # Without return_blocks the kernel skips writing labels (an (m, 0) array).
    labels = rows.new(np.int64) if return_blocks else rows.no_labels()
    if not rows.empty and x is None:
        _solve_chains(rows, rows.y, rows.w, fit, labels, workers)
    elif not rows.empty:
        _solve_predictor_order(rows, x_rows, TIES.index(ties), fit, labels,
                               rows.threads(workers))
    fit = rows.finish(fit)
    if y_min is not None or y_max is not None:
        fit = np.clip(fit, y_min, y_max)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit


def _solve_chains(rows, y, w, fit, labels, workers):
    """PAVA on the rows ``y``/``w`` (laid out as ``rows``, with its factors) into ``fit``."""
    threads = rows.threads(workers)
    n = y.shape[1]
    floats, ints = scratch((threads, 2, n), (threads, n))
    _threads.call(pava_rows, threads, y, w, rows.scale, fit, labels, floats, ints)


def _solve_predictor_order(rows, x_rows, mode, fit, labels, threads):
    """Sort every row by (x, y), solve the sorted rows, and scatter the results back.

    ``x_rows`` keeps x's own dtype (int64, uint64 or float64), so integer predictors
    above 2**53 (nanosecond timestamps) keep their order and their ties.
    """
    y, w = rows.scaled()
    order = np.lexsort((y, x_rows), axis=-1)
    y_sorted = np.take_along_axis(y, order, axis=-1)
    x_sorted = np.take_along_axis(x_rows, order, axis=-1)
    w_sorted = np.take_along_axis(np.broadcast_to(w, y.shape), order, axis=-1)
    fit_sorted = np.empty_like(y_sorted)
    labels_sorted = np.empty_like(labels)
    _threads.call(ties_rows, threads, y_sorted, w_sorted, x_sorted, mode, fit_sorted,
                  labels_sorted)
    fit_sorted /= rows.scale[:, :1]
    np.put_along_axis(fit, order, fit_sorted, axis=-1)
    if labels.shape[1]:
        # A sorted position names a block; report the original index of that entry.
        np.put_along_axis(labels, order, np.take_along_axis(order, labels_sorted, axis=-1),
                          axis=-1)


def tree_isotonic_regression(y, parent, *, weights=None, increasing=True,
                             return_blocks=False, workers=None):
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
    workers : int, default=None
        Threads for a batch: ``None`` solves small batches (under 2**20 entries) in the
        calling thread and larger ones on every thread Numba may use; an int asks for at
        most that many (``-1``: all). See :doc:`/threads`.

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
    workers = _threads.check_workers(workers)
    xp = namespace(y, weights, parent)
    if xp is not None:
        warn_if_requires_grad("tree_isotonic_regression", y, weights)
        # Trees run on the host: one explicit transfer each way (see the GPU guide).
        from ._xp import api

        return api.on_host(xp, lambda y, p, w: tree_isotonic_regression(
            y, p, weights=w, increasing=increasing, return_blocks=return_blocks,
            workers=workers), y, parent, weights)
    tree = as_tree(parent)
    _check_tree_length(y, tree)
    if tree._kind == "star":  # the simple tree order: linear time, no traversal
        return star_isotonic_regression(y, int(tree.roots[0]), weights=weights,
                                        increasing=increasing, return_blocks=return_blocks,
                                        workers=workers)
    if tree._kind == "path":
        return _path_as_chain(y, tree, weights, increasing, return_blocks, workers)
    # The kernel's orientation is fit[parent] >= fit[child]: negate for increasing.
    rows = _Rows(y, weights, -1, sign=-1.0 if increasing else 1.0)
    y_visit, w_visit = rows.scaled(columns=tree.order)
    fit_visit = rows.new()
    labels_visit = rows.new(np.int64)
    if not rows.empty:
        _threads.call(irt_rows, rows.threads(workers), tree._visit_parent, y_visit, w_visit,
                      fit_visit, labels_visit)
    fit_visit /= rows.scale[:, :1]
    fit = np.empty_like(fit_visit)
    fit[:, tree.order] = fit_visit
    fit = rows.finish(fit)
    if return_blocks:
        labels = np.empty_like(labels_visit)
        labels[:, tree.order] = tree.order[labels_visit]
        return fit, rows.shape_back(labels)
    return fit


def _path_as_chain(y, tree, weights, increasing, return_blocks, workers):
    """A tree that is one path is a chain in its traversal order (root first)."""
    rows = _Rows(y, weights, -1, sign=1.0 if increasing else -1.0)
    order = tree.order
    y_chain = np.ascontiguousarray(rows.y[:, order])
    w_chain = rows.w if rows.w is _UNIT else np.ascontiguousarray(rows.w[:, order])
    fit_chain = rows.new()
    labels_chain = rows.new(np.int64)
    if not rows.empty:
        _solve_chains(rows, y_chain, w_chain, fit_chain, labels_chain, workers)
    fit = np.empty_like(fit_chain)
    fit[:, order] = fit_chain
    fit = rows.finish(fit)
    if not return_blocks:
        return fit
    labels = np.empty_like(labels_chain)
    labels[:, order] = order[labels_chain]  # a chain block's first entry is its top node
    return fit, rows.shape_back(labels)


def _check_tree_length(y, tree, name="y"):
    shape = np.shape(y)
    if len(shape) == 0 or shape[-1] != tree.n_nodes:
        got = shape[-1] if shape else "a scalar"
        raise ValueError(f"{name} must have one entry per node along its last axis "
                         f"({tree.n_nodes}); got {got}")


def kkt_violation(y, fit, parent=None, *, edges=None, weights=None, increasing=True):
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
    if edges is not None:
        if parent is not None:
            raise TypeError("kkt_violation takes parent (a tree) or edges (a DAG), not both")
        from .dag import dag_kkt_violation

        return dag_kkt_violation(y, fit, edges, weights=weights, increasing=increasing)
    if parent is None:
        raise TypeError("kkt_violation needs parent (a tree) or edges (a DAG)")
    xp = namespace(y, fit, parent, weights)
    if xp is not None:
        from ._xp import api

        return api.on_host(xp, lambda y, f, p, w: kkt_violation(
            y, f, p, weights=w, increasing=increasing), y, fit, parent, weights)
    tree = as_tree(parent)
    _check_tree_length(y, tree)
    if np.shape(fit) != np.shape(y):
        raise ValueError(f"fit must have the shape of y {np.shape(y)}; got {np.shape(fit)}")
    rows = _Rows(y, weights, -1, sign=-1.0 if increasing else 1.0)
    fit_rows = rows.lay_out_like(fit, "fit")[:, tree.order]
    y_visit, w_visit = rows.scaled(columns=tree.order)
    if rows.empty:
        return 0.0
    scale = float(np.abs(y_visit).max()) or 1.0
    total_w = float(w_visit.sum(axis=1).max())
    return float(kkt_rows(tree._visit_parent, y_visit, w_visit, np.ascontiguousarray(fit_rows),
                          scale, scale * total_w))


def star_isotonic_regression(y, root=0, *, weights=None, increasing=True, axis=-1,
                             return_blocks=False, workers=None):
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
    workers : int, default=None
        Threads for a batch: ``None`` solves small batches (under 2**20 entries) in the
        calling thread and larger ones on every thread Numba may use; an int asks for at
        most that many (``-1``: all). See :doc:`/threads`.

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
    workers = _threads.check_workers(workers)
    xp = namespace(y, weights, root)
    if xp is not None:
        warn_if_requires_grad("star_isotonic_regression", y, weights)
        from ._xp import api

        if api.runs_on_host(xp, y, weights, root):
            return api.on_host(xp, lambda y, r, w: star_isotonic_regression(
                y, r, weights=w, increasing=increasing, axis=axis,
                return_blocks=return_blocks, workers=workers), y, root, weights)
        return api.star(xp, y, root, weights, increasing, axis, return_blocks)
    # The kernel's root is the maximum: the sign turns the increasing problem into it.
    rows = _Rows(y, weights, axis, sign=-1.0 if increasing else 1.0)
    n = rows.shape[-1]
    roots = v.check_root(root, rows.shape[:-1], n)
    fit = rows.new()
    labels = rows.new(np.int64) if return_blocks else rows.no_labels()
    if not rows.empty:
        threads = rows.threads(workers)
        floats, ints = scratch((threads, 2, n), (threads, n))
        _threads.call(star_rows, threads, rows.y, rows.w, roots, rows.scale, fit, labels,
                      floats, ints)
    fit = rows.finish(fit)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit
