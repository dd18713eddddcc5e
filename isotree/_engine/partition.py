"""Recursive partitioning on the host: the rounds of cuts that solve any DAG and 2-D grids.

For a block ``B`` of nodes and a level ``lam`` near its weighted mean, the *upper set*
``U`` of ``B`` (closed under the order restricted to ``B``) that maximises
``sum_U w (y - lam)`` is a maximum-weight closure, found as a minimum s-t cut. The isotonic
fit on ``B`` is ``>= lam`` on ``U`` and ``<= lam`` on ``B \\ U``, so the edges between the
two parts can never bind and the two parts are solved independently. A block none of whose
upper sets gains anything takes its mean. All blocks of one round share one flow network
(their cuts are independent), so the number of max-flow calls is the depth of the
recursion, not the number of blocks. How the levels are chosen so that round-off cannot
hide a split is in :mod:`isotree._numba.partition`; the cut is the package's max-flow
(:mod:`isotree._flow`) on any DAG and a staircase program
(:mod:`isotree._numba.staircase`) on 2-D grids.

Every function here takes rows already validated and scaled (:mod:`.rows`).
"""

import numpy as np

from .._flow import Network, arcs
from .._numba.graph import compact_labels, grid_pieces, pieces, smallest_member
from .._numba.partition import (
    ABOVE,
    POOLED,
    SKEWED,
    any_skewed,
    block_stats,
    final_groups,
    mark_broken,
    mark_broken_grid,
    nodes_in_state,
    piece_means,
    polish,
    pool_violations,
    round_gains,
    split_blocks,
)
from .._numba.staircase import best_upper_sets
from .edges import grid_edges

# Rows of a batch solved together in one flow network: at most this many nodes + edges.
NETWORK_SIZE = 1 << 20

# Rounds reuse the last flow when augmenting paths found more than this share of the first
# round's flow after its greedy sweep (measured: about 0.25 on random DAGs, 0.05 to 0.09 on
# grids, where a fresh start costs 0.5 to 0.9 times a reused flow).
REUSE_ABOVE = 0.15


def dag_rows(y, w, pairs, order):
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


def _row_chunks(n_rows, n, m):
    """Slices of rows that share one flow network."""
    per_chunk = max(1, NETWORK_SIZE // max(n + m, 1))
    return [slice(start, min(start + per_chunk, n_rows))
            for start in range(0, n_rows, per_chunk)]


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


def grid_rows(y, w, shape, increasing):
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
        edges = grid_edges((rows, cols), (True, True))
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
    edges = grid_edges((rows, cols), (True, True))
    return _feasible_means(y, w, np.ascontiguousarray(edges[:, 1]),
                           np.ascontiguousarray(edges[:, 0]), piece), piece


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
