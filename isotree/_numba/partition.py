"""The bookkeeping of recursive partitioning: block sums, gains, splits and final means.

Isotonic regression on a partial order by recursive partitioning (Spouge, Wan & Wilbur
2003; Hochbaum & Queyranne 2003). A *block* is a set of nodes solved on its own. For any
level ``lam``, the upper set ``U`` of a block that maximises ``sum_U w (y - lam)`` (a
maximum-weight closure) holds every node whose fit is above ``lam`` and none below it, so
the edges between ``U`` and the rest never bind and the two parts are solved apart. The
caller finds ``U`` (a minimum cut, or the staircase program on grids) between
:func:`round_gains` and :func:`split_blocks`.

Robust decisions in floating point:

- Every block is measured from its own reference (one of its values; the final means from
  the middle of their range), so the gains carry the block's spread, not the offset of
  its values (``1e8 + [0, 1, -2]`` is as exact as ``[0, 1, -2]``).
- The level is not the block's mean ``mu`` but ``mu - delta`` (state ``BELOW``), then, if
  that finds no split, ``mu + delta`` (state ``ABOVE``), with ``delta`` a few hundred ulps of
  the block's range. At the mean itself the gain of the true upper set can be tiny (heavy
  nodes at ``mu`` above a light node far below it: the gain is the light node's weight
  times its distance), and round-off of the heavy gains decides. Just below the mean every
  node whose fit is at least ``mu`` gains ``w * delta`` more than round-off, so the heavy
  nodes are in and the light node out; just above it, a light node far above the rest is
  found the same way. A block splits when its set is proper and its mean lies above the
  rest's; it is final (pooled to its mean) when neither level splits it, and then every fit
  of it lies within about ``delta`` of ``mu``.
- With skewed weights (lightest below ``SKEWED`` times heaviest) a node's gain can still
  vanish in the round-off of heavier flows or sums; its sign cannot, and :func:`polish`
  moves every node that its own gain puts on the wrong side of the cut.
- A block whose data break none of its edges keeps ``y`` (``KEEPS_Y``), without a cut.
- Cells of weight 0 (missing observations in a grid) may stay in the problem: they are no
  part of a block's reference, range, weights or sums, their gain is 0 (a cut is free to
  put them on either side, so the other cells' cuts are those of the order kept through
  them), and the caller gives them all one value, so a block of them alone is never broken.

These choices were found, and are held, by fuzzing against exact rational arithmetic
(``benchmarks/fuzz_dag.py``, ``tests/exact.py``).
"""

import numpy as np

from ._jit import jit

BELOW, ABOVE, POOLED, KEEPS_Y = 0, 1, 2, 3
# delta = SHIFT * (range of y in the block): 256 ulps, far above the round-off of the gains
# and flows that decide a cut, far below any difference of fitted values worth reporting.
SHIFT = 256 * np.finfo(np.float64).eps
# Beyond this ratio of its lightest to its heaviest weight a block's cut is checked node by
# node (:func:`polish`): a light node's gain can vanish in the round-off of heavier flows.
SKEWED = 2.0**-20


@jit
def block_stats(nodes, count, y, w, block, state, ref, low, high, w_low, w_high, wsum, ssum,
                broken, w_up, s_up, n_up, w_dn, s_dn, n_dn, new_id):
    """Every open block's reference (its first node's value), range of ``y``, smallest and
    largest weight, and sums ``w`` and ``w (y - ref)``; ``broken`` cleared except for
    blocks at ``ABOVE`` (checked the round before, and broken); the accumulators of
    :func:`split_blocks` cleared."""
    for k in range(count):
        b = block[nodes[k]]
        ref[b] = np.nan
        low[b] = np.inf
        high[b] = -np.inf
        w_low[b] = np.inf
        w_high[b] = 0.0
        wsum[b] = 0.0
        ssum[b] = 0.0
        broken[b] = state[b] == ABOVE
        w_up[b] = 0.0
        s_up[b] = 0.0
        n_up[b] = 0
        w_dn[b] = 0.0
        s_dn[b] = 0.0
        n_dn[b] = 0
        new_id[b] = -2  # undecided
    for k in range(count):
        x = nodes[k]
        b = block[x]
        if w[x] == 0.0:  # a missing cell: no data (see the module)
            continue
        if ref[b] != ref[b]:
            ref[b] = y[x]
        low[b] = min(low[b], y[x])
        high[b] = max(high[b], y[x])
        w_low[b] = min(w_low[b], w[x])
        w_high[b] = max(w_high[b], w[x])
        wsum[b] += w[x]
        ssum[b] += w[x] * (y[x] - ref[b])


