"""A scikit-learn estimator: isotonic regression of y on one feature, with predict.

Fitting sorts the samples by x, pools the samples of each distinct x, runs PAVA on those
points and keeps the points where the fitted curve can bend; predicting interpolates
between them (both in :mod:`isotree._numba.curve`). Needs scikit-learn
(the ``sklearn`` extra); ``import isotree`` does not import this module until
``isotree.IsotonicRegression`` is first used.
"""

import math
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
    from sklearn.utils import metadata_routing
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - the sklearn extra installs it
    raise ImportError("isotree.IsotonicRegression needs scikit-learn >= 1.6: "
                      'pip install ".[sklearn]" in the clone, or pip install scikit-learn'
                      ) from error

from . import _validate as v
from ._numba.curve import curve_thresholds, interpolate
from ._numba.scaling import scan_rows
from .solvers import isotonic_regression

TIE_RULES = ("secondary", "primary", "tertiary")
OUT_OF_BOUNDS = ("nan", "clip", "raise")
INTERPOLATION = ("linear", "step")


class IsotonicRegression(RegressorMixin, TransformerMixin, BaseEstimator):
    r"""Isotonic regression of a target on one feature, as a scikit-learn estimator.

    A drop-in for :class:`sklearn.isotonic.IsotonicRegression` (same parameters, fitted
    attributes except the interpolating function ``f_``, and predictions) that fits
    several times faster, accepts zero sample weights as missing samples, and adds R's
    step function and the other tie rules.
    Besides the methods below it has scikit-learn's ``fit_transform``, ``score`` (R²),
    ``get_params``, ``set_params`` and ``set_output``.
    :meth:`~isotree.IsotonicRegression.fit` solves

    .. math::

        \min_{f} \sum_i w_i (f(x_i) - y_i)^2 \quad\text{subject to}\quad
        x_i < x_j \Rightarrow f(x_i) \le f(x_j)

    (``>=`` when decreasing) with ``y_min <= f <= y_max``;
    :meth:`~isotree.IsotonicRegression.predict` evaluates
    :math:`f` at new x by interpolating between the fitted points.

    Parameters
    ----------
    y_min, y_max : float, default=None
        Bounds of the fitted values; None (or -inf, inf) means no bound. The fit
        is the unbounded fit clipped to them, which for constant bounds is the exact
        bounded fit.
    increasing : bool or "auto", default=True
        Whether the fit increases (True) or decreases (False) with x. ``"auto"`` decides
        as scikit-learn does: increasing when the Spearman rank correlation of x and y is
        >= 0, with a ``UserWarning`` when its 95% confidence interval (Fisher
        transform) contains 0. Constant x or y has no rank correlation: increasing.
    out_of_bounds : {"nan", "clip", "raise"}, default="nan"
        Predictions at x outside ``[X_min_, X_max_]``: NaN, the value at the nearest end
        of that interval, or a ``ValueError``.
    ties : {"secondary", "primary", "tertiary"}, default="secondary"
        How samples with equal x are fitted (de Leeuw 1977). ``"secondary"`` (as
        scikit-learn and R's ``isoreg``): tied samples get one fitted value, so the fit is
        a function of x. ``"primary"``: tied samples are unordered among themselves and
        may get different values; the curve passes through their weighted mean (the
        least-squares value for them all). ``"tertiary"`` orders only the tied samples'
        weighted means, which gives the same curve as ``"secondary"``.
    interpolation : {"linear", "step"}, default="linear"
        Between two fitted points: a straight line (scikit-learn) or R's step function
        (``as.stepfun(isoreg(x, y))``): the value of the next fitted point at or above x,
        so the curve is left-continuous and constant on ``(x_k, x_{k+1}]``.

    Attributes
    ----------
    X_min_ : float
        The smallest x with a positive sample weight.
    X_max_ : float
        The largest x with a positive sample weight.
    X_thresholds_ : ndarray of shape (n_thresholds,)
        The distinct x, ascending, where the fitted curve can bend: the first and last x
        of every run of equal fitted values. Same dtype as the fitted ``X``.
    y_thresholds_ : ndarray of shape (n_thresholds,)
        The fitted values at `X_thresholds_`, monotone in the direction `increasing_`.
    increasing_ : bool
        The direction fitted (the value of `increasing`, or its decision for "auto").
    feature_names_in_ : ndarray of shape (1,)
        The column name, when ``X`` was a pandas DataFrame with string column names.

    See Also
    --------
    isotonic_regression : the solver on arrays (chains, predictors, batches).
    sklearn.isotonic.IsotonicRegression : scikit-learn's estimator, with the same
        parameters and attributes.

    Notes
    -----
    The samples are sorted by x once (O(n log n)); pooling ties, PAVA (Best, Chakravarti
    & Ubhaya 1990) and the compression to thresholds are one O(n) pass compiled with
    Numba. Samples with zero weight are left out, as if absent (also from ``"auto"``'s
    correlation). Sums are accumulated in float64; float32 ``X`` gives float32
    thresholds and predictions, as in scikit-learn. Tied x are exact ties (scikit-learn
    also pools x closer than 1e-15, or 1e-6 for float32 ``X``). A fit on a single
    distinct x predicts there only (scikit-learn predicts that value everywhere, even
    with ``out_of_bounds="nan"``).

    References
    ----------
    .. [1] M. J. Best, N. Chakravarti and V. A. Ubhaya, "Active set algorithms for
       isotonic regression; a unifying framework", Mathematical Programming 47 (1990)
       425-439, :doi:`10.1007/BF01580873`.
    .. [2] J. de Leeuw, "Correctness of Kruskal's algorithms for monotone regression with
       ties", Psychometrika 42 (1977) 141-144, :doi:`10.1007/BF02293750`.

    Examples
    --------
    The two samples at dose 2 share one fitted value, which the dose 1 sample pools
    with:

    >>> import isotree
    >>> dose = [0.0, 1.0, 2.0, 2.0, 3.0, 4.0]
    >>> response = [0.1, 0.5, 0.2, 0.5, 0.9, 0.7]
    >>> model = isotree.IsotonicRegression(out_of_bounds="clip").fit(dose, response)
    >>> model.X_thresholds_, model.y_thresholds_
    (array([0., 1., 2., 3., 4.]), array([0.1, 0.4, 0.4, 0.8, 0.8]))
    >>> model.predict([0.5, 2.5, 10.0])
    array([0.25, 0.6 , 0.8 ])
    >>> model.set_params(interpolation="step").predict([0.5, 2.5])   # R's step function
    array([0.4, 0.8])
    """

    # predict(T) and transform(T) take the data as T, as scikit-learn's estimator does:
    # T is not metadata to route.
    __metadata_request__predict = {"T": metadata_routing.UNUSED}
    __metadata_request__transform = {"T": metadata_routing.UNUSED}

    def __init__(self, *, y_min=None, y_max=None, increasing=True, out_of_bounds="nan",
                 ties="secondary", interpolation="linear"):
        self.y_min = y_min
        self.y_max = y_max
        self.increasing = increasing
        self.out_of_bounds = out_of_bounds
        self.ties = ties
        self.interpolation = interpolation

    def fit(self, X, y, sample_weight=None):
        """Fit the isotonic curve of `y` on `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            The feature.
        y : array-like of shape (n_samples,)
            The target.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights; a sample of weight 0 is left out. Default: all
            ones.

        Returns
        -------
        self : IsotonicRegression
            The fitted estimator.

        Raises
        ------
        ValueError
            If `X` has more than one column, `X` or `y` holds NaN or inf, the lengths
            differ, a weight is negative or not finite, every weight is 0, a parameter
            has an unknown value, or ``y_min > y_max``.
        """
        self._check_params()
        with np.errstate(over="ignore", invalid="ignore"):  # see _predict
            X, y = validate_data(self, X, y, ensure_2d=False,
                                 dtype=[np.float64, np.float32], y_numeric=True)
        X = _one_feature(X, "X")
        y = np.asarray(y, dtype=np.float64)
        w = _sample_weight(sample_weight, X.shape[0])
        if w is not None and not w.all():  # zero weight: a sample that is not there
            kept = np.flatnonzero(w)
            if kept.size == 0:
                raise ValueError("sample_weight is zero for every sample: there is "
                                 "nothing to fit")
            X, y, w = X[kept], y[kept], w[kept]
        X = np.ascontiguousarray(X)
        y = np.ascontiguousarray(y)
        if self.increasing == "auto":
            self.increasing_ = _spearman_increasing(X, y)
        else:
            self.increasing_ = bool(self.increasing)
        if self.ties == "primary":
            # Tied samples may differ: fit them, then the curve pools their fitted values.
            y = isotonic_regression(y, weights=w, x=X, increasing=self.increasing_)
        first, values = _thresholds(X, y, w, self.increasing_, self.y_min, self.y_max)
        self.X_thresholds_ = X[first]
        self.y_thresholds_ = values.astype(X.dtype)
        self.X_min_ = self.X_thresholds_[0]
        self.X_max_ = self.X_thresholds_[-1]
        return self

    def _check_params(self):
        if not (isinstance(self.increasing, (bool, np.bool_)) or self.increasing == "auto"):
            raise ValueError(f"increasing must be True, False or 'auto'; got "
                             f"{self.increasing!r}")
        v.check_choice(self.out_of_bounds, "out_of_bounds", OUT_OF_BOUNDS)
        v.check_choice(self.ties, "ties", TIE_RULES)
        v.check_choice(self.interpolation, "interpolation", INTERPOLATION)
        v.check_bounds(self.y_min, self.y_max)

    def _predict(self, T):
        # predict and transform both call this: transform's output may be wrapped by
        # set_output (pandas), predict's never is.
        check_is_fitted(self)
        v.check_choice(self.out_of_bounds, "out_of_bounds", OUT_OF_BOUNDS)
        v.check_choice(self.interpolation, "interpolation", INTERPOLATION)
        # scikit-learn's finiteness check first tries the sum, which overflows for values
        # near the float64 limits, then checks every value: only the warning is wrong.
        with np.errstate(over="ignore", invalid="ignore"):
            T = validate_data(self, T, reset=False, ensure_2d=False,
                              dtype=self.X_thresholds_.dtype)
        T = _one_feature(T, "T")
        x, values = self.X_thresholds_, self.y_thresholds_
        if self.out_of_bounds == "raise" and T.size:
            outside = (T < self.X_min_) | (T > self.X_max_)
            if outside.any():
                bad = int(np.flatnonzero(outside)[0])
                raise ValueError(f"T[{bad}] is {T[bad]}, outside the fitted range "
                                 f"[{self.X_min_}, {self.X_max_}] (out_of_bounds='raise')")
        elif self.out_of_bounds == "clip":
            T = np.clip(T, self.X_min_, self.X_max_)
        out = np.empty(T.shape[0])
        interpolate(np.ascontiguousarray(T), x, values, self.interpolation == "step", out)
        return out.astype(T.dtype, copy=False)

    def predict(self, T):
        """The fitted curve at `T`.

        Parameters
        ----------
        T : array-like of shape (n_samples,) or (n_samples, 1)
            Where to evaluate the curve.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predictions, in the dtype of the fitted `X_thresholds_`.

        Raises
        ------
        ValueError
            If `T` holds NaN or inf, has more than one column, or (with
            ``out_of_bounds="raise"``) lies outside ``[X_min_, X_max_]``.
        """
        return self._predict(T)

    def transform(self, T):
        """The fitted curve at `T` (the same values as :meth:`predict`).

        Parameters
        ----------
        T : array-like of shape (n_samples,) or (n_samples, 1)
            Where to evaluate the curve.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The transformed data.
        """
        return self._predict(T)

    def get_feature_names_out(self, input_features=None):
        """The name of the one output feature, as scikit-learn's estimator names it.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["isotonicregression0"]``.
        """
        check_is_fitted(self)
        return np.asarray([f"{type(self).__name__.lower()}0"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        return tags


def _one_feature(X, name):
    """A 1-D view of ``X``, which must be 1-D or have one column."""
    if X.ndim == 1:
        return X
    if X.ndim == 2 and X.shape[1] == 1:
        return X[:, 0]
    raise ValueError(f"{name} must have shape (n_samples,) or (n_samples, 1): isotonic "
                     f"regression has one feature; got shape {X.shape}")


def _sample_weight(sample_weight, n):
    """``sample_weight`` as float64 of shape (n,), >= 0 and finite, or None; a scalar is
    one weight for every sample."""
    if sample_weight is None:
        return None
    w, _ = v.as_float(sample_weight, "sample_weight")
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one weight per sample; "
                         f"got {w.shape}")
    v.check_finite(w, "sample_weight")
    negative = np.flatnonzero(w < 0)
    if negative.size:
        bad = int(negative[0])
        raise ValueError(f"sample_weight must be >= 0; sample_weight[{bad}] is {w[bad]}")
    return w


def _thresholds(X, y, w, increasing, y_min, y_max):
    """The kernel's call: sort by x, scale exactly (see :mod:`isotree._numba.scaling`)."""
    y_rows = y.reshape(1, -1)
    w_rows = np.empty((1, 0)) if w is None else np.ascontiguousarray(w).reshape(1, -1)
    scale = np.empty((1, 3))
    scan_rows(y_rows.view(np.uint64), w_rows.view(np.uint64), 1.0 if increasing else -1.0,
              scale)
    y_min = -math.inf if y_min is None else float(y_min)
    y_max = math.inf if y_max is None else float(y_max)
    return curve_thresholds(X, y, w_rows[0], np.argsort(X), scale[0, 0], scale[0, 1],
                            scale[0, 2] != 0.0, y_min, y_max)


def _spearman_increasing(x, y):
    """scikit-learn's rule for ``increasing="auto"``: the sign of Spearman's rho."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    norm = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if norm == 0.0:  # constant x or y: no direction to find, and none that matters
        return True
    rho = float(rx @ ry) / norm
    n = x.shape[0]
    if abs(rho) < 1.0 and n > 3:
        fisher, se = math.atanh(rho), 1.0 / math.sqrt(n - 3)
        low, high = math.tanh(fisher - 1.96 * se), math.tanh(fisher + 1.96 * se)
        if np.sign(low) != np.sign(high):
            warnings.warn(
                f"increasing='auto' chose {'increasing' if rho >= 0 else 'decreasing'} from "
                f"a Spearman correlation of {rho:.3g}, whose 95% confidence interval "
                f"[{low:.3g}, {high:.3g}] contains 0: the direction is uncertain; pass "
                f"increasing=True or False to choose it", UserWarning, stacklevel=3)
    return rho >= 0
