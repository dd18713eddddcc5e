"""
A monotone trend and its blocks
===============================

Isotonic regression finds the closest non-decreasing sequence to noisy data. The fit is a
step function: consecutive entries that would otherwise break the order are *pooled* into
a block that takes their weighted mean. ``return_blocks=True`` gives, for every entry, the
first index of its block, so the steps can be read off directly instead of being guessed
from equal fitted values.

Here a saturating dose-response curve is observed with noise at 80 points. The fit (black)
follows the trend where the data rise and flattens into long blocks where noise alone would
make the curve go down; each shaded band is one block.
"""

import matplotlib.pyplot as plt
import numpy as np

import isotree

rng = np.random.default_rng(3)
t = np.linspace(0.0, 1.0, 80)
y = np.tanh(3 * t) + rng.normal(scale=0.18, size=t.size)

fit, blocks = isotree.isotonic_regression(y, return_blocks=True)
starts = np.flatnonzero(np.diff(blocks, prepend=-1))
print(f"{t.size} points pooled into {starts.size} blocks")
chain_as_tree = np.arange(t.size) - 1  # parent[i] = i - 1: a chain is a path-shaped tree
print(f"certificate: {isotree.kkt_violation(y, fit, chain_as_tree):.1e} (0 means optimal)")

fig, ax = plt.subplots(figsize=(7, 4))
ends = np.append(starts[1:], t.size)
half_step = (t[1] - t[0]) / 2
pooled = [(lo, hi) for lo, hi in zip(starts, ends) if hi - lo > 1]  # singletons unshaded
for k, (lo, hi) in enumerate(pooled):
    ax.axvspan(t[lo] - half_step, t[hi - 1] + half_step, color="0.5", alpha=0.1 + 0.1 * (k % 2),
               lw=0)
ax.plot(t, y, "o", ms=4, color="C0", label="observed")
ax.step(t, fit, where="mid", color="black", lw=2, label="isotonic fit")
ax.plot(t, np.tanh(3 * t), "--", color="C1", label="true trend")
ax.set(xlabel="dose", ylabel="response", title="Isotonic fit: shaded bands are pooled blocks")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
