"""Shared timing helpers for the benchmark scripts: medians of repeated runs, ratio tables."""

import time

import numpy as np


def median_time(func, repeat=7, warmup=1):
    """Median wall time of ``func()`` over ``repeat`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def print_table(rows, header):
    """Print ``rows`` (lists of cells) as a GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    text = "\n".join(lines)
    print(text)
    return text
