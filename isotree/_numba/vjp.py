"""The block-average vector-Jacobian product of :mod:`isotree._blocks`, compiled.

The same formula as :func:`isotree._blocks.block_vjp` (block means recomputed from ``y``),
for the one case where it pays: a first-order backward of PyTorch CPU tensors, where one
pass over the rows is 1.2-2.8x faster than the framework's scatter-add and gather (measured
in ``benchmarks/bench_autodiff.py``). Double backward, forward mode and ``torch.func`` use the
framework operations, which can be differentiated again. Like every batched kernel it runs
serially or on Numba's threads by the policy of :mod:`isotree._threads`.
"""

import numpy as np
from numba import prange

from ._jit import batched, jit, rows_per_chunk


@jit
def _block_vjp_row(grad, labels, w, y, grad_y, grad_w, block_grad, block_w, block_wy):
    """One row; the ``block_*`` arrays are scratch of length n (any contents)."""
    n = grad.shape[0]
    for i in range(n):
        block_grad[labels[i]] = 0.0
        block_w[labels[i]] = 0.0
        block_wy[labels[i]] = 0.0
    for i in range(n):
        block_grad[labels[i]] += grad[i]
        block_w[labels[i]] += w[i]
        block_wy[labels[i]] += w[i] * y[i]
    # Every solver names a block after one of its members, so one division per block.
    for i in range(n):
        if labels[i] == i:
            block_grad[i] /= block_w[i]
            block_wy[i] /= block_w[i]
    want_w = grad_w.shape[0] == n
    for i in range(n):
        mean_grad = block_grad[labels[i]]
        grad_y[i] = w[i] * mean_grad
        if want_w:
            grad_w[i] = (y[i] - block_wy[labels[i]]) * mean_grad


@batched
def block_vjp_rows(grad, labels, w, y, grad_y, grad_w):
    """Rows (m, n): ``grad_y = w G_B / W_B`` and ``grad_w = (y - mean_B) G_B / W_B``.

    ``w`` is (m or 1, n); ``grad_w`` may be (m, 0) when not wanted. Chunks of rows share
    their scratch. Called through :func:`isotree._threads.call` (serial for small work).
    """
    m, n = grad.shape
    shared_w = w.shape[0] == 1
    chunk = rows_per_chunk(n)
    for first in prange((m + chunk - 1) // chunk):
        scratch = np.empty((3, n))
        for r in range(first * chunk, min(m, (first + 1) * chunk)):
            _block_vjp_row(grad[r], labels[r], w[0] if shared_w else w[r], y[r], grad_y[r],
                           grad_w[r], scratch[0], scratch[1], scratch[2])
