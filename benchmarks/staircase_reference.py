"""A straightforward staircase-program solver for 2-D grids: the benchmark's reference.

The recursive partitioning as the first DAG solver wrote it (NumPy bookkeeping per round:
``bincount`` means, the cut at each block's mean, a round-off tolerance on the split's
gain), with each round's cut found by a plain Numba dynamic program over the rows instead
of a max-flow (Spouge, Wan & Wilbur 2003): fresh arrays every round, no fused bookkeeping,
no reuse. ``solve(y, weights)`` fits one grid of shape (r, c) increasing along both axes.
"""

import numba
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_EPS = np.finfo(np.float64).eps


@numba.njit(cache=True)
def _best_upper_sets(rows, cols, block, gain):
    """The maximum-gain upper set of every block (block id >= 0; convex blocks), by the
    staircase program: per block and row the suffix [t, b] of its interval [a, b]."""
    n = rows * cols
    upper = np.zeros(n, dtype=np.bool_)
    n_blocks = block.max() + 1
    last = np.full(n_blocks, -1)
    run_row = np.empty(n, np.int64)
    run_a = np.empty(n, np.int64)
    run_b = np.empty(n, np.int64)
    run_prev = np.empty(n, np.int64)
    best = np.empty(n)  # per cell: suffix max of the totals
    arg = np.empty(n, np.int64)
    back = np.empty(n, np.int64)
    empty_best = np.empty(n)
    empty_back = np.empty(n, np.int64)
    runs = 0
    for i in range(rows):
        j = 0
        while j < cols:
            b_id = block[i * cols + j]
            if b_id < 0:
                j += 1
                continue
            a = j
            while j + 1 < cols and block[i * cols + j + 1] == b_id:
                j += 1
            b = j
            j += 1
            r = runs
            runs += 1
            p = last[b_id]
            last[b_id] = r
            run_row[r] = i
            run_a[r] = a
            run_b[r] = b
            run_prev[r] = p
            linked = p >= 0 and run_row[p] == i - 1
            # totals for t = b + 1 (empty) .. a
            s = 0.0
            top = -np.inf
            top_at = b + 1
            for t in range(b + 1, a - 1, -1):
                if t <= b:
                    s += gain[i * cols + t]
                prev_total = 0.0
                prev_t = -1
                if p >= 0:
                    c = run_a[p]
                    if linked and t > a and run_a[p] <= b:
                        c = max(run_a[p], min(t, min(run_b[p], b) + 1))
                    # best of the previous run over thresholds >= c
                    if c == run_b[p] + 1:
                        prev_total = empty_best[p]
                        prev_t = run_b[p] + 1
                    else:
                        pc = run_row[p] * cols + c
                        prev_total = best[pc]
                        prev_t = arg[pc]
                value = s + prev_total
                if t == b + 1:
                    empty_best[r] = value
                    empty_back[r] = prev_t
                    top = value
                    top_at = t
                else:
                    cell = i * cols + t
                    back[cell] = prev_t
                    if value >= top:
                        top = value
                        top_at = t
                    best[cell] = top
                    arg[cell] = top_at
    choice = np.empty(runs, np.int64)
    for r in range(runs - 1, -1, -1):
        b_id = block[run_row[r] * cols + run_a[r]]
        if last[b_id] == r:
            choice[r] = arg[run_row[r] * cols + run_a[r]]
    for r in range(runs - 1, -1, -1):
        t = choice[r]
        for k in range(t, run_b[r] + 1):
            upper[run_row[r] * cols + k] = True
        p = run_prev[r]
        if p >= 0:
            choice[p] = empty_back[r] if t == run_b[r] + 1 else back[run_row[r] * cols + t]
    return upper


def solve(y, weights=None):
    rows, cols = y.shape
    y = np.asarray(y, dtype=np.float64).ravel()
    w = np.ones_like(y) if weights is None else np.asarray(weights, np.float64).ravel()
    n = y.size
    index = np.arange(n).reshape(rows, cols)
    upper_e = np.concatenate([index[1:, :].ravel(), index[:, 1:].ravel()])
    lower_e = np.concatenate([index[:-1, :].ravel(), index[:, :-1].ravel()])
    block = np.zeros(n, dtype=np.int64)
    n_blocks = 1
    settled = np.zeros(n, dtype=bool)
    identity = np.zeros(n, dtype=bool)
    while not settled.all():
        open_nodes = np.flatnonzero(~settled)
        inside = (block[upper_e] == block[lower_e]) & ~settled[upper_e]
        up, lo = upper_e[inside], lower_e[inside]
        broken = np.zeros(n_blocks, dtype=bool)
        broken[block[up[y[lo] > y[up]]]] = True
        keeps_y = ~broken[block[open_nodes]]
        identity[open_nodes[keeps_y]] = True
        settled[open_nodes[keeps_y]] = True
        open_nodes = open_nodes[~keeps_y]
        if open_nodes.size == 0:
            break
        b = block[open_nodes]
        mass = np.bincount(b, w[open_nodes] * y[open_nodes], n_blocks)
        weight = np.bincount(b, w[open_nodes], n_blocks)
        gain_open = w[open_nodes] * (y[open_nodes] - mass[b] / weight[b])
        gain = np.zeros(n)
        gain[open_nodes] = gain_open
        grid_block = np.full(n, -1, dtype=np.int64)
        grid_block[open_nodes] = b
        chosen = _best_upper_sets(rows, cols, grid_block, gain)[open_nodes]
        in_set = b[chosen]
        set_gain = np.bincount(in_set, gain_open[chosen], n_blocks)
        set_mass = np.bincount(in_set, np.abs(gain_open[chosen]), n_blocks)
        set_size = np.bincount(in_set, minlength=n_blocks)
        size = np.bincount(b, minlength=n_blocks)
        tolerance = (8.0 + np.log2(set_size + 1.0)) * _EPS * set_mass
        splits = (set_gain > tolerance) & (set_size > 0) & (set_size < size)
        new_id = np.full(n_blocks, -1, dtype=np.int64)
        new_id[splits] = n_blocks + np.arange(np.count_nonzero(splits))
        moves = chosen & splits[b]
        block[open_nodes[moves]] = new_id[b[moves]]
        n_blocks += int(np.count_nonzero(splits))
        settled[open_nodes[~splits[b]]] = True
    block[identity] = n_blocks + np.arange(np.count_nonzero(identity))
    n_blocks += int(np.count_nonzero(identity))
    keep = block[upper_e] == block[lower_e]
    graph = coo_matrix((np.ones(int(keep.sum())), (upper_e[keep], lower_e[keep])),
                       shape=(n, n))
    n_pieces, piece = connected_components(graph, directed=False)
    fit = (np.bincount(piece, w * y, n_pieces) / np.bincount(piece, w, n_pieces))[piece]
    return fit.reshape(rows, cols)
