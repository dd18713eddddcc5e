"""
isotree against its peers
=========================

Time per element, isotree (blue) against a peer (grey) on the same data in the same run;
shorter is faster. Each label is the ratio isotree time / peer time, as everywhere on the
benchmarks page: below 1, isotree is faster. The peers are SciPy and scikit-learn for
chains, Higra for trees and stars, and plain NumPy or a Python loop for the IDA
projection. :doc:`/benchmarks` describes each case, the machine and the methods.

The chart reads the benchmark results in ``benchmarks/results/*.json`` when there are any
(written by the benchmark scripts), and otherwise the reference measurements shipped next
to this example, ``examples/benchmarks/reference_results.json``. A results file is JSON of
this shape (extra keys are ignored)::

    {
      "machine": {"cpu": "...", "python": "3.11.7", "numpy": "2.4.6", ...},
      "cases": [
        {"name": "chain, n = 10^6, weighted, trend + noise",
         "isotree_ns_per_element": 13.1,
         "peer": "SciPy isotonic_regression",
         "peer_ns_per_element": 19.2},
        ...
      ]
    }

``name`` says what is solved, ``peer`` what isotree is compared with, and the two times are
wall-clock nanoseconds per input element (median of repeated runs); an optional ``ratio``
(the benchmark scripts write the median of per-call ratios) labels the bar, else the ratio
of the two times. From the benchmark scripts' files the chart takes each targeted
comparison timed back to back; their other rows (calls after a pause, first calls,
memory) are in the files and on the benchmarks page. Cases of all files are drawn in
file-name order; the machine of the first file is printed.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

try:
    here = Path(__file__).resolve().parent
except NameError:  # run cell by cell in a notebook: assume the repository's examples/benchmarks
    here = Path.cwd()
results = sorted((here.parents[1] / "benchmarks" / "results").glob("*.json"))
if not results:
    results = [here / "reference_results.json"]
loaded = [json.loads(path.read_text()) for path in results]


def drawn(case):
    """The headline comparisons: back-to-back timings of a case against its named peer
    (result files also hold other patterns, first calls and memory, without a peer time)."""
    if case.get("pattern", "back-to-back") != "back-to-back":
        return False
    if "pattern" in case and not case.get("target"):
        return False  # supporting rows (extra peers) of a results file
    times = (case.get("isotree_ns_per_element"), case.get("peer_ns_per_element"))
    return all(isinstance(t, (int, float)) and t > 0 for t in times)


cases = [case for data in loaded for case in data["cases"] if drawn(case)]
print("results:", ", ".join(path.name for path in results))
print("machine:", ", ".join(f"{k} {v}" for k, v in loaded[0].get("machine", {}).items()))

ours = np.array([case["isotree_ns_per_element"] for case in cases])
peers = np.array([case["peer_ns_per_element"] for case in cases])
labels = [f"{case['name']}" + (f" ({case['condition']})" if case.get("condition") else "")
          + f"\nvs {case['peer']}" for case in cases]
rows = np.arange(len(cases))[::-1]

fig, ax = plt.subplots(figsize=(8, 0.6 * len(cases) + 1.2))
ax.barh(rows + 0.2, peers, height=0.38, color="0.75", label="peer")
ax.barh(rows - 0.2, ours, height=0.38, color="C0", label="isotree")
# The benchmark scripts record each case's ratio as the median of per-call ratios (the
# number in the tables); the reference file has only the times.
ratios = [case.get("ratio") or case["isotree_ns_per_element"] / case["peer_ns_per_element"]
          for case in cases]
for row, t_ours, t_peer, ratio in zip(rows, ours, peers, ratios):
    ax.text(max(t_ours, t_peer) * 1.15, row, f"{ratio:.2g}", va="center", fontsize=9)
ax.set_xscale("log")
ax.set_xlim(right=max(peers.max(), ours.max()) * 8)
ax.set(yticks=rows, xlabel="nanoseconds per element (log scale, shorter is faster)")
ax.set_yticklabels(labels, fontsize=9)
ax.legend(loc="upper right")
ax.set_title("isotree against its peers, same data, same run\n"
             "labels: isotree time / peer time (below 1: isotree is faster)", fontsize=10)
fig.tight_layout()
plt.show()
