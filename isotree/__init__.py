"""isotree: exact, fast isotonic regression on chains, trees, forests and stars."""

from . import ida, testing  # noqa: F401  (subpackages reachable as isotree.ida, ...)

from .dag import dag_isotonic_regression, grid_edges, grid_isotonic_regression
from .solvers import (isotonic_regression, kkt_violation, star_isotonic_regression,
                      tree_isotonic_regression)
from .tree import Tree

__version__ = "0.1.0"


def __getattr__(name):
    # The estimator needs scikit-learn, an optional extra: imported on first use only.
    if name == "IsotonicRegression":
        from .estimator import IsotonicRegression

        return IsotonicRegression
    raise AttributeError(f"module 'isotree' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"IsotonicRegression"})


__all__ = [
    "Tree",
    "dag_isotonic_regression",
    "grid_edges",
    "grid_isotonic_regression",
    "isotonic_regression",
    "kkt_violation",
    "star_isotonic_regression",
    "tree_isotonic_regression",
]
