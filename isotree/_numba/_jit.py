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
