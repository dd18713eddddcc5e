"""The benchmark harness: timing patterns, the memory floor, the machine record and output.

Every benchmark script lists cases; this module measures them the same way and writes
``benchmarks/results/<script>.json`` (schema below), ``<script>.md`` (the markdown table it
also prints) and ``<script>.png`` (the main table as a chart). ``--quick`` writes to
``benchmarks/results/quick/`` instead, so a check that the scripts run never overwrites the
figures of a full run.

Patterns (how a call is timed):

``back-to-back``
    The function in a tight loop of its own; the median of the calls after the first.
``after-sleep``
    Each call follows ``time.sleep(0.02)``: a caller that does something else for 20 ms.
``after-work``
    Each call follows 20 ms of busy work in the same process: small PyTorch MLP training
    steps when torch is importable (torch's own thread pool then runs on the same cores),
    else NumPy matrix products.

Functions compared in one case are measured in rounds, one timing of each per round in
turn, so slow drifts of the machine hit them alike; ``ratio`` is the median over rounds of
the per-round ratio isotree / peer.

JSON schema: ``{"machine": {...}, "cases": [{"name", "n", "rows", "dtype", "pattern",
"isotree_s", "isotree_ns_per_element", "peer", "peer_s", "peer_ns_per_element", "ratio",
"floor_ns_per_element", "target", "met", "target_bounds", ...}]}``; ``target`` is readable
text, ``target_bounds`` the same as ``[key, op, bound]`` triples on the case's values (all must
hold for ``met``). Keys that do not apply to a case are null; some cases add keys
(``condition``, ``numpy_floor_ns_per_element``, ``value``...).
"""

import argparse
import contextlib
import inspect
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Measure the checkout the script lives in (the one `git rev-parse HEAD` names), not whatever
# isotree an editable install points to.
if os.path.isdir(os.path.join(ROOT, "isotree")) and ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numba  # noqa: E402

PATTERNS = ("back-to-back", "after-sleep", "after-work")
PAUSE_S = 0.02
QUIET_LOAD = 1.5  # 1-minute load average below which a final run is worth recording


# --------------------------------------------------------------------------- options


def accepts(func, name):
    """Whether ``func`` takes a parameter called ``name`` (today's code or the new one)."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def supported(func, **kwargs):
    """``kwargs`` without the keywords ``func`` does not take (e.g. ``workers`` before it
    existed), so the scripts run against older and newer isotree alike."""
    return {key: value for key, value in kwargs.items() if accepts(func, key)}


# --------------------------------------------------------------------------- pauses


class _TorchStep:
    """A small MLP training step; calling it until 20 ms pass is the "after-work" pause."""

    def __init__(self):
        import torch

        gen = torch.Generator().manual_seed(0)
        self.torch = torch
        self.model = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(),
                                         torch.nn.Linear(256, 100))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=1e-3)
        self.x = torch.randn(256, 128, generator=gen)
        self.target = torch.randint(0, 100, (256,), generator=gen)

    def __call__(self):
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.target)
        loss.backward()
        self.opt.step()


class _NumpyStep:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.a = rng.normal(size=(128, 128))

    def __call__(self):
        self.a = np.tanh(self.a @ self.a * 0.01)


_WORK = None


def work_step():
    """The unit of busy work (a torch MLP training step, or NumPy if torch is missing)."""
    global _WORK
    if _WORK is None:
        try:
            _WORK = _TorchStep()
        except ImportError:
            _WORK = _NumpyStep()
    return _WORK


def busy_work(seconds=PAUSE_S):
    step = work_step()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        step()


def pause(pattern):
    """Run the pause that precedes each call in ``pattern`` (nothing for back-to-back)."""
    if pattern == "after-sleep":
        time.sleep(PAUSE_S)
    elif pattern == "after-work":
        busy_work()
    elif pattern != "back-to-back":
        raise ValueError(f"unknown pattern {pattern!r}")


def work_kind():
    return "torch MLP training steps" if isinstance(work_step(), _TorchStep) else "NumPy matmul"


@contextlib.contextmanager
def busy_core():
    """A second process spinning on one core (the last one this process may use) while the
    block runs: another program, or another framework's thread pool, holding a core."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    try:
        if cpus:
            os.sched_setaffinity(proc.pid, {cpus[-1]})
        time.sleep(0.2)  # let it start spinning
        yield f"busy process pinned to cpu {cpus[-1]}" if cpus else "busy process"
    finally:
        proc.terminate()
        proc.wait()


