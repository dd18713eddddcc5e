"""Minimum cuts and maximum flows on a DAG, over the package's own max-flow kernel.

:class:`Network` holds the arcs of one graph and the scratch of the kernel
(:mod:`isotree._numba.maxflow`: Boykov-Kolmogorov on float64 capacities, warm-started by a
greedy sweep in topological order), so the rounds of the DAG solver reuse them. Every arc
``tail -> head`` has infinite capacity; each node has one terminal capacity (> 0 from the
source, < 0 to the sink). Two questions are asked of it:

- :func:`closure`: the maximum-weight closed set of a node weighting (Picard 1976), the
  source side of a minimum cut;
- :func:`flow_value`: the value of a maximum flow from supplies to demands (for the KKT
  certificate of a DAG fit).
"""

import numpy as np

from ._numba.graph import topological_order
from ._numba.maxflow import (
    FREE,
    boykov_kolmogorov,
    build_arcs,
    load_network,
    push_up,
    source_flow,
    source_side,
    update_network,
    warm_start,
)


def arcs(n, tail, head):
    """The arcs by node of the edges ``tail -> head`` (:func:`isotree._numba.maxflow.
    build_arcs`), with 32-bit indices where they fit."""
    small = n < 2**31 - 1 and 2 * tail.shape[0] < 2**31 - 1
    return build_arcs(n, tail, head, np.int32 if small else np.int64)


class Network:
    """The arcs ``tail[e] -> head[e]`` (an acyclic graph on ``n`` nodes) and the scratch of
    repeated max-flows on parts of it. ``order``: a topological order (tails first), found
    here if not given."""

    def __init__(self, n, tail, head, order=None):
        self.n = n
        self.tail = np.ascontiguousarray(tail, dtype=np.int64)
        self.head = np.ascontiguousarray(head, dtype=np.int64)
        self.start, self.mid, self.nbr, self.sister = arcs(n, self.tail, self.head)
        if order is None:
            order, _ = topological_order(n, self.start, self.mid, self.nbr)
        self.order = order
        self.r_cap = np.zeros(self.nbr.shape[0])
        self.tr_cap = np.zeros(n)
        self.capacity = np.zeros(n)  # the terminal capacities of the last call
        self.parent = np.full(n, FREE, dtype=np.int64)
        self.is_sink = np.zeros(n, dtype=np.bool_)
        self.ts = np.empty(n, dtype=np.int64)
        self.dist = np.empty(n, dtype=np.int64)
        self.queue = np.empty(n + 1, dtype=np.int64)
        self.in_queue = np.zeros(n, dtype=np.bool_)
        self.orphans = np.empty(n + 1, dtype=np.int64)

    def max_flow(self, nodes, count, capacity, group, reuse=False, push=None, n_push=0):
        """A maximum flow on the nodes ``nodes[:count]`` (listed in topological order) and the
        order arcs whose ends share a ``group``; ``capacity`` gives the terminal capacities.
        The flow is left in ``tr_cap`` and ``r_cap``.

        ``reuse``: start from the last call's flow (the groups must have split along that
        call's minimum cut, and the order arcs between them must be closed: ``r_cap`` 0),
        then sweep the excess of the nodes ``push[:n_push]`` (topological order) up to the
        small sinks that moving a whole group's capacities by a little leaves at every
        node, which would otherwise take one augmenting path each. Else start from a warm
        start, and record in ``augmented_share`` the share of the flow that augmenting
        paths found after it.
        """
        if reuse:
            update_network(nodes, count, capacity, self.tr_cap, self.capacity)
            push_up(push, n_push, self.start, self.mid, self.nbr, self.sister, self.tr_cap,
                    self.r_cap)
            boykov_kolmogorov(nodes, count, self.start, self.nbr, self.sister, self.tr_cap,
                              self.r_cap, self.parent, self.is_sink, self.ts, self.dist,
                              self.queue, self.in_queue, self.orphans)
            return
        load_network(nodes, count, capacity, group, self.start, self.mid, self.nbr,
                     self.sister, self.tr_cap, self.r_cap, self.capacity)
        warm_start(nodes, count, self.start, self.mid, self.nbr, self.sister, self.tr_cap,
                   self.r_cap, capacity)
        greedy = source_flow(nodes, count, capacity, self.tr_cap)
        augmented = boykov_kolmogorov(nodes, count, self.start, self.nbr, self.sister,
                                      self.tr_cap, self.r_cap, self.parent, self.is_sink,
                                      self.ts, self.dist, self.queue, self.in_queue,
                                      self.orphans)
        total = greedy + augmented
        self.augmented_share = augmented / total if total > 0.0 else 0.0

    def source_side(self, nodes, count, out):
        """After :meth:`max_flow`: ``out[x]`` is True where x cannot reach the sink (call it
        once per flow: it clears the search trees)."""
        source_side(nodes, count, self.parent, self.is_sink, out)


def closure(n_nodes, tail, head, gain):
    """A maximum-weight closed set: ``tail`` in the set forces ``head`` in, for every arc.

    Returns a boolean mask of the nodes in the set, which maximises ``gain[set].sum()``
    (Picard 1976: a source arc of capacity ``gain`` for gains > 0, a sink arc of capacity
    ``-gain`` otherwise, the order arcs infinite; the set is the source side of a minimum
    cut). Nodes free to go either way are put in the set (the largest such set).
    """
    network = Network(n_nodes, tail, head)
    gain = np.ascontiguousarray(gain, dtype=np.float64)
    network.max_flow(network.order, n_nodes, gain, np.zeros(n_nodes, dtype=np.int64))
    out = np.zeros(n_nodes, dtype=bool)
    network.source_side(network.order, n_nodes, out)
    return out


def flow_value(n_nodes, tail, head, supply, demand, order=None):
    """The value of a maximum flow from ``supply`` to ``demand`` over uncapacitated arcs
    ``tail -> head`` of an acyclic graph (``order``: a topological order of it, tails
    first, if known). Every flow the kernel builds is a flow, so this is a lower bound up to
    the round-off of its sums."""
    supply = np.asarray(supply, dtype=np.float64)
    demand = np.asarray(demand, dtype=np.float64)
    if not (supply.any() and demand.any()):
        return 0.0
    network = Network(n_nodes, tail, head, order)
    direct = float(np.minimum(supply, demand).sum())  # a node's own supply meets its demand
    capacity = supply - demand
    network.max_flow(network.order, n_nodes, capacity, np.zeros(n_nodes, dtype=np.int64))
    sent = capacity > 0
    return direct + float((capacity[sent] - np.maximum(network.tr_cap[sent], 0.0)).sum())
