"""Isotonic regression on a DAG in exact rational arithmetic: slow, obviously right.

Every float is a rational (``fractions.Fraction(x)`` is exact), so the fit of a problem
given in floats has an exact rational answer. This computes it by the textbook recursion
(Spouge, Wan & Wilbur 2003): a block with mean ``mu`` splits along the maximal
maximum-weight closure of the gains ``w (y - mu)`` when that closure is proper and gains
more than zero; the closure comes from a max-flow (Edmonds-Karp) whose capacities are
Fractions, so no decision depends on round-off. For the tests and benchmarks/fuzz_dag.py;
a few dozen nodes at most.
"""

from collections import deque
from fractions import Fraction


def _max_closure(nodes, arcs, gain):
    """The maximal set S of ``nodes`` closed under ``arcs`` (a in S => b in S for (a, b))
    that maximises the sum of ``gain`` over S, exactly."""
    source, sink = "s", "t"
    capacity = {}
    neighbours = {v: set() for v in list(nodes) + [source, sink]}

    def add(a, b, c):
        capacity[(a, b)] = capacity.get((a, b), 0) + c if c is not None else None
        capacity.setdefault((b, a), 0)
        neighbours[a].add(b)
        neighbours[b].add(a)

    for v in nodes:
        if gain[v] > 0:
            add(source, v, gain[v])
        elif gain[v] < 0:
            add(v, sink, -gain[v])
    for a, b in arcs:
        capacity[(a, b)] = None  # infinite
        capacity.setdefault((b, a), 0)
        neighbours[a].add(b)
        neighbours[b].add(a)

    def residual(a, b):
        c = capacity.get((a, b), 0)
        return c  # None is infinite

    while True:  # Edmonds-Karp: shortest augmenting paths
        parent = {source: None}
        queue = deque([source])
        while queue and sink not in parent:
            a = queue.popleft()
            for b in neighbours[a]:
                r = residual(a, b)
                if b not in parent and (r is None or r > 0):
                    parent[b] = a
                    queue.append(b)
        if sink not in parent:
            break
        path = []
        b = sink
        while parent[b] is not None:
            path.append((parent[b], b))
            b = parent[b]
        amount = min(residual(a, b) for a, b in path if residual(a, b) is not None)
        for a, b in path:
            if capacity[(a, b)] is not None:
                capacity[(a, b)] -= amount
            if capacity[(b, a)] is not None:
                capacity[(b, a)] += amount
    # The nodes that can still reach the sink form the smallest sink side.
    reach = {sink}
    queue = deque([sink])
    while queue:
        b = queue.popleft()
        for a in neighbours[b]:
            r = residual(a, b)
            if a not in reach and (r is None or r > 0):
                reach.add(a)
                queue.append(a)
    return [v for v in nodes if v not in reach]


def exact_isotonic(y, edges, weights=None):
    """The exact fit (a list of Fractions) of ``y`` under ``fit[u] >= fit[v]`` for every
    edge ``(u, v)`` of a DAG, with positive ``weights`` (default ones)."""
    n = len(y)
    y = [Fraction(float(v)) for v in y]
    w = [Fraction(1)] * n if weights is None else [Fraction(float(v)) for v in weights]
    pairs = [(int(u), int(v)) for u, v in edges]
    fit = [None] * n
    stack = [list(range(n))]
    while stack:
        block = stack.pop()
        members = set(block)
        total_w = sum(w[i] for i in block)
        mean = sum(w[i] * y[i] for i in block) / total_w
        gain = {i: w[i] * (y[i] - mean) for i in block}
        # A lower node in the set forces the upper one in: arcs lower -> upper.
        arcs = [(v, u) for u, v in pairs if u in members and v in members]
        upper = _max_closure(block, arcs, gain)
        if 0 < len(upper) < len(block) and sum(gain[i] for i in upper) > 0:
            chosen = set(upper)
            stack.append(upper)
            stack.append([i for i in block if i not in chosen])
        else:
            for i in block:
                fit[i] = mean
    return fit
