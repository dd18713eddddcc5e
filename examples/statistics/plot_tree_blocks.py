"""
A tree fit and its pooled blocks
================================

On a rooted tree the order says every node is at least its parent: values grow away from
the root (think of a taxonomy where a finer category cannot have a lower rate than the
category it refines, or a branching process measured at each split). Where the data break
that order, :func:`isotree.tree_isotonic_regression` pools a parent with some of its
descendants into a *block*: a connected subtree that takes its weighted mean.

Each node below is drawn at its depth and labelled with its observed value; nodes pooled
into one block share a colour, and the legend gives each block's fitted value. Grey nodes
were left alone: their fit is their observed value. ``return_blocks=True`` names every
block by its top node. (This figure is also the landing page's: its text is kept at 10 pt
or more, so it stays readable where it is shown small.)
"""

import matplotlib.pyplot as plt
import numpy as np

import isotree

rng = np.random.default_rng(6)
n = 14
parent = np.concatenate([[-1], rng.integers(0, np.arange(1, n))])  # a random recursive tree
tree = isotree.Tree(parent)
depth = np.zeros(n, dtype=int)
for node in tree.order[1:]:  # preorder: parents come before their children
    depth[node] = depth[parent[node]] + 1
y = np.round(0.5 * depth + rng.normal(scale=0.8, size=n), 1)

fit, blocks = isotree.tree_isotonic_regression(y, tree, return_blocks=True)
print(f"{len(np.unique(blocks))} blocks; certificate {isotree.kkt_violation(y, fit, tree):.1e}")

# Layout: leaves evenly spaced in preorder, each parent centred over its children.
is_leaf = np.bincount(parent[1:], minlength=n) == 0
x = np.zeros(n)
x[tree.order[is_leaf[tree.order]]] = np.arange(is_leaf.sum())
children_x = np.zeros(n)
children_n = np.zeros(n)
for node in tree.order[::-1]:  # children before parents
    if not is_leaf[node]:
        x[node] = children_x[node] / children_n[node]
    if parent[node] >= 0:
        children_x[parent[node]] += x[node]
        children_n[parent[node]] += 1

sizes = np.bincount(blocks, minlength=n)
pooled = sorted((b for b in np.unique(blocks) if sizes[b] > 1), key=lambda b: fit[b])
colour = {b: plt.cm.tab20((2 * k + 1) % 20) for k, b in enumerate(pooled)}  # light shades

fig, ax = plt.subplots(figsize=(4.5, 3.4))
for node in range(1, n):
    ax.plot([x[node], x[parent[node]]], [-depth[node], -depth[parent[node]]], color="0.6",
            lw=1, zorder=1)
for node in range(n):
    ax.scatter(x[node], -depth[node], s=760, zorder=2, edgecolor="black", linewidth=0.8,
               color=colour.get(blocks[node], "0.92"))
    ax.annotate(f"{y[node]:.1f}", (x[node], -depth[node]), ha="center", va="center",
                fontsize=10, zorder=3)
for b in pooled:  # one legend entry per pooled block, with its fitted value
    ax.scatter([], [], s=120, edgecolor="black", linewidth=0.8, color=colour[b],
               label=f"fit {fit[b]:.2f}")
ax.legend(title="pooled blocks", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=10,
          title_fontsize=10, frameon=False, handletextpad=0.3, borderaxespad=0.2)
ax.set_title("Tree fit: one colour per pooled block", fontsize=11)
ax.set_yticks(-np.arange(depth.max() + 1), np.arange(depth.max() + 1), fontsize=10)
ax.set_ylabel("depth", fontsize=10)
ax.set_xticks([])
ax.margins(x=0.1, y=0.16)
for side in ("top", "right", "bottom"):
    ax.spines[side].set_visible(False)
fig.tight_layout()
plt.show()
