"""Chains and predictor orders on any array library: parallel pooling.

Pooling any two adjacent blocks whose means violate the order is safe: both lie in one block
of the solution (Ayer et al., Ann. Math. Statist. 26 (1955); Best & Chakravarti, Math.
Program. 47 (1990)). So each round pools *every* violating adjacent pair at once; when no
pair violates, the fit is exact. Block ends come from pointer jumping and block sums from a
segmented scan inside each block (Hillis & Steele doubling), never from differences of
row-wide prefix sums, which cancel: with prefix sums ``[-1e17, 2, 2, 2]`` loses its 2s, and
float32 sums of ``1000 + noise`` lose their noise. A round costs O(n log n) work in
O(log n) steps.

The number of rounds is small on typical data (a decreasing run pools in one round) but can
reach n on adversarial data (one entry pooled per round: a sawtooth or a long reversed run
behind a high first entry). So the rounds are bounded by :data:`MAX_ROUNDS`; the rows still
pooling after that are finished on the host by the Numba PAVA (one transfer of those rows
each way). CUDA arrays never get here when the CUDA kernels are available: they run PAVA
on the device (:mod:`isotree._cuda`).
"""

import math

import numpy as np

from .common import device_of, from_host, take_rows, to_host

MAX_ROUNDS = 32  # parallel pooling rounds before the remaining rows go to the host PAVA


def _jump(xp, pointer, steps):
    for _ in range(steps):
        pointer = take_rows(xp, pointer, pointer)
    return pointer


def _block_totals(xp, values, weights, first, end, steps):
    """Sums of ``values`` and ``weights`` over each entry's block [first, end], by a
    segmented inclusive scan: partial sums never cross a block boundary."""
    m, n = values.shape
    index = xp.reshape(xp.arange(n, device=device_of(values)), (1, n))
    zero = xp.zeros_like(values)
    shift = 1
    for _ in range(steps):
        source = index - shift
        inside = source >= first
        source = xp.broadcast_to(xp.where(source >= 0, source, xp.zeros_like(source)), (m, n))
        values = values + xp.where(inside, take_rows(xp, values, source), zero)
        weights = weights + xp.where(inside, take_rows(xp, weights, source), zero)
        shift *= 2
    return take_rows(xp, values, end), take_rows(xp, weights, end)


def chain_rows(xp, y, w, max_rounds=MAX_ROUNDS):
    """Increasing isotonic fit of every row of ``y`` (m, n); ``w`` is (m or 1, n).

    Returns ``(fit, first)``: ``first`` is each entry's block label (its first index).
    """
    m, n = y.shape
    dev = device_of(y)
    w = xp.broadcast_to(w, (m, n))
    wy = w * y
    index = xp.broadcast_to(xp.reshape(xp.arange(n, device=dev), (1, n)), (m, n))
    start = xp.ones((m, n), dtype=xp.bool, device=dev)
    steps = max(1, math.ceil(math.log2(max(n, 2))))
    last = xp.full((m, 1), True, dtype=xp.bool, device=dev)
    lowest = xp.full((m, 1), -math.inf, dtype=y.dtype, device=dev)
    mean, first = y, index
    for _ in range(max_rounds):
        first = _jump(xp, xp.where(start, index, index - 1), steps)
        ends_here = xp.concat([start[:, 1:], last], axis=1)
        end = _jump(xp, xp.where(ends_here, index, index + 1), steps)
        # The scan needs only as many doublings as the longest block (one host read).
        longest = int(xp.max(end - first)) + 1
        block_sum, block_w = _block_totals(xp, wy, w, first, end,
                                           math.ceil(math.log2(longest)) if longest > 1 else 0)
        # A single entry's mean is its value exactly (as in the Numba PAVA): w y / w can
        # round, and a rounded tie would pool two blocks that stay apart.
        mean = xp.where(first == end, y, block_sum / block_w)
        before = xp.concat([lowest, mean[:, :-1]], axis=1)
        violates = xp.logical_and(start, before > mean)
        if not bool(xp.any(violates)):
            return mean, first
        start = xp.logical_and(start, xp.logical_not(violates))
    return _finish_on_host(xp, y, w, mean, first, xp.any(violates, axis=1))


def _finish_on_host(xp, y, w, fit, first, pending):
    """Solve the rows flagged in ``pending`` with the Numba PAVA and put them in place."""
    from ..solvers import isotonic_regression

    rows = np.flatnonzero(to_host(pending))
    picked = from_host(xp, rows, like=y)
    y_host = to_host(xp.take(y, picked, axis=0))
    w_host = to_host(xp.take(w, picked, axis=0))
    fit_host, first_host = isotonic_regression(y_host, weights=w_host, return_blocks=True)
    position = np.zeros(y.shape[0], dtype=np.int64)
    position[rows] = np.arange(rows.size)
    position = from_host(xp, position, like=y)
    pending = pending[:, None]
    fit_host = xp.astype(from_host(xp, fit_host, like=y), fit.dtype)
    first_host = xp.astype(from_host(xp, first_host, like=y), first.dtype)
    return (xp.where(pending, xp.take(fit_host, position, axis=0), fit),
            xp.where(pending, xp.take(first_host, position, axis=0), first))


def sort_rows(xp, key, tie):
    """Each row's indices sorted by (key, tie, index): two stable sorts."""
    by_tie = xp.argsort(tie, axis=1, stable=True)
    by_key = xp.argsort(take_rows(xp, key, by_tie), axis=1, stable=True)
    return take_rows(xp, by_tie, by_key)


def predictor_rows(xp, y, w, x):
    """Increasing fit of every row under the order of ``x`` (m, n), primary ties.

    Sort each row by (x, y), solve the chain, and gather back. Returns ``(fit, labels)``,
    a label being the original index of the block's first sorted entry.
    """
    m, n = y.shape
    order = sort_rows(xp, x, y)
    w = xp.broadcast_to(w, (m, n))
    fit_sorted, first = chain_rows(xp, take_rows(xp, y, order), take_rows(xp, w, order))
    back = xp.argsort(order, axis=1, stable=True)
    return (take_rows(xp, fit_sorted, back),
            take_rows(xp, take_rows(xp, order, first), back))
