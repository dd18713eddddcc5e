"""Any partial order: the DAG and grid solvers against the solver they replace, the targets.

Run:  python benchmarks/bench_dag.py [--quick]

In one run, each case back to back next to its peer (rounds alternate between them):

- targets: a random DAG (n = 3e4, m = 1.5e5) against the solver the package had before
  its own max-flow (the same partitioning on PyMaxflow, ``benchmarks/dag_reference.py``;
  only where PyMaxflow is installed: it is GPL and never a dependency), a 300 x 300
  random grid against a straightforward staircase-program solver
  (``benchmarks/staircase_reference.py``), a 1000 x 1000 random grid on its own, a chain
  of 3e4 that pools into one block and a random tree of 1e5, both given as DAGs, against
  the chain and tree solvers;
- the cases of the old solver's measurements (grids 100^2 .. 1000^2, random DAGs 1e4 and
  1e5 with m = 5n, pooled chains, a tree), against it where it finishes in seconds;
- worst cases, each with its number of rounds (max-flow or staircase calls): a pooling
  chain that is not a forest, a grid whose rows pool to levels 1, 2, 4, ..., a dense DAG;
- peak extra memory of one solve per edge (per cell for the 2-D grid), in a fresh process
  (as bench_scaling.py measures it);
- Dask overhead on 1e4 chains of 1e3 (two workers), where Dask is installed.

Writes benchmarks/results/dag.{json,md}.
"""

import json
import os
import subprocess
import sys

import numpy as np
from _timing import HERE, ROOT, Report, measure, parse_args, run_parts, timings

import isotree
from isotree import _flow
from isotree._engine import partition
from isotree.dag import dag_kkt_violation

try:
    import dag_reference  # the old solver, on PyMaxflow
except ImportError:
    dag_reference = None
import staircase_reference


def random_dag(rng, n, m):
    """m random pairs ordered by a hidden permutation; y trends against the order."""
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    edges = np.column_stack([np.minimum(a, b), np.maximum(a, b)])[keep]
    y = -np.arange(n) / n + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    perm = rng.permutation(n)
    inverse = np.argsort(perm)
    return y[inverse], w[inverse], perm[edges]


def random_grid(rng, side):
    return rng.normal(size=(side, side)), rng.uniform(0.5, 2.0, (side, side))


def smooth_grid(rng, side):
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    y = np.sqrt(i * j) / side + rng.normal(0.0, 0.5, (side, side))
    return y, rng.uniform(0.5, 2.0, (side, side))


def random_tree(rng, n):
    from bench_core import random_tree as make

    return make(rng, n)


def tree_as_edges(parent):
    child = np.flatnonzero(parent >= 0)
    return np.column_stack([child, parent[child]])  # fit[child] >= fit[parent]


class Rounds:
    """Count the cuts of a solve: calls of the max-flow and of the staircase program."""

    def __enter__(self):
        self.count = 0
        self.saved = (_flow.Network.max_flow, partition.best_upper_sets)
        flow, staircase = self.saved

        def counted_flow(network, *args, **kwargs):
            self.count += 1
            return flow(network, *args, **kwargs)

        def counted_staircase(*args):
            self.count += 1
            return staircase(*args)

        _flow.Network.max_flow = counted_flow
        partition.best_upper_sets = counted_staircase
        return self

    def __exit__(self, *exc):
        _flow.Network.max_flow, partition.best_upper_sets = self.saved


def rounds_of(solve):
    with Rounds() as r:
        solve()
    return r.count


def add(report, name, funcs, peer, n, m, rounds=5, paired=False, target=(), **extra):
    r = measure(funcs, "back-to-back", rounds=rounds, paired=paired)
    fields = timings(r, peer, elements=n)
    report.add(name, n=n, edges=m, target=list(target), **fields, **extra)


