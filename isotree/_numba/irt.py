"""Isotonic regression on a rooted tree or forest: IRT-BIN.

Pardalos & Xue, "Algorithms for a class of isotonic regression problems", Algorithmica 23
(1999) 211-222, doi:10.1007/PL00009258. Orientation here: fit[parent] >= fit[child] (every
root is a maximum); the caller negates y for the other one.

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

from ._jit import jit
from .heap import STACK_SIZE, meld


@jit
def irt_row(parent, y, w, fit, labels, block_sum, block_w, key, left, right, rank, below, top_of):
    """Solve one row; ``labels[i]`` = the top node of i's block (all in preorder numbering).

    The nine arrays after ``labels`` are scratch of length n (``top_of`` doubles as the
    "pooled into" pointer of finished blocks).
    """
    n = parent.shape[0]
    stack = np.empty(STACK_SIZE, dtype=np.int64)
    for v in range(n):
        below[v] = -1
        top_of[v] = v
    for v in range(n - 1, -1, -1):
        s = w[v] * y[v]
        sw = w[v]
        heap = below[v]
        while heap != -1 and key[heap] > s / sw:
            c = heap
            heap = meld(left[c], right[c], key, left, right, rank, stack)
            heap = meld(heap, below[c], key, left, right, rank, stack)
            s += block_sum[c]
            sw += block_w[c]
            top_of[c] = v
        block_sum[v] = s
        block_w[v] = sw
        key[v] = s / sw
        below[v] = heap
        p = parent[v]
        if p >= 0:
            left[v] = -1
            right[v] = -1
            rank[v] = 1
            below[p] = meld(below[p], v, key, left, right, rank, stack)
    # Preorder puts every block's top before the nodes pooled into it.
    for v in range(n):
        t = top_of[v]
        top = v if t == v else labels[t]
        labels[v] = top
        fit[v] = key[top]


@jit(parallel=True)
def irt_rows(parent, y, w, fit, labels):
    """Solve every row of ``y`` (m, n) on one tree; ``w`` is (m, n) or (1, n)."""
    m, n = y.shape
    shared_w = w.shape[0] == 1
    for r in prange(m):
        block_sum = np.empty(n)
        block_w = np.empty(n)
        key = np.empty(n)
        left = np.empty(n, dtype=np.int64)
        right = np.empty(n, dtype=np.int64)
        rank = np.empty(n, dtype=np.int64)
        below = np.empty(n, dtype=np.int64)
        top_of = np.empty(n, dtype=np.int64)
        wr = w[0] if shared_w else w[r]
        irt_row(parent, y[r], wr, fit[r], labels[r], block_sum, block_w, key, left, right,
                rank, below, top_of)
