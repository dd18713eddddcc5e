"""The validation scan and the exact per-row scaling, in one pass over the data.

Every row is solved as ``y * sy`` with weights ``w * sw``, where ``sy`` (with the sign that
picks the direction) and ``sw`` are powers of two, so the scaling is exact and is undone
exactly on the way out. They are chosen per row, so a row's fit never depends on the other
rows of a batch: they keep every sum of ``w * y`` and of ``w`` finite (sums stay below
``2**LIMIT``), lift rows of tiny values and tiny weights out of the subnormal range (where
products lose digits), and are 1 for every row of ordinary magnitude.
"""

import math

import numpy as np

from ._jit import jit
from .checks import exponent

LIMIT = 1000  # float64 overflows at 2**1024; the kernels compare products of sums
LOW = -LIMIT // 2  # rows whose largest value or weight lies below 2**LOW are lifted


@jit
def row_shifts(exp_y, exp_w, exp_w_min, n):
    """Power-of-two exponents ``(shift_y, shift_w)`` for one row (see the module), from the
    exponents of its largest |y| (0 if all are 0), largest and smallest weight, and whether
    products of a sum of ``w * y`` and a sum of weights stay finite after them."""
    log_n = 1
    while (1 << log_n) <= n:
        log_n += 1
    # Weights: down only as far as their sum needs (a weight scaled to 0 would leave a
    # block without weight); up, while the largest stays below 2**(LIMIT/2), when the
    # smallest one is tiny, so every product w * y keeps its digits.
    shift_w = 0
    if exp_w + log_n > LIMIT:
        shift_w = LIMIT - exp_w - log_n
    elif exp_w_min < LOW:
        shift_w = max(0, min(-exp_w_min, LIMIT // 2 - exp_w - log_n, LIMIT))
    # y: up when its largest value is tiny, down when w * y sums could overflow.
    shift_y = 0
    if exp_y < LOW:
        shift_y = min(-exp_y, LIMIT)  # the largest value to about 1
    excess = exp_y + shift_y + exp_w + shift_w + log_n - LIMIT
    if excess > 0:
        # y takes the reduction while its largest value stays above 2**LOW (and its factor
        # and inverse stay normal numbers); the weights take what is left.
        take_y = min(excess, exp_y + shift_y - LOW, LIMIT + shift_y)
        shift_y -= take_y
        shift_w = max(shift_w - (excess - take_y), -LIMIT)
    # Can a block sum times a weight sum (the chain kernel's cross-multiplied test) overflow?
    products = exp_y + shift_y + 2 * (exp_w + shift_w + log_n) <= LIMIT
    return shift_y, shift_w, products


@jit
def scan_rows(y, w, sign, scale):
    """Check ``y`` (m, n) and ``w`` ((m or 1), n, or (1, 0) for unit weights), both float64
    read as uint64 bits (see :mod:`isotree._numba.checks`), and fill ``scale`` (m, 3) with
    each row's factors ``(sign * 2**shift_y, 2**shift_w)`` and 1.0 where products of its
    sums stay finite (else 0.0).

    Returns ``(y has a NaN or inf, w has a bad weight, any row not plain, zeros)``: a bad
    weight is not finite or < 0; a plain row has factors ``(sign, 1)`` and safe products;
    ``zeros`` counts the weights equal to 0 (missing observations), whose rows the caller
    solves without them. The weights' scale comes from the positive ones.
    """
    m, n = y.shape
    magnitude = np.uint64(0x7FFFFFFFFFFFFFFF)
    inf = np.uint64(0x7FF0000000000000)
    unit = w.shape[1] == 0
    shared = w.shape[0] == 1
    exp_w = 1  # unit weights: 2**0 <= 1 < 2**1
    exp_w_min = 1
    scaled = False
    zeros = 0
    for r in range(m):
        if not unit and (r == 0 or not shared):
            largest = np.uint64(0)
            smallest = inf
            bad = 0
            row_zeros = 0
            for i in range(n):
                b = w[r, i]
                m_b = b & magnitude
                largest = max(largest, m_b)
                if m_b == 0:  # 0.0 or -0.0: a missing observation
                    row_zeros += 1
                else:
                    smallest = min(smallest, b)  # the smallest positive weight
                    bad += b >= inf  # not finite, or negative (sign bit)
            if bad:
                return False, True, False, 0
            zeros += row_zeros if not shared else row_zeros * m
            exp_w = exponent(largest, inf)
            exp_w_min = exponent(smallest, inf) if smallest < inf else exp_w
        largest = np.uint64(0)
        for i in range(n):  # one running maximum: vectorised (see isotree._numba.checks)
            largest = max(largest, y[r, i] & magnitude)
        if largest >= inf:
            return True, False, False, 0
        shift_y, shift_w, products = row_shifts(exponent(largest, inf), exp_w, exp_w_min, n)
        scale[r, 0] = sign * math.ldexp(1.0, shift_y)
        scale[r, 1] = math.ldexp(1.0, shift_w)
        scale[r, 2] = 1.0 if products else 0.0
        scaled |= shift_y != 0 or shift_w != 0 or not products
    return False, False, scaled, zeros
