"""Seeded, deterministic regression tests for defects found at the edges of the input:
options that would do nothing, empty and scalar input, array types, extreme values and
weights. Each test is named after the behaviour it pins. Tests of the ``isotree`` command
live in test_cli.py.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isotree
from isotree.ida import isotonic_logits, mixup_mass, order_violations
from isotree.testing import qp_isotonic

from .strategies import extreme_values, extreme_weights, mixed_scale_batches

# An option with no effect in the call is an error, not silently ignored.

@pytest.mark.parametrize("method", ["exact", "shift"])
def test_n_iter_without_approx_is_an_error(method):
    z = np.array([[0.0, 1.0, 2.0]])
    m = mixup_mass([0], [1], 0.7, 3)
    with pytest.raises(ValueError, match=f"n_iter is only used with method='approx'; got "
                                         f"n_iter=0 with method='{method}'"):
        isotonic_logits(z, m, method=method, n_iter=0)
    with pytest.raises(ValueError, match="return_blocks needs method='exact'"):
        isotonic_logits(z, m, method="approx", return_blocks=True)
    # Allowed and documented: n_iter=None with any method; approx defaults to 2 steps.
    np.testing.assert_array_equal(isotonic_logits(z, m, method="approx"),
                                  isotonic_logits(z, m, method="approx", n_iter=2))


@pytest.mark.parametrize("value", [True, np.bool_(False)])
def test_booleans_are_not_counts(value):
    with pytest.raises(TypeError, match="num_classes must be an integer; got"):
        mixup_mass([0], [0], 0.5, value)
    with pytest.raises(TypeError, match="n_iter must be an integer; got"):
        isotonic_logits([[0.0, 1.0]], [[1.0, 0.0]], method="approx", n_iter=value)


# An empty class axis (c = 0) is empty in, empty out.

@pytest.mark.parametrize("shape", [(3, 0), (0, 0), (2, 4, 0), (0,)])
@pytest.mark.parametrize("method", ["exact", "approx", "shift"])
def test_no_classes_gives_an_empty_fit(shape, method):
    z = np.zeros(shape, dtype=np.float32)
    fit = isotonic_logits(z, np.zeros(shape), method=method)
    assert fit.shape == shape and fit.dtype == np.float32


def test_no_classes_gives_blocks_and_statistics():
    fit, blocks = isotonic_logits(np.zeros((3, 0)), np.zeros((3, 0)), return_blocks=True)
    assert fit.shape == blocks.shape == (3, 0) and blocks.dtype == np.int64
    # A row without classes has the statistics of a row of one class.
    empty = order_violations(np.zeros((3, 0)), np.zeros((3, 0)))
    single = order_violations(np.zeros((3, 1)), np.zeros((3, 1)))
    assert empty["rows"] == single["rows"] == 3
    for key in ("violation_rate", "kendall_tau", "top2_any_mixed", "top2_all_mixed"):
        np.testing.assert_equal(empty[key], single[key])
    assert empty["violation_rate"] == 0.0 and np.isnan(empty["kendall_tau"])
    assert order_violations(np.zeros((0, 0)), np.zeros((0, 0)))["rows"] == 0


# mixup_mass returns the input's array type, device and a stated dtype.

def test_mixup_mass_dtype_follows_lam():
    assert mixup_mass([0, 1], [1, 1], 0.3, 3).dtype == np.float64
    assert mixup_mass([0, 1], [1, 1], np.float32(0.3), 3).dtype == np.float32
    lam32 = np.array([0.3, 0.5], dtype=np.float32)
    mass = mixup_mass([0, 1], [1, 1], lam32, 3)
    assert mass.dtype == np.float32
    np.testing.assert_array_equal(mass, [[lam32[0], 1 - lam32[0], 0], [0, 1, 0]])
    assert mixup_mass([0], [1], np.float16(0.5), 2).dtype == np.float64


def test_mixup_mass_keeps_torch_tensors_and_device():
    torch = pytest.importorskip("torch")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        a = torch.tensor([0, 2, 1], device=device)
        b = torch.tensor([1, 2, 0], device=device)
        lam = torch.tensor([0.7, 0.4, 0.5], device=device)  # float32
        mass = mixup_mass(a, b, lam, 3)
        assert isinstance(mass, torch.Tensor) and mass.device == a.device
        assert mass.dtype == torch.float32
        expected = mixup_mass(a.cpu().numpy(), b.cpu().numpy(), lam.cpu().numpy(), 3)
        np.testing.assert_array_equal(mass.cpu().numpy(), expected)
        # A Python float lam gives float64, on the labels' device.
        mass = mixup_mass(a, b, 0.25, 3)
        assert mass.dtype == torch.float64 and mass.device == a.device
        np.testing.assert_array_equal(mass.cpu().numpy(),
                                      mixup_mass([0, 2, 1], [1, 2, 0], 0.25, 3))
        with pytest.raises(ValueError, match=r"labels_b must be in \[0, 3\); labels_b\[1\]"):
            mixup_mass(a, torch.tensor([1, 3, 0], device=device), lam, 3)
        with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]; lam\[2\]"):
            mixup_mass(a, b, torch.tensor([0.5, 0.5, -0.5], device=device), 3)
        with pytest.raises(TypeError, match="labels_a must hold integer class labels"):
            mixup_mass(lam, b, lam, 3)


@pytest.mark.parametrize("library", ["jax.numpy", "array_api_strict"])
def test_mixup_mass_keeps_other_array_types(library):
    xp = pytest.importorskip(library)
    a = xp.asarray([0, 2])
    mass = mixup_mass(a, [1, 2], 0.75, 3)
    assert type(mass) is type(a)
    np.testing.assert_allclose(np.asarray(mass), [[0.75, 0.25, 0.0], [0.0, 0.0, 1.0]])


# Docs: method="shift" is not what the paper's code computes.

def test_docs_do_not_attribute_shift_to_the_paper_code():
    doc = " ".join(isotonic_logits.__doc__.split())
    assert "correction of the paper's code" not in doc
    assert "The paper's official code computes the projection" in doc


# Scalars and other malformed input get clear errors that name the argument.

@pytest.mark.parametrize("function", [isotonic_logits, order_violations])
def test_scalars_are_refused_by_name(function):
    first = "logits" if function is isotonic_logits else "scores"
    with pytest.raises(ValueError, match=f"{first} must have at least one dimension"):
        function(1.0, 1.0)
    with pytest.raises(ValueError, match="mass must have at least one dimension"):
        function([1.0, 2.0], np.float64(1.0))
    with pytest.raises(ValueError, match=rf"mass must have the shape of {first} \(2,\)"):
        function([1.0, 2.0], [1.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="mass must be numeric"):
        function([1.0, 2.0], ["a", "b"])
    with pytest.raises(TypeError, match=f"{first} must be real"):
        function([1.0 + 1j, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"mass must be finite; mass\[1\] is nan"):
        function([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match=r"mass must be >= 0; mass\[0, 1\] is -0.5"):
        function([[1.0, 2.0]], [[1.0, -0.5]])


def test_one_row_is_a_batch_of_one():
    z = np.array([0.0, 2.0, 1.0])
    m = np.array([0.7, 0.3, 0.0])
    np.testing.assert_array_equal(isotonic_logits(z, m), isotonic_logits(z[None], m[None])[0])
    assert order_violations(z, m) == order_violations(z[None], m[None])


def test_mixup_mass_bad_input():
    with pytest.raises(ValueError, match=r"labels_a must be one-dimensional; got shape \(\)"):
        mixup_mass(0, 1, 0.5, 3)
    with pytest.raises(ValueError, match=r"labels_b must have the shape of labels_a \(2,\)"):
        mixup_mass([0, 1], [1], 0.5, 3)
    with pytest.raises(ValueError, match=r"lam must be a scalar or have shape \(2,\)"):
        mixup_mass([0, 1], [1, 1], [[0.5, 0.5]], 3)
    with pytest.raises(ValueError, match=r"lam must be finite; lam\[1\] is nan"):
        mixup_mass([0, 1], [1, 1], [0.5, np.nan], 3)
    with pytest.raises(TypeError, match="lam must be numeric"):
        mixup_mass([0], [1], "half", 3)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        mixup_mass([0], [0], 0.5, 0)


# The strategies of the thorough profile cover the ranges they promise.

def test_extreme_strategies_cover_their_ranges():
    from hypothesis import find, settings

    quick = settings(database=None, max_examples=2000)
    tiny = find(extreme_values(5), lambda y: 0 < np.abs(y).min() < 1e-310, settings=quick)
    assert np.isfinite(tiny).all()
    huge = find(extreme_values(5), lambda y: np.abs(y).max() > 1e307, settings=quick)
    assert np.isfinite(huge).all()
    light = find(extreme_weights(4), lambda w: w is not None and w.min() < 1e-290,
                 settings=quick)
    heavy = find(extreme_weights(4), lambda w: w is not None and w.max() > 1e290,
                 settings=quick)
    assert (light > 0).all() and np.isfinite(heavy).all()
    y, w = find(mixed_scale_batches(),
                lambda batch: np.ptp(np.log10(np.abs(batch[0]).max(axis=1) + 1e-320)) > 200,
                settings=quick)
    assert y.ndim == 2 and y.shape[0] >= 2 and np.isfinite(y).all()
    assert w is None or (w.shape == y.shape and (w > 0).all())


# Core solvers, with the oracle where it helps.


def test_integer_predictors_above_2_53_keep_their_order():
    x = np.array([1_700_000_000_000_000_000, 1_700_000_000_000_000_001])
    np.testing.assert_array_equal(isotree.isotonic_regression([2.0, 1.0], x=x), [1.5, 1.5])
    # Equal as float64, distinct as integers: secondary ties must not pool them.
    np.testing.assert_array_equal(
        isotree.isotonic_regression([1.0, 2.0], x=x, ties="secondary"), [1.0, 2.0])
    stamps = np.array(["2026-01-01T00:00:00.000000001", "2026-01-01T00:00:00.000000000"],
                      dtype="datetime64[ns]")
    np.testing.assert_array_equal(isotree.isotonic_regression([1.0, 2.0], x=stamps),
                                  [1.5, 1.5])
    big = np.array([2**64 - 1, 2**64 - 2], dtype=np.uint64)
    np.testing.assert_array_equal(isotree.isotonic_regression([1.0, 2.0], x=big), [1.5, 1.5])
    with pytest.raises(ValueError, match=r"x must not hold NaT; x\[1\]"):
        isotree.isotonic_regression([1.0, 2.0], x=np.array(["2026-01-01", "NaT"],
                                                             dtype="datetime64[D]"))


def test_weights_are_keyword_only():
    for call in (lambda: isotree.isotonic_regression([1.0, 2.0], [1.0, 1.0]),
                 lambda: isotree.tree_isotonic_regression([1.0, 2.0], [-1, 0], [1.0, 1.0]),
                 lambda: isotree.star_isotonic_regression([1.0, 2.0], 0, [1.0, 1.0]),
                 lambda: isotree.kkt_violation([1.0, 2.0], [1.0, 2.0], [-1, 0], [1.0, 1.0])):
        with pytest.raises(TypeError, match="positional"):
            call()


def test_ties_without_x_is_an_error():
    with pytest.raises(ValueError, match="ties='secondary' needs a predictor x"):
        isotree.isotonic_regression([1.0, 2.0], ties="secondary")


def test_tree_of_a_tree_and_infinite_bounds():
    tree = isotree.Tree([-1, 0, 0])
    again = isotree.Tree(tree)
    np.testing.assert_array_equal(again.order, tree.order)
    np.testing.assert_array_equal(
        isotree.tree_isotonic_regression([2.0, 0.0, 5.0], again), [1.0, 1.0, 5.0])
    fit = isotree.isotonic_regression([3.0, 1.0], y_min=-np.inf, y_max=np.inf)
    np.testing.assert_array_equal(fit, [2.0, 2.0])
    # An infinite bound on the wrong side would leave no finite fit.
    with pytest.raises(ValueError, match="y_min must be finite or -inf; got inf"):
        isotree.tree_isotonic_regression([2.0, 0.0], [-1, 0], y_min=np.inf)
    with pytest.raises(ValueError, match="y_max must be finite or inf; got -inf"):
        isotree.grid_isotonic_regression([[2.0, 0.0]], y_max=-np.inf)


def test_rows_of_a_batch_are_independent():
    ones = [1.0, 1.0, 1.0]
    for row in ([2e-300] * 3, [1.5e-306, 1.5e-306, 2e-306], [3e-320, 1e-320, 2e-320]):
        for neighbour in (ones, [1.5e308, -1.5e308, 1e308]):
            for increasing in (True, False):
                alone = isotree.isotonic_regression(row, increasing=increasing)
                batch = isotree.isotonic_regression(np.array([neighbour, row]),
                                                    increasing=increasing)
                np.testing.assert_array_equal(batch[1], alone)
                star_alone = isotree.star_isotonic_regression(row, increasing=increasing)
                star_batch = isotree.star_isotonic_regression(np.array([neighbour, row]),
                                                              increasing=increasing)
                np.testing.assert_array_equal(star_batch[1], star_alone)
    # Per-row weights: a row of tiny weights next to a row of huge ones.
    w = np.array([[1e300, 1.0, 1.0], [1e-300] * 3])
    fit = isotree.isotonic_regression(np.array([[1.0, 0.0, 1.0], [2e-300, 1e-300, 3e-300]]),
                                      weights=w)
    np.testing.assert_allclose(fit[1], [1.5e-300, 1.5e-300, 3e-300], rtol=1e-15)


def test_extreme_rows_match_the_oracle_alone():
    rng = np.random.default_rng(11)
    for scale in (1e-310, 1e-200, 1.0, 1e200, 1e307):
        y = rng.normal(size=(3, 6)) * scale
        w = rng.uniform(0.5, 2.0, 6)
        edges = np.array([(i + 1, i) for i in range(5)])  # fit[i+1] >= fit[i]
        fits = isotree.isotonic_regression(y, weights=w)
        for row, fit in zip(y, fits):
            expected = qp_isotonic(row / scale, edges, w) * scale
            np.testing.assert_allclose(fit, expected, rtol=1e-9, atol=1e-12 * scale)


def test_tiny_and_subnormal_weights():
    # A block of subnormal weights pools to its weighted mean.
    w = np.array([1.0, 5e-324, 1e-323, 1.0])
    fit = isotree.isotonic_regression([-10.0, 1.2, 1.0, 10.0], weights=w)
    np.testing.assert_allclose(fit, [-10.0, 1.0 + 0.2 / 3, 1.0 + 0.2 / 3, 10.0], rtol=1e-12)
    # Tertiary ties with tiny weights: singleton groups keep the order exactly.
    y = np.array([3.0, 1.0, 2.5, 2.0])
    x = np.array([0, 1, 2, 2])
    # A subnormal weight in a tie group of its own: the group's mean is its value exactly.
    np.testing.assert_array_equal(
        isotree.isotonic_regression([-1.8, -2.3], weights=[5e-324, 1.0], x=[0, 1],
                                    ties="tertiary"), [-2.3, -2.3])
    fit = isotree.isotonic_regression(y, weights=np.full(4, 1e-200), x=x, ties="tertiary")
    assert fit[0] <= fit[1]
    np.testing.assert_allclose(fit, isotree.isotonic_regression(y, x=x, ties="tertiary"),
                               rtol=1e-14)


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1), st.integers(2, 30), st.integers(1, 4))
def test_every_ida_method_respects_the_order_exactly(seed, c, k):
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(8, c)) * 10.0 ** rng.integers(-3, 4)).astype(
        rng.choice([np.float32, np.float64]))
    mass = np.zeros((8, c))
    for row in mass:
        row[rng.choice(c, size=min(k, c), replace=False)] = rng.integers(1, 4, min(k, c))
    for method in ("exact", "approx", "shift"):
        fit = isotonic_logits(z, mass, method=method)
        assert order_violations(fit, mass)["violation_rate"] == 0.0, method


def test_shift_feasible_to_the_last_ulp():
    # -4.89... + (5.27... - -4.89...) rounds to one ulp below 5.27...: the raised level
    # must still not end below the level beneath it.
    top, low = 5.275492379532281, -4.898619485211566
    assert low + (top - low) < top
    z = np.array([[top, low, 0.0]])
    mass = np.array([[0.0, 1.0, 0.0]])
    fit = isotonic_logits(z, mass, method="shift")
    assert fit[0, 1] >= fit[0, 0]
    assert order_violations(fit, mass)["violation_rate"] == 0.0


def test_masked_arrays_and_boolean_axes_are_refused():
    with pytest.raises(TypeError, match="masked array"):
        isotree.isotonic_regression(np.ma.array([3.0, 100.0, 2.0], mask=[0, 1, 0]))
    with pytest.raises(TypeError, match="axis must be an integer"):
        isotree.isotonic_regression(np.ones((2, 2)), axis=True)
