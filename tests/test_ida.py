import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import isotree
from isotree.ida import isotonic_logits, mixup_mass, order_violations
from isotree.testing import qp_isotonic


def mass_edges(mass):
    c = len(mass)
    return np.array([(i, j) for i in range(c) for j in range(c) if mass[i] > mass[j]]
                    ).reshape(-1, 2)


def feasible(fit, mass, tol=1e-12):
    higher = mass[:, :, None] > mass[:, None, :]
    gaps = fit[:, :, None] - fit[:, None, :]
    return bool(np.all(gaps[higher] >= -tol))


@st.composite
def mixed_batches(draw, max_rows=6, max_classes=12):
    """Logits and mass of every IDA shape: Mixup (any lam), same class, k-way, smoothing."""
    rows = draw(st.integers(1, max_rows))
    c = draw(st.integers(2, max_classes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["mixup", "half", "same", "extreme", "kway", "smooth", "ties"]))
    a = rng.integers(0, c, rows)
    b = rng.integers(0, c, rows)
    if kind == "mixup":
        mass = mixup_mass(a, b, rng.uniform(0, 1, rows), c)
    elif kind == "half":
        mass = mixup_mass(a, b, 0.5, c)
    elif kind == "same":
        mass = mixup_mass(a, a, rng.uniform(0, 1, rows), c)
    elif kind == "extreme":
        mass = mixup_mass(a, b, rng.choice([0.0, 1.0], rows), c)
    elif kind == "kway":
        mass = np.zeros((rows, c))
        for r in range(rows):
            k = rng.integers(1, c + 1)
            mass[r, rng.choice(c, k, replace=False)] = rng.dirichlet(np.ones(k))
    else:
        mass = 0.1 / c + 0.9 * mixup_mass(a, b, rng.uniform(0, 1, rows), c)
        if kind == "ties":
            mass = np.round(mass * 3) / 3
    scale = 10.0 ** rng.integers(-3, 3)
    logits = scale * rng.normal(size=(rows, c))
    if draw(st.booleans()):
        logits = np.round(logits)  # ties among logits
    return logits, mass


@given(mixed_batches())
def test_exact_matches_oracle_and_sort_based_path(batch):
    logits, mass = batch
    fit, blocks = isotonic_logits(logits, mass, return_blocks=True)
    assert feasible(fit, mass)
    by_sorting = isotree.isotonic_regression(logits, x=mass, ties="primary")
    np.testing.assert_allclose(fit, by_sorting, rtol=1e-10, atol=1e-10 * np.abs(logits).max())
    for r in range(logits.shape[0]):
        expected = qp_isotonic(logits[r], mass_edges(mass[r]))
        np.testing.assert_allclose(fit[r], expected, rtol=1e-7,
                                   atol=1e-7 * max(np.abs(logits[r]).max(), 1e-12))
        for label in np.unique(blocks[r]):
            members = blocks[r] == label
            assert members[label]
            np.testing.assert_allclose(fit[r][members], logits[r][members].mean(), rtol=1e-10,
                                       atol=1e-10 * np.abs(logits).max())


@given(mixed_batches())
def test_approx_is_feasible_monotone_and_converges(batch):
    logits, mass = batch
    exact = isotonic_logits(logits, mass)
    errors = []
    for n_iter in range(6):
        fit = isotonic_logits(logits, mass, method="approx", n_iter=n_iter)
        assert feasible(fit, mass)
        errors.append(np.abs(fit - exact).max())
    assert all(e1 <= e0 + 1e-12 for e0, e1 in zip(errors, errors[1:]))
    converged = isotonic_logits(logits, mass, method="approx", n_iter=logits.shape[1] + 1)
    np.testing.assert_allclose(converged, exact, rtol=1e-12, atol=1e-12 * np.abs(logits).max())


@given(mixed_batches())
def test_shift_is_feasible_and_only_raises(batch):
    logits, mass = batch
    fit = isotonic_logits(logits, mass, method="shift")
    assert feasible(fit, mass)
    assert np.all(fit >= logits)
    low = mass == mass.min(axis=1, keepdims=True)
    np.testing.assert_array_equal(fit[low], logits[low])


