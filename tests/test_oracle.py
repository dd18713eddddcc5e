"""The oracle is itself checked before anything is checked against it."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import isotonic_regression as scipy_isotonic

from isotree.testing import qp_isotonic


def chain_edges(n):
    return [(i + 1, i) for i in range(n - 1)]


@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_matches_scipy_on_chains(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    w = rng.uniform(0.1, 3.0, n)
    expected = scipy_isotonic(y, weights=w).x
    np.testing.assert_allclose(qp_isotonic(y, chain_edges(n), w), expected,
                               rtol=1e-9, atol=1e-9)


def test_literal_example():
    # fit[0] >= fit[1], fit[0] >= fit[2] on y = (0, 3, 1): pool 0 with 1 (mean 1.5) and
    # then 2 (1 < 1.5 stays).
    np.testing.assert_allclose(qp_isotonic([0.0, 3.0, 1.0], [(0, 1), (0, 2)]), [1.5, 1.5, 1.0])


def test_dag_that_is_not_a_tree():
    # A diamond: 0 >= 1, 0 >= 2, 1 >= 3, 2 >= 3, data violating everything.
    y = np.array([0.0, 1.0, 2.0, 3.0])
    fit = qp_isotonic(y, [(0, 1), (0, 2), (1, 3), (2, 3)])
    np.testing.assert_allclose(fit, [1.5, 1.5, 1.5, 1.5])


def test_no_edges_and_empty():
    np.testing.assert_array_equal(qp_isotonic([2.0, 1.0], []), [2.0, 1.0])
    assert qp_isotonic([], []).shape == (0,)


def test_bad_edges():
    with pytest.raises(ValueError, match="edges"):
        qp_isotonic([1.0, 2.0], [(0, 2)])
