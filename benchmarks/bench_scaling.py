"""Scaling with n (10^3 ... 10^7) and peak memory per node: chain, random tree, star.

Run:  python benchmarks/bench_scaling.py [--quick]

Times each solver back to back at every size next to its peer (SciPy for chains, Higra for
trees up to 10^6, ``np.sort`` for the star) and the memory floor, and fits the exponent of
time ~ n^k by least squares on log-log (over all sizes, and over n >= 10^5 where fixed
per-call costs no longer dominate). Peak memory: each solver runs once on a large input in a
fresh process; the peak resident set (Linux: ``VmHWM`` after resetting it through
``/proc/self/clear_refs``; elsewhere ``getrusage`` max RSS; both see Numba's allocations,
which tracemalloc does not) minus the resident set after the imports, the input and a
warm-up call, per node. Writes benchmarks/results/scaling.{json,md,png}.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
from _timing import HERE, ROOT, Report, floors, measure, parse_args, run_parts, supported, timings
from bench_core import higra_tree, random_tree
from scipy.optimize import isotonic_regression as scipy_isotonic

import isotree


def chain(rng, n):
    y = np.linspace(0, 3, n) + rng.normal(size=n)
    return {"isotree": lambda: isotree.isotonic_regression(y),
            "SciPy": lambda: scipy_isotonic(y), **floors(y)}, "SciPy"


def tree(rng, n):
    parent = random_tree(rng, n)
    y = rng.normal(size=n)
    t = isotree.Tree(parent)
    funcs = {"isotree": lambda: isotree.tree_isotonic_regression(y, t, increasing=False),
             **floors(y)}
    if n > 1_000_000:
        return funcs, None  # Higra takes seconds per call there
    import higra as hg

    hg_tree, position = higra_tree(parent)
    y_hg = np.empty(n)
    y_hg[position] = y
    funcs["Higra"] = lambda: hg.tree_monotonic_regression(hg_tree, y_hg, "least_square")
    return funcs, "Higra"


def star(rng, n):
    y = rng.normal(size=n)
    y[0] = 0.0
    one_thread = supported(isotree.star_isotonic_regression, workers=1)
    return {"isotree": lambda: isotree.star_isotonic_regression(y, root=0, **one_thread),
            "np.sort": lambda: np.sort(y), **floors(y)}, "np.sort"


SOLVERS = {"chain": chain, "random recursive tree, random labels (Tree reused)": tree,
           "star": star}


def exponent(sizes, times):
    sizes, times = np.asarray(sizes, float), np.asarray(times, float)
    if sizes.size < 2:
        return None
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def scaling(report, quick):
    sizes = [10**3, 10**4, 10**5] if quick else [10**3, 10**4, 10**5, 10**6, 10**7]
    rng = np.random.default_rng(7)
    summary = []
    for name, make in SOLVERS.items():
        measured = {"isotree": [], "peer": []}
        peer = None
        for n in sizes:
            funcs, peer_n = make(rng, n)
            rounds = 7 if n <= 10**5 else (5 if n <= 10**6 else 3)
            r = measure(funcs, "back-to-back", rounds=rounds, paired=n >= 10**6)
            report.add(f"scaling: {name}", n=n, **timings(r, peer_n, elements=n))
            measured["isotree"].append((n, r["s"]["isotree"]))
            if peer_n:
                peer = peer_n
                measured["peer"].append((n, r["s"][peer_n]))
        for who, points in measured.items():
            if not points:
                continue
            ns, ts = zip(*points)
            big = [(n, t) for n, t in points if n >= 10**5]
            k_all = exponent(ns, ts)
            k_big = exponent(*zip(*big)) if len(big) >= 2 else None
            label = "isotree" if who == "isotree" else peer
            summary.append([name, label, f"{ns[0]:g} ... {ns[-1]:g}", f"{k_all:.3f}",
                            "" if k_big is None else f"{k_big:.3f}"])
            report.extra.setdefault("exponents", []).append(
                {"solver": name, "who": label, "sizes": list(ns), "exponent_all": k_all,
                 "exponent_n_ge_1e5": k_big})
    report.table("Fitted exponent k of time ~ n^k (least squares on log-log)",
                 ["solver", "who", "sizes", "k (all sizes)", "k (n >= 1e5)"], summary)


MEMORY_PROBE = """
import ctypes, inspect, json, resource, sys
import numpy as np
sys.path[:0] = [{root!r}, {here!r}]
import isotree
from bench_core import random_tree
kind, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
y = rng.normal(size=n)
if kind == "chain":
    solve = lambda y: isotree.isotonic_regression(y)