def test_edge_cases_by_hand():
    c = 4
    z = np.array([[0.0, 2.0, 1.0, 3.0]])
    # lam = 1/2: a = 0 and b = 1 are unordered, both must beat 2 and 3: 0 pools with 3
    # (1.5), and 1 (2.0) already beats both. The paper's code would also force f0 >= f1.
    fit = isotonic_logits(z, mixup_mass([0], [1], 0.5, c))
    np.testing.assert_allclose(fit, [[1.5, 2.0, 1.0, 1.5]])
    # a == b: class 0 above all others: it pools with 1 and 3 (5 / 3).
    fit = isotonic_logits(z, mixup_mass([0], [0], 0.3, c))
    np.testing.assert_allclose(fit, [[5 / 3, 5 / 3, 1.0, 5 / 3]])
    # lam = 1 is the same as a == b; lam = 0 puts everything on b.
    np.testing.assert_allclose(isotonic_logits(z, mixup_mass([0], [1], 1.0, c)), fit)
    np.testing.assert_allclose(isotonic_logits(z, mixup_mass([1], [0], 0.0, c)), fit)
    # c = 2.
    np.testing.assert_allclose(isotonic_logits([[1.0, 2.0]], mixup_mass([0], [1], 0.6, 2)),
                               [[1.5, 1.5]])
    # All logits equal: nothing moves. No mass level difference: nothing moves.
    np.testing.assert_array_equal(isotonic_logits(np.ones((1, c)), mixup_mass([0], [1], .7, c)),
                                  np.ones((1, c)))
    np.testing.assert_array_equal(isotonic_logits(z, np.full((1, c), 0.25)), z)


def test_k_way_mix_is_a_chain_above_the_rest():
    z = np.array([[1.0, 2.0, 3.0, 4.0, 0.0]])
    mass = np.array([[0.5, 0.3, 0.2, 0.0, 0.0]])
    fit = isotonic_logits(z, mass)
    # f0 >= f1 >= f2 >= {f3, f4}: everything but the last class pools to 2.5.
    np.testing.assert_allclose(fit, [[2.5, 2.5, 2.5, 2.5, 0.0]])


def test_temperature_commutes_float32_and_batch_shapes():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 10)).astype(np.float32)
    mass = mixup_mass(rng.integers(0, 10, 15), rng.integers(0, 10, 15),
                      rng.uniform(0, 1, 15), 10).reshape(3, 5, 10)
    fit = isotonic_logits(logits, mass)
    assert fit.dtype == np.float32 and fit.shape == logits.shape
    np.testing.assert_allclose(isotonic_logits(logits / 4.0, mass), fit / 4.0, rtol=1e-6)
    single = np.stack([isotonic_logits(logits[i, j][None], mass[i, j][None])[0]
                       for i in range(3) for j in range(5)]).reshape(fit.shape)
    np.testing.assert_array_equal(fit, single)


def test_large_row_is_certified_by_the_sort_based_path():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(64, 1000)) * 3
    mass = mixup_mass(rng.integers(0, 1000, 64), rng.integers(0, 1000, 64),
                      rng.uniform(0, 1, 64), 1000)
    np.testing.assert_allclose(isotonic_logits(logits, mass),
                               isotree.isotonic_regression(logits, x=mass), rtol=1e-12)


@pytest.mark.parametrize("case", ["settles", "slow to settle", "long rows",
                                  "mixed label far above", "root takes the next levels"])
