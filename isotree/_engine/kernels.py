"""How the engine calls the batched kernels: threads (:mod:`isotree._threads`) and scratch
memory (:mod:`isotree._scratch`) for rows laid out by :class:`.rows.Rows`."""

from .. import _threads
from .._numba.pava import pava_rows
from .._scratch import scratch


def pava(rows, y, w, fit, labels, workers):
    """PAVA on the rows ``y``/``w`` (laid out as ``rows``, with its factors) into ``fit``;
    ``labels`` (m, n) or (m, 0)."""
    threads = rows.threads(workers)
    n = y.shape[1]
    floats, ints = scratch((threads, 2, n), (threads, n))
    _threads.call(pava_rows, threads, y, w, rows.scale, fit, labels, floats, ints)
