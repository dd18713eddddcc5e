"""Launch the CUDA kernels on 2-D rows of an array library; outputs stay in that library.

Every function takes the :class:`~isotree._bridge.Bridge` of the arrays' library (PyTorch's
or CuPy's on a GPU; NumPy's under Numba's CUDA simulator, which is how the tests run these
on a CPU) and (m, n) rows already validated by :mod:`isotree._cuda.rows`. Inputs are read
in their own dtype; the fit comes back in it, labels as int64, all allocated by the library
on the input's device: nothing is copied to the host. PyTorch tensors and CuPy arrays reach
the kernels through ``__cuda_array_interface__`` (no copy).
"""

import contextlib
import math
import warnings

import numpy as np
from numba import cuda
from numba.core.errors import NumbaPerformanceWarning

from . import kernels
from .rows import sort_rows, take_rows

ROW_THREADS = 64  # threads per block for the one-row-per-thread chain kernel
BLOCK_ROWS = 1024  # chain batches of fewer rows than this ...
BLOCK_LENGTH = 4096  # ... and rows this long: one block per row (a guess until measured)
SPLIT_ROWS = 64  # star batches of fewer rows than this ...
SPLIT_LENGTH = 1 << 16  # ... and rows this long are split over many blocks
CHUNK = 8192  # entries per block when a row is split


def _view(a):
    """A kernel argument: NumPy arrays and scalars as they are (the simulator takes NumPy),
    device arrays as a Numba view of the same memory (PyTorch: of the tensor without its
    autograd history), imported without a stream synchronisation: the kernels run in the
    array library's own stream (:func:`_launching`), after its work on these arrays."""
    if isinstance(a, (np.ndarray, int, float, bool)):
        return a
    detach = getattr(a, "detach", None)
    return cuda.as_cuda_array(detach() if detach is not None else a, sync=False)


