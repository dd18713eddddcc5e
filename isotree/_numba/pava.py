"""Pool-adjacent-violators for chains, increasing direction only.

Best, Chakravarti & Ubhaya, "Active set algorithms for isotonic regression; a unifying
framework", Math. Programming 47 (1990), algorithm PAV: scan left to right keeping a stack of
blocks (weighted sum, total weight, first index); pool the top blocks while the previous
block's mean exceeds the new one's. O(n) per row. Decreasing chains are solved by the caller
on -y (negation is exact, unlike a reversal of the block offsets).

Deviations from the paper: sums, not means, are kept per block so pooling is exact addition;
the look-ahead compares y * w_total < sum instead of dividing; and, as in Busing, "Monotone
regression: a simple and fast O(n) PAVA implementation", J. Stat. Softw. 102 (2022), the
entries that follow a new block and lie below its mean are absorbed before it is pushed.
"""

import numpy as np
from numba import prange

from ._jit import jit, rows_per_chunk


@jit
def pava_row(y, w, fit, labels, block_sum, block_w, block_start):
    """Solve one row into ``fit`` and, if ``labels`` is not empty, block ids (first index).

    ``block_sum``, ``block_w``, ``block_start`` are scratch of length ``len(y)``; ``fit``
    doubles as the stack of block means (block b's mean sits in ``fit[b]``, and b never
    exceeds the first index of block b). Returns the number of blocks.
    """
    n = y.shape[0]
    nb = 0
    i = 0
    while i < n:
        s = w[i] * y[i]
        sw = w[i]
        k = i + 1
        # Look ahead (Busing 2022): entries below the new block's mean join it before it is
        # pushed. y < s / sw is tested as y * sw < s: no division on the hot path.
        while k < n and y[k] * sw < s:
            s += w[k] * y[k]
            sw += w[k]
            k += 1
        # Look back: pool the stacked blocks whose mean is strictly larger (ties stay apart).
        # Compared as rounded means, so the stored means never decrease, not even by one
        # unit in the last place; one test decides both the pooling and the block's start.
        mean = s / sw if k > i + 1 else y[i]
        start_known = False
        while nb > 0 and fit[nb - 1] > mean:
            nb -= 1
            s += block_sum[nb]
            sw += block_w[nb]
            mean = s / sw
            start_known = True
        if not start_known:
            block_start[nb] = i
        block_sum[nb] = s
        block_w[nb] = sw
        fit[nb] = mean
        nb += 1
        i = k
    # Expand from the last block down, so no block overwrites a mean still to be read.
    with_labels = labels.shape[0] == n
    stop = n
    for b in range(nb - 1, -1, -1):
        mean = fit[b]
        start = block_start[b]
        for i in range(start, stop):
            fit[i] = mean
        if with_labels:
            for i in range(start, stop):
                labels[i] = start
        stop = start
    return nb


@jit(parallel=True)
def pava_rows(y, w, fit, labels):
    """Solve every row of ``y`` (m, n); ``w`` is (m, n) or (1, n) shared by all rows.

    ``labels`` is (m, n), or (m, 0) when the caller does not want block ids.
    """
    m, n = y.shape
    shared_w = w.shape[0] == 1
    chunk = rows_per_chunk(n)
    for first in prange((m + chunk - 1) // chunk):
        block_sum = np.empty(n)
        block_w = np.empty(n)
        block_start = np.empty(n, dtype=np.int64)
        for r in range(first * chunk, min(m, (first + 1) * chunk)):
            wr = w[0] if shared_w else w[r]
            pava_row(y[r], wr, fit[r], labels[r], block_sum, block_w, block_start)
