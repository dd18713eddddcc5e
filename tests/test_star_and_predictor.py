import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import isotree
from isotree.testing import qp_isotonic

from .strategies import values, weights


def star_parent(n, root):
    parent = np.full(n, root)
    parent[root] = -1
    return parent


@given(st.data(), st.integers(1, 60), st.booleans())
def test_star_matches_oracle_and_tree_solver(data, n, increasing):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    root = data.draw(st.integers(0, n - 1))
    fit, blocks = isotree.star_isotonic_regression(y, root, weights=w, increasing=increasing,
                                                   return_blocks=True)
    parent = star_parent(n, root)
    scale = max(np.abs(y).max(), 1e-300)
    edges = np.array([(i, root) if increasing else (root, i) for i in range(n) if i != root])
    np.testing.assert_allclose(fit, qp_isotonic(y, edges, w), rtol=1e-7, atol=1e-7 * scale)
    others = np.arange(n) != root
    assert np.all(fit[others] >= fit[root]) if increasing else np.all(fit[others] <= fit[root])
    tree_fit = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing)
    np.testing.assert_allclose(fit, tree_fit, rtol=1e-12, atol=1e-12 * scale)
    assert isotree.kkt_violation(y, fit, parent, weights=w, increasing=increasing) < 1e-10
    # The root's block holds the root and exactly the entries fitted to its value.
    pooled = blocks == root
    assert pooled[root]
    assert np.all(blocks[~pooled] == np.flatnonzero(~pooled))
    w_arr = np.ones(n) if w is None else w
    # Sums in another order: round-off grows with the spread of the weights (1e-4..1e4).
    np.testing.assert_allclose(fit[root], np.sum((w_arr * y)[pooled]) / w_arr[pooled].sum(),
                               rtol=1e-10, atol=1e-10 * scale)


def test_star_literal():
    # Control 5 (weight 20) and treatments 4, 6.5, 3 (weight 10): 4 and 3 pool with it.
    fit = isotree.star_isotonic_regression([5.0, 4.0, 6.5, 3.0], 0, weights=[20, 10, 10, 10])
    np.testing.assert_allclose(fit, [4.25, 4.25, 6.5, 4.25])
    # Root as the maximum: [1, 3, 2] with root 0 pools 0 and 1 and 2 -> 2.
    np.testing.assert_allclose(
        isotree.star_isotonic_regression([1.0, 3.0, 2.0], 0, increasing=False), [2, 2, 2])


def test_star_root_per_row_and_axis():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(5, 4, 7))
    roots = rng.integers(-4, 4, size=(5, 7))
    fit = isotree.star_isotonic_regression(y, roots, axis=1)
    for i in range(5):
        for k in range(7):
            expected = isotree.tree_isotonic_regression(y[i, :, k], star_parent(4, roots[i, k] % 4))
            np.testing.assert_allclose(fit[i, :, k], expected, rtol=1e-12)


def test_star_large_row_certified():
    rng = np.random.default_rng(1)
    n = 200_000
    y = rng.normal(size=n)
    y[5] = 0.5
    fit = isotree.star_isotonic_regression(y, 5)
    assert isotree.kkt_violation(y, fit, star_parent(n, 5)) < 1e-10
    y32 = y.astype(np.float32)
    assert isotree.star_isotonic_regression(y32, 5).dtype == np.float32


def test_star_bad_root():
    with pytest.raises(ValueError, match=r"root must be an index in \[-3, 3\); root is 3"):
        isotree.star_isotonic_regression([1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match=r"root\[1\] is -4"):
        isotree.star_isotonic_regression(np.zeros((2, 3)), [0, -4])
    with pytest.raises(ValueError, match="batch shape"):
        isotree.star_isotonic_regression(np.zeros((2, 3)), [0, 1, 2])
    with pytest.raises(TypeError, match="root must be an integer"):
        isotree.star_isotonic_regression([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match="root cannot index an empty axis"):
        isotree.star_isotonic_regression(np.empty((3, 0)))
    assert isotree.star_isotonic_regression(np.empty((0, 3))).shape == (0, 3)


def predictor_edges(x, ties):
    """Oracle edges for a predictor order (fit[u] >= fit[v] when x[u] > x[v])."""
    n = len(x)
    edges = [(j, i) for i in range(n) for j in range(n) if x[j] > x[i]]
    if ties == "secondary":
        edges += [(i, j) for i in range(n) for j in range(n) if i != j and x[i] == x[j]]
    return np.array(edges).reshape(-1, 2)


@given(st.data(), st.integers(1, 25), st.sampled_from(["primary", "secondary"]),
       st.booleans())
def test_predictor_order_matches_oracle(data, n, ties, increasing):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    x = np.asarray(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), float)
    fit = isotree.isotonic_regression(y, weights=w, x=x, ties=ties, increasing=increasing)
    edges = predictor_edges(x if increasing else -x, ties)
    scale = max(np.abs(y).max(), 1e-300)
    np.testing.assert_allclose(fit, qp_isotonic(y, edges, w), rtol=1e-7, atol=1e-7 * scale)


@given(st.data(), st.integers(1, 25))
def test_tertiary_orders_group_means_and_keeps_offsets(data, n):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    w_arr = np.ones(n) if w is None else w
    x = np.asarray(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), float)
    fit = isotree.isotonic_regression(y, weights=w, x=x, ties="tertiary")
    groups = np.unique(x)
    means = np.array([np.sum((w_arr * y)[x == g]) / w_arr[x == g].sum() for g in groups])
    group_w = np.array([w_arr[x == g].sum() for g in groups])
    group_fit = isotree.isotonic_regression(means, weights=group_w)
    scale = max(np.abs(y).max(), 1e-300)
    for g, mean, target in zip(groups, means, group_fit):
        members = x == g
        np.testing.assert_allclose(fit[members], y[members] + (target - mean), rtol=1e-9,
                                   atol=1e-9 * scale)


def test_predictor_without_ties_equals_sorting():
    rng = np.random.default_rng(2)
    x = rng.permutation(50).astype(float)
    y = rng.normal(size=50)
    order = np.argsort(x)
    expected = np.empty(50)
    expected[order] = isotree.isotonic_regression(y[order])
    for ties in ("primary", "secondary", "tertiary"):
        np.testing.assert_allclose(isotree.isotonic_regression(y, x=x, ties=ties), expected)


def test_predictor_batched_shared_and_full_x_and_blocks():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(4, 12))
    x_shared = rng.integers(0, 4, 12)
    x_full = rng.integers(0, 4, (4, 12))
    for x in (x_shared, x_full):
        fit, blocks = isotree.isotonic_regression(y, x=x, return_blocks=True)
        for r in range(4):
            xr = x if x.ndim == 1 else x[r]
            np.testing.assert_allclose(fit[r], isotree.isotonic_regression(y[r], x=xr))
            for label in np.unique(blocks[r]):
                members = blocks[r] == label
                assert members[label]
                np.testing.assert_allclose(fit[r][members], y[r][members].mean())
    fit0 = isotree.isotonic_regression(y.T, x=x_full.T, axis=0)
    np.testing.assert_allclose(fit0, isotree.isotonic_regression(y, x=x_full).T)


def test_predictor_bad_input():
    with pytest.raises(ValueError, match=r"x must be finite; x\[1\] is nan"):
        isotree.isotonic_regression([1.0, 2.0], x=[0.0, np.nan])
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        isotree.isotonic_regression([1.0, 2.0], x=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="ties must be one of"):
        isotree.isotonic_regression([1.0, 2.0], x=[0, 1], ties="none")