def block_threads(n, threads=None):
    """Threads per block for the one-row-per-block kernels: a power of two (the shared
    reductions need one), about a quarter of the row, between one warp and THREADS."""
    if threads is None:
        threads = 1 << max(5, min(int(math.log2(kernels.THREADS)),
                                  math.ceil(math.log2(max(n // 4, 1)))))
    if threads & (threads - 1) or not 1 <= threads <= kernels.THREADS:
        raise ValueError(f"threads must be a power of two <= {kernels.THREADS}; got {threads}")
    return threads


@contextlib.contextmanager
def _launching(bridge, like):
    """Launch on ``like``'s device, in its library's current stream (so the kernels are
    ordered with the library's own work on these arrays, even on a non-blocking stream),
    without Numba's low-occupancy warning: small batches are legitimate here."""
    index, pointer = bridge.cuda_device_and_stream(like)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        if index is None:
            yield 0
            return
        with cuda.gpus[index]:
            yield cuda.external_stream(pointer) if pointer else cuda.default_stream()


def _launch(bridge, kernel, grid, block, like, *args):
    """``kernel[grid, block](*args)`` on the device and stream of ``like``."""
    with _launching(bridge, like) as stream:
        kernel[grid, block, stream](*(_view(a) for a in args))


def _grid(rows):
    return max(1, min(rows, 65535))


def _empty(bridge, shape, dtype, like):
    return bridge.xp.empty(shape, dtype=dtype, device=bridge.device(like))


def _columns(bridge, a):
    """``a`` (m, n) as a C-contiguous (n, m) array of its own library (a transpose copy):
    the one-thread-per-row kernel reads it with coalesced loads."""
    return bridge.contiguous(a.T)


def chain(bridge, y, w, sign, with_labels, per_block=None, threads=None):
    """Increasing fit of ``sign * y`` (m, n) rows; ``w`` (m or 1, n). Returns (fit, labels);
    labels (block's first index) only when ``with_labels``, else None.

    One thread per row, or (``per_block``; None decides by size) one block per row."""
    xp = bridge.xp
    m, n = y.shape
    if not (m and n):
        return (_empty(bridge, (m, n), y.dtype, y),
                _empty(bridge, (m, n), xp.int64, y) if with_labels else None)
    if per_block is None:
        per_block = m < BLOCK_ROWS and n >= BLOCK_LENGTH
    layout = (m, n) if per_block else (n, m)
    fit = _empty(bridge, layout, y.dtype, y)
    no_labels = (m, 0) if per_block else (0, m)
    labels = _empty(bridge, layout if with_labels else no_labels, xp.int64, y)
    scratch = [_empty(bridge, layout, xp.float64, y) for _ in range(3)]
    start = _empty(bridge, layout, xp.int32, y)
    if per_block:
        _launch(bridge, kernels.chain_block_kernel, _grid(m), block_threads(n, threads), y, y, w,
                float(sign), fit, labels, *scratch, start)
        return fit, (labels if with_labels else None)
    blocks = (m + ROW_THREADS - 1) // ROW_THREADS
    _launch(bridge, kernels.chain_kernel, _grid(blocks), ROW_THREADS, y, _columns(bridge, y),
            _columns(bridge, w), float(sign), fit, labels, *scratch, start)
    return _columns(bridge, fit), (_columns(bridge, labels) if with_labels else None)


def predictor(bridge, y, w, x, sign, with_labels):
    """Fit under the order of ``x`` with primary ties: sort each row by (x, sign * y) with
    the library's stable sort, solve the chains, and scatter back."""
    xp = bridge.xp
    m, n = y.shape
    order = sort_rows(xp, x, sign * y)
    w_full = xp.broadcast_to(w, (m, n))
    fit_sorted, labels_sorted = chain(bridge, take_rows(xp, y, order),
                                      take_rows(xp, w_full, order), sign, with_labels)
    back = xp.argsort(order, axis=1, stable=True)
    fit = take_rows(xp, fit_sorted, back)
    if not with_labels:
        return fit, None
    # A sorted position names its block; report the original index of that entry.
    return fit, take_rows(xp, take_rows(xp, order, labels_sorted), back)


def star(bridge, y, w, roots, sign, with_labels, threads=None, split=None, chunk=CHUNK):
    """Star fit of (m, n) rows with ``roots`` (m,) the maximum of ``sign * y``.

    One block per row; a few long rows (``split``: None decides by size) are split over
    blocks of ``chunk`` entries each, one launch per variable-fixing step and a one-int
    host read to know whether any row is still changing."""
    xp = bridge.xp
    m, n = y.shape
    fit = _empty(bridge, (m, n), y.dtype, y)
    labels = _empty(bridge, (m, n) if with_labels else (m, 0), xp.int64, y)
    if not (m and n):
        return fit, (labels if with_labels else None)
    threads = block_threads(n, threads)
    if split is None:
        split = m < SPLIT_ROWS and n >= SPLIT_LENGTH
    sign = float(sign)
    if not split:
        _launch(bridge, kernels.star_kernel, _grid(m), threads, y, y, w, roots, sign, fit, labels)
        return fit, (labels if with_labels else None)
    chunks = min(65535, (n + chunk - 1) // chunk)
    grid = (chunks, m)
    partials = [_empty(bridge, (m, chunks), xp.float64, y) for _ in range(3)]
    state = _empty(bridge, (m, 8), xp.float64, y)
    pending = _empty(bridge, (1,), xp.int32, y)
    row_blocks = (m + ROW_THREADS - 1) // ROW_THREADS
    _launch(bridge, kernels.star_extremes_kernel, grid, threads, y, y, w, *partials)
    _launch(bridge, kernels.star_start_kernel, row_blocks, ROW_THREADS, y, y, w, roots, sign,
            *partials, state)
    for _ in range(n + 1):
        pending[...] = 0
        _launch(bridge, kernels.star_partials_kernel, grid, threads, y, y, w, roots, sign, state,
                *partials)
        _launch(bridge, kernels.star_step_kernel, row_blocks, ROW_THREADS, y, state, *partials,
                pending)
        if not int(pending[0]):
            break
    _launch(bridge, kernels.star_write_kernel, grid, threads, y, y, roots, sign, state, fit, labels)
    return fit, (labels if with_labels else None)


def ida(bridge, z, mass, exact, n_iter, with_labels, threads=None):
    """IDA fit of logits ``z`` (B, c) on ``mass``: exact, or ``n_iter`` approximate steps.

    Rows with at most ``kernels.SLOTS`` entries above their lowest mass (Mixup, CutMix,
    k-way mixes) are solved in one pass; if any row has more, the whole batch is solved
    again from its (mass, logit) order, sorted by the library (one host synchronisation
    on the largest count).
    """
    xp = bridge.xp
    b, c = z.shape
    fit = _empty(bridge, (b, c), z.dtype, z)
    labels = _empty(bridge, (b, c) if with_labels else (b, 0), xp.int64, z)
    if not (b and c):
        return fit, (labels if with_labels else None)
    counts = _empty(bridge, (b,), xp.int32, z)
    grid, block = _grid(b), block_threads(c, threads)
    exact, n_iter = bool(exact), int(n_iter)
    _launch(bridge, kernels.ida_kernel, grid, block, z, z, mass, exact, n_iter, fit, labels, counts)
    if int(xp.max(counts)) > kernels.SLOTS:
        order = sort_rows(xp, mass, z)
        uz, ufit, bsum, bw, bmean = (_empty(bridge, (b, c), xp.float64, z) for _ in range(5))
        ulab, bstart = (_empty(bridge, (b, c), xp.int32, z) for _ in range(2))
        _launch(bridge, kernels.ida_sorted_kernel, grid, block, z, z, mass, order, exact, n_iter,
                fit, labels, uz, ufit, ulab, bsum, bw, bmean, bstart)
    return fit, (labels if with_labels else None)

