"""Pool-adjacent-violators for chains, increasing direction only.

Best, Chakravarti & Ubhaya, "Active set algorithms for isotonic regression; a unifying
framework", Math. Programming 47 (1990), algorithm PAV: scan left to right keeping a stack of
blocks (weighted sum, total weight, first index); pool the top blocks while the previous
block's mean exceeds the new one's. O(n) per row. The other direction and the exact
power-of-two scaling come in as one factor per row (``y * sy``, ``fit / sy``; see
:mod:`isotree._numba.scaling`), so no negated or scaled copy of the data is made.

Deviations from the paper: sums, not means, are kept per block so pooling is exact addition;
the look-ahead compares y * w_total < sum instead of dividing; and, as in Busing, "Monotone
regression: a simple and fast O(n) PAVA implementation", J. Stat. Softw. 102 (2022), the
entries that follow a new block and lie below its mean are absorbed before it is pushed.
"""

from numba import prange

from ._jit import batched, jit, thread_slot


@jit
def pava_row(y, w, sy, sw, products, fit, labels, block_sum, block_w, block_start):
    """Solve one row into ``fit`` and, if ``labels`` is not empty, block ids (first index).

    The row solved is ``y * sy`` with weights ``w * sw`` (unit weights when ``w`` is
    empty); ``fit`` gets the fit of ``y``, i.e. the means divided by ``sy``. ``products``
    says that a block sum times a weight sum cannot overflow (see
    :func:`isotree._numba.scaling.row_shifts`), so violations may be tested without a
    division.
    ``block_sum``, ``block_w``, ``block_start`` are scratch of length ``len(y)``; ``fit``
    doubles as the stack of block means (block b's mean sits in ``fit[b]``, and b never
    exceeds the first index of block b). Returns the number of blocks.
    """
    n = y.shape[0]
    unit = w.shape[0] == 0
    nb = 0
    i = 0
    while i < n:
        wi = 1.0 if unit else w[i] * sw
        s = wi * (y[i] * sy)
        sw_block = wi
        k = i + 1
        # Look ahead (Busing 2022): entries below the new block's mean join it before it is
        # pushed. y < s / sw is tested as y * sw < s: no division on the hot path.
        while k < n:
            yk = y[k] * sy
            if not yk * sw_block < s:
                break
            wk = 1.0 if unit else w[k] * sw
            s += wk * yk
            sw_block += wk
            k += 1
        # Look back: pool the stacked blocks whose mean is strictly larger (ties stay apart).
        # First the clear violations, by cross-multiplied sums (no division per pooled
        # block; a margin of a few ulps leaves near-ties alone), then the rest on the
        # rounded means: the stored means never decrease, not even by one unit in the last
        # place, and equal ones stay apart.
        start_known = False
        while nb > 0 and products:
            before = block_sum[nb - 1] * sw_block
            after = s * block_w[nb - 1]
            if not before - after > 1e-15 * (abs(before) + abs(after)):
                break
            nb -= 1
            s += block_sum[nb]
            sw_block += block_w[nb]
            start_known = True
        mean = s / sw_block if k > i + 1 or start_known else y[i] * sy
        while nb > 0 and fit[nb - 1] > mean:
            nb -= 1
            s += block_sum[nb]
            sw_block += block_w[nb]
            mean = s / sw_block
            start_known = True
        if not start_known:
            block_start[nb] = i
        block_sum[nb] = s
        block_w[nb] = sw_block
        fit[nb] = mean
        nb += 1
        i = k
    # Expand from the last block down, so no block overwrites a mean still to be read.
    with_labels = labels.shape[0] == n
    inverse = 1.0 / sy  # exact: a power of two
    stop = n
    for b in range(nb - 1, -1, -1):
        mean = fit[b] * inverse
        start = block_start[b]
        for i in range(start, stop):
            fit[i] = mean
        if with_labels:
            for i in range(start, stop):
                labels[i] = start
        stop = start
    return nb


@batched
def pava_rows(y, w, scale, fit, labels, floats, ints):
    """Solve every row of ``y`` (m, n).

    ``w`` is (m, n), (1, n) shared by all rows, or (1, 0) for unit weights; ``scale`` is
    (m, 3) or (1, 3) shared: each row's factors for y and w and its products flag.
    ``labels`` is (m, n), or (m, 0) when the caller does not want block ids. Scratch:
    ``floats`` (threads, 2, n) and ``ints`` (threads, n), one slice per thread of the pool.
    """
    m = y.shape[0]
    w_step = 1 if w.shape[0] == m else 0  # 0: one row shared by all rows
    scale_step = 1 if scale.shape[0] == m else 0
    for r in prange(m):
        slot = thread_slot()
        k = r * scale_step
        pava_row(y[r], w[r * w_step], scale[k, 0], scale[k, 1], scale[k, 2] != 0.0, fit[r],
                 labels[r], floats[slot, 0], floats[slot, 1], ints[slot])
