"""Star and IDA: the linear-time solvers against sorting, Higra and NumPy baselines.

Run:  pip install -e ".[bench]" && python benchmarks/bench_ida.py [--quick]

Cases: the star of 10^6 on one thread against ``np.sort`` of the same
array; IDA exact, approx and shift on 1024 x 1000 float32 logits with the default threads
against ``np.sort(z, axis=1)``; what IDA exact on 256 x 100 float32 adds to each step of a
small PyTorch CPU training loop; and how far ``approx``/``shift`` are from the exact fit.
Every timed case runs in every pattern of ``_timing.PATTERNS`` next to the memory floor.
Writes benchmarks/results/ida.{json,md,png}. Ratios below 1 mean isotree is faster.
"""

import numpy as np
from _timing import PATTERNS, Report, floors, measure, parse_args, run_parts, supported, timings

import isotree
from isotree.ida import isotonic_logits, mixup_mass


def star(report, quick, rng):
    """The star on one thread through the public function, against sorting the same array."""
    import higra as hg

    n = 100_000 if quick else 1_000_000
    y = rng.normal(size=n)
    y[0] = 0.0  # the root, in the middle of the data (increasing: root is the minimum)
    one_thread = supported(isotree.star_isotonic_regression, workers=1)
    # Higra on the same star: leaves first, root last; its order makes the root the maximum,
    # so it gets -y.
    hg_tree = hg.Tree(np.concatenate([np.full(n - 1, n - 1), [n - 1]]))
    y_hg = -np.concatenate([y[1:], y[:1]])
    fit_hg = -hg.tree_monotonic_regression(hg_tree, y_hg, "least_square")
    np.testing.assert_allclose(isotree.star_isotonic_regression(y, root=0, **one_thread),
                               np.concatenate([fit_hg[-1:], fit_hg[:-1]]), atol=1e-12)
    funcs = {
        "isotree": lambda: isotree.star_isotonic_regression(y, root=0, **one_thread),
        "np.sort": lambda: np.sort(y),
        "Higra": lambda: hg.tree_monotonic_regression(hg_tree, y_hg, "least_square"),
        **floors(y),
    }
    name = "star, one thread" if one_thread else "star (no workers= keyword: default threads)"
    for pattern in PATTERNS:
        r = measure(funcs, pattern, rounds=5 if quick else 15, paired=True)
        report.add(name, n=n, pattern=pattern, **timings(r, "np.sort", elements=n),
                   target=[("isotree_ns_per_element", "<=", 1.0), ("ratio", "<=", 0.2)])
        report.add(name, n=n, pattern=pattern, **timings(r, "Higra", elements=n))


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


def ida_batch(report, quick, rng):
    """IDA on 1024 x 1000 float32 logits with the default threads, against sorting the rows."""
    batch, classes = (256, 1000) if quick else (1024, 1000)
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
    funcs = {
        "exact": lambda: isotonic_logits(logits, mass),
        "approx": lambda: isotonic_logits(logits, mass, method="approx"),
        "shift": lambda: isotonic_logits(logits, mass, method="shift"),
        "np.sort(axis=1)": lambda: np.sort(logits, axis=1),
        "NumPy exact baseline": lambda: numpy_two_label_baseline(logits, a, b),
        "isotonic_regression(x=mass)": lambda: isotree.isotonic_regression(logits, x=mass),
        **floors(logits, mass, out_dtype=np.float32),
    }
    for pattern in PATTERNS:
        r = measure(funcs, pattern, rounds=5 if quick else 15)
        common = dict(n=classes, rows=batch, dtype="float32", pattern=pattern)
        for method in ("exact", "approx", "shift"):
            report.add(f"IDA {method}", **common,
                       **timings(r, "np.sort(axis=1)", isotree=method, elements=logits.size),
                       target=[("ratio", "<=", 0.6)] if method == "exact" else ())
            if method != "exact":  # "faster still"
                report.add(f"IDA {method}", **common,
                           **timings(r, "exact", isotree=method, peer_label="IDA exact",
                                     elements=logits.size),
                           target=[("ratio", "<", 1.0)])
        for peer in ("NumPy exact baseline", "isotonic_regression(x=mass)"):
            report.add("IDA exact", **common,
                       **timings(r, peer, isotree="exact", elements=logits.size))
    loop = measure({"exact": funcs["exact"],
                    "loop": lambda: python_loop_baseline(logits, a, b)},
                   "back-to-back", rounds=1 if quick else 3, paired=True)
    report.add("IDA exact", n=classes, rows=batch, dtype="float32",
               **timings(loop, "loop", isotree="exact", elements=logits.size,
                         peer_label="per-row Python loop (paper style)"),
               target=[("ratio", "<=", 0.01)])


