"""Isotonic regression of logits on a hard-label mass: the IDA order, per row.

The order: m_i > m_j  =>  fit_i >= fit_j, equal mass => no constraint (primary ties). Split a
row into the bottom level G (entries with the row's smallest mass: for Mixup the c - 2 classes
with none) and the k entries above it (the mixed labels). The k entries are sorted by
(mass, logit) and pooled by PAVA (exact for primary ties, de Leeuw 1977). Their lowest block
B then plays the root of a star over G: it must stay >= every entry of G, so B and the
entries of G above the threshold t pool, with t from the breakpoint equation of
:mod:`isotree._numba.star`. That raises B's value; while it exceeds the next upper block's
mean, the block joins the root and t is recomputed. The result is what PAVA gives on the
whole row sorted by (mass, logit), so it is exact; the cost is O(c) per round plus
O(k log k), with at most k rounds and usually one: linear for IDA-shaped mass.

Also here: the variable-fixing approximation (Michelot 1986; Condat 2016) of t and the
level-by-level "shift" correction.
"""

import numpy as np
from numba import prange

from ._jit import jit, rows_per_chunk
from .pava import pava_row
from .star import star_threshold

EXACT, APPROX, SHIFT = 0, 1, 2


@jit
def _split(mass, buffer):
    """The row's lowest mass level and the indices above it (in index order): two passes,
    the indices written into ``buffer`` (length n); returns ``(upper, low)``."""
    low = mass[0]
    for i in range(1, mass.shape[0]):
        low = min(low, mass[i])
    k = 0
    for i in range(mass.shape[0]):
        if mass[i] > low:
            buffer[k] = i
            k += 1
    return buffer[:k], low


@jit
def _sort_upper(z, mass, upper):
    """Sort the indices ``upper`` in place by (mass, logit).

    Insertion sort: k is 1 or 2 for Mixup and CutMix and small for any k-way mix; past 32
    entries, two stable argsorts.
    """
    k = upper.shape[0]
    if k > 32:
        by_logit = upper[np.argsort(z[upper], kind="mergesort")]
        upper[:] = by_logit[np.argsort(mass[by_logit], kind="mergesort")]
        return
    for j in range(1, k):
        i = upper[j]
        p = j - 1
        while p >= 0 and (mass[upper[p]] > mass[i]
                          or (mass[upper[p]] == mass[i] and z[upper[p]] > z[i])):
            upper[p + 1] = upper[p]
            p -= 1
        upper[p + 1] = i


@jit
def variable_fixing(root_sum, root_w, z, candidates, n_iter):
    """Michelot's iteration for the star threshold: t <- mean(root and {i in G: z_i > t}).

    It starts from the root's own mean, a lower bound of the exact t. From any lower bound
    the step stays a lower bound and never falls, so every iterate is feasible once G is
    clipped at t and the entries drop out of the pooled set one way only. It stops early
    once the set no longer changes (then t is exact). ``candidates`` are the entries of G
    that can pool at all (above the lowest upper block's mean).
    """
    t = root_sum / root_w
    for _ in range(n_iter):
        s = root_sum
        sw = root_w
        for i in candidates:
            if z[i] > t:
                s += z[i]
                sw += 1.0
        t_next = s / sw
        if t_next == t:
            break
        t = t_next
    return t