@jit
def mark_broken(nodes, count, y, block, state, start, mid, nbr, sister, tr_cap, r_cap,
                broken):
    """``broken[b]`` for every new block (at ``BELOW``) with an edge inside it that the data
    break: an order arc ``x -> v`` (x the lower node; arcs of
    :func:`isotree._numba.maxflow.build_arcs`) with ``y[x] > y[v]``.

    The same pass closes the max-flow's order arcs between blocks, both ways, for the next
    round's flow (:func:`isotree._numba.maxflow.update_network`): blocks change only where
    they split, and a split makes two new blocks, so no other arc can have changed. Flow
    still on such an arc (none after an exact minimum cut; the weight bands can move a node)
    goes back to where it came from.
    """
    for k in range(count):
        x = nodes[k]
        b = block[x]
        if state[b] != BELOW:
            continue
        for p in range(start[x], mid[x]):
            v = nbr[p]
            if block[v] != b:
                back = sister[p]
                if r_cap[back] > 0.0:
                    tr_cap[x] += r_cap[back]
                    tr_cap[v] -= r_cap[back]
                    r_cap[back] = 0.0
                r_cap[p] = 0.0
            elif y[x] > y[v]:
                broken[b] = True


@jit
def mark_broken_grid(nodes, count, cols, y, block, state, broken):
    """:func:`mark_broken` on a grid increasing along rows and columns (node i * cols + j),
    without a flow network."""
    n = y.shape[0]
    for k in range(count):
        x = nodes[k]
        if state[block[x]] != BELOW:
            continue
        if (x + 1) % cols != 0 and block[x + 1] == block[x] and y[x] > y[x + 1]:
            broken[block[x]] = True
        if x + cols < n and block[x + cols] == block[x] and y[x] > y[x + cols]:
            broken[block[x]] = True


@jit
def round_gains(nodes, count, y, w, block, state, ref, low, high, broken, wsum, ssum, gain):
    """Settle the blocks whose data respect their order (``KEEPS_Y``) and write the gains
    ``w * (y - lam)`` of the nodes of every other open block at its level ``lam`` (see the
    module), measured from the block's reference. Returns the count of ``nodes`` still
    open, compacted in place (order kept)."""
    kept = 0
    for k in range(count):
        x = nodes[k]
        b = block[x]
        if not broken[b]:
            state[b] = KEEPS_Y
            continue
        nodes[kept] = x
        kept += 1
        delta = SHIFT * (high[b] - low[b])
        mean = ssum[b] / wsum[b]
        level = mean - delta if state[b] == BELOW else mean + delta
        gain[x] = w[x] * ((y[x] - ref[b]) - level)
    return kept


@jit
def any_skewed(nodes, count, block, w_low, w_high):
    """Whether an open block's lightest weight is below ``SKEWED`` times its heaviest."""
    for k in range(count):
        b = block[nodes[k]]
        if w_low[b] < SKEWED * w_high[b]:
            return True
    return False


@jit
def polish(nodes, count, block, w_low, w_high, gain, upper, start, mid, nbr, queue,
           queued):
    """Correct the upper sets of the skewed blocks node by node: take out a lowest node of a
    set whose gain is negative, put in a highest node outside with a positive gain, until
    no such node is left (every move raises the set's exact gain, so this ends). A cut
    found in floating point can misplace a node whose gain is below the round-off of the
    heavier flows around it; its own sign is never in doubt. (Arcs of
    :func:`isotree._numba.maxflow.build_arcs`: order arcs go up, the others down.)"""
    size = queue.shape[0]
    first = 0
    last = 0
    for i in range(count):
        x = nodes[i]
        b = block[x]
        queued[x] = w_low[b] < SKEWED * w_high[b]
        if queued[x]:
            queue[last] = x
            last += 1
    while first != last:
        x = queue[first]
        first = first + 1 if first + 1 < size else 0
        queued[x] = False
        b = block[x]
        if upper[x] and gain[x] < 0.0:
            for p in range(mid[x], start[x + 1]):
                v = nbr[p]
                if block[v] == b and upper[v]:
                    break
            else:  # no node of the set directly below: x leaves
                upper[x] = False
                for p in range(start[x], mid[x]):
                    v = nbr[p]
                    if block[v] == b and not queued[v]:
                        queued[v] = True
                        queue[last] = v
                        last = last + 1 if last + 1 < size else 0
        elif not upper[x] and gain[x] > 0.0:
            for p in range(start[x], mid[x]):
                v = nbr[p]
                if block[v] == b and not upper[v]:
                    break
            else:  # every node directly above is in the set: x joins
                upper[x] = True
                for p in range(mid[x], start[x + 1]):
                    v = nbr[p]
                    if block[v] == b and not queued[v]:
                        queued[v] = True
                        queue[last] = v
                        last = last + 1 if last + 1 < size else 0


