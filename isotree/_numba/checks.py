"""One-pass scans used by validation: no temporary arrays, and vectorised.

The scans read the floats' bit patterns as unsigned integers of the same width: for finite
floats the magnitude order is the integer order of the bits without the sign, a value is
not finite exactly when its magnitude bits reach those of inf, and it is negative exactly
when the bits exceed the sign bit alone. Integer extremes reduce in any order, so the
compiler vectorises these loops in the bits' own width, which it may not do for
floating-point ``max`` or early exits. Masks are applied with ``np.bitwise_and``, which keeps
that width: Numba types ``a & b`` of two 32-bit integers as a 64-bit integer, and the loop
then ran in 64-bit lanes, 4-5 times slower for float32.
"""

import math

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import jit

# The unsigned integer of a float's width, the mask of its magnitude bits, the bits of inf.
_WIDTHS = {16: (np.uint16, 0x7FFF, 0x7C00),
           32: (np.uint32, 0x7FFF_FFFF, 0x7F80_0000),
           64: (np.uint64, 0x7FFF_FFFF_FFFF_FFFF, 0x7FF0_0000_0000_0000)}


def float_bits(values):
    """A C-contiguous float array viewed as unsigned integers of its width, with the mask
    of the magnitude bits and the bits of inf in that type (for the scans' integer
    comparisons; the sign bit is the mask's complement). In compiled code (float32 and
    float64) the view costs nothing and the masks are constants, so a kernel takes the
    float arrays alone.

    Examples
    --------
    >>> import numpy as np
    >>> bits, magnitude, inf = float_bits(np.array([-1.0, np.inf], np.float32))
    >>> [hex(b) for b in bits], hex(magnitude), hex(inf)
    (['0xbf800000', '0x7f800000'], '0x7fffffff', '0x7f800000')
    """
    unsigned, magnitude, inf = _WIDTHS[values.dtype.itemsize * 8]
    return values.view(unsigned), unsigned(magnitude), unsigned(inf)


@overload(float_bits)
def _float_bits_compiled(values):
    if not isinstance(values, types.Array) or not isinstance(values.dtype, types.Float):
        return None
    unsigned, magnitude, inf = _WIDTHS[values.dtype.bitwidth]
    magnitude, inf = unsigned(magnitude), unsigned(inf)
    return lambda values: (values.view(unsigned), magnitude, inf)


@jit
def scan_bits(bits, magnitude, sign, inf):
    """Over a flat unsigned view of a float array, with the masks of its width:
    ``(any not finite, largest magnitude bits, any < 0, any <= 0, smallest nonzero
    magnitude bits)`` (the last is ``inf``'s bits when every value is 0).

    Running extremes and nothing else, so the loop vectorises in the bits' own width
    (counting with wider integers kept it two to three times slower): the largest magnitude
    is not finite exactly when some value is not; the largest raw bits exceed the sign bit
    alone exactly when some value is negative (reach it for -0.0); the smallest raw bits
    are 0 exactly when some value is +0.0.
    """
    largest = np.bitwise_and(bits[0], magnitude)
    top = bits[0]
    low = bits[0]
    smallest = inf
    for i in range(bits.shape[0]):
        b = bits[i]
        m = np.bitwise_and(b, magnitude)
        largest = max(largest, m)
        top = max(top, b)
        low = min(low, b)
        smallest = min(smallest, m if m != 0 else inf)
    return largest >= inf, largest, top > sign, top >= sign or low == 0, smallest


@jit
def exponent(bits, inf):
    """The e with 2**(e-1) <= x < 2**e of the non-negative finite float32 or float64 x with
    these bits (0 for 0); ``inf`` is the bits of inf in the same width (it tells which)."""
    wide = np.uint64(inf) > np.uint64(0x7F800000)
    mantissa = 52 if wide else 23
    offset = 1022 if wide else 126
    field = np.int64(np.uint64(bits) >> np.uint64(mantissa))
    if field != 0:
        return field - offset
    if bits == 0:
        return 0
    # A subnormal: bits * 2**-(offset + mantissa).
    return math.frexp(float(bits))[1] - offset - mantissa
