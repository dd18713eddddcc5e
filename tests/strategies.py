"""Shared hypothesis strategies: forests of every shape, values and weights at every scale."""

import numpy as np
from hypothesis import strategies as st

SHAPES = ("recursive", "chain", "star", "broom", "binary", "caterpillar", "deep", "forest")


def make_parent(shape, n, rng):
    """A parent array in 'natural' labelling (parent[i] < i), root 0 (several for forest)."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    i = np.arange(n)
    if shape == "recursive":
        parent = (rng.random(n) * i).astype(np.int64)
    elif shape == "chain":
        parent = i - 1
    elif shape == "star":
        parent = np.zeros(n, dtype=np.int64)
    elif shape == "broom":  # a handle (path) then a star of bristles
        handle = max(1, n // 2)
        parent = np.where(i < handle, i - 1, handle - 1)
    elif shape == "binary":
        parent = (i - 1) // 2
    elif shape == "caterpillar":  # a spine with one leaf hanging from each spine node
        spine = (n + 1) // 2
        parent = np.where(i < spine, i - 1, i - spine)
    elif shape == "deep":  # mostly a path, with short random branches
        parent = np.where(rng.random(n) < 0.8, i - 1, (rng.random(n) * i).astype(np.int64))
    elif shape == "forest":
        parent = (rng.random(n) * i).astype(np.int64)
        parent[rng.random(n) < 0.3] = -1
    else:
        raise ValueError(shape)
    parent = np.asarray(parent, dtype=np.int64)
    parent[0] = -1
    return parent


def relabel(parent, perm):
    """The same forest with node ``perm[k]`` renamed ``k``."""
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.shape[0])
    old = parent[perm]
    return np.where(old >= 0, inverse[np.maximum(old, 0)], -1)


@st.composite
def forests(draw, min_n=1, max_n=60, shapes=SHAPES):
    """A parent array of one of the SHAPES, randomly relabelled half the time."""
    shape = draw(st.sampled_from(shapes))
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    parent = make_parent(shape, n, rng)
    if draw(st.booleans()):
        parent = relabel(parent, rng.permutation(n))
    return parent


@st.composite
def values(draw, n):
    """n values: a scale from 1e-9 to 1e8, an offset, and often ties."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-9, 8))
    offset = draw(st.sampled_from([0.0, 0.0, 1.0, -1e3, 1e6]))
    kind = draw(st.sampled_from(["normal", "ties", "sorted", "reversed"]))
    if kind == "ties":
        y = rng.integers(-2, 3, n).astype(float)
    else:
        y = rng.normal(size=n)
        if kind == "sorted":
            y.sort()
        elif kind == "reversed":
            y = -np.sort(y)
    return offset + scale * y


@st.composite
def weights(draw, n):
    """None or n positive weights spanning 1e-4 .. 1e4."""
    kind = draw(st.sampled_from(["none", "uniform", "skewed"]))
    if kind == "none":
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "uniform":
        return rng.uniform(0.5, 2.0, n)
    return 10.0 ** rng.uniform(-4, 4, n)


def tree_edges(parent, increasing):
    """Oracle edges (u, v) meaning fit[u] >= fit[v] for a tree order."""
    child = np.flatnonzero(parent >= 0)
    if increasing:
        return np.column_stack([child, parent[child]])
    return np.column_stack([parent[child], child])
