"""How many threads a call uses: the ``workers=`` policy of every batched solver.

Numba's thread pool (OpenMP by default) parks its workers when the caller does other work
for a few milliseconds; waking them costs up to one scheduler tick (~4 ms on Linux) when
another process (a PyTorch training step, say) holds the other cores. That is 10-100 times
the cost of solving a small batch, so small work runs serially in the caller's thread,
through a separately compiled serial kernel that never touches the pool:

- ``workers=None`` (default): serial below :data:`PARALLEL_THRESHOLD` elements, otherwise
  every thread Numba may use (``numba.set_num_threads`` and a ``threadpoolctl`` limit on
  OpenMP are respected);
- ``workers=1``: serial;
- ``workers=k``: at most ``k`` threads (``-1``: all of Numba's threads).

GNU OpenMP's pool is not fork-safe: a child forked after a parallel call hangs at its first
parallel region. A forked child (a ``multiprocessing`` or PyTorch ``DataLoader`` worker
started by ``fork``) therefore always runs serially. Spawned and forkserver children are
fresh processes and follow the normal policy.
"""

import ctypes
import operator
import os

import numba

#: Elements (rows x row length) from which ``workers=None`` uses the thread pool. Measured
#: on 2-core machines: two threads pay off from about 64k elements on a quiet machine but
#: only from about 1M when another process keeps a core busy, and below that a wake-up
#: stall (about 4-8 ms) costs more than the work (see the benchmarks page).
PARALLEL_THRESHOLD = 1 << 20

_forked_child = False


def _after_fork_in_child():
    global _forked_child
    _forked_child = True


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)

_openmp = None


def _openmp_limit():
    """``omp_get_max_threads()`` of the loaded GNU OpenMP (a threadpoolctl limit), or None."""
    global _openmp
    if _openmp is None:
        try:
            mode = os.RTLD_NOLOAD | os.RTLD_LAZY  # only a library already loaded
            _openmp = ctypes.CDLL("libgomp.so.1", mode=mode).omp_get_max_threads
        except (OSError, AttributeError):
            return None  # not loaded yet (or not GNU OpenMP): nothing to respect
    return int(_openmp())


def check_workers(workers):
    """Validate ``workers``: None, -1, or an integer >= 1."""
    if workers is None:
        return None
    if isinstance(workers, bool):
        raise TypeError(f"workers must be None or an integer; got {workers!r}")
    try:
        workers = operator.index(workers)
    except TypeError:
        raise TypeError(f"workers must be None or an integer; got {workers!r}") from None
    if workers == 0 or workers < -1:
        raise ValueError(f"workers must be None, -1 or >= 1; got {workers}")
    return workers


def threads_for(workers, size, rows):
    """Threads for ``rows`` independent problems of ``size`` elements in all (``workers``
    already checked): never more than there are rows, since rows are what is shared out."""
    if workers == 1 or _forked_child or rows < 2:
        return 1
    if workers is None and size < PARALLEL_THRESHOLD:
        return 1
    available = numba.get_num_threads()
    limit = _openmp_limit()
    if limit is not None:
        available = min(available, limit)
    if workers is not None and workers != -1:
        available = min(available, workers)
    return max(min(available, rows), 1)


def call(kernel, threads, *args):
    """Call a :class:`~isotree._numba._jit.Batched` kernel on ``threads`` threads."""
    if threads == 1:
        return kernel.serial(*args)
    current = numba.get_num_threads()
    if threads == current:
        return kernel.parallel(*args)
    # Only an explicit ``workers`` below the pool's size gets here: the policy's default
    # never changes the pool (changing it costs a wake-up of its own).
    numba.set_num_threads(threads)
    try:
        return kernel.parallel(*args)
    finally:
        numba.set_num_threads(current)
