"""Isotonic regression on any DAG: the exact rational and QP oracles, cross-checks with the
tree and chain solvers, the max-flow and staircase kernels, the KKT certificate, the grid
helpers, the bounds of the worst cases and argument validation."""

import itertools
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isotree
from isotree import _flow
from isotree._engine import dag as dag_engine
from isotree._engine import partition
from isotree._engine.edges import check_edges
from isotree.dag import dag_kkt_violation
from isotree.testing import qp_isotonic

from .exact import exact_isotonic
from .strategies import (
    examples,
    extreme_values,
    extreme_weights,
    forests,
    tree_edges,
    values,
    weights,
)

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
def dags(draw, max_n=60, kinds=KINDS):
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(1, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return n, make_dag(kind, n, rng)


def assert_same_partition(a, b):
    """Two labellings define the same blocks."""
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :])


def exact(y, edges, w=None):
    return np.array([float(v) for v in exact_isotonic(y, edges, w)])


def assert_exact(fit, y, edges, w=None):
    """``fit`` is the exact rational fit rounded, up to 1e-9 of the data's span and two
    ulps of its largest value (its rounding, and that of the means, at a large offset)."""
    y = np.asarray(y, dtype=np.float64)
    span = 1e-9 * float(y.max()) - 1e-9 * float(y.min()) if y.size else 0.0
    largest = float(np.abs(y).max()) if y.size else 0.0
    tol = span + 2 * float(np.spacing(largest))
    np.testing.assert_allclose(fit, exact(y, edges, w), rtol=0, atol=tol)


def count_max_flows(monkeypatch):
    """Count the calls of the max-flow kernel (each a round of a DAG solve, or a class
    problem of skewed weights)."""
    calls = []
    original = _flow.Network.max_flow

    def counted(self, *args, **kwargs):
        calls.append(args[1])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(_flow.Network, "max_flow", counted)
    return calls


# --- the exact fit --------------------------------------------------------------------


@given(dags(max_n=40), st.data())
def test_matches_the_qp_oracle(dag_, data):
    n, edges = dag_
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


@settings(max_examples=examples(100))
@given(dags(max_n=14), st.data())
def test_matches_exact_rationals_at_every_scale(dag_, data):
    # Values from the subnormal range to 1.7e308, weights from 1e-300 to 1e300 (light and
    # heavy outliers, skewed, spread over hundreds of decades): the fit is the exact
    # rational answer, rounded.
    n, edges = dag_
    y = data.draw(st.one_of(values(n), extreme_values(n)))
    w = data.draw(st.one_of(weights(n), extreme_weights(n)))
    assert_exact(isotree.dag_isotonic_regression(y, edges, weights=w), y, edges, w)


@given(dags(max_n=30), st.sampled_from([1e3, 1e8, 1e14]), st.sampled_from([1e-3, 1e-9, 1e-16]),
       st.integers(0, 2**32 - 1))
def test_light_nodes_are_not_pooled_into_heavy_blocks(dag_, offset, ratio, seed):
    # A few light nodes among heavy ones, all values near a large offset: the cut of a
    # block at its mean hinges on the light nodes' tiny gains.
    n, edges = dag_
    rng = np.random.default_rng(seed)
    y = offset + rng.integers(-3, 4, n).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    w[rng.random(n) < 0.3] *= ratio
    fit = isotree.dag_isotonic_regression(y, edges, weights=w)
    assert_exact(fit, y, edges, w)
    # Neither the node order nor the orientation of the edges changes the answer.
    perm = rng.permutation(n)
    inverse = np.argsort(perm)
    moved = isotree.dag_isotonic_regression(y[perm], inverse[edges], weights=w[perm])
    assert_exact(moved[inverse], y, edges, w)
    flipped = isotree.dag_isotonic_regression(-y, edges[:, ::-1], weights=w)
    assert_exact(-flipped, y, edges, w)


