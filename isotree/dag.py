r"""Isotonic regression on any partial order (a DAG), by recursive minimum-cut partitioning.

Every problem is a set of nodes with values ``y`` and weights ``w`` and a list of edges
``(u, v)``, each meaning ``fit[u] >= fit[v]``: the edge points from the larger value to the
smaller one, as in :func:`isotree.testing.qp_isotonic`. A 2 x 3 grid increasing along both
axes (:func:`grid_edges`), with its nodes numbered in C order::

    0 ---> 1 ---> 2          an arrow a ---> b means fit[a] <= fit[b],
    |      |      |          stored as the edge (b, a)
    v      v      v
    3 ---> 4 ---> 5          edges: (1, 0) (2, 1) (4, 3) (5, 4) (3, 0) (4, 1) (5, 2)

The algorithm (Spouge, Wan & Wilbur 2003; Hochbaum & Queyranne 2003; Luss & Rosset 2014).
For a block ``B`` of nodes with weighted mean ``mu``, the *upper set* ``U`` of ``B`` (closed
under the order restricted to ``B``) that maximises ``sum_U w (y - mu)`` is a maximum-weight
closure, found as a minimum s-t cut. The isotonic fit on ``B`` is ``>= mu`` on ``U`` and
``<= mu`` on ``B \ U``, so the edges between the two parts can never bind and the two parts
are solved independently. A block none of whose upper sets gains anything takes the value
``mu``. All blocks of one round share one flow network (their cuts are independent), so the
number of max-flow calls is the depth of the recursion, not the number of blocks.
"""

import functools
import math
import operator

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from . import _flow
from . import _validate as v
from ._bridge import bridge_of
from ._dispatch import on_host
from ._engine.rows import Rows as _Rows

__all__ = ["dag_isotonic_regression", "dag_kkt_violation", "grid_edges",
           "grid_isotonic_regression"]

# Rows of a batch solved together in one flow network: at most this many nodes + edges.
_NETWORK_SIZE = 1 << 20
_EPS = np.finfo(np.float64).eps


def check_edges(edges, n, name="edges"):
    """Validate the edges of a DAG on ``n`` nodes: a fresh int64 array of shape (m, 2).

    Duplicate edges are allowed. Raises for a shape other than (m, 2), a dtype that is not
    integer (integral floats are accepted), an id outside [0, n), a self-loop, and a
    directed cycle (the message names a node on it).
    """
    array = np.asarray(edges)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row meaning "
                         f"fit[u] >= fit[v]; got shape {array.shape}")
    kind = array.dtype.kind
    if kind == "f":
        finite = np.isfinite(array)
        integral = finite & (array == np.round(np.where(finite, array, 0)))
        if not integral.all():
            bad = np.argwhere(~integral)[0]
            raise ValueError(f"{name} must hold integer node indices; "
                             f"{name}[{bad[0]}, {bad[1]}] is {array[tuple(bad)]}")
    elif kind not in "iu":
        raise TypeError(f"{name} must hold integer node indices; got dtype {array.dtype}")
    out_of_range = (array < 0) | (array >= n)
    if out_of_range.any():
        bad = np.argwhere(out_of_range)[0]
        raise ValueError(f"{name} must hold node indices in [0, {n}); "
                         f"{name}[{bad[0]}, {bad[1]}] is {array[tuple(bad)]}")
    pairs = np.array(array, dtype=np.int64)
    loops = np.flatnonzero(pairs[:, 0] == pairs[:, 1])
    if loops.size:
        i = int(loops[0])
        raise ValueError(f"{name}[{i}] is ({pairs[i, 0]}, {pairs[i, 1]}): a node cannot be "
                         "ordered against itself")
    if pairs.shape[0]:
        # A directed cycle is a strongly connected component of more than one node.
        graph = coo_matrix((np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])),
                           shape=(n, n))
        _, component = connected_components(graph, directed=True, connection="strong")
        on_cycle = np.flatnonzero(np.bincount(component)[component] > 1)
        if on_cycle.size:
            raise ValueError(f"{name} contains a cycle through node {int(on_cycle[0])}: "
                             "the order must be acyclic")
    return pairs


