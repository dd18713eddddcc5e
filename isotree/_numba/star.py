"""The star ("simple tree order"): one root above (here) every other entry, linear time.

With the root as the maximum, every leaf i gets min(y_i, t) and the root gets t, where t
solves the breakpoint equation

    g(t) = w_root (y_root - t) + sum_i w_i (y_i - t)_+ = 0,

a decreasing piecewise-linear function. It is found like a projection onto the simplex
(Duchi, Shalev-Shwartz, Singer & Chandra, ICML 2008, figure 2; Kiwiel, J. Optim. Theory
Appl. 136 (2008)): after one pruning pass (Condat, Math. Program. 158 (2016)), keep the
leaves whose side of t is still unknown, test a random pivot p, and discard the side that
the sign of g(p) settles. Expected O(n) per row, worst case O(n^2) with vanishing
probability; the answer does not depend on the pivots beyond round-off, and the pivots come
from a fixed-seed generator, so results are reproducible.

The pruning pass is blocked: inside a block of ``BLOCK`` entries the bound (the running
mean of the root and the entries kept so far) is held fixed, so the common case, a block
with no entry above it, is one vectorised compare-and-count; only blocks with a hit run the
scalar steps. The bound only rises, so this keeps a superset of what the entry-by-entry
pass keeps, and every entry it drops lies at or below t.
"""

import numpy as np
from numba import prange

from ._jit import batched, jit, thread_slot

BLOCK = 64


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
def star_threshold(root_sum, root_w, values, weights, index, count):
    """The t with ``root_sum - t root_w + sum w (v - t)_+ = 0`` over ``values[:count]``.

    ``root_sum``/``root_w`` are the weighted sum and weight of the root (or of a block
    playing its part); ``values``, ``weights`` and ``index`` are scratch and get reordered.
    Returns ``(t, first, stop)``: the entries whose sums make up t are exactly positions
    ``first .. stop - 1``, so block labels agree with the fit even where round-off puts
    t a hair past a pooled value.
    """
    running_sum = root_sum
    running_w = root_w
    keep = 0
    for i in range(count):
        keep, running_sum, running_w = _prune_step(values[i], weights[i], index[i], values,
                                                   weights, index, keep, running_sum,
                                                   running_w)
    t, first = star_search(root_sum, root_w, values, weights, index, keep)
    return t, first, keep


@jit
def star_search(root_sum, root_w, values, weights, index, count):
    """The randomised breakpoint search for t over ``values[:count]`` (see the module).

    Returns ``(t, first)``; the pooled entries end up at positions ``first .. count - 1``.
    """
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
            # w (p - t) >= 0 either way); moving it to mid - 1 and pooling it guarantees
            # progress and keeps the pooled entries at the end.
            s += upper_sum
            sw += upper_w
            for i in range(lo, mid):
                if values[i] == p:
                    s += weights[i] * p
                    sw += weights[i]
                    values[i], values[mid - 1] = values[mid - 1], values[i]
                    weights[i], weights[mid - 1] = weights[mid - 1], weights[i]
                    index[i], index[mid - 1] = index[mid - 1], index[i]
                    break
            hi = mid - 1
    return s / sw, hi


@jit
def star_row(y, w, root, sy, sw, fit, labels, values, weights, index):
    """Root-max star on one row of ``y * sy`` (weights ``w * sw``, unit if ``w`` is empty);
    ``fit`` gets the fit of ``y``, ``labels`` (or an empty array) block ids.

    Scratch: ``values``, ``weights``, ``index`` of length n (only the entries that survive
    the pruning pass are written).
    """
    n = y.shape[0]
    unit = w.shape[0] == 0
    root_w = 1.0 if unit else w[root] * sw
    root_sum = root_w * (y[root] * sy)
    running_sum = root_sum
    running_w = root_w
    keep = 0
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        # The bound is fixed for the block: a vectorised count decides whether any entry
        # can stay (the root itself never counts: it equals or lies below the bound).
        bound = running_sum / running_w
        hits = 0
        for i in range(start, stop):
            hits += (y[i] * sy) > bound
        if hits == 0:
            continue
        for i in range(start, stop):
            v = y[i] * sy
            # Branchy here (unlike _prune_step): inside a block with a hit, most entries
            # still stay below the running mean.
            if v * running_w > running_sum and i != root:
                wi = 1.0 if unit else w[i] * sw
                running_sum += wi * v
                running_w += wi
                values[keep] = v
                weights[keep] = wi
                index[keep] = i
                keep += 1
    t, first = star_search(root_sum, root_w, values, weights, index, keep)
    # Every entry not pooled is min(y, t) (never above t, not even by round-off); the
    # pooled ones, few, are then set to t exactly.
    top = t / sy  # exact: sy is a power of two (with the sign of the direction)
    with_labels = labels.shape[0] == n
    if sy > 0.0:
        for i in range(n):
            fit[i] = min(y[i], top)
    else:
        for i in range(n):
            fit[i] = max(y[i], top)
    fit[root] = top
    for j in range(first, keep):
        fit[index[j]] = top
    if with_labels:
        for i in range(n):
            labels[i] = i
        labels[root] = root
        for j in range(first, keep):
            labels[index[j]] = root


@batched
def star_rows(y, w, roots, scale, fit, labels, floats, ints):
    """Every row of ``y`` (m, n) with its own root; ``w`` (m or 1, n), or (1, 0) for unit
    weights; ``scale`` (m or 1, 2) the rows' factors; labels (m, n or 0). Scratch per
    thread: ``floats`` (threads, 2, n), ``ints`` (threads, n)."""
    m = y.shape[0]
    w_step = 1 if w.shape[0] == m else 0  # 0: one row shared by all rows
    scale_step = 1 if scale.shape[0] == m else 0
    for r in prange(m):
        slot = thread_slot()
        k = r * scale_step
        star_row(y[r], w[r * w_step], roots[r], scale[k, 0], scale[k, 1], fit[r], labels[r],
                 floats[slot, 0], floats[slot, 1], ints[slot])
