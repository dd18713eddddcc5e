"""Isotonic regression on any DAG: oracle checks, cross-checks with the tree and chain
solvers, the KKT certificate, the grid helpers and argument validation."""

import importlib.util
import inspect
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import isotree
from isotree.dag import check_edges, dag_kkt_violation
from isotree.testing import qp_isotonic

from .strategies import forests, tree_edges, values, weights

# Validation and the missing-library message need no max-flow library; solving does.
needs_flow = pytest.mark.skipif(importlib.util.find_spec("maxflow") is None,
                                reason="needs the dag extra (PyMaxflow)")

KINDS = ("random", "grid", "bipartite", "layered", "diamonds", "empty")


def make_dag(kind, n, rng):
    """Edges (u, v), fit[u] >= fit[v], of a DAG of the given kind on n nodes, relabelled."""
    if kind == "random":  # any pair with u < v in a hidden order, about 2n edges
        m = int(rng.integers(0, 3 * n + 1))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        keep = a != b
        pairs = np.column_stack([np.minimum(a, b), np.maximum(a, b)])[keep]
    elif kind == "grid":
        rows = int(rng.integers(1, int(np.sqrt(n)) + 1))
        cols = n // rows
        pairs = isotree.grid_edges((rows, cols), increasing=bool(rng.integers(2)))
    elif kind == "bipartite":  # every top node above a random subset of the bottom ones
        top = max(1, n // 3)
        mask = rng.random((top, n - top)) < 0.4
        i, j = np.nonzero(mask)
        pairs = np.column_stack([i, top + j])
    elif kind == "layered":  # layers of random width, edges only between consecutive ones
        cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, 4), replace=False))
        layers = np.split(np.arange(n), cuts)
        parts = []
        for above, below in zip(layers, layers[1:]):
            i, j = np.nonzero(rng.random((above.size, below.size)) < 0.5)
            parts.append(np.column_stack([above[i], below[j]]))
        pairs = np.concatenate(parts) if parts else np.empty((0, 2), np.int64)
    elif kind == "diamonds":  # chains of diamonds: 0 > {1, 2} > 3 > {4, 5} > 6 ...
        pairs = []
        top = 0
        while top + 3 < n:
            pairs += [(top, top + 1), (top, top + 2), (top + 1, top + 3), (top + 2, top + 3)]
            top += 3
        pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    else:
        pairs = np.empty((0, 2), np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    perm = rng.permutation(n)
    return perm[pairs]


@st.composite
def dags(draw, max_n=60):
    kind = draw(st.sampled_from(KINDS))
    n = draw(st.integers(1, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return n, make_dag(kind, n, rng)


def assert_same_partition(a, b):
    """Two labellings define the same blocks."""
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :])


@needs_flow
@given(dags(), st.data())
def test_matches_the_qp_oracle(dag, data):
    n, edges = dag
    y = data.draw(values(n))
    w = data.draw(weights(n))
    fit, blocks = isotree.dag_isotonic_regression(y, edges, weights=w, return_blocks=True)
    expected = qp_isotonic(y, edges, w)
    size = max(1.0, float(np.abs(y).max()))
    np.testing.assert_allclose(fit, expected, rtol=1e-8, atol=1e-9 * size)
    # Every block's value is the weighted mean of y over it, and the label is its smallest
    # node index.
    ww = np.ones(n) if w is None else w
    for label in np.unique(blocks):
        members = np.flatnonzero(blocks == label)
        assert members[0] == label
        mean = np.sum(ww[members] * y[members]) / np.sum(ww[members])
        np.testing.assert_allclose(fit[members], mean, rtol=1e-12, atol=1e-300)
    assert dag_kkt_violation(y, fit, edges, weights=w) <= 1e-12 * n


@needs_flow
@given(dags(), st.integers(0, 2**32 - 1))
def test_certificate_flags_wrong_fits(dag, seed):
    n, edges = dag
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    fit = isotree.dag_isotonic_regression(y, edges)
    assert dag_kkt_violation(y, fit, edges) <= 1e-13 * n
    assert dag_kkt_violation(y, qp_isotonic(y, edges), edges) <= 1e-9
    # Moving one node's value off the optimum breaks stationarity (or feasibility).
    wrong = fit.copy()
    wrong[rng.integers(n)] += 0.1
    assert dag_kkt_violation(y, wrong, edges) > 1e-3 / n
    # The data itself is optimal only when it is feasible.
    feasible = np.all(y[edges[:, 0]] >= y[edges[:, 1]]) if edges.size else True
    assert (dag_kkt_violation(y, y, edges) == 0.0) == feasible


@needs_flow
@given(forests(max_n=80), st.booleans(), st.data())
def test_trees_as_dags_match_the_tree_solver(parent, increasing, data):
    n = parent.shape[0]
    y = data.draw(values(n))
    w = data.draw(weights(n))
    edges = tree_edges(parent, increasing)
    fit, blocks = isotree.dag_isotonic_regression(y, edges, weights=w, return_blocks=True)
    expected, tree_blocks = isotree.tree_isotonic_regression(
        y, parent, weights=w, increasing=increasing, return_blocks=True)
    size = max(1.0, float(np.abs(y).max()))
    np.testing.assert_allclose(fit, expected, rtol=1e-10, atol=1e-12 * size)
    if len(np.unique(y)) == n:  # without ties in the data the blocks are unique
        assert_same_partition(blocks, tree_blocks)


@needs_flow
@given(st.integers(1, 200), st.booleans(), st.integers(0, 2**32 - 1))
def test_chains_as_dags_match_pava(n, increasing, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(3, n)) + np.linspace(0, 2, n)
    w = 10.0 ** rng.uniform(-3, 3, n)
    edges = isotree.grid_edges((n,), increasing=increasing)
    fit, blocks = isotree.dag_isotonic_regression(y, edges, weights=w, return_blocks=True)
    expected, chain_blocks = isotree.isotonic_regression(
        y, weights=w, increasing=increasing, return_blocks=True)
    np.testing.assert_allclose(fit, expected, rtol=1e-11, atol=1e-12)
    np.testing.assert_array_equal(blocks, chain_blocks)  # both: first index of the run


@needs_flow
def test_literal_examples():
    # The diamond with every edge broken pools everything; a node with two parents is
    # pooled with the smaller one only.
    diamond = [(0, 1), (0, 2), (1, 3), (2, 3)]
    np.testing.assert_array_equal(
        isotree.dag_isotonic_regression([0.0, 1.0, 3.0, 2.0], diamond), [1.5] * 4)
    np.testing.assert_array_equal(
        isotree.dag_isotonic_regression([4.0, 1.0, 3.0], [(0, 2), (1, 2)]), [4.0, 2.0, 2.0])
    # 2 x 2 grid, increasing along both axes: y = [[3, 1], [2, 0]] pools to its mean.
    np.testing.assert_array_equal(
        isotree.grid_isotonic_regression([[3.0, 1.0], [2.0, 0.0]]), [[1.5, 1.5], [1.5, 1.5]])


@needs_flow
def test_isolated_nodes_keep_their_values_and_empty_inputs():
    y = np.array([5.0, 1.0, 2.0, -7.0])
    fit, blocks = isotree.dag_isotonic_regression(y, [(1, 2)], return_blocks=True)
    np.testing.assert_array_equal(fit, [5.0, 1.5, 1.5, -7.0])
    np.testing.assert_array_equal(blocks, [0, 1, 1, 3])
    for empty_edges in ([], np.empty((0, 2), np.int64)):
        np.testing.assert_array_equal(isotree.dag_isotonic_regression(y, empty_edges), y)
    assert isotree.dag_isotonic_regression(np.empty(0), []).shape == (0,)
    assert isotree.dag_isotonic_regression(np.empty((0, 3)), [(0, 1)]).shape == (0, 3)


@needs_flow
def test_duplicate_edges_change_nothing():
    rng = np.random.default_rng(1)
    edges = make_dag("random", 30, rng)
    y = rng.normal(size=30)
    doubled = np.concatenate([edges, edges[::2]])
    np.testing.assert_array_equal(isotree.dag_isotonic_regression(y, doubled),
                                  isotree.dag_isotonic_regression(y, edges))


@needs_flow
def test_batches_dtypes_and_no_mutation():
    rng = np.random.default_rng(2)
    edges = make_dag("layered", 40, rng)
    y = rng.normal(size=(2, 3, 40))
    w_shared = rng.uniform(0.5, 2.0, 40)
    w_full = rng.uniform(0.5, 2.0, (2, 3, 40))
    copies = [a.copy() for a in (y, w_shared, w_full, edges)]
    for w in (None, w_shared, w_full):
        fit, blocks = isotree.dag_isotonic_regression(y, edges, weights=w, return_blocks=True)
        assert fit.shape == blocks.shape == y.shape
        for index in np.ndindex(2, 3):
            row_w = None if w is None else (w if w.ndim == 1 else w[index])
            row_fit, row_blocks = isotree.dag_isotonic_regression(
                y[index], edges, weights=row_w, return_blocks=True)
            np.testing.assert_array_equal(fit[index], row_fit)
            np.testing.assert_array_equal(blocks[index], row_blocks)
    for before, after in zip(copies, (y, w_shared, w_full, edges)):
        np.testing.assert_array_equal(before, after)
    assert isotree.dag_isotonic_regression(y.astype(np.float32), edges).dtype == np.float32
    assert isotree.dag_isotonic_regression(np.arange(40), edges).dtype == np.float64
    readonly = y.copy()
    readonly.flags.writeable = False
    isotree.dag_isotonic_regression(readonly[:, ::2, ::-1], edges)  # strided, read-only


@needs_flow
def test_many_rows_in_several_networks(monkeypatch):
    # Force one flow network per few rows: results must not depend on the chunking.
    rng = np.random.default_rng(3)
    edges = isotree.grid_edges((6, 7))
    y = rng.normal(size=(9, 42))
    together = isotree.dag_isotonic_regression(y, edges, return_blocks=True)
    monkeypatch.setattr("isotree.dag._NETWORK_SIZE", 200)
    apart = isotree.dag_isotonic_regression(y, edges, return_blocks=True)
    for a, b in zip(together, apart):
        np.testing.assert_array_equal(a, b)


@needs_flow
def test_extreme_scales():
    rng = np.random.default_rng(4)
    edges = make_dag("random", 25, rng)
    y = rng.normal(size=25)
    base = isotree.dag_isotonic_regression(y, edges)
    for scale in (1e-300, 1e300):
        np.testing.assert_allclose(isotree.dag_isotonic_regression(y * scale, edges) / scale,
                                   base, rtol=1e-12)
    w = 10.0 ** rng.uniform(-8, 8, 25)
    fit = isotree.dag_isotonic_regression(y, edges, weights=w)
    np.testing.assert_allclose(fit, qp_isotonic(y, edges, w), rtol=1e-7, atol=1e-9)


@needs_flow
@pytest.mark.slow
def test_large_grid_is_certified():
    rng = np.random.default_rng(5)
    side = 300
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    y = (np.sqrt(i * j) / side + rng.normal(0.0, 0.5, (side, side)))
    w = rng.uniform(0.5, 2.0, (side, side))
    fit = isotree.grid_isotonic_regression(y, weights=w)
    edges = isotree.grid_edges(y.shape)
    assert dag_kkt_violation(y.ravel(), fit.ravel(), edges, weights=w.ravel()) <= 1e-12
    assert np.all(np.diff(fit, axis=0) >= 0) and np.all(np.diff(fit, axis=1) >= 0)
    # A fit a little off the optimum is flagged.
    assert dag_kkt_violation(y.ravel(), fit.ravel() * 1.001, edges, weights=w.ravel()) > 1e-6


@needs_flow
@pytest.mark.slow
def test_large_random_dag_is_certified():
    rng = np.random.default_rng(6)
    n = 5000
    edges = make_dag("random", n, rng)
    y = rng.normal(size=n) + 0.1 * rng.standard_cauchy(size=n)
    w = 10.0 ** rng.uniform(-2, 2, n)
    fit = isotree.dag_isotonic_regression(y, edges, weights=w)
    assert dag_kkt_violation(y, fit, edges, weights=w) <= 1e-12


# --- grids ----------------------------------------------------------------------------


def test_grid_edges():
    assert isotree.grid_edges((2, 3)).tolist() == [
        [3, 0], [4, 1], [5, 2], [1, 0], [2, 1], [4, 3], [5, 4]]
    assert isotree.grid_edges((2, 2), increasing=(True, False)).tolist() == [
        [2, 0], [3, 1], [0, 1], [2, 3]]
    assert isotree.grid_edges((4, 5, 6)).shape == (3 * 5 * 6 + 4 * 4 * 6 + 4 * 5 * 5, 2)
    assert isotree.grid_edges((0, 3)).shape == (0, 2)
    assert isotree.grid_edges(()).shape == (0, 2)
    check_edges(isotree.grid_edges((3, 4, 2)), 24)  # acyclic, in range
    with pytest.raises(ValueError, match="increasing must have one entry per"):
        isotree.grid_edges((2, 2), increasing=(True,))
    with pytest.raises(ValueError, match="shape must hold sizes >= 0"):
        isotree.grid_edges((2, -1))
    with pytest.raises(TypeError, match="shape must be a sequence of integers"):
        isotree.grid_edges((2.5, 1))


@needs_flow
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_grid_regression_matches_the_oracle_on_each_problem(rows, cols, batch, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(rows, batch, cols))  # ordered axes 0 and 2, axis 1 a batch
    w = rng.uniform(0.5, 2.0, (rows, cols))
    directions = (True, False)
    fit, blocks = isotree.grid_isotonic_regression(
        y, weights=w, increasing=directions, axes=(0, 2), return_blocks=True)
    edges = isotree.grid_edges((rows, cols), increasing=directions)
    for k in range(batch):
        expected = qp_isotonic(y[:, k, :].ravel(), edges, w.ravel())
        np.testing.assert_allclose(fit[:, k, :].ravel(), expected, rtol=1e-9, atol=1e-9)
        _, dag_blocks = isotree.dag_isotonic_regression(
            y[:, k, :].ravel(), edges, weights=w.ravel(), return_blocks=True)
        np.testing.assert_array_equal(blocks[:, k, :].ravel(), dag_blocks)


@needs_flow
def test_three_dimensional_grid_matches_the_oracle():
    rng = np.random.default_rng(8)
    y = rng.normal(size=(3, 4, 3)) + 0.3 * np.arange(3)[:, None, None]
    w = 10.0 ** rng.uniform(-2, 2, y.shape)
    directions = (True, False, True)
    fit = isotree.grid_isotonic_regression(y, weights=w, increasing=directions)
    expected = qp_isotonic(y.ravel(), isotree.grid_edges(y.shape, directions), w.ravel())
    np.testing.assert_allclose(fit.ravel(), expected, rtol=1e-9, atol=1e-9)
    assert np.all(np.diff(fit, axis=0) >= 0) and np.all(np.diff(fit, axis=1) <= 0)
    assert np.all(np.diff(fit, axis=2) >= 0)


@needs_flow
def test_grid_regression_arguments():
    y = np.arange(12.0)[::-1].reshape(3, 4)
    full = isotree.grid_isotonic_regression(y, weights=np.ones((3, 4)))
    np.testing.assert_array_equal(full, np.full((3, 4), 5.5))
    np.testing.assert_array_equal(isotree.grid_isotonic_regression(y, axes=-1),
                                  np.tile([[9.5], [5.5], [1.5]], (1, 4)))
    np.testing.assert_array_equal(isotree.grid_isotonic_regression(y, increasing=False), y)
    with pytest.raises(ValueError, match="axes must not repeat"):
        isotree.grid_isotonic_regression(y, axes=(0, -2))
    with pytest.raises(ValueError, match="axes 2 is out of range"):
        isotree.grid_isotonic_regression(y, axes=2)
    with pytest.raises(ValueError, match="weights must have the shape of y"):
        isotree.grid_isotonic_regression(y, weights=np.ones(4))
    with pytest.raises(ValueError, match=r"weights must be > 0; weights\[1, 1\]"):
        isotree.grid_isotonic_regression(y, weights=np.where(y == 6.0, 0.0, 1.0))


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("edges, error, match", [
    ([(0, 1, 2)], ValueError, r"edges must have shape \(m, 2\)"),
    ([[[0, 1]]], ValueError, r"edges must have shape \(m, 2\)"),
    ([0, 1], ValueError, r"edges must have shape \(m, 2\)"),
    ([(0, 1), (1, 3)], ValueError, r"edges must hold node indices in \[0, 3\); edges\[1, 1\] "
                                   r"is 3"),
    ([(0, 1), (-1, 2)], ValueError, r"edges\[1, 0\] is -1"),
    ([(0, 1), (1.5, 2)], ValueError, r"integer node indices; edges\[1, 0\] is 1.5"),
    ([(0, 1), (np.nan, 2)], ValueError, r"integer node indices; edges\[1, 0\] is nan"),
    (np.array([["a", "b"]]), TypeError, "edges must hold integer node indices; got dtype"),
    (np.array([[True, False]]), TypeError, "edges must hold integer node indices"),
    ([(0, 1), (2, 2)], ValueError, r"edges\[1\] is \(2, 2\): a node cannot be ordered"),
    ([(0, 1), (1, 2), (2, 1)], ValueError, "cycle through node 1"),
    ([(2, 0), (0, 1), (1, 2)], ValueError, "cycle through node 0"),
])
def test_bad_edges(edges, error, match):
    with pytest.raises(error, match=match):
        isotree.dag_isotonic_regression([1.0, 2.0, 3.0], edges)


@needs_flow
def test_integral_float_edges_are_accepted():
    np.testing.assert_array_equal(
        isotree.dag_isotonic_regression([1.0, 2.0], np.array([[0.0, 1.0]])), [1.5, 1.5])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(y=[1.0, np.nan, 0.0]), ValueError, r"y must be finite; y\[1\] is nan"),
    (dict(y=[[1.0, 2.0, np.inf]]), ValueError, r"y\[0, 2\] is inf"),
    (dict(weights=[1.0, 0.0, 1.0]), ValueError, r"weights must be > 0; weights\[1\]"),
    (dict(weights=[1.0, 1.0]), ValueError, r"weights must have shape \(3,\)"),
    (dict(y=[1.0 + 0j, 2, 3]), TypeError, "y must be real"),
    (dict(y=5.0), ValueError, "y must have at least one dimension"),
    (dict(return_blocks="yes"), TypeError, "return_blocks must be True or False"),
])
def test_bad_values(kwargs, error, match):
    arguments = dict(y=[3.0, 2.0, 1.0], edges=[(0, 1)])
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        isotree.dag_isotonic_regression(arguments.pop("y"), arguments.pop("edges"),
                                        **arguments)


