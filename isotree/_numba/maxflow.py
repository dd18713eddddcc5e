"""Maximum flow and minimum cut on float64 capacities: Boykov-Kolmogorov, warm-started.

Y. Boykov and V. Kolmogorov, "An experimental comparison of min-cut/max-flow algorithms for
energy minimization in vision", IEEE TPAMI 26 (2004) 1124-1137, doi:10.1109/TPAMI.2004.60;
the structure follows V. Kolmogorov's maxflow 3.0x: two search trees, one grown from the
source and one from the sink; an arc between them is an augmenting path; the arcs an
augmentation saturates cut nodes off their trees ("orphans"), which look for a new parent
in their tree or become free. Two choices of that code are kept: the distance/timestamp
heuristic (a node's distance to its terminal, valid at time ``ts``, picks short parents)
and processing a node again right after it found a path. Deviations: one FIFO queue of
active nodes and one FIFO queue of orphans (the original puts orphans of an augmentation at
the front), arrays instead of pointers, and arcs that exist only while both ends are in the
same ``group``.

The networks here are those of isotonic regression: every order arc has infinite
capacity, and each node has one terminal capacity ``tr_cap`` (> 0: from the source, < 0: to
the sink). The arcs of node ``x`` are the positions ``start[x] .. start[x + 1] - 1`` of
the arrays ``nbr`` (the other end), ``sister`` (the position of the reverse arc) and
``r_cap`` (the residual capacity: inf on an order arc, the flow sent so far on its
reverse); the order arcs come first, up to ``mid[x]``. All capacities are float64: no
scaling to integers, which would change the cuts; an infinite residual stays infinite.

:func:`warm_start` first sends flow greedily along the arcs in topological order, which
leaves BK nothing to do on chains and in-forests and little on most orders;
:func:`update_network` moves a maximum flow to new capacities, for the next round of the
partitioning.
"""

import numpy as np

from ._jit import jit

FREE = -1  # parent of a node in no tree
TERMINAL = -2  # parent of a node attached directly to its terminal
ORPHAN = -3  # parent of a node cut off its tree, waiting for adoption
_FAR = np.int64(1) << 62  # "no path to a terminal" in the distance heuristic


@jit
def build_arcs(n, tail, head, index_dtype):
    """The arc arrays of the edges ``tail[e] -> head[e]``: ``(start, mid, nbr, sister)``
    (see the module); each node's order arcs, then its reverse arcs, keep the order of the
    edges."""
    m = tail.shape[0]
    start = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        start[tail[e] + 1] += 1
        start[head[e] + 1] += 1
    for x in range(n):
        start[x + 1] += start[x]
    mid = start[:n].copy()
    for e in range(m):
        mid[tail[e]] += 1
    nbr = np.empty(2 * m, dtype=index_dtype)
    sister = np.empty(2 * m, dtype=index_dtype)
    out = start[:n].copy()
    back = mid.copy()
    for e in range(m):
        p = out[tail[e]]
        out[tail[e]] += 1
        q = back[head[e]]
        back[head[e]] += 1
        nbr[p] = head[e]
        nbr[q] = tail[e]
        sister[p] = q
        sister[q] = p
    return start, mid, nbr, sister


@jit
def load_network(nodes, count, capacity, group, start, mid, nbr, sister, tr_cap, r_cap,
                 previous):
    """Start a network on ``nodes[:count]``: terminal capacities from ``capacity`` (kept in
    ``previous`` for :func:`update_network`), no flow, and only the order arcs whose ends
    share a ``group``. Both directions of every arc at these nodes are set, so no arc from
    a node outside (a stale one of an earlier network) leads in."""
    for k in range(count):
        x = nodes[k]
        tr_cap[x] = capacity[x]
        previous[x] = capacity[x]
        g = group[x]
        for p in range(start[x], mid[x]):
            r_cap[p] = np.inf if group[nbr[p]] == g else 0.0
            r_cap[sister[p]] = 0.0
        for p in range(mid[x], start[x + 1]):
            r_cap[p] = 0.0
            r_cap[sister[p]] = np.inf if group[nbr[p]] == g else 0.0


