"""isotree.IsotonicRegression: scikit-learn's contract, its predictions, and R's step function."""

import pickle
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import isotree
from isotree.testing import qp_isotonic

from .strategies import extreme_values, extreme_weights, values, weights

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import SkipTestWarning  # noqa: E402
from sklearn.isotonic import IsotonicRegression as SklearnIsotonicRegression  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

from isotree.estimator import IsotonicRegression  # noqa: E402

# ---------------------------------------------------------------------------------------
# scikit-learn's estimator checks.

class _CheckedAsTwoD(IsotonicRegression):
    """The estimator with one tag changed, so that check_estimator runs its checks.

    With the tags of a one-feature estimator (1-D input only, scikit-learn's own tags for
    its IsotonicRegression), check_estimator skips every check. Declaring 2-D input as
    well makes it run them on 1-D data (the checks cut X to its first column for a
    one_d_array estimator); a score on one column of a ten-feature data set is poor.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.regressor_tags.poor_score = True
        return tags


_FIRST_COLUMN = "the check indexes X as 2-D after cutting it to 1-D for a one_d_array estimator"
_MANY_COLUMNS = "the check fits X with several columns; isotonic regression has one feature"
# Checks whose data cannot fit a one-feature estimator; what each one checks is tested below.
EXPECTED_FAILED = {
    "check_dont_overwrite_parameters": _FIRST_COLUMN,
    "check_dtype_object": _FIRST_COLUMN,
    "check_f_contiguous_array_estimator": _FIRST_COLUMN,
    "check_regressors_no_decision_function": _FIRST_COLUMN,
    "check_methods_sample_order_invariance": _FIRST_COLUMN,
    "check_methods_subset_invariance": _FIRST_COLUMN,
    "check_fit2d_1sample": _FIRST_COLUMN,
    "check_fit2d_1feature": _FIRST_COLUMN,
    "check_dict_unchanged": _FIRST_COLUMN,
    "check_fit2d_predict1d": _FIRST_COLUMN,
    "check_n_features_in": _FIRST_COLUMN,
    "check_n_features_in_after_fitting": "no n_features_in_: one feature always, as in "
                                         "scikit-learn",
    "check_transformer_general": "the check reads transform's output as 2-D; it is 1-D, as "
                                 "scikit-learn's",
    "check_transformer_data_not_an_array": "the check reads transform's output as 2-D",
    "check_sample_weights_shape": _MANY_COLUMNS,
    "check_sample_weights_not_overwritten": _MANY_COLUMNS,
    "check_sample_weight_equivalence_on_dense_data": _MANY_COLUMNS,
    "check_estimator_sparse_array": "SciPy cannot convert the check's 1-D sparse array",
    "check_fit1d": "the check expects 1-D X to be refused; it is the estimator's input",
}


@parametrize_with_checks([_CheckedAsTwoD()], expected_failed_checks=lambda _: EXPECTED_FAILED)
def test_scikit_learn_checks(estimator, check):
    with warnings.catch_warnings():
        # The checks fit random data with "auto"-free defaults, but warn about their own
        # data conversions (1-D y from a column, etc.).
        warnings.simplefilter("ignore", sklearn.exceptions.DataConversionWarning)
        check(estimator)


def test_check_estimator_with_the_estimators_own_tags():
    # As for scikit-learn's IsotonicRegression: the checks skip a 1-D-only estimator
    # (test_scikit_learn_checks runs them); what runs must pass.
    with pytest.warns(SkipTestWarning, match="one_d_array=True"):
        results = check_estimator(IsotonicRegression(), on_fail=None)
    assert all(r["status"] == "passed" for r in results)


def test_import_isotree_does_not_import_sklearn():
    code = "import sys, isotree; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
    assert isotree.IsotonicRegression is IsotonicRegression
    assert "IsotonicRegression" in dir(isotree)


# ---------------------------------------------------------------------------------------
# The same predictions as scikit-learn.

def _problem(rng, n, kind):
    """x with ties (integers) or distinct (uniform), y with a trend, weights with zeros."""
    x = rng.integers(0, max(2, n // 3), n).astype(float) if kind == "ties" else (
        rng.uniform(-5, 5, n))
    y = np.sqrt(np.abs(x)) * np.sign(x) + rng.normal(size=n)
    return x, y


def _both(params, x, y, w=None):
    ours = IsotonicRegression(**params).fit(x, y, sample_weight=w)
    theirs = SklearnIsotonicRegression(**params).fit(x, y, sample_weight=w)
    return ours, theirs


@pytest.mark.parametrize("kind", ["ties", "distinct"])
@pytest.mark.parametrize("increasing", [True, False, "auto"])
@pytest.mark.parametrize("out_of_bounds", ["nan", "clip"])
@pytest.mark.parametrize("bounds", [(None, None), (-0.5, None), (None, 0.3), (-1.0, 1.0)])
def test_matches_scikit_learn(kind, increasing, out_of_bounds, bounds):
    seed = zlib.crc32(repr((kind, increasing, out_of_bounds, bounds)).encode())
    rng = np.random.default_rng(seed)
    for trial in range(8):
        n = int(rng.integers(2, 200))
        x, y = _problem(rng, n, kind)
        if increasing is False:
            y = -y
        # Zero weights only where the direction is given: scikit-learn decides "auto" on
        # every sample, isotree on those with weight > 0.
        w = [None, rng.uniform(0.1, 3.0, n),
             np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0.1, 3.0, n))][trial % 3]
        if increasing == "auto" and w is not None:
            w = np.maximum(w, 0.1)
        if w is not None and np.unique(x[w > 0]).size < 2:
            continue  # one distinct x: see test_single_point_predicts_only_there
        if np.unique(x).size < 2:
            continue
        params = dict(increasing=increasing, out_of_bounds=out_of_bounds, y_min=bounds[0],
                      y_max=bounds[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "auto" on a weak correlation
            _check_agreement(params, x, y, w, rng)


def _check_agreement(params, x, y, w, rng):
    ours, theirs = _both(params, x, y, w)
    assert ours.increasing_ == theirs.increasing_
    np.testing.assert_array_equal(ours.X_thresholds_, theirs.X_thresholds_)
    np.testing.assert_allclose(ours.y_thresholds_, theirs.y_thresholds_, rtol=1e-12,
                               atol=1e-12)
    assert (ours.X_min_, ours.X_max_) == (theirs.X_min_, theirs.X_max_)
    new = np.concatenate([rng.uniform(x.min() - 1, x.max() + 1, 50), x])
    np.testing.assert_allclose(ours.predict(new), theirs.predict(new), rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_allclose(ours.transform(new.reshape(-1, 1)), theirs.predict(new),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(clone(ours).fit_transform(x, y, sample_weight=w),
                               theirs.fit_transform(x, y, sample_weight=w), rtol=1e-9,
                               atol=1e-9)


def test_out_of_bounds_raise_matches_scikit_learn():
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 0.0, 2.0, 3.0])
    ours, theirs = _both(dict(out_of_bounds="raise"), x, y)
    np.testing.assert_allclose(ours.predict([0.0, 0.5, 3.0]), theirs.predict([0.0, 0.5, 3.0]))
    for outside in ([-0.1], [1.0, 3.5]):
        with pytest.raises(ValueError):
            theirs.predict(outside)
        with pytest.raises(ValueError, match=r"outside the fitted range \[0.0, 3.0\]"):
            ours.predict(outside)
    with pytest.raises(ValueError, match=r"T\[1\] is 3.5"):
        ours.predict([1.0, 3.5])


def test_literal_case_from_r_isotone():
    # scikit-learn's test of secondary ties, from R:
    # library(isotone); gpava(c(0, 1, 1, 2, 3, 4), c(0, 0, 1, 0, 0, 1), ties="secondary")$x
    x = np.array([0, 1, 1, 2, 3, 4])
    y = np.array([0, 0, 1, 0, 0, 1])
    expected = [0.0, 0.25, 0.25, 0.25, 0.25, 1.0]
    np.testing.assert_allclose(IsotonicRegression().fit_transform(x, y), expected)


def test_float32_stays_float32():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 300).astype(np.float32)
    y = (x + rng.normal(size=300)).astype(np.float32)
    ours, theirs = _both({}, x, y)
    assert ours.X_thresholds_.dtype == ours.y_thresholds_.dtype == np.float32
    prediction = ours.predict(np.linspace(0, 1, 40))
    assert prediction.dtype == np.float32
    # isotree sums in float64 and pools exact ties only; scikit-learn sums in float32 and
    # pools x closer than 1e-6: equal to float32 precision where both have the same points.
    if ours.X_thresholds_.shape == theirs.X_thresholds_.shape:
        np.testing.assert_allclose(prediction, theirs.predict(np.linspace(0, 1, 40)),
                                   rtol=1e-5, atol=1e-5)


def test_single_point_predicts_only_there():
    model = IsotonicRegression().fit([2.0, 2.0], [1.0, 3.0])
    np.testing.assert_array_equal(model.predict([2.0, 1.0, 3.0]), [2.0, np.nan, np.nan])
    clip = IsotonicRegression(out_of_bounds="clip").fit([2.0, 2.0], [1.0, 3.0])
    np.testing.assert_array_equal(clip.predict([2.0, 1.0, 3.0]), [2.0, 2.0, 2.0])
    step = IsotonicRegression(interpolation="step").fit([2.0], [1.0])
    np.testing.assert_array_equal(step.predict([2.0, 2.5]), [1.0, np.nan])


# ---------------------------------------------------------------------------------------
# The fit against independent solutions.

def _reference_points(x, y, w, increasing, ties, y_min, y_max):
    """Every distinct x (with weight > 0) and the curve there, from the QP oracle."""
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    ux, group = np.unique(x, return_inverse=True)
    if ties == "primary":
        # Entries ordered by x only; the curve at x is the weighted mean of their fits.
        edges = [(i, j) if increasing else (j, i) for i in range(x.size)
                 for j in range(x.size) if x[i] > x[j]]
        fit = qp_isotonic(y, np.array(edges).reshape(-1, 2), w)
        values = np.bincount(group, w * fit) / np.bincount(group, w)
    else:
        gw = np.bincount(group, w)
        gy = np.bincount(group, w * y) / gw
        chain = np.array([(k + 1, k) if increasing else (k, k + 1)
                          for k in range(ux.size - 1)]).reshape(-1, 2)
        values = qp_isotonic(gy, chain, gw)
    return ux, np.clip(values, y_min, y_max)


@given(st.data(), st.integers(1, 40), st.sampled_from(["secondary", "primary", "tertiary"]),
       st.booleans(), st.sampled_from([(None, None), (-0.5, 0.5), (0.0, None)]))
def test_curve_matches_the_oracle(data, n, ties, increasing, bounds):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    y = data.draw(values(n))
    w = data.draw(weights(n))
    w = np.ones(n) if w is None else w
    w[rng.random(n) < 0.2] = 0.0
    if not w.any():
        w[0] = 1.0
    x = rng.integers(0, max(1, n // 2), n).astype(float)
    scale = max(np.abs(y).max(), 1e-300)
    lo, hi = (None if b is None else b * scale for b in bounds)
    model = IsotonicRegression(increasing=increasing, ties=ties, y_min=lo, y_max=hi,
                               out_of_bounds="clip").fit(x, y, sample_weight=w)
    ux, expected = _reference_points(x, y, w, increasing, ties, lo, hi)
    np.testing.assert_allclose(model.predict(ux), expected, rtol=1e-7, atol=1e-7 * scale)
    steps = model.set_params(interpolation="step").predict(ux)
    np.testing.assert_allclose(steps, expected, rtol=1e-7, atol=1e-7 * scale)
    # The thresholds are a subset of the distinct x, monotone, ends included.
    assert np.isin(model.X_thresholds_, ux).all()
    assert model.X_min_ == ux[0] and model.X_max_ == ux[-1]
    d = np.diff(model.y_thresholds_)
    assert np.all(d >= 0) if increasing else np.all(d <= 0)


@given(st.data(), st.integers(2, 30), st.booleans())
def test_extreme_scales(data, n, increasing):
    y = data.draw(extreme_values(n))
    w = data.draw(extreme_weights(n))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, n, n).astype(float)
    model = IsotonicRegression(increasing=increasing).fit(x, y, sample_weight=w)
    ux, group = np.unique(x, return_inverse=True)
    fit = isotree.isotonic_regression(y, weights=w, x=x, ties="secondary",
                                      increasing=increasing)
    first = np.unique(group, return_index=True)[1]
    scale = np.abs(y).max()
    assert np.all(np.isfinite(model.y_thresholds_))
    np.testing.assert_allclose(model.predict(ux), fit[first], rtol=1e-9, atol=1e-12 * scale)
    # Between the points: finite and monotone, for both interpolations.
    grid = np.linspace(ux[0], ux[-1], 101)
    for interpolation in ("linear", "step"):
        curve = model.set_params(interpolation=interpolation).predict(grid)
        assert np.all(np.isfinite(curve))
        assert np.all(np.diff(curve) >= 0) if increasing else np.all(np.diff(curve) <= 0)


def test_interpolation_near_the_float64_limits():
    big = np.finfo(np.float64).max
    model = IsotonicRegression().fit([-big, big], [-big, big])
    grid = big * np.linspace(-1.0, 1.0, 11)
    curve = model.predict(grid)
    np.testing.assert_allclose(curve, grid, rtol=1e-12, atol=1e-12 * big)
    assert curve[0] == -big and curve[-1] == big and curve[5] == 0.0


def test_step_function_is_r_as_stepfun():
    # R: f <- as.stepfun(isoreg(c(1, 2, 3, 4), c(1, 3, 2, 4)))
    #    f(c(0.5, 1, 1.5, 2, 3, 3.5, 4, 5))  # 1.0 1.0 2.5 2.5 2.5 4.0 4.0 4.0
    # (isoreg's fit is 1, 2.5, 2.5, 4; the step function is left-continuous, constant
    # below the first x and above the last.)
    model = IsotonicRegression(interpolation="step", out_of_bounds="clip")
    model.fit([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0])
    np.testing.assert_array_equal(model.predict([0.5, 1, 1.5, 2, 3, 3.5, 4, 5]),
                                  [1.0, 1.0, 2.5, 2.5, 2.5, 4.0, 4.0, 4.0])


@given(st.data(), st.integers(2, 60))
def test_step_is_the_next_fitted_point(data, n):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, n, n).astype(float)
    y = data.draw(values(n))
    model = IsotonicRegression(interpolation="step").fit(x, y)
    ux = np.unique(x)
    at_points = model.predict(ux)
    new = rng.uniform(ux[0], ux[-1], 30)
    # The value of the smallest distinct training x at or above each new x.
    expected = at_points[np.searchsorted(ux, new, side="left")]
    np.testing.assert_array_equal(model.predict(new), expected)


def test_primary_ties_curve_passes_through_the_weighted_means():
    y, x = np.array([1.0, 4.0, 2.0, 3.0]), np.array([1, 2, 2, 3])
    # isotonic_regression(y, x=x) = [1, 3.5, 2, 3.5]: at x = 2, the mean of 3.5 and 2.
    model = IsotonicRegression(ties="primary").fit(x, y)
    np.testing.assert_allclose(model.predict([1, 2, 3]), [1.0, 2.75, 3.5])
    np.testing.assert_allclose(IsotonicRegression().fit(x, y).predict([1, 2, 3]), [1, 3, 3])
    np.testing.assert_allclose(IsotonicRegression(ties="tertiary").fit(x, y).predict([1, 2, 3]),
                               [1, 3, 3])


# ---------------------------------------------------------------------------------------
# Weights, sample order, persistence.

@given(st.data(), st.integers(2, 40), st.booleans())
def test_zero_weight_is_a_removed_sample(data, n, increasing):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, n, n).astype(float)
    y = data.draw(values(n))
    w = rng.uniform(0.5, 2.0, n)
    w[rng.random(n) < 0.3] = 0.0
    if not w.any():
        w[-1] = 1.0
    kept = w > 0
    full = IsotonicRegression(increasing=increasing).fit(x, y, sample_weight=w)
    removed = IsotonicRegression(increasing=increasing).fit(x[kept], y[kept],
                                                            sample_weight=w[kept])
    np.testing.assert_array_equal(full.X_thresholds_, removed.X_thresholds_)
    np.testing.assert_array_equal(full.y_thresholds_, removed.y_thresholds_)


def test_integer_weights_repeat_samples():
    rng = np.random.default_rng(5)
    x, y = _problem(rng, 50, "ties")
    counts = rng.integers(0, 4, 50)
    weighted = IsotonicRegression().fit(x, y, sample_weight=counts)
    repeated = IsotonicRegression().fit(np.repeat(x, counts), np.repeat(y, counts))
    np.testing.assert_array_equal(weighted.X_thresholds_, repeated.X_thresholds_)
    np.testing.assert_allclose(weighted.y_thresholds_, repeated.y_thresholds_, rtol=1e-12,
                               atol=1e-12)


def test_sample_order_and_layout_do_not_matter():
    rng = np.random.default_rng(6)
    x, y = _problem(rng, 80, "ties")
    w = rng.uniform(0.5, 2.0, 80)
    reference = IsotonicRegression().fit(x, y, sample_weight=w)
    perm = rng.permutation(80)
    shuffled = IsotonicRegression().fit(x[perm], y[perm], sample_weight=w[perm])
    column = IsotonicRegression().fit(np.asfortranarray(x[:, None]), y.tolist(),
                                      sample_weight=list(w))
    new = np.linspace(x.min(), x.max(), 37)
    for other in (shuffled, column):
        np.testing.assert_allclose(other.predict(new), reference.predict(new), rtol=1e-12,
                                   atol=1e-12)
    # Predicting a subset, or in another order, gives the same values.
    np.testing.assert_array_equal(reference.predict(new[::-1])[::-1], reference.predict(new))
    np.testing.assert_array_equal(reference.predict(new[5:9]), reference.predict(new)[5:9])


def test_inputs_are_not_modified():
    rng = np.random.default_rng(7)
    x, y = _problem(rng, 30, "ties")
    w = np.where(rng.random(30) < 0.2, 0.0, 1.5)
    copies = [a.copy() for a in (x, y, w)]
    model = IsotonicRegression(ties="primary").fit(x, y, sample_weight=w)
    params = model.get_params()
    model.predict(x)
    for before, after in zip(copies, (x, y, w)):
        np.testing.assert_array_equal(before, after)
    assert model.get_params() == params


def test_pickle_and_clone():
    rng = np.random.default_rng(8)
    x, y = _problem(rng, 100, "distinct")
    model = IsotonicRegression(interpolation="step", y_max=1.0).fit(x, y)
    restored = pickle.loads(pickle.dumps(model))
    new = np.linspace(-5, 5, 21)
    np.testing.assert_array_equal(restored.predict(new), model.predict(new))
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    assert not hasattr(fresh, "X_thresholds_")


def test_metadata_routing_as_scikit_learn():
    # predict(T) names its data T, as scikit-learn's estimator does; T is not metadata.
    ours = IsotonicRegression()._get_metadata_request()
    theirs = SklearnIsotonicRegression()._get_metadata_request()
    assert str(ours) == str(theirs)
    assert not hasattr(IsotonicRegression(), "set_predict_request")
    from sklearn.pipeline import make_pipeline

    x, y, w = np.arange(6.0), np.array([1.0, 3.0, 2.0, 4.0, 6.0, 5.0]), np.arange(1.0, 7.0)
    with sklearn.config_context(enable_metadata_routing=True):
        pipeline = make_pipeline(IsotonicRegression().set_fit_request(sample_weight=True))
        routed = pipeline.fit(x, y, sample_weight=w).predict(x)
    np.testing.assert_array_equal(routed, IsotonicRegression().fit(x, y, w).predict(x))


def test_pipeline_and_pandas_output():
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline

    frame = pd.DataFrame({"dose": [0.0, 1.0, 2.0, 3.0]})
    model = make_pipeline(IsotonicRegression()).fit(frame, [1.0, 0.0, 2.0, 3.0])
    np.testing.assert_allclose(model.predict(frame), [0.5, 0.5, 2.0, 3.0])
    estimator = IsotonicRegression().set_output(transform="pandas").fit(frame, [1, 0, 2, 3])
    out = estimator.transform(frame)
    assert list(out.columns) == ["isotonicregression0"]
    assert estimator.feature_names_in_.tolist() == ["dose"]


def test_auto_decides_by_rank_correlation():
    x = np.arange(20.0)
    model = IsotonicRegression(increasing="auto").fit(x, -x ** 3)
    assert model.increasing_ is False
    assert IsotonicRegression(increasing="auto").fit(x, np.exp(x)).increasing_ is True
    # Constant y has no rank correlation: increasing (either direction fits a constant).
    assert IsotonicRegression(increasing="auto").fit(x, np.ones(20)).increasing_ is True
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="confidence interval .* contains 0"):
        IsotonicRegression(increasing="auto").fit(x, rng.normal(size=20))


# ---------------------------------------------------------------------------------------
# Errors.

@pytest.mark.parametrize("params, match", [
    (dict(increasing="up"), "increasing must be True, False or 'auto'"),
    (dict(out_of_bounds="wrap"), "out_of_bounds must be one of"),
    (dict(ties="none"), "ties must be one of"),
    (dict(interpolation="cubic"), "interpolation must be one of"),
    (dict(y_min=2.0, y_max=1.0), "y_min must be <= y_max"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        IsotonicRegression(**params).fit([0.0, 1.0], [0.0, 1.0])


@pytest.mark.parametrize("x, y, w, error, match", [
    (np.zeros((3, 2)), [1.0, 2.0, 3.0], None, ValueError, r"one feature; got shape \(3, 2\)"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, -1.0, 1.0], ValueError,
     r"sample_weight must be >= 0; sample_weight\[1\] is -1.0"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, np.inf, 1.0], ValueError,
     r"sample_weight must be finite; sample_weight\[1\] is inf"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 1.0], ValueError,
     r"sample_weight must have shape \(3,\)"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], ValueError,
     "sample_weight is zero for every sample"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], ["a", "b", "c"], TypeError,
     "sample_weight must be numeric"),
    ([0.0, np.nan, 2.0], [1.0, 2.0, 3.0], None, ValueError, "NaN"),
    ([0.0, 1.0, 2.0], [1.0, 2.0], None, ValueError, "inconsistent numbers of samples"),
])
def test_bad_data(x, y, w, error, match):
    with pytest.raises(error, match=match):
        IsotonicRegression().fit(x, y, sample_weight=w)


def test_predict_checks_its_input():
    model = IsotonicRegression().fit([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"T must have shape .* got shape \(2, 2\)"):
        model.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict([np.nan])
    with pytest.raises(sklearn.exceptions.NotFittedError):
        IsotonicRegression().predict([0.0])


# ---------------------------------------------------------------------------------------
# What the scikit-learn checks that cannot run on one feature check, on one feature.

def test_one_sample_object_dtype_and_a_column():
    model = IsotonicRegression().fit([3.0], [5.0])
    np.testing.assert_array_equal(model.predict([3.0, 4.0]), [5.0, np.nan])
    as_objects = IsotonicRegression().fit(np.array([1, 2, 3], dtype=object), [3.0, 1.0, 2.0])
    np.testing.assert_allclose(as_objects.y_thresholds_, [2.0, 2.0])
    column = IsotonicRegression().fit(np.array([[1.0], [2.0], [3.0]]), [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(column.predict(np.array([[1.5]])), [2.0])
    assert not hasattr(column, "n_features_in_")  # one feature always, as in scikit-learn


def test_predict_does_not_change_the_estimator():
    model = IsotonicRegression(ties="primary").fit([0.0, 1.0, 1.0, 2.0], [1.0, 3.0, 0.0, 2.0])
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}
    model.predict([0.5, 1.5])
    model.transform([0.5])
    assert state.keys() == vars(model).keys()
    for key, value in state.items():
        np.testing.assert_array_equal(vars(model)[key], value)