def test_light_nodes_literal_examples():
    # The tree: the light node below the root keeps its value (it was pooled at 1e8 + .5).
    y = 1e8 + np.array([0.0, 1.0, -2.0])
    w = [1.0, 1.0, 1e-9]
    expected = 1e8 + np.array([0.5, 0.5, -2.0])
    np.testing.assert_array_equal(isotree.dag_isotonic_regression(y, [[0, 1], [0, 2]],
                                                                  weights=w), expected)
    np.testing.assert_array_equal(
        isotree.tree_isotonic_regression(y, [-1, 0, 0], weights=w, increasing=False),
        expected)
    np.testing.assert_array_equal(
        isotree.grid_isotonic_regression(1e8 + np.array([-2.0, 1.0, 0.0]),
                                         weights=[1e-9, 1.0, 1.0]),
        1e8 + np.array([-2.0, 0.5, 0.5]))
    # The same with one more node above both, so that the order is no forest and the cut
    # decides; at every offset the weight ratio that used to fail.
    edges = [[0, 1], [0, 2], [3, 1], [3, 2]]
    for offset, ratio in [(0.0, 1e-16), (1e8, 1e-9), (1e14, 1e-2)]:
        y = offset + np.array([0.0, 1.0, -2.0, 5.0])
        w = [1.0, 1.0, ratio, 1.0]
        fit = isotree.dag_isotonic_regression(y, edges, weights=w)
        assert_exact(fit, y, edges, w)
        assert fit[2] == offset - 2.0
    # A 2-D grid through the staircase program: the light corner keeps its value.
    y = 1e8 + np.array([[-2.0, 1.0], [0.0, 3.0]])
    w = np.array([[1e-9, 1.0], [1.0, 1.0]])
    fit = isotree.grid_isotonic_regression(y, weights=w)
    assert_exact(fit.ravel(), y.ravel(), isotree.grid_edges((2, 2)), w.ravel())


# Problems the fuzzing of benchmarks/fuzz_dag.py found (shrunk). Each failed before the
# behaviour its name says, and is checked against the exact rational fit.
SKEWED_CASES = {
    "light nodes moved one by one": dict(
        y=[-1.950013605331312, -1.0580479438623791, -0.9635542762193524,
           -0.00046380567185349598, 1.2218463350817295, 2.5012814137416015],
        w=[1.0327038425414263, 1.4612533759369061e-16, 1.0570967207458843e-16,
           0.89862673638814816, 1.1005430783820282e-16, 1.221914690562558],
        edges=[[0, 1], [2, 1], [2, 5], [0, 3], [3, 5], [1, 3], [4, 5]]),
    "no flow inherited from a heavier block": dict(
        y=[-0.19262614094744518, -0.07205254299091218, 0.5832657872644589,
           0.8755842685937554, 1.7011681685143538],
        w=[9.981831017530176e15, 0.9585037207488072, 8.650659860090057e15,
           1.695027624927942, 0.8519896351368058],
        edges=[[2, 0], [4, 0], [1, 0], [3, 0], [4, 2], [1, 2], [3, 2], [1, 4], [3, 4],
               [3, 1]]),
    "heavy cells of 1e60 in a grid": dict(
        y=[-1.0, 1.0, 2.0, 1.0, -2.0, 1.0, 2.0, -1.0, -2.0, 2.0, -0.0, 1.0, 2.0, 1.0, 2.0,
           1.0],
        w=[1.8396027284673679, 1.0479378386048781, 1.6832008463228445, 1.4112403192296794,
           1.4280241269822578, 0.53752810976525001, 1.6890940861301262, 1.7254390438608265,
           1.5868696880557161e60, 5.1896285612283166e59, 0.85746505628557479,
           0.92046985571970574, 1.1295557163954622, 0.96316029916721879,
           1.5253084888440378e60, 1.1853879982234672],
        edges=np.asarray(isotree.grid_edges((4, 4), (False, False)))),
    "weights spread evenly over 23 decades: broken edges pooled": dict(
        y=[-1.3870085857087946, -0.19769483517408995, -1.1960710036444797,
           0.13830742551398292, -1.1717889414392253, 0.38053617639297915,
           -0.6486979489139652, -0.6844320426771187, 1.270214797415106,
           -0.6358424515158395, -0.5475972957320037, 0.4774360507440372],
        w=[1.7157340041616601e-05, 1.4866501674087464, 2.0974281206606163e05,
           63.0073427594916, 4.5351996768511578e11, 1.2217030001187787e-10,
           6.9996371489717581e-06, 2.6357839346415606e-08, 0.16944817988810373,
           1.0391278041663633e12, 3.6613178511953862e-08, 1.7313429325555311e-03],
        edges=[[5, 9], [3, 9], [7, 3], [6, 5], [11, 9], [8, 7], [1, 7], [2, 1], [4, 2],
               [0, 6], [10, 11], [10, 8]]),
}


