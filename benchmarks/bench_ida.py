"""Star and IDA: linear-time solvers against sorting, Higra, and the baselines of the issue.

Run:  pip install -e ".[bench]" && python benchmarks/bench_ida.py
Prints markdown tables (medians of >= 5 runs, same data, same run) and writes
benchmarks/results/ida.md. Ratios < 1 mean isotree is faster.
"""

import os
import platform

import numpy as np

import isotree
from _timing import median_time, print_table
from isotree.ida import isotonic_logits, mixup_mass

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def star_rows(rng):
    import higra as hg

    n = 1_000_000
    y = rng.normal(size=n)
    y[0] = 0.0  # the root, in the middle of the data (increasing: root is the minimum)
    ours = median_time(lambda: isotree.star_isotonic_regression(y, 0))
    sort = median_time(lambda: np.sort(y))
    # Higra on the same star: leaves first, root last; its order makes the root the maximum,
    # so it gets -y.
    hg_tree = hg.Tree(np.concatenate([np.full(n - 1, n - 1), [n - 1]]))
    y_hg = -np.concatenate([y[1:], y[:1]])
    higra = median_time(lambda: hg.tree_monotonic_regression(hg_tree, y_hg, "least_square"))
    fit_hg = -hg.tree_monotonic_regression(hg_tree, y_hg, "least_square")
    assert np.allclose(isotree.star_isotonic_regression(y, 0),
                       np.concatenate([fit_hg[-1:], fit_hg[:-1]]))
    return [
        ["star n=1e6", "np.sort (same array)", f"{ours * 1e3:.1f} ms", f"{sort * 1e3:.1f} ms",
         f"{ours / sort:.2f}", "<= 0.5"],
        ["star n=1e6", "Higra tree_monotonic_regression", f"{ours * 1e3:.1f} ms",
         f"{higra * 1e3:.1f} ms", f"{ours / higra:.3f}", "<= 0.1"],
    ]


def numpy_two_label_baseline(logits, a, b):
    """Vectorised exact fit for two-label Mixup with lam > 1/2 and a != b (NumPy only).

    Order: z_a >= z_b >= every other class. Sort the unmixed logits (descending),
    cumulative sums, the first non-violation gives the threshold; if the threshold rises
    above z_a, a joins the pooled block and the search is repeated for those rows.
    """
    rows = np.arange(logits.shape[0])
    z = logits.astype(np.float64)
    za, zb = z[rows, a], z[rows, b]
    others = z.copy()
    others[rows, a] = -np.inf
    others[rows, b] = -np.inf
    desc = -np.sort(-others, axis=1)[:, :-2]
    csum = np.cumsum(desc, axis=1)
    j = np.arange(1, desc.shape[1] + 1)

    def threshold(root_sum, root_w):
        t = (root_sum[:, None] + csum) / (root_w[:, None] + j)
        t0 = root_sum / root_w
        prev = np.concatenate([t0[:, None], t[:, :-1]], axis=1)
        stop = desc <= prev  # the j-th largest does not exceed the running threshold
        first = np.where(stop.any(axis=1), stop.argmax(axis=1), desc.shape[1])
        return np.where(first == 0, t0, t[rows, np.maximum(first - 1, 0)])

    # The upper pair: pooled when z_b > z_a.
    pair = zb > za
    root_sum = np.where(pair, za + zb, zb)
    root_w = np.where(pair, 2.0, 1.0)
    t = threshold(root_sum, root_w)
    merge = ~pair & (t > za)
    if merge.any():
        t = np.where(merge, threshold(root_sum + za, root_w + 1.0), t)
    fit = np.minimum(z, t[:, None])
    fit[rows, b] = t
    fit[rows, a] = np.where(pair | merge, t, za)
    return fit


def python_loop_baseline(logits, a, b):
    """Row by row in Python, in the style of the paper's official code (the same order)."""
    out = np.array(logits, dtype=np.float64)
    for r in range(out.shape[0]):
        z = out[r]
        upper = [b[r], a[r]]
        blocks = [[z[i], 1.0, [i]] for i in upper]
        if blocks[0][0] > blocks[1][0]:
            blocks = [[(blocks[0][0] + blocks[1][0]) / 2, 2.0, upper]]
        others = sorted((i for i in range(len(z)) if i not in upper), key=lambda i: -z[i])
        root = blocks[0]
        while True:
            total, weight, pooled = root[0] * root[1], root[1], list(root[2])
            for i in others:
                if z[i] > total / weight:
                    total += z[i]
                    weight += 1.0
                    pooled.append(i)
                else:
                    break
            t = total / weight
            if len(blocks) > 1 and t > blocks[1][0]:
                root = [(root[0] * root[1] + blocks[1][0]) / (root[1] + 1), root[1] + 1,
                        root[2] + blocks[1][2]]
                blocks = [root]
                continue
            break
        for i in pooled:
            z[i] = t
    return out


