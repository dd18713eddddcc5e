"""First call of every public function in a fresh process, with a cold and a warm cache.

Run:  python benchmarks/bench_first_call.py [--quick]

Each function runs in its own ``python -c`` process with ``NUMBA_CACHE_DIR`` pointed at a
fresh empty folder (cold: Numba compiles everything the call needs); the same folder is
then reused by new processes (warm: the compiled kernels load from the cache). Reported:
the first call's time (inputs built beforehand, ``import isotree`` timed separately), the
second call's, and the whole process. Target: <= 0.5 s warm for every public function.
Writes benchmarks/results/first_call.{json,md,png}.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

from _timing import ROOT, Report, parse_args

import isotree

PROBE = """
import json, time
start = time.perf_counter()
import numpy as np
import isotree, isotree.ida
imported = time.perf_counter() - start
rng = np.random.default_rng(0)
y = rng.normal(size=100)
x = rng.integers(0, 20, 100).astype(float)
parent = np.concatenate([[-1], rng.integers(0, np.arange(1, 100))])
a = rng.integers(0, 10, 32)
b = (a + 1 + rng.integers(0, 9, 32)) % 10
mass = isotree.ida.mixup_mass(a, b, rng.uniform(0.55, 0.95, 32), 10)
{setup}
start = time.perf_counter()
{call}
first = time.perf_counter() - start
start = time.perf_counter()
{call}
second = time.perf_counter() - start
print(json.dumps(dict(import_s=imported, first_s=first, second_s=second)))
"""

# label -> (setup, call); inputs are small: the point is what the first call compiles/loads.
FUNCTIONS = {
    "isotonic_regression (chain)": ("", "isotree.isotonic_regression(y)"),
    "isotonic_regression (x=, ties='primary')": (
        "", "isotree.isotonic_regression(y, x=x, ties='primary')"),
    "isotonic_regression (x=, ties='secondary')": (
        "", "isotree.isotonic_regression(y, x=x, ties='secondary')"),
    "isotonic_regression (x=, ties='tertiary')": (
        "", "isotree.isotonic_regression(y, x=x, ties='tertiary')"),
    "tree_isotonic_regression": ("", "isotree.tree_isotonic_regression(y, parent)"),
    "Tree": ("", "isotree.Tree(parent)"),
    "star_isotonic_regression": ("", "isotree.star_isotonic_regression(y, root=0)"),
    # A constant fit is feasible, so the certificate has real work without a solve first.
    "kkt_violation": ("fit = np.full(100, y.mean())",
                      "isotree.kkt_violation(y, fit, parent)"),
    **{f"ida.isotonic_logits ({method}, {dtype})": (
        f"logits = rng.normal(size=(32, 10)).astype(np.{dtype})",
        f"isotree.ida.isotonic_logits(logits, mass, method='{method}')")
       for method in ("exact", "approx", "shift") for dtype in ("float32", "float64")},
    "ida.order_violations": ("logits = rng.normal(size=(32, 10))",
                             "isotree.ida.order_violations(logits, mass)"),
    "ida.mixup_mass": ("", "isotree.ida.mixup_mass(a, b, 0.7, 10)"),
}
if hasattr(isotree, "dag_isotonic_regression"):
    FUNCTIONS["dag_isotonic_regression"] = (
        "edges = np.stack([np.arange(1, 100), np.arange(99)], axis=1)",
        "isotree.dag_isotonic_regression(y, edges)")

QUICK = ("isotonic_regression (chain)", "star_isotonic_regression", "ida.mixup_mass")


def probe(setup, call, cache_dir):
    """Run one fresh process; returns its JSON record plus the whole process's time."""
    code = PROBE.format(setup=setup, call=call)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    took = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(f"{call} failed in a fresh process:\n{out.stderr}")
    record = json.loads(out.stdout.strip().splitlines()[-1])
    record["process_s"] = took
    return record


def plot(cases, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(c["name"] for c in cases))
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(names) + 1.5))
    for offset, condition, color in ((-0.2, "cold cache", "#c44e52"),
                                     (0.2, "warm cache", "#4c72b0")):
        times = {c["name"]: c["isotree_s"] for c in cases if c["condition"] == condition}
        ax.barh([i + offset for i in range(len(names))], [times.get(n, 0) for n in names],
                height=0.4, color=color, label=condition)
    ax.axvline(0.5, color="k", lw=1, ls="--", label="target (warm): 0.5 s")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("first call in a fresh process (s)")
    ax.set_title(textwrap.fill(title, 130), fontsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main():
    args = parse_args(__doc__.splitlines()[0])
    report = Report("first_call", args)
    labels = QUICK if args.quick else tuple(FUNCTIONS)
    warm_runs = 1 if args.quick else 3
    for label in labels:
        setup, call = FUNCTIONS[label]
        with tempfile.TemporaryDirectory(prefix="isotree-numba-cache-") as cache_dir:
            cold = probe(setup, call, cache_dir)
            # Several fresh processes on the populated cache; the median one counts.
            warm = sorted((probe(setup, call, cache_dir) for _ in range(warm_runs)),
                          key=lambda r: r["first_s"])[warm_runs // 2]
        for condition, r in (("cold cache", cold), ("warm cache", warm)):
            report.add(label, n=100, pattern="first-call", condition=condition,
                       isotree_s=r["first_s"], per_element=False, call=call,
                       second_call_s=r["second_s"], import_s=r["import_s"],
                       process_s=r["process_s"],
                       target=[("isotree_s", "<=", 0.5)] if condition == "warm cache" else ())
    report.table("First call, second call, import and whole process (s)",
                 ["function", "cache", "first call", "second call", "import isotree",
                  "process"],
                 [[c["name"], c["condition"], f"{c['isotree_s']:.3f}",
                   f"{c['second_call_s']:.4f}", f"{c['import_s']:.3f}", f"{c['process_s']:.2f}"]
                  for c in report.cases])
    report.finish(plot=plot)


if __name__ == "__main__":
    main()
