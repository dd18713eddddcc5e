r"""Isotonic regression on any partial order (a DAG), by recursive minimum-cut partitioning.

Every problem is a set of nodes with values ``y`` and weights ``w`` and a list of edges.
An edge ``(u, v)`` means ``fit[u] >= fit[v]``: it points from the larger value to the
smaller one, as in :func:`isotree.testing.qp_isotonic`. A 2 x 3 grid increasing along both
axes (:func:`grid_edges`), with its nodes numbered in C order and every edge drawn as an
arrow ``u ---> v``::

    0 <--- 1 <--- 2          edges: (3, 0) (4, 1) (5, 2)
    ^      ^      ^                 (1, 0) (2, 1) (4, 3) (5, 4)
    |      |      |
    3 <--- 4 <--- 5

The algorithm (Spouge, Wan & Wilbur 2003; Hochbaum & Queyranne 2003; Luss & Rosset 2014).
For a block ``B`` of nodes and a level ``lam`` near its weighted mean, the *upper set*
``U`` of ``B`` (closed under the order restricted to ``B``) that maximises
``sum_U w (y - lam)`` is a maximum-weight closure, found as a minimum s-t cut. The
isotonic fit on ``B`` is ``>= lam`` on ``U`` and ``<= lam`` on ``B \ U``, so the edges
between the two parts can never bind and the two parts are solved independently. A block
none of whose upper sets gains anything takes its mean. All blocks of one round share one
flow network (their cuts are independent), so the number of max-flow calls is the depth
of the recursion, not the number of blocks. How the levels are chosen so that round-off
cannot hide a split is in :mod:`isotree._numba.partition`.

Where things run: the max-flow is the package's own (:mod:`isotree._flow`); 2-D grids use
a staircase program instead (:mod:`isotree._numba.staircase`); orders that are chains or
forests go to the chain and tree solvers.
"""

import functools
import math
import operator
import os
import sys
import warnings

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from . import _validate as v
from ._flow import Network, arcs, flow_value
from ._numba.graph import (compact_labels, grid_pieces, pieces, single_neighbours,
                           smallest_member, topological_order)
from ._numba.partition import (ABOVE, POOLED, SKEWED, any_skewed, block_stats,
                               final_groups, mark_broken, mark_broken_grid, nodes_in_state,
                               piece_means, polish, pool_violations, round_gains,
                               split_blocks)
from ._numba.staircase import best_upper_sets
from ._bridge import bridge_of
from ._dispatch import on_host
from ._engine.rows import Rows as _Rows
from .solvers import isotonic_regression, tree_isotonic_regression

__all__ = ["dag_isotonic_regression", "dag_kkt_violation", "grid_edges",
           "grid_isotonic_regression"]

# Rows of a batch solved together in one flow network: at most this many nodes + edges.
_NETWORK_SIZE = 1 << 20
_EPS = np.finfo(np.float64).eps

# Rounds reuse the last flow when augmenting paths found more than this share of the first
# round's flow after its greedy sweep (measured: about 0.25 on random DAGs, 0.05 to 0.09 on
# grids, where a fresh start costs 0.5 to 0.9 times a reused flow).
REUSE_ABOVE = 0.15
_EDGE_RULE = "an edge (u, v) means fit[u] >= fit[v]"


# --------------------------------------------------------------------------- validation


def check_edges(edges, n, name="edges"):
    """Validate the edges of a DAG on ``n`` nodes: a fresh int64 array of shape (m, 2).

    Duplicate edges are allowed. Raises for a ragged or non-(m, 2) shape, a dtype that is
    not integer (integral floats are accepted), an id outside [0, n), a self-loop, and a
    directed cycle (the message names a node on it).
    """
    return _check_edges(edges, n, name)[0]


