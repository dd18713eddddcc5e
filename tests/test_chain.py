import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import isotonic_regression as scipy_isotonic

import isotree

from .strategies import values, weights


def scipy_fit(y, w=None, increasing=True):
    return scipy_isotonic(y, weights=w, increasing=increasing).x


@given(st.data(), st.integers(1, 80), st.booleans())
def test_matches_scipy(data, n, increasing):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    fit = isotree.isotonic_regression(y, weights=w, increasing=increasing)
    scale = max(1.0, np.abs(y).max())
    np.testing.assert_allclose(fit, scipy_fit(y, w, increasing), rtol=1e-9, atol=1e-12 * scale)


@given(st.data(), st.integers(1, 30))
def test_blocks_are_runs_with_weighted_means(data, n):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    w_arr = np.ones(n) if w is None else w
    fit, blocks = isotree.isotonic_regression(y, weights=w, return_blocks=True)
    assert blocks[0] == 0
    assert np.all(np.diff(blocks) >= 0)
    for label in np.unique(blocks):
        members = np.flatnonzero(blocks == label)
        assert members[0] == label
        assert np.all(np.diff(members) == 1)
        mean = np.sum(w_arr[members] * y[members]) / np.sum(w_arr[members])
        np.testing.assert_allclose(fit[members], mean, rtol=1e-12, atol=1e-12 * np.abs(y).max())


def test_literal_cases():
    # R: isotone::gpava(1:5, c(1, 3, 2, 4, 3.5))$x  ->  1 2.5 2.5 3.75 3.75
    np.testing.assert_allclose(isotree.isotonic_regression([1, 3, 2, 4, 3.5]),
                               [1, 2.5, 2.5, 3.75, 3.75])
    # Weighted: (3*1 + 1*4) / 4 pooled.
    np.testing.assert_allclose(isotree.isotonic_regression([4.0, 1.0], weights=[1.0, 3.0]),
                               [1.75, 1.75])
    np.testing.assert_allclose(isotree.isotonic_regression([1.0, 4.0], increasing=False),
                               [2.5, 2.5])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_batched_along_any_axis(axis):
    rng = np.random.default_rng(1)
    y = rng.normal(size=(4, 5, 6))
    fit = isotree.isotonic_regression(y, axis=axis)
    moved_y = np.moveaxis(y, axis, -1).reshape(-1, y.shape[axis])
    moved_fit = np.moveaxis(fit, axis, -1).reshape(-1, y.shape[axis])
    for row_y, row_fit in zip(moved_y, moved_fit):
        np.testing.assert_allclose(row_fit, scipy_fit(row_y), rtol=1e-12, atol=1e-14)


def test_weights_shared_or_per_entry():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(3, 7))
    w_row = rng.uniform(0.5, 2, 7)
    w_full = rng.uniform(0.5, 2, (3, 7))
    shared = isotree.isotonic_regression(y, weights=w_row)
    full = isotree.isotonic_regression(y, weights=w_full)
    for r in range(3):
        np.testing.assert_allclose(shared[r], scipy_fit(y[r], w_row), rtol=1e-12)
        np.testing.assert_allclose(full[r], scipy_fit(y[r], w_full[r]), rtol=1e-12)
    # Along axis 0 a (n,) weight vector follows that axis.
    fit0 = isotree.isotonic_regression(y.T, weights=w_row, axis=0)
    np.testing.assert_allclose(fit0, shared.T, rtol=1e-12)


def test_bounds_clip_the_fit():
    y = np.array([5.0, 1.0, 3.0, 9.0, 0.0])
    fit = isotree.isotonic_regression(y, y_min=2.5, y_max=3.5)
    np.testing.assert_allclose(fit, np.clip(scipy_fit(y), 2.5, 3.5))
    assert fit.min() >= 2.5 and fit.max() <= 3.5


@given(st.data(), st.integers(1, 40))
def test_properties(data, n):
    y = data.draw(values(n))
    w = data.draw(weights(n))
    w_arr = np.ones(n) if w is None else w
    fit = isotree.isotonic_regression(y, weights=w)
    scale = max(1.0, np.abs(y).max())
    assert np.all(np.diff(fit) >= 0)  # feasible to the last bit, not only up to round-off
    # Idempotent, mass-preserving, affine equivariant, and the flip is the other direction.
    np.testing.assert_allclose(isotree.isotonic_regression(fit, weights=w), fit, rtol=1e-12,
                               atol=1e-12 * scale)
    np.testing.assert_allclose(np.sum(w_arr * fit), np.sum(w_arr * y), rtol=1e-9,
                               atol=1e-9 * scale * w_arr.sum())
    np.testing.assert_allclose(isotree.isotonic_regression(3.0 * y - 2.0, weights=w),
                               3.0 * fit - 2.0, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(isotree.isotonic_regression(-y, weights=w, increasing=False), -fit,
                               rtol=1e-12, atol=1e-12 * scale)


def test_dtypes_and_inputs_kept():
    y32 = np.array([3.0, 1.0, 2.0], dtype=np.float32)
    assert isotree.isotonic_regression(y32).dtype == np.float32
    assert isotree.isotonic_regression([3, 1, 2]).dtype == np.float64
    big_endian = np.array([3.0, 1.0, 2.0], dtype=">f8")
    np.testing.assert_allclose(isotree.isotonic_regression(big_endian), [2, 2, 2])
    read_only = np.array([3.0, 1.0, 2.0])
    read_only.flags.writeable = False
    np.testing.assert_allclose(isotree.isotonic_regression(read_only), [2, 2, 2])
    strided = np.arange(10.0)[::-2]
    np.testing.assert_allclose(isotree.isotonic_regression(strided), np.full(5, 5.0))
    y = np.array([3.0, 1.0, 2.0])
    w = np.array([1.0, 2.0, 3.0])
    isotree.isotonic_regression(y, weights=w, increasing=False)
    np.testing.assert_array_equal(y, [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(w, [1.0, 2.0, 3.0])


def test_huge_and_tiny_values():
    y = np.array([1e300, -1e300, 5e299])
    fit = isotree.isotonic_regression(y, weights=[1e4, 1e4, 1.0])
    assert np.all(np.isfinite(fit))
    np.testing.assert_allclose(fit[:2], 0.0, atol=1e286)
    tiny = np.array([3e-300, 1e-300, 2e-300])
    np.testing.assert_allclose(isotree.isotonic_regression(tiny), [2e-300] * 3, rtol=1e-12)


def test_empty():
    assert isotree.isotonic_regression([]).shape == (0,)
    fit, blocks = isotree.isotonic_regression(np.empty((3, 0)), return_blocks=True)
    assert fit.shape == (3, 0) and blocks.shape == (3, 0)
