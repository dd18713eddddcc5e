"""The public solvers of chains, predictor orders, trees and stars.

Each function validates its options once (:mod:`isotree._options`) and hands the problem to
the dispatcher (:mod:`isotree._dispatch`), which runs it where its arrays live and validates
the arrays as it lays them out.
"""

from __future__ import annotations

from typing import Any, Literal

from numpy.typing import ArrayLike

from . import _dispatch
from . import _options as opt
from .tree import Tree


def isotonic_regression(y: ArrayLike, *, weights: ArrayLike | None = None,
                        x: ArrayLike | None = None, increasing: bool = True,
                        ties: Literal["primary", "secondary", "tertiary"] = "primary",
                        y_min: float | None = None, y_max: float | None = None, axis: int = -1,
                        return_blocks: bool = False, workers: int | None = None) -> Any:
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
        Finite weights >= 0; ``(n,)`` is shared by every slice. Default: all ones. A
        weight of 0 is a missing observation: it moves no other fit, the order through it
        holds, and its own fit is the smallest value the order allows (see
        :doc:`/mathematics`).
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
        Bounds of the fit; None (or -inf, inf) means no bound. With
        ``ties="tertiary"`` they bound the tie groups' means (each entry keeps its offset).
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
        is < 0 or every weight of a problem is 0, `weights` has the wrong shape,
        ``y_min > y_max``, `axis` is out of range,
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
    options = opt.chain(has_x=x is not None, increasing=increasing, ties=ties, y_min=y_min,
                        y_max=y_max, axis=axis, return_blocks=return_blocks, workers=workers)
    return _dispatch.run("chain", options, y, weights, x, public="isotonic_regression")


def tree_isotonic_regression(y: ArrayLike, parent: ArrayLike | Tree, *,
                             weights: ArrayLike | None = None, increasing: bool = True,
                             y_min: float | None = None, y_max: float | None = None,
                             return_blocks: bool = False, workers: int | None = None) -> Any:
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
        Finite weights >= 0; ``(n,)`` is shared by every slice. Default: all ones. A
        weight of 0 is a missing observation: it moves no other fit, the order through it
        holds, and its own fit is the smallest value the order allows (see
        :doc:`/mathematics`).
    increasing : bool, default=True
        ``True``: ``f[parent[i]] <= f[i]``; ``False``: ``f[parent[i]] >= f[i]``.
    y_min, y_max : float, default=None
        Bounds of the fit; None (or -inf, inf) means no bound. Clipping the fit to
        them gives the solution of the bounded problem.
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
        If `y` or `weights` has a NaN or inf, a weight is < 0 or all are 0, ``y_min >
        y_max``, a shape does not match the tree, or `parent` is not a forest (entry out of
        range, self-loop, cycle).
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
    options = opt.tree(increasing=increasing, y_min=y_min, y_max=y_max,
                       return_blocks=return_blocks, workers=workers)
    return _dispatch.run("tree", options, y, parent, weights, public="tree_isotonic_regression")


def star_isotonic_regression(y: ArrayLike, root: ArrayLike = 0, *,
                             weights: ArrayLike | None = None, increasing: bool = True,
                             y_min: float | None = None, y_max: float | None = None,
                             axis: int = -1, return_blocks: bool = False,
                             workers: int | None = None) -> Any:
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
        Finite weights >= 0; ``(n,)`` is shared by every slice. Default: all ones. A
        weight of 0 is a missing observation: it moves no other fit, the order through it
        holds, and its own fit is the smallest value the order allows (see
        :doc:`/mathematics`).
    increasing : bool, default=True
        ``True``: the root is the minimum; ``False``: the root is the maximum.
    y_min, y_max : float, default=None
        Bounds of the fit; None (or -inf, inf) means no bound. Clipping the fit to
        them gives the solution of the bounded problem.
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
        If `y` or `weights` has a NaN or inf, a weight is < 0 or all of a problem's are 0,
        ``y_min > y_max``, a shape does not match, or a root is out of range.
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
    options = opt.star(increasing=increasing, y_min=y_min, y_max=y_max, axis=axis,
                       return_blocks=return_blocks, workers=workers)
    return _dispatch.run("star", options, y, root, weights, public="star_isotonic_regression")