@jit
def update_network(nodes, count, capacity, tr_cap, previous):
    """Move a maximum flow to new terminal capacities: ``tr_cap`` changes by ``capacity -
    previous`` on ``nodes[:count]`` (and ``previous`` becomes ``capacity``).

    The reparametrisation of P. Kohli and P. H. S. Torr, "Efficiently solving dynamic
    Markov random fields using graph cuts", ICCV 2005: a terminal capacity is the
    difference of the source and sink capacities, and adding one constant to both changes
    no cut, so the old flow stays a flow of the new network.
    Before, the caller closes the order arcs between groups that split (``r_cap`` 0): an
    arc from the sink side to the source side of a minimum cut carries no flow (its reverse
    residual is already 0), so a split along the last cut loses none.
    """
    for k in range(count):
        x = nodes[k]
        tr_cap[x] += capacity[x] - previous[x]
        previous[x] = capacity[x]


@jit
def push_up(order, count, start, mid, nbr, sister, tr_cap, r_cap):
    """The upward sweep of :func:`warm_start`: in ``order[:count]`` (tails first) each node's
    excess (positive ``tr_cap``) goes first to the heads of its open order arcs that still
    have sink capacity, the rest along its first open order arc; a node with none keeps it.
    """
    for k in range(count):
        x = order[k]
        excess = tr_cap[x]
        if excess <= 0.0:
            continue
        first = -1
        for p in range(start[x], mid[x]):
            if r_cap[p] <= 0.0:
                continue
            if first < 0:
                first = p
            v = nbr[p]
            if tr_cap[v] < 0.0:
                amount = min(excess, -tr_cap[v])
                r_cap[sister[p]] += amount
                tr_cap[v] += amount
                excess -= amount
                if excess == 0.0:
                    break
        if excess > 0.0 and first >= 0:
            r_cap[sister[first]] += excess
            tr_cap[nbr[first]] += excess
            excess = 0.0
        tr_cap[x] = excess


@jit
def warm_start(order, count, start, mid, nbr, sister, tr_cap, r_cap, own):
    """A feasible flow to start from, in two sweeps over ``order[:count]`` (tails first).

    Up: :func:`push_up`. Down: a node left holding more than its own source capacity
    ``own[x]`` sends the surplus back along the arcs it came in on. The result is a flow
    of the network as given (``tr_cap`` stays within ``[-sink, own]``), so its value is
    the flow's; it is a maximum flow on chains and in-forests. Expects the network just
    loaded (no flow).
    """
    push_up(order, count, start, mid, nbr, sister, tr_cap, r_cap)
    for k in range(count - 1, -1, -1):
        x = order[k]
        allowed = max(own[x], 0.0)
        if tr_cap[x] <= allowed:
            continue
        surplus = tr_cap[x] - allowed
        for p in range(mid[x], start[x + 1]):
            # A reverse arc with residual: flow came in along its sister.
            if r_cap[p] <= 0.0:
                continue
            amount = min(surplus, r_cap[p])
            r_cap[p] -= amount
            tr_cap[nbr[p]] += amount
            surplus -= amount
            if surplus == 0.0:
                break
        # Anything left is round-off of the sums: the node keeps exactly its own capacity.
        tr_cap[x] = allowed


@jit
def _activate(x, queue, in_queue, last, size):
    """Append ``x`` to the circular FIFO of active nodes (once)."""
    if in_queue[x]:
        return last
    in_queue[x] = True
    queue[last] = x
    last += 1
    if last == size:
        last = 0
    return last


@jit
def _orphan(x, parent, orphans, last, size):
    parent[x] = ORPHAN
    orphans[last] = x
    last += 1
    if last == size:
        last = 0
    return last


