"""Fuzz the partial-order solvers against exact rational arithmetic (not part of the tests).

Run:  python benchmarks/fuzz_dag.py [--problems 8000] [--seed 0] [--workers 2]

Draws small problems of many shapes (random DAGs, layered, bipartite, diamonds, dense,
2-D and 3-D grids given as edges and to ``grid_isotonic_regression``, trees and chains with
and without extra edges) with values and weights of every kind (ties, offsets up to 1e14,
scales from the subnormal range to 1.7e308, light and heavy outliers up to 1e16, weights
spanning 1e-8 .. 1e8; with ``--extreme`` outliers up to 1e60 and weights spanning
1e-300 .. 1e300, a known limit of the DAG solver), and checks every answer:

- against the exact fit in rational arithmetic (``tests/exact.py``): every entry within
  1e-9 of the data's span plus 2 ulps of its largest value;
- every block's value against the exact weighted mean of its data (``Fraction``, within
  4 ulps), the labels (smallest index) and feasibility;
- the certificate ``dag_kkt_violation``: small for the fit, large for a perturbed one;
- invariances: relabelled nodes, flipped edges with negated data, the grid solver against
  the DAG solver on the same grid.

``--missing`` gives a share of the nodes weight 0 (missing observations): the other nodes
are then checked against the exact fit of the problem without them, the order kept through
them (transitively), and each of them against its rule (the largest fit among the
positive-weight nodes below it, else the smallest fit).

Each problem runs in a worker process with a time limit, so a hang is reported, not
waited for. Prints a summary and the seeds of the first problems of every kind of hit;
``--replay SEED`` reruns one problem in this process and prints it.
"""

import argparse
import math
import multiprocessing
import os
import queue
import sys
import time
import traceback
from fractions import Fraction

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import isotree  # noqa: E402
from isotree.dag import dag_kkt_violation  # noqa: E402
from tests.exact import exact_isotonic  # noqa: E402

SHAPES = ("random", "layered", "bipartite", "diamonds", "dense", "grid2", "grid3", "tree+",
          "chain+", "forest", "empty")
VALUES = ("normal", "ties", "offset", "huge offset", "tiny", "huge", "overflow", "subnormal",
          "integers", "sorted")
WEIGHTS = ("none", "uniform", "skewed", "light", "heavy", "spread")
# Weight ratios the light and heavy outliers take (1 / factor or factor), and the decades
# "spread" weights span; --extreme widens both to the ends of the float range.
FACTORS = [3, 6, 9, 12, 16]
SPREAD = 8
MISSING = False  # --missing: some weights 0


def configure(extreme, missing):
    """The options of a run, set in every worker process (spawned: it imports afresh)."""
    global SPREAD, MISSING
    if extreme:
        FACTORS[:] = [3, 9, 16, 20, 30, 60]
        SPREAD = 300
    MISSING = missing


