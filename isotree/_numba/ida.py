"""Isotonic regression of logits on a hard-label mass: the IDA order, per row.

The order: m_i > m_j  =>  fit_i >= fit_j, equal mass => no constraint (primary ties). Split a
row into the bottom level G (entries with the row's smallest mass: for Mixup the c - 2 classes
with none) and the k entries above it (the mixed labels). The k entries are sorted by
(mass, logit) and pooled by PAVA (exact for primary ties, de Leeuw 1977). Their lowest block
B then plays the root of a star over G: it must stay >= every entry of G, so B and the
entries of G above the threshold t pool, with t from the breakpoint equation of
:mod:`isotree._numba.star`. That raises B's value; while it exceeds the next upper block's
mean, the block joins the root and t is recomputed, starting from the last t. The result is
what PAVA gives on the whole row sorted by (mass, logit), so it is exact; the cost is O(c)
per round plus O(k log k), with at most k rounds and usually one or two: linear for
IDA-shaped mass.

The threshold is found in passes over the logits only (the mass is read once, to split the
row; the k upper entries are left out of the sums by subtracting their terms, so the passes
need no mass test): Michelot's variable fixing (Michelot 1986; Condat 2016) ``t <- mean(B
and {i in G: z_i > t})``, each step a vectorised masked sum (no store, no branch), raises t
from B's mean. Once the set above t stops changing, t is the mean of B and exactly the
entries above it: the fixed point, so the fit is exact. For rows of IDA's sizes that takes a
handful of passes and no sort, so no branch per entry that depends on the data: that matters
in a training loop, where rows never repeat and branch predictors cannot learn them. A row
that has not converged after ``PASSES`` steps (and a long row, once few entries remain above
t, or a row whose subtracted upper terms dwarf the sum) collects the entries of G still above
t (less its rounding margin), usually a handful, and finds the exact threshold on them alone
(an insertion sort and one scan when there are few, else the star's breakpoint search).

Also here: the variable-fixing approximation (``n_iter`` such passes, every iterate a
feasible lower bound of t) and the level-by-level "shift" correction.
"""

import math

import numpy as np
from numba import prange

from ._jit import batched, jit, rows_per_chunk
from .checks import exponent, float_bits
from .lanes import sum_above
from .scaling import row_shifts
from .star import star_threshold

EXACT, APPROX, SHIFT = 0, 1, 2
# Measured on 256 rows of random and of teacher-like logits, c = 10 to 10000, each call on new
# rows (as in training: repeated rows let branch predictors learn them): a pass costs about
# c/3 ns; collecting m candidates about c ns plus a few mispredicted branches per candidate,
# and sorting them about m^2/4 ns more. So rows shorter than LONG pass until the fixed point
# (random logits need about 6 passes at c = 100, 8 at c = 1000; 30-40 % faster there than
# collecting early), at most PASSES; longer rows collect once m^2 <= FEW * c. At most SMALL
# candidates are sorted (more go to the star's randomised search).
PASSES = 8
LONG = 2048
FEW = 4
SMALL = 32


@jit
def _upper(bits, magnitude, low, upper):
    """The indices above the row's lowest mass level ``low`` (magnitude bits, from
    :func:`_check_row`), in index order, written to ``upper``; returns their count.
    ``bits`` is the row of (non-negative) mass read as unsigned integers: their order is
    the values' order."""
    k = 0
    for i in range(bits.shape[0]):
        if np.bitwise_and(bits[i], magnitude) > low:
            upper[k] = i
            k += 1
    return k


@jit
def _sort_upper(z, mass, upper, k):
    """Sort ``upper[:k]`` in place by (mass, logit).

    Insertion sort: k is 1 or 2 for Mixup and CutMix and small for any k-way mix; past 32
    entries, two stable argsorts.
    """
    if k > 32:
        head = upper[:k]
        by_logit = head[np.argsort(z[head], kind="mergesort")]
        head[:] = by_logit[np.argsort(mass[by_logit], kind="mergesort")]
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
def _michelot_step(z, upper, k, root_sum, root_w, t):
    """One variable-fixing step over the bottom level: ``(mean(root, S), margin, |S|,
    clean)`` for ``S = {i in G: z_i > t}``.

    A masked sum over the whole row (:func:`~isotree._numba.lanes.sum_above`: vectorised,
    about 0.2 ns an entry against 1.3 in index order, and in a fixed order, so the same
    bits wherever it is compiled), minus the upper entries' own terms. A sum of m <= n
    terms in any order errs by at most ``n * 2**-53 * sum |terms|``, and ``margin`` is
    eight times that bound for the mean (the terms of G exceed t, so their magnitudes sum
    to at most ``|s| + 2 * count * max(0, -t)``; the upper entries' terms add their own).
    A search from a bound starts at ``mean - margin``, so every entry that can pool is
    still a candidate. ``clean``: the upper terms at most double that bound, so the mean is
    as accurate as a sum over G alone (the only way to use it as the result).
    """
    s, count = sum_above(z, t)
    cancelled = 0.0
    for j in range(k):
        v = np.float64(z[upper[j]])
        if v > t:
            s -= v
            count -= 1
            cancelled += abs(v)
    weight = root_w + count
    magnitude = abs(root_sum) + abs(s) + 2.0 * count * max(0.0, -t)
    margin = (magnitude + cancelled) / weight * (z.shape[0] * 2.0**-50)
    return (root_sum + s) / weight, margin, count, cancelled <= magnitude


