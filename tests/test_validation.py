"""Every class of bad input raises the right error, naming the argument and the index."""

import numpy as np
import pytest

import isotree

SOLVERS = {
    "chain": lambda y, w=None: isotree.isotonic_regression(y, weights=w),
    "tree": lambda y, w=None: isotree.tree_isotonic_regression(y, np.arange(len(y)) - 1, weights=w),
}


@pytest.mark.parametrize("solve", SOLVERS.values(), ids=SOLVERS.keys())
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_y(solve, bad):
    y = np.array([0.0, 1.0, bad, 2.0])
    with pytest.raises(ValueError, match=r"y must be finite; y\[2\] is"):
        solve(y)


def test_non_finite_y_names_the_full_index():
    y = np.zeros((2, 3))
    y[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"y\[1, 2\] is nan"):
        isotree.isotonic_regression(y, axis=0)


@pytest.mark.parametrize("solve", SOLVERS.values(), ids=SOLVERS.keys())
@pytest.mark.parametrize("bad, message", [(-1e-300, "must be >= 0"), (-1.0, "must be >= 0"),
                                          (np.nan, "must be finite"), (np.inf, "must be finite")])
def test_bad_weights(solve, bad, message):
    with pytest.raises(ValueError, match=rf"weights {message}; weights\[1\] is"):
        solve(np.zeros(3), np.array([1.0, bad, 1.0]))


@pytest.mark.parametrize("solve", SOLVERS.values(), ids=SOLVERS.keys())
def test_a_problem_of_zero_weights_only_is_an_error(solve):
    solve(np.zeros(3), np.array([0.0, -0.0, 1.0]))  # missing observations are fine
    with pytest.raises(ValueError, match="weights are all 0"):
        solve(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"weights of problem \[1\] are all 0"):
        isotree.isotonic_regression(np.zeros((2, 3)),
                                    weights=np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))
    # A problem is named by its index in the batch, whatever the order's axis.
    w = np.ones((4, 2, 3))
    w[:, 1, 2] = 0.0
    with pytest.raises(ValueError, match=r"weights of problem \[1, 2\] are all 0"):
        isotree.isotonic_regression(np.zeros((4, 2, 3)), weights=w, axis=0)


@pytest.mark.parametrize("solve", SOLVERS.values(), ids=SOLVERS.keys())
def test_weights_of_the_wrong_length(solve):
    with pytest.raises(ValueError, match=r"weights must have shape \(3,\)"):
        solve(np.zeros(3), np.ones(4))


@pytest.mark.parametrize("y, error", [(np.array([1 + 1j, 2]), TypeError),
                                      (np.array(["a", "b"]), TypeError),
                                      (np.array([object(), 1]), TypeError),
                                      (3.0, ValueError)])
def test_bad_y_types(y, error):
    with pytest.raises(error, match="y must"):
        isotree.isotonic_regression(y)
    with pytest.raises(error, match="y must|y must have one entry"):
        isotree.tree_isotonic_regression(y, [-1, 0])


def test_bounds_and_options():
    with pytest.raises(ValueError, match="y_min must be <= y_max"):
        isotree.isotonic_regression([1.0, 2.0], y_min=3.0, y_max=1.0)
    with pytest.raises(ValueError, match="y_min must not be NaN"):
        isotree.isotonic_regression([1.0, 2.0], y_min=np.nan)
    with pytest.raises(TypeError, match="y_max must be a real scalar"):
        isotree.isotonic_regression([1.0, 2.0], y_max=[1.0, 2.0])
    with pytest.raises(ValueError, match="ties must be one of"):
        isotree.isotonic_regression([1.0, 2.0], ties="quaternary")
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        isotree.isotonic_regression([1.0, 2.0], axis=2)
    with pytest.raises(TypeError, match="increasing must be True or False"):
        isotree.isotonic_regression([1.0, 2.0], increasing="yes")
    with pytest.raises(TypeError, match="return_blocks must be True or False"):
        isotree.tree_isotonic_regression([1.0, 2.0], [-1, 0], return_blocks=None)


