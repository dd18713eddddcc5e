"""The scikit-learn estimator against scikit-learn's own: fit + predict of 10^6 points.

Run:  pip install -e ".[bench]" && python benchmarks/bench_estimator.py [--quick]

Cases: ``IsotonicRegression().fit(x, y).predict(x_new)`` with 10^6 training points and 10^6
new points, for distinct x (uniform) and for x with 1000 distinct values (weighted), timed
call by call against scikit-learn's ``IsotonicRegression`` on the same data, in every
pattern of ``_timing.PATTERNS``; then fit and predict alone. The predictions are checked
against scikit-learn's first (1e-9). Writes benchmarks/results/estimator.{json,md,png}.
Ratios below 1 mean isotree is faster.
"""

import numpy as np
from _timing import PATTERNS, Report, measure, parse_args, run_parts, timings
from sklearn.isotonic import IsotonicRegression as SklearnIsotonicRegression

import isotree


def data(rng, n, kind):
    """Dose-response-like data: a saturating trend plus noise; new x over the same range."""
    if kind == "distinct x":
        x = rng.uniform(0.0, 10.0, n)
        w = None
    else:
        x = rng.integers(0, 1000, n) / 100.0
        w = rng.uniform(0.5, 2.0, n)
    y = np.log1p(x) + rng.normal(size=n)
    return x, y, w, rng.uniform(0.0, 10.0, n)


def fit_predict(report, quick, rng):
    """fit + predict, then each alone, against scikit-learn."""
    n = 100_000 if quick else 1_000_000
    for kind in ("distinct x", "1000 distinct x, weighted"):
        x, y, w, x_new = data(rng, n, kind)
        ours = isotree.IsotonicRegression(out_of_bounds="clip")
        theirs = SklearnIsotonicRegression(out_of_bounds="clip")
        np.testing.assert_allclose(ours.fit(x, y, sample_weight=w).predict(x_new),
                                   theirs.fit(x, y, sample_weight=w).predict(x_new),
                                   rtol=1e-9, atol=1e-9)
        funcs = {
            "isotree": lambda: ours.fit(x, y, sample_weight=w).predict(x_new),
            "scikit-learn": lambda: theirs.fit(x, y, sample_weight=w).predict(x_new),
        }
        for pattern in PATTERNS:
            r = measure(funcs, pattern, rounds=3 if quick else 9, paired=True)
            report.add(f"IsotonicRegression fit + predict, {kind}", n=n, pattern=pattern,
                       **timings(r, "scikit-learn", elements=n),
                       target=[("ratio", "<=", 0.8)])
        parts = {
            "fit": ({"isotree": lambda: ours.fit(x, y, sample_weight=w),
                     "scikit-learn": lambda: theirs.fit(x, y, sample_weight=w)}),
            "predict": ({"isotree": lambda: ours.predict(x_new),
                         "scikit-learn": lambda: theirs.predict(x_new)}),
        }
        for part, part_funcs in parts.items():
            r = measure(part_funcs, "back-to-back", rounds=3 if quick else 9, paired=True)
            report.add(f"IsotonicRegression {part} alone, {kind}", n=n,
                       **timings(r, "scikit-learn", elements=n))


def main():
    args = parse_args(__doc__.splitlines()[0])
    report = Report("estimator", args)
    rng = np.random.default_rng(2024)
    run_parts((fit_predict,), report, args.quick, rng)
    report.finish()


if __name__ == "__main__":
    main()