@jit
def _threshold_candidates(z, bits, magnitude, low, t, values, ones, index):
    """Collect the entries of the bottom level above ``t`` (a lower bound of the exact
    threshold, so every entry that can pool) into ``values``/``index``; return the count."""
    kept = 0
    for i in range(z.shape[0]):
        if np.float64(z[i]) > t and np.bitwise_and(bits[i], magnitude) == low:
            values[kept] = z[i]
            ones[kept] = 1.0
            index[kept] = i
            kept += 1
    return kept


@jit
def _pool_upper(uz, k, ufit, ulabels, block_sum, block_start):
    """PAVA over ``uz[:k]`` (sorted by mass, unit weights): each entry's fit in ``ufit``
    and its block's first position in ``ulabels``. k is small for any k-way mix (Mixup's
    k = 2 goes to :func:`_sort_pool_two`): a plain stack, without the general row solver's
    slicing and look-ahead."""
    blocks = 0
    for j in range(k):
        s = np.float64(uz[j])
        start = j
        # Pool while the block below has a larger mean (ties stay apart, as in pava_row),
        # compared as they are stored, so the means written never decrease.
        while blocks > 0 and (block_sum[blocks - 1] / (start - block_start[blocks - 1])
                              > s / (j + 1 - start)):
            blocks -= 1
            s += block_sum[blocks]
            start = block_start[blocks]
        block_sum[blocks] = s
        block_start[blocks] = start
        blocks += 1
    stop = k
    for b in range(blocks - 1, -1, -1):
        start = block_start[b]
        mean = block_sum[b] / (stop - start)
        for j in range(start, stop):
            ufit[j] = mean
            ulabels[j] = start
        stop = start


@jit
def _sort_pool_two(z, mass, upper, uz, ufit, ulabels):
    """:func:`_sort_upper` and :func:`_pool_upper` (same results, bit for bit) for k = 2,
    the rows of Mixup and CutMix: whether to swap and whether to pool are selects, not the
    loops' branches, which a training loop's new rows mispredict half the time. One call
    instead of the two and the copy between them (measured 8 us less per 256 rows than
    the same selects inside those two functions)."""
    i, j = upper[0], upper[1]
    mi, mj = mass[i], mass[j]
    zi, zj = np.float64(z[i]), np.float64(z[j])
    swap = (mi > mj) | ((mi == mj) & (zi > zj))
    upper[0] = j if swap else i
    upper[1] = i if swap else j
    a = zj if swap else zi
    b = zi if swap else zj
    uz[0] = a
    uz[1] = b
    pooled = a > b
    mean = (b + a) / 2.0
    ufit[0] = mean if pooled else a
    ufit[1] = mean if pooled else b
    ulabels[0] = 0
    ulabels[1] = 0 if pooled else 1


@jit
def _sorted_threshold(root_sum, root_w, values, index, count):
    """:func:`~isotree._numba.star.star_threshold` (unit weights) for a few candidates:
    an insertion sort by decreasing value (index order on ties, so the sums' order is
    fixed) and one scan that pools while the next value lies above the running mean.
    Returns ``(t, 0, pooled)``; the pooled entries are ``index[:pooled]``."""
    for j in range(1, count):
        v = values[j]
        i = index[j]
        p = j - 1
        while p >= 0 and (values[p] < v or (values[p] == v and index[p] > i)):
            values[p + 1] = values[p]
            index[p + 1] = index[p]
            p -= 1
        values[p + 1] = v
        index[p + 1] = i
    s = root_sum
    w = root_w
    pooled = 0
    while pooled < count and values[pooled] * w > s:
        s += values[pooled]
        w += 1.0
        pooled += 1
    return s / w, 0, pooled