def targets(report, quick):
    rng = np.random.default_rng(0)
    # Random DAG against the solver it replaces.
    n, m = (3_000, 15_000) if quick else (30_000, 150_000)
    y, w, edges = random_dag(rng, n, m)
    fit = isotree.dag_isotonic_regression(y, edges, weights=w)
    funcs = {"isotree": lambda: isotree.dag_isotonic_regression(y, edges, weights=w)}
    extra = dict(cuts=rounds_of(funcs["isotree"]),
                 kkt=dag_kkt_violation(y, fit, edges, weights=w))
    if dag_reference is not None:
        funcs["PyMaxflow solver (before)"] = lambda: dag_reference.solve(y, edges, w)
        extra["max_diff"] = float(np.abs(dag_reference.solve(y, edges, w) - fit).max())
    add(report, f"random DAG n={n:g}, m={edges.shape[0]:g}", funcs,
        "PyMaxflow solver (before)" if dag_reference else None, n, edges.shape[0], rounds=7,
        target=[("ratio", "<=", 1.0)] if dag_reference else (), **extra)
    # 300 x 300 random grid against a straightforward staircase program.
    side = 100 if quick else 300
    y, w = random_grid(rng, side)
    fit = isotree.grid_isotonic_regression(y, weights=w)
    add(report, f"grid {side} x {side} random",
        {"isotree": lambda: isotree.grid_isotonic_regression(y, weights=w),
         "straightforward staircase program": lambda: staircase_reference.solve(y, w)},
        "straightforward staircase program", side * side, 2 * side * (side - 1), rounds=7,
        target=[("ratio", "<=", 1.5)],
        cuts=rounds_of(lambda: isotree.grid_isotonic_regression(y, weights=w)),
        max_diff=float(np.abs(staircase_reference.solve(y, w) - fit).max()))
    # 1000 x 1000 random grid: under 5 s.
    side = 300 if quick else 1000
    y, w = random_grid(rng, side)
    add(report, f"grid {side} x {side} random",
        {"isotree": lambda: isotree.grid_isotonic_regression(y, weights=w)}, None,
        side * side, 2 * side * (side - 1), rounds=3, paired=True,
        target=[("isotree_s", "<", 5.0)],
        cuts=rounds_of(lambda: isotree.grid_isotonic_regression(y, weights=w)))
    # A chain that pools into one block, given as a DAG, against the chain solver.
    n = 30_000
    y = np.linspace(1.0, 0.0, n) + rng.normal(0.0, 0.01, n)
    chain = isotree.grid_edges((n,))
    add(report, f"pooled chain n={n:g} given as a DAG",
        {"isotree": lambda: isotree.dag_isotonic_regression(y, chain),
         "isotonic_regression": lambda: isotree.isotonic_regression(y)},
        "isotonic_regression", n, n - 1, rounds=9, target=[("ratio", "<=", 30.0)])
    # A random tree given as a DAG, against the tree solver.
    n = 100_000
    parent = random_tree(rng, n)
    edges = tree_as_edges(parent)
    y = rng.normal(size=n)
    add(report, f"random tree n={n:g} given as a DAG",
        {"isotree": lambda: isotree.dag_isotonic_regression(y, edges),
         "tree_isotonic_regression": lambda: isotree.tree_isotonic_regression(y, parent)},
        "tree_isotonic_regression", n, n - 1, rounds=9, target=[("ratio", "<=", 5.0)])