@pytest.mark.parametrize("case", SKEWED_CASES.values(), ids=SKEWED_CASES.keys())
def test_skewed_weights_found_by_fuzzing(case):
    y, w, edges = np.array(case["y"]), np.array(case["w"]), np.asarray(case["edges"])
    assert_exact(isotree.dag_isotonic_regression(y, edges, weights=w), y, edges, w)
    assert_exact(-isotree.dag_isotonic_regression(-y, edges[:, ::-1], weights=w), y, edges, w)


def test_grids_with_skewed_weights_found_by_fuzzing():
    # Heavy cells among light ones: the staircase program's cut needs the corrections.
    y = np.array([-813.0, 147.0, 700.0, -907.0, 945.0, 752.0, 983.0, -801.0, 896.0, -87.0,
                  635.0, -781.0]).reshape(3, 4)
    w = np.array([1.0571056720302345, 1.3956522368846547, 1.7681763803383316e16,
                  0.56477535670141887, 1.1082565543325630e16, 6.2798460076523150e15,
                  0.96543454941869999, 5.4634946971586700e15, 0.54543380075200898,
                  0.99602103580685197, 1.1098172334151963, 1.7114805199583496]).reshape(3, 4)
    directions = (False, True)
    fit = isotree.grid_isotonic_regression(y, weights=w, increasing=directions)
    assert_exact(fit.ravel(), y.ravel(), isotree.grid_edges((3, 4), directions), w.ravel())
    # Weights over 22 decades: the staircase program's sums would lose the light cells,
    # so the grid takes the max-flow.
    y = np.array([100001.05174012588, 100000.72974259038, 99999.1971358842,
                  99999.43698086147, 99999.61833139202, 100000.07331667194,
                  99998.6327011882, 99998.66081126807, 100000.13580255197,
                  99999.99296488933, 99999.46277271146, 100000.78237780966]).reshape(3, 4)
    w = np.array([4.9411689718377603e-12, 1.3247437044086057e-04, 4.3562170638387375e10,
                  5.8377820493850303e-07, 3.2015958343489046e09, 5.5181352151980278e-04,
                  1.3729291000118804e-07, 4.8322385785520187e10, 76.889746039298629,
                  1.1134385038250345e-11, 3.1421792883645616e-11,
                  1.8381816047972345e09]).reshape(3, 4)
    directions = (False, False)
    fit = isotree.grid_isotonic_regression(y, weights=w, increasing=directions)
    assert_exact(fit.ravel(), y.ravel(), isotree.grid_edges((3, 4), directions), w.ravel())


@given(dags(), st.integers(0, 2**32 - 1))
def test_certificate_flags_wrong_fits(dag_, seed):
    n, edges = dag_
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


def test_certificate_near_the_float_limits():
    # The residual 7.0 * 0.5e308 overflowed inside the max-flow, which never returned.
    assert dag_kkt_violation([-1.3e308, 1.7e308], [1.2e308, 1.2e308], [[0, 1]],
                             weights=[0.5, 7.0]) > 0.1
    # The optimum is [0, 0]; [1e308, 1e308] was certified (its residuals overflowed).
    assert dag_kkt_violation([-1.7e308, 1.7e308], [0.0, 0.0], [[0, 1]]) == 0.0
    assert dag_kkt_violation([-1.7e308, 1.7e308], [1e308, 1e308], [[0, 1]]) > 0.1
    # Subnormal values and small weights: no division by zero, the data is optimal.
    assert dag_kkt_violation([1e-322, 0.0], [1e-322, 0.0], [[0, 1]],
                             weights=[1e-3, 1e-3]) == 0.0
    assert dag_kkt_violation([0.0, 1e-322], [0.0, 1e-322], [[0, 1]],
                             weights=[1e-3, 1e-3]) > 0.1
    # And through kkt_violation(edges=).
    assert isotree.kkt_violation([-1.3e308, 1.7e308], [1.2e308, 1.2e308],
                                 edges=[[0, 1]], weights=[0.5, 7.0]) > 0.1


