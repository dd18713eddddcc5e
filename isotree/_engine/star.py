"""The star (simple tree order) on the host: the breakpoint search of
:mod:`isotree._numba.star`, one row per problem."""

from .. import _validate as v
from . import missing
from .rows import Rows
from .tree import star_solve, tree_rows


def solve(options, y, root, weights):
    """:func:`isotree.star_isotonic_regression` on host arrays."""
    rows = Rows(y, weights, options.axis, sign=1.0 if options.increasing else -1.0)
    roots = v.check_root(root, rows.shape[:-1], rows.shape[-1])
    if rows.zeros:
        fit, labels = missing.star(rows, roots, options.workers, tree_rows)
    else:
        fit, labels = star_solve(rows, roots, options.workers, options.return_blocks)
    return rows.result(fit, labels, options)