@pytest.mark.parametrize("parent, message", [
    ([-1, 2], r"parent\[1\] is 2"),              # out of range
    ([-1, -2], r"parent\[1\] is -2"),            # below -1
    ([-1, 1], r"parent\[1\] is 1: a node cannot be its own parent"),
    ([-1, 2, 3, 1], "cycle through node [123]"),
    ([1, 2, 0], "no root .* node [012] is on a cycle"),
    ([-1, 0.5], r"integer node indices; parent\[1\] is 0.5"),
    ([[-1, 0]], "one-dimensional"),
])
def test_bad_parent(parent, message):
    with pytest.raises(ValueError, match=message):
        isotree.Tree(parent)


def test_parent_dtype_and_integral_floats():
    with pytest.raises(TypeError, match="parent must be an integer array"):
        isotree.Tree(np.array([True, False]))
    with pytest.raises(TypeError, match="parent must be an integer array"):
        isotree.Tree(np.array(["-1", "0"]))
    assert isotree.Tree(np.array([-1.0, 0.0])).n_nodes == 2
    assert isotree.Tree(np.array([-1, 0], dtype=np.int8)).n_nodes == 2


def test_length_mismatch_with_tree():
    with pytest.raises(ValueError,
                       match=r"y must have one entry per node along its last axis \(3\)"):
        isotree.tree_isotonic_regression(np.zeros(4), [-1, 0, 0])
    with pytest.raises(ValueError, match="fit must have the shape of y"):
        isotree.kkt_violation(np.zeros(3), np.zeros(2), [-1, 0, 0])
    with pytest.raises(ValueError, match=r"fit must be finite; fit\[0\]"):
        isotree.kkt_violation(np.zeros(3), [np.nan, 0.0, 0.0], [-1, 0, 0])


def test_inputs_are_never_mutated():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(2, 6))
    w = rng.uniform(0.5, 2.0, 6)
    parent = np.array([-1, 0, 0, 1, 1, 2])
    copies = y.copy(), w.copy(), parent.copy()
    isotree.isotonic_regression(y, weights=w, increasing=False, return_blocks=True)
    isotree.tree_isotonic_regression(y, parent, weights=w, return_blocks=True)
    isotree.kkt_violation(y, y, parent, weights=w)
    for before, after in zip(copies, (y, w, parent)):
        np.testing.assert_array_equal(before, after)


def test_extreme_magnitudes_stay_finite():
    # Values and weights near the overflow threshold, weights spanning 600 decades, and
    # subnormal inputs: exact power-of-two scaling keeps every sum finite and every weight
    # positive.
    fit = isotree.tree_isotonic_regression([1e300, -1e300, 1e299], [-1, 0, 0],
                                           weights=[1e300, 1e-300, 1.0], increasing=False)
    np.testing.assert_allclose(fit, [1e300, -1e300, 1e299])
    np.testing.assert_allclose(
        isotree.isotonic_regression([1e308, -1e308, 1e308], weights=[1e308, 1e308, 1e308]),
        [0.0, 0.0, 1e308], atol=1e292)
    np.testing.assert_allclose(isotree.isotonic_regression([0.5, 0.25], weights=[5e-324, 5e-324]),
                               [0.375, 0.375])
    np.testing.assert_allclose(isotree.isotonic_regression([3e-320, 1e-320]), [2e-320, 2e-320])
    np.testing.assert_allclose(
        isotree.star_isotonic_regression([1e308, -1e308, 1e308], 1, weights=[1e308] * 3),
        [1e308, -1e308, 1e308])
    np.testing.assert_allclose(
        isotree.ida.isotonic_logits([[1e308, 1.7e308, -1e308]], [[0.7, 0.3, 0.0]]),
        [[1.35e308, 1.35e308, -1e308]])