def test_exact_fit_on_every_path_to_the_threshold(case):
    """Rows whose threshold settles in a few passes, rows that do not settle within the
    pass budget and long rows (both end with the exact search), rows whose mixed label
    is so far above the rest that the passes' sums lose the others' digits (exact search
    too), and rows whose threshold rises past the mixed labels' next levels, one by one
    (each later round starts from the last threshold): the fit is the sort-based path's,
    entry by entry."""
    rng = np.random.default_rng(3)
    rows, c = 16, 200
    a, b = rng.integers(0, c, rows), rng.integers(0, c, rows)
    lam = rng.uniform(0.55, 1.0, rows)
    logits = rng.normal(size=(rows, c))
    if case == "slow to settle":
        # Ten entries such that each variable-fixing step drops only the lowest of them
        # (11 steps from the root's value), the rest below the root; the root has all the
        # mass.
        chain, total, count, gap = [1.0], -10.0 + 1.0, 2, 1e-12
        for _ in range(9):
            gap *= 2 * count
            chain.append(total / count - gap)
            total, count = total + chain[-1], count + 1
        logits = np.full((rows, c), -20.0) + 1e-3 * rng.uniform(size=(rows, c))
        logits[:, 1:11] = chain
        logits[:, 0] = -10.0
        order = np.argsort(rng.uniform(size=(rows, c)), axis=1)
        logits = np.take_along_axis(logits, order, axis=1)
        a = b = np.argmin(order, axis=1)  # where the root went
    elif case == "long rows":
        c = 3000
        a, b = rng.integers(0, c, rows), rng.integers(0, c, rows)
        logits = rng.normal(size=(rows, c))
    elif case == "mixed label far above":
        logits[np.arange(rows), a] = 1e12
        logits[np.arange(rows), b] = 0.5
    mass = mixup_mass(a, b, lam, c)
    if case == "root takes the next levels":
        # Four mixed labels on four levels, their logits rising with the mass (four
        # blocks), all far below the top of the rest: the threshold passes each in turn.
        mass = np.zeros((rows, c))
        logits = rng.normal(3.0, 1.0, size=(rows, c))
        for r in range(rows):
            mixed = rng.choice(c, 4, replace=False)
            mass[r, mixed] = [0.1, 0.2, 0.3, 0.4]
            logits[r, mixed] = [0.0, 0.5, 1.0, 1.5] + 0.01 * rng.uniform(size=4)
    fit = isotonic_logits(logits, mass)
    by_sorting = isotree.isotonic_regression(logits, x=mass, ties="primary")
    np.testing.assert_allclose(fit, by_sorting, rtol=1e-13, atol=1e-13)