def before(report, quick):
    """The cases the old solver was measured on (its times in the issue that replaced it)."""
    rng = np.random.default_rng(1)
    old = dag_reference
    sides = [(100, True), (300, True), (1000, False)] if not quick else [(100, True)]
    for side, with_old in sides:
        for kind, make in (("random", random_grid), ("smooth", smooth_grid)):
            y, w = make(rng, side)
            funcs = {"isotree": lambda: isotree.grid_isotonic_regression(y, weights=w)}
            edges = isotree.grid_edges(y.shape)
            if old is not None and with_old and not (side == 300 and kind == "smooth"):
                funcs["PyMaxflow solver (before)"] = lambda: old.solve(y.ravel(), edges,
                                                                       w.ravel())
            peer = "PyMaxflow solver (before)" if len(funcs) > 1 else None
            add(report, f"grid {side} x {side} {kind}", funcs, peer, side * side,
                edges.shape[0], rounds=3, paired=True)
    for n in ([10_000, 100_000] if not quick else [10_000]):
        y, w, edges = random_dag(rng, n, 5 * n)
        funcs = {"isotree": lambda: isotree.dag_isotonic_regression(y, edges, weights=w)}
        if old is not None:
            funcs["PyMaxflow solver (before)"] = lambda: old.solve(y, edges, w)
        add(report, f"random DAG n={n:g}, m=5n", funcs,
            "PyMaxflow solver (before)" if old else None, n, edges.shape[0], rounds=5,
            paired=n > 10_000, cuts=rounds_of(funcs["isotree"]))
    for n in ([10_000, 100_000] if not quick else [10_000]):
        y = np.linspace(1.0, 0.0, n)
        chain = isotree.grid_edges((n,))
        funcs = {"isotree": lambda: isotree.dag_isotonic_regression(y, chain)}
        if old is not None and n <= 10_000:  # 40-82 s at 1e5
            funcs["PyMaxflow solver (before)"] = lambda: old.solve(y, chain)
        add(report, f"pooled chain n={n:g} given as a DAG", funcs,
            "PyMaxflow solver (before)" if len(funcs) > 1 else None, n, n - 1, rounds=3,
            paired=True)
    n = 100_000
    parent = random_tree(rng, n)
    edges = tree_as_edges(parent)
    y = rng.normal(size=n)
    funcs = {"isotree": lambda: isotree.dag_isotonic_regression(y, edges)}
    if old is not None:
        funcs["PyMaxflow solver (before)"] = lambda: old.solve(y, edges)
    add(report, f"random tree n={n:g} given as a DAG", funcs,
        "PyMaxflow solver (before)" if old else None, n, n - 1, rounds=3, paired=True)


def worst(report, quick):
    rng = np.random.default_rng(2)
    # A chain that pools into one block plus one edge from its top to its bottom: no
    # forest, so the max-flow runs; the warm start is the whole flow.
    for n in ([30_000] if quick else [30_000, 300_000]):
        y = np.linspace(1.0, 0.0, n)
        edges = np.concatenate([isotree.grid_edges((n,)), [[n - 1, 0]]])
        solve = lambda: isotree.dag_isotonic_regression(y, edges)  # noqa: E731
        add(report, f"worst: pooling chain n={n:g} with one more edge (max-flow)",
            {"isotree": solve}, None, n, n, rounds=3, paired=True, cuts=rounds_of(solve))
    # Rows that pool to levels 1, 2, 4, ...: each round splits off one level.
    levels, cols = (30, 300) if quick else (60, 1000)
    level = 2.0 ** np.arange(levels)
    y = level[:, None] * (1.0 + np.linspace(0.5, -0.5, cols))[None, :]
    solve = lambda: isotree.grid_isotonic_regression(y)  # noqa: E731
    add(report, f"worst: grid {levels} x {cols}, rows pooling to levels 2^k",
        {"isotree": solve}, None, y.size, 2 * y.size, rounds=3, paired=True,
        cuts=rounds_of(solve))
    # Every pair of n nodes ordered, data against the order.
    n = 300 if quick else 1000
    i, j = np.triu_indices(n, 1)
    edges = np.column_stack([i, j])
    y = np.linspace(0.0, 1.0, n) + rng.normal(0.0, 0.3, n)
    solve = lambda: isotree.dag_isotonic_regression(y, edges)  # noqa: E731
    add(report, f"worst: dense DAG n={n:g} (every pair ordered)", {"isotree": solve}, None,
        n, edges.shape[0], rounds=3, paired=True, cuts=rounds_of(solve))


MEMORY_PROBE = """
import ctypes, json, resource, sys
import numpy as np
sys.path[:0] = [{root!r}, {here!r}]
import isotree
from bench_dag import random_dag, random_grid
kind, size = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
if kind == "dag":
    y, w, edges = random_dag(rng, size, 5 * size)
    solve = lambda: isotree.dag_isotonic_regression(y, edges, weights=w)
    isotree.dag_isotonic_regression(y[:4], [[1, 0], [2, 0], [3, 1], [3, 2]])
    m = edges.shape[0]
elif kind == "grid2":
    y, w = random_grid(rng, size)
    solve = lambda: isotree.grid_isotonic_regression(y, weights=w)
    isotree.grid_isotonic_regression(y[:3, :3], weights=w[:3, :3])
    m = 2 * size * (size - 1)
else:
    y = rng.normal(size=(size, size, size))
    solve = lambda: isotree.grid_isotonic_regression(y)
    isotree.grid_isotonic_regression(y[:3, :3, :3])
    m = 3 * size * size * (size - 1)
try:
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass
def peak_kib():
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
before = peak_kib()
solve()
after = peak_kib()
print(json.dumps(dict(bytes=(after - before) * 1024, n=int(y.size), m=int(m), reset=reset)))
"""


