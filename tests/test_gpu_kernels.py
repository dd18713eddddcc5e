"""The CUDA kernels (:mod:`isotree._cuda`), against the Numba kernels and the QP oracle.

They run wherever ``numba.cuda`` can launch: on a CUDA GPU (through PyTorch or CuPy arrays),
or on the CPU under Numba's CUDA simulator, which must be switched on before ``numba.cuda``
is first imported. So the plain test run launches this module again in a subprocess with
``NUMBA_ENABLE_CUDASIM=1`` (:func:`test_kernels_under_the_cuda_simulator`); in the plain run
itself, without a GPU, the kernel tests skip. Sizes are small: the simulator runs every
CUDA thread as a Python thread. Tests marked ``gpu`` need a real device.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isotree
from isotree.ida import isotonic_logits, mixup_mass

from .strategies import examples, extreme_values, extreme_weights
from .test_backends import (
    LIGHT_ROOT,
    SUBNORMAL_WEIGHTS,
    adversarial_chains,
    assert_blocks_are_means,
    assert_matches_oracle,
    chain_edges,
    ida_batch,
    star_edges,
)
from .test_ida import mass_edges, mixed_batches

array_api_compat = pytest.importorskip("array_api_compat")

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _real_gpu_library():
    """"torch" or "cupy" when one of them sees a CUDA device (never under the simulator)."""
    if SIMULATOR:
        return None
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            return "torch"
    if importlib.util.find_spec("cupy") is not None:
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                return "cupy"
        except Exception:  # CuPy without a driver or a device
            pass
    return None


GPU = _real_gpu_library()


def _kernel_backend():
    """(bridge, to_device, threads): NumPy under the simulator (small thread blocks, the
    simulator is slow), else the GPU library."""
    from isotree._bridge import NUMPY, known

    if SIMULATOR:
        return NUMPY, np.asarray, 8
    if GPU == "torch":
        import torch

        return known("torch"), lambda a: torch.as_tensor(a, device="cuda"), None
    import cupy

    return known("cupy"), cupy.asarray, None


def _kernels_launch():
    if SIMULATOR:
        return True
    if not GPU:
        return False
    from isotree._cuda import solve

    return solve.numba_cuda_ready()


class _Kernels:
    """The CUDA solvers of :mod:`isotree._cuda.solve` with the public functions' options."""

    @staticmethod
    def chain_on_kernels(bridge, y, w, x, increasing, ties, y_min, y_max, axis, blocks):
        from isotree import _options as opt
        from isotree._cuda import solve

        options = opt.chain(has_x=x is not None, increasing=increasing, ties=ties,
                            y_min=y_min, y_max=y_max, axis=axis, return_blocks=blocks)
        return solve.chain(bridge, options, y, w, x)

    @staticmethod
    def star_on_kernels(bridge, y, root, w, increasing, axis, blocks, threads=None,
                        y_min=None, y_max=None):
        from isotree import _options as opt
        from isotree._cuda import solve

        options = opt.star(increasing=increasing, axis=axis, return_blocks=blocks,
                           y_min=y_min, y_max=y_max)
        return solve.star(bridge, options, y, root, w, threads)

    @staticmethod
    def logits_on_kernels(bridge, z, mass, method, n_iter, blocks, threads=None):
        from isotree import _options as opt
        from isotree._cuda import solve

        options = opt.logits(method=method, n_iter=n_iter, return_blocks=blocks)
        return solve.logits(bridge, options, z, mass, threads)


# The tests that launch the kernels: the simulator run below runs exactly these.
KERNEL_TESTS = []


def needs_kernels(test):
    KERNEL_TESTS.append(test.__name__)
    return pytest.mark.skipif(
        not _kernels_launch(),
        reason="needs a CUDA GPU with numba.cuda and libNVVM, or NUMBA_ENABLE_CUDASIM=1 "
               "(the simulator run below launches these)")(test)


@pytest.fixture(scope="module")
def kernels():
    bridge, to_device, threads = _kernel_backend()
    return _Kernels, bridge, to_device, threads


