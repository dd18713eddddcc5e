"""The block-average vector-Jacobian product (see :mod:`isotree._blocks`) on the host.

Used by the PyTorch adapter for CPU tensors, where a single compiled pass beats a chain of
small framework operations.
"""

import numpy as np
from numba import prange

from ._jit import jit, rows_per_chunk


@jit
def _block_vjp_row(grad, labels, w, y, fit, grad_y, grad_w, block_grad, block_w):
    """One row; ``block_grad``/``block_w`` are scratch of length n (any contents)."""
    n = grad.shape[0]
    for i in range(n):
        block_grad[labels[i]] = 0.0
        block_w[labels[i]] = 0.0
    for i in range(n):
        block_grad[labels[i]] += grad[i]
        block_w[labels[i]] += w[i]
    # Every solver names a block after one of its members, so one division per block.
    for i in range(n):
        if labels[i] == i:
            block_grad[i] /= block_w[i]
    want_w = grad_w.shape[0] == n
    for i in range(n):
        mean_grad = block_grad[labels[i]]
        grad_y[i] = w[i] * mean_grad
        if want_w:
            grad_w[i] = (y[i] - fit[i]) * mean_grad


@jit(parallel=True)
def block_vjp_rows(grad, labels, w, y, fit, grad_y, grad_w):
    """Rows (m, n): ``grad_y = w G_B / W_B`` and ``grad_w = (y - fit) G_B / W_B``.

    ``w`` is (m or 1, n); ``grad_w`` may be (m, 0) when not wanted. Chunks of rows share
    their scratch.
    """
    m, n = grad.shape
    shared_w = w.shape[0] == 1
    chunk = rows_per_chunk(n)
    for first in prange((m + chunk - 1) // chunk):
        block_grad = np.empty(n)
        block_w = np.empty(n)
        for r in range(first * chunk, min(m, (first + 1) * chunk)):
            _block_vjp_row(grad[r], labels[r], w[0] if shared_w else w[r], y[r], fit[r],
                           grad_y[r], grad_w[r], block_grad, block_w)


@jit
def block_vjp_rows_serial(grad, labels, w, y, fit, grad_y, grad_w):
    """:func:`block_vjp_rows` without threads: small inputs (a training batch)."""
    m, n = grad.shape
    shared_w = w.shape[0] == 1
    block_grad = np.empty(n)
    block_w = np.empty(n)
    for r in range(m):
        _block_vjp_row(grad[r], labels[r], w[0] if shared_w else w[r], y[r], fit[r],
                       grad_y[r], grad_w[r], block_grad, block_w)