def _check_edges(edges, n, name="edges"):
    """:func:`check_edges` and a topological order of the nodes with the lower ends of the
    edges first (the order the max-flow's warm start sweeps in)."""
    try:
        array = np.asarray(edges)
    except ValueError:  # ragged nesting: NumPy refuses to build the array
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row: "
                         f"{_EDGE_RULE}; got rows of different lengths") from None
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 2)
    if array.dtype == object:
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row: "
                         f"{_EDGE_RULE}; got rows of different lengths or objects")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row: "
                         f"{_EDGE_RULE}; got shape {array.shape}")
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
    lower, upper = np.ascontiguousarray(pairs[:, 1]), np.ascontiguousarray(pairs[:, 0])
    by_node = arcs(n, lower, upper)
    order, count = topological_order(n, by_node[0], by_node[1], by_node[2])
    if count < n:
        # A directed cycle is a strongly connected component of more than one node: name
        # the smallest node on one.
        graph = coo_matrix((np.ones(pairs.shape[0]), (upper, lower)), shape=(n, n))
        _, component = connected_components(graph, directed=True, connection="strong")
        on_cycle = np.flatnonzero(np.bincount(component)[component] > 1)
        raise ValueError(f"{name} contains a cycle through node {int(on_cycle[0])}: "
                         "the order must be acyclic")
    return pairs, order


def _check_host(function, **arrays):
    """The checks of an array of another library that the host round trip needs: a JAX
    array must be concrete, and a tensor that requires grad gets a warning like the chain
    solver's (these solvers have no differentiable version)."""
    jax = sys.modules.get("jax")
    if jax is not None:
        for name, array in arrays.items():
            if isinstance(array, jax.core.Tracer):
                raise ValueError(
                    f"{name} must be concrete (not traced by jax.jit, vmap or grad): "
                    f"isotree.{function} runs on the host, on NumPy copies of its inputs; "
                    "call it outside the traced function")
    if any(getattr(arrays.get(k), "requires_grad", False) is True for k in ("y", "weights")):
        import torch

        if torch.is_grad_enabled():
            warnings.warn(f"isotree.{function} returns a tensor without a gradient although "
                          "its input requires grad: it has no differentiable version (it "
                          "runs on the host, on NumPy copies of its inputs)", UserWarning,
                          stacklevel=3)


def _run_on_host(solve, *arrays):
    """``solve(*arrays)``, with arrays of other libraries (PyTorch, CuPy, JAX) copied to the
    host and the result copied back: these solvers run on the CPU."""
    bridge = bridge_of(*arrays)
    if bridge is None:
        return solve(*arrays)
    return on_host(bridge, lambda _, *host: solve(*host), None, arrays)


# --------------------------------------------------------------------------- any DAG


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
        The order: an edge ``(u, v)`` means ``fit[u] >= fit[v]`` (it points from the
        larger value to the smaller one, as in :func:`isotree.testing.qp_isotonic`). Any
        directed acyclic graph: several parents, several roots, isolated nodes (they keep
        their value) and repeated edges are fine. The order is the transitive closure of
        the edges, so listing only the covering pairs is enough. Use :func:`grid_edges`
        for arrays ordered along every axis.
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
        `edges` is not a DAG on the nodes (ragged or wrong shape, an id out of range, a
        self-loop, a directed cycle: the message names a node on it), or a JAX array is
        traced (this solver runs on the host).
    TypeError
        If `y` is not real numeric or `edges` does not hold integers.

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
    differences between them (checked against exact rational arithmetic with weights from
    1e-300 to 1e300 and offsets up to 1e15: ``benchmarks/fuzz_dag.py``). All blocks of a
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
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    _check_host("dag_isotonic_regression", y=y, edges=edges, weights=weights)
    solve = functools.partial(_dag_on_host, return_blocks=return_blocks)
    return _run_on_host(solve, y, edges, weights)


