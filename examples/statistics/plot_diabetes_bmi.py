"""
Disease progression against body mass index: the estimator on real data
========================================================================

scikit-learn ships the diabetes study of Efron et al. (2004): for 442 patients, baseline
measurements and a measure of disease progression one year later. Progression should not
fall as the body mass index (BMI) rises, but a straight line is a strong assumption and the
scatter is wide. Isotonic regression assumes only the direction.

:class:`isotree.IsotonicRegression` fits the monotone curve, chooses the direction from the
data (``increasing="auto"``) and predicts at BMI values no patient had, by linear
interpolation between the fitted points (as scikit-learn's estimator does) or with R's step
function (``as.stepfun(isoreg(x, y))``). BMI is recorded to one decimal, so many patients
share a value: they get one fitted value (secondary ties, scikit-learn's rule). The data
ship with scikit-learn: nothing is downloaded.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.isotonic import IsotonicRegression as SklearnIsotonicRegression

import isotree

data = load_diabetes(scaled=False)
bmi = data.data[:, data.feature_names.index("bmi")]
progression = data.target
print(f"{bmi.size} patients, {np.unique(bmi).size} distinct BMI values")

model = isotree.IsotonicRegression(increasing="auto", out_of_bounds="clip")
model.fit(bmi, progression)
print(f"direction chosen: {'increasing' if model.increasing_ else 'decreasing'}; "
      f"{model.X_thresholds_.size} points where the curve can bend")

# Predict on a grid of new BMI values, beyond the data at both ends ("clip": the nearest
# fitted value there).
grid = np.linspace(16.0, 44.0, 561)
linear = model.predict(grid)
step = isotree.IsotonicRegression(increasing="auto", out_of_bounds="clip",
                                  interpolation="step").fit(bmi, progression).predict(grid)

# scikit-learn's estimator on the same data and options.
reference = SklearnIsotonicRegression(increasing="auto", out_of_bounds="clip")
reference.fit(bmi, progression)
difference = np.abs(reference.predict(grid) - linear).max()
print(f"largest difference from scikit-learn's prediction on the grid: {difference:.1e}")

for value in (20.0, 25.0, 30.0, 35.0):
    print(f"  BMI {value:4.1f}: predicted progression {model.predict([value])[0]:6.1f}")
residual = progression - model.predict(bmi)
print(f"R^2 of the monotone fit on the data: "
      f"{1 - residual.var() / progression.var():.3f}")

fig, ax = plt.subplots(figsize=(8, 4.8))
ax.scatter(bmi, progression, s=10, color="0.75", label="patients")
ax.plot(grid, linear, color="C0", lw=2.2, label="isotree, linear (scikit-learn's rule)")
ax.plot(grid[::10], reference.predict(grid[::10]), "x", color="C1", ms=4,
        label="scikit-learn's IsotonicRegression (every 10th grid point)")
ax.plot(grid, step, color="C2", lw=1.2, label='isotree, interpolation="step" (R\'s rule)')
ax.plot(model.X_thresholds_, model.y_thresholds_, "o", color="C0", ms=3.5,
        label="fitted points kept (X_thresholds_)")
ax.axvspan(grid[0], bmi.min(), color="0.93", zorder=0)
ax.axvspan(bmi.max(), grid[-1], color="0.93", zorder=0)
ax.set(xlabel="body mass index (kg/m$^2$)",
       ylabel="disease progression after one year",
       title="Monotone fit of progression on BMI (shaded: beyond the data, clipped)")
ax.legend(loc="upper left", fontsize="small")
fig.tight_layout()
plt.show()
