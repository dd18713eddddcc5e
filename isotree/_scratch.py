"""Scratch memory for the kernels, reused across calls in the same thread.

A fresh ``np.empty`` of a few megabytes is mapped anew by the allocator on every call and
page-faults on first touch: for a 10^6 chain that cost about as much as the solve. Buffers
up to :data:`KEEP_BYTES` are therefore kept per thread (thread-local: concurrent calls
from several threads never share one) and handed out again; larger ones are allocated per
call. A kernel gets one float64 and one int64 buffer per call and slices them itself.
"""

import math
import threading

import numpy as np

#: The most bytes of scratch a thread keeps between calls, per dtype.
KEEP_BYTES = 1 << 25

_local = threading.local()


def _buffer(name, count, dtype):
    if count * 8 > KEEP_BYTES:
        return np.empty(count, dtype)
    buf = getattr(_local, name, None)
    if buf is None or buf.shape[0] < count:
        buf = np.empty(max(count, 4096), dtype)
        setattr(_local, name, buf)
    return buf[:count]


def scratch(float_shape, int_shape=(0,)):
    """Uninitialised float64 and int64 arrays of the given shapes (may hold old data)."""
    floats = _buffer("floats", math.prod(float_shape), np.float64).reshape(float_shape)
    ints = _buffer("ints", math.prod(int_shape), np.int64).reshape(int_shape)
    return floats, ints
