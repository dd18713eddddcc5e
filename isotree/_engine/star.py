"""The star (simple tree order) on the host: the breakpoint search of
:mod:`isotree._numba.star`, one row per problem."""

from .. import _threads
from .. import _validate as v
from .._numba.star import star_rows
from .._scratch import scratch
from .rows import Rows


def solve(options, y, root, weights):
    """:func:`isotree.star_isotonic_regression` on host arrays."""
    # The kernel's root is the maximum: the sign turns the increasing problem into it.
    rows = Rows(y, weights, options.axis, sign=-1.0 if options.increasing else 1.0)
    n = rows.shape[-1]
    roots = v.check_root(root, rows.shape[:-1], n)
    fit = rows.new()
    labels = rows.labels(options.return_blocks)
    if not rows.empty:
        threads = rows.threads(options.workers)
        floats, ints = scratch((threads, 2, n), (threads, n))
        _threads.call(star_rows, threads, rows.y, rows.w, roots, rows.scale, fit, labels,
                      floats, ints)
    fit = rows.finish(fit)
    if options.return_blocks:
        return fit, rows.shape_back(labels)
    return fit