def memory(report, quick):
    rows = []
    cases = [("dag", 30_000 if not quick else 3_000, "random DAG, m = 5n (max-flow)"),
             ("dag", 300_000 if not quick else 10_000, "random DAG, m = 5n (max-flow)"),
             ("grid2", 1000 if not quick else 100, "2-D grid (staircase program)"),
             ("grid3", 40 if not quick else 20, "3-D grid (max-flow)")]
    for kind, size, label in cases:
        code = MEMORY_PROBE.format(root=ROOT, here=HERE)
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
        out = subprocess.run([sys.executable, "-c", code, kind, str(size)],
                             capture_output=True, text=True, check=True, env=env)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        per_edge = r["bytes"] / r["m"]
        per_node = r["bytes"] / r["n"]
        report.add(f"peak memory: {label}", n=r["n"], edges=r["m"], pattern="one-call",
                   isotree_s=None, per_element=False,
                   metric="peak extra resident bytes per edge (output included)",
                   value=per_edge, unit="B/edge", bytes_per_node=per_node,
                   high_water_mark_reset=r["reset"])
        rows.append([label, f"{r['n']:g}", f"{r['m']:g}", f"{r['bytes'] / 2**20:.1f} MiB",
                     f"{per_edge:.0f} B/edge", f"{per_node:.0f} B/node"])
    report.table("Peak extra memory of one solve (float64 input: 8 B/node, int64 edges: "
                 "16 B/edge; output included)",
                 ["case", "n", "m", "peak extra", "per edge", "per node"], rows)


def solve_rows(y):
    """Module level, so that worker processes can unpickle it."""
    return isotree.isotonic_regression(y)


def dask_overhead(report, quick):
    try:
        import dask.array as da
        import distributed
    except ImportError:
        print("dask not installed: skipped")
        return
    from _timing import median_time

    rng = np.random.default_rng(3)
    rows_n = 1_000 if quick else 10_000
    y = rng.normal(size=(rows_n, 1_000)).cumsum(axis=1)
    in_process = median_time(lambda: isotree.isotonic_regression(y), repeat=5)
    rows = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            client.run(lambda: isotree.isotonic_regression(np.ones((2, 3))))  # compile
            dy = da.from_array(y, chunks=(rows_n // 10, -1))

            def from_client():
                lazy = da.apply_gufunc(solve_rows, "(n)->(n)", dy, output_dtypes=y.dtype)
                return client.compute(lazy, sync=True)

            assert np.array_equal(from_client(), isotree.isotonic_regression(y))
            t = median_time(from_client, repeat=3)
            rows.append([f"{rows_n:g} x 1e3 chains, data sent from the client",
                         f"{in_process * 1e3:.1f} ms", f"{t * 1e3:.1f} ms",
                         f"{t / in_process:.1f}"])
            persisted = dy.persist()
            distributed.wait(persisted)

            def on_workers():
                lazy = da.apply_gufunc(solve_rows, "(n)->(n)", persisted,
                                       output_dtypes=y.dtype)
                return client.compute(lazy.sum(), sync=True)  # the result stays there

            t = median_time(on_workers, repeat=3)
            rows.append([f"{rows_n:g} x 1e3 chains, data already on the workers, sum "
                         "returned", f"{in_process * 1e3:.1f} ms", f"{t * 1e3:.1f} ms",
                         f"{t / in_process:.1f}"])
    report.table("Dask overhead (two worker processes on this machine)",
                 ["case", "in-process call", "Dask, 2 workers", "overhead ratio"], rows)


def main():
    args = parse_args(__doc__.splitlines()[0])
    report = Report("dag", args)
    report.machine["pymaxflow"] = None
    if dag_reference is not None:
        from importlib import metadata

        report.machine["pymaxflow"] = metadata.version("PyMaxflow")
    run_parts((targets, before, worst, memory, dask_overhead), report, args.quick)
    report.finish(plot=None)


if __name__ == "__main__":
    main()