# --------------------------------------------------------------------------- measuring


def _timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _block(func, min_block_s):
    """Back-to-back calls for at least ``min_block_s`` (at least 2, at most 2000): the
    median after the first (which follows another function, not itself)."""
    times = []
    end = time.perf_counter() + min_block_s
    while len(times) < 2 or (len(times) < 2000 and time.perf_counter() < end):
        times.append(_timed(func))
    return float(np.median(times[1:]))


def measure(funcs, pattern, rounds=7, paired=False, min_block_s=0.01):
    """Time every function of ``funcs`` (name -> callable) in ``pattern``, in rounds.

    Each round times every function once in turn: one call after the pattern's pause, or in
    ``back-to-back``, a block of calls in a tight loop whose median after the first counts
    (``paired=True`` times single calls alternating call by call instead). Returns
    ``{"s": {name: median seconds}, "spread": {name: (25th, 75th percentile seconds)},
    "times": {name: array of every round's time}}``; :func:`timings` turns it into case
    fields (ratios are medians of per-round ratios).
    """
    names = list(funcs)
    for func in funcs.values():
        func()  # compile, warm the caches
    blocks = pattern == "back-to-back" and not paired
    per_round = {name: [] for name in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            func = funcs[name]
            if blocks:
                per_round[name].append(_block(func, min_block_s))
            else:
                pause(pattern)
                per_round[name].append(_timed(func))
    return {
        "s": {name: float(np.median(t)) for name, t in per_round.items()},
        "spread": {name: tuple(float(q) for q in np.percentile(t, [25, 75]))
                   for name, t in per_round.items()},
        "times": {name: np.array(t) for name, t in per_round.items()},
    }


def median_time(func, repeat=7, warmup=1):
    """Median wall time of ``func()`` over ``repeat`` back-to-back runs, after ``warmup``
    untimed runs (the simple helper bench_xp, bench_autodiff and bench_dag use)."""
    for _ in range(warmup):
        func()
    return float(np.median([_timed(func) for _ in range(repeat)]))


# --------------------------------------------------------------------------- memory floor


@numba.njit(cache=True, nogil=True)
def _copy_scaled(y, out):
    for i in range(y.size):
        out[i] = y[i] * 1.0


@numba.njit(cache=True, nogil=True)
def _copy_product(y, w, out):
    for i in range(y.size):
        out[i] = y[i] * w[i]


def floor(*inputs, out_dtype=None):
    """The memory floor of a call on ``inputs``: a one-thread Numba kernel that allocates
    the output, reads every input once and writes the output once (``y * 1`` or ``y * w``).
    A solver cannot beat it without skipping the output allocation or part of its input."""
    flat = [np.ascontiguousarray(a).reshape(-1) for a in inputs]
    dtype = out_dtype or flat[0].dtype
    if len(flat) == 1:
        (y,) = flat

        def run():
            out = np.empty(y.shape, dtype)
            _copy_scaled(y, out)
            return out
    elif len(flat) == 2:
        y, w = flat
        if w.size != y.size:
            raise ValueError("floor: inputs must have the same size")

        def run():
            out = np.empty(y.shape, dtype)
            _copy_product(y, w, out)
            return out
    else:
        raise ValueError("floor takes one or two input arrays")
    return run


def numpy_floor(y):
    """NumPy's floor: ``np.multiply(y, 1.0, out=buf)`` into a preallocated buffer."""
    y = np.ascontiguousarray(y)
    buf = np.empty_like(y)
    return lambda: np.multiply(y, 1.0, out=buf)


def floors(*inputs, out_dtype=None):
    """Both floors of a call on ``inputs``, to put next to the functions :func:`measure`
    times (names ``"floor"`` and ``"numpy floor"``); :func:`timings` reads them back."""
    return {"floor": floor(*inputs, out_dtype=out_dtype), "numpy floor": numpy_floor(inputs[0])}


def timings(result, peer=None, *, elements, isotree="isotree", peer_label=None):
    """The case fields from one :func:`measure` result: isotree's time (``isotree`` names
    which function is isotree's), the peer's and their ratio (the median of per-round
    ratios), interquartile ranges, the number of rounds, and the floors if measured."""
    times = result["times"]
    fields = {"isotree_s": result["s"][isotree], "isotree_iqr_s": result["spread"][isotree],
              "rounds": int(times[isotree].size)}
    if peer is not None:
        fields.update(peer=peer_label or peer, peer_s=result["s"][peer],
                      peer_iqr_s=result["spread"][peer],
                      ratio=float(np.median(times[isotree] / times[peer])))
    if "floor" in result["s"]:
        fields["floor_s"] = result["s"]["floor"]
    if "numpy floor" in result["s"]:
        fields["numpy_floor_ns_per_element"] = result["s"]["numpy floor"] / elements * 1e9
    return fields


# --------------------------------------------------------------------------- machine record


def _git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


@numba.njit(parallel=True, cache=True)
def _parallel_touch(a):
    for i in numba.prange(a.size):
        a[i] += 1.0


def threading_layer():
    """Numba's threading layer; it is only chosen at the first parallel call, so make one
    if isotree has not (after isotree's own calls this reports the layer it used)."""
    try:
        return numba.threading_layer()
    except ValueError:
        _parallel_touch(np.zeros(4))
        return numba.threading_layer()


def machine_start():
    import isotree

    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)benchmarks/results")
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numba_num_threads": numba.get_num_threads(),
        "env": {k: os.environ[k] for k in ("NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER",
                                           "OMP_NUM_THREADS", "OMP_WAIT_POLICY",
                                           "NUMBA_CACHE_DIR") if k in os.environ},
        "versions": {"isotree": getattr(isotree, "__version__", None),
                     **{name: _version(dist) for name, dist in (
                         ("numpy", "numpy"), ("scipy", "scipy"), ("numba", "numba"),
                         ("sklearn", "scikit-learn"), ("higra", "higra"),
                         ("torch", "torch"), ("matplotlib", "matplotlib"))}},
        "isotree_path": os.path.dirname(isotree.__file__),
        "git_revision": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "load_average_start": _load(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def machine_finish(record):
    record["numba_threading_layer"] = threading_layer()
    record["numba_num_threads"] = numba.get_num_threads()
    record["load_average_end"] = _load()
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if _WORK is not None:
        record["after_work"] = work_kind()
        if isinstance(_WORK, _TorchStep):
            record["torch_num_threads"] = _WORK.torch.get_num_threads()
    return record


# --------------------------------------------------------------------------- cases


# How each targeted metric reads in the table.
_UNITS = {"ratio": "x peer", "isotree_ns_per_element": " ns/element", "isotree_us": " us",
          "extra_ms_per_step": " ms/step", "isotree_s": " s"}
_OPS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b}