# --- chains and forests go to their own solvers -----------------------------------------


def forbid_max_flow(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a forest reached the max-flow")

    monkeypatch.setattr(_flow.Network, "max_flow", fail)
    monkeypatch.setattr(partition, "best_upper_sets", fail)


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
    assert_same_partition(blocks, tree_blocks)
    for label in np.unique(blocks):  # labelled by their smallest node
        assert np.flatnonzero(blocks == label)[0] == label


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


def test_forests_never_reach_the_max_flow(monkeypatch):
    forbid_max_flow(monkeypatch)
    rng = np.random.default_rng(9)
    n = 300
    parent = (rng.random(n) * np.arange(n)).astype(np.int64)
    parent[0] = -1
    parent[rng.random(n) < 0.1] = -1
    y = rng.normal(size=(2, n))
    for increasing in (True, False):
        edges = tree_edges(parent, increasing)
        doubled = np.concatenate([edges, edges[::3]])  # repeated edges: still a forest
        np.testing.assert_allclose(
            isotree.dag_isotonic_regression(y, doubled[rng.permutation(len(doubled))]),
            isotree.tree_isotonic_regression(y, parent, increasing=increasing),
            rtol=1e-12, atol=1e-12)
    chain = isotree.grid_edges((n,))
    np.testing.assert_allclose(isotree.dag_isotonic_regression(y, chain),
                               isotree.isotonic_regression(y), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(isotree.dag_isotonic_regression(y, np.empty((0, 2))), y)


# --- the kernels ------------------------------------------------------------------------


def brute_force_closure(n, tail, head, gain):
    """The largest set closed under tail -> head with the largest gain, by enumeration."""
    best, best_set = -np.inf, None
    for bits in itertools.product([False, True], repeat=n):
        chosen = np.array(bits)
        if np.any(chosen[tail] & ~chosen[head]):
            continue
        value = float(gain[chosen].sum())
        if value > best + 1e-12 or (abs(value - best) <= 1e-12 and chosen.sum() > best_set.sum()):
            best, best_set = value, chosen
    return best, best_set


@given(st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_max_flow_gives_the_largest_best_closure(n, seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(0, 3 * n))
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    perm = rng.permutation(n)
    tail, head = perm[np.minimum(a, b)[keep]], perm[np.maximum(a, b)[keep]]
    gain = rng.integers(-3, 4, n).astype(float)  # ties between sets are common
    chosen = _flow.closure(n, tail, head, gain)
    best, best_set = brute_force_closure(n, tail, head, gain)
    assert not np.any(chosen[tail] & ~chosen[head])
    assert float(gain[chosen].sum()) == best
    np.testing.assert_array_equal(chosen, best_set)


@given(forests(max_n=60), st.integers(0, 2**32 - 1))
def test_warm_start_is_a_maximum_flow_on_in_forests(parent, seed):
    # Arcs child -> parent (every node has at most one arc out): the greedy sweep alone is
    # a maximum flow, so Boykov-Kolmogorov finds no augmenting path.
    from isotree._numba.maxflow import boykov_kolmogorov

    n = parent.shape[0]
    rng = np.random.default_rng(seed)
    child = np.flatnonzero(parent >= 0)
    network = _flow.Network(n, child, parent[child])
    gain = rng.normal(size=n)
    total = _flow.flow_value(n, child, parent[child], np.maximum(gain, 0),
                             np.maximum(-gain, 0))
    network.max_flow(network.order, 0, gain, np.zeros(n, dtype=np.int64))  # load nothing
    from isotree._numba.maxflow import load_network, warm_start

    load_network(network.order, n, gain, np.zeros(n, dtype=np.int64), network.start,
                 network.mid, network.nbr, network.sister, network.tr_cap, network.r_cap,
                 network.capacity)
    warm_start(network.order, n, network.start, network.mid, network.nbr, network.sister,
               network.tr_cap, network.r_cap, gain)
    warm = float(np.sum(np.maximum(gain, 0) - np.maximum(network.tr_cap, 0)))
    added = boykov_kolmogorov(network.order, n, network.start, network.nbr, network.sister,
                              network.tr_cap, network.r_cap, network.parent, network.is_sink,
                              network.ts, network.dist, network.queue, network.in_queue,
                              network.orphans)
    assert added == 0.0
    np.testing.assert_allclose(warm, total, rtol=1e-12, atol=1e-12)


@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.integers(0, 2**32 - 1),
       st.booleans())
def test_staircase_program_matches_the_max_flow(rows, cols, batch, seed, ties):
    # The 2-D grid solver (a dynamic program over the rows) against the DAG solver (a
    # max-flow on the grid's edges): the same fits and blocks, rows of a batch apart.
    rng = np.random.default_rng(seed)
    y = rng.integers(-2, 3, (batch, rows, cols)).astype(float) if ties else \
        rng.normal(size=(batch, rows, cols))
    w = rng.uniform(0.5, 2.0, (batch, rows, cols))
    for directions in itertools.product([True, False], repeat=2):
        fit, blocks = isotree.grid_isotonic_regression(
            y, weights=w, increasing=directions, axes=(1, 2), return_blocks=True)
        edges = isotree.grid_edges((rows, cols), directions)
        dag_fit = isotree.dag_isotonic_regression(y.reshape(batch, -1), edges,
                                                  weights=w.reshape(batch, -1))
        np.testing.assert_allclose(fit.reshape(batch, -1), dag_fit, rtol=1e-12, atol=1e-12)
        for k in range(batch):
            assert_exact(fit[k].ravel(), y[k].ravel(), edges, w[k].ravel())
            if not ties:
                _, dag_blocks = isotree.dag_isotonic_regression(
                    y[k].ravel(), edges, weights=w[k].ravel(), return_blocks=True)
                if edges.size and not dag_engine.as_forest(edges, rows * cols):
                    np.testing.assert_array_equal(blocks[k].ravel(), dag_blocks)


# --- worst cases: each finishes within a stated number of rounds --------------------------


def test_long_pooling_chain_takes_two_rounds(monkeypatch):
    # A chain of 3e4 whose data pool into one block, plus one edge that makes it no chain
    # (so the max-flow runs): the warm start is the whole flow, and the block is final
    # after one round at each level.
    calls = count_max_flows(monkeypatch)
    n = 30_000
    y = np.linspace(1.0, 0.0, n)
    edges = np.concatenate([isotree.grid_edges((n,)), [[n - 1, 0]]])
    fit = isotree.dag_isotonic_regression(y, edges)
    np.testing.assert_allclose(fit, 0.5, rtol=1e-12)
    assert len(calls) == 2


def test_adversarial_grid_takes_at_most_two_rounds_per_level(monkeypatch):
    # Rows that pool to levels 1, 2, 4, ...: the mean of a block lies in its top levels, so
    # a round may split off only one level. Bound: rounds <= 2 x levels + 1.
    rows, cols = 40, 50
    level = 2.0 ** np.arange(rows)
    y = level[:, None] * (1.0 + np.linspace(0.5, -0.5, cols))[None, :]
    fit = isotree.grid_isotonic_regression(y)
    np.testing.assert_allclose(fit, np.repeat(level[:, None], cols, axis=1), rtol=1e-12)
    calls = count_max_flows(monkeypatch)
    fit = isotree.dag_isotonic_regression(y.ravel(), isotree.grid_edges(y.shape))
    np.testing.assert_allclose(fit.reshape(y.shape), np.repeat(level[:, None], cols, axis=1),
                               rtol=1e-12)
    assert len(calls) <= 2 * rows + 1


def test_dense_dag_is_certified():
    # Every pair of 400 nodes ordered (79,800 edges, the transitive closure of a chain),
    # data against the order: one round of max-flow per level.
    n = 400
    rng = np.random.default_rng(10)
    i, j = np.triu_indices(n, 1)
    edges = np.column_stack([i, j])
    y = np.linspace(0.0, 1.0, n) + rng.normal(0.0, 0.3, n)
    fit = isotree.dag_isotonic_regression(y, edges)
    np.testing.assert_allclose(fit, isotree.isotonic_regression(y, increasing=False),
                               rtol=1e-12, atol=1e-12)
    assert dag_kkt_violation(y, fit, edges) <= 1e-12


# --- literal cases, shapes, batches -----------------------------------------------------


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


def test_isolated_nodes_keep_their_values_and_empty_inputs():
    y = np.array([5.0, 1.0, 2.0, -7.0])
    fit, blocks = isotree.dag_isotonic_regression(y, [(1, 2)], return_blocks=True)
    np.testing.assert_array_equal(fit, [5.0, 1.5, 1.5, -7.0])
    np.testing.assert_array_equal(blocks, [0, 1, 1, 3])
    for empty_edges in ([], np.empty((0, 2), np.int64)):
        np.testing.assert_array_equal(isotree.dag_isotonic_regression(y, empty_edges), y)
    assert isotree.dag_isotonic_regression(np.empty(0), []).shape == (0,)
    assert isotree.dag_isotonic_regression(np.empty((0, 3)), [(0, 1)]).shape == (0, 3)
    assert isotree.dag_isotonic_regression(np.empty((2, 0)), []).shape == (2, 0)
    assert isotree.grid_isotonic_regression(np.empty((0, 4))).shape == (0, 4)


def test_duplicate_edges_change_nothing():
    rng = np.random.default_rng(1)
    edges = make_dag("random", 30, rng)
    y = rng.normal(size=30)
    doubled = np.concatenate([edges, edges[::2]])
    np.testing.assert_array_equal(isotree.dag_isotonic_regression(y, doubled),
                                  isotree.dag_isotonic_regression(y, edges))


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


def test_many_rows_in_several_networks(monkeypatch):
    # Force one flow network per few rows: results must not depend on the chunking.
    rng = np.random.default_rng(3)
    edges = isotree.grid_edges((6, 7))
    y = rng.normal(size=(9, 42))
    together = isotree.dag_isotonic_regression(y, edges, return_blocks=True)
    monkeypatch.setattr(partition, "NETWORK_SIZE", 200)
    apart = isotree.dag_isotonic_regression(y, edges, return_blocks=True)
    for a, b in zip(together, apart):
        np.testing.assert_array_equal(a, b)


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
    # The max-flow on the grid's edges gives the same fit.
    np.testing.assert_allclose(
        isotree.dag_isotonic_regression(y.ravel(), edges, weights=w.ravel()), fit.ravel(),
        rtol=1e-12, atol=1e-12)
    # A fit a little off the optimum is flagged.
    assert dag_kkt_violation(y.ravel(), fit.ravel() * 1.001, edges, weights=w.ravel()) > 1e-6


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
    with pytest.raises(TypeError, match="shape must be a sequence of integers"):
        isotree.grid_edges((True, 3))
    with pytest.raises(ValueError, match="more than this machine has"):
        isotree.grid_edges((2**40,))


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
        assert_same_partition(blocks[:, k, :].ravel(), dag_blocks)


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
    with pytest.raises(ValueError, match=r"weights must be >= 0; weights\[1, 1\]"):
        isotree.grid_isotonic_regression(y, weights=np.where(y == 6.0, -1.0, 1.0))
    with pytest.raises(ValueError, match=r"y must be finite; y\[2, 1\] is nan"):
        isotree.grid_isotonic_regression(np.where(y == 2.0, np.nan, y), axes=0)


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("edges, error, match", [
    ([(0, 1, 2)], ValueError, r"edges must have shape \(m, 2\)"),
    ([[[0, 1]]], ValueError, r"edges must have shape \(m, 2\)"),
    ([0, 1], ValueError, r"edges must have shape \(m, 2\)"),
    ([[0, 1], [2]], ValueError, r"edges must have shape \(m, 2\).*rows of different lengths"),
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


def test_integral_float_edges_are_accepted():
    np.testing.assert_array_equal(
        isotree.dag_isotonic_regression([1.0, 2.0], np.array([[0.0, 1.0]])), [1.5, 1.5])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(y=[1.0, np.nan, 0.0]), ValueError, r"y must be finite; y\[1\] is nan"),
    (dict(y=[[1.0, 2.0, np.inf]]), ValueError, r"y\[0, 2\] is inf"),
    (dict(weights=[1.0, -1.0, 1.0]), ValueError, r"weights must be >= 0; weights\[1\]"),
    (dict(weights=[0.0, 0.0, 0.0]), ValueError, "weights are all 0"),
    (dict(y_min=2.0, y_max=1.0), ValueError, "y_min"),
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


def test_kkt_violation_takes_edges():
    y, edges = np.array([0.0, 1.0, 3.0, 2.0]), [(0, 1), (0, 2), (1, 3), (2, 3)]
    fit = isotree.dag_isotonic_regression(y, edges)
    assert isotree.kkt_violation(y, fit, edges=edges) == dag_kkt_violation(y, fit, edges)
    assert isotree.kkt_violation(y, y, edges=edges, weights=np.ones(4)) > 0.01
    flipped = np.asarray(edges)[:, ::-1]
    assert isotree.kkt_violation(y, fit, edges=flipped, increasing=False) == 0.0
    with pytest.raises(TypeError, match="parent"):
        isotree.kkt_violation(y, fit, [-1, 0, 0, 1], edges=edges)


# --- the core install ----------------------------------------------------------------


def test_no_max_flow_library_is_needed():
    # Everything runs with PyMaxflow made unimportable, and importing isotree loads no
    # max-flow library.
    code = ("import sys; sys.modules['maxflow'] = None\n"
            "import isotree\n"
            "from isotree.dag import dag_kkt_violation\n"
            "y, e = [0.0, 1.0, 3.0, 2.0], [(0, 1), (0, 2), (1, 3), (2, 3)]\n"
            "fit = isotree.dag_isotonic_regression(y, e)\n"
            "assert list(fit) == [1.5] * 4\n"
            "assert isotree.grid_isotonic_regression([[1.0, 0.0]]).tolist() == [[0.5, 0.5]]\n"
            "assert dag_kkt_violation(y, fit, e) == 0.0\n"
            "print(sorted(m for m, module in sys.modules.items()\n"
            "             if 'maxflow' in m.lower() and module is not None))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "['isotree._numba.maxflow']"


# --- arrays of other libraries ---------------------------------------------------------


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


def test_tensors_that_require_grad_get_the_warning():
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    y = torch.tensor([[3.0, 1.0], [2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="grid_isotonic_regression returns a tensor without"):
        fit = isotree.grid_isotonic_regression(y)
    assert fit.grad_fn is None
    with pytest.warns(UserWarning, match="dag_isotonic_regression returns a tensor without"):
        isotree.dag_isotonic_regression(y[0], [[1, 0]])


def test_traced_jax_arrays_are_refused():
    jax = pytest.importorskip("jax")
    pytest.importorskip("array_api_compat")
    y = jax.numpy.array([[3.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(isotree.grid_isotonic_regression(y)), 1.5)
    with pytest.raises(TypeError, match="grid_isotonic_regression runs on the host and "
                                        "needs concrete arrays"):
        jax.jit(isotree.grid_isotonic_regression)(y)
    with pytest.raises(TypeError, match="runs on the host and needs concrete arrays"):
        jax.jit(lambda v: isotree.dag_isotonic_regression(v, [[1, 0]]))(y[0])