def training_loop(report, quick, rng):
    """What IDA exact on 256 x 100 float32 teacher logits adds to a small torch CPU step."""
    try:
        import torch
    except ImportError:
        print("  torch is not installed: training-loop case skipped")
        return
    batch, classes = 256, 100
    a = rng.integers(0, classes, batch)
    b = (a + rng.integers(1, classes, batch)) % classes
    mass = mixup_mass(a, b, rng.uniform(0.55, 0.95, batch), classes)
    teacher = (4.0 * mass + rng.normal(size=(batch, classes))).astype(np.float32)
    torch.manual_seed(0)
    student = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(),
                                  torch.nn.Linear(256, classes))
    opt = torch.optim.SGD(student.parameters(), lr=1e-3)
    x = torch.randn(batch, 128)
    temperature = 4.0

    def step(target_logits):
        opt.zero_grad()
        log_p = torch.nn.functional.log_softmax(student(x) / temperature, dim=1)
        q = torch.nn.functional.softmax(target_logits / temperature, dim=1)
        torch.nn.functional.kl_div(log_p, q, reduction="batchmean").backward()
        opt.step()

    plain_target = torch.from_numpy(teacher)
    funcs = {"step with IDA": lambda: step(torch.from_numpy(isotonic_logits(teacher, mass))),
             "step": lambda: step(plain_target)}
    # Call by call: every IDA step follows a plain training step, as in a real loop.
    r = measure(funcs, "back-to-back", rounds=31 if quick else 301, paired=True)
    extra = float(np.median(r["times"]["step with IDA"] - r["times"]["step"]))
    report.add("IDA exact in a torch training step (KD loss, MLP 128-256-100)", n=classes,
               rows=batch, dtype="float32", pattern="after-work", per_element=False,
               **timings(r, "step", isotree="step with IDA", elements=teacher.size,
                         peer_label="the same step without IDA"),
               extra_ms_per_step=extra * 1e3, torch_threads=torch.get_num_threads(),
               target=[("extra_ms_per_step", "<=", 0.3)])
    report.table("IDA in a torch training loop", ["step", "with IDA", "extra per step"],
                 [[f"{r['s']['step'] * 1e3:.3f} ms", f"{r['s']['step with IDA'] * 1e3:.3f} ms",
                   f"{extra * 1e3:.3f} ms (median of {len(r['times']['step'])} pairs)"]])
    # The same call alone, in every pattern, next to sorting the same array.
    alone = {"exact": lambda: isotonic_logits(teacher, mass),
             "np.sort(axis=1)": lambda: np.sort(teacher, axis=1),
             **floors(teacher, mass, out_dtype=np.float32)}
    for pattern in PATTERNS:
        r = measure(alone, pattern, rounds=9 if quick else 41)
        report.add("IDA exact", n=classes, rows=batch, dtype="float32", pattern=pattern,
                   **timings(r, "np.sort(axis=1)", isotree="exact", elements=teacher.size))


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


def approximation(report, quick, rng):
    """How far approx (n_iter steps) and shift land from the exact fit, and their time."""
    batch, classes = (256, 1000) if quick else (1024, 1000)
    a = rng.integers(0, classes, batch)
    b = rng.integers(0, classes, batch)
    lam = rng.beta(1.0, 1.0, batch)
    mass = mixup_mass(a, b, lam, classes)
    # Synthetic teacher: logit = 4 * mass + a class bias + N(0, 1) noise.
    synthetic = (4.0 * mass + 0.5 * rng.normal(size=classes)
                 + rng.normal(size=(batch, classes))).astype(np.float32)
    models = {f"synthetic, c={classes}": (synthetic, mass)}
    try:
        models["digits MLP, c=10"] = digits_teacher_logits(rng)
    except ImportError:
        pass
    rows = []
    rounds = 3 if quick else 9
    for name, (logits, m) in models.items():
        exact = isotonic_logits(logits, m).astype(np.float64)
        took = measure({"exact": lambda: isotonic_logits(logits, m)}, "back-to-back", rounds)
        moved = np.abs(exact - logits).max()
        rows.append([name, "exact", "0", "0", f"{took['s']['exact'] * 1e3:.2f} ms",
                     f"max change by the fit {moved:.3g}"])
        for n_iter in (1, 2, 3, 5):
            fit = isotonic_logits(logits, m, method="approx", n_iter=n_iter)
            error = np.abs(fit - exact)
            took = measure({"approx": lambda: isotonic_logits(logits, m, method="approx",
                                                              n_iter=n_iter)},
                           "back-to-back", rounds)
            rows.append([name, f"approx n_iter={n_iter}", f"{error.max():.3g}",
                         f"{error.mean():.3g}", f"{took['s']['approx'] * 1e3:.2f} ms",
                         f"rows exact: {np.mean(np.all(error < 1e-6, axis=1)):.3f}"])
        error = np.abs(isotonic_logits(logits, m, method="shift") - exact)
        took = measure({"shift": lambda: isotonic_logits(logits, m, method="shift")},
                       "back-to-back", rounds)
        rows.append([name, "shift", f"{error.max():.3g}", f"{error.mean():.3g}",
                     f"{took['s']['shift'] * 1e3:.2f} ms", ""])
    report.table("Approximation error against the exact fit",
                 ["teacher", "method", "max |error|", "mean |error|", "time", "note"], rows)


def main():
    args = parse_args(__doc__.splitlines()[0])
    report = Report("ida", args)
    rng = np.random.default_rng(2021)
    run_parts((star, ida_batch, training_loop, approximation), report, args.quick, rng)
    report.finish()


if __name__ == "__main__":
    main()
