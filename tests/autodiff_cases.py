"""One table of differentiation cases, run by both adapters (tests/test_torch.py and
tests/test_jax.py), so the two cannot drift.

Each case calls a solver of an adapter module on ``(y, w)``, says which order it solves as
QP-oracle edges (``fit[u] >= fit[v]``), and the reference Jacobian comes from finite
differences of the oracle (:func:`isotree.testing.qp_isotonic`), never from isotree's own
derivative code.
"""

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import isotree
from isotree.ida import mixup_mass
from isotree.testing import qp_isotonic

from .strategies import make_parent, relabel

# The NumPy-level solvers under the adapters' names (for the cases without an oracle).
NUMPY = SimpleNamespace(isotonic_regression=isotree.isotonic_regression,
                        isotonic_logits=isotree.ida.isotonic_logits)


@dataclasses.dataclass
class Case:
    id: str
    call: Callable  # call(module, y, w, **options) -> fit; w None for unweighted cases
    y: np.ndarray   # (n,) or (2, n): the second row checks batching
    w: np.ndarray = None
    edges: np.ndarray = None  # the order of one row, for the oracle; None: no oracle
    bounds: tuple = (None, None)

    def oracle(self, y_row, w_row):
        if self.edges is None:  # tertiary ties are no DAG order: the NumPy solver instead
            return self.call(NUMPY, y_row, w_row)
        fit = qp_isotonic(y_row, self.edges, w_row)
        return np.clip(fit, *self.bounds) if self.bounds != (None, None) else fit


def _chain_edges(n, increasing=True):
    i = np.arange(n - 1)
    return np.stack([i + 1, i] if increasing else [i, i + 1], axis=1)


def _predictor_edges(x, tied_equal=False):
    u, v = np.nonzero((x[:, None] > x[None, :]) | (tied_equal & (x[:, None] == x[None, :])
                                                    & ~np.eye(x.size, dtype=bool)))
    return np.stack([u, v], axis=1)


def _tree_edges(parent, increasing=True):
    child = np.flatnonzero(parent >= 0)
    pairs = [child, parent[child]] if increasing else [parent[child], child]
    return np.stack(pairs, axis=1)


def _along_axis0(solve, y):
    """``solve`` on y laid out with each problem along axis 0 (a column), laid back."""
    columns = y.T if y.ndim == 2 else y[:, None]
    out = solve(columns)
    return out.T if y.ndim == 2 else out[:, 0]


def _make_cases():
    rng = np.random.default_rng(20261128)
    n = 7
    y = rng.normal(size=(2, n)) * 2
    w = rng.uniform(0.5, 2.0, n)
    x = np.array([0, 1, 1, 2, 3, 3, 4])
    parent = relabel(make_parent("forest", n, rng), rng.permutation(n))
    mass = mixup_mass([2, 5], [4, 4], [0.7, 0.5], n)
    logits = 2 * mass + rng.normal(size=(2, n))
    return [
        Case("chain", lambda m, y, w, **k: m.isotonic_regression(y, weights=w, **k), y, w,
             _chain_edges(n)),
        Case("chain-decreasing-bounded",
             lambda m, y, w, **k: m.isotonic_regression(y, weights=w, increasing=False,
                                                   y_min=-1.0, y_max=1.5, **k),
             y, w, _chain_edges(n, False), bounds=(-1.0, 1.5)),
        Case("chain-axis0", lambda m, y, w, **k: _along_axis0(
             lambda c: m.isotonic_regression(c, weights=w, axis=0, **k), y),
             y, w, _chain_edges(n)),
        Case("predictor-primary",
             lambda m, y, w, **k: m.isotonic_regression(y, weights=w, x=x, **k),
             y, w, _predictor_edges(x)),
        Case("predictor-secondary",
             lambda m, y, w, **k: m.isotonic_regression(y, weights=w, x=x, ties="secondary", **k),
             y, w, _predictor_edges(x, tied_equal=True)),
        Case("predictor-tertiary",
             lambda m, y, w, **k: m.isotonic_regression(y, weights=w, x=x, ties="tertiary", **k),
             y, w),
        Case("tree", lambda m, y, w, **k: m.tree_isotonic_regression(y, parent, weights=w, **k),
             y, w, _tree_edges(parent)),
        Case("tree-decreasing-axis0",
             lambda m, y, w, **k: _along_axis0(lambda c: m.tree_isotonic_regression(
                 c, parent, weights=w, increasing=False, axis=0, **k), y),
             y, w, _tree_edges(parent, False)),
        Case("star", lambda m, y, w, **k: m.star_isotonic_regression(y, 3, weights=w, **k),
             y, w, np.stack([np.delete(np.arange(n), 3), np.full(n - 1, 3)], axis=1)),
        Case("star-decreasing-axis0",
             lambda m, y, w, **k: _along_axis0(lambda c: m.star_isotonic_regression(
                 c, 3, weights=w, axis=0, increasing=False, **k), y),
             y, w, np.stack([np.full(n - 1, 3), np.delete(np.arange(n), 3)], axis=1)),
        # A single row (the oracle's, vmap's) is fitted to row 0's mass.
        Case("isotonic_logits",
             lambda m, z, _, **k: m.isotonic_logits(z, mass if z.ndim > 1 else mass[0], **k),
             logits, None, _predictor_edges(mass[0])),
    ]


