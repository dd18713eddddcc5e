"""The host engine: one validated problem solved on NumPy arrays by the Numba kernels.

Every function here takes the options of :mod:`isotree._options` (already validated) and
host array-likes, validates and lays out the arrays once (:mod:`.rows`), calls a kernel of
:mod:`isotree._numba`, and returns NumPy results in the caller's shape and float dtype. The
dispatcher (:mod:`isotree._dispatch`) calls it for NumPy input and for the host copies (or
host-memory views) of other libraries' arrays, the adapters' operators included.
"""
