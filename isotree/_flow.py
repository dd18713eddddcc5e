"""Minimum cuts and maximum flows, from a kept library (PyMaxflow), imported only when used.

The DAG solver needs two things from a max-flow library, and only these two functions call
it, so the library can be swapped in one place:

- :func:`closure`: the maximum-weight closure of a node weighting (Picard 1976), the source
  side of a minimum s-t cut;
- :func:`flow_value`: the value of a maximum flow from supplies to demands (for the KKT
  certificate of a DAG fit).

PyMaxflow wraps the Boykov-Kolmogorov algorithm (very fast on the grid-like graphs of
isotonic regression) and takes real (double) capacities, so no scaling to integers is needed.
Measured against python-igraph's push-relabel on the same networks it was 6-7 times faster
(see ``benchmarks/bench_dag.py``); ``scipy.sparse.csgraph.maximum_flow`` needs integer
capacities, which would make the cuts depend on a rounding of the data.
"""

import numpy as np

EXTRA_HINT = "pip install 'isotree-ir[dag]'  (or: pip install PyMaxflow)"


def _maxflow():
    """The PyMaxflow module, or an ImportError that says how to install it."""
    try:
        import maxflow
    except ImportError as error:
        raise ImportError(
            "isotonic regression on a general partial order needs the optional dependency "
            f"PyMaxflow (a max-flow library): {EXTRA_HINT}") from error
    return maxflow


def _network(n_nodes, tail, head, source_cap, sink_cap):
    """A graph with arcs tail -> head of capacity "infinite" and the terminal arcs."""
    maxflow = _maxflow()
    graph = maxflow.GraphFloat(n_nodes, tail.shape[0])
    nodes = graph.add_nodes(n_nodes)
    # Any capacity above the total terminal capacity can never be saturated: it is infinite.
    infinite = 2.0 * (float(source_cap.sum()) + float(sink_cap.sum())) + 1.0
    if tail.shape[0]:
        graph.add_edges(tail, head, np.full(tail.shape[0], infinite), np.zeros(tail.shape[0]))
    graph.add_grid_tedges(nodes, source_cap, sink_cap)
    return graph, nodes


def closure(n_nodes, tail, head, gain):
    """A maximum-weight closed set: ``tail`` in the set forces ``head`` in, for every arc.

    Returns a boolean mask of the nodes in the set, which maximises ``gain[set].sum()``
    (Picard 1976: a source arc of capacity ``gain`` for gains > 0, a sink arc of capacity
    ``-gain`` otherwise, the order arcs infinite; the set is the source side of a minimum
    cut). Nodes free to go either way are put in the set.
    """
    graph, nodes = _network(n_nodes, tail, head, np.maximum(gain, 0.0),
                            np.maximum(-gain, 0.0))
    graph.maxflow()
    return ~graph.get_grid_segments(nodes)


def flow_value(n_nodes, tail, head, supply, demand):
    """The value of a maximum flow from ``supply`` to ``demand`` over uncapacitated arcs."""
    if not (supply.any() and demand.any()):
        return 0.0
    graph, _ = _network(n_nodes, tail, head, supply, demand)
    return float(graph.maxflow())
