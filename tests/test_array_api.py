"""The array-API reference path on every namespace available on the CPU, against the Numba
kernels (1e-12 in float64, 1e-5 relative in float32) and the QP oracle."""

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isotree
from isotree.ida import isotonic_logits, mixup_mass
from isotree.testing import qp_isotonic

from .test_ida import mass_edges, mixed_batches

array_api_compat = pytest.importorskip("array_api_compat")

from isotree._xp import api  # noqa: E402
from isotree._xp.chain import chain_rows  # noqa: E402
from isotree._xp.star import star_rows  # noqa: E402


def _numpy():
    return array_api_compat.array_namespace(np.empty(0)), np.asarray


def _strict():
    import array_api_strict

    return array_api_strict, array_api_strict.asarray


def _torch():
    import torch

    return array_api_compat.array_namespace(torch.empty(0)), torch.asarray


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return array_api_compat.array_namespace(jnp.empty(0)), jnp.asarray


BACKENDS = {"numpy": (_numpy, None), "array_api_strict": (_strict, "array_api_strict"),
            "torch": (_torch, "torch"), "jax": (_jax, "jax")}


@pytest.fixture(params=list(BACKENDS), scope="module")
def backend(request):
    make, module = BACKENDS[request.param]
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    xp, convert = make()
    yield request.param, xp, convert
    if request.param == "jax":
        import jax

        jax.config.update("jax_enable_x64", False)


def host(a):
    from isotree._xp.common import to_host

    return to_host(a) if not isinstance(a, np.ndarray) else a


def call(name, xp, *args):
    """The array-API branch of a public function; NumPy goes through it explicitly."""
    return getattr(api, name)(xp, *args)


# Independent references: the QP oracle on the order's edges, and the block labels' meaning.

def chain_edges(n):
    return np.array([(i + 1, i) for i in range(n - 1)]).reshape(-1, 2)


def star_edges(n, root):
    return np.array([(root, i) for i in range(n) if i != root]).reshape(-1, 2)


def assert_matches_oracle(fit, y, edges_of_row, weights=None, rtol=1e-7):
    """Each row of ``fit`` against :func:`isotree.testing.qp_isotonic`."""
    y2 = y.reshape(-1, y.shape[-1])
    w2 = None if weights is None else np.broadcast_to(weights, y.shape).reshape(y2.shape)
    for r, (fit_row, y_row) in enumerate(zip(fit.reshape(y2.shape), y2)):
        expected = qp_isotonic(y_row, edges_of_row(r), None if w2 is None else w2[r])
        np.testing.assert_allclose(fit_row, expected, rtol=rtol,
                                   atol=rtol * max(np.abs(y_row).max(), 1e-300))


def assert_blocks_are_means(fit, labels, y, weights=None, rtol=1e-12):
    """Every block contains its label and is fitted by its weighted mean of y."""
    y2 = y.reshape(-1, y.shape[-1])
    w2 = np.ones_like(y2) if weights is None else np.broadcast_to(weights, y.shape).reshape(
        y2.shape)
    for fit_row, label_row, y_row, w_row in zip(fit.reshape(y2.shape),
                                                labels.reshape(y2.shape), y2, w2):
        for label in np.unique(label_row):
            members = label_row == label
            assert members[label]
            scale = np.ldexp(1.0, -int(np.frexp(np.abs(y_row).max())[1]))  # no overflow
            mean = np.sum(w_row[members] * (scale * y_row[members])) / np.sum(
                w_row[members]) / scale
            np.testing.assert_allclose(fit_row[members], mean, rtol=rtol,
                                       atol=rtol * np.abs(y_row).max())


def test_star_matches_numba_and_oracle(backend):
    name, xp, convert = backend
    rng = np.random.default_rng(0)
    y = rng.normal(size=(6, 4, 30))
    w = rng.uniform(0.2, 5.0, 4)
    roots = rng.integers(0, 4, (6, 30))
    for increasing in (True, False):
        expected, expected_blocks = isotree.star_isotonic_regression(
            y, roots, weights=w, increasing=increasing, axis=1, return_blocks=True)
        fit, blocks = call("star", xp, convert(y), convert(roots), convert(w), increasing, 1,
                           True)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(host(blocks), expected_blocks)
    # The oracle: increasing=False makes the root the maximum (edges root -> leaf).
    moved, roots_moved = np.moveaxis(y, 1, -1), roots.reshape(-1)
    fit = host(call("star", xp, convert(moved), convert(roots), convert(w), False, -1, False))
    assert_matches_oracle(fit, moved, lambda r: star_edges(4, roots_moved[r]), w)


