"""The batched path for arrays of other libraries (CuPy, PyTorch, JAX, array_api_strict).

One implementation over the Python array API standard (through ``array-api-compat``): masked
reductions, cumulative sums, sorts and gathers, no per-row Python loops and no per-element
host synchronisation (only one scalar per iteration, to test convergence). NumPy arrays
never come here: they go to the Numba kernels.
"""