def test_weights_are_keyword_only():
    with pytest.raises(TypeError):
        isotree.dag_isotonic_regression([1.0, 2.0], [(0, 1)], [1.0, 1.0])


@needs_flow
def test_certificate_arguments():
    edges = [(0, 1)]
    with pytest.raises(ValueError, match="fit must have the shape of y"):
        dag_kkt_violation([1.0, 2.0], [1.0], edges)
    # increasing=False flips the edges: (0, 1) then means fit[0] <= fit[1].
    assert dag_kkt_violation([1.0, 2.0], [1.0, 2.0], edges, increasing=False) == 0.0
    assert dag_kkt_violation([1.0, 2.0], [1.0, 2.0], edges) > 0.1
    assert dag_kkt_violation(np.empty((0, 2)), np.empty((0, 2)), edges) == 0.0
    # A solver whose equal values differ by round-off is not penalised.
    assert dag_kkt_violation([1.0, 2.0], [1.5 + 1e-15, 1.5], edges) <= 1e-14


# --- the optional dependency ----------------------------------------------------------


def test_import_does_not_load_the_flow_library():
    code = "import sys, isotree; print('maxflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_missing_flow_library_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "maxflow", None)  # makes "import maxflow" fail
    with pytest.raises(ImportError, match=r"isotree-ir\[dag\]"):
        isotree.dag_isotonic_regression([2.0, 1.0], [(1, 0)])
    # Validation errors still come first and need no library.
    with pytest.raises(ValueError, match="cycle"):
        isotree.dag_isotonic_regression([2.0, 1.0], [(1, 0), (0, 1)])