def test_bad_input():
    z = np.zeros((2, 3))
    m = mixup_mass([0, 1], [1, 2], 0.7, 3)
    with pytest.raises(ValueError, match=r"mass must have the shape of logits \(2, 3\)"):
        isotonic_logits(z, m[:, :2])
    with pytest.raises(ValueError, match=r"mass must be >= 0; mass\[1, 0\] is -1"):
        isotonic_logits(z, np.where(np.arange(6).reshape(2, 3) == 3, -1.0, m))
    with pytest.raises(ValueError, match=r"mass must be finite; mass\[0, 2\] is nan"):
        isotonic_logits(z, np.where(np.arange(6).reshape(2, 3) == 2, np.nan, m))
    with pytest.raises(ValueError, match=r"logits must be finite; logits\[1, 1\] is inf"):
        isotonic_logits(np.where(np.arange(6).reshape(2, 3) == 4, np.inf, z), m)
    with pytest.raises(ValueError, match="method must be one of"):
        isotonic_logits(z, m, method="fast")
    with pytest.raises(ValueError, match="n_iter is only used with method='approx'"):
        isotonic_logits(z, m, n_iter=3)
    with pytest.raises(ValueError, match="n_iter must be >= 0"):
        isotonic_logits(z, m, method="approx", n_iter=-1)
    with pytest.raises(ValueError, match="return_blocks needs method='exact'"):
        isotonic_logits(z, m, method="shift", return_blocks=True)
    with pytest.raises(ValueError, match=r"labels_a must be in \[0, 3\); labels_a\[1\] is 3"):
        mixup_mass([0, 3], [1, 1], 0.5, 3)
    with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]; lam\[0\] is 1.5"):
        mixup_mass([0], [1], 1.5, 3)
    with pytest.raises(TypeError, match="labels_b must hold integer"):
        mixup_mass([0], [0.5], 0.5, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_row_is_checked_as_it_is_solved(dtype):
    """The kernel checks every row it reads; the error names the first bad entry of the
    logits before any of the mass, whichever row it is in; -0.0 is a valid mass."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=(5, 4)).astype(dtype)
    m = mixup_mass([0, 1, 2, 3, 0], [1, 2, 3, 0, 0], 0.7, 4).astype(dtype)
    m[2, 3] = -0.0
    before = z.copy(), m.copy()
    np.testing.assert_allclose(isotonic_logits(z, m),
                               isotree.isotonic_regression(z, x=m, ties="primary"), rtol=1e-6)
    np.testing.assert_array_equal(z, before[0])
    np.testing.assert_array_equal(m, before[1])
    bad_m = m.copy()
    bad_m[1, 2] = -0.5
    with pytest.raises(ValueError, match=r"mass must be >= 0; mass\[1, 2\] is -0.5"):
        isotonic_logits(z, bad_m)
    bad_z = z.copy()
    bad_z[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"logits must be finite; logits\[4, 0\] is nan"):
        isotonic_logits(bad_z, bad_m)


def sum_in_lane_order(values, t):
    """The masked sum of :func:`isotree._numba.lanes.sum_above` in its documented order:
    sixteen running sums, entry i of each block of sixteen into sum i % 16, the sums
    combined as four vectors of four lanes (vectors, then lanes, pairwise), then the tail
    in index order."""
    x = values.astype(np.float64)
    kept = np.where(x > t, x, 0.0)
    blocks = len(x) // 16
    lanes = np.zeros(16)
    for b in range(blocks):
        lanes = lanes + kept[16 * b:16 * b + 16]
    vectors = lanes.reshape(4, 4)
    vector = (vectors[0] + vectors[1]) + (vectors[2] + vectors[3])
    total = (vector[0] + vector[1]) + (vector[2] + vector[3])
    for v in kept[16 * blocks:]:
        total += v
    return total, int((x > t).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threshold_sum_has_one_order_wherever_it_is_compiled(dtype):
    """The variable-fixing sum is vectorised in an order written in the kernel, not chosen
    by the compiler: the same bits as that order computed here (so a fit cannot depend on
    how or where its kernel was compiled, nor on the number of threads)."""
    import numba

    from isotree._numba.lanes import sum_above

    compiled = numba.njit(lambda values, t: sum_above(values, t))
    rng = np.random.default_rng(7)
    for n in (0, 1, 15, 16, 17, 40, 100, 1001):
        values = (rng.normal(size=n) * 10.0 ** rng.integers(-8, 9, n)).astype(dtype)
        for t in (-np.inf, -1.0, 0.0, float(values[n // 2]) if n else 0.5):
            total, count = compiled(values, t)
            expected_total, expected_count = sum_in_lane_order(values, t)
            assert count == expected_count
            assert total == expected_total or (np.isnan(total) and np.isnan(expected_total))


def brute_force_stats(scores, mass):
    violation, taus, any_mixed, all_mixed = [], [], [], []
    for s, m in zip(scores, mass):
        c = len(s)
        conc = disc = known = 0
        for i, j in itertools.combinations(range(c), 2):
            if m[i] == m[j]:
                continue
            known += 1
            sign = np.sign((m[i] - m[j]) * (s[i] - s[j]))
            conc += sign > 0
            disc += sign < 0
        violation.append(disc > 0)
        if known:
            taus.append((conc - disc) / known)
        mixed = m > m.min()
        top = np.argsort(-s, kind="stable")[:2]
        any_mixed.append(mixed[top].any())
        k = min(2, mixed.sum())
        if k:
            all_mixed.append(mixed[top[:k]].all())
    def mean(values):
        return np.mean(values) if values else np.nan

    return mean(violation), mean(taus), mean(any_mixed), mean(all_mixed)


@given(mixed_batches())
def test_order_violations_against_brute_force(batch):
    scores, mass = batch
    scores = scores + 1e-9 * np.arange(scores.shape[1])  # distinct, so top-2 is unambiguous
    stats = order_violations(scores, mass)
    expected = brute_force_stats(scores, mass)
    got = (stats["violation_rate"], stats["kendall_tau"], stats["top2_any_mixed"],
           stats["top2_all_mixed"])
    for g, e in zip(got, expected):
        if np.isnan(e):
            assert np.isnan(g)
        else:
            assert g == pytest.approx(e)
    fitted = order_violations(isotonic_logits(scores, mass), mass)
    assert fitted["violation_rate"] == 0.0