@jit(inline=True)  # into ida_rows: a call per row passes ten arrays (measured 7 % faster)
def ida_row(z, mass, bits, magnitude, low, method, n_iter, fit, labels, ints, floats):
    """One row: ``fit`` (and ``labels`` unless empty) for the exact or approximate fit.

    ``bits`` is the mass row read as unsigned integers and ``low`` its lowest level (see
    :func:`_upper`). Scratch, reused across rows: ``ints`` (4, n) int64 and ``floats``
    (4, n) float64 (or more rows: it uses the first four).
    """
    n = z.shape[0]
    with_labels = labels.shape[0] == n
    upper = ints[0]
    k = _upper(bits, magnitude, low, upper)
    if k != 2 or method == SHIFT:
        _sort_upper(z, mass, upper, k)
    if k == 0 or method == SHIFT:
        for i in range(n):
            fit[i] = z[i]
        if with_labels:
            for i in range(n):
                labels[i] = i
        if k > 0:
            _shift_levels(z, mass, upper, k, fit)
        return
    uz = floats[0]
    ufit = floats[1]
    ulabels = ints[1]
    if k == 2:
        _sort_pool_two(z, mass, upper, uz, ufit, ulabels)
    else:
        for j in range(k):
            uz[j] = z[upper[j]]
        _pool_upper(uz, k, ufit, ulabels, floats[2], ints[2])
    # The lowest upper blocks act as the root of a star over the bottom level G. Pooling
    # entries of G raises the root's value t; while t exceeds the next block's mean, that
    # block joins the root (as PAVA on the whole sorted row would do) and t is recomputed.
    # At most k rounds, usually one.
    values = floats[2]
    ones = floats[3]
    index = ints[3]
    root_size = 0
    root_sum = 0.0
    root_w = 0.0
    t = 0.0
    warm = False
    while True:
        block = ulabels[root_size]
        while root_size < k and ulabels[root_size] == block:
            root_sum += uz[root_size]
            root_w += 1.0
            root_size += 1
        # Variable fixing: every step is a lower bound of the exact t, up to its rounding
        # error, and the set above it shrinks. Once a step finds the same set as the one
        # before, t is the mean of the root and exactly the entries above it: the exact
        # threshold. Approx stops after n_iter steps; an exact row that has not converged
        # collects the entries above the last bound, a small share of the row, for the
        # breakpoint search.
        # t is the mean of B and above_t entries of G, summed without cancellation (clean):
        # if a step finds exactly that many above t (none, for B's own mean), t is exact.
        # A later exact round starts from the last round's threshold instead of B's mean:
        # a step is Newton's on a convex decreasing function, so one step from any point
        # gives a lower bound, and from that one, close to the new threshold, the steps
        # settle in one or two instead of starting over (above_t < 0: t is not yet the
        # mean of any set).
        if warm:
            above_t = -1
        else:
            t = root_sum / root_w
            above_t = 0
        margin = 0.0
        clean = True
        converged = False
        for _ in range(PASSES if method == EXACT else n_iter):
            t_next, step_margin, above, step_clean = _michelot_step(z, upper, k, root_sum,
                                                                    root_w, t)
            if above == above_t:  # the same set: t is already its mean
                converged = clean
                break
            if t_next <= t and above_t >= 0:  # round-off (t rises in exact arithmetic)
                break
            t, margin, above_t, clean = t_next, step_margin, above, step_clean
            if method == EXACT and n >= LONG and above * above <= FEW * n:
                break
        first = count = 0
        if method == EXACT and not converged:
            count = _threshold_candidates(z, bits, magnitude, low, t - margin, values, ones,
                                          index)
            if count <= SMALL:
                t, first, count = _sorted_threshold(root_sum, root_w, values, index, count)
            else:
                t, first, count = star_threshold(root_sum, root_w, values, ones, index, count)
        if root_size == k or ufit[root_size] >= t:
            break
        warm = method == EXACT
    # Every entry of G ends at min(z, t) (never above t, not even by round-off); the pooled
    # ones are then set to t exactly, the upper entries to their blocks' values.
    root = upper[0]
    for i in range(n):
        fit[i] = min(np.float64(z[i]), t)
    if with_labels:
        for i in range(n):
            labels[i] = root if np.float64(z[i]) > t else i
    if method == EXACT:  # a search pooled index[first:count] (none at a fixed point)
        for j in range(first, count):
            fit[index[j]] = t
            if with_labels:
                labels[index[j]] = root
    for j in range(k):
        i = upper[j]
        fit[i] = t if j < root_size else ufit[j]
        if with_labels:
            labels[i] = root if j < root_size else upper[ulabels[j]]


