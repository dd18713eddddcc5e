"""Any partial order: the min-cut solver against generic QP solvers, and Dask overhead.

Run:  pip install -e ".[dag,dask]" cvxpy igraph && python benchmarks/bench_dag.py
Prints markdown tables (median of repeated runs; one run for the slow peers) and writes
benchmarks/results/dag.md. Ratios < 1 mean isotree is faster.

Peers, same data, same run:
- the exact QP oracle ``isotree.testing.qp_isotonic`` (SciPy NNLS on the dense dual) where
  its O(n m) memory allows (small grids);
- cvxpy with the Clarabel interior-point solver (a generic sparse QP), at default tolerances;
- the same recursive partitioning with python-igraph's push-relabel max-flow instead of
  PyMaxflow (why PyMaxflow was chosen).
- Dask: 1e4 chains of 1e3 on a two-worker LocalCluster against one in-process call.
"""

import os
import platform
import sys
import time
from importlib import metadata

import numpy as np
from _timing import median_time, print_table

import isotree
from isotree import _flow
from isotree.dag import dag_kkt_violation
from isotree.testing import qp_isotonic

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def once(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def grid_problem(side, rng):
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    y = np.sqrt(i * j) / side + rng.normal(0.0, 0.5, (side, side))
    w = rng.uniform(0.5, 2.0, (side, side))
    return y.ravel(), w.ravel(), isotree.grid_edges((side, side))


def random_dag(n, m, rng):
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    edges = np.column_stack([np.minimum(a, b), np.maximum(a, b)])[keep]
    y = -np.arange(n) / n + rng.normal(size=n)  # a trend against the order, and noise
    w = rng.uniform(0.5, 2.0, n)
    perm = rng.permutation(n)
    return y[np.argsort(perm)], w[np.argsort(perm)], perm[edges]


def cvxpy_fit(y, w, edges):
    import cvxpy as cp
    import scipy.sparse as sp

    n, m = y.shape[0], edges.shape[0]
    incidence = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)],
                               (np.r_[np.arange(m), np.arange(m)],
                                np.r_[edges[:, 0], edges[:, 1]])), shape=(m, n))
    f = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(cp.sum(cp.multiply(w, cp.square(f - y)))),
                         [incidence @ f >= 0])
    problem.solve(solver=cp.CLARABEL)
    return np.asarray(f.value)


def igraph_closure(n_nodes, tail, head, gain):
    """The closure of isotree._flow with python-igraph's max-flow (for comparison only)."""
    import igraph

    source, sink = n_nodes, n_nodes + 1
    pos, neg = np.flatnonzero(gain > 0), np.flatnonzero(gain < 0)
    arcs = np.concatenate([np.column_stack([tail, head]),
                           np.column_stack([np.full(pos.size, source), pos]),
                           np.column_stack([neg, np.full(neg.size, sink)])])
    infinite = 2.0 * np.abs(gain).sum() + 1.0
    capacity = np.concatenate([np.full(tail.size, infinite), gain[pos], -gain[neg]])
    graph = igraph.Graph(n=n_nodes + 2, edges=arcs.tolist(), directed=True)
    flow = graph.maxflow(source, sink, capacity=capacity.tolist())
    side = np.zeros(n_nodes + 2, dtype=bool)
    side[flow.partition[0]] = True
    return side[:n_nodes]


