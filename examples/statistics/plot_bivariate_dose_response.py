"""
Bivariate dose-response: a surface monotone in two doses
========================================================

Two drugs are given together at 8 doses of A and 10 doses of B; in each of the 80 dose
combinations a group of patients is treated and the share who respond is recorded. Neither
drug is believed to lower the response, so the true response surface increases along both
axes, but the observed shares, from groups of 5 to 40 patients, do not.

The maximum-likelihood estimate of binomial proportions under that order is the weighted
isotonic regression of the observed shares on the grid (the *matrix* or *bivariate* order),
with the group sizes as weights: :func:`isotree.grid_isotonic_regression` computes it exactly
(see :doc:`/partial_orders`), and :func:`isotree.dag.dag_kkt_violation` certifies it.
"""

# %%
# Simulated data: a smooth true surface, binomial noise, unequal group sizes.

# sphinx_gallery_dummy_images = 1
import matplotlib.pyplot as plt
import numpy as np

import isotree
from isotree.dag import dag_kkt_violation

rng = np.random.default_rng(7)
dose_a = np.linspace(0.0, 1.0, 8)
dose_b = np.linspace(0.0, 1.0, 10)
true = 1.0 / (1.0 + np.exp(-(3.0 * dose_a[:, None] + 2.0 * dose_b[None, :] - 2.5)))
patients = rng.integers(5, 41, size=true.shape)
observed = rng.binomial(patients, true) / patients

# %%
# The fit: monotone along both axes, each block at the pooled share of its patients.

fit, blocks = isotree.grid_isotonic_regression(observed, weights=patients,
                                               return_blocks=True)
edges = isotree.grid_edges(observed.shape)
certificate = dag_kkt_violation(observed.ravel(), fit.ravel(), edges,
                                weights=patients.ravel())
print(f"{np.unique(blocks).size} blocks; KKT certificate {certificate:.1e} (0 = optimal)")
print(f"mean absolute error vs the truth: observed {np.abs(observed - true).mean():.3f}, "
      f"fit {np.abs(fit - true).mean():.3f}")

# %%
# Heat maps before and after: the fit removes every dip along either axis.

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True, layout="constrained")
panels = [("true response", true), ("observed share", observed),
          ("isotonic fit (both axes)", fit)]
for ax, (title, values) in zip(axes, panels):
    image = ax.imshow(values, origin="lower", vmin=0.0, vmax=1.0, cmap="viridis",
                      extent=(-0.5, dose_b.size - 0.5, -0.5, dose_a.size - 0.5))
    ax.set_title(title)
    ax.set_xlabel("dose of B (level)")
axes[0].set_ylabel("dose of A (level)")
fig.colorbar(image, ax=axes, shrink=0.9, label="share responding")
plt.show()