def _dag_on_host(y, edges, weights, return_blocks):
    """:func:`~isotree.dag_isotonic_regression` on host arrays."""
    rows = _Rows(y, weights, -1, sign=1.0)  # validated, with exact per-row scaling
    n = rows.shape[-1]
    pairs, order = _check_edges(edges, n)
    forest = as_forest(pairs, n)
    if forest is not None:
        return solve_forest(y, weights, *forest, return_blocks)
    rows_y, rows_w = rows.scaled()  # fresh arrays: the caller's are never touched
    fit, labels = solve_dag_rows(rows_y, rows_w, pairs, order)
    fit = rows.finish(fit, unscale=True)
    if return_blocks:
        return fit, rows.shape_back(labels)
    return fit


def as_forest(pairs, n):
    """``(parent, increasing)`` when the order of the edges ``pairs`` is a forest (every
    node has at most one node directly above it, or at most one directly below), as
    :func:`~isotree.tree_isotonic_regression` takes it; else None."""
    upper, lower = np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
    above, one_above, below, one_below = single_neighbours(n, upper, lower)
    if one_above:  # fit[parent] >= fit[child]: roots are maxima
        return above, False
    if one_below:  # fit[parent] <= fit[child]
        return below, True
    return None


def solve_forest(y, weights, parent, increasing, return_blocks):
    """A DAG whose order is a forest, by the tree solver (PAVA for a single chain); block
    labels as the DAG solver gives them (the smallest node of each block).

    Each row is measured from the middle of its range and moved back after, so a large
    offset of the values costs no digits of their differences (the tree solver sums
    ``w * y`` as they come); a node alone in its block keeps its value exactly.
    """
    # The engine layer will call the tree kernel here instead of the public function.
    y64, out_dtype = v.as_float(y, "y")
    n = parent.shape[0]
    if y64.size == 0:
        fit = np.empty(y64.shape, dtype=out_dtype)
        return (fit, np.empty(y64.shape, dtype=np.int64)) if return_blocks else fit
    centre = 0.5 * y64.max(axis=-1, keepdims=True) + 0.5 * y64.min(axis=-1, keepdims=True)
    fit, top = tree_isotonic_regression(y64 - centre, parent, weights=weights,
                                        increasing=increasing, return_blocks=True)
    fit += centre
    rows = np.ascontiguousarray(top.reshape(-1, n))
    offsets = (np.arange(rows.shape[0]) * n)[:, None]
    alone = (np.bincount((rows + offsets).ravel(), minlength=rows.size) == 1).reshape(
        rows.shape)[np.arange(rows.shape[0])[:, None], rows]
    fit.reshape(-1, n)[alone] = y64.reshape(-1, n)[alone]
    fit = fit.astype(out_dtype, copy=False)
    if not return_blocks:
        return fit
    labels = smallest_member(rows, np.arange(n, dtype=np.int64))
    return fit, labels.reshape(top.shape)