def host(a):
    from isotree._bridge import bridge_of

    return a if isinstance(a, np.ndarray) else bridge_of(a).to_host(a)


@needs_kernels
def test_chain_kernel(kernels):
    api, xp, dev, _ = kernels
    rng = np.random.default_rng(0)
    n = 24
    y = adversarial_chains(n, rng)
    for w in (rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 2.0, y.shape)):
        for increasing in (True, False):
            expected, expected_blocks = isotree.isotonic_regression(
                y, weights=w, increasing=increasing, return_blocks=True)
            fit, blocks = api.chain_on_kernels(xp, dev(y), dev(w), None, increasing,
                                               "primary", None, None, -1, True)
            np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
            np.testing.assert_array_equal(host(blocks), expected_blocks)
            fit32 = api.chain_on_kernels(xp, dev(y[:-1].astype(np.float32)), dev(w[:-1] if
                                         w.ndim == 2 else w), None, increasing, "primary",
                                         None, None, -1, False)
            assert host(fit32).dtype == np.float32
            np.testing.assert_allclose(host(fit32), expected[:-1], rtol=1e-5)
    assert_matches_oracle(host(fit)[:-1], y[:-1], lambda r: chain_edges(n)[:, ::-1], w[:-1])
    # Axis, shape and clipping as the public function.
    fit = api.chain_on_kernels(xp, dev(y.T.copy()), None, None, True, "primary", -0.5, 0.5,
                               0, False)
    np.testing.assert_allclose(host(fit), isotree.isotonic_regression(
        y.T, axis=0, y_min=-0.5, y_max=0.5), rtol=1e-12, atol=0)


@needs_kernels
def test_chain_kernel_one_block_per_row(kernels):
    """Long rows: each thread pools a stretch, one thread pools the stretches' blocks."""
    from isotree._cuda import launch

    api, xp, dev, threads = kernels
    rng = np.random.default_rng(7)
    n = 40
    y = adversarial_chains(n, rng)
    w = rng.uniform(0.5, 2.0, y.shape)
    for sign in (1.0, -1.0):
        expected, expected_blocks = isotree.isotonic_regression(
            y, weights=w, increasing=sign > 0, return_blocks=True)
        fit, blocks = launch.chain(xp, dev(y), dev(w), sign, True, per_block=True,
                                   threads=threads)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(host(blocks), expected_blocks)
    odd = rng.normal(size=(2, 37))  # 16 threads of 3 entries: the last ones get none
    fit, blocks = launch.chain(xp, dev(odd), dev(np.ones((1, 37))), 1.0, True,
                               per_block=True, threads=16)
    expected, expected_blocks = isotree.isotonic_regression(odd, return_blocks=True)
    np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(host(blocks), expected_blocks)
    fit, _ = launch.chain(xp, dev(y[:3].astype(np.float32)), dev(w[:3]), 1.0, False,
                          per_block=True, threads=threads)
    np.testing.assert_allclose(host(fit), isotree.isotonic_regression(y[:3], weights=w[:3]),
                               rtol=1e-5)


@needs_kernels
def test_chain_kernel_cancellation_overflow_and_tiny_rows(kernels):
    api, xp, dev, _ = kernels
    y = np.array([[-1e17, 2.0, 2.0, 2.0], [1.5e308, 1.5e308, 0.0, 0.0],
                  [1e-320, 3e-321, 1.0, 0.5], [2e-300, 2e-300, 2e-300, 1e-300]])
    fit = host(api.chain_on_kernels(xp, dev(y), None, None, True, "primary", None, None, -1,
                                    False))
    np.testing.assert_array_equal(fit, [[-1e17, 2.0, 2.0, 2.0], [7.5e307] * 4,
                                        [6.5e-321, 6.5e-321, 0.75, 0.75], [1.75e-300] * 4])


