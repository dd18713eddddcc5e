"""Depth-first preorder of a forest given by a parent array, without recursion."""

import numpy as np

from ._jit import jit


@jit
def preorder(parent):
    """Return ``(order, count)``: nodes reachable from a root, parents before children.

    ``order[:count]`` lists them in depth-first preorder (roots in index order, children in
    index order), so every subtree is a contiguous run. ``count < len(parent)`` exactly when
    some node lies on, or hangs below, a cycle.
    """
    n = parent.shape[0]
    child_start = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        if parent[i] >= 0:
            child_start[parent[i] + 1] += 1
    for i in range(n):
        child_start[i + 1] += child_start[i]
    children = np.empty(child_start[n], dtype=np.int64)
    fill = child_start[:n].copy()
    for i in range(n):
        p = parent[i]
        if p >= 0:
            children[fill[p]] = i
            fill[p] += 1
    order = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    count = 0
    for root in range(n):
        if parent[root] != -1:
            continue
        top = 0
        stack[0] = root
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            order[count] = v
            count += 1
            # Push in reverse so the lowest-numbered child is visited first.
            for k in range(child_start[v + 1] - 1, child_start[v] - 1, -1):
                stack[top] = children[k]
                top += 1
    return order, count


@jit
def node_on_cycle(parent, reached):
    """A node on a cycle, given the ``reached`` mask of :func:`preorder` (some node unreached).

    An unreached node's parent is unreached too and never -1, so following parents from one
    stays among unreached nodes and must come back to a node already seen on this walk.
    """
    n = parent.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    for start in range(n):
        if not reached[start]:
            v = start
            while not seen[v]:
                seen[v] = True
                v = parent[v]
            return v
    return -1


@jit
def preorder_of_topological(parent):
    """Depth-first preorder for a labelling with ``parent[i] < i`` (no stack, no CSR).

    Subtree sizes come from one backward pass; then each node, visited in index order,
    takes the next free slot after its parent's earlier children. The result equals
    :func:`preorder`'s (children in index order) but every pass streams through the arrays,
    which is several times faster on large random trees.
    """
    n = parent.shape[0]
    size = np.ones(n, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        if parent[i] >= 0:
            size[parent[i]] += size[i]
    position = np.empty(n, dtype=np.int64)
    next_slot = size  # reused: once a node has its position, it holds its next free slot
    start = 0
    for i in range(n):
        p = parent[i]
        if p < 0:
            position[i] = start
            start += size[i]
        else:
            position[i] = next_slot[p]
            next_slot[p] += size[i]
        next_slot[i] = position[i] + 1
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[position[i]] = i
    return order