def _per_element(seconds, elements):
    return None if seconds is None or not elements else seconds / elements * 1e9


def case(name, *, n, rows=1, dtype="float64", pattern="back-to-back", isotree_s, peer=None,
         peer_s=None, ratio=None, floor_s=None, target=(), per_element=True, **extra):
    """One row of results; ``target`` is a list of (key, op, bound) on the row's values,
    e.g. ``[("ratio", "<=", 0.6)]``, all of which must hold for ``met``. ``per_element=False``
    leaves the ns/element columns empty (first calls, where size is not the point)."""
    elements = n * rows if per_element else 0
    if ratio is None and peer_s:
        ratio = isotree_s / peer_s
    row = {
        "name": name, "n": int(n), "rows": int(rows), "dtype": str(dtype), "pattern": pattern,
        "isotree_s": isotree_s, "isotree_ns_per_element": _per_element(isotree_s, elements),
        "peer": peer, "peer_s": peer_s, "peer_ns_per_element": _per_element(peer_s, elements),
        "ratio": ratio, "floor_ns_per_element": _per_element(floor_s, elements),
    }
    row.update(extra)
    values = dict(row, isotree_us=None if isotree_s is None else isotree_s * 1e6)
    row["target"] = " and ".join(f"{op} {bound:g}{_UNITS.get(key, ' ' + key)}"
                                 for key, op, bound in target) or None
    row["met"] = (all(values.get(key) is not None and _OPS[op](values[key], bound)
                      for key, op, bound in target) if target else None)
    row["target_bounds"] = [list(t) for t in target]
    return row


