"""
Dose-response with tied doses: the three tie rules
==================================================

When the order comes from a predictor ``x`` (here a dose), several observations can share
one dose, and "the response does not decrease with the dose" can be read three ways
(de Leeuw 1977):

* **primary**: observations at the same dose are not ordered among themselves; only
  different doses are. This is the least constrained fit, the closest to the data.
* **secondary**: observations at the same dose get one common fitted value: a
  monotone curve in the dose, as a dose-response model is usually drawn.
* **tertiary**: only the *means* at each dose must be monotone; each observation keeps its
  offset from its dose's mean, so the spread within a dose survives.

Five animals per dose, six doses. Each panel shows the data (grey) and the fit (coloured,
joined by dose means); the fit is always the closest one, in least squares, that obeys its
rule.
"""

import matplotlib.pyplot as plt
import numpy as np

import isotree

rng = np.random.default_rng(6)
doses = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
x = np.repeat(doses, 5)
y = 1 / (1 + np.exp(-(np.log2(x + 0.25) - 0.5))) + rng.normal(scale=0.2, size=x.size)

position = np.searchsorted(doses, x) + rng.uniform(-0.15, 0.15, size=x.size)  # even, jittered

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), sharey=True)
for ax, ties, colour in zip(axes, ["primary", "secondary", "tertiary"], ["C0", "C1", "C2"]):
    fit = isotree.isotonic_regression(y, x=x, ties=ties)
    ax.plot(position, y, "o", color="0.7", ms=5, label="observed")
    ax.plot(position, fit, "o", color=colour, ms=4, label="fit")
    means = [fit[x == d].mean() for d in doses]
    ax.plot(range(doses.size), means, "-", color=colour, lw=1.5, label="mean fit per dose")
    ax.set(title=f'ties="{ties}"', xticks=range(doses.size), xticklabels=[f"{d:g}" for d in doses],
           xlabel="dose")
    print(f"{ties:>9}: residual sum of squares {np.sum((fit - y) ** 2):.3f}")
axes[0].set_ylabel("response")
axes[0].legend(loc="upper left", fontsize="small")
fig.tight_layout()
plt.show()
