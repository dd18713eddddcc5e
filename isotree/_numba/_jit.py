"""The decorators every kernel is compiled with.

``cache=True`` so a kernel compiles once per machine; ``error_model="numpy"`` so a division
by zero gives inf/NaN instead of a Python exception check in the inner loop; no ``fastmath``:
every sum keeps the order its source gives, so a result does not depend on how its kernel
was compiled (the one vectorised sum that needs another order writes it out, see
:mod:`isotree._numba.lanes`). Signatures are left lazy, so each kernel compiles only for the
argument types it is actually called with, and ``import isotree`` stays cheap.
"""

import types

import numba

OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


def jit(func=None, *, parallel=False, inline=False):
    """Compile ``func`` with the project's Numba options (usable bare or with arguments).

    ``inline=True`` inlines it into its callers in Numba's own IR (LLVM leaves large
    functions as calls, each passing its arrays as structures and reference counts).
    """
    options = dict(OPTIONS, parallel=parallel, inline="always" if inline else "never")
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)


# The thread-pool slot of the running thread, for per-thread scratch. Batched kernels call it
# by this global name; their serial twins see ``_no_slot`` under it instead, since
# ``numba.get_thread_id`` reads the pool's state and crashes before the pool has started.
thread_slot = numba.get_thread_id


@numba.njit(**OPTIONS)
def _no_slot():
    return 0


class Batched:
    """A batched kernel compiled twice from one source: ``serial`` and ``parallel``.

    The ``prange`` loop over rows runs on Numba's thread pool in ``parallel`` and as a plain
    loop in ``serial``. Small work must not touch the pool at all: a sleeping OpenMP worker
    takes up to a scheduler tick (~4 ms) to wake, far more than the work (see
    :mod:`isotree._threads`), and a pool used before ``fork`` hangs the child.
    """

    __slots__ = ("serial", "parallel")

    def __init__(self, func):
        # A copy of the function under another qualified name: Numba's on-disk cache is
        # keyed by the qualified name, not by the compile options.
        serial_globals = dict(func.__globals__, thread_slot=_no_slot)
        twin = types.FunctionType(func.__code__, serial_globals, func.__name__,
                                  func.__defaults__, func.__closure__)
        twin.__qualname__ = func.__qualname__ + "_serial"
        twin.__doc__ = func.__doc__
        self.serial = numba.njit(**OPTIONS)(twin)
        self.parallel = numba.njit(parallel=True, **OPTIONS)(func)


def batched(func):
    """Decorator: compile a row-batched kernel (a ``prange`` over rows) as :class:`Batched`."""
    return Batched(func)


@jit
def rows_per_chunk(n):
    """How many rows of length n share one scratch allocation in a batched kernel.

    Short rows come in chunks (one allocation per chunk, not per row); rows of 65536 or
    more run one per task, so a few long rows still spread over the threads.
    """
    return max(1, min(64, 65536 // max(n, 1)))