@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
@settings(max_examples=15)
def test_star_approx_is_feasible_and_converges(n, seed):
    xp, _ = _numpy()
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(3, n)) * 10.0 ** rng.integers(-3, 3)
    w = rng.uniform(0.1, 10.0, (3, n))
    root = rng.integers(0, n, 3)
    exact = isotree.star_isotonic_regression(y, root, weights=w, increasing=False)
    previous = None
    for n_iter in range(n + 2):
        fit, _ = star_rows(xp, y, w, root, n_iter=n_iter)
        top = fit[np.arange(3), root]
        assert np.all(fit <= top[:, None])  # feasible: the root is the maximum
        if previous is not None:
            assert np.all(top >= previous - 1e-12 * np.abs(y).max())  # t only rises
        previous = top
    np.testing.assert_allclose(fit, exact, rtol=1e-12, atol=1e-12 * np.abs(y).max())


def adversarial_chains(n, rng):
    """Random rows, a reversed run (one round), a high first entry over a rising run (one
    entry pooled per round: n rounds), a sawtooth, ties (pooled, and equal neighbouring
    blocks kept apart), and a huge dynamic range (last)."""
    return np.concatenate([
        rng.normal(size=(3, n)),
        np.arange(n, 0, -1.0)[None],
        np.r_[[float(n)], np.arange(1.0, n)][None],
        np.tile([1.0, -1.0], n // 2)[None],
        np.round(rng.normal(size=(1, n))),
        np.repeat(np.arange(n // 2, dtype=float), 2)[None],  # tied blocks that stay apart
        (rng.normal(size=n) * 10.0 ** rng.integers(-200, 200, n))[None],
    ])


def test_chain_and_predictor_match_numba_and_oracle(backend):
    name, xp, convert = backend
    rng = np.random.default_rng(1)
    n = 40
    y = adversarial_chains(n, rng)
    w = rng.uniform(0.5, 2.0, n)
    x = rng.integers(0, 8, n).astype(float)
    for increasing in (True, False):
        expected, expected_blocks = isotree.isotonic_regression(
            y, weights=w, increasing=increasing, return_blocks=True)
        fit, blocks = call("chain", xp, convert(y), convert(w), None, increasing, "primary",
                           None, None, -1, True)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(host(blocks), expected_blocks)
        expected, expected_blocks = isotree.isotonic_regression(
            y, weights=w, x=x, increasing=increasing, return_blocks=True)
        fit, blocks = call("chain", xp, convert(y), convert(w), convert(x), increasing,
                           "primary", None, None, -1, True)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
        assert_blocks_are_means(host(fit), host(blocks), y, w)
        fit = call("chain", xp, convert(y), convert(w), convert(x), increasing, "primary",
                   -0.5, 0.5, -1, False)
        np.testing.assert_allclose(host(fit), isotree.isotonic_regression(
            y, weights=w, x=x, increasing=increasing, y_min=-0.5, y_max=0.5), rtol=1e-12)
    fit = call("chain", xp, convert(y.T.copy()), None, None, True, "primary", None, None, 0,
               False)
    np.testing.assert_allclose(host(fit), isotree.isotonic_regression(y.T, axis=0),
                               rtol=1e-12, atol=0)
    ordinary = y[:-1]  # the oracle's own tolerance does not reach 1e400 dynamic range
    fit = host(call("chain", xp, convert(ordinary), convert(w), None, True, "primary", None,
                    None, -1, False))
    assert_matches_oracle(fit, ordinary, lambda r: chain_edges(n), w)


def test_chain_cancellation_and_overflow(backend):
    """Block sums without cancellation, rows scaled before summing."""
    name, xp, convert = backend
    y = np.array([[-1e17, 2.0, 2.0, 2.0], [1.5e308, 1.5e308, 0.0, 0.0],
                  [1e-320, 3e-321, 1.0, 0.5], [2e-300, 2e-300, 2e-300, 1e-300]])
    for increasing in (False, True):
        fit = host(call("chain", xp, convert(y), None, None, increasing, "primary", None,
                        None, -1, False))
        for r, (fit_row, y_row) in enumerate(zip(fit, y)):  # rows are independent
            if r == 2 and name == "jax":
                continue  # XLA flushes subnormals to zero on the CPU
            np.testing.assert_array_equal(fit_row, isotree.isotonic_regression(
                y_row, increasing=increasing))
    np.testing.assert_array_equal(fit[:2], [[-1e17, 2.0, 2.0, 2.0], [7.5e307] * 4])
    np.testing.assert_array_equal(fit[3, :2], [1.75e-300] * 2)


def test_rounds_are_bounded_and_the_rest_finishes_on_the_host():
    xp, _ = _numpy()
    rng = np.random.default_rng(5)
    y = adversarial_chains(64, rng)
    w = rng.uniform(0.5, 2.0, (y.shape[0], 64))
    expected, expected_blocks = isotree.isotonic_regression(y, weights=w, return_blocks=True)
    fit, blocks = chain_rows(xp, y, w, max_rounds=3)  # too few for most rows
    np.testing.assert_allclose(fit, expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(blocks, expected_blocks)


def test_float32_accumulators_keep_the_noise():
    """JAX without float64: sums in float32, block by block (no prefix differences)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", False)
    xp = array_api_compat.array_namespace(jnp.empty(0))
    rng = np.random.default_rng(6)
    y = (1000 + rng.normal(size=(2, 3000))).astype(np.float32)
    expected = isotree.isotonic_regression(y.astype(np.float64))
    fit = call("chain", xp, jnp.asarray(y), None, None, True, "primary", None, None, -1,
               False)
    assert fit.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(fit), expected, rtol=1e-5)
    # Logits near float32's overflow threshold: the row's scale keeps the sums finite.
    logits = np.array([[3e38, 3e38, 1e38, -3e38]], dtype=np.float32)
    mass = np.array([[0.0, 0.0, 1.0, 0.0]], dtype=np.float32)
    fit = call("logits", xp, jnp.asarray(logits), jnp.asarray(mass), "exact", None, False)
    np.testing.assert_allclose(np.asarray(fit), isotonic_logits(
        logits.astype(np.float64), mass.astype(np.float64)), rtol=1e-6)


@given(mixed_batches(max_rows=8, max_classes=15))
@settings(max_examples=25)
def test_ida_matches_numba_on_numpy_namespace(batch):
    logits, mass = batch
    xp, convert = _numpy()
    for method, n_iter in (("exact", None), ("approx", 0), ("approx", 2), ("shift", None)):
        fit = call("logits", xp, convert(logits), convert(mass), method, n_iter, False)
        expected = isotonic_logits(logits, mass, method=method, n_iter=n_iter)
        np.testing.assert_allclose(fit, expected, rtol=1e-12,
                                   atol=1e-12 * max(1.0, np.abs(logits).max()))
    fit, blocks = call("logits", xp, convert(logits), convert(mass), "exact", None, True)
    assert_blocks_are_means(fit, blocks, logits, rtol=1e-10)
    for r in range(logits.shape[0]):
        assert_matches_oracle(fit[r:r + 1], logits[r:r + 1], lambda _: mass_edges(mass[r]))


def ida_batch(rng, rows, c):
    """Two-label Mixup, k-way mixes (few slots) and rows of dense mass (many slots)."""
    a, b = rng.integers(0, c, rows), rng.integers(0, c, rows)
    lam = np.where(rng.random(rows) < 0.2, 0.5, rng.uniform(0, 1, rows))
    mass = mixup_mass(a, b, lam, c)
    mass[:8] = rng.dirichlet(np.ones(c), 8) * (rng.random((8, c)) < 0.2)  # k-way mixes
    logits = 3.0 * mass + rng.normal(size=(rows, c))
    dense = rng.dirichlet(np.ones(c), 4) * (rng.random((4, c)) < 0.8)
    return logits, mass, np.round(dense * 20) / 20  # with ties between mass levels


def test_ida_matches_numba_and_oracle(backend):
    name, xp, convert = backend
    rng = np.random.default_rng(2)
    rows, c = 64, 30
    logits, mass, dense = ida_batch(rng, rows, c)
    for masses in (mass, dense):
        z = logits[:masses.shape[0]]
        for method, n_iter in (("exact", None), ("approx", 2), ("shift", None)):
            expected = isotonic_logits(z, masses, method=method, n_iter=n_iter)
            fit = call("logits", xp, convert(z), convert(masses), method, n_iter, False)
            np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=1e-12)
            fit32 = call("logits", xp, convert(z.astype(np.float32)),
                         convert(masses.astype(np.float32)), method, n_iter, False)
            assert fit32.dtype == convert(np.zeros(1, np.float32)).dtype
            np.testing.assert_allclose(host(fit32), expected, rtol=1e-5, atol=1e-5)
        fit, blocks = call("logits", xp, convert(z), convert(masses), "exact", None, True)
        expected, expected_blocks = isotonic_logits(z, masses, return_blocks=True)
        np.testing.assert_array_equal(host(blocks), expected_blocks)
        assert_blocks_are_means(host(fit), host(blocks), z)
    assert_matches_oracle(host(fit), z, lambda r: mass_edges(dense[r]))


def test_public_functions_keep_type_dtype_and_device(backend):
    name, xp, convert = backend
    if name == "numpy":
        pytest.skip("NumPy arrays go to the Numba kernels")
    rng = np.random.default_rng(3)
    y = convert(rng.normal(size=(3, 12)).astype(np.float32))
    mass = convert(mixup_mass([0, 1, 2], [3, 3, 3], 0.6, 12).astype(np.float32))
    results = [
        isotree.star_isotonic_regression(y, 0),
        isotree.isotonic_regression(y),
        isotree.isotonic_regression(y, x=convert(np.arange(12.0) % 4)),
        isotonic_logits(y, mass),
        isotonic_logits(y, mass, method="approx", n_iter=1),
        isotree.tree_isotonic_regression(y, np.arange(12) - 1),
    ]
    for result in results:
        assert type(result) is type(y)
        assert result.dtype == y.dtype
        assert array_api_compat.device(result) == array_api_compat.device(y)
    assert isinstance(isotree.kkt_violation(y, results[-1], np.arange(12) - 1), float)
    stats = isotree.ida.order_violations(y, mass)
    assert 0.0 <= stats["violation_rate"] <= 1.0
    for fit, labels in (isotree.star_isotonic_regression(y, 0, return_blocks=True),
                        isotree.isotonic_regression(y, return_blocks=True),
                        isotonic_logits(y, mass, return_blocks=True)):
        assert type(labels) is type(y)
        assert array_api_compat.device(labels) == array_api_compat.device(y)


def test_errors_are_the_same(backend):
    name, xp, convert = backend
    if name == "numpy":
        pytest.skip("NumPy arrays go to the Numba kernels")
    bad = convert(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"y must be finite; y\[0, 1\] is nan"):
        isotree.star_isotonic_regression(bad)
    with pytest.raises(ValueError, match=r"logits must be finite; logits\[0, 1\] is nan"):
        isotonic_logits(bad, convert(np.zeros((1, 3))))
    with pytest.raises(ValueError, match=r"mass must be >= 0; mass\[0, 2\] is -1"):
        isotonic_logits(convert(np.zeros((1, 3))), convert(np.array([[0.0, 1.0, -1.0]])))
    with pytest.raises(ValueError, match=r"weights must be > 0; weights\[1\] is 0"):
        isotree.isotonic_regression(convert(np.zeros(3)),
                                    weights=convert(np.array([1.0, 0.0, 1.0])))
    with pytest.raises(ValueError, match="root must be an index"):
        isotree.star_isotonic_regression(convert(np.zeros(3)), 5)

    # What the array-API path does not offer says so (CPU PyTorch and JAX arrays reach the
    # Numba kernels, which offer it).
    with pytest.raises(NotImplementedError, match="ties='secondary'"):
        call("chain", xp, convert(np.zeros(3)), None, convert(np.zeros(3)), True, "secondary",
             None, None, -1, False)


def test_cpu_tensors_reach_the_numba_kernels():
    torch = pytest.importorskip("torch")
    y = torch.tensor([[3.0, 1.0, 2.0]], dtype=torch.float64)
    fit, blocks = isotree.isotonic_regression(y, x=torch.tensor([0.0, 1.0, 1.0]),
                                              ties="secondary", return_blocks=True)
    assert isinstance(fit, torch.Tensor) and isinstance(blocks, torch.Tensor)
    np.testing.assert_allclose(fit.numpy(), [[2.0, 2.0, 2.0]])


def test_cuda_route_needs_a_cuda_array():
    """CPU arrays never take the CUDA kernels, whatever numba.cuda says."""
    xp, _ = _numpy()
    assert api.cuda_namespace(xp, np.zeros(3)) is None
    torch = pytest.importorskip("torch")
    xp_torch = array_api_compat.array_namespace(torch.empty(0))
    assert api.cuda_namespace(xp_torch, torch.zeros(3)) is None