def ida_rows(rng):
    batch, classes = 1024, 1000
    a = rng.integers(0, classes, batch)
    b = (a + rng.integers(1, classes, batch)) % classes
    lam = rng.uniform(0.55, 0.95, batch)
    mass = mixup_mass(a, b, lam, classes)
    logits = (4.0 * mass + rng.normal(size=(batch, classes))).astype(np.float32)
    exact = isotonic_logits(logits, mass)
    np.testing.assert_allclose(numpy_two_label_baseline(logits, a, b), exact, rtol=1e-5,
                               atol=1e-5)
    subset = slice(0, 64)
    np.testing.assert_allclose(python_loop_baseline(logits[subset], a[subset], b[subset]),
                               exact[subset], rtol=1e-5, atol=1e-5)
    ours = median_time(lambda: isotonic_logits(logits, mass))
    approx = median_time(lambda: isotonic_logits(logits, mass, method="approx", n_iter=2))
    shift = median_time(lambda: isotonic_logits(logits, mass, method="shift"))
    vectorised = median_time(lambda: numpy_two_label_baseline(logits, a, b))
    loop = median_time(lambda: python_loop_baseline(logits, a, b), repeat=5, warmup=0)
    via_sort = median_time(lambda: isotree.isotonic_regression(logits, x=mass))
    return [
        ["IDA exact B=1024 c=1000 f32", "vectorised NumPy exact baseline", f"{ours * 1e3:.2f} ms",
         f"{vectorised * 1e3:.1f} ms", f"{ours / vectorised:.3f}", "<= 0.5"],
        ["IDA exact B=1024 c=1000 f32", "per-row Python loop (paper style)",
         f"{ours * 1e3:.2f} ms", f"{loop * 1e3:.0f} ms", f"{loop / ours:.0f}x faster",
         ">= 100x faster"],
        ["IDA exact B=1024 c=1000 f32", "isotonic_regression(x=mass) (sort + PAVA)",
         f"{ours * 1e3:.2f} ms", f"{via_sort * 1e3:.1f} ms", f"{ours / via_sort:.3f}", ""],
        ["IDA approx n_iter=2", "vectorised NumPy exact baseline", f"{approx * 1e3:.2f} ms",
         f"{vectorised * 1e3:.1f} ms", f"{approx / vectorised:.3f}", ""],
        ["IDA shift", "vectorised NumPy exact baseline", f"{shift * 1e3:.2f} ms",
         f"{vectorised * 1e3:.1f} ms", f"{shift / vectorised:.3f}", ""],
    ]


def digits_teacher_logits(rng):
    """Log-probabilities of an MLP trained on scikit-learn's bundled digits, on Mixup pairs."""
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x = digits.data / 16.0
    teacher = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0)
    teacher.fit(x[:1200], digits.target[:1200])
    test_x, test_y = x[1200:], digits.target[1200:]
    i = rng.integers(0, len(test_x), 4096)
    j = rng.integers(0, len(test_x), 4096)
    lam = rng.beta(1.0, 1.0, 4096)
    mixed = lam[:, None] * test_x[i] + (1 - lam[:, None]) * test_x[j]
    logits = np.log(np.clip(teacher.predict_proba(mixed), 1e-12, None))
    return logits, mixup_mass(test_y[i], test_y[j], lam, 10)


def approximation_rows(rng):
    batch, classes = 1024, 1000
    a = rng.integers(0, classes, batch)
    b = rng.integers(0, classes, batch)
    lam = rng.beta(1.0, 1.0, batch)
    mass = mixup_mass(a, b, lam, classes)
    # Synthetic teacher: logit = 4 * mass + a class bias + N(0, 1) noise.
    synthetic = (4.0 * mass + 0.5 * rng.normal(size=classes)
                 + rng.normal(size=(batch, classes))).astype(np.float32)
    models = {"synthetic, c=1000": (synthetic, mass)}
    try:
        models["digits MLP, c=10"] = digits_teacher_logits(rng)
    except ImportError:
        pass
    rows = []
    for name, (logits, m) in models.items():
        exact = isotonic_logits(logits, m).astype(np.float64)
        exact_time = median_time(lambda: isotonic_logits(logits, m))
        moved = np.abs(exact - logits).max()
        rows.append([name, "exact", "0", "0", f"{exact_time * 1e3:.2f} ms",
                     f"max change by the fit {moved:.3g}"])
        for n_iter in (1, 2, 3, 5):
            fit = isotonic_logits(logits, m, method="approx", n_iter=n_iter)
            error = np.abs(fit - exact)
            took = median_time(lambda: isotonic_logits(logits, m, method="approx",
                                                       n_iter=n_iter))
            rows.append([name, f"approx n_iter={n_iter}", f"{error.max():.3g}",
                         f"{error.mean():.3g}", f"{took * 1e3:.2f} ms",
                         f"rows exact: {np.mean(np.all(error < 1e-6, axis=1)):.3f}"])
        shift = isotonic_logits(logits, m, method="shift")
        error = np.abs(shift - exact)
        took = median_time(lambda: isotonic_logits(logits, m, method="shift"))
        rows.append([name, "shift", f"{error.max():.3g}", f"{error.mean():.3g}",
                     f"{took * 1e3:.2f} ms", ""])
    return rows


def main():
    os.makedirs(RESULTS, exist_ok=True)
    rng = np.random.default_rng(2021)
    head = (f"isotree {isotree.__version__}, numpy {np.__version__}, python "
            f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print(head)
    timing = print_table(star_rows(rng) + ida_rows(rng),
                         ["case", "peer", "isotree", "peer time", "ratio", "target"])
    print()
    quality = print_table(approximation_rows(rng),
                          ["teacher", "method", "max |error|", "mean |error|", "time", "note"])
    with open(os.path.join(RESULTS, "ida.md"), "w") as f:
        f.write(head + "\n\n" + timing + "\n\n" + quality + "\n")


if __name__ == "__main__":
    main()
