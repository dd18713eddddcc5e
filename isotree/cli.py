"""The ``isotree`` command: ``isotree demo`` and ``isotree solve IN.csv``."""

import argparse
import csv
import io
import sys
import time
from importlib import resources

import numpy as np

from . import ida
from .solvers import TIES, isotonic_regression, tree_isotonic_regression, star_isotonic_regression
from .tree import Tree


class InputError(Exception):
    """A problem with the user's file, reported as one line without a traceback."""


def _read_packaged_csv(name):
    text = resources.files("isotree").joinpath("data", name).read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def demo(out=sys.stdout):
    """Three short examples on data shipped with the package; returns 0."""
    print = _printer(out)
    print("isotree demo\n============\n")

    print("1. Simple tree order (order-restricted statistics): five supplements that cannot")
    print("   lower weight gain against one control. Weights are the group sizes.\n")
    rows = _read_packaged_csv("diet_trial.csv")
    y = np.array([float(r["mean_gain"]) for r in rows])
    n = np.array([float(r["n"]) for r in rows])
    fit = star_isotonic_regression(y, root=0, weights=n)
    print(f"   {'group':<14}{'n':>4}{'observed':>10}{'fit':>9}")
    for r, observed, fitted in zip(rows, y, fit):
        print(f"   {r['group']:<14}{int(float(r['n'])):>4}{observed:>10.2f}{fitted:>9.2f}")
    print("   Supplements that observed below the control are pooled with it.\n")

    print("2. A tree order: mean scores may not fall along a path of course modules.\n")
    rows = _read_packaged_csv("skill_tree.csv")
    parent = np.array([int(r["parent"]) for r in rows])
    y = np.array([float(r["mean_score"]) for r in rows])
    w = np.array([float(r["learners"]) for r in rows])
    fit, blocks = tree_isotonic_regression(y, parent, w, return_blocks=True)
    print(f"   {'module':<16}{'parent':>7}{'observed':>10}{'fit':>8}  block")
    for k, r in enumerate(rows):
        top = rows[blocks[k]]["module"]
        print(f"   {r['module']:<16}{parent[k]:>7}{y[k]:>10.2f}{fit[k]:>8.2f}  {top}")
    print()

    print("3. IDA for knowledge distillation: synthetic teacher logits on Mixup samples")
    print("   (B = 2048, c = 100, float32). The teacher often ranks a non-mixed class above")
    print("   a mixed one; the fit restores the order of the label mass.\n")
    rng = np.random.default_rng(0)
    batch, classes = 2048, 100
    a = rng.integers(0, classes, batch)
    b = rng.integers(0, classes, batch)
    lam = rng.beta(1.0, 1.0, batch)
    mass = ida.mixup_mass(a, b, lam, classes)
    # A stated synthetic teacher: logits = 6 * mass + class bias + noise.
    logits = (6.0 * mass + 0.5 * rng.normal(size=classes) + rng.normal(size=(batch, classes))
              ).astype(np.float32)
    exact = ida.isotonic_logits(logits, mass)  # compile outside the timing
    start = time.perf_counter()
    exact = ida.isotonic_logits(logits, mass)
    exact_time = time.perf_counter() - start
    before = ida.order_violations(logits, mass)
    after = ida.order_violations(exact, mass)
    print(f"   {'':<28}{'rows violating':>15}{'Kendall tau':>13}{'mixed in top 2':>16}")
    for name, stats in (("teacher logits", before), ("exact isotonic fit", after)):
        print(f"   {name:<28}{stats['violation_rate']:>15.3f}{stats['kendall_tau']:>13.3f}"
              f"{stats['top2_all_mixed']:>16.3f}")
    print(f"\n   exact fit: {exact_time * 1e3:.2f} ms for the batch")
    for n_iter in (1, 2, 3):
        approx = ida.isotonic_logits(logits, mass, method="approx", n_iter=n_iter)
        start = time.perf_counter()
        approx = ida.isotonic_logits(logits, mass, method="approx", n_iter=n_iter)
        took = time.perf_counter() - start
        error = np.abs(approx.astype(np.float64) - exact)
        print(f"   approx n_iter={n_iter}: max |error| {error.max():.2e}, "
              f"mean {error.mean():.2e}, {took * 1e3:.2f} ms")
    return 0


def _printer(out):
    def write(*parts):
        out.write(" ".join(str(p) for p in parts) + "\n")
    return write


def _column(rows, name, convert, path):
    values = []
    for line, row in enumerate(rows, start=2):
        text = (row.get(name) or "").strip()
        try:
            values.append(convert(text))
        except ValueError:
            raise InputError(f"{path}, line {line}: column {name!r}: {text!r} is not a "
                             f"valid number") from None
    return values


def _parent_value(text):
    if text == "":
        return -1
    value = float(text)
    if value != int(value):
        raise ValueError(text)
    return int(value)


def solve(path, output, decreasing, ties):
    """Fit the ``y`` column of a CSV file; write every column plus ``fit``."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
            fields = list(rows[0].keys()) if rows else []
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"cannot parse {path}: {error}") from None
    if "y" not in fields:
        raise InputError(f"{path} has no column 'y' (columns: {', '.join(fields) or 'none'})")
    if "parent" in fields and "x" in fields:
        raise InputError(f"{path} has both 'parent' and 'x': give one order")
    y = np.array(_column(rows, "y", float, path))
    weights = np.array(_column(rows, "weight", float, path)) if "weight" in fields else None
    try:
        if "parent" in fields:
            parent = np.array(_column(rows, "parent", _parent_value, path), dtype=np.int64)
            fit = tree_isotonic_regression(y, Tree(parent), weights, increasing=not decreasing)
        else:
            x = np.array(_column(rows, "x", float, path)) if "x" in fields else None
            fit = isotonic_regression(y, weights, x=x, ties=ties, increasing=not decreasing)
    except (ValueError, TypeError) as error:
        raise InputError(f"{path}: {error}") from None
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields + ["fit"], lineterminator="\n")
    writer.writeheader()
    for row, value in zip(rows, fit):
        writer.writerow({**row, "fit": repr(float(value))})
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        try:
            with open(output, "w", newline="") as f:
                f.write(buffer.getvalue())
        except OSError as error:
            raise InputError(f"cannot write {output}: {error.strerror}") from None
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="isotree", description="Exact isotonic regression on chains, trees and stars.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run three short examples on bundled data")
    solver = commands.add_parser(
        "solve", help="fit the 'y' column of a CSV file",
        description="Read column 'y', optional 'weight', and optionally 'parent' (a tree: "
                    "-1 or empty for a root) or 'x' (a predictor). Without either, the rows "
                    "form a chain in file order. Writes every column plus 'fit'.")
    solver.add_argument("input", help="the CSV file")
    solver.add_argument("-o", "--output", help="where to write (default: standard output)")
    solver.add_argument("--decreasing", action="store_true",
                        help="fit a decreasing order (roots are maxima)")
    solver.add_argument("--ties", choices=TIES, default="primary",
                        help="treatment of equal x values (default: primary)")
    return parser


def main(argv=None):
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return demo()
        return solve(args.input, args.output, args.decreasing, args.ties)
    except InputError as error:
        sys.stderr.write(f"isotree: error: {error}\n")
        return 1
