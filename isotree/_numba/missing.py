"""Entries of weight 0 (missing observations) in a tree order: the two passes of
:mod:`isotree._engine.missing`.

:func:`nearest_positive_ancestor` contracts the tree (every positive-weight node hangs on
its nearest positive-weight ancestor); :func:`fill_missing` gives every zero-weight node the
smallest value the order allows given the fit of the others: with values growing away from
the roots, the fit of its nearest positive-weight ancestor; with values falling, the largest
fit among its positive-weight descendants; with neither, the smallest fit of the problem.
Both visit the nodes in a depth-first preorder (parents first), without recursion.
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
def fill_missing(parent, order, positive, increasing, fit, labels, best, arg):
    """Fill the zero-weight nodes of every row of ``fit``/``labels`` (k, n) in place (the
    positive ones hold the fit already); ``best``/``arg`` are scratch of length n."""
    n = parent.shape[0]
    for r in range(fit.shape[0]):
        low = np.inf
        low_at = -1
        for v in range(n):
            if positive[v] and fit[r, v] < low:
                low = fit[r, v]
                low_at = v
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
        for v in range(n):
            if not positive[v]:
                source = arg[v] if arg[v] >= 0 else low_at
                fit[r, v] = fit[r, source]
                labels[r, v] = labels[r, source]