# --------------------------------------------------------------------------- output


def fmt_time(seconds):
    if seconds is None:
        return ""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def _fmt(value, digits=3):
    return "" if value is None else f"{value:.{digits}g}"


COLUMNS = ["case", "size", "dtype", "pattern", "isotree", "ns/el", "peer", "peer time",
           "peer ns/el", "ratio", "floor ns/el", "target", "met"]


def size(c):
    """A case's size as the table shows it: ``n``, or ``rows x n`` for a batch."""
    return f"n={c['n']:g}" if c["rows"] == 1 else f"{c['rows']} x {c['n']:g}"


def table_row(c):
    met = {True: "yes", False: "**no**", None: ""}[c["met"]]
    pattern = c["pattern"] + (f" ({c['condition']})" if c.get("condition") else "")
    # Cases that are not timings (memory, fitted exponents) show their value instead.
    value = (fmt_time(c["isotree_s"]) if c["isotree_s"] is not None or c.get("value") is None
             else f"{c['value']:.3g} {c.get('unit', '')}".strip())
    return [c["name"], size(c), c["dtype"], pattern, value,
            _fmt(c["isotree_ns_per_element"]), c["peer"] or "", fmt_time(c["peer_s"]),
            _fmt(c["peer_ns_per_element"]), _fmt(c["ratio"]), _fmt(c["floor_ns_per_element"]),
            c["target"] or "", met]


def markdown_table(rows, header):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(rows, header):
    """Print ``rows`` (lists of cells) as a markdown table and return the text."""
    text = markdown_table(rows, header)
    print(text)
    return text


def machine_line(m):
    v = m["versions"]
    return (f"{m['cpu_model']}, {m['cpus_usable']} cores, numba {v['numba']} "
            f"({m.get('numba_threading_layer')}, {m['numba_num_threads']} threads), numpy "
            f"{v['numpy']}, scipy {v['scipy']}, sklearn {v['sklearn']}, higra {v['higra']}, "
            f"torch {v['torch']}, isotree {v['isotree']} at {(m['git_revision'] or '?')[:10]}"
            f"{' (dirty)' if m['git_dirty'] else ''}, load average {m['load_average_start']} "
            f"-> {m.get('load_average_end')}")


_PATTERN_COLORS = {"back-to-back": "#4c72b0", "after-sleep": "#dd8452", "after-work": "#55a868"}


def _ratio_bound(c):
    return next((bound for key, _, bound in c.get("target_bounds") or () if key == "ratio"), None)


