"""The star ("simple tree order"): one root above (here) every other entry, linear time.

With the root as the maximum, every leaf i gets min(y_i, t) and the root gets t, where t
solves the breakpoint equation

    g(t) = w_root (y_root - t) + sum_i w_i (y_i - t)_+ = 0,

a decreasing piecewise-linear function. It is found like a projection onto the simplex
(Duchi, Shalev-Shwartz, Singer & Chandra, ICML 2008, figure 2; Kiwiel, J. Optim. Theory
Appl. 136 (2008)): after one pruning pass (Condat, Math. Program. 158 (2016)), keep the
leaves whose side of t is still unknown, test a random pivot p, and discard the side that
the sign of g(p) settles. Expected O(n) per row, worst case
O(n^2) with vanishing probability; the answer does not depend on the pivots beyond
round-off, and the pivots come from a fixed-seed generator, so results are reproducible.
"""

import numpy as np
from numba import prange

from ._jit import jit, rows_per_chunk


@jit
def star_threshold(root_sum, root_w, values, weights, index, count, pooled):
    """The t with ``root_sum - t root_w + sum w (v - t)_+ = 0`` over ``values[:count]``.

    ``root_sum``/``root_w`` are the weighted sum and weight of the root (or of a block
    playing its part); ``values``, ``weights`` and ``index`` (each entry's position in the
    caller's row) are scratch and get reordered. Sets ``pooled[index[j]] = True`` for exactly
    the entries whose sums make up t (the caller clears it first), so block labels agree
    with the fit even where round-off puts t a hair past a pooled value. Returns t.
    """
    running_sum = root_sum
    running_w = root_w
    keep = 0
    for i in range(count):
        keep, running_sum, running_w = _prune_step(values[i], weights[i], index[i], values,
                                                   weights, index, keep, running_sum,
                                                   running_w)
    return star_search(root_sum, root_w, values, weights, index, keep, pooled)


@jit
def _prune_step(v, wi, idx, values, weights, index, keep, running_sum, running_w):
    """One step of the pruning pass (Condat 2016, for the simplex): an entry stays only if
    it lies above the running mean of the root and the entries kept so far. That running
    mean never exceeds t (g >= 0 there), so a dropped entry lies at or below t and never
    pools; on typical data few entries stay. Branch-free: staying is a coin toss."""
    stays = v * running_w > running_sum
    running_sum += stays * (wi * v)
    running_w += stays * wi
    values[keep] = v
    weights[keep] = wi
    index[keep] = idx
    return keep + stays, running_sum, running_w


@jit
def star_search(root_sum, root_w, values, weights, index, count, pooled):
    """The randomised breakpoint search for t over ``values[:count]`` (see the module)."""
    s = root_sum
    sw = root_w
    lo = 0
    hi = count
    # Pivots from a fixed-seed LCG (Knuth's MMIX constants): random enough for the expected
    # linear time, and the same input always gives the same bits out.
    state = np.uint64(count) + np.uint64(0x9E3779B97F4A7C15)
    while hi > lo:
        state = state * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
        k = lo + np.int64((state >> np.uint64(33)) % np.uint64(hi - lo))
        p = values[k]
        # Partition [lo, hi) into (<= p) then (> p), summing the upper side.
        upper_sum = 0.0
        upper_w = 0.0
        mid = lo
        for i in range(lo, hi):
            v = values[i]
            if v <= p:
                values[i], values[mid] = values[mid], v
                weights[i], weights[mid] = weights[mid], weights[i]
                index[i], index[mid] = index[mid], index[i]
                mid += 1
            else:
                upper_sum += weights[i] * v
                upper_w += weights[i]
        # g(p) > 0  <=>  t > p: everything <= p keeps its value.
        if (s + upper_sum) - p * (sw + upper_w) > 0.0:
            lo = mid
        else:
            # t <= p: everything > p pools, and so may one entry equal to p (its term is
            # w (p - t) >= 0 either way); dropping it guarantees progress.
            s += upper_sum
            sw += upper_w
            for i in range(mid, hi):
                pooled[index[i]] = True
            for i in range(lo, mid):
                if values[i] == p:
                    s += weights[i] * p
                    sw += weights[i]
                    pooled[index[i]] = True
                    values[i], values[mid - 1] = values[mid - 1], values[i]
                    weights[i], weights[mid - 1] = weights[mid - 1], weights[i]
                    index[i], index[mid - 1] = index[mid - 1], index[i]
                    break
            hi = mid - 1
    return s / sw


@jit
def star_row(y, w, root, fit, labels, values, weights, index, pooled):
    """Root-max star on one row; ``labels`` (or an empty array) gets block ids.

    Scratch: ``values``, ``weights``, ``index`` of length n (only the entries that survive
    the pruning pass are written) and ``pooled`` (bool, n).
    """
    n = y.shape[0]
    root_sum = w[root] * y[root]
    root_w = w[root]
    running_sum = root_sum
    running_w = root_w
    keep = 0
    for i in range(n):
        pooled[i] = i == root
        if i != root:
            keep, running_sum, running_w = _prune_step(y[i], w[i], i, values, weights, index,
                                                       keep, running_sum, running_w)
    t = star_search(root_sum, root_w, values, weights, index, keep, pooled)
    with_labels = labels.shape[0] == n
    for i in range(n):
        # min(): an unpooled entry never ends above t, even by round-off.
        fit[i] = t if pooled[i] else min(y[i], t)
        if with_labels:
            labels[i] = root if pooled[i] else i


@jit(parallel=True)
def star_rows(y, w, roots, fit, labels):
    """Every row of ``y`` (m, n) with its own root; ``w`` (m or 1, n); labels (m, n or 0)."""
    m, n = y.shape
    shared_w = w.shape[0] == 1
    chunk = rows_per_chunk(n)
    for first in prange((m + chunk - 1) // chunk):
        values = np.empty(n)
        weights = np.empty(n)
        index = np.empty(n, dtype=np.int64)
        pooled = np.empty(n, dtype=np.bool_)
        for r in range(first * chunk, min(m, (first + 1) * chunk)):
            star_row(y[r], w[0] if shared_w else w[r], roots[r], fit[r], labels[r], values,
                     weights, index, pooled)
