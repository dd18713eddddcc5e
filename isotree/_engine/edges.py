"""The edges of a partial order: validated as a DAG, or built for a grid.

An edge ``(u, v)`` means ``fit[u] >= fit[v]``: it points from the larger value to the
smaller one. Duplicate edges are allowed; the order is their transitive closure.
"""

import math
import os

import numpy as np

from .._flow import arcs
from .._numba.graph import topological_order

RULE = "an edge (u, v) means fit[u] >= fit[v]"


def check_edges(edges, n, name="edges"):
    """Validate the edges of a DAG on ``n`` nodes: ``(pairs, order)``, a fresh int64 array
    of shape (m, 2) and a topological order of the nodes with the lower ends first.

    Raises for a ragged or non-(m, 2) shape, a dtype that is not integer (integral floats
    are accepted), an id outside [0, n), a self-loop, and a directed cycle (the message
    names a node on it).
    """
    try:
        array = np.asarray(edges)
    except ValueError:  # ragged nesting: NumPy refuses to build the array
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row: "
                         f"{RULE}; got rows of different lengths") from None
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 2)
    if array.dtype == object:
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row: "
                         f"{RULE}; got rows of different lengths or objects")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (m, 2), one (u, v) pair per row: "
                         f"{RULE}; got shape {array.shape}")
    kind = array.dtype.kind
    if kind == "f":
        finite = np.isfinite(array)
        integral = finite & (array == np.round(np.where(finite, array, 0)))
        if not integral.all():
            bad = np.argwhere(~integral)[0]
            raise ValueError(f"{name} must hold integer node indices; "
                             f"{name}[{bad[0]}, {bad[1]}] is {array[tuple(bad)]}")
    elif kind not in "iu":
        raise TypeError(f"{name} must hold integer node indices; got dtype {array.dtype}")
    out_of_range = (array < 0) | (array >= n)
    if out_of_range.any():
        bad = np.argwhere(out_of_range)[0]
        raise ValueError(f"{name} must hold node indices in [0, {n}); "
                         f"{name}[{bad[0]}, {bad[1]}] is {array[tuple(bad)]}")
    pairs = np.array(array, dtype=np.int64)
    loops = np.flatnonzero(pairs[:, 0] == pairs[:, 1])
    if loops.size:
        i = int(loops[0])
        raise ValueError(f"{name}[{i}] is ({pairs[i, 0]}, {pairs[i, 1]}): a node cannot be "
                         "ordered against itself")
    lower, upper = np.ascontiguousarray(pairs[:, 1]), np.ascontiguousarray(pairs[:, 0])
    by_node = arcs(n, lower, upper)
    order, count = topological_order(n, by_node[0], by_node[1], by_node[2])
    if count < n:
        raise ValueError(f"{name} contains a cycle through node "
                         f"{_on_a_cycle(n, upper, lower)}: the order must be "
                         "acyclic")
    return pairs, order


def _on_a_cycle(n, upper, lower):
    """The smallest node on a directed cycle: one of a strongly connected component of more
    than one node (SciPy's sparse graphs are loaded only for this message)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(upper.shape[0]), (upper, lower)), shape=(n, n))
    _, component = connected_components(graph, directed=True, connection="strong")
    return int(np.flatnonzero(np.bincount(component)[component] > 1)[0])


def _memory_bytes():
    """The machine's physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def grid_edges(dims, directions):
    """The edges between neighbours of a grid of shape ``dims`` (C order), one direction
    per axis (True: increasing along it); a ValueError if they would not fit in memory."""
    size = math.prod(dims)
    m = sum((s - 1) * (size // s) for s in dims if s > 0)
    needed = 16 * m + 8 * size
    available = _memory_bytes()
    if needed > (available if available is not None else np.iinfo(np.intp).max):
        raise ValueError(f"grid_edges{dims}: the {m} edges would need {needed / 2**30:.3g} "
                         f"GiB, more than this machine has")
    index = np.arange(size, dtype=np.int64).reshape(dims)
    parts = []
    for axis, (length, up) in enumerate(zip(dims, directions)):
        before = np.take(index, np.arange(length - 1), axis=axis).ravel()
        after = np.take(index, np.arange(1, length), axis=axis).ravel()
        parts.append(np.stack([after, before] if up else [before, after], axis=1))
    if not parts:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(parts)