@needs_kernels
def test_predictor_kernel(kernels):
    api, xp, dev, _ = kernels
    rng = np.random.default_rng(1)
    y = rng.normal(size=(5, 20))
    w = rng.uniform(0.5, 2.0, 20)
    x = rng.integers(0, 6, 20).astype(float)  # ties: primary
    for increasing in (True, False):
        fit, blocks = api.chain_on_kernels(xp, dev(y), dev(w), dev(x), increasing, "primary",
                                           None, None, -1, True)
        np.testing.assert_allclose(host(fit), isotree.isotonic_regression(
            y, weights=w, x=x, increasing=increasing), rtol=1e-12, atol=0)
        assert_blocks_are_means(host(fit), host(blocks), y, w)
    # Secondary and tertiary ties have no kernel: such calls go through the host.
    from isotree import _options as opt
    from isotree._cuda import solve

    secondary = opt.chain(has_x=True, ties="secondary")
    assert not solve.solves("chain", secondary, xp, (dev(y), None, dev(x)))


@needs_kernels
def test_star_kernel(kernels):
    api, xp, dev, threads = kernels
    rng = np.random.default_rng(2)
    y = rng.normal(size=(6, 30))
    y[1] = np.round(y[1])  # ties with the threshold
    y[2] *= 10.0 ** rng.integers(-150, 150, 30)  # huge dynamic range
    y[3] = 1.5e308 * np.sign(y[3])  # sums near overflow
    w = rng.uniform(0.2, 5.0, 30)
    roots = rng.integers(0, 30, 6)
    for increasing in (True, False):
        expected, expected_blocks = isotree.star_isotonic_regression(
            y, roots, weights=w, increasing=increasing, return_blocks=True)
        fit, blocks = api.star_on_kernels(xp, dev(y), dev(roots), dev(w), increasing, -1,
                                          True, threads)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
        assert_blocks_are_means(host(fit), host(blocks), y, w)
        untied = [0, 4, 5]
        np.testing.assert_array_equal(host(blocks)[untied], expected_blocks[untied])
        fit32 = api.star_on_kernels(xp, dev(y[[0, 4, 5]].astype(np.float32)),
                                    dev(roots[untied]), None, increasing, -1, False, threads)
        assert host(fit32).dtype == np.float32
        np.testing.assert_allclose(host(fit32), isotree.star_isotonic_regression(
            y[untied], roots[untied], increasing=increasing), rtol=1e-5)
    assert_matches_oracle(host(fit)[untied], y[untied],
                          lambda r: star_edges(30, roots[untied][r]), w)
    # Bounds clip the fit, as on the host.
    bounded = api.star_on_kernels(xp, dev(y[:1]), dev(roots[:1]), dev(w), True, -1, False,
                                  threads, y_min=-0.5, y_max=0.25)
    np.testing.assert_allclose(host(bounded), isotree.star_isotonic_regression(
        y[:1], roots[:1], weights=w, y_min=-0.5, y_max=0.25), rtol=1e-12, atol=0)
    assert host(bounded).max() <= 0.25 and host(bounded).min() >= -0.5
    with pytest.raises(ValueError, match="root must be an index"):
        api.star_on_kernels(xp, dev(y), 30, None, True, -1, False, threads)


@needs_kernels
def test_star_kernel_split_over_blocks(kernels):
    """Long rows in small batches: each row split over chunks, one launch per step."""
    from isotree._cuda import launch

    api, xp, dev, threads = kernels
    rng = np.random.default_rng(6)
    y = rng.normal(size=(3, 70))
    y[1] = np.round(y[1] * 2)
    y[2, :5] = 1.5e308
    w = rng.uniform(0.2, 5.0, (3, 70))
    roots = np.array([0, 69, 33])
    expected, expected_blocks = isotree.star_isotonic_regression(
        y, roots, weights=w, increasing=False, return_blocks=True)
    fit, blocks = launch.star(xp, dev(y), dev(w), dev(roots), 1.0, True, threads=threads,
                              split=True, chunk=16)
    np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
    assert_blocks_are_means(host(fit), host(blocks), y, w)
    np.testing.assert_array_equal(host(blocks)[0], expected_blocks[0])


