"""Every solver on arrays of every library agrees with the host.

Arrays of PyTorch, JAX, ``array_api_strict`` (and CuPy) reach the same host engine through
one transfer each way (:mod:`isotree._dispatch`), so their fits must equal the NumPy fits
bit for bit, on the extreme cases of :mod:`tests.strategies` (subnormal and 1e±300 values
and weights, ties, bounds, both directions), and keep the input's type, dtype and device.
The CUDA kernels are held to the same answers under Numba's CUDA simulator
(``tests/test_gpu_kernels.py``, which reuses the helpers here).
"""

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isotree
from isotree.ida import isotonic_logits, mixup_mass
from isotree.testing import qp_isotonic

from .strategies import examples, extreme_values, extreme_weights, forests
from .test_ida import mixed_batches

# --- helpers shared with the CUDA kernel tests ------------------------------------------------


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


def ida_batch(rng, rows, c):
    """Two-label Mixup, k-way mixes (few slots) and rows of dense mass (many slots)."""
    a, b = rng.integers(0, c, rows), rng.integers(0, c, rows)
    lam = np.where(rng.random(rows) < 0.2, 0.5, rng.uniform(0, 1, rows))
    mass = mixup_mass(a, b, lam, c)
    mass[:8] = rng.dirichlet(np.ones(c), 8) * (rng.random((8, c)) < 0.2)  # k-way mixes
    logits = 3.0 * mass + rng.normal(size=(rows, c))
    dense = rng.dirichlet(np.ones(c), 4) * (rng.random((4, c)) < 0.8)
    return logits, mass, np.round(dense * 20) / 20  # with ties between mass levels


# The two cases where backends once disagreed: a subnormal weight beside ordinary ones
# (every backend must lift the row's weights alike), and a star whose root is far lighter
# than its leaves (the threshold rounds onto a leaf's value).
SUBNORMAL_WEIGHTS = (np.array([-10.0, 1.2, 1.0, 10.0]), np.array([1.0, 5e-324, 1e-323, 1.0]))
LIGHT_ROOT = (np.array([[2.0, 1.0, -1.0]]), 1, np.array([1.0, 1e-17, 1.0]))


def test_the_once_drifting_cases_are_exact_on_the_host():
    y, w = SUBNORMAL_WEIGHTS
    np.testing.assert_allclose(isotree.isotonic_regression(y, weights=w),
                               [-10.0, 3.2 / 3, 3.2 / 3, 10.0], rtol=1e-15)
    y, root, w = LIGHT_ROOT
    np.testing.assert_array_equal(isotree.star_isotonic_regression(y, root, weights=w),
                                  [[2.0, -1.0, -1.0]])


# --- the libraries ------------------------------------------------------------------------------


def _strict():
    import array_api_strict

    return array_api_strict.asarray, lambda a: np.asarray(a)


def _torch():
    import torch

    return torch.asarray, lambda a: a.numpy()


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jnp.asarray, np.asarray


LIBRARIES = {"array_api_strict": _strict, "torch": _torch, "jax": _jax}


@pytest.fixture(params=list(LIBRARIES), scope="module")
def library(request):
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    convert, back = LIBRARIES[request.param]()
    yield request.param, convert, back
    if request.param == "jax":
        import jax

        jax.config.update("jax_enable_x64", False)


def _same(got, expected, back):
    """Equal results, arrays converted back (tuples element by element)."""
    if isinstance(expected, tuple):
        for g, e in zip(got, expected):
            _same(g, e, back)
        return
    np.testing.assert_array_equal(back(got), expected)


def test_the_once_drifting_cases_on_every_library(library):
    _, convert, back = library
    y, w = SUBNORMAL_WEIGHTS
    _same(isotree.isotonic_regression(convert(y), weights=convert(w)),
          isotree.isotonic_regression(y, weights=w), back)
    y, root, w = LIGHT_ROOT
    _same(isotree.star_isotonic_regression(convert(y), root, weights=convert(w)),
          np.array([[2.0, -1.0, -1.0]]), back)


@given(data=st.data())
@settings(max_examples=examples(20))
def test_every_solver_agrees_with_the_host_on_extreme_inputs(library, data):
    _, convert, back = library
    n = data.draw(st.integers(1, 12))
    y = np.stack([data.draw(extreme_values(n)) for _ in range(2)])
    w = data.draw(extreme_weights(n))
    increasing = data.draw(st.booleans())
    x = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n).map(np.array))
    ties = data.draw(st.sampled_from(["primary", "secondary", "tertiary"]))
    bound = float(np.median(y))
    cw = None if w is None else convert(w)
    for options in (dict(), dict(y_min=bound), dict(x=x, ties=ties), dict(axis=0)):
        arrays = dict(options, x=convert(options["x"])) if "x" in options else options
        _same(isotree.isotonic_regression(convert(y), weights=None if "axis" in options
                                          else cw, increasing=increasing,
                                          return_blocks=True, **arrays),
              isotree.isotonic_regression(y, weights=None if "axis" in options else w,
                                          increasing=increasing, return_blocks=True,
                                          **options), back)
    root = data.draw(st.integers(0, n - 1))
    _same(isotree.star_isotonic_regression(convert(y), root, weights=cw,
                                           increasing=increasing, return_blocks=True),
          isotree.star_isotonic_regression(y, root, weights=w, increasing=increasing,
                                           return_blocks=True), back)
    parent = data.draw(forests(min_n=n, max_n=n))
    fit = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing)
    _same(isotree.tree_isotonic_regression(convert(y), parent, weights=cw,
                                           increasing=increasing), fit, back)
    assert isotree.kkt_violation(convert(y), convert(fit), parent, weights=cw,
                                 increasing=increasing) == isotree.kkt_violation(
        y, fit, parent, weights=w, increasing=increasing)


