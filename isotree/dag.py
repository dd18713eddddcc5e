r"""Isotonic regression on any partial order (a DAG) and on grids, and the DAG certificate.

Every problem is a set of nodes with values ``y`` and weights ``w`` and a list of edges.
An edge ``(u, v)`` means ``fit[u] >= fit[v]``: it points from the larger value to the
smaller one, as in :func:`isotree.testing.qp_isotonic`. A 2 x 3 grid increasing along both
axes (:func:`grid_edges`), with its nodes numbered in C order and every edge drawn as an
arrow ``u ---> v``::

    0 <--- 1 <--- 2          edges: (3, 0) (4, 1) (5, 2)
    ^      ^      ^                 (1, 0) (2, 1) (4, 3) (5, 4)
    |      |      |
    3 <--- 4 <--- 5

The algorithm (recursive partitioning by minimum cuts: Spouge, Wan & Wilbur 2003; Hochbaum
& Queyranne 2003) is in :mod:`isotree._engine.partition`; where each order goes is in
:mod:`isotree._engine.dag`. Like every public function, these validate their options once
and hand the problem to the dispatcher (:mod:`isotree._dispatch`): arrays of PyTorch, CuPy
or JAX are copied to the host and the results back to their device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _dispatch
from . import _options as opt
from ._engine import edges as _edges

__all__ = ["dag_isotonic_regression", "dag_kkt_violation", "grid_edges",
           "grid_isotonic_regression"]


def dag_isotonic_regression(y: ArrayLike, edges: ArrayLike, *,
                            weights: ArrayLike | None = None, y_min: float | None = None,
                            y_max: float | None = None, return_blocks: bool = False) -> Any:
    r"""Isotonic regression on any partial order given by the edges of a DAG.

    Solves, for every row of `y` (all rows share one order),

    .. math::

        \min_{f} \sum_i w_i (f_i - y_i)^2
        \quad\text{subject to}\quad f_u \ge f_v \text{ for every edge } (u, v)

    exactly, by recursive partitioning with minimum cuts.

    Parameters
    ----------
    y : array-like of shape (..., n)
        The values, one node per entry of the last axis. Integer input gives a float64
        fit; floating input keeps its dtype.
    edges : array-like of int of shape (m, 2)
        The order: an edge ``(u, v)`` means ``fit[u] >= fit[v]`` (it points from the
        larger value to the smaller one, as in :func:`isotree.testing.qp_isotonic`). Any
        directed acyclic graph: several parents, several roots, isolated nodes (they keep
        their value) and repeated edges are fine. The order is the transitive closure of
        the edges, so listing only the covering pairs is enough. Use :func:`grid_edges`
        for arrays ordered along every axis.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        Finite weights >= 0; ``(n,)`` is shared by every row. Default: all ones. A weight
        of 0 is a missing observation: it moves no other fit, the order through it holds
        (a node above it stays above every node below it), and its own fit is the smallest
        value the order allows (see :doc:`/mathematics`).
    y_min, y_max : float, default=None
        Bounds of the fit; None (or -inf, inf) means no bound. Clipping the fit to
        them gives the solution of the bounded problem.
    return_blocks : bool, default=False
        Also return, for every node, its block's label: the smallest node index in the
        block (of its positive-weight nodes, where some weights are 0). Blocks are
        connected (through the edges) sets of nodes pooled to one value, the weighted
        mean of `y` over them; two blocks can share a value, so use these labels, not
        equal values.

    Returns
    -------
    fit : ndarray of the shape of `y`
        The isotonic fit.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`: the block labels.

    Raises
    ------
    ValueError
        If `y` or `weights` has a NaN or inf, a weight is < 0 or all are 0,
        ``y_min > y_max``, a shape does not match, or `edges` is not a DAG on the nodes
        (ragged or wrong shape, an id out of range, a self-loop, a directed cycle: the
        message names a node on it).
    TypeError
        If `y` is not real numeric, `edges` does not hold integers, or a JAX array is
        traced (this solver runs on the host).

    See Also
    --------
    grid_isotonic_regression : arrays increasing along each axis (the matrix order).
    tree_isotonic_regression : the tree solver, used here when the order is a forest.
    isotonic_regression : chains.
    isotree.dag.dag_kkt_violation : certify a fit.

    Notes
    -----
    For a block :math:`B` with weighted mean :math:`\mu`, the upper set :math:`U \subseteq
    B` maximising :math:`\sum_{i \in U} w_i (y_i - \lambda)` for a level :math:`\lambda`
    is a maximum-weight closure, found as a minimum cut (Picard 1976). The fit on :math:`B`
    is :math:`\ge \lambda` on :math:`U` and :math:`\le \lambda` on :math:`B \setminus U`
    (Spouge, Wan & Wilbur 2003, Theorem 1; Hochbaum & Queyranne 2003), so both parts are
    solved on their own; a block that no upper set improves is a level set of the fit.
    The levels are taken a few hundred ulps of the block's range below, then above, its
    mean; every block is measured from one of its own values; with skewed weights each
    node whose own gain says it is on the wrong side of a cut is moved: so round-off of
    heavy nodes does not hide the split of a light one, nor an offset of the values the
    differences between them (checked against exact rational arithmetic with weights
    within a factor 1e32 of each other and offsets up to 1e15: ``benchmarks/fuzz_dag.py``;
    weights wider apart within one problem are a known limit, see :doc:`/partial_orders`).
    All blocks of a
    round share one max-flow problem, so the cost is (rounds) x (one max-flow on at most
    n nodes and m edges); the rounds are the depth of the recursion plus two, typically
    O(log n), at most about 2n. Blocks whose data already respect their order, and the
    weakly connected components, are settled without a cut. Every block of the result
    gets the weighted mean of `y` over it.

    The max-flow is the package's own Boykov-Kolmogorov (2004) on float64 capacities,
    warm-started by one greedy sweep in topological order. Orders in which every node has
    at most one node directly above it, or at most one directly below it (chains,
    trees, forests), are detected and solved by :func:`~isotree.tree_isotonic_regression`
    (PAVA for a single chain). Arrays of PyTorch, CuPy or JAX are copied to the host and
    the results back to their device; there is no gradient (a tensor that requires grad
    gets a warning).

    References
    ----------
    .. [1] J. Spouge, H. Wan and W. J. Wilbur, "Least squares isotonic regression in two
       dimensions", Journal of Optimization Theory and Applications 117 (2003) 585-605,
       :doi:`10.1023/A:1023901806339`.
    .. [2] D. S. Hochbaum and M. Queyranne, "Minimum cut problems with convex separable
       costs", Mathematics of Operations Research 28 (2003) 171-189 (and D. S. Hochbaum,
       "An efficient algorithm for image segmentation, Markov random fields and related
       problems", J. ACM 48 (2001) 686-701, :doi:`10.1145/502090.502093`).
    .. [3] R. Luss and S. Rosset, "Generalized isotonic regression", Journal of
       Computational and Graphical Statistics 23 (2014) 192-210,
       :doi:`10.1080/10618600.2012.741550`.
    .. [4] J.-C. Picard, "Maximal closure of a graph and applications to combinatorial
       problems", Management Science 22 (1976) 1268-1272, :doi:`10.1287/mnsc.22.11.1268`.
    .. [5] Y. Boykov and V. Kolmogorov, "An experimental comparison of min-cut/max-flow
       algorithms for energy minimization in vision", IEEE Transactions on Pattern
       Analysis and Machine Intelligence 26 (2004) 1124-1137,
       :doi:`10.1109/TPAMI.2004.60`.

    Examples
    --------
    A diamond: node 0 is above 1 and 2, both are above 3. The data break every edge:

    >>> import isotree
    >>> edges = [(0, 1), (0, 2), (1, 3), (2, 3)]
    >>> isotree.dag_isotonic_regression([0.0, 1.0, 3.0, 2.0], edges)
    array([1.5, 1.5, 1.5, 1.5])

    Two parents: node 2 must be below both 0 and 1; only the smaller parent binds:

    >>> fit, blocks = isotree.dag_isotonic_regression(
    ...     [4.0, 1.0, 3.0], [(0, 2), (1, 2)], return_blocks=True)
    >>> fit, blocks
    (array([4., 2., 2.]), array([0, 1, 1]))
    """
    options = opt.dag(y_min=y_min, y_max=y_max, return_blocks=return_blocks)
    return _dispatch.run("dag", options, y, edges, weights, public="dag_isotonic_regression")


def grid_edges(shape: ArrayLike, increasing: bool | ArrayLike = True) -> np.ndarray:
    r"""The edges of the product order on an n-D grid: monotone along every axis.

    Node ``k`` is the entry of C-order flat index ``k`` of an array of `shape` (as
    ``numpy.ravel``). An edge ``(u, v)`` means ``fit[u] >= fit[v]``. Along an axis with
    ``increasing=True`` every entry must be ``>=`` its predecessor on that axis, giving the
    edge ``(next, previous)``; only neighbours are listed, the rest of the order follows
    by transitivity.

    Parameters
    ----------
    shape : sequence of int
        The grid's shape, e.g. ``(n_doses, n_times)``.
    increasing : bool or sequence of bool, default=True
        The direction along every axis, or one per axis.

    Returns
    -------
    ndarray of int64 of shape (m, 2)
        Pairs ``(u, v)`` meaning ``fit[u] >= fit[v]``, as
        :func:`~isotree.dag_isotonic_regression` takes them;
        :math:`m = \sum_a (s_a - 1) \prod_{b \ne a} s_b`.

    Raises
    ------
    TypeError
        If `shape` holds something other than integers (booleans included).
    ValueError
        If a size is negative, `increasing` has the wrong length, or the list would not
        fit in the machine's memory.

    Examples
    --------
    A 2 x 3 grid, increasing down the rows and along the columns; an arrow ``u ---> v``
    is the edge ``(u, v)``::

        0 <--- 1 <--- 2
        ^      ^      ^
        |      |      |
        3 <--- 4 <--- 5

    >>> import isotree
    >>> isotree.grid_edges((2, 3)).tolist()
    [[3, 0], [4, 1], [5, 2], [1, 0], [2, 1], [4, 3], [5, 4]]
    >>> isotree.grid_edges((3,), increasing=False).tolist()
    [[0, 1], [1, 2]]
    """
    dims = opt.grid_shape(shape)
    return _edges.grid_edges(dims, opt.directions(increasing, len(dims)))


def grid_isotonic_regression(y: ArrayLike, *, weights: ArrayLike | None = None,
                             increasing: bool | ArrayLike = True,
                             axes: int | ArrayLike | None = None, y_min: float | None = None,
                             y_max: float | None = None, return_blocks: bool = False) -> Any:
    r"""Isotonic regression of an array monotone along several axes (the matrix order).

    The bivariate (or n-variate) isotonic regression: with ``increasing=True`` along two
    axes, ``fit[i, j] <= fit[i + 1, j]`` and ``fit[i, j] <= fit[i, j + 1]``, e.g. a
    response that cannot fall with the dose nor with the exposure time. As edges of
    :func:`~isotree.dag_isotonic_regression` (:func:`grid_edges`), where an edge ``(u, v)``
    means ``fit[u] >= fit[v]``, every entry is an edge's ``u`` towards its predecessors.

    Parameters
    ----------
    y : array-like of shape (..., s_1, ..., s_k)
        The values. The ordered axes are `axes`; every other axis indexes independent
        problems.
    weights : array-like of the shape of `y` or of the grid, default=None
        Finite weights >= 0: per entry, or one per grid cell (the shape of `y` along
        `axes`) shared by every problem (where both readings fit, as for a square grid
        with `axes` reordered, weights of y's shape are meant). Default: all ones. A cell
        of weight 0 is a hole (a dose pair not observed): it moves no other fit, the cells
        around it stay ordered through it, and its own fit is the smallest value the order
        allows.
    increasing : bool or sequence of bool, default=True
        The direction along every ordered axis, or one per axis of `axes`.
    axes : int or sequence of int, default=None
        The ordered axes; default: all of them.
    y_min, y_max : float, default=None
        Bounds of the fit; None (or -inf, inf) means no bound. Clipping the fit to
        them gives the solution of the bounded problem.
    return_blocks : bool, default=False
        Also return every entry's block label: the C-order flat index, within its grid,
        of the block's first cell (of positive weight, where some weights are 0;
        ``numpy.unravel_index`` turns it into coordinates).

    Returns
    -------
    fit : ndarray of the shape of `y`
        The isotonic fit.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`.

    Raises
    ------
    ValueError, TypeError
        As :func:`~isotree.dag_isotonic_regression`, and for repeated or out-of-range `axes`.

    See Also
    --------
    grid_edges : the edges of the same order, for :func:`~isotree.dag_isotonic_regression`.

    Notes
    -----
    The recursive partitioning of :func:`~isotree.dag_isotonic_regression`, with the
    minimum cut found by the order's shape. One ordered axis is a chain: PAVA. Two: every
    block of the recursion is order-convex, so its best upper set meets each grid row in
    a suffix of the block's interval, and a dynamic program over the rows finds it in
    O(block size) (Spouge, Wan & Wilbur 2003), with no max-flow. Three or more: the
    max-flow on :func:`grid_edges` (about k n edges for n cells). Holes (weights of 0)
    stay in a 2-D grid as free cells of the staircase program, at no extra cost; with
    three or more axes the DAG of the other cells is solved.

    Examples
    --------
    Response to two doses (rows: drug A, columns: drug B) that must not decrease in
    either:

    >>> import numpy as np
    >>> import isotree
    >>> y = np.array([[1.0, 3.0, 2.0],
    ...               [0.0, 1.0, 4.0]])
    >>> isotree.grid_isotonic_regression(y)
    array([[0.5, 2. , 2. ],
           [0.5, 2. , 4. ]])
    >>> from isotree.testing import qp_isotonic
    >>> qp_isotonic(y.ravel(), isotree.grid_edges(y.shape)).reshape(y.shape)
    array([[0.5, 2. , 2. ],
           [0.5, 2. , 4. ]])
    """
    options = opt.grid(increasing=increasing, axes=axes, y_min=y_min, y_max=y_max,
                       return_blocks=return_blocks)
    return _dispatch.run("grid", options, y, weights, public="grid_isotonic_regression")


def dag_kkt_violation(y: ArrayLike, fit: ArrayLike, edges: ArrayLike, *,
                      weights: ArrayLike | None = None, increasing: bool = True) -> float:
    r"""How far `fit` is from the isotonic regression of `y` on a DAG: 0 means optimal.

    A certificate that needs no second solver. For edges ``(u, v)``, each meaning
    ``fit[u] >= fit[v]`` (``<=`` when ``increasing=False``), `fit` is optimal exactly
    when it is feasible and there are edge multipliers :math:`\lambda_e \ge 0`, zero on
    every edge whose inequality is slack, with

    .. math::

        w_i (y_i - f_i) = \sum_{e = (u, i)} \lambda_e - \sum_{e = (i, v)} \lambda_e
        \quad\text{for every node } i,

    i.e. the residual mass :math:`r_i = w_i (y_i - f_i)` can be carried along the tight
    edges, from the nodes with :math:`r_i < 0` down to those with :math:`r_i > 0`: a
    feasible flow, which exists exactly when the maximum flow saturates the residuals
    (Gale 1957). The multipliers are that flow.

    Parameters
    ----------
    y : array-like of shape (..., n)
        The data.
    fit : array-like of the shape of `y`
        A candidate fit.
    edges : array-like of int of shape (m, 2)
        The order, as in :func:`~isotree.dag_isotonic_regression`: an edge ``(u, v)``
        means ``fit[u] >= fit[v]``.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        The weights of the problem.
    increasing : bool, default=True
        ``False`` flips every edge (``fit[u] <= fit[v]``).

    Returns
    -------
    float
        The largest violation over all rows, relative to the data: order gaps divided by
        ``max|y|`` (``max|fit|`` if `y` is all zero), residual mass that no flow carries by
        that times the largest row sum of `w`. For each row the smaller of two readings
        counts: multipliers only on edges with equal fitted values, or also on edges whose
        gap is below ``1.5e-8`` of that scale (each such edge then counts its gap), so a fit
        from a solver whose equal values differ by round-off is not penalised. Round-off
        gives about ``n * 1e-16`` for an optimal fit.

    Raises
    ------
    ValueError, TypeError
        As :func:`~isotree.dag_isotonic_regression`, and if `fit` does not have the shape of `y`.

    Notes
    -----
    These are the Karush-Kuhn-Tucker conditions of the convex problem, sufficient as well
    as necessary. Cost: two maximum flows per row on the edges with (nearly) equal
    fitted values, plus O(n + m). Everything is computed on copies of the data scaled by
    exact powers of two (as the tree certificate does), so values near the overflow
    threshold or in the subnormal range give the same answer as ordinary ones. The flow
    value is a lower bound (every flow the kernel builds is a real flow, up to round-off),
    so a wrong fit is never certified by a failed flow; an error can only make a good fit
    look worse.

    Examples
    --------
    >>> import isotree
    >>> from isotree.dag import dag_kkt_violation
    >>> y, edges = [0.0, 1.0, 3.0, 2.0], [(0, 1), (0, 2), (1, 3), (2, 3)]
    >>> fit = isotree.dag_isotonic_regression(y, edges)
    >>> float(dag_kkt_violation(y, fit, edges))
    0.0
    >>> bool(dag_kkt_violation(y, [1.0, 1.0, 2.0, 2.0], edges) > 0.01)
    True
    """
    options = opt.certificate(increasing=increasing)
    return _dispatch.run("dag certificate", options, y, fit, edges, weights,
                         public="dag.dag_kkt_violation")