@needs_kernels
def test_ida_kernels(kernels):
    api, xp, dev, threads = kernels
    rng = np.random.default_rng(3)
    logits, mass, dense = ida_batch(rng, 10, 36)  # dense rows: > 32 slots in some rows
    mass[9] = 0.0  # no mixed label at all
    for masses in (mass, dense):
        z = logits[:masses.shape[0]]
        expected = isotonic_logits(z, masses, method="approx", n_iter=2)
        fit = api.logits_on_kernels(xp, dev(z), dev(masses), "approx", 2, False, threads)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=1e-12)
        expected, expected_blocks = isotonic_logits(z, masses, return_blocks=True)
        fit, blocks = api.logits_on_kernels(xp, dev(z), dev(masses), "exact", None, True,
                                            threads)
        np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(host(blocks), expected_blocks)
        assert_blocks_are_means(host(fit), host(blocks), z)
        fit32 = api.logits_on_kernels(xp, dev(z.astype(np.float32)),
                                      dev(masses.astype(np.float32)), "approx", 0, False,
                                      threads)
        assert host(fit32).dtype == np.float32
        np.testing.assert_allclose(host(fit32), isotonic_logits(
            z, masses, method="approx", n_iter=0), rtol=1e-5, atol=1e-5)
    assert_matches_oracle(host(fit), z, lambda r: mass_edges(dense[r]))
    # Logits near the overflow threshold, per row.
    huge = np.array([[1.5e308, 1.5e308, 1e308, -1.5e308], [1.0, 2.0, 3.0, 4.0]])
    mass = np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    fit = host(api.logits_on_kernels(xp, dev(huge), dev(mass), "exact", None, False, threads))
    pooled = 1e308 / 3 + 2 * (1.5e308 / 3)
    np.testing.assert_allclose(fit, [[pooled] * 3 + [-1.5e308], [1.0, 2.0, 3.5, 3.5]],
                               rtol=1e-15)


@needs_kernels
def test_empty_and_shapes(kernels):
    api, xp, dev, threads = kernels
    empty = np.zeros((3, 0))
    assert host(api.chain_on_kernels(xp, dev(empty), None, None, True, "primary", None,
                                     None, -1, False)).shape == (3, 0)
    assert host(api.logits_on_kernels(xp, dev(empty), dev(empty), "exact", None, False,
                                      threads)).shape == (3, 0)
    y = np.random.default_rng(4).normal(size=(2, 3, 5))
    fit, blocks = api.star_on_kernels(xp, dev(y), 0, None, False, 1, True, threads)
    expected, expected_blocks = isotree.star_isotonic_regression(
        y, 0, increasing=False, axis=1, return_blocks=True)
    np.testing.assert_allclose(host(fit), expected, rtol=1e-12)
    np.testing.assert_array_equal(host(blocks), expected_blocks)


@needs_kernels
def test_the_once_drifting_cases_on_the_kernels(kernels):
    api, xp, dev, threads = kernels
    y, w = SUBNORMAL_WEIGHTS
    for increasing in (True, False):
        np.testing.assert_array_equal(
            host(api.chain_on_kernels(xp, dev(y), dev(w), None, increasing, "primary", None,
                                      None, -1, False)),
            isotree.isotonic_regression(y, weights=w, increasing=increasing))
    y, root, w = LIGHT_ROOT
    for split in (False, True):
        from isotree._cuda import launch

        fit, blocks = launch.star(xp, dev(y), dev(w[None]), dev(np.array([root])), -1.0, True,
                                  threads=threads, split=split, chunk=2)
        np.testing.assert_array_equal(host(fit), [[2.0, -1.0, -1.0]])
        np.testing.assert_array_equal(host(blocks), [[0, 1, 1]])


