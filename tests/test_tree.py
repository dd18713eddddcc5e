import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import isotonic_regression as scipy_isotonic

import isotree
from isotree.testing import qp_isotonic

from .strategies import forests, make_parent, relabel, tree_edges, values, weights


@given(st.data(), forests(), st.booleans())
def test_matches_oracle(data, parent, increasing):
    n = parent.shape[0]
    y = data.draw(values(n))
    w = data.draw(weights(n))
    fit = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing)
    expected = qp_isotonic(y, tree_edges(parent, increasing), w)
    scale = max(np.abs(y).max(), 1e-300)
    np.testing.assert_allclose(fit, expected, rtol=1e-7, atol=1e-7 * scale)
    assert isotree.kkt_violation(y, fit, parent, weights=w, increasing=increasing) < 1e-10


@given(st.data(), forests(max_n=40))
def test_blocks(data, parent):
    n = parent.shape[0]
    y = data.draw(values(n))
    w = data.draw(weights(n))
    w_arr = np.ones(n) if w is None else w
    fit, top = isotree.tree_isotonic_regression(y, parent, weights=w, return_blocks=True)
    scale = np.abs(y).max() or 1.0
    for label in np.unique(top):
        members = np.flatnonzero(top == label)
        # The top is in its block, and every other member's parent is in the block too.
        assert top[label] == label
        assert np.all(top[parent[members[members != label]]] == label)
        mean = np.sum(w_arr[members] * y[members]) / np.sum(w_arr[members])
        np.testing.assert_allclose(fit[members], mean, rtol=1e-12, atol=1e-12 * scale)


@given(st.data(), forests(max_n=40))
def test_properties(data, parent):
    n = parent.shape[0]
    y = data.draw(values(n))
    w = data.draw(weights(n))
    w_arr = np.ones(n) if w is None else w
    fit = isotree.tree_isotonic_regression(y, parent, weights=w)
    scale = max(1.0, np.abs(y).max())
    child = np.flatnonzero(parent >= 0)
    assert np.all(fit[child] >= fit[parent[child]])  # exactly feasible
    np.testing.assert_allclose(isotree.tree_isotonic_regression(fit, parent, weights=w), fit,
                               rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(
        isotree.tree_isotonic_regression(2.0 * y + 7.0, parent, weights=w), 2.0 * fit + 7.0,
        rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(isotree.tree_isotonic_regression(-y, parent, weights=w,
                                                                increasing=False),
                               -fit, rtol=1e-12, atol=1e-12 * scale)
    # Mass is preserved in every tree of the forest.
    roots = np.flatnonzero(parent == -1)
    root_of = np.where(parent >= 0, parent, np.arange(n))
    for _ in range(n):  # pointer jumping until every node points at its root
        root_of = root_of[root_of]
    for root in roots:
        members = root_of == root
        np.testing.assert_allclose(np.sum((w_arr * fit)[members]), np.sum((w_arr * y)[members]),
                                   rtol=1e-9, atol=1e-9 * scale * w_arr.sum())
    # Relabelling the nodes relabels the fit.
    perm = np.random.default_rng(n).permutation(n)
    fit_relabelled = isotree.tree_isotonic_regression(y[perm], relabel(parent, perm),
                                                      weights=w_arr[perm])
    np.testing.assert_allclose(fit_relabelled, fit[perm], rtol=1e-12, atol=1e-12 * scale)


@given(st.data(), st.integers(1, 50))
def test_path_is_a_chain(data, n):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    parent = np.arange(n) - 1
    expected = scipy_isotonic(y, weights=w).x
    np.testing.assert_allclose(isotree.tree_isotonic_regression(y, parent, weights=w), expected,
                               rtol=1e-9, atol=1e-12 * np.abs(y).max())
    np.testing.assert_allclose(isotree.isotonic_regression(y, weights=w), expected,
                               rtol=1e-9, atol=1e-12 * np.abs(y).max())


def test_literal_star():
    # Simple tree order with the control (root) as the minimum: treatments below the
    # control pool with it. Control 5 (weight 2), treatments 4, 6, 3 (weights 1):
    # pool 3 first: (10 + 3) / 3 = 4.33 > 4, pool 4: 17 / 4 = 4.25.
    fit = isotree.tree_isotonic_regression([5.0, 4.0, 6.0, 3.0], [-1, 0, 0, 0],
                                           weights=[2.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(fit, [4.25, 4.25, 6.0, 4.25])


def test_batched_rows_share_a_tree_and_tree_object_is_reused():
    rng = np.random.default_rng(3)
    parent = make_parent("recursive", 30, rng)
    tree = isotree.Tree(parent)
    y = rng.normal(size=(2, 3, 30))
    w = rng.uniform(0.5, 2.0, (2, 3, 30))
    fit = isotree.tree_isotonic_regression(y, tree, weights=w)
    assert fit.shape == y.shape
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(fit[idx], isotree.tree_isotonic_regression(y[idx], parent,
                                                                              weights=w[idx]))
    assert isotree.kkt_violation(y, fit, tree, weights=w) < 1e-12


@pytest.mark.parametrize("shape", ["recursive", "star", "binary", "caterpillar", "forest",
                                   "deep"])
@pytest.mark.parametrize("increasing", [True, False])
def test_certificate_on_large_trees(shape, increasing):
    rng = np.random.default_rng(4)
    n = 100_000
    parent = relabel(make_parent(shape, n, rng), rng.permutation(n))
    y = rng.normal(size=n) + 0.01 * rng.normal(size=n).cumsum()
    w = rng.uniform(0.1, 10.0, n)
    fit = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing)
    assert isotree.kkt_violation(y, fit, parent, weights=w, increasing=increasing) < 1e-9
    # A perturbed fit is flagged, whether it stays feasible (a block moved) or not.
    _, top = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing,
                                              return_blocks=True)
    moved = fit.copy()
    biggest = np.bincount(top).argmax()
    moved[top == biggest] += 1e-3 * (1 if increasing else -1)
    assert isotree.kkt_violation(y, moved, parent, weights=w, increasing=increasing) > 1e-8
    noisy = fit + 1e-3 * rng.normal(size=n)
    assert isotree.kkt_violation(y, noisy, parent, weights=w, increasing=increasing) > 1e-5


@pytest.mark.slow
def test_ten_million_node_path_needs_no_recursion():
    n = 10_000_000
    y = np.zeros(n)
    y[0] = 1.0  # the root is above everything: the whole path pools to 1/n
    fit = isotree.tree_isotonic_regression(y, np.arange(n) - 1)
    np.testing.assert_allclose(fit[[0, n // 2, n - 1]], 1.0 / n)


def test_empty_tree():
    assert isotree.tree_isotonic_regression([], []).shape == (0,)
    assert isotree.kkt_violation([], [], []) == 0.0


@given(forests(max_n=80))
def test_both_traversals_give_the_same_preorder(parent):
    from isotree._numba.traversal import preorder, preorder_of_topological

    order, count = preorder(parent)
    assert count == parent.shape[0]
    if np.all(parent < np.arange(parent.shape[0])):
        np.testing.assert_array_equal(preorder_of_topological(parent), order)
    position = np.empty_like(order)
    position[order] = np.arange(order.shape[0])
    child = np.flatnonzero(parent >= 0)
    assert np.all(position[parent[child]] < position[child])