@jit
def split_blocks(nodes, count, y, w, block, state, ref, upper, w_up, s_up, n_up, w_dn, s_dn,
                 n_dn, new_id, next_id):
    """Split every block whose chosen upper set is proper and has the larger mean; move
    the others one state on (``BELOW`` -> ``ABOVE`` -> ``POOLED``). New blocks start at
    ``BELOW``; the upper part takes the id ``next_id``, the lower one keeps its id (so no
    more ids are ever used than there are final blocks). The sums of the two parts
    (``*_up``, ``*_dn``) come cleared from :func:`block_stats`. Returns ``(count of nodes
    still open, compacted in place; next free id)``."""
    for k in range(count):
        x = nodes[k]
        b = block[x]
        d = w[x] * (y[x] - ref[b])
        if upper[x]:
            w_up[b] += w[x]
            s_up[b] += d
            n_up[b] += 1
        else:
            w_dn[b] += w[x]
            s_dn[b] += d
            n_dn[b] += 1
    kept = 0
    for k in range(count):
        x = nodes[k]
        b = block[x]
        if new_id[b] == -2:  # the first node of its block: decide
            if n_up[b] > 0 and n_dn[b] > 0 and s_up[b] / w_up[b] > s_dn[b] / w_dn[b]:
                new_id[b] = next_id
                state[next_id] = BELOW
                state[b] = BELOW
                next_id += 1
            else:
                new_id[b] = -1
                state[b] += 1
        if new_id[b] >= 0 and upper[x]:
            block[x] = new_id[b]
        if state[block[x]] != POOLED:
            nodes[kept] = x
            kept += 1
    return kept, next_id


@jit
def nodes_in_state(nodes, count, block, state, wanted, out):
    """The nodes of ``nodes[:count]`` whose block is in state ``wanted``, in order, into
    ``out``; returns how many."""
    k = 0
    for i in range(count):
        x = nodes[i]
        if state[block[x]] == wanted:
            out[k] = x
            k += 1
    return k


@jit
def final_groups(block, state, group):
    """``group`` for :func:`isotree._numba.graph.pieces`: a pooled block's id, and a group
    of its own (negative) for every node that keeps its value."""
    for x in range(block.shape[0]):
        group[x] = block[x] if state[block[x]] == POOLED else -1 - x


@jit
def piece_means(y, w, piece, fit, low, high, wsum, ssum):
    """``fit[x]``: the weighted mean of ``y`` over x's piece (labels in [0, n)), measured
    from the middle of the piece's range (a piece of equal values gets that value exactly);
    NaN for a piece of missing cells only."""
    n = y.shape[0]
    for x in range(n):
        p = piece[x]
        low[p] = np.inf
        high[p] = -np.inf
        wsum[p] = 0.0
        ssum[p] = 0.0
    for x in range(n):
        p = piece[x]
        if w[x] > 0.0:  # a piece of missing cells only gets NaN (the caller fills them)
            low[p] = min(low[p], y[x])
            high[p] = max(high[p], y[x])
    for x in range(n):
        p = piece[x]
        if w[x] > 0.0:
            wsum[p] += w[x]
            ssum[p] += w[x] * (y[x] - (0.5 * low[p] + 0.5 * high[p]))
    for x in range(n):
        p = piece[x]
        if wsum[p] == 0.0:
            fit[x] = np.nan  # never compared as broken by pool_violations
            continue
        mean = (0.5 * low[p] + 0.5 * high[p]) + ssum[p] / wsum[p]
        fit[x] = min(max(mean, low[p]), high[p])  # a mean lies in the range, round-off too


@jit
def pool_violations(y, w, lower, upper, piece, fit, tolerance, low, high, wsum, ssum):
    """A safety net after the partitioning: while an edge ``upper >= lower`` is broken by
    more than ``tolerance``, pool the two pieces it joins (union-find on ``piece``, roots
    the smallest node) and take the means again. Returns the number of pools (0 when the
    fit was feasible, as it is unless round-off misplaced a node that no correction
    caught: weights spread evenly over more than about 1e16)."""
    n = y.shape[0]
    pools = 0
    while True:
        merged = False
        for e in range(lower.shape[0]):
            a = piece[lower[e]]
            b = piece[upper[e]]
            if a != b and fit[lower[e]] > fit[upper[e]] + tolerance:
                while piece[a] != a:
                    a = piece[a]
                while piece[b] != b:
                    b = piece[b]
                if a != b:
                    piece[max(a, b)] = min(a, b)
                    merged = True
                    pools += 1
        if not merged:
            return pools
        for x in range(n):
            r = x
            while piece[r] != r:
                r = piece[r]
            piece[x] = r
        piece_means(y, w, piece, fit, low, high, wsum, ssum)