@needs_kernels
@given(data=st.data())
@settings(max_examples=examples(10), deadline=None)
def test_kernels_agree_with_the_host_on_extreme_inputs(kernels, data):
    api, xp, dev, threads = kernels
    n = data.draw(st.integers(1, 8))
    y = np.stack([data.draw(extreme_values(n)) for _ in range(2)])
    w = data.draw(extreme_weights(n))
    cw = None if w is None else dev(w)
    increasing = data.draw(st.booleans())
    fit, blocks = api.chain_on_kernels(xp, dev(y), cw, None, increasing, "primary", None,
                                       None, -1, True)
    expected, expected_blocks = isotree.isotonic_regression(y, weights=w,
                                                            increasing=increasing,
                                                            return_blocks=True)
    np.testing.assert_allclose(host(fit), expected, rtol=1e-12, atol=0)
    root = data.draw(st.integers(0, n - 1))
    fit = api.star_on_kernels(xp, dev(y), root, cw, increasing, -1, False, threads)
    np.testing.assert_allclose(host(fit), isotree.star_isotonic_regression(
        y, root, weights=w, increasing=increasing), rtol=1e-12, atol=0)


@needs_kernels
@given(mixed_batches(max_rows=3, max_classes=8))
@settings(max_examples=examples(10), deadline=None)
def test_ida_kernels_agree_with_the_host(kernels, batch):
    api, xp, dev, threads = kernels
    logits, mass = batch
    for method, n_iter in (("exact", None), ("approx", 0), ("approx", 2)):
        fit = api.logits_on_kernels(xp, dev(logits), dev(mass), method, n_iter, False,
                                    threads)
        np.testing.assert_allclose(host(fit), isotonic_logits(logits, mass, method=method,
                                                              n_iter=n_iter),
                                   rtol=1e-12, atol=1e-12 * np.abs(logits).max())


