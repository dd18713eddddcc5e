"""Chains and predictor orders on any array library: parallel pooling.

Pooling any two adjacent blocks whose means violate the order is safe: both lie in one block
of the solution (Ayer et al., Ann. Math. Statist. 26 (1955); Best & Chakravarti, Math.
Program. 47 (1990)). So each round pools *every* violating adjacent pair at once, with
block sums from cumulative sums and block ends found by pointer jumping; when no pair
violates, the fit is exact. A round costs O(n log n) gathers; the number of rounds is
small on typical data (a decreasing run pools in one round) but can reach n on adversarial
data, where the Numba PAVA on the host is the better tool.
"""

import math

from .common import device_of, take_rows


def _jump(xp, pointer, rounds):
    for _ in range(rounds):
        pointer = take_rows(xp, pointer, pointer)
    return pointer


def chain_rows(xp, y, w):
    """Increasing isotonic fit of every row of ``y`` (m, n); ``w`` is (m or 1, n)."""
    m, n = y.shape
    dev = device_of(y)
    w = xp.broadcast_to(w, (m, n))
    zero = xp.zeros((m, 1), dtype=y.dtype, device=dev)
    total_y = xp.concat([zero, xp.cumulative_sum(w * y, axis=1)], axis=1)
    total_w = xp.concat([zero, xp.cumulative_sum(w, axis=1)], axis=1)
    index = xp.broadcast_to(xp.reshape(xp.arange(n, device=dev), (1, n)), (m, n))
    start = xp.ones((m, n), dtype=xp.bool, device=dev)
    rounds = max(1, math.ceil(math.log2(max(n, 2))))
    last = xp.full((m, 1), True, dtype=xp.bool, device=dev)
    lowest = xp.full((m, 1), -math.inf, dtype=y.dtype, device=dev)
    mean = y
    for _ in range(n):
        first = _jump(xp, xp.where(start, index, index - 1), rounds)
        ends_here = xp.concat([start[:, 1:], last], axis=1)
        end = _jump(xp, xp.where(ends_here, index, index + 1), rounds)
        mean = ((take_rows(xp, total_y, end + 1) - take_rows(xp, total_y, first))
                / (take_rows(xp, total_w, end + 1) - take_rows(xp, total_w, first)))
        before = xp.concat([lowest, mean[:, :-1]], axis=1)
        violates = xp.logical_and(start, before > mean)
        if not bool(xp.any(violates)):
            break
        start = xp.logical_and(start, xp.logical_not(violates))
    return mean


def predictor_rows(xp, y, w, x):
    """Increasing fit of every row under the order of ``x`` (m, n), primary ties.

    Sort each row by (x, y) (two stable sorts), solve the chain, and gather back.
    """
    m, n = y.shape
    by_y = xp.argsort(y, axis=1, stable=True)
    by_x = xp.argsort(take_rows(xp, x, by_y), axis=1, stable=True)
    order = take_rows(xp, by_y, by_x)
    w = xp.broadcast_to(w, (m, n))
    fit_sorted = chain_rows(xp, take_rows(xp, y, order), take_rows(xp, w, order))
    return take_rows(xp, fit_sorted, xp.argsort(order, axis=1, stable=True))