def make_order(shape, n, rng):
    """``(edges, grid)``: edges (u, v) meaning fit[u] >= fit[v]; grid = (shape, directions)
    for grid problems, else None."""
    if shape in ("grid2", "grid3"):
        dims = 2 if shape == "grid2" else 3
        sides = [int(rng.integers(1, 5)) for _ in range(dims)]
        directions = tuple(bool(d) for d in rng.integers(0, 2, dims))
        return isotree.grid_edges(tuple(sides), directions), (tuple(sides), directions)
    if shape == "random":
        m = int(rng.integers(0, 3 * n + 1))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        keep = a != b
        pairs = np.column_stack([np.minimum(a, b), np.maximum(a, b)])[keep]
    elif shape == "layered":
        cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, 3), replace=False)) \
            if n > 1 else []
        layers = np.split(np.arange(n), cuts)
        parts = [np.empty((0, 2), np.int64)]
        for above, below in zip(layers, layers[1:]):
            i, j = np.nonzero(rng.random((above.size, below.size)) < 0.5)
            parts.append(np.column_stack([above[i], below[j]]))
        pairs = np.concatenate(parts)
    elif shape == "bipartite":
        top = max(1, n // 3)
        i, j = np.nonzero(rng.random((top, n - top)) < 0.4)
        pairs = np.column_stack([i, top + j])
    elif shape == "diamonds":
        pairs = [(t, t + 1) for t in range(0, n - 3, 3)] + \
                [(t, t + 2) for t in range(0, n - 3, 3)] + \
                [(t + 1, t + 3) for t in range(0, n - 3, 3)] + \
                [(t + 2, t + 3) for t in range(0, n - 3, 3)]
    elif shape == "dense":  # a transitive tournament: every pair ordered
        i, j = np.triu_indices(n, 1)
        pairs = np.column_stack([i, j])
    elif shape in ("tree+", "forest", "chain+"):
        if shape == "chain+":
            parent = np.arange(n) - 1
        else:
            parent = (rng.random(n) * np.arange(n)).astype(np.int64)
            parent[0] = -1
            if shape == "forest":
                parent[rng.random(n) < 0.3] = -1
        child = np.flatnonzero(parent >= 0)
        pairs = np.column_stack([parent[child], child])
        if shape != "forest" and n > 2:  # a few extra edges downwards: no longer a forest
            extra = int(rng.integers(1, 4))
            a, b = rng.integers(0, n, extra), rng.integers(0, n, extra)
            keep = a != b
            pairs = np.concatenate([pairs, np.column_stack([np.minimum(a, b),
                                                            np.maximum(a, b)])[keep]])
        if rng.integers(2):
            pairs = pairs[:, ::-1]  # the other orientation
    else:
        pairs = np.empty((0, 2), np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    perm = rng.permutation(n)
    return perm[pairs], None


def make_values(kind, n, rng):
    if kind == "ties":
        return rng.integers(-2, 3, n).astype(float)
    if kind == "integers":
        return rng.integers(-1000, 1000, n).astype(float)
    y = rng.normal(size=n)
    if kind == "sorted":
        return np.sort(y) * (1 if rng.integers(2) else -1)
    if kind == "offset":
        return 10.0 ** rng.integers(3, 10) + y
    if kind == "huge offset":
        return 10.0 ** rng.integers(10, 16) * (1 if rng.integers(2) else -1) + 3 * y
    if kind == "tiny":
        return y * 10.0 ** rng.integers(-300, -200)
    if kind == "huge":
        return y * 10.0 ** rng.integers(200, 307)
    if kind == "overflow":
        return rng.uniform(-1.7, 1.7, n) * 1e308
    if kind == "subnormal":
        return rng.integers(-20, 21, n) * 5e-324
    return y


def make_weights(kind, n, rng):
    if kind == "none":
        return None
    if kind == "uniform":
        return rng.uniform(0.5, 2.0, n)
    if kind == "skewed":
        return 10.0 ** rng.uniform(-4, 4, n)
    if kind in ("light", "heavy"):
        w = rng.uniform(0.5, 2.0, n)
        k = int(rng.integers(1, max(2, n // 3 + 1)))
        factor = 10.0 ** float(rng.choice(FACTORS))
        w[rng.choice(n, size=min(k, n), replace=False)] *= (1 / factor if kind == "light"
                                                             else factor)
        return w
    return 10.0 ** rng.uniform(-SPREAD, SPREAD, n)


def draw(seed):
    rng = np.random.default_rng(seed)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    n = int(rng.integers(1, 25 if shape != "dense" else 12))
    edges, grid = make_order(shape, n, rng)
    if grid is not None:
        n = math.prod(grid[0])
    values = VALUES[int(rng.integers(len(VALUES)))]
    weights = WEIGHTS[int(rng.integers(len(WEIGHTS)))]
    y = make_values(values, n, rng)
    w = make_weights(weights, n, rng)
    if MISSING and n:
        w = np.ones(n) if w is None else w
        w[rng.random(n) < float(rng.choice([0.2, 0.5]))] = 0.0
        if not (w > 0).any():
            w[int(rng.integers(n))] = 1.0
    return dict(seed=seed, shape=shape, values=values, weights=weights, n=n, y=y, w=w,
                edges=edges, grid=grid)


def ulp(x):
    return float(np.spacing(np.float64(abs(x)))) if x != 0 else 5e-324


def check(problem):
    """The hits of one problem: a list of (category, detail)."""
    y, w, edges, grid = problem["y"], problem["w"], problem["edges"], problem["grid"]
    n = y.shape[0]
    hits = []
    with np.errstate(over="ignore"):
        span = float(y.max() - y.min()) if n else 0.0
    largest = float(np.abs(y).max()) if n else 0.0
    tol = (1e-9 * float(y.max()) - 1e-9 * float(y.min()) if n else 0.0) + 2 * ulp(largest)
    fit, blocks = isotree.dag_isotonic_regression(y, edges, weights=w, return_blocks=True)
    if w is not None and not (w > 0).all():
        return check_missing(problem, fit, blocks, tol)
    exact = exact_isotonic(y, edges, w)
    exact_f = np.array([float(v) for v in exact])
    err = float(np.abs(fit - exact_f).max()) if n else 0.0
    if not np.all(np.isfinite(fit)):
        hits.append(("not finite", f"fit {fit}"))
    elif err > tol:
        hits.append(("exact", f"max error {err:.3g} (span {span:.3g}, tol {tol:.3g})"))
    # Blocks: labels are the smallest member, values the exact means of the members.
    ww = [Fraction(1)] * n if w is None else [Fraction(float(v)) for v in w]
    yy = [Fraction(float(v)) for v in y]
    for label in np.unique(blocks):
        members = np.flatnonzero(blocks == label)
        if members[0] != label:
            hits.append(("labels", f"block {label} has smallest member {members[0]}"))
            break
        mean = sum(ww[i] * yy[i] for i in members) / sum(ww[i] for i in members)
        worst = max(abs(Fraction(float(fit[i])) - mean) for i in members)
        if worst > 4 * ulp(float(mean)) + Fraction(1e-12) * (max(yy) - min(yy)):
            hits.append(("block mean", f"block {label}: off by {float(worst):.3g}"))
            break
    if edges.size:
        gap = 2 * float(np.max(fit[edges[:, 1]] / 2 - fit[edges[:, 0]] / 2))
        if gap > 2 * ulp(largest):
            hits.append(("infeasible", f"an edge broken by {gap:.3g}"))
    # Certificate: the fit passes, a perturbed fit fails.
    # The certificate is relative to max|y|; a fit rounded to floats is off by up to an ulp.
    kkt = dag_kkt_violation(y, fit, edges, weights=w)
    rounding = 4 * n * ulp(largest) / largest if largest else 0.0
    if not kkt <= 1e-9 + rounding:
        hits.append(("kkt of fit", f"{kkt:.3g}"))
    if n and span > 0 and np.isfinite(span):
        # Moving the heaviest node by a quarter of the span breaks stationarity by about
        # its weight times that, relative to max|y| * sum(w).
        ww_np = np.ones(n) if w is None else w
        i = int(np.argmax(ww_np))
        wrong = fit.copy()
        wrong[i] += 0.25 * span if fit[i] <= y[i] else -0.25 * span
        expected = 0.25 * span / largest * ww_np[i] / ww_np.sum()
        if np.all(np.isfinite(wrong)) and np.any(wrong != fit) and not dag_kkt_violation(
                y, wrong, edges, weights=w) > 0.1 * expected:
            hits.append(("kkt of wrong fit", "a fit off by span/4 certified"))
    # Invariances.
    perm = np.random.default_rng(problem["seed"]).permutation(n)
    inverse = np.argsort(perm)
    moved = isotree.dag_isotonic_regression(y[perm], inverse[edges],
                                            weights=None if w is None else w[perm])
    if np.abs(moved[inverse] - exact_f).max(initial=0.0) > tol:
        hits.append(("relabelled", f"{np.abs(moved[inverse] - exact_f).max():.3g}"))
    flipped = isotree.dag_isotonic_regression(-y, edges[:, ::-1], weights=w)
    if np.abs(-flipped - exact_f).max(initial=0.0) > tol:
        hits.append(("flipped", f"{np.abs(-flipped - exact_f).max():.3g}"))
    if grid is not None:
        shape, directions = grid
        g_fit, g_blocks = isotree.grid_isotonic_regression(
            y.reshape(shape), weights=None if w is None else w.reshape(shape),
            increasing=directions, return_blocks=True)
        g_err = float(np.abs(g_fit.ravel() - exact_f).max())
        if g_err > tol:
            hits.append(("grid exact", f"max error {g_err:.3g} (tol {tol:.3g})"))
    return hits


def below(n, edges):
    """``reach[u, v]``: u >= v in the transitive closure of the edges."""
    reach = np.zeros((n, n), dtype=bool)
    reach[edges[:, 0], edges[:, 1]] = True
    for k in range(n):
        reach |= reach[:, [k]] & reach[[k], :]
    return reach


def check_missing(problem, fit, blocks, tol):
    """The hits of a problem with zero weights (``--missing``)."""
    y, w, edges, grid = problem["y"], problem["w"], problem["edges"], problem["grid"]
    n = y.shape[0]
    hits = []
    positive = np.flatnonzero(w > 0)
    reach = below(n, edges)
    u, v = np.nonzero(reach[np.ix_(positive, positive)])
    exact = exact_isotonic(y[positive], np.column_stack([u, v]), w[positive])
    expected = np.empty(n)
    expected[positive] = [float(value) for value in exact]
    for z in np.flatnonzero(w == 0):
        lower = positive[reach[z, positive]]
        expected[z] = (expected[lower].max() if lower.size
                       else expected[positive].min())
    fits = [("dag", fit, blocks)]
    if grid is not None:
        shape, directions = grid
        g_fit, g_blocks = isotree.grid_isotonic_regression(
            y.reshape(shape), weights=w.reshape(shape), increasing=directions,
            return_blocks=True)
        fits.append(("grid", g_fit.ravel(), g_blocks.ravel()))
    for name, f, labels in fits:
        err = float(np.abs(f - expected).max())
        if not np.all(np.isfinite(f)) or err > tol:
            hits.append((f"{name} missing", f"max error {err:.3g} (tol {tol:.3g})"))
        for label in np.unique(labels[positive]):
            members = positive[labels[positive] == label]
            if members[0] != label:
                hits.append((f"{name} missing labels",
                             f"block {label} has smallest positive member {members[0]}"))
                break
        source = labels[w == 0]
        if np.any(w[source] == 0) or np.any(f[w == 0] != f[source]):
            hits.append((f"{name} missing labels", "a missing node's label is not its source"))
    if edges.size:
        gap = 2 * float(np.max(fit[edges[:, 1]] / 2 - fit[edges[:, 0]] / 2))
        if gap > 2 * ulp(float(np.abs(y).max())):
            hits.append(("infeasible", f"an edge broken by {gap:.3g}"))
    return hits


def run(seed):
    problem = draw(seed)
    try:
        return seed, check(problem)
    except Exception as error:  # a crash is a hit too
        return seed, [("exception", f"{type(error).__name__}: {error}")]


def _worker(tasks, results, settings):
    configure(*settings)
    while True:
        seed = tasks.get()
        if seed is None:
            return
        results.put(("start", os.getpid(), seed, None))
        results.put(("done", os.getpid()) + run(seed))


def run_all(seeds, n_workers, timeout, settings):
    """Yield ``(seed, hits)`` for every seed; ``hits`` is None for a problem that ran past
    ``timeout`` seconds or crashed its worker (which is then replaced)."""
    ctx = multiprocessing.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for seed in seeds:
        tasks.put(seed)
    workers = {}
    busy = {}  # pid -> (seed, start time)

    def start_worker():
        process = ctx.Process(target=_worker, args=(tasks, results, settings), daemon=True)
        process.start()
        workers[process.pid] = process

    for _ in range(n_workers):
        start_worker()
    remaining = len(seeds)
    while remaining:
        try:
            kind, pid, seed, hits = results.get(timeout=1.0)
        except queue.Empty:
            kind = None
        if kind == "start":
            busy[pid] = (seed, time.perf_counter())
        elif kind == "done":
            busy.pop(pid, None)
            remaining -= 1
            yield seed, hits
        now = time.perf_counter()
        for pid, process in list(workers.items()):
            seed, since = busy.get(pid, (None, now))
            stuck = seed is not None and now - since > timeout
            crashed = not process.is_alive()
            if stuck or crashed:
                process.kill()
                process.join()
                del workers[pid]
                busy.pop(pid, None)
                start_worker()
                if seed is not None:
                    remaining -= 1
                    yield seed, None
    for _ in workers:
        tasks.put(None)


def describe(problem):
    return (f"seed {problem['seed']}: {problem['shape']}, n={problem['n']}, values "
            f"{problem['values']}, weights {problem['weights']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per problem")
    parser.add_argument("--replay", type=int, default=None)
    parser.add_argument("--extreme", action="store_true",
                        help="weight ratios to 1e-60 and weights spanning 1e-300 .. 1e300")
    parser.add_argument("--missing", action="store_true",
                        help="a share of the weights 0 (missing observations)")
    args = parser.parse_args()
    settings = (args.extreme, args.missing)
    configure(*settings)
    if args.replay is not None:
        problem = draw(args.replay)
        print(describe(problem))
        np.set_printoptions(precision=17)
        print("y =", repr(problem["y"]), "\nw =", repr(problem["w"]), "\nedges =",
              problem["edges"].tolist(), "\ngrid =", problem["grid"])
        traceback.print_exc = traceback.print_exc
        print(check(problem))
        return
    seeds = list(range(args.seed, args.seed + args.problems))
    start = time.perf_counter()
    by_category = {}
    hung = []
    for seed, hits in run_all(seeds, args.workers, args.timeout, settings):
        if hits is None:
            hung.append(seed)
        for category, detail in hits or ():
            by_category.setdefault(category, []).append((seed, detail))
    elapsed = time.perf_counter() - start
    total = sum(len(v) for v in by_category.values())
    print(f"{args.problems} problems (seeds {args.seed}..{args.seed + args.problems - 1}) in "
          f"{elapsed:.0f} s: {total} hits, {len(hung)} hangs")
    for category, items in sorted(by_category.items()):
        print(f"  {category}: {len(items)}")
        for seed, detail in items[:5]:
            print(f"    {describe(draw(seed))}: {detail}")
    if hung:
        print("  hangs (seeds):", hung[:20])
    sys.exit(1 if total or hung else 0)


if __name__ == "__main__":
    main()