def solver_rows(rng):
    rows = []
    cases = [("grid 20 x 20", *grid_problem(20, rng)),
             ("grid 100 x 100", *grid_problem(100, rng)),
             ("grid 300 x 300", *grid_problem(300, rng)),
             ("random DAG n=1e4, m=5e4", *random_dag(10_000, 50_000, rng))]
    for name, y, w, edges in cases:
        n, m = y.shape[0], edges.shape[0]
        ours = median_time(lambda: isotree.dag_isotonic_regression(y, edges, weights=w),
                           repeat=5 if n <= 10_000 else 3)
        fit = isotree.dag_isotonic_regression(y, edges, weights=w)
        kkt = dag_kkt_violation(y, fit, edges, weights=w)
        blocks = np.unique(isotree.dag_isotonic_regression(
            y, edges, weights=w, return_blocks=True)[1]).size
        label = f"{name} ({blocks} blocks, KKT {kkt:.0e})"
        if n * m <= 1e6:
            t, qp = once(lambda: qp_isotonic(y, edges, w))
            rows.append([label, "qp_isotonic (SciPy NNLS, dense)", f"{ours * 1e3:.1f} ms",
                         f"{t * 1e3:.1f} ms", f"{ours / t:.3f}",
                         f"{np.abs(qp - fit).max():.0e}"])
        try:
            t, cv = once(lambda: cvxpy_fit(y, w, edges))
            rows.append([label, "cvxpy + Clarabel", f"{ours * 1e3:.1f} ms",
                         f"{t * 1e3:.1f} ms", f"{ours / t:.3f}",
                         f"{np.abs(cv - fit).max():.0e}"])
        except ImportError:
            pass
        try:
            import igraph  # noqa: F401

            original = _flow.closure
            _flow.closure = igraph_closure
            try:
                t = median_time(lambda: isotree.dag_isotonic_regression(y, edges, weights=w),
                                repeat=3, warmup=0)
                other = isotree.dag_isotonic_regression(y, edges, weights=w)
            finally:
                _flow.closure = original
            rows.append([label, "same algorithm, igraph max-flow", f"{ours * 1e3:.1f} ms",
                         f"{t * 1e3:.1f} ms", f"{ours / t:.3f}",
                         f"{np.abs(other - fit).max():.0e}"])
        except ImportError:
            pass
    return rows


def solve_rows(y):
    """Module level, so that worker processes can unpickle it."""
    return isotree.isotonic_regression(y)


def dask_rows(rng):
    import dask.array as da
    import distributed

    y = rng.normal(size=(10_000, 1_000)).cumsum(axis=1)
    in_process = median_time(lambda: isotree.isotonic_regression(y), repeat=5)
    rows = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            client.run(lambda: isotree.isotonic_regression(np.ones((2, 3))))  # compile
            dy = da.from_array(y, chunks=(1_000, -1))

            def from_client():
                lazy = da.apply_gufunc(solve_rows, "(n)->(n)", dy, output_dtypes=y.dtype)
                return client.compute(lazy, sync=True)

            result = from_client()
            assert np.array_equal(result, isotree.isotonic_regression(y))
            t = median_time(from_client, repeat=3)
            rows.append(["1e4 x 1e3 chains, data sent from the client (80 MB)",
                         f"{in_process * 1e3:.1f} ms", f"{t * 1e3:.1f} ms",
                         f"{t / in_process:.1f}"])
            persisted = dy.persist()
            distributed.wait(persisted)

            def on_workers():
                lazy = da.apply_gufunc(solve_rows, "(n)->(n)", persisted,
                                       output_dtypes=y.dtype)
                return client.compute(lazy.sum(), sync=True)  # the result stays there

            t = median_time(on_workers, repeat=3)
            rows.append(["1e4 x 1e3 chains, data already on the workers, sum returned",
                         f"{in_process * 1e3:.1f} ms", f"{t * 1e3:.1f} ms",
                         f"{t / in_process:.1f}"])
    return rows


def main():
    rng = np.random.default_rng(0)
    header = (f"isotree {isotree.__version__}, PyMaxflow {version('PyMaxflow')}, "
              f"igraph {version('igraph')}, cvxpy {version('cvxpy')}, "
              f"clarabel {version('clarabel')}, scipy {version('scipy')}, "
              f"dask {version('dask')}, python {sys.version.split()[0]}, {cpu_model()}, "
              f"{os.cpu_count()} cores (shared machine: noisy)")
    print(header + "\n")
    texts = [header, ""]
    texts.append(print_table(solver_rows(rng), ["case", "peer", "isotree", "peer time",
                                                "ratio", "max |fit - peer|"]))
    print()
    try:
        texts += ["", print_table(dask_rows(rng), ["case", "in-process call",
                                                   "Dask, 2 workers", "overhead ratio"])]
    except ImportError:
        pass
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "dag.md"), "w") as f:
        f.write("\n".join(texts) + "\n")


if __name__ == "__main__":
    main()
