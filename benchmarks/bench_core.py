"""Chains and trees against SciPy, scikit-learn and Higra: same data, same run, ratios.

Run:  pip install -e ".[bench]" && python benchmarks/bench_core.py [--quick]

Cases: 256 x 100 batched chains back to back and each call after 20 ms
of other work, on the machine as it is and with a second process spinning on one core;
weighted chains of 10^6 in paired runs against SciPy and scikit-learn; a random recursive
tree of 10^6 nodes with a random labelling against Higra; the per-call overhead at n = 10.
Every case is timed in every pattern of ``_timing.PATTERNS`` next to the memory floor.
Writes benchmarks/results/core.{json,md,png}. Ratios below 1 mean isotree is faster.
"""

from contextlib import nullcontext

import numpy as np
from _timing import PATTERNS, Report, busy_core, floors, measure, parse_args, run_parts, timings
from scipy.optimize import isotonic_regression as scipy_isotonic

import isotree


def chain_batch(report, quick, rng):
    """256 x 100 chains: isotree's default threads against a SciPy loop over the rows."""
    y = rng.normal(size=(256, 100)) + np.linspace(0, 2, 100)
    expected = np.stack([scipy_isotonic(row).x for row in y])
    np.testing.assert_allclose(isotree.isotonic_regression(y), expected, atol=1e-12)
    funcs = {
        "isotree": lambda: isotree.isotonic_regression(y),
        "SciPy loop over rows": lambda: np.stack([scipy_isotonic(row).x for row in y]),
        "np.sort(axis=1)": lambda: np.sort(y, axis=1),
        **floors(y),
    }
    rounds = {"back-to-back": 9 if quick else 31, "after-sleep": 11 if quick else 61,
              "after-work": 11 if quick else 61}
    for condition in ("machine as is", "one core busy"):
        with busy_core() if condition == "one core busy" else nullcontext() as note:
            results = {pattern: measure(funcs, pattern, rounds[pattern]) for pattern in PATTERNS}
        back = results["back-to-back"]
        name = "256 x 100 chains"
        for pattern, r in results.items():
            common = dict(n=100, rows=256, pattern=pattern, condition=condition, busy=note)
            report.add(name, **common, **timings(r, "SciPy loop over rows", elements=y.size),
                       target=[("ratio", "<=", 0.1)])
            report.add(name, **common, **timings(r, "np.sort(axis=1)", elements=y.size))
            if pattern != "back-to-back":
                # Against the median back-to-back time of the same condition.
                report.add(name, **common, **timings(r, elements=y.size),
                           peer="isotree back-to-back", peer_s=back["s"]["isotree"],
                           peer_iqr_s=back["spread"]["isotree"],
                           target=[("ratio", "<=", 2.0)])


def chain_weighted(report, quick, rng):
    """Weighted chains of 10^6, paired call by call with SciPy and scikit-learn."""
    from sklearn.isotonic import isotonic_regression as sk_isotonic

    n = 100_000 if quick else 1_000_000
    w = rng.uniform(0.1, 2.0, n)
    data = {
        "trend + noise": np.linspace(0, 3, n) + rng.normal(size=n),
        "pure noise": rng.normal(size=n),
        "random walk": rng.normal(size=n).cumsum(),
    }
    for kind, y in list(data.items())[:1 if quick else None]:
        fit = isotree.isotonic_regression(y, weights=w)
        np.testing.assert_allclose(fit, scipy_isotonic(y, weights=w).x, atol=1e-9)
        np.testing.assert_allclose(fit, sk_isotonic(y, sample_weight=w), atol=1e-9)
        funcs = {
            "isotree": lambda: isotree.isotonic_regression(y, weights=w),
            "SciPy": lambda: scipy_isotonic(y, weights=w),
            "scikit-learn": lambda: sk_isotonic(y, sample_weight=w),
            **floors(y, w),
        }
        for pattern in PATTERNS:
            r = measure(funcs, pattern, rounds=5 if quick else 21, paired=True)
            for peer in ("SciPy", "scikit-learn"):
                report.add(f"chain weighted, {kind}", n=n, pattern=pattern,
                           **timings(r, peer, elements=n), target=[("ratio", "<=", 0.6)],
                           pairing="call by call")


