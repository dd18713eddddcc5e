"""Isotonic regression on a rooted tree or forest: IRT-BIN.

Pardalos & Xue, "Algorithms for a class of isotonic regression problems", Algorithmica 23
(1999) 211-222, doi:10.1007/PL00009258. Orientation here: fit[parent] >= fit[child] (every
root is a maximum); the caller negates y for the other one, inside the exact per-row
scaling it applies (:mod:`isotree._numba.scaling`).

Nodes arrive numbered in preorder (``parent[k] < k``), so visiting k = n-1 .. 0 finishes every
child before its parent. Each block is named by its top node ``v`` and owns a leftist max-heap
(keyed by block mean) of the finished blocks hanging directly below it. At ``v``: while the
heap's top block has a larger mean than v's block, pool it (add its sum and weight, meld its
heap into v's). Pooling the *maximum* violator first is what makes the result exact (the
paper's Lemma 3). Then v's finished block goes into its parent's heap. Every pop and meld is
O(log n), so O(n log n) in all.
"""

import numpy as np
from numba import prange

from ._jit import batched, jit, rows_per_chunk
from .heap import LEFT, RANK, RIGHT, STACK_SIZE, meld

BELOW = 3


@jit
def irt_row(parent, y, w, fit, labels, mass, key, link):
    """Solve one row; ``labels[i]`` = the top node of i's block (all in visiting order).

    Scratch: ``mass`` (n, 2) float64 holds each block's weighted sum and weight, ``key``
    (n,) its mean, ``link`` (n, 4) integer the heap fields and, in column BELOW, the root of
    the heap of blocks hanging below it. ``labels`` first records which block each finished
    block was pooled into.
    """
    n = parent.shape[0]
    stack = np.empty(STACK_SIZE, dtype=np.int64)
    for v in range(n):
        link[v, BELOW] = -1
        labels[v] = v
    for v in range(n - 1, -1, -1):
        s = w[v] * y[v]
        sw = w[v]
        heap = link[v, BELOW]
        while heap != -1 and key[heap] > s / sw:
            c = heap
            heap = meld(link[c, LEFT], link[c, RIGHT], key, link, stack)
            heap = meld(heap, link[c, BELOW], key, link, stack)
            s += mass[c, 0]
            sw += mass[c, 1]
            labels[c] = v
        mass[v, 0] = s
        mass[v, 1] = sw
        key[v] = s / sw
        link[v, BELOW] = heap
        p = parent[v]
        if p >= 0:
            link[v, LEFT] = -1
            link[v, RIGHT] = -1
            link[v, RANK] = 1
            link[p, BELOW] = meld(link[p, BELOW], v, key, link, stack)
    # Parents come first, so the block a node was pooled into already knows its final top.
    for v in range(n):
        t = labels[v]
        if t != v:
            labels[v] = labels[t]
        fit[v] = key[labels[v]]


@batched
def irt_rows(parent, y, w, fit, labels):
    """Solve every row of ``y`` (m, n) on one tree; ``w`` is (m, n) or (1, n).

    The heap links are int32 when n allows (half the memory traffic of int64).
    """
    m, n = y.shape
    shared_w = w.shape[0] == 1
    small = n < 2**31 - 1
    chunk = rows_per_chunk(n)
    for first in prange((m + chunk - 1) // chunk):
        mass = np.empty((n, 2))
        key = np.empty(n)
        link = np.empty((n, 4), dtype=np.int32) if small else np.empty((0, 4), dtype=np.int32)
        link64 = np.empty((0 if small else n, 4), dtype=np.int64)
        for r in range(first * chunk, min(m, (first + 1) * chunk)):
            wr = w[0] if shared_w else w[r]
            if small:
                irt_row(parent, y[r], wr, fit[r], labels[r], mass, key, link)
            else:
                irt_row(parent, y[r], wr, fit[r], labels[r], mass, key, link64)
