"""A first look at isotree: a dose-response chain, a forest, and the certificate."""

import numpy as np

import isotree

# Dose-response: mean response at six increasing doses, with group sizes as weights.
doses = [0, 1, 2, 5, 10, 20]
response = np.array([0.10, 0.25, 0.18, 0.40, 0.37, 0.61])
group_size = np.array([12, 10, 11, 9, 10, 8])
fit = isotree.isotonic_regression(response, weights=group_size)
print("dose   observed   monotone fit")
for dose, observed, fitted in zip(doses, response, fit):
    print(f"{dose:>4} {observed:>10.3f} {fitted:>14.3f}")

# A forest of two trees: values must grow away from each root.
parent = np.array([-1, 0, 0, 1, 1, -1, 5])
y = np.array([3.0, 1.0, 4.0, 0.5, 2.0, 2.0, 1.0])
fit, blocks = isotree.tree_isotonic_regression(y, parent, return_blocks=True)
print("\nnode parent     y    fit  block")
for node in range(len(y)):
    print(f"{node:>4} {parent[node]:>6} {y[node]:>5.2f} {fit[node]:>6.3f} {blocks[node]:>6}")
print("certificate (0 = optimal):", isotree.kkt_violation(y, fit, parent))

# A random tree of a million nodes, solved and certified.
rng = np.random.default_rng(0)
n = 1_000_000
parent = np.concatenate([[-1], (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)])
y = rng.normal(size=n)
fit = isotree.tree_isotonic_regression(y, parent)
print(f"\nrandom tree, n = {n}: certificate = {isotree.kkt_violation(y, fit, parent):.1e}")
