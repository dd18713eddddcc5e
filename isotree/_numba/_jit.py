"""The one decorator every kernel is compiled with.

``cache=True`` so a kernel compiles once per machine; ``error_model="numpy"`` so a division
by zero gives inf/NaN instead of a Python exception check in the inner loop; no ``fastmath``:
the exact kernels must not have their sums reassociated. Signatures are left lazy: every
caller passes contiguous float64/int64 arrays, so each kernel compiles exactly once, on
first use, and ``import isotree`` stays cheap.
"""

import numba


def jit(func=None, *, parallel=False):
    """Compile ``func`` with the project's Numba options (usable bare or with arguments)."""
    options = dict(cache=True, nogil=True, error_model="numpy", parallel=parallel)
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)


@jit
def rows_per_chunk(n):
    """How many rows of length n share one scratch allocation in a batched kernel.

    Short rows come in chunks (one allocation per chunk, not per row); rows of 65536 or
    more run one per task, so a few long rows still spread over the threads.
    """
    return max(1, min(64, 65536 // max(n, 1)))
