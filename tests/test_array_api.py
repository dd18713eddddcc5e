"""The array-API path on every namespace available on the CPU, against the Numba kernels."""

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isotree
from isotree.ida import isotonic_logits, mixup_mass

from .test_ida import mixed_batches

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


def test_star_matches_numba(backend):
    name, xp, convert = backend
    rng = np.random.default_rng(0)
    y = rng.normal(size=(6, 4, 30))
    w = rng.uniform(0.2, 5.0, 4)
    roots = rng.integers(0, 4, (6, 30))
    for increasing in (True, False):
        expected, expected_blocks = isotree.star_isotonic_regression(
            y, roots, w, increasing=increasing, axis=1, return_blocks=True)
        fit, blocks = call("star", xp, convert(y), convert(roots), convert(w), increasing, 1,
                           True)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(host(blocks), expected_blocks)


@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
@settings(max_examples=15)
def test_star_approx_is_feasible_and_converges(n, seed):
    xp, _ = _numpy()
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(3, n)) * 10.0 ** rng.integers(-3, 3)
    w = rng.uniform(0.1, 10.0, (3, n))
    root = rng.integers(0, n, 3)
    exact = isotree.star_isotonic_regression(y, root, w, increasing=False)
    previous = None
    for n_iter in range(n + 2):
        fit, _ = star_rows(xp, y, w, root, n_iter=n_iter)
        top = fit[np.arange(3), root]
        assert np.all(fit <= top[:, None])  # feasible: the root is the maximum
        if previous is not None:
            assert np.all(top >= previous - 1e-12 * np.abs(y).max())  # t only rises
        previous = top
    np.testing.assert_allclose(fit, exact, rtol=1e-12, atol=1e-12 * np.abs(y).max())


def test_chain_and_predictor_match_numba(backend):
    name, xp, convert = backend
    rng = np.random.default_rng(1)
    n = 40
    y = np.concatenate([rng.normal(size=(5, n)),
                        np.tile(np.r_[n:0:-1], (1, 1)).astype(float),           # one round
                        np.r_[[n], np.arange(1, n)][None].astype(float),        # n rounds
                        np.tile([1.0, -1.0], n // 2)[None]])                    # sawtooth
    w = rng.uniform(0.5, 2.0, n)
    x = rng.integers(0, 8, n).astype(float)
    for increasing in (True, False):
        fit = call("chain", xp, convert(y), convert(w), None, increasing, "primary", None,
                   None, -1, False)
        np.testing.assert_allclose(host(fit), isotree.isotonic_regression(
            y, w, increasing=increasing), rtol=1e-12, atol=1e-12)
        fit = call("chain", xp, convert(y), convert(w), convert(x), increasing, "primary",
                   -0.5, 0.5, -1, False)
        np.testing.assert_allclose(host(fit), isotree.isotonic_regression(
            y, w, x=x, increasing=increasing, y_min=-0.5, y_max=0.5), rtol=1e-12, atol=1e-12)
    fit = call("chain", xp, convert(y.T.copy()), None, None, True, "primary", None, None, 0,
               False)
    np.testing.assert_allclose(host(fit), isotree.isotonic_regression(y.T, axis=0),
                               rtol=1e-12, atol=1e-12)


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


def test_ida_matches_numba(backend):
    name, xp, convert = backend
    rng = np.random.default_rng(2)
    rows, c = 64, 30
    a, b = rng.integers(0, c, rows), rng.integers(0, c, rows)
    lam = np.where(rng.random(rows) < 0.2, 0.5, rng.uniform(0, 1, rows))
    mass = mixup_mass(a, b, lam, c)
    mass[:8] = rng.dirichlet(np.ones(c), 8) * (rng.random((8, c)) < 0.2)  # k-way mixes
    logits = 3.0 * mass + rng.normal(size=(rows, c))
    for method, n_iter in (("exact", None), ("approx", 2), ("shift", None)):
        expected = isotonic_logits(logits, mass, method=method, n_iter=n_iter)
        fit = call("logits", xp, convert(logits), convert(mass), method, n_iter, False)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=1e-12)
        fit32 = call("logits", xp, convert(logits.astype(np.float32)),
                     convert(mass.astype(np.float32)), method, n_iter, False)
        assert fit32.dtype == convert(np.zeros(1, np.float32)).dtype
        np.testing.assert_allclose(host(fit32), expected, rtol=1e-5, atol=1e-5)


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
        isotree.isotonic_regression(convert(np.zeros(3)), convert(np.array([1.0, 0.0, 1.0])))
    with pytest.raises(ValueError, match="root must be an index"):
        isotree.star_isotonic_regression(convert(np.zeros(3)), 5)

    # What the array-API path does not offer says so (CPU PyTorch and JAX arrays reach the
    # Numba kernels, which offer it).
    with pytest.raises(NotImplementedError, match="ties='secondary'"):
        call("chain", xp, convert(np.zeros(3)), None, convert(np.zeros(3)), True, "secondary",
             None, None, -1, False)
    with pytest.raises(NotImplementedError, match="return_blocks"):
        call("logits", xp, convert(np.zeros((1, 3))), convert(np.zeros((1, 3))), "exact",
             None, True)


def test_cpu_tensors_reach_the_numba_kernels():
    torch = pytest.importorskip("torch")
    y = torch.tensor([[3.0, 1.0, 2.0]], dtype=torch.float64)
    fit, blocks = isotree.isotonic_regression(y, x=torch.tensor([0.0, 1.0, 1.0]),
                                              ties="secondary", return_blocks=True)
    assert isinstance(fit, torch.Tensor) and isinstance(blocks, torch.Tensor)
    np.testing.assert_allclose(fit.numpy(), [[2.0, 2.0, 2.0]])


def test_chain_rows_converges_on_adversarial_input():
    xp, _ = _numpy()
    n = 64
    y = np.r_[[n], np.arange(1, n)][None].astype(float)  # pools one entry per round
    np.testing.assert_allclose(chain_rows(xp, y, np.ones((1, n))),
                               isotree.isotonic_regression(y), rtol=1e-12)


def _cuda_libraries():
    found = []
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            found.append("cupy")
    except Exception:  # no CuPy, no driver or no device
        pass
    try:
        import torch

        if torch.cuda.is_available():
            found.append("torch")
    except ImportError:
        pass
    return found


@pytest.mark.gpu
@pytest.mark.parametrize("library", ["cupy", "torch"])
def test_gpu_arrays_stay_on_the_gpu(library):
    if library not in _cuda_libraries():
        pytest.skip(f"no CUDA device for {library}")
    if library == "cupy":
        import cupy as lib

        convert = lib.asarray
    else:
        import torch as lib

        def convert(a):
            return lib.asarray(a, device="cuda")
    rng = np.random.default_rng(4)
    rows, c = 256, 100
    mass = mixup_mass(rng.integers(0, c, rows), rng.integers(0, c, rows),
                      rng.uniform(0, 1, rows), c).astype(np.float32)
    logits = (3 * mass + rng.normal(size=(rows, c))).astype(np.float32)
    fit = isotonic_logits(convert(logits), convert(mass))
    assert array_api_compat.device(fit) == array_api_compat.device(convert(logits))
    np.testing.assert_allclose(host(fit), isotonic_logits(logits, mass), rtol=1e-5, atol=1e-5)
    y = rng.normal(size=(8, 1000)).astype(np.float32)
    np.testing.assert_allclose(host(isotree.star_isotonic_regression(convert(y), 3)),
                               isotree.star_isotonic_regression(y, 3), rtol=1e-5, atol=1e-5)
