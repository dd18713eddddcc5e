"""Shared hypothesis strategies: forests of every shape, values and weights at every scale."""

import numpy as np
from hypothesis import settings
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


def examples(n):
    """``n`` examples under the "ci" profile, proportionally more under "thorough".

    For a test that sizes itself with ``@settings(max_examples=examples(n))``: an explicit
    count would otherwise stay the same under every profile.
    """
    ci = settings.get_profile("ci").max_examples
    return max(1, round(n * settings.default.max_examples / ci))


# Decimal exponents the extreme strategies favour: the ends of the float64 range (1e-320 is
# subnormal; 1.7e308 is just below the overflow threshold) and the middle.
_EDGE_EXPONENTS = (-320, -315, -308, -300, -160, 0, 150, 300, 307, 308)


@st.composite
def extreme_values(draw, n):
    """n finite values at a scale from 1e-320 (subnormal) to 1e308, often at the ends.

    Kinds: normal draws, small-integer ties, sorted runs, and "spread" rows whose entries
    each take their own exponent (up to 40 decades below the row's scale).
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    exponent = draw(st.one_of(st.sampled_from(_EDGE_EXPONENTS), st.integers(-320, 308)))
    kind = draw(st.sampled_from(["normal", "ties", "sorted", "spread"]))
    if kind == "ties":
        mantissa = rng.integers(-1, 2, n).astype(float)
    else:
        mantissa = rng.uniform(-1.7, 1.7, n)  # 1.7e308 is still finite
    if kind == "sorted":
        mantissa.sort()
    exponents = np.full(n, exponent)
    if kind == "spread":
        exponents = np.maximum(exponent - rng.integers(0, 41, n), -320)
    return mantissa * 10.0 ** exponents.astype(float)


@st.composite
def extreme_weights(draw, n):
    """None or n positive weights in [1e-300, 1e300]: one common scale, every entry its own
    scale, or ordinary weights with one tiny or huge entry."""
    kind = draw(st.sampled_from(["none", "common", "spread", "outlier"]))
    if kind == "none":
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "common":
        exponent = draw(st.one_of(st.sampled_from([-300, -150, 0, 150, 299]),
                                  st.integers(-300, 299)))
        return rng.uniform(1.0, 10.0, n) * 10.0 ** exponent
    if kind == "spread":
        low = draw(st.integers(-300, 299))
        high = draw(st.integers(low, 299))
        return 10.0 ** rng.uniform(low, high + 1, n)
    w = rng.uniform(0.5, 2.0, n)
    w[rng.integers(0, n)] = draw(st.sampled_from([1e-300, 1e-200, 1e200, 1e300]))
    return w


@st.composite
def mixed_scale_batches(draw, max_rows=5, max_n=12):
    """A batch ``(y, weights)`` of shape (m, n), m >= 2, whose rows have very different
    magnitudes (each row its own extreme scale, one row of ordinary values), with weights
    None or of the batch's shape, each row again at its own scale."""
    m = draw(st.integers(2, max_rows))
    n = draw(st.integers(1, max_n))
    rows = [draw(extreme_values(n)) for _ in range(m)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows[draw(st.integers(0, m - 1))] = rng.normal(size=n)
    y = np.stack(rows)
    if draw(st.booleans()):
        return y, None
    weights = [draw(extreme_weights(n)) for _ in range(m)]
    return y, np.stack([np.ones(n) if w is None else w for w in weights])