@jit
def ida_row(z, mass, method, n_iter, fit, labels, scratch_int, scratch_float, pooled):
    """One row: ``fit`` (and ``labels`` unless empty) for the exact or approximate fit.

    Scratch, reused across rows: ``scratch_int`` (4, n) int64, ``scratch_float`` (5, n)
    float64 whose row 4 holds ones, ``pooled`` (n,) bool.
    """
    n = z.shape[0]
    with_labels = labels.shape[0] == n
    upper, low = _split(mass, scratch_int[0])
    k = upper.shape[0]
    _sort_upper(z, mass, upper)
    if k == 0 or method == SHIFT:
        for i in range(n):
            fit[i] = z[i]
            if with_labels:
                labels[i] = i
        if k > 0:
            _shift_levels(z, mass, low, upper, fit)
        return
    # PAVA over the sorted upper entries (unit weights).
    uz = scratch_float[0, :k]
    for j in range(k):
        uz[j] = z[upper[j]]
    ufit = scratch_float[1, :k]
    ulabels = scratch_int[1, :k]
    pava_row(uz, scratch_float[4, :k], ufit, ulabels, scratch_float[2, :k],
             scratch_float[3, :k], scratch_int[2, :k])
    # Only entries of G above the lowest block's mean can ever pool (the threshold only
    # rises from there), so one pass copies the row and collects those candidates.
    lowest_mean = ufit[0]
    candidates = scratch_int[2]
    count = 0
    for i in range(n):
        fit[i] = z[i]
        if with_labels:
            labels[i] = i
        # Branch-free append: about one entry in six passes, unpredictably.
        candidates[count] = i
        count += (z[i] > lowest_mean) & (mass[i] == low)
    values = scratch_float[2, :count]
    index = scratch_int[3, :count]
    # The lowest upper blocks act as the root of a star over the bottom level G. Pooling
    # entries of G raises the root's value t; while t exceeds the next block's mean, that
    # block joins the root (as PAVA on the whole sorted row would do) and t is recomputed.
    # At most k rounds, usually one.
    root_size = 0
    root_sum = 0.0
    root_w = 0.0
    t = 0.0
    while True:
        block = ulabels[root_size]
        while root_size < k and ulabels[root_size] == block:
            root_sum += uz[root_size]
            root_w += 1.0
            root_size += 1
        if method == EXACT:
            for j in range(count):
                values[j] = z[candidates[j]]
                index[j] = j
                pooled[j] = False
            t = star_threshold(root_sum, root_w, values, scratch_float[4, :count], index,
                               count, pooled)
        else:
            t = variable_fixing(root_sum, root_w, z, candidates[:count], n_iter)
        if root_size == k or ufit[root_size] >= t:
            break
    root = upper[0]
    for j in range(k):
        i = upper[j]
        fit[i] = t if j < root_size else ufit[j]
        if with_labels:
            labels[i] = root if j < root_size else upper[ulabels[j]]
    for j in range(count):
        i = candidates[j]
        # Exact: the entries the threshold search summed; approx: those above t. Either
        # way nothing in G ends above t, not even by round-off.
        if pooled[j] if method == EXACT else z[i] > t:
            fit[i] = t
            if with_labels:
                labels[i] = root
        else:
            fit[i] = min(z[i], t)


@jit
def _shift_levels(z, mass, low, upper, fit):
    """Raise each mass level (upwards) by how far its minimum falls below all levels beneath.

    The generalisation of the correction in the IDA paper's code: feasible, O(c), but not the
    projection.
    """
    below_max = -np.inf
    for i in range(z.shape[0]):
        if mass[i] == low:
            below_max = max(below_max, z[i])
    k = upper.shape[0]
    start = 0
    while start < k:
        stop = start
        level_min = np.inf
        level_max = -np.inf
        while stop < k and mass[upper[stop]] == mass[upper[start]]:
            level_min = min(level_min, z[upper[stop]])
            level_max = max(level_max, z[upper[stop]])
            stop += 1
        shift = max(0.0, below_max - level_min)
        for j in range(start, stop):
            fit[upper[j]] = z[upper[j]] + shift
        below_max = max(below_max, level_max + shift)
        start = stop