def test_kernels_under_the_cuda_simulator():
    """Run this module's kernel tests under Numba's CUDA simulator, in a fresh process."""
    if SIMULATOR:
        pytest.skip("this is the simulator run")
    if GPU and _kernels_launch():
        pytest.skip("the kernel tests ran on the GPU itself")
    if importlib.util.find_spec("numba.cuda") is None:
        pytest.skip("this numba build has no numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    this = f"{Path(__file__).relative_to(ROOT)}"
    # Only the kernel tests: under the simulator each of them must run and pass (a skip
    # there would hide a kernel that was never launched). The module's other tests, some
    # of which skip without PyTorch, run in the plain run.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         *(f"{this}::{name}" for name in KERNEL_TESTS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary.startswith(f"{len(KERNEL_TESTS)} passed") and "skipped" not in summary, \
        result.stdout[-4000:]


# The kernels' argument types, for compiling them to PTX without a GPU (below).
def _signatures():
    from numba import types

    def rows(dtype):
        return types.Array(dtype, 2, "A")

    f64, i64, i32 = types.float64, types.int64, types.int32
    for dt in (types.float32, types.float64):
        yield "chain_kernel", (rows(dt), rows(f64), f64, rows(dt), rows(i64), rows(f64),
                               rows(f64), rows(f64), rows(i32))
        yield "chain_block_kernel", (rows(dt), rows(f64), f64, rows(dt), rows(i64), rows(f64),
                                     rows(f64), rows(f64), rows(i32))
        yield "star_kernel", (rows(dt), rows(f64), types.Array(i64, 1, "A"), f64, rows(dt),
                              rows(i64))
        vec = types.Array(i64, 1, "A")
        yield "star_extremes_kernel", (rows(dt), rows(f64), rows(f64), rows(f64), rows(f64))
        yield "star_start_kernel", (rows(dt), rows(f64), vec, f64, rows(f64), rows(f64),
                                    rows(f64), rows(f64))
        yield "star_partials_kernel", (rows(dt), rows(f64), vec, f64, rows(f64), rows(f64),
                                       rows(f64), rows(f64))
        yield "star_step_kernel", (rows(f64), rows(f64), rows(f64), rows(f64),
                                   types.Array(i32, 1, "A"))
        yield "star_write_kernel", (rows(dt), vec, f64, rows(f64), rows(dt), rows(i64))
        yield "ida_kernel", (rows(dt), rows(dt), types.boolean, i64, rows(dt), rows(i64),
                             types.Array(i32, 1, "A"))
        yield "ida_sorted_kernel", (rows(dt), rows(dt), rows(i64), types.boolean, i64,
                                    rows(dt), rows(i64), rows(f64), rows(f64), rows(i32),
                                    rows(f64), rows(f64), rows(f64), rows(i32))


def test_ptx_for_a_gpu(monkeypatch):
    """The kernels type-check and compile for a real GPU (sm_90) where NVIDIA's compiler
    is installed (``pip install "numba-cuda[cu12]"``), even with no device: the simulator
    runs plain Python and would not notice a construct the CUDA target rejects."""
    if SIMULATOR:
        pytest.skip("the simulator has no compiler")
    cuda = pytest.importorskip("numba.cuda")
    if getattr(cuda, "implementation", None) != "NVIDIA":
        pytest.skip("the PTX check runs with NVIDIA's numba-cuda, not Numba's built-in target")
    import numba.cuda.dispatcher as dispatcher

    class Hopper:  # device functions ask the current device for its compute capability
        compute_capability = (9, 0)

    if not GPU:
        monkeypatch.setattr(dispatcher, "get_current_device", lambda: Hopper(),
                            raising=False)
    from isotree._cuda import kernels

    for name, signature in _signatures():
        try:
            ptx, _ = cuda.compile_ptx(getattr(kernels, name).py_func, signature, cc=(9, 0))
        except Exception as error:  # no NVVM/NVRTC library on this machine
            if "nvvm" in str(error).lower() or "nvrtc" in str(error).lower() or \
                    "driver" in str(error).lower():
                pytest.skip(f"no CUDA compiler here: {str(error).splitlines()[0]}")
            raise
        assert ".entry" in ptx


def test_gpu_check_dry_run(tmp_path):
    """benchmarks/gpu_check.py parses and runs end to end on tiny sizes (simulator)."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("gpu_check.py measures against PyTorch")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--dry-run",
                             "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = (tmp_path / "gpu_results.md").read_text()
    for section in ("## IDA", "## Chains", "## Star", "dry run"):
        assert section in report


# On a real GPU only: the public functions keep CUDA arrays on the device.

def _gpu_convert():
    if GPU == "torch":
        import torch

        return lambda a: torch.as_tensor(a, device="cuda")
    import cupy

    return cupy.asarray


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="needs a CUDA device (PyTorch or CuPy)")
def test_gpu_arrays_stay_on_the_gpu():
    convert = _gpu_convert()
    rng = np.random.default_rng(5)
    rows, c = 256, 100
    mass = mixup_mass(rng.integers(0, c, rows), rng.integers(0, c, rows),
                      rng.uniform(0, 1, rows), c).astype(np.float32)
    logits = (3 * mass + rng.normal(size=(rows, c))).astype(np.float32)
    z = convert(logits)
    fit, blocks = isotonic_logits(z, convert(mass), return_blocks=True)
    for out in (fit, blocks):
        assert type(out) is type(z)
        assert array_api_compat.device(out) == array_api_compat.device(z)
    np.testing.assert_allclose(host(fit), isotonic_logits(logits, mass), rtol=1e-5, atol=1e-5)
    y = rng.normal(size=(8, 1000)).astype(np.float32)
    fit, blocks = isotree.star_isotonic_regression(convert(y), 3, return_blocks=True)
    np.testing.assert_allclose(host(fit), isotree.star_isotonic_regression(y, 3), rtol=1e-5)
    fit, blocks = isotree.isotonic_regression(convert(y), return_blocks=True)
    assert array_api_compat.device(blocks) == array_api_compat.device(fit)
    np.testing.assert_allclose(host(fit), isotree.isotonic_regression(y), rtol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(GPU != "torch", reason="needs PyTorch with a CUDA device")
def test_torch_gradients_on_cuda():
    import torch

    import isotree.torch as itorch

    y = torch.tensor([[1.0, 3.0, 2.0, 4.0]], dtype=torch.float64, device="cuda",
                     requires_grad=True)
    fit = itorch.isotonic_regression(y)
    assert fit.device.type == "cuda"
    fit[0, 1].backward()
    np.testing.assert_allclose(y.grad.cpu().numpy(), [[0.0, 0.5, 0.5, 0.0]])
