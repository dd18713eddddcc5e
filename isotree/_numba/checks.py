"""One-pass scans used by validation: no temporary arrays, and vectorised.

The scans read the floats' bit patterns as unsigned integers of the same width: for finite
floats the magnitude order is the integer order of the bits without the sign, a value is
not finite exactly when its magnitude bits reach those of inf, and it is negative exactly
when the bits exceed the sign bit alone. Integer counts and maxima reduce in any order, so
the compiler vectorises these loops, which it may not do for floating-point ``max`` or
early exits (a plain float scan runs about four times slower).
"""

import math

from ._jit import jit


@jit
def scan_bits(bits, magnitude, sign, inf):
    """Over a flat unsigned view of a float array, with the masks of its width:
    ``(count not finite, largest magnitude bits, count < 0, count <= 0)``."""
    not_finite = 0
    negative = 0
    not_positive = 0
    largest = bits[0] & magnitude
    for i in range(bits.shape[0]):
        b = bits[i]
        m = b & magnitude
        largest = max(largest, m)
        not_finite += m >= inf
        negative += b > sign
        not_positive += (b >= sign) | (b == 0)
    return not_finite, largest, negative, not_positive


@jit
def exponent64(bits):
    """The e with 2**(e-1) <= x < 2**e of the non-negative float64 with these bits (0 for 0)."""
    field = bits >> 52
    if field != 0:
        return field - 1022
    if bits == 0:
        return 0
    return math.frexp(float(bits))[1] - 1074  # subnormal: bits * 2**-1074