elif kind == "tree":
    tree = isotree.Tree(random_tree(rng, n))
    small = isotree.Tree(np.array([-1, 0, 0]))
    solve = lambda y: isotree.tree_isotonic_regression(y, tree if y.size == n else small)
else:
    takes = inspect.signature(isotree.star_isotonic_regression).parameters
    one = {{"workers": 1}} if "workers" in takes else {{}}
    solve = lambda y: isotree.star_isotonic_regression(y, root=0, **one)
solve(rng.normal(size=3))  # compile / load the kernels
try:  # hand freed heap pages back, so the solve cannot reuse set-up memory unseen
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass
def peak_kib():
    # VmHWM: this process's resident high-water mark, which clear_refs resets. getrusage's
    # ru_maxrss is the fallback: it also keeps the peak of threads that have exited, which
    # can hide the solve's own peak.
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # reset the high-water mark (Linux), so temporaries of the set-up do not hide the peak
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
before = peak_kib()
fit = solve(y)
after = peak_kib()
print(json.dumps(dict(bytes_per_node=(after - before) * 1024 / n, reset=reset)))
"""


def memory(report, quick):
    n = 1_000_000 if quick else 4_000_000
    rows = []
    for kind, label in (("chain", "chain"), ("tree", "random recursive tree (Tree given)"),
                        ("star", "star")):
        code = MEMORY_PROBE.format(root=ROOT, here=HERE)
        # A fixed mmap threshold: large blocks always come fresh from the kernel (and go back
        # when freed), so every byte the solve touches shows in the resident set.
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
        out = subprocess.run([sys.executable, "-c", code, kind, str(n)], capture_output=True,
                             text=True, check=True, env=env)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        report.add(f"peak memory per node: {label}", n=n, pattern="one-call", isotree_s=None,
                   per_element=False,
                   metric="peak extra resident bytes per node (output included)",
                   value=r["bytes_per_node"], unit="B/node", high_water_mark_reset=r["reset"])
        rows.append([label, f"{n:g}", f"{r['bytes_per_node']:.1f} B/node",
                     "yes" if r["reset"] else "no (baseline is the set-up's peak)"])
    report.table("Peak extra memory of one solve (float64 input: 8 B/node; output included)",
                 ["solver", "n", "peak extra", "high-water mark reset"], rows)


def plot(cases, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    names = list(dict.fromkeys(c["name"] for c in cases if c["name"].startswith("scaling")))
    for i, name in enumerate(names):
        rows = [c for c in cases if c["name"] == name]
        color = f"C{i}"
        label = name.removeprefix("scaling: ")
        ax.plot([c["n"] for c in rows], [c["isotree_ns_per_element"] for c in rows], "o-",
                color=color, label=f"isotree {label}")
        peers = [c for c in rows if c["peer_s"]]
        if peers:
            ax.plot([c["n"] for c in peers], [c["peer_ns_per_element"] for c in peers], "s--",
                    color=color, alpha=0.6, label=f"{peers[0]['peer']} ({label})")
        ax.plot([c["n"] for c in rows], [c["floor_ns_per_element"] for c in rows], ":",
                color=color, alpha=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("ns per element (dotted: memory floor)")
    ax.set_title(textwrap.fill(title, 130), fontsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main():
    args = parse_args(__doc__.splitlines()[0])
    report = Report("scaling", args)
    run_parts((scaling, memory), report, args.quick)
    report.finish(plot=plot)


if __name__ == "__main__":
    main()
