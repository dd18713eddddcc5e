"""Graph utilities of the partial-order solvers: topological order, pieces, forests.

A DAG arrives as two arrays ``tail`` and ``head`` (edge ``e`` goes from ``tail[e]`` to
``head[e]``), or as the arcs by node of :func:`isotree._numba.maxflow.build_arcs`.
"""

import numpy as np

from ._jit import jit


@jit
def topological_order(n, start, mid, nbr):
    """``(order, count)``: every tail before its heads (Kahn 1962), ties by node index, on
    the arcs of :func:`isotree._numba.maxflow.build_arcs`.

    ``count < n`` exactly when the graph has a directed cycle; ``order[:count]`` then holds
    the nodes that lie neither on a cycle nor after one.
    """
    waiting = np.empty(n, dtype=np.int64)
    for x in range(n):
        waiting[x] = start[x + 1] - mid[x]
    order = np.empty(n, dtype=np.int64)
    count = 0
    for x in range(n):
        if waiting[x] == 0:
            order[count] = x
            count += 1
    k = 0
    while k < count:
        x = order[k]
        k += 1
        for p in range(start[x], mid[x]):
            v = nbr[p]
            waiting[v] -= 1
            if waiting[v] == 0:
                order[count] = v
                count += 1
    return order, count


@jit
def _root(link, x):
    """The root of ``x`` in a union-find forest, halving the path on the way."""
    while link[x] != x:
        link[x] = link[link[x]]
        x = link[x]
    return x


@jit
def _join(link, u, v):
    """Join the pieces of ``u`` and ``v``, the larger root linked below the smaller."""
    ru = _root(link, u)
    rv = _root(link, v)
    if ru < rv:
        link[rv] = ru
    elif rv < ru:
        link[ru] = rv


@jit
def pieces(n, tail, head, group):
    """Connected pieces of the graph of the edges inside a group (``group[tail] ==
    group[head]``), edges taken as undirected: for every node the smallest node of its piece.

    Union-find that always links the larger root below the smaller one, so every root is
    the smallest node of its set.
    """
    link = np.arange(n)
    for e in range(tail.shape[0]):
        u = tail[e]
        v = head[e]
        if group[u] != group[v]:
            continue
        _join(link, u, v)
    for x in range(n):
        link[x] = link[link[x]]  # roots are smaller, so already final: one hop
    return link


@jit
def grid_pieces(rows, cols, group):
    """:func:`pieces` of a ``rows x cols`` grid (node ``i * cols + j``), its edges joining
    horizontal and vertical neighbours."""
    n = rows * cols
    link = np.arange(n)
    for i in range(rows):
        for j in range(cols):
            x = i * cols + j
            for y in (x + 1 if j + 1 < cols else -1, x + cols if i + 1 < rows else -1):
                if y < 0 or group[x] != group[y]:
                    continue
                _join(link, x, y)
    for x in range(n):
        link[x] = link[link[x]]
    return link


@jit
def smallest_member(labels, index):
    """For every entry of each row of ``labels`` (m, n), the smallest ``index[k]`` over the
    entries ``k`` of that row with the same label (labels lie in [0, n))."""
    m, n = labels.shape
    out = np.empty((m, n), dtype=np.int64)
    smallest = np.empty(n, dtype=np.int64)
    for r in range(m):
        for k in range(n):
            smallest[labels[r, k]] = n
        for k in range(n):
            label = labels[r, k]
            smallest[label] = min(smallest[label], index[k])
        for k in range(n):
            out[r, k] = smallest[labels[r, k]]
    return out


@jit
def single_neighbours(n, upper, lower):
    """Whether the order is a forest, and its parent array, from edges ``upper >= lower``.

    Returns ``(above, one_above, below, one_below)``: ``one_above`` when every node has at
    most one distinct node directly above it (``above[v]``, -1 for none: a forest whose
    roots are maxima), ``one_below`` likewise with the node directly below (``below[u]``:
    roots are minima). Repeated edges count once.
    """
    above = np.full(n, -1, dtype=np.int64)
    below = np.full(n, -1, dtype=np.int64)
    one_above = True
    one_below = True
    for e in range(upper.shape[0]):
        u = upper[e]
        v = lower[e]
        if one_above:
            if above[v] == -1:
                above[v] = u
            elif above[v] != u:
                one_above = False
        if one_below:
            if below[u] == -1:
                below[u] = v
            elif below[u] != v:
                one_below = False
        if not (one_above or one_below):
            break
    return above, one_above, below, one_below


@jit
def compact_labels(labels):
    """``(ids, k)``: the labels renumbered 0 .. k-1 in order of first appearance."""
    n = labels.shape[0]
    new = np.full(n, -1, dtype=np.int64)
    ids = np.empty(n, dtype=np.int64)
    k = 0
    for x in range(n):
        label = labels[x]
        if new[label] < 0:
            new[label] = k
            k += 1
        ids[x] = new[label]
    return ids, k
