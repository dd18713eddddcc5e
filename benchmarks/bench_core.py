"""Chains and trees against SciPy, scikit-learn and Higra: same data, same run, ratios.

Run:  pip install -e ".[bench]" && python benchmarks/bench_core.py
Prints a markdown table (median of >= 5 runs each) and writes benchmarks/results/core.png
and core.md. Ratios < 1 mean isotree is faster.
"""

import os
from importlib import metadata
import platform
import subprocess
import sys

import numpy as np
import scipy
from scipy.optimize import isotonic_regression as scipy_isotonic

import isotree
from _timing import median_time, print_table

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def higra_tree(parent):
    """Higra's labelling of the same tree: leaves first, then internal nodes, root last.

    Returns the Higra tree and ``position`` with ``position[i]`` = Higra's index of node i.
    """
    import higra as hg

    n = parent.shape[0]
    order = isotree.Tree(parent).order[::-1]  # children before parents, root last
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    new_order = np.concatenate([order[~has_child[order]], order[has_child[order]]])
    position = np.empty(n, dtype=np.int64)
    position[new_order] = np.arange(n)
    hg_parent = np.where(parent[new_order] >= 0, position[np.maximum(parent[new_order], 0)],
                         np.arange(n))
    return hg.Tree(hg_parent), position


def chain_rows(rng):
    n = 1_000_000
    w = rng.uniform(0.1, 2.0, n)
    data = {
        "trend + noise": np.linspace(0, 3, n) + rng.normal(size=n),
        "pure noise": rng.normal(size=n),
        "random walk": rng.normal(size=n).cumsum(),
    }
    rows = []
    for name, y in data.items():
        ours = median_time(lambda: isotree.isotonic_regression(y, w))
        theirs = median_time(lambda: scipy_isotonic(y, weights=w))
        assert np.allclose(isotree.isotonic_regression(y, w), scipy_isotonic(y, weights=w).x)
        rows.append([f"chain n=1e6 weighted, {name}", "SciPy", f"{ours * 1e3:.2f} ms",
                     f"{theirs * 1e3:.2f} ms", f"{ours / theirs:.2f}", "<= 0.8"])
    try:
        from sklearn.isotonic import isotonic_regression as sk_isotonic
        y = data["trend + noise"]
        ours = median_time(lambda: isotree.isotonic_regression(y, w))
        theirs = median_time(lambda: sk_isotonic(y, sample_weight=w))
        rows.append(["chain n=1e6 weighted, trend + noise", "scikit-learn",
                     f"{ours * 1e3:.2f} ms", f"{theirs * 1e3:.2f} ms", f"{ours / theirs:.2f}", ""])
    except ImportError:
        pass
    y = rng.normal(size=(256, 100)) + np.linspace(0, 2, 100)
    ours = median_time(lambda: isotree.isotonic_regression(y), repeat=21)
    theirs = median_time(lambda: [scipy_isotonic(row) for row in y], repeat=7)
    rows.append(["256 x 100 batched", "SciPy per-row loop", f"{ours * 1e3:.3f} ms",
                 f"{theirs * 1e3:.2f} ms", f"{ours / theirs:.3f} ({theirs / ours:.0f}x faster)",
                 ">= 10x faster"])
    return rows


def tree_rows(rng):
    import higra as hg

    n = 1_000_000
    shapes = {
        "random recursive": np.concatenate(
            [[-1], (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)]),
        "star": np.concatenate([[-1], np.zeros(n - 1, dtype=np.int64)]),
    }
    targets = {"random recursive": "<= 0.4", "star": "<= 0.5"}
    rows = []
    for name, parent in shapes.items():
        y = rng.normal(size=n) + 0.1 * rng.normal(size=n).cumsum()
        w = rng.uniform(0.1, 2.0, n)
        tree = isotree.Tree(parent)
        hg_tree, position = higra_tree(parent)  # conversion outside the timed region
        y_hg = np.empty(n)
        w_hg = np.empty(n)
        y_hg[position] = y
        w_hg[position] = w
        fit = isotree.tree_isotonic_regression(y, tree, w, increasing=False)
        fit_hg = hg.tree_monotonic_regression(hg_tree, y_hg, "least_square", w_hg)
        assert np.allclose(fit, fit_hg[position], atol=1e-9)
        ours = median_time(lambda: isotree.tree_isotonic_regression(y, tree, w, increasing=False),
                           repeat=5)
        ours_raw = median_time(
            lambda: isotree.tree_isotonic_regression(y, parent, w, increasing=False), repeat=5)
        theirs = median_time(
            lambda: hg.tree_monotonic_regression(hg_tree, y_hg, "least_square", w_hg), repeat=5)
        rows.append([f"tree n=1e6 {name} (Tree reused)", "Higra", f"{ours * 1e3:.1f} ms",
                     f"{theirs * 1e3:.1f} ms", f"{ours / theirs:.2f}", targets[name]])
        rows.append([f"tree n=1e6 {name} (parent array)", "Higra", f"{ours_raw * 1e3:.1f} ms",
                     f"{theirs * 1e3:.1f} ms", f"{ours_raw / theirs:.2f}", targets[name]])
    return rows


# Peak resident memory of the solve alone: Linux resets the high-water mark (VmHWM) when
# "5" is written to /proc/self/clear_refs.
MEMORY_PROBE = """
import sys, numpy as np, isotree
def rss(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field))
n = int(sys.argv[1])
rng = np.random.default_rng(0)
parent = np.concatenate([[-1], (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)])
y = rng.normal(size=n)
tree = isotree.Tree(parent)
isotree.tree_isotonic_regression(y[:3], [-1, 0, 0])  # compile / load the kernel
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = rss("VmRSS")
fit = isotree.tree_isotonic_regression(y, tree)
print((rss("VmHWM") - before) / n)
"""


def memory_row():
    n = 2_000_000
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(n)], capture_output=True,
                         text=True, check=True)
    per_node = float(out.stdout.strip())
    return ["peak extra memory, tree solver (one row, Tree given, output included)", "",
            f"{per_node:.0f} B/node",
            "", "", ""]


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in rows if r[4] and r[3]]
    labels = [f"{r[0]}\nvs {r[1]}" for r in timed]
    ratios = [float(r[4].split()[0]) for r in timed]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(timed) + 1.2))
    ax.barh(range(len(timed)), ratios, color="#4c72b0")
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(range(len(timed)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio isotree / peer (lower is faster)")
    ax.set_xscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    os.makedirs(RESULTS, exist_ok=True)
    rng = np.random.default_rng(12345)
    versions = (f"isotree {isotree.__version__}, numpy {np.__version__}, scipy "
                f"{scipy.__version__}, higra {metadata.version('higra')}, python "
                f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print(versions)
    rows = chain_rows(rng) + tree_rows(rng) + [memory_row()]
    text = print_table(rows, ["case", "peer", "isotree", "peer time", "ratio", "target"])
    with open(os.path.join(RESULTS, "core.md"), "w") as f:
        f.write(versions + "\n\n" + text + "\n")
    plot(rows, os.path.join(RESULTS, "core.png"))


if __name__ == "__main__":
    main()