def _row_chunks(n_rows, n, m):
    """Slices of rows that share one flow network."""
    per_chunk = max(1, _NETWORK_SIZE // max(n + m, 1))
    return [slice(start, min(start + per_chunk, n_rows))
            for start in range(0, n_rows, per_chunk)]


def solve_dag_rows(y, w, pairs, order):
    """Fit and block labels of every row of ``y`` (R, n) on the DAG ``pairs`` (validated,
    ``order`` topological with lower ends first); ``w`` is (R, n) or (1, n). The rows of a
    chunk are disjoint copies of the DAG in one network."""
    n_rows, n = y.shape
    fit = np.empty_like(y)
    labels = np.empty(y.shape, dtype=np.int64)
    if y.size == 0:
        return fit, labels
    for rows in _row_chunks(n_rows, n, pairs.shape[0]):
        count = rows.stop - rows.start
        offsets = np.arange(count, dtype=np.int64) * n
        union = (pairs[None, :, :] + offsets[:, None, None]).reshape(-1, 2)
        union_order = (order[None, :] + offsets[:, None]).reshape(-1)
        weights = np.broadcast_to(w if w.shape[0] == 1 else w[rows], (count, n))
        f, label = partition_dag(np.ascontiguousarray(y[rows]).reshape(-1),
                                 np.ascontiguousarray(weights).reshape(-1), union[:, 1],
                                 union[:, 0], union_order)
        fit[rows] = f.reshape(count, n)
        labels[rows] = label.reshape(count, n) - offsets[:, None]
    return fit, labels


def partition_dag(y, w, lower, upper, order):
    """The fit on one (possibly disconnected) DAG, edges ``upper >= lower``, and for every
    node the smallest node of its block. ``order``: topological, lower ends first.

    The nodes are renumbered in that order first, so the rounds' passes over the open
    nodes (kept in that order) read their data in sequence.
    """
    n = y.shape[0]
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    fit_in_order, piece = _partition_in_order(np.ascontiguousarray(y[order]),
                                              np.ascontiguousarray(w[order]),
                                              position[lower], position[upper])
    fit = np.empty(n)
    fit[order] = fit_in_order
    labels = np.empty(n, dtype=np.int64)
    labels[order] = smallest_member(piece.reshape(1, n), order)[0]
    return fit, labels


def _partition_in_order(y, w, lower, upper):
    """:func:`partition_dag` on nodes numbered in a topological order."""
    n = y.shape[0]
    network = Network(n, lower, upper, np.arange(n, dtype=np.int64))
    block, _ = compact_labels(pieces(n, network.tail, network.head,
                                     np.zeros(n, dtype=np.int64)))
    state = np.zeros(n + 1, dtype=np.int64)

    def mark(nodes, count, broken):
        mark_broken(nodes, count, y, block, state, network.start, network.mid, network.nbr,
                    network.sister, network.tr_cap, network.r_cap, broken)

    skewed = _Skewed(n, lambda: (network.start, network.mid, network.nbr, network.sister))
    # Each round after the first moves the last round's flow to the new levels, with a
    # greedy sweep for the blocks that did not split (now looked at just above their
    # mean), unless the greedy sweep of a fresh start carried nearly all of the first
    # round's flow (grids and other local orders: a fresh start is then the better one),
    # or the weights are skewed (a block of light nodes must not inherit the heavy flows of
    # the block it split from: their round-off would decide its cut).
    reuse = [not (n and w.min() < SKEWED * w.max())]
    first = [True]
    unsplit = np.empty(n, dtype=np.int64)

    def cut(nodes, count, gain, upper_set, low, high, w_low, w_high):
        again = reuse[0] and not first[0]
        n_unsplit = nodes_in_state(nodes, count, block, state, ABOVE, unsplit) if again else 0
        network.max_flow(nodes, count, gain, block, reuse=again, push=unsplit,
                         n_push=n_unsplit)
        network.source_side(nodes, count, upper_set)
        if first[0]:
            reuse[0] = reuse[0] and network.augmented_share > REUSE_ABOVE
            first[0] = False
        skewed.correct(nodes, count, block, w_low, w_high, gain, upper_set)

    _rounds(y, w, block, np.arange(n, dtype=np.int64), state, mark, cut)
    group = np.empty(n, dtype=np.int64)
    final_groups(block, state, group)
    piece = pieces(n, network.tail, network.head, group)
    return _feasible_means(y, w, network.tail, network.head, piece), piece


class _Skewed:
    """The correction of the cuts of blocks with skewed weights: a floating-point cut
    decides every node whose gain stands above the round-off of the flows or sums around
    it, which a light node's gain need not; :func:`isotree._numba.partition.polish` then
    moves single nodes whose own gain says they are on the wrong side. ``make_arcs()``
    gives the arcs by node of the graph (built the first time a block is skewed)."""

    def __init__(self, n, make_arcs):
        self.n = n
        self.make_arcs = make_arcs
        self.arcs = None
        self.active = False  # whether a cut was corrected

    def correct(self, nodes, count, block, w_low, w_high, gain, upper):
        if not any_skewed(nodes, count, block, w_low, w_high):
            return
        self.active = True
        if self.arcs is None:
            self.arcs = self.make_arcs()
            self.queue = np.empty(self.n + 1, dtype=np.int64)
            self.queued = np.zeros(self.n, dtype=np.bool_)
        start, mid, nbr, _ = self.arcs
        polish(nodes, count, block, w_low, w_high, gain, upper, start, mid, nbr, self.queue,
               self.queued)


def _rounds(y, w, block, nodes, state, mark, cut):
    """Split blocks until none splits (:mod:`isotree._numba.partition`). ``block`` holds
    ids 0 .. k-1 on entry and the final blocks on exit, ``state`` (zeros, n + 1 of them:
    every id stays in use, so there are never more ids than final blocks) their final
    states; ``nodes`` lists the nodes in the order the cut wants. ``mark(nodes, count,
    broken)`` flags the blocks whose data break an edge, ``cut(nodes, count, gain, upper,
    low, high, w_min, w_max)`` marks the best upper set of every open block (given each
    block's range of ``y`` and smallest and largest weight)."""
    n = y.shape[0]
    ids = state.shape[0]
    ref, low, high, w_min, w_max, wsum, ssum, w_up, s_up, w_dn, s_dn = (
        np.empty(ids) for _ in range(11))
    n_up, n_dn, new_id = (np.empty(ids, dtype=np.int64) for _ in range(3))
    broken = np.zeros(ids, dtype=np.bool_)
    gain = np.empty(n)
    upper = np.zeros(n, dtype=np.bool_)
    count = nodes.shape[0]
    next_id = int(block.max()) + 1 if n else 0
    while count:
        block_stats(nodes, count, y, w, block, state, ref, low, high, w_min, w_max, wsum,
                    ssum, broken, w_up, s_up, n_up, w_dn, s_dn, n_dn, new_id)
        mark(nodes, count, broken)
        count = round_gains(nodes, count, y, w, block, state, ref, low, high, broken, wsum,
                            ssum, gain)
        if count == 0:
            break
        cut(nodes, count, gain, upper, low, high, w_min, w_max)
        count, next_id = split_blocks(nodes, count, y, w, block, state, ref, upper, w_up,
                                      s_up, n_up, w_dn, s_dn, n_dn, new_id, next_id)


def _feasible_means(y, w, lower, upper, piece):
    """The pieces' means, pooled further where an edge between them is broken beyond
    round-off (:func:`isotree._numba.partition.pool_violations`; ``piece`` is updated)."""
    fit = _means(y, w, piece)
    if y.size and lower.size:
        tolerance = 1e-9 * (float(y.max()) - float(y.min()))
        n = y.shape[0]
        pool_violations(y, w, lower, upper, piece, fit, tolerance,
                        *(np.empty(n) for _ in range(4)))
    return fit


def _means(y, w, piece):
    n = y.shape[0]
    fit = np.empty(n)
    low, high, wsum, ssum = (np.empty(n) for _ in range(4))
    piece_means(y, w, piece, fit, low, high, wsum, ssum)
    return fit


# --------------------------------------------------------------------------- grids


def _check_shape(shape, name="shape"):
    """A tuple of non-negative ints (bools refused)."""
    entries = np.atleast_1d(np.asarray(shape, dtype=object)).tolist()
    try:
        if any(isinstance(s, (bool, np.bool_)) for s in entries):
            raise TypeError
        dims = tuple(operator.index(s) for s in entries)
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


def _memory_bytes():
    """The machine's physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def grid_edges(shape, increasing=True):
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
    dims = _check_shape(shape)
    directions = _check_directions(increasing, len(dims))
    size = math.prod(dims)
    m = sum((s - 1) * (size // s) for s in dims if s > 0)
    needed = 16 * m + 8 * size
    available = _memory_bytes()
    if needed > (available if available is not None else np.iinfo(np.intp).max):
        raise ValueError(f"grid_edges{dims}: the {m} edges would need {needed / 2**30:.3g} "
                         f"GiB, more than this machine has")
    index = np.arange(size, dtype=np.int64).reshape(dims)
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
    response that cannot fall with the dose nor with the exposure time. As edges of
    :func:`~isotree.dag_isotonic_regression` (:func:`grid_edges`), where an edge ``(u, v)``
    means ``fit[u] >= fit[v]``, every entry is an edge's ``u`` towards its predecessors.

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
    max-flow on :func:`grid_edges` (about k n edges for n cells).

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
    _check_host("grid_isotonic_regression", y=y, weights=weights)
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
    flat = moved.reshape(flat_shape)
    if len(axes) == 1:  # a chain
        result = isotonic_regression(flat, weights=weights, increasing=directions[0],
                                     return_blocks=return_blocks)
    elif len(axes) == 2 and not _extreme_weights(weights):
        rows = _Rows(flat, weights, -1, sign=1.0)
        rows_y, rows_w = rows.scaled()
        fit, labels = solve_grid_rows(rows_y, rows_w, grid, directions)
        fit = rows.finish(fit, unscale=True)
        result = (fit, rows.shape_back(labels)) if return_blocks else fit
    else:
        result = _dag_on_host(flat, grid_edges(grid, directions), weights, return_blocks)
    if return_blocks:
        fit, labels = result
        return (np.moveaxis(fit.reshape(moved.shape), last, axes),
                np.moveaxis(labels.reshape(moved.shape), last, axes))
    return np.moveaxis(result.reshape(moved.shape), last, axes)


def _extreme_weights(weights):
    """Weights (validated, or None) that span more than ``2**53``: the staircase program's
    sums can lose a light cell's gain entirely, so such grids take the max-flow, whose cuts
    follow arcs, not sums (:mod:`isotree._numba.partition` corrects both)."""
    if weights is None:
        return False
    w = np.asarray(weights, dtype=np.float64)
    return w.size > 0 and float(w.min()) < 2.0**-53 * float(w.max())


def solve_grid_rows(y, w, shape, increasing):
    """Fit and block labels of every row of ``y`` (P, r * c), each a grid of ``shape`` (r,
    c) in C order with the directions ``increasing``; ``w`` is (P, r * c) or (1, r * c).
    All problems are stacked into one grid of P * r rows (their blocks never meet)."""
    n_problems = y.shape[0]
    r, c = shape
    fit = np.empty_like(y)
    labels = np.empty(y.shape, dtype=np.int64)
    if y.size == 0:
        return fit, labels
    # Reverse the decreasing axes: the kernels see a grid increasing along both.
    flip = (slice(None), slice(None, None, 1 if increasing[0] else -1),
            slice(None, None, 1 if increasing[1] else -1))
    grids_y = np.ascontiguousarray(y.reshape(n_problems, r, c)[flip])
    grids_w = np.ascontiguousarray(
        np.broadcast_to(w.reshape(-1, r, c), (n_problems, r, c))[flip])
    f, piece = partition_grid(grids_y.reshape(-1), grids_w.reshape(-1), n_problems * r, c, r)
    fit[:] = f.reshape(n_problems, r, c)[flip].reshape(n_problems, -1)
    local = piece.reshape(n_problems, r * c) - (np.arange(n_problems) * (r * c))[:, None]
    if increasing[0] and increasing[1]:
        labels[:] = local  # a piece's root is its smallest cell already
    else:
        index = np.arange(r * c, dtype=np.int64).reshape(r, c)[flip[1:]].reshape(-1)
        smallest = smallest_member(np.ascontiguousarray(local), index)
        labels[:] = smallest.reshape(n_problems, r, c)[flip].reshape(n_problems, -1)
    return fit, labels


def partition_grid(y, w, rows, cols, problem_rows):
    """The fit on a grid of ``rows x cols`` cells (node ``i * cols + j``) increasing along
    both axes, cut every ``problem_rows`` rows into independent problems, and for every
    cell the smallest cell of its block."""
    n = y.shape[0]
    block = np.repeat(np.arange(rows // problem_rows, dtype=np.int64), problem_rows * cols)
    ids = n + 1
    small = n < 2**31 - 1
    index = np.int32 if small else np.int64
    best = np.empty(n)
    arg, back = np.empty(n, dtype=index), np.empty(n, dtype=index)
    run_row, run_a, run_b, run_prev, run_empty_arg, run_empty_back, run_choice = (
        np.empty(n, dtype=index) for _ in range(7))
    run_empty_best = np.empty(n)
    last_run = np.full(ids, -1, dtype=index)
    is_open = np.empty(ids, dtype=np.bool_)
    state = np.zeros(ids, dtype=np.int64)

    def mark(nodes, count, broken):
        mark_broken_grid(nodes, count, cols, y, block, state, broken)

    def grid_arcs():
        edges = grid_edges((rows, cols))
        return arcs(n, np.ascontiguousarray(edges[:, 1]), np.ascontiguousarray(edges[:, 0]))

    skewed = _Skewed(n, grid_arcs)

    def cut(nodes, count, gain, upper_set, low, high, w_low, w_high):
        np.less(state, POOLED, out=is_open)
        best_upper_sets(rows, cols, block, is_open, gain, upper_set, best, arg, back,
                        run_row, run_a, run_b, run_prev, run_empty_best, run_empty_arg,
                        run_empty_back, run_choice, last_run)
        skewed.correct(nodes, count, block, w_low, w_high, gain, upper_set)

    _rounds(y, w, block, np.arange(n, dtype=np.int64), state, mark, cut)
    group = np.empty(n, dtype=np.int64)
    final_groups(block, state, group)
    piece = grid_pieces(rows, cols, group)
    if not skewed.active:
        return _means(y, w, piece), piece
    edges = grid_edges((rows, cols))
    return _feasible_means(y, w, np.ascontiguousarray(edges[:, 1]),
                           np.ascontiguousarray(edges[:, 0]), piece), piece


# --------------------------------------------------------------------------- certificate


def dag_kkt_violation(y, fit, edges, *, weights=None, increasing=True):
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
    increasing = v.check_flag(increasing, "increasing")
    _check_host("dag_kkt_violation", y=y, fit=fit, edges=edges, weights=weights)
    solve = functools.partial(_kkt_on_host, increasing=increasing)
    return _run_on_host(solve, y, fit, edges, weights)


def _kkt_on_host(y, fit, edges, weights, increasing):
    """:func:`~isotree.dag.dag_kkt_violation` on host arrays."""
    y64, _, _ = v.check_values(y)
    fit64, _, _ = v.check_values(fit, "fit")
    if fit64.shape != y64.shape:
        raise ValueError(f"fit must have the shape of y {y64.shape}; got {fit64.shape}")
    n = y64.shape[-1]
    pairs, order = _check_edges(edges, n)
    if not increasing:
        pairs, order = pairs[:, ::-1], order[::-1]
    w64, _ = v.check_weights(weights, y64.shape, y64.ndim - 1)
    if y64.size == 0:
        return 0.0
    rows_w = np.ones((1, n)) if w64 is None else w64.reshape(-1, n)
    return kkt_rows(y64.reshape(-1, n), fit64.reshape(-1, n), rows_w, pairs, order)


def _exponent(x):
    """e with 2**(e - 1) <= x < 2**e for x > 0 (frexp's exponent)."""
    return int(np.frexp(x)[1])


def kkt_rows(y, fit, w, pairs, order):
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
        worst = max(worst, _kkt_row(y[r], fit[r], row_w, pairs, order, value_scale,
                                    mass_scale))
    return worst


def _kkt_row(y, fit, w, edges, order, value_scale, mass_scale):
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
