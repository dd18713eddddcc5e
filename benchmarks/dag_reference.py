"""The DAG solver as it was before the package had its own max-flow: the same recursive
partitioning, each round's minimum cut from PyMaxflow (GPL-3, never a dependency of the
package). Kept only as the reference the benchmark measures against, and imported only
where PyMaxflow is installed.

``solve(y, edges, weights)``: the fit of one problem (1-D ``y``), exactly as
``dag_isotonic_regression`` computed it then (without the validation and scaling, which
the benchmark's data never needs).
"""

import maxflow
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_NETWORK_SIZE = 1 << 20
_EPS = np.finfo(np.float64).eps


def solve(y, edges, weights=None):
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    fit, _ = _solve_rows(y[None, :], w[None, :], np.asarray(edges, dtype=np.int64))
    return fit[0]


def _network(n_nodes, tail, head, source_cap, sink_cap):
    """A graph with arcs tail -> head of capacity "infinite" and the terminal arcs."""
    graph = maxflow.GraphFloat(n_nodes, tail.shape[0])
    nodes = graph.add_nodes(n_nodes)
    # Any capacity above the total terminal capacity can never be saturated: it is infinite.
    infinite = 2.0 * (float(source_cap.sum()) + float(sink_cap.sum())) + 1.0
    if tail.shape[0]:
        graph.add_edges(tail, head, np.full(tail.shape[0], infinite), np.zeros(tail.shape[0]))
    graph.add_grid_tedges(nodes, source_cap, sink_cap)
    return graph, nodes


def closure(n_nodes, tail, head, gain):
    """A maximum-weight closed set: ``tail`` in the set forces ``head`` in, for every arc.

    Returns a boolean mask of the nodes in the set, which maximises ``gain[set].sum()``
    (Picard 1976: a source arc of capacity ``gain`` for gains > 0, a sink arc of capacity
    ``-gain`` otherwise, the order arcs infinite; the set is the source side of a minimum
    cut). Nodes free to go either way are put in the set.
    """
    graph, nodes = _network(n_nodes, tail, head, np.maximum(gain, 0.0),
                            np.maximum(-gain, 0.0))
    graph.maxflow()
    return ~graph.get_grid_segments(nodes)


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
        u, lo = upper[inside], lower[inside]
        # Blocks whose data break none of their edges keep y.
        broken = np.zeros(n_blocks, dtype=bool)
        broken[block[u[y[lo] > y[u]]]] = True
        keeps_y = ~broken[block[open_nodes]]
        identity[open_nodes[keeps_y]] = True
        settled[open_nodes[keeps_y]] = True
        open_nodes = open_nodes[~keeps_y]
        if open_nodes.size == 0:
            break
        live = broken[block[u]]
        u, lo = u[live], lo[live]
        b = block[open_nodes]
        w_open = w[open_nodes]
        mass = np.bincount(b, w_open * y[open_nodes], n_blocks)
        weight = np.bincount(b, w_open, n_blocks)
        gain = w_open * (y[open_nodes] - mass[b] / weight[b])
        position = np.empty(n, dtype=np.int64)
        position[open_nodes] = np.arange(open_nodes.size)
        # A node of the upper set forces every node above it in: arcs lower -> upper.
        chosen = closure(open_nodes.size, position[lo], position[u], gain)
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