def random_tree(rng, n):
    """A random recursive tree (node i hangs below a uniform earlier node) whose labels are
    then shuffled, so the parent array is in no useful order."""
    parent = np.concatenate([[-1], (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)])
    label = rng.permutation(n)
    shuffled = np.empty(n, dtype=np.int64)
    shuffled[label] = np.where(parent >= 0, label[np.maximum(parent, 0)], -1)
    return shuffled


def top_down_order(parent):
    """Nodes level by level from the roots (parents before children), in NumPy."""
    n = parent.shape[0]
    has_parent = parent >= 0
    children = np.argsort(np.where(has_parent, parent, n), kind="stable")
    counts = np.bincount(parent[has_parent], minlength=n)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    frontier = np.flatnonzero(~has_parent)
    levels = [frontier]
    while frontier.size:
        c = counts[frontier]
        offsets = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        frontier = children[np.repeat(start[frontier], c) + offsets]
        levels.append(frontier)
    return np.concatenate(levels)


def higra_tree(parent):
    """Higra's labelling of the same tree: leaves first, then internal nodes, root last.

    Returns the Higra tree and ``position`` with ``position[i]`` = Higra's index of node i.
    """
    import higra as hg

    n = parent.shape[0]
    order = top_down_order(parent)[::-1]  # children before parents, root last
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    new_order = np.concatenate([order[~has_child[order]], order[has_child[order]]])
    position = np.empty(n, dtype=np.int64)
    position[new_order] = np.arange(n)
    hg_parent = np.where(parent[new_order] >= 0, position[np.maximum(parent[new_order], 0)],
                         np.arange(n))
    return hg.Tree(hg_parent), position


def tree_vs_higra(report, quick, rng):
    import higra as hg

    n = 100_000 if quick else 1_000_000
    parent = random_tree(rng, n)
    y = rng.normal(size=n)
    w = rng.uniform(0.1, 2.0, n)
    tree = isotree.Tree(parent)
    hg_tree, position = higra_tree(parent)  # conversion outside the timed region
    y_hg = np.empty(n)
    w_hg = np.empty(n)
    y_hg[position] = y
    w_hg[position] = w
    # Higra's order: parent >= child, i.e. isotree's increasing=False.
    fit = isotree.tree_isotonic_regression(y, tree, weights=w, increasing=False)
    fit_hg = hg.tree_monotonic_regression(hg_tree, y_hg, "least_square", w_hg)
    np.testing.assert_allclose(fit, fit_hg[position], atol=1e-9)
    funcs = {
        "isotree": lambda: isotree.tree_isotonic_regression(y, tree, weights=w,
                                                            increasing=False),
        "isotree parent array": lambda: isotree.tree_isotonic_regression(
            y, parent, weights=w, increasing=False),
        "Higra": lambda: hg.tree_monotonic_regression(hg_tree, y_hg, "least_square", w_hg),
        **floors(y, w),
    }
    build = measure({"Tree": lambda: isotree.Tree(parent)}, "back-to-back", 3, paired=True)
    report.add("Tree(parent), random recursive tree, random labels", n=n,
               **timings(build, isotree="Tree", elements=n))
    for pattern in PATTERNS:
        r = measure(funcs, pattern, rounds=3 if quick else 7, paired=True)
        report.add("random recursive tree, random labels, Tree reused", n=n, pattern=pattern,
                   **timings(r, "Higra", elements=n), target=[("ratio", "<=", 0.25)])
        report.add("random recursive tree, random labels, parent array", n=n, pattern=pattern,
                   **timings(r, "Higra", isotree="isotree parent array", elements=n))


def overhead(report, quick, rng):
    """Per-call overhead: a chain of 10."""
    y = rng.normal(size=10)
    funcs = {"isotree": lambda: isotree.isotonic_regression(y),
             "SciPy": lambda: scipy_isotonic(y), **floors(y)}
    rounds = {"back-to-back": 9 if quick else 31, "after-sleep": 11 if quick else 61,
              "after-work": 11 if quick else 61}
    for pattern in PATTERNS:
        r = measure(funcs, pattern, rounds[pattern])
        report.add("per-call overhead, chain n=10", n=10, pattern=pattern,
                   **timings(r, "SciPy", elements=y.size),
                   target=[("isotree_us", "<=", 10)] if pattern == "back-to-back" else ())


def main():
    args = parse_args(__doc__.splitlines()[0])
    report = Report("core", args)
    rng = np.random.default_rng(12345)
    run_parts((overhead, chain_batch, chain_weighted, tree_vs_higra), report, args.quick, rng)
    report.finish()


if __name__ == "__main__":
    main()