CASES = _make_cases()
IDS = [case.id for case in CASES]


def oracle_jacobian(case, eps=1e-6):
    """Central differences of the oracle in ``y`` (and ``w``) for row 0: (n, n[, n])."""
    y, w = case.y[0], None if case.w is None else case.w
    n = y.size

    def column(f, base, j):
        step = np.zeros(n)
        step[j] = eps
        return (f(base + step) - f(base - step)) / (2 * eps)

    jac_y = np.stack([column(lambda v: case.oracle(v, w), y, j) for j in range(n)], axis=1)
    if w is None:
        return jac_y, None
    jac_w = np.stack([column(lambda v: case.oracle(y, v), w, j) for j in range(n)], axis=1)
    return jac_y, jac_w


def merged_jacobian(y, w, fit, edges):
    """Jacobian in y of the blocks "equal adjacent values form one block": components of the
    order's edges whose ends have equal fitted values (scipy, independent of isotree)."""
    n = y.size
    w = np.ones(n) if w is None else w
    equal = edges[fit[edges[:, 0]] == fit[edges[:, 1]]]
    graph = coo_matrix((np.ones(len(equal)), (equal[:, 0], equal[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    same = component[:, None] == component[None, :]
    return same * w[None, :] / np.array([w[component == c].sum() for c in component])[:, None]


def kd_reference(student, teacher_fit, mass, temperature, alpha, sigma=None):
    """Per-row KD loss in float64 NumPy (SciPy's log-softmax), from the fitted teacher."""
    from scipy.special import log_softmax

    s, t = np.asarray(student, np.float64), np.asarray(teacher_fit, np.float64)
    log_target = log_softmax(t / temperature, axis=-1)
    soft = (np.exp(log_target) * (log_target - log_softmax(s / temperature, axis=-1))).sum(-1)
    hard = -(mass * log_softmax(s, axis=-1)).sum(-1)
    return alpha * temperature ** 2 * soft + (1 - alpha) * hard


def kd_problem():
    """A batch with extreme logits (+-1e4, and the teacher row [0, 0, 500] that gave NaN in
    float32): ``(mass, student, teacher)`` in float64."""
    rng = np.random.default_rng(4)
    rows, c = 6, 5
    mass = mixup_mass(rng.integers(0, c, rows), rng.integers(0, c, rows),
                      np.where(rng.random(rows) < 0.3, 0.5, rng.uniform(0, 1, rows)), c)
    student = rng.normal(size=(rows, c))
    teacher = 3 * rng.normal(size=(rows, c))
    student[0], teacher[0] = [1e4, -1e4, 0, 0, 0], [-1e4, 1e4, 0, 0, 500]
    teacher[1] = [0, 0, 500, 0, 0]
    return mass, student, teacher
