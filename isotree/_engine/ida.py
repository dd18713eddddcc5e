"""IDA on the host: logits fitted to the order of the hard-label mass, and the statistics
of how often scores break that order."""

import math

import numpy as np

from .. import _threads
from .. import _validate as v
from .._numba.ida import ida_rows, order_stats_rows
from .._options import METHODS


def check_pair(scores, mass, name):
    """:func:`~isotree._validate.matrix_pair`, the scores finite and the mass finite and
    >= 0 (each scanned once)."""
    s, out_dtype, m = v.matrix_pair(scores, mass, name, "mass")
    v.check_finite(s, name)
    _, (_, _, negatives, _, _) = v.check_finite(m, "mass")
    v.check_mass(m, negatives)
    return s, out_dtype, m


def _rows(array):
    if array.ndim == 2 and array.flags.c_contiguous:
        return array
    shape = array.shape
    return np.ascontiguousarray(array.reshape(math.prod(shape[:-1]), shape[-1]))  # c may be 0


def solve(options, logits, mass):
    """:func:`isotree.ida.isotonic_logits` on host arrays."""
    z, out_dtype, m = v.matrix_pair(logits, mass, "logits", "mass")
    shape = z.shape
    z2, m2 = _rows(z), _rows(m)
    # One call into the kernel, which reads float32 logits as they are and writes the fit
    # in their dtype (sums in float64): no conversion passes, no float64 copies. It checks
    # each row as it reads it (logits finite, mass finite and >= 0: the row is then in
    # cache for the solve) and scales the rare rows near the overflow threshold or the
    # subnormal range itself.
    threads = _threads.threads_for(options.workers, z2.size, z2.shape[0])
    fit, labels, first_bad = _threads.call(ida_rows, threads, z2, m2,
                                           METHODS.index(options.method), options.n_iter,
                                           options.return_blocks)
    if first_bad < z2.shape[0]:
        check_pair(logits, mass, "logits")  # raises, naming the first bad entry
    if fit.shape != shape:
        fit = fit.reshape(shape)
    if fit.dtype != out_dtype:
        fit = fit.astype(out_dtype)
    if options.return_blocks:
        return fit, labels.reshape(shape)
    return fit


def statistics(options, scores, mass):
    """:func:`isotree.ida.order_violations` on host arrays (``options`` unused: None)."""
    out = order_statistics(scores, mass)

    def mean_of(column):
        values = column[~np.isnan(column)]
        return float(values.mean()) if values.size else float("nan")

    return {
        "violation_rate": mean_of(out[:, 0]),
        "kendall_tau": mean_of(out[:, 1]),
        "top2_any_mixed": mean_of(out[:, 2]),
        "top2_all_mixed": mean_of(out[:, 3]),
        "rows": int(out.shape[0]),
    }


def order_statistics(scores, mass):
    """Per row ``[violates, Kendall tau, top-2 any mixed, top-2 all mixed]`` (see
    :func:`isotree.ida.order_violations`) as a (rows, 4) array."""
    s, _, m = check_pair(scores, mass, "scores")
    s2, m2 = _rows(s), _rows(m)
    out = np.empty((s2.shape[0], 4))
    if s2.size:
        _threads.call(order_stats_rows, _threads.threads_for(None, s2.size, s2.shape[0]),
                      s2, m2, out)
    else:
        # A row without classes has no pair to break and no mixed label: the statistics
        # of a row with one class.
        out[:] = (0.0, np.nan, 0.0, np.nan)
    return out
