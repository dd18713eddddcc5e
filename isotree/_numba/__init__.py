"""Numba kernels: pure functions over contiguous arrays, no validation, no recursion."""