@pytest.mark.skipif("edges" not in inspect.signature(isotree.kkt_violation).parameters,
                    reason="kkt_violation(edges=...) dispatches here once merged")
@needs_flow
def test_kkt_violation_dispatches_edges():
    y, edges = np.array([0.0, 1.0, 3.0, 2.0]), [(0, 1), (0, 2), (1, 3), (2, 3)]
    fit = isotree.dag_isotonic_regression(y, edges)
    assert isotree.kkt_violation(y, fit, edges=edges) == dag_kkt_violation(y, fit, edges)
    assert isotree.kkt_violation(y, y, edges=edges, weights=np.ones(4)) > 0.01
    flipped = np.asarray(edges)[:, ::-1]
    assert isotree.kkt_violation(y, fit, edges=flipped, increasing=False) == 0.0
    with pytest.raises(TypeError, match="parent"):
        isotree.kkt_violation(y, fit, [-1, 0, 0, 1], edges=edges)


@needs_flow
def test_tensors_make_a_host_round_trip():
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    y = torch.tensor([[3.0, 1.0], [2.0, 0.0]], dtype=torch.float32)
    fit, blocks = isotree.grid_isotonic_regression(y, return_blocks=True)
    assert isinstance(fit, torch.Tensor) and fit.dtype == torch.float32
    np.testing.assert_array_equal(fit.numpy(), np.full((2, 2), 1.5, np.float32))
    assert isinstance(blocks, torch.Tensor) and bool((blocks == 0).all())
    edges = torch.tensor([[1, 0]])
    fit = isotree.dag_isotonic_regression(torch.tensor([2.0, 1.0], dtype=torch.float64), edges)
    assert isinstance(fit, torch.Tensor)
    assert dag_kkt_violation(torch.tensor([2.0, 1.0]), torch.tensor([1.5, 1.5]), edges) == 0.0
