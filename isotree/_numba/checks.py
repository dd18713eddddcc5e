"""One-pass scans used by validation: no temporary arrays on the happy path."""

import numpy as np

from ._jit import jit


@jit
def scan_finite(a):
    """Return ``(first index not finite or -1, largest |value|, smallest value)`` of flat ``a``."""
    largest = 0.0
    smallest = np.inf
    for i in range(a.shape[0]):
        v = a[i]
        if not np.isfinite(v):
            return i, largest, smallest
        largest = max(largest, abs(v))
        smallest = min(smallest, v)
    return -1, largest, smallest