def plot_ratios(cases, path, title):
    """The main table as a chart: for every targeted comparison, isotree / peer time in each
    pattern (log scale), the target as a black tick, the ratio written red where missed."""
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    groups = {}
    for c in cases:
        if c.get("ratio") and c.get("peer"):
            groups.setdefault((c["name"], c.get("condition"), c["peer"], size(c)), []).append(c)
    targeted = {key: rows for key, rows in groups.items() if any(c["target"] for c in rows)}
    groups = targeted or groups
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(groups) + 1.6))
    height = 0.8 / len(PATTERNS)
    for i, rows in enumerate(groups.values()):
        for c in rows:
            j = PATTERNS.index(c["pattern"]) if c["pattern"] in PATTERNS else 0
            y = i - 0.4 + height * (j + 0.5)
            ax.barh(y, c["ratio"], height=height, color=_PATTERN_COLORS.get(c["pattern"]))
            ax.text(c["ratio"] * 1.05, y, f"{c['ratio']:.3g}", va="center", fontsize=6,
                    color="#c44e52" if c["met"] is False else "k")
        bound = next((b for b in map(_ratio_bound, rows) if b is not None), None)
        if bound is not None:
            ax.plot([bound, bound], [i - 0.45, i + 0.45], color="k", lw=2)
    labels = [f"{name}{'' if shape in name else ', ' + shape}"
              f"{f' ({condition})' if condition else ''}\nvs {peer}"
              for name, condition, peer, shape in groups]
    ax.set_yticks(range(len(groups)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="grey", lw=0.8)
    handles = [Patch(color=color, label=pattern) for pattern, color in _PATTERN_COLORS.items()]
    handles.append(plt.Line2D([], [], color="k", lw=2, label="target"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    ax.set_xlabel("time isotree / peer in the same run (lower is faster; red: target missed)")
    ax.set_title(textwrap.fill(title, 120), fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few repeats (checks the script runs; results "
                             "go to benchmarks/results/quick/)")
    parser.add_argument("--out", default=None, help="results folder (default: "
                        "benchmarks/results, or benchmarks/results/quick with --quick)")
    return parser.parse_args()


def run_parts(parts, report, *args):
    """Run each part of a script (a function adding cases to ``report``), saying how long."""
    for part in parts:
        print(f"{part.__name__} ...", flush=True)
        start = time.perf_counter()
        part(report, *args)
        print(f"{part.__name__}: {time.perf_counter() - start:.1f} s", flush=True)


class Report:
    """Collects the cases of one script and writes its JSON, markdown and PNG."""

    def __init__(self, script, args):
        self.script = script
        self.quick = args.quick
        self.out = args.out or os.path.join(HERE, "results", "quick" if args.quick else "")
        self.machine = machine_start()
        self.machine["quick"] = self.quick
        load = self.machine["load_average_start"]
        if load and load[0] >= QUIET_LOAD:
            print(f"warning: load average {load[0]} >= {QUIET_LOAD}: the machine is busy, "
                  "timings will be noisy (the JSON records the load)", flush=True)
        self.cases = []
        self.extra_tables = []  # (title, header, rows) printed after the main table
        self.extra = {}  # more top-level keys of the JSON file

    def add(self, name, **fields):
        row = case(name, **fields)
        self.cases.append(row)
        flag = "" if row["met"] is None else ("  met" if row["met"] else "  MISSED")
        print(f"  {name} [{row['pattern']}]: {fmt_time(row['isotree_s'])}"
              + (f" vs {row['peer']} {fmt_time(row['peer_s'])} (ratio {_fmt(row['ratio'])})"
                 if row["peer"] else "") + flag, flush=True)
        return row

    def table(self, title, header, rows):
        self.extra_tables.append((title, header, rows))

    def finish(self, plot=plot_ratios):
        os.makedirs(self.out, exist_ok=True)
        machine_finish(self.machine)
        base = os.path.join(self.out, self.script)
        with open(base + ".json", "w") as f:
            json.dump({"machine": self.machine, "cases": self.cases, **self.extra}, f, indent=1)
        parts = [machine_line(self.machine), "",
                 markdown_table([table_row(c) for c in self.cases], COLUMNS)]
        for title, header, rows in self.extra_tables:
            parts += ["", title, "", markdown_table(rows, header)]
        text = "\n".join(parts) + "\n"
        print()
        print(text)
        with open(base + ".md", "w") as f:
            f.write(text)
        missed = [f"{c['name']}, {size(c)} [{c['pattern']}"
                  + (f", {c['condition']}" if c.get("condition") else "") + "]"
                  + (f" vs {c['peer']}" if c["peer"] else "")
                  for c in self.cases if c["met"] is False]
        if missed:
            print("targets missed: " + "; ".join(missed))
        if plot is not None:
            png = plot(self.cases, base + ".png", machine_line(self.machine))
            if png:
                print(f"wrote {base}.json, {base}.md, {png}")
                return
        print(f"wrote {base}.json, {base}.md")
