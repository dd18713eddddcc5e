"""isotree: exact, fast isotonic regression on chains, trees, forests, stars and any DAG."""

from . import ida  # noqa: F401  (reachable as isotree.ida)
from ._version import __version__  # noqa: F401
from .certify import kkt_violation
from .dag import dag_isotonic_regression, grid_edges, grid_isotonic_regression
from .solvers import isotonic_regression, star_isotonic_regression, tree_isotonic_regression
from .tree import Tree

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


def __getattr__(name):
    # Imported on first use only: isotree.testing (the QP oracle) needs scipy.optimize, the
    # estimator scikit-learn (an optional extra).
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    if name == "IsotonicRegression":
        from .estimator import IsotonicRegression

        return IsotonicRegression
    raise AttributeError(f"module 'isotree' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"IsotonicRegression", "testing"})
