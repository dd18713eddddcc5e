"""Entries of weight 0 (missing observations) in a tree order: the two passes of
:mod:`isotree._engine.missing`.

:func:`nearest_positive_ancestor` contracts the tree (every positive-weight node hangs on
its nearest positive-weight ancestor); :func:`fill_missing` gives every zero-weight node the
smallest value the order allows given the fit of the others: with values growing away from
the roots, the fit of its nearest positive-weight ancestor; with values falling, the largest
fit among its positive-weight descendants; with neither, the smallest fit of the problem.
Both visit the nodes in a depth-first preorder (parents first), without recursion.

Any DAG (edges ``(u, v)``: ``fit[u] >= fit[v]``) on the arcs of
:func:`isotree._numba.maxflow.build_arcs` built with the lower ends as tails, visited in a
topological order with the lower ends first: :func:`positive_above` gives the order the
positive-weight nodes keep through the others, :func:`fill_missing_dag` the same rule as
the trees' (the largest fit among the positive-weight nodes below, else the smallest fit).
"""

import numpy as np

from ._jit import jit


@jit
def nearest_positive_ancestor(parent, order, positive):
    """``out[v]``: v itself if positive, else its nearest positive ancestor, else -1."""
    n = parent.shape[0]
    out = np.empty(n, dtype=np.int64)
    for k in range(n):
        v = order[k]
        p = parent[v]
        out[v] = v if positive[v] else (out[p] if p >= 0 else -1)
    return out


@jit
def _lowest_positive(fit, positive):
    """The positive-weight node of the smallest fit (the first of them)."""
    low = np.inf
    low_at = -1
    for v in range(fit.shape[0]):
        if positive[v] and fit[v] < low:
            low = fit[v]
            low_at = v
    return low_at


@jit
def fill_missing(parent, order, positive, increasing, fit, labels, best, arg):
    """Fill the zero-weight nodes of every row of ``fit``/``labels`` (k, n) in place (the
    positive ones hold the fit already); ``best``/``arg`` are scratch of length n."""
    n = parent.shape[0]
    for r in range(fit.shape[0]):
        low_at = _lowest_positive(fit[r], positive)
        if increasing:  # parents first: a zero node copies its parent (filled already)
            for k in range(n):
                v = order[k]
                if positive[v]:
                    continue
                p = parent[v]
                source = p if p >= 0 else low_at
                fit[r, v] = fit[r, source]
                labels[r, v] = labels[r, source]
            continue
        # Values fall away from the roots: the largest positive fit in each subtree.
        for v in range(n):
            best[v] = fit[r, v] if positive[v] else -np.inf
            arg[v] = v if positive[v] else -1
        for k in range(n - 1, -1, -1):
            v = order[k]
            p = parent[v]
            if p >= 0 and best[v] > best[p]:
                best[p] = best[v]
                arg[p] = arg[v]
        _fill_from_best(fit[r], labels[r], positive, arg, low_at)


@jit
def _fill_from_best(fit, labels, positive, arg, low_at):
    """Every zero-weight node takes the fit and block of its chosen positive node
    ``arg`` (``-1``: none, so the problem's lowest, ``low_at``)."""
    for x in range(fit.shape[0]):
        if not positive[x]:
            source = arg[x] if arg[x] >= 0 else low_at
            fit[x] = fit[source]
            labels[x] = labels[source]


@jit
def positive_above(order, start, mid, nbr, positive):
    """For every node x, the positive-weight nodes above it through zero-weight nodes only
    (an edge into x from a positive node, or from a zero-weight node that has them): the
    pairs ``(members[i], owner[i])`` for ``i < count``, each set without repeats. Over the
    positive nodes they are the edges of the order kept among them.

    A set grows by the union of its zero-weight parents' sets, so the pairs can outnumber
    the edges (a zero-weight node with ``a`` positive nodes above and ``b`` below gives
    ``a * b``); the buffer doubles when full.
    """
    n = order.shape[0]
    first = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    capacity = max(16, start[n])
    members = np.empty(capacity, dtype=np.int64)
    owner = np.empty(capacity, dtype=np.int64)
    count = 0
    for k in range(n - 1, -1, -1):  # upper ends first: every set above is complete
        x = order[k]
        first[x] = count
        for p in range(start[x], mid[x]):
            q = nbr[p]
            lo, hi = (q, q + 1) if positive[q] else (first[q], first[q] + size[q])
            for i in range(lo, hi):
                a = q if positive[q] else members[i]
                if stamp[a] == x:
                    continue
                stamp[a] = x
                if count == capacity:
                    capacity *= 2
                    grown = np.empty(capacity, dtype=np.int64)
                    grown[:count] = members[:count]
                    members = grown
                    grown = np.empty(capacity, dtype=np.int64)
                    grown[:count] = owner[:count]
                    owner = grown
                members[count] = a
                owner[count] = x
                count += 1
        size[x] = count - first[x]
    return members, owner, count


@jit
def fill_missing_dag(order, start, mid, nbr, positive, fit, labels, best, arg):
    """Fill the zero-weight nodes of every row of ``fit``/``labels`` (k, n) in place: the
    largest fit among the positive-weight nodes below (through any path), else the
    smallest fit of the row; ``best``/``arg`` are scratch of length n."""
    n = order.shape[0]
    for r in range(fit.shape[0]):
        low_at = _lowest_positive(fit[r], positive)
        for k in range(n):  # lower ends first: everything below x is settled
            x = order[k]
            if positive[x]:
                best[x] = fit[r, x]
                arg[x] = x
                continue
            arg[x] = -1
            for p in range(mid[x], start[x + 1]):
                c = nbr[p]
                if arg[c] >= 0 and (arg[x] < 0 or best[c] > best[x]):
                    best[x] = best[c]
                    arg[x] = arg[c]
        _fill_from_best(fit[r], labels[r], positive, arg, low_at)
