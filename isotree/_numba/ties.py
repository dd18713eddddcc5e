"""Isotonic regression on a predictor order, for rows already sorted by (x, y).

de Leeuw, "Correctness of Kruskal's algorithms for monotone regression with ties",
Psychometrika 42 (1977) 141-144; de Leeuw, Hornik & Mair, "Isotone optimization in R",
J. Stat. Softw. 32 (2009), section 2.2. With entries sorted by x and, inside a tie group, by
y, the three tie rules reduce to PAVA:

- primary (tied entries unordered): PAVA on the sorted entries;
- secondary (tied entries share one fit): PAVA on the tie groups' weighted means;
- tertiary (tie-group means ordered, offsets kept): the same group PAVA, then every entry
  moves by its group's shift. Bounds apply to the group means (clipping the isotonic
  group means is exact: the problem of the means is an isotonic regression of its own).
"""

import numpy as np
from numba import prange

from ._jit import batched, jit, rows_per_chunk
from .pava import pava_row

PRIMARY, SECONDARY, TERTIARY = 0, 1, 2


@jit
def ties_row(y, w, x, mode, low, high, fit, labels, group_y, group_w, group_fit,
             group_labels, block_sum, block_w, block_start):
    """One sorted row; ``low``/``high`` bound the group means under tertiary ties (other
    rules are clipped by the caller). Scratch: the group_* and block_* arrays, length n."""
    n = y.shape[0]
    if mode == PRIMARY:
        pava_row(y, w, 1.0, 1.0, False, fit, labels, block_sum, block_w, block_start)
        return
    # Tie groups: weighted mean and weight. A group of one entry keeps its value exactly
    # (w * y / w need not round back to y), so its offset below is exactly zero.
    g = -1
    for i in range(n):
        if i == 0 or x[i] != x[i - 1]:
            g += 1
            group_y[g] = 0.0
            group_w[g] = 0.0
        group_y[g] += w[i] * y[i]
        group_w[g] += w[i]
    n_groups = g + 1
    g = -1
    for i in range(n):
        if i == 0 or x[i] != x[i - 1]:
            g += 1
            single = i + 1 == n or x[i + 1] != x[i]
            group_y[g] = y[i] if single else group_y[g] / group_w[g]
    pava_row(group_y[:n_groups], group_w[:n_groups], 1.0, 1.0, False,
             group_fit[:n_groups],
             group_labels[:n_groups], block_sum, block_w, block_start)
    # Expand, walking the groups again; a block is named after its first sorted entry.
    with_labels = labels.shape[0] == n
    g = -1
    block_first = 0
    for i in range(n):
        if i == 0 or x[i] != x[i - 1]:
            g += 1
            if group_labels[g] == g:
                block_first = i
        if mode == SECONDARY:
            fit[i] = group_fit[g]
        else:
            fit[i] = min(max(group_fit[g], low), high) + (y[i] - group_y[g])
        if with_labels:
            labels[i] = block_first


@batched
def ties_rows(y, w, x, mode, bounds, fit, labels):
    """Every sorted row of ``y``, ``w``, ``x`` (m, n); ``bounds`` (m, 2) each row's bounds of
    the tertiary group means; labels (m, n) or (m, 0)."""
    m, n = y.shape
    chunk = rows_per_chunk(n)
    for first in prange((m + chunk - 1) // chunk):
        group_y = np.empty(n)
        group_w = np.empty(n)
        group_fit = np.empty(n)
        group_labels = np.empty(n, dtype=np.int64)
        block_sum = np.empty(n)
        block_w = np.empty(n)
        block_start = np.empty(n, dtype=np.int64)
        for r in range(first * chunk, min(m, (first + 1) * chunk)):
            ties_row(y[r], w[r], x[r], mode, bounds[r, 0], bounds[r, 1], fit[r], labels[r],
                     group_y, group_w, group_fit, group_labels, block_sum, block_w,
                     block_start)