@jit
def boykov_kolmogorov(nodes, count, start, nbr, sister, tr_cap, r_cap, parent, is_sink, ts,
                      dist, queue, in_queue, orphans):
    """Complete the flow on the network of ``nodes[:count]`` to a maximum flow.

    ``tr_cap`` and ``r_cap`` hold a feasible flow on entry (none, or a :func:`warm_start`)
    and a maximum flow on exit. The other arrays are scratch of length n (``queue`` and
    ``orphans`` n + 1); every node outside ``nodes[:count]`` must be FREE and have no arc
    with residual capacity to or from the network. On exit the nodes that can still reach
    the sink are those with ``parent != FREE`` and ``is_sink``; the others form the
    maximal source side of a minimum cut. Returns the flow the augmenting paths added.
    """
    size = queue.shape[0]
    first = 0
    last = 0
    for k in range(count):
        x = nodes[k]
        in_queue[x] = False
        ts[x] = 0
        dist[x] = 1
        if tr_cap[x] > 0.0:
            is_sink[x] = False
            parent[x] = TERMINAL
            last = _activate(x, queue, in_queue, last, size)
        elif tr_cap[x] < 0.0:
            is_sink[x] = True
            parent[x] = TERMINAL
            last = _activate(x, queue, in_queue, last, size)
        else:
            parent[x] = FREE
    time = 0
    total = 0.0
    o_size = orphans.shape[0]
    current = -1
    while True:
        # The node that just found a path is grown again; else the next active one.
        i = -1
        if current >= 0:
            in_queue[current] = False
            if parent[current] != FREE:
                i = current
        while i < 0 and first != last:
            x = queue[first]
            first += 1
            if first == size:
                first = 0
            in_queue[x] = False
            if parent[x] != FREE:
                i = x
        if i < 0:
            break
        # Grow i's tree by one layer; stop at an arc into the other tree.
        middle = -1
        if not is_sink[i]:
            for a in range(start[i], start[i + 1]):
                if r_cap[a] <= 0.0:
                    continue
                j = nbr[a]
                if parent[j] == FREE:
                    is_sink[j] = False
                    parent[j] = sister[a]
                    ts[j] = ts[i]
                    dist[j] = dist[i] + 1
                    last = _activate(j, queue, in_queue, last, size)
                elif is_sink[j]:
                    middle = a
                    break
                elif ts[j] <= ts[i] and dist[j] > dist[i]:
                    parent[j] = sister[a]
                    ts[j] = ts[i]
                    dist[j] = dist[i] + 1
        else:
            for a in range(start[i], start[i + 1]):
                if r_cap[sister[a]] <= 0.0:
                    continue
                j = nbr[a]
                if parent[j] == FREE:
                    is_sink[j] = True
                    parent[j] = sister[a]
                    ts[j] = ts[i]
                    dist[j] = dist[i] + 1
                    last = _activate(j, queue, in_queue, last, size)
                elif not is_sink[j]:
                    middle = sister[a]
                    break
                elif ts[j] <= ts[i] and dist[j] > dist[i]:
                    parent[j] = sister[a]
                    ts[j] = ts[i]
                    dist[j] = dist[i] + 1
        time += 1
        if middle < 0:
            current = -1
            continue
        in_queue[i] = True  # i stays active while it is grown again
        current = i
        # Augment along source -> ... -> tail(middle) -> head(middle) -> ... -> sink.
        bottleneck = r_cap[middle]
        x = nbr[sister[middle]]
        while parent[x] != TERMINAL:
            a = parent[x]
            bottleneck = min(bottleneck, r_cap[sister[a]])
            x = nbr[a]
        bottleneck = min(bottleneck, tr_cap[x])
        x = nbr[middle]
        while parent[x] != TERMINAL:
            a = parent[x]
            bottleneck = min(bottleneck, r_cap[a])
            x = nbr[a]
        bottleneck = min(bottleneck, -tr_cap[x])
        r_cap[middle] -= bottleneck
        r_cap[sister[middle]] += bottleneck
        o_first = 0
        o_last = 0
        x = nbr[sister[middle]]
        while parent[x] != TERMINAL:
            a = parent[x]
            r_cap[sister[a]] -= bottleneck
            r_cap[a] += bottleneck
            nxt = nbr[a]
            if r_cap[sister[a]] <= 0.0:
                o_last = _orphan(x, parent, orphans, o_last, o_size)
            x = nxt
        tr_cap[x] -= bottleneck
        if tr_cap[x] == 0.0:
            o_last = _orphan(x, parent, orphans, o_last, o_size)
        x = nbr[middle]
        while parent[x] != TERMINAL:
            a = parent[x]
            r_cap[a] -= bottleneck
            r_cap[sister[a]] += bottleneck
            nxt = nbr[a]
            if r_cap[a] <= 0.0:
                o_last = _orphan(x, parent, orphans, o_last, o_size)
            x = nxt
        tr_cap[x] += bottleneck
        if tr_cap[x] == 0.0:
            o_last = _orphan(x, parent, orphans, o_last, o_size)
        total += bottleneck
        # Adoption: every orphan finds a parent in its own tree or becomes free.
        while o_first != o_last:
            x = orphans[o_first]
            o_first += 1
            if o_first == o_size:
                o_first = 0
            sink_side = is_sink[x]
            best = -1
            best_d = _FAR
            for a0 in range(start[x], start[x + 1]):
                # A parent j must be able to send flow to x (source tree) or take it.
                if sink_side:
                    usable = r_cap[a0] > 0.0
                else:
                    usable = r_cap[sister[a0]] > 0.0
                if not usable:
                    continue
                j = nbr[a0]
                if is_sink[j] != sink_side or parent[j] == FREE:
                    continue
                # Does j still hang from the terminal? Walk up to a node checked now.
                d = 0
                k = j
                while True:
                    if ts[k] == time:
                        d += dist[k]
                        break
                    a = parent[k]
                    d += 1
                    if a == TERMINAL:
                        ts[k] = time
                        dist[k] = 1
                        break
                    if a == ORPHAN:
                        d = _FAR
                        break
                    k = nbr[a]
                if d < _FAR:
                    if d < best_d:
                        best = a0
                        best_d = d
                    k = j
                    while ts[k] != time:
                        ts[k] = time
                        dist[k] = d
                        d -= 1
                        k = nbr[parent[k]]
            if best >= 0:
                parent[x] = best
                ts[x] = time
                dist[x] = best_d + 1
                continue
            # No parent: x becomes free; its tree neighbours may grow into it again, and
            # its children are orphans now.
            parent[x] = FREE
            for a0 in range(start[x], start[x + 1]):
                j = nbr[a0]
                if is_sink[j] != sink_side or parent[j] == FREE:
                    continue
                if sink_side:
                    usable = r_cap[a0] > 0.0
                else:
                    usable = r_cap[sister[a0]] > 0.0
                if usable:
                    last = _activate(j, queue, in_queue, last, size)
                a = parent[j]
                if a >= 0 and nbr[a] == x:
                    o_last = _orphan(j, parent, orphans, o_last, o_size)
    return total


@jit
def source_flow(nodes, count, capacity, tr_cap):
    """The flow out of the source: what the nodes of ``nodes[:count]`` with source
    ``capacity`` have used of it (the value of a flow that started from none)."""
    total = 0.0
    for k in range(count):
        x = nodes[k]
        if capacity[x] > 0.0:
            total += capacity[x] - max(tr_cap[x], 0.0)
    return total


@jit
def source_side(nodes, count, parent, is_sink, out):
    """``out[x]`` for ``x`` in ``nodes[:count]`` after :func:`boykov_kolmogorov`: True
    where x cannot reach the sink (the maximal source side of a minimum cut). The nodes
    leave their trees (``parent`` FREE), so that a later network on other nodes finds
    none of them in a tree."""
    for k in range(count):
        x = nodes[k]
        out[x] = not (parent[x] != FREE and is_sink[x])
        parent[x] = FREE