def dag_isotonic_regression(y, edges, *, weights=None, return_blocks=False):
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
        Pairs ``(u, v)`` of node indices meaning ``fit[u] >= fit[v]`` (the orientation of
        :func:`isotree.testing.qp_isotonic`). Any directed acyclic graph: several parents,
        several roots, isolated nodes (they keep their value) and repeated edges are fine.
        The order is the transitive closure of the edges, so listing only the covering
        pairs is enough. Use :func:`grid_edges` for arrays ordered along every axis.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        Positive, finite weights; ``(n,)`` is shared by every row. Default: all ones.
    return_blocks : bool, default=False
        Also return, for every node, its block's label: the smallest node index in the
        block. Blocks are connected (through the edges) sets of nodes pooled to one value,
        the weighted mean of `y` over them; two blocks can share a value, so use these
        labels, not equal values.

    Returns
    -------
    fit : ndarray of the shape of `y`
        The isotonic fit.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`: the block labels.

    Raises
    ------
    ValueError
        If `y` or `weights` has a NaN or inf, a weight is <= 0, a shape does not match,
        or `edges` is not a DAG on the nodes (wrong shape, an id out of range, a
        self-loop, a directed cycle: the message names a node on it).
    TypeError
        If `y` is not real numeric or `edges` does not hold integers.
    ImportError
        If the optional max-flow library PyMaxflow is missing
        (``pip install 'isotree-ir[dag]'``).

    See Also
    --------
    grid_isotonic_regression : arrays increasing along each axis (the matrix order).
    tree_isotonic_regression : faster when the order is a tree or forest.
    isotonic_regression : chains.
    isotree.dag.dag_kkt_violation : certify a fit.

    Notes
    -----
    For a block :math:`B` with weighted mean :math:`\mu`, the upper set :math:`U \subseteq
    B` maximising :math:`\sum_{i \in U} w_i (y_i - \mu)` is a maximum-weight closure,
    found as a minimum cut (Picard 1976). The fit on :math:`B` is :math:`\ge \mu` on
    :math:`U` and :math:`\le \mu` on :math:`B \setminus U` (Spouge, Wan & Wilbur 2003,
    Theorem 1; Hochbaum & Queyranne 2003), so both parts are solved on their own; a block
    that no upper set improves is a level set of the fit. All blocks of a round share one
    max-flow problem, so the cost is (rounds) x (one max-flow on at most n nodes and m
    edges); the rounds are typically O(log n) and at most n. Blocks whose data already
    respect their order, and the weakly connected components, are settled without a cut.
    Every block of the result gets the exact weighted mean of `y` over it. A split is made
    only when it gains more than the round-off of the sums that measure it.

    The max-flow library is PyMaxflow (Boykov & Kolmogorov 2004), an optional dependency.
    Its cost grows with the distance over which values are pooled: long chains that pool
    into few blocks are its slow case (a chain of 10^4 pooled into one block: about 2 s),
    so prefer the chain and tree solvers where the order is one. Arrays of PyTorch, CuPy or
    JAX are copied to the host and the results back to their device.

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
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    solve = functools.partial(_dag_on_host, return_blocks=return_blocks)
    return _run_on_host(solve, y, edges, weights)


def _run_on_host(solve, *arrays):
    """``solve(*arrays)``, with arrays of other libraries (PyTorch, CuPy, JAX) copied to the
    host and the result copied back: the flow library runs on the CPU."""
    bridge = bridge_of(*arrays)
    if bridge is None:
        return solve(*arrays)
    return on_host(bridge, lambda _, *host: solve(*host), None, arrays)


def _dag_on_host(y, edges, weights, return_blocks):
    """:func:`~isotree.dag_isotonic_regression` on host arrays."""
    rows = _Rows(y, weights, -1, sign=1.0)  # validated, with exact per-row scaling
    pairs = check_edges(edges, rows.shape[-1])
    rows_y, rows_w = rows.scaled()  # fresh arrays: the caller's are never touched
    fit, labels = _solve_rows(rows_y, rows_w, pairs)
    fit = rows.finish(fit, unscale=True)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit


def _row_chunks(n_rows, n, m):
    """Slices of rows that share one flow network."""
    per_chunk = max(1, _NETWORK_SIZE // max(n + m, 1))
    return [slice(start, min(start + per_chunk, n_rows))
            for start in range(0, n_rows, per_chunk)]


def _solve_rows(y, w, edges):
    """Fit and block labels of every row of ``y`` (R, n); ``w`` is (R, n) or (1, n)."""
    n_rows, n = y.shape
    fit = np.empty_like(y)
    labels = np.empty(y.shape, dtype=np.int64)
    if y.size == 0:
        return fit, labels
    for rows in _row_chunks(n_rows, n, edges.shape[0]):
        count = rows.stop - rows.start
        # The rows of a chunk are disjoint copies of the DAG in one graph.
        offsets = (np.arange(count, dtype=np.int64) * n)[:, None, None]
        union = (edges[None, :, :] + offsets).reshape(-1, 2)
        weights = np.broadcast_to(w if w.shape[0] == 1 else w[rows], (count, n))
        f, label = _partition(y[rows].ravel(), np.ascontiguousarray(weights).ravel(), union)
        fit[rows] = f.reshape(count, n)
        labels[rows] = (label.reshape(count, n) - offsets[:, :, 0])
    return fit, labels


def _partition(y, w, edges):
    """The exact fit on one (possibly disconnected) DAG and every node's block label.

    ``block`` holds a block id per node; a block is *settled* when its nodes are final.
    Settled blocks either pool to their mean (no upper set gains) or keep ``y`` (their data
    already respect their order; ``identity`` marks them).
    """
    n = y.shape[0]
    upper, lower = edges[:, 0], edges[:, 1]
    n_blocks, block = _components(n, upper, lower, np.ones(edges.shape[0], dtype=bool))
    settled = np.zeros(n, dtype=bool)
    identity = np.zeros(n, dtype=bool)
    while True:
        open_nodes = np.flatnonzero(~settled)
        if open_nodes.size == 0:
            break
        # Edges inside an open block (both ends in one block: both open or both settled).
        inside = (block[upper] == block[lower]) & ~settled[upper]
        u, l = upper[inside], lower[inside]
        # Blocks whose data break none of their edges keep y.
        broken = np.zeros(n_blocks, dtype=bool)
        broken[block[u[y[l] > y[u]]]] = True
        keeps_y = ~broken[block[open_nodes]]
        identity[open_nodes[keeps_y]] = True
        settled[open_nodes[keeps_y]] = True
        open_nodes = open_nodes[~keeps_y]
        if open_nodes.size == 0:
            break
        live = broken[block[u]]
        u, l = u[live], l[live]
        b = block[open_nodes]
        w_open = w[open_nodes]
        mass = np.bincount(b, w_open * y[open_nodes], n_blocks)
        weight = np.bincount(b, w_open, n_blocks)
        gain = w_open * (y[open_nodes] - mass[b] / weight[b])
        position = np.empty(n, dtype=np.int64)
        position[open_nodes] = np.arange(open_nodes.size)
        # A node of the upper set forces every node above it in: arcs lower -> upper.
        chosen = _flow.closure(open_nodes.size, position[l], position[u], gain)
        splits = _splits(b, chosen, gain, n_blocks)
        new_id = np.full(n_blocks, -1, dtype=np.int64)
        new_id[splits] = n_blocks + np.arange(np.count_nonzero(splits))
        moves = chosen & splits[b]
        block[open_nodes[moves]] = new_id[b[moves]]
        n_blocks += int(np.count_nonzero(splits))
        settled[open_nodes[~splits[b]]] = True
    # A node that keeps y is a block of its own; a pooled block is reported as its
    # connected pieces (all with its mean: a piece is an upper and a lower set of it).
    block[identity] = n_blocks + np.arange(np.count_nonzero(identity))
    n_blocks += int(np.count_nonzero(identity))
    n_pieces, piece = _components(n, upper, lower, block[upper] == block[lower])
    fit = (np.bincount(piece, w * y, n_pieces) / np.bincount(piece, w, n_pieces))[piece]
    first = np.full(n_pieces, n, dtype=np.int64)
    np.minimum.at(first, piece, np.arange(n, dtype=np.int64))
    _check_feasible(fit, y, upper, lower)
    return fit, first[piece]


def _splits(b, chosen, gain, n_blocks):
    """Blocks whose chosen upper set is a proper subset that gains beyond round-off."""
    in_set = b[chosen]
    set_gain = np.bincount(in_set, gain[chosen], n_blocks)
    set_mass = np.bincount(in_set, np.abs(gain[chosen]), n_blocks)
    set_size = np.bincount(in_set, minlength=n_blocks)
    size = np.bincount(b, minlength=n_blocks)
    # The computed gain of a set differs from its exact gain by at most about
    # (log2(size) + a few) ulps of the sum of |gain| over the set.
    tolerance = (8.0 + np.log2(set_size + 1.0)) * _EPS * set_mass
    return (set_gain > tolerance) & (set_size > 0) & (set_size < size)


def _components(n, upper, lower, keep):
    """Weakly connected components of the graph of the edges where ``keep`` holds."""
    graph = coo_matrix((np.ones(int(np.count_nonzero(keep))), (upper[keep], lower[keep])),
                       shape=(n, n))
    return connected_components(graph, directed=False)


def _check_feasible(fit, y, upper, lower):
    """Guard against a max-flow library that returned a wrong cut: the fit must be feasible."""
    if upper.size == 0:
        return
    worst = float(np.max(fit[lower] - fit[upper]))
    if worst > np.sqrt(_EPS) * max(float(np.abs(y).max()), np.finfo(np.float64).tiny):
        raise RuntimeError(f"dag_isotonic_regression: the fit breaks an edge by {worst:g}; "
                           "the max-flow library returned an inexact cut")


def _check_shape(shape, name="shape"):
    """A tuple of non-negative ints."""
    try:
        dims = tuple(operator.index(s) for s in np.atleast_1d(np.asarray(shape, dtype=object)))
    except TypeError:
        raise TypeError(f"{name} must be a sequence of integers; got {shape!r}") from None
    if any(s < 0 for s in dims):
        raise ValueError(f"{name} must hold sizes >= 0; got {dims}")
    return dims


def _check_directions(increasing, ndim):
    """One bool per axis from a bool or a sequence of bools."""
    if isinstance(increasing, (bool, np.bool_)):
        return (bool(increasing),) * ndim
    try:
        directions = tuple(increasing)
    except TypeError:
        raise TypeError("increasing must be True, False or one of them per axis; "
                        f"got {increasing!r}") from None
    if len(directions) != ndim:
        raise ValueError(f"increasing must have one entry per ordered axis ({ndim}); "
                         f"got {len(directions)}")
    return tuple(v.check_flag(d, "increasing") for d in directions)


def grid_edges(shape, increasing=True):
    r"""The edges of the product order on an n-D grid: monotone along every axis.

    Node ``k`` is the entry of C-order flat index ``k`` of an array of `shape` (as
    ``numpy.ravel``). Along an axis with ``increasing=True`` every entry must be ``>=``
    its predecessor on that axis, giving the edge ``(next, previous)``; only neighbours
    are listed, the rest of the order follows by transitivity.

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

    Examples
    --------
    A 2 x 3 grid, increasing down the rows and along the columns::

        0 ---> 1 ---> 2
        |      |      |
        v      v      v
        3 ---> 4 ---> 5

    >>> import isotree
    >>> isotree.grid_edges((2, 3)).tolist()
    [[3, 0], [4, 1], [5, 2], [1, 0], [2, 1], [4, 3], [5, 4]]
    >>> isotree.grid_edges((3,), increasing=False).tolist()
    [[0, 1], [1, 2]]
    """
    dims = _check_shape(shape)
    directions = _check_directions(increasing, len(dims))
    index = np.arange(math.prod(dims), dtype=np.int64).reshape(dims)
    parts = []
    for axis, (size, up) in enumerate(zip(dims, directions)):
        before = np.take(index, np.arange(size - 1), axis=axis).ravel()
        after = np.take(index, np.arange(1, size), axis=axis).ravel()
        parts.append(np.stack([after, before] if up else [before, after], axis=1))
    if not parts:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(parts)


def grid_isotonic_regression(y, *, weights=None, increasing=True, axes=None,
                             return_blocks=False):
    r"""Isotonic regression of an array monotone along several axes (the matrix order).

    The bivariate (or n-variate) isotonic regression: with ``increasing=True`` along two
    axes, ``fit[i, j] <= fit[i + 1, j]`` and ``fit[i, j] <= fit[i, j + 1]``, e.g. a
    response that cannot fall with the dose nor with the exposure time.

    Parameters
    ----------
    y : array-like of shape (..., s_1, ..., s_k)
        The values. The ordered axes are `axes`; every other axis indexes independent
        problems.
    weights : array-like of the shape of `y` or of the grid, default=None
        Positive, finite weights: per entry, or one per grid cell (the shape of `y` along
        `axes`) shared by every problem. Default: all ones.
    increasing : bool or sequence of bool, default=True
        The direction along every ordered axis, or one per axis of `axes`.
    axes : int or sequence of int, default=None
        The ordered axes; default: all of them.
    return_blocks : bool, default=False
        Also return every entry's block label: the C-order flat index, within its grid,
        of the block's first cell (``numpy.unravel_index`` turns it into coordinates).

    Returns
    -------
    fit : ndarray of the shape of `y`
        The isotonic fit.
    blocks : ndarray of int64 of the shape of `y`
        Only if `return_blocks`.

    Raises
    ------
    ValueError, TypeError, ImportError
        As :func:`~isotree.dag_isotonic_regression`, and for repeated or out-of-range `axes`.

    See Also
    --------
    grid_edges : the edges of the same order, for :func:`~isotree.dag_isotonic_regression`.

    Notes
    -----
    The same solver as :func:`~isotree.dag_isotonic_regression` on :func:`grid_edges`. On a 2-D
    grid with n cells the order has about 2n edges.

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
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    solve = functools.partial(_grid_on_host, increasing=increasing, axes=axes,
                              return_blocks=return_blocks)
    return _run_on_host(solve, y, weights)


def _grid_on_host(y, weights, increasing, axes, return_blocks):
    """:func:`grid_isotonic_regression` on host arrays."""
    y64, _, _ = v.check_values(y)
    if axes is None:
        axes = tuple(range(y64.ndim))
    else:
        axes = tuple(np.atleast_1d(np.asarray(axes, dtype=object)))
        axes = tuple(v.check_axis(a, y64.ndim, "axes") for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axes must not repeat an axis; got {axes}")
    directions = _check_directions(increasing, len(axes))
    grid = tuple(y64.shape[a] for a in axes)
    last = tuple(range(y64.ndim - len(axes), y64.ndim))
    moved = np.moveaxis(np.asarray(y), axes, last)
    flat_shape = moved.shape[:moved.ndim - len(axes)] + (math.prod(grid),)
    if weights is not None:
        w = np.asarray(weights)
        if w.shape == y64.shape:
            v.check_weights(w, y64.shape, 0)  # errors name the index in y's coordinates
            weights = np.moveaxis(w, axes, last).reshape(flat_shape)
        elif w.shape == grid:
            v.check_weights(w, grid, 0)
            weights = w.reshape(-1)
        else:
            raise ValueError(f"weights must have the shape of y {y64.shape} or of its grid "
                             f"{grid}; got {w.shape}")
    result = _dag_on_host(moved.reshape(flat_shape), grid_edges(grid, directions), weights,
                          return_blocks)
    if return_blocks:
        fit, labels = result
        return (np.moveaxis(fit.reshape(moved.shape), last, axes),
                np.moveaxis(labels.reshape(moved.shape), last, axes))
    return np.moveaxis(result.reshape(moved.shape), last, axes)


def dag_kkt_violation(y, fit, edges, *, weights=None, increasing=True):
    r"""How far `fit` is from the isotonic regression of `y` on a DAG: 0 means optimal.

    A certificate that needs no second solver. For edges ``(u, v)`` meaning
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
        The order, as in :func:`~isotree.dag_isotonic_regression`.
    weights : array-like of shape (n,) or the shape of `y`, default=None
        The weights of the problem.
    increasing : bool, default=True
        ``False`` flips every edge (``fit[u] <= fit[v]``).

    Returns
    -------
    float
        The largest violation over all rows, relative to the data: order gaps divided by
        ``max|y|``, residual mass that no flow carries by ``max|y| * sum(w)``. For each
        row the smaller of two readings counts: multipliers only on edges with equal
        fitted values, or also on edges whose gap is below ``1.5e-8 * max|y|`` (each such
        edge then counts its gap), so a fit from a solver whose equal values differ by
        round-off is not penalised. Round-off gives about ``n * 1e-16`` for an optimal
        fit.

    Raises
    ------
    ValueError, TypeError, ImportError
        As :func:`~isotree.dag_isotonic_regression`, and if `fit` does not have the shape of `y`.

    Notes
    -----
    These are the Karush-Kuhn-Tucker conditions of the convex problem, sufficient as well
    as necessary. Cost: two maximum flows per row on the edges with (nearly) equal
    fitted values, plus O(n + m). The flow value is a lower bound found by the library
    (every flow it builds is a real flow), so a fit is never certified by a library
    error; an error can only make a good fit look worse.

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
    increasing = v.check_flag(increasing, "increasing")
    solve = functools.partial(_kkt_on_host, increasing=increasing)
    return _run_on_host(solve, y, fit, edges, weights)


def _kkt_on_host(y, fit, edges, weights, increasing):
    """:func:`~isotree.dag.dag_kkt_violation` on host arrays."""
    y64, _, largest_y = v.check_values(y)
    fit64, _, _ = v.check_values(fit, "fit")
    if fit64.shape != y64.shape:
        raise ValueError(f"fit must have the shape of y {y64.shape}; got {fit64.shape}")
    n = y64.shape[-1]
    pairs = check_edges(edges, n)
    if not increasing:
        pairs = pairs[:, ::-1]
    w64, _ = v.check_weights(weights, y64.shape, y64.ndim - 1)
    if y64.size == 0:
        return 0.0
    rows_y, rows_fit = y64.reshape(-1, n), fit64.reshape(-1, n)
    rows_w = np.ones((1, n)) if w64 is None else w64.reshape(-1, n)
    value_scale = largest_y or 1.0
    mass_scale = value_scale * float(rows_w.sum(axis=1).max())
    worst = 0.0
    for r in range(rows_y.shape[0]):
        w = rows_w[0] if rows_w.shape[0] == 1 else rows_w[r]
        worst = max(worst, _kkt_row(rows_y[r], rows_fit[r], w, pairs, value_scale,
                                    mass_scale))
    return worst


def _kkt_row(y, fit, w, edges, value_scale, mass_scale):
    """The certificate of one row (see :func:`~isotree.dag.dag_kkt_violation`)."""
    n = y.shape[0]
    upper, lower = edges[:, 0], edges[:, 1]
    gap = (fit[upper] - fit[lower]) / value_scale
    infeasible = max(0.0, -float(gap.min())) if gap.size else 0.0
    residual = w * (y - fit)
    supply, demand = np.maximum(-residual, 0.0), np.maximum(residual, 0.0)
    total = max(float(supply.sum()), float(demand.sum()))
    readings = []
    for support in (gap <= 0.0, gap <= np.sqrt(_EPS)):
        carried = _flow.flow_value(n, upper[support], lower[support], supply, demand)
        slack = float(np.max(gap[support], initial=0.0))
        readings.append(max((total - carried) / mass_scale, slack))
    return max(infeasible, min(readings))