@jit
def _shift_levels(z, mass, upper, k, fit):
    """Raise each mass level (upwards) by how far its minimum falls below all levels beneath.

    isotree's level-by-level generalisation of a shift correction, offered as a cheaper
    alternative; it is not in the IDA paper's official code, which computes the exact
    projection (``method="exact"``). Feasible, O(c), but not the projection. Every raised
    entry is at least the largest value beneath it, so the order holds exactly, with no
    one-ulp slip from the addition.
    """
    low = mass[upper[0]]  # everything below the first upper level is the bottom level
    below_max = -np.inf
    for i in range(z.shape[0]):
        if mass[i] < low:
            below_max = max(below_max, np.float64(z[i]))
    start = 0
    while start < k:
        stop = start
        level_min = np.inf
        while stop < k and mass[upper[stop]] == mass[upper[start]]:
            level_min = min(level_min, np.float64(z[upper[stop]]))
            stop += 1
        shift = max(0.0, below_max - level_min)
        level_max = -np.inf
        for j in range(start, stop):
            value = np.float64(z[upper[j]])
            if shift > 0.0:
                value = max(value + shift, below_max)
            fit[upper[j]] = value
            # What the entry holds (rounded to the output's dtype) bounds the next level.
            level_max = max(level_max, np.float64(fit[upper[j]]))
        below_max = max(below_max, level_max)
        start = stop


@jit
def _check_row(z_bits, z_magnitude, z_inf, bits, magnitude, inf):
    """``(largest |z| as magnitude bits, lowest mass level as magnitude bits, ok)`` for one
    row of logits and mass read as unsigned integers, in one vectorised pass over each (as
    in :mod:`isotree._numba.checks`): ok is False where a logit is NaN or infinite, or a mass
    entry is NaN, infinite or negative."""
    z_top = np.bitwise_and(z_bits[0], z_magnitude)
    for i in range(z_bits.shape[0]):
        z_top = max(z_top, np.bitwise_and(z_bits[i], z_magnitude))
    top = bits[0]
    mass_top = low = np.bitwise_and(bits[0], magnitude)
    for i in range(bits.shape[0]):
        top = max(top, bits[i])
        level = np.bitwise_and(bits[i], magnitude)
        mass_top = max(mass_top, level)
        low = min(low, level)
    # Raw bits above the sign bit alone: negative (-0.0 is the sign bit alone).
    return z_top, low, z_top < z_inf and mass_top < inf and top <= ~magnitude


@batched
def ida_rows(z, mass, method, n_iter, with_labels):
    """Every row of ``z`` and ``mass`` (B, c), both float32 or float64 and C-contiguous:
    ``(fit, labels, first_bad)``, the fit in ``z``'s dtype, labels (B, c) int64 if
    ``with_labels`` else (B, 0).

    The outputs and the scratch are allocated here, the masks are constants and the checks
    are made here, so that a call is one entry into compiled code with five arguments: in
    a training loop, every Python or NumPy call between two steps runs on cold caches and
    costs several times its back-to-back time (about 20 us for a scratch buffer or for
    both bit views, against 2 us back-to-back).

    Each row is checked as it is read (see :func:`_check_row`): a bad row is left unsolved
    and ``first_bad`` is the first such row (B when none), for the caller to raise. A row
    whose logits are near the overflow threshold or deep in the small range is solved as
    an exactly scaled copy (the rule of :func:`isotree._numba.scaling.row_shifts`, with unit
    weights), so a row's fit never depends on the other rows.
    """
    rows, c = z.shape
    z_bits, z_magnitude, z_inf = float_bits(z)
    bits, magnitude, inf = float_bits(mass)
    fit = np.empty_like(z)
    labels = np.empty((rows, c if with_labels else 0), np.int64)
    first_bad = rows
    solved = rows if c > 0 else 0  # a row without classes has nothing to check or solve
    chunk = rows_per_chunk(c)
    for first in prange((solved + chunk - 1) // chunk):
        # Scratch per chunk of rows (see ida_row); a row touches a few entries of it, all
        # of it only when it is scaled (rows 4 and 5).
        ints = np.empty((4, c), np.int64)
        floats = np.empty((6, c))
        for r in range(first * chunk, min(solved, (first + 1) * chunk)):
            largest, low, ok = _check_row(z_bits[r], z_magnitude, z_inf, bits[r], magnitude,
                                          inf)
            if not ok:
                first_bad = min(first_bad, r)
                continue
            shift, _, _ = row_shifts(exponent(largest, z_inf), 1, 1, c)
            if shift == 0:
                ida_row(z[r], mass[r], bits[r], magnitude, low, method, n_iter, fit[r],
                        labels[r], ints, floats)
                continue
            factor = math.ldexp(1.0, shift)
            scaled, scaled_fit = floats[4], floats[5]
            for i in range(c):
                scaled[i] = np.float64(z[r, i]) * factor
            ida_row(scaled, mass[r], bits[r], magnitude, low, method, n_iter, scaled_fit,
                    labels[r], ints, floats)
            for i in range(c):
                fit[r, i] = scaled_fit[i] / factor
    return fit, labels, first_bad


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


@batched
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
