r"""
Treatments against a control: the simple tree order
===================================================

A trial compares several treatments with a control, and the science says no treatment is
worse than the control: :math:`\mu_0 \le \mu_i` for every treatment :math:`i`, with no
order among the treatments themselves. This is the *simple tree order* of order-restricted
statistics (Robertson, Wright & Dykstra 1988): a star with the control at its root.

The restricted estimate weights each group mean by its group size. Treatments whose sample
mean falls below the control are pooled *with* the control into one level (the control's
estimate goes down, theirs up); the other treatments keep their own means.
:func:`isotree.star_isotonic_regression` solves it in expected linear time; it is also the
tree solver on ``parent = [-1, 0, 0, ...]``, which the script checks.
"""

import matplotlib.pyplot as plt
import numpy as np

import isotree

groups = ["control", "A", "B", "C", "D", "E", "F"]
size = np.array([40, 12, 15, 10, 14, 9, 11])
rng = np.random.default_rng(3)
true_mean = np.array([5.0, 5.0, 5.4, 6.0, 5.1, 6.5, 5.2])
sample_mean = true_mean + rng.normal(scale=1.6, size=size.size) / np.sqrt(size)

fit, blocks = isotree.star_isotonic_regression(sample_mean, root=0, weights=size,
                                               return_blocks=True)
star = np.array([-1] + [0] * (len(groups) - 1))
assert np.allclose(fit, isotree.tree_isotonic_regression(sample_mean, star, weights=size))
for name, m, f, b in zip(groups, sample_mean, fit, blocks):
    print(f"{name:>8}: sample mean {m:.2f}  restricted {f:.2f}" + ("  (pooled)" if b == 0 else ""))

fig, ax = plt.subplots(figsize=(7, 4.6))
positions = np.arange(len(groups))
ax.axhline(fit[0], color="C3", lw=1, ls="--", label="restricted control level")
ax.scatter(positions, sample_mean, s=6 * size, color="0.75", edgecolor="0.4",
           label="sample mean (area ~ group size)", zorder=2)
pooled = blocks == 0
ax.scatter(positions[pooled], fit[pooled], marker="_", s=900, lw=3, color="C3",
           label="restricted, pooled with the control", zorder=3)
ax.scatter(positions[~pooled], fit[~pooled], marker="_", s=900, lw=3, color="C0",
           label="restricted, own mean", zorder=3)
ax.set(xticks=positions, xticklabels=groups, ylabel="mean response",
       title="Simple tree order: every treatment at least the control")
ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2,
          markerscale=0.5)
fig.tight_layout()
plt.show()