@given(mixed_batches(max_rows=4, max_classes=10))
@settings(max_examples=examples(15))
def test_ida_agrees_with_the_host(library, batch):
    _, convert, back = library
    logits, mass = batch
    for method, n_iter in (("exact", None), ("approx", 0), ("approx", 2), ("shift", None)):
        _same(isotonic_logits(convert(logits), convert(mass), method=method, n_iter=n_iter),
              isotonic_logits(logits, mass, method=method, n_iter=n_iter), back)
    _same(isotonic_logits(convert(logits), convert(mass), return_blocks=True),
          isotonic_logits(logits, mass, return_blocks=True), back)
    stats = isotree.ida.order_violations(convert(logits), convert(mass))
    assert stats == pytest.approx(isotree.ida.order_violations(logits, mass), nan_ok=True)


def test_public_functions_keep_type_dtype_and_device(library):
    name, convert, _ = library
    rng = np.random.default_rng(3)
    y = convert(rng.normal(size=(3, 12)).astype(np.float32))
    mass = convert(mixup_mass([0, 1, 2], [3, 3, 3], 0.6, 12).astype(np.float32))
    results = [
        isotree.star_isotonic_regression(y, 0),
        isotree.isotonic_regression(y),
        isotree.isotonic_regression(y, x=convert(np.arange(12.0) % 4), ties="tertiary"),
        isotonic_logits(y, mass),
        isotonic_logits(y, mass, method="approx", n_iter=1),
        isotree.tree_isotonic_regression(y, np.arange(12) - 1),
    ]
    for result in results:
        assert type(result) is type(y)
        assert result.dtype == y.dtype
        assert result.device == y.device
    assert isinstance(isotree.kkt_violation(y, results[-1], np.arange(12) - 1), float)
    stats = isotree.ida.order_violations(y, mass)
    assert 0.0 <= stats["violation_rate"] <= 1.0
    for _, labels in (isotree.star_isotonic_regression(y, 0, return_blocks=True),
                        isotree.isotonic_regression(y, return_blocks=True),
                        isotonic_logits(y, mass, return_blocks=True)):
        assert type(labels) is type(y)
        assert labels.device == y.device


def test_errors_are_the_same(library):
    _, convert, _ = library
    bad = convert(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"y must be finite; y\[0, 1\] is nan"):
        isotree.star_isotonic_regression(bad)
    with pytest.raises(ValueError, match=r"logits must be finite; logits\[0, 1\] is nan"):
        isotonic_logits(bad, convert(np.zeros((1, 3))))
    with pytest.raises(ValueError, match=r"mass must be >= 0; mass\[0, 2\] is -1"):
        isotonic_logits(convert(np.zeros((1, 3))), convert(np.array([[0.0, 1.0, -1.0]])))
    with pytest.raises(ValueError, match=r"weights must be >= 0; weights\[1\] is -1"):
        isotree.isotonic_regression(convert(np.zeros(3)),
                                    weights=convert(np.array([1.0, -1.0, 1.0])))
    with pytest.raises(ValueError, match="root must be an index"):
        isotree.star_isotonic_regression(convert(np.zeros(3)), 5)
    with pytest.raises(TypeError, match="y must be real; got complex"):
        isotree.isotonic_regression(convert(np.array([1.0 + 1j, 2.0])))


def test_jax_without_float64_gets_float32_fits_of_float64_sums():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", False)
    rng = np.random.default_rng(6)
    y = (1000 + rng.normal(size=(2, 3000))).astype(np.float32)
    fit = isotree.isotonic_regression(jnp.asarray(y))
    assert fit.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(fit), isotree.isotonic_regression(y))
    logits = np.array([[3e38, 3e38, 1e38, -3e38]], dtype=np.float32)
    mass = np.array([[0.0, 0.0, 1.0, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(isotonic_logits(jnp.asarray(logits),
                                                             jnp.asarray(mass))),
                                  isotonic_logits(logits, mass))


def test_torch_bfloat16_is_computed_in_float32_and_returned_as_bfloat16():
    torch = pytest.importorskip("torch")
    y = torch.tensor([3.0, 1.0, 2.0], dtype=torch.bfloat16)
    fit = isotree.isotonic_regression(y)
    assert fit.dtype == torch.bfloat16
    torch.testing.assert_close(fit, torch.full((3,), 2.0, dtype=torch.bfloat16))
    fit, blocks = isotree.star_isotonic_regression(y, 1, return_blocks=True)
    assert fit.dtype == torch.bfloat16 and blocks.dtype == torch.int64


def test_cpu_arrays_never_take_the_cuda_kernels(monkeypatch):
    """Host memory goes to the host engine, even where numba.cuda could launch."""
    torch = pytest.importorskip("torch")
    from isotree import _dispatch
    from isotree._cuda import solve

    monkeypatch.setattr(solve, "numba_cuda_ready", lambda: True)
    monkeypatch.setattr(solve, "run", lambda *args: pytest.fail("took the CUDA kernels"))
    y = torch.tensor([[3.0, 1.0, 2.0]], dtype=torch.float64)
    fit, blocks = isotree.isotonic_regression(y, x=torch.tensor([0.0, 1.0, 1.0]),
                                              ties="secondary", return_blocks=True)
    assert isinstance(fit, torch.Tensor) and isinstance(blocks, torch.Tensor)
    np.testing.assert_allclose(fit.numpy(), [[2.0, 2.0, 2.0]])
    assert _dispatch.USE_CUDA_KERNELS


def test_traced_arrays_get_a_clear_error():
    jax = pytest.importorskip("jax")
    with pytest.raises(TypeError, match="use isotree.jax.isotonic_regression"):
        jax.jit(isotree.isotonic_regression)(jax.numpy.ones(3))