@jit(parallel=True)
def ida_rows(z, mass, method, n_iter, fit, labels):
    """Every row of ``z`` and ``mass`` (B, c); labels (B, c) or (B, 0).

    Rows go in chunks, one scratch allocation per chunk rather than several per row.
    """
    rows, n = z.shape
    chunk = rows_per_chunk(n)
    for first in prange((rows + chunk - 1) // chunk):
        scratch_int = np.empty((4, n), dtype=np.int64)
        scratch_float = np.empty((5, n))
        scratch_float[4] = 1.0
        pooled = np.empty(n, dtype=np.bool_)
        for r in range(first * chunk, min(rows, (first + 1) * chunk)):
            ida_row(z[r], mass[r], method, n_iter, fit[r], labels[r], scratch_int,
                    scratch_float, pooled)


@jit
def _merge_count(keys, scratch, lo, hi):
    """Sort keys[lo:hi] by merge sort (bottom-up, no recursion); return strict inversions."""
    inversions = 0
    width = 1
    n = hi - lo
    while width < n:
        for left in range(lo, hi, 2 * width):
            mid = min(left + width, hi)
            right = min(left + 2 * width, hi)
            i, j, out = left, mid, left
            while i < mid and j < right:
                if keys[j] < keys[i]:
                    inversions += mid - i
                    scratch[out] = keys[j]
                    j += 1
                else:
                    scratch[out] = keys[i]
                    i += 1
                out += 1
            while i < mid:
                scratch[out] = keys[i]
                i += 1
                out += 1
            while j < right:
                scratch[out] = keys[j]
                j += 1
                out += 1
            for p in range(left, right):
                keys[p] = scratch[p]
        width *= 2
    return inversions


@jit
def _equal_pairs(sorted_values):
    count = 0
    run = 1
    for i in range(1, sorted_values.shape[0] + 1):
        if i < sorted_values.shape[0] and sorted_values[i] == sorted_values[i - 1]:
            run += 1
        else:
            count += run * (run - 1) // 2
            run = 1
    return count


@jit(parallel=True)
def order_stats_rows(scores, mass, out):
    """Per row: [any violation, Kendall tau over known pairs (NaN if none), top-2 any mixed,
    top-2 all mixed] into ``out`` (B, 4)."""
    rows, c = scores.shape
    for r in prange(rows):
        s = scores[r]
        m = mass[r]
        order = np.argsort(s, kind="mergesort")
        order = order[np.argsort(m[order], kind="mergesort")]  # by (mass, score)
        keys = s[order]
        mass_sorted = m[order]
        # Pairs with different mass (their order is known).
        same_mass = _equal_pairs(mass_sorted)
        known = c * (c - 1) // 2 - same_mass
        # Equal (mass, score) runs are adjacent in this order.
        same_both = 0
        run = 1
        for i in range(1, c + 1):
            if i < c and keys[i] == keys[i - 1] and mass_sorted[i] == mass_sorted[i - 1]:
                run += 1
            else:
                same_both += run * (run - 1) // 2
                run = 1
        discordant = _merge_count(keys, np.empty(c), 0, c)
        tied_scores = _equal_pairs(keys) - same_both  # keys are now sorted by score
        concordant = known - discordant - tied_scores
        out[r, 0] = 1.0 if discordant > 0 else 0.0
        out[r, 1] = (concordant - discordant) / known if known > 0 else np.nan
        # Mixed labels: the entries above the row's lowest mass level.
        low = m.min()
        n_mixed = 0
        for i in range(c):
            if m[i] > low:
                n_mixed += 1
        first = -1
        second = -1
        for i in range(c):
            if first == -1 or s[i] > s[first]:
                second = first
                first = i
            elif second == -1 or s[i] > s[second]:
                second = i
        top = min(2, n_mixed)
        hits = 0
        if first >= 0 and m[first] > low:
            hits += 1
        if second >= 0 and m[second] > low:
            hits += 1
        out[r, 2] = 1.0 if hits > 0 else 0.0
        if top == 0:
            out[r, 3] = np.nan
        else:
            top_hits = (1 if m[first] > low else 0)
            if top == 2:
                top_hits += 1 if (second >= 0 and m[second] > low) else 0
            out[r, 3] = 1.0 if top_hits == top else 0.0
