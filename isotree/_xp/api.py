"""The public functions' branch for arrays of other libraries: validate, lay out rows,
solve, shape back.

Mirrors :mod:`isotree.solvers` for arrays of other libraries; results keep the input's
array type, float dtype and device. Three routes, decided per call:

* host-memory PyTorch/JAX arrays: the Numba kernels on a NumPy view (:func:`runs_on_host`,
  used by the public functions before they get here);
* arrays on a CUDA device (CuPy, PyTorch CUDA; JAX GPU arrays through DLPack) when
  ``numba.cuda`` can launch there: the CUDA kernels of :mod:`isotree._cuda`, which read the
  input in its dtype, sum in float64 and return the fit and block labels on the device;
* anything else (``array_api_strict``, a GPU without a CUDA driver for Numba): the
  array-API reference path, sums in float64 where the library has it.
"""

import functools
import math

from .. import _validate as v
from .chain import chain_rows, predictor_rows
from .common import (accumulator, as_float, check_finite, check_nonnegative, device_of,
                     from_host, is_foreign, row_scales, rows, to_host, unrows, weights_rows)
from .ida import ida_rows
from .star import star_rows

# Set to False to send CUDA arrays down the array-API path (benchmarks compare the two).
USE_CUDA_KERNELS = True


@functools.cache
def _numba_cuda_ready():
    """True when ``numba.cuda`` imports, sees a CUDA driver and device, and finds NVIDIA's
    compiler library (libNVVM) to compile the kernels with."""
    try:
        from numba import cuda

        if not cuda.is_available():
            return False
        from numba.cuda.cudadrv.nvvm import NVVM

        NVVM()
        return True
    except Exception:  # no numba.cuda build, driver or NVVM: the array-API path serves
        return False


def _on_cuda(xp, arrays):
    import array_api_compat

    foreign = [a for a in arrays if is_foreign(a)]
    if array_api_compat.is_cupy_namespace(xp):
        return True
    if array_api_compat.is_torch_namespace(xp):
        return all(a.device.type == "cuda" for a in foreign)
    if array_api_compat.is_jax_namespace(xp):
        return all(getattr(device_of(a), "platform", None) == "gpu" for a in foreign)
    return False


def cuda_namespace(xp, *arrays):
    """The namespace the CUDA kernels work in for these arrays, or None for the array-API
    path: CuPy and PyTorch as they are; JAX GPU arrays are lent to CuPy or PyTorch through
    DLPack (no copy), as JAX arrays are immutable."""
    if not (USE_CUDA_KERNELS and _on_cuda(xp, arrays) and _numba_cuda_ready()):
        return None
    import array_api_compat

    if not array_api_compat.is_jax_namespace(xp):
        return xp
    for name in ("cupy", "torch"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        return array_api_compat.array_namespace(module.from_dlpack(
            next(a for a in arrays if is_foreign(a))))
    return None


def _lend(kxp, xp, a):
    """``a`` as an array of the kernel namespace ``kxp`` (same memory)."""
    if a is None or kxp is xp or not is_foreign(a):
        return a
    import array_api_compat

    module = __import__("cupy" if array_api_compat.is_cupy_namespace(kxp) else "torch")
    return module.from_dlpack(a)


def _give_back(kxp, xp, out):
    """Kernel results as arrays of the caller's namespace (DLPack for JAX)."""
    if kxp is xp:
        return out
    if isinstance(out, tuple):
        return tuple(_give_back(kxp, xp, o) for o in out)
    import jax.dlpack

    return jax.dlpack.from_dlpack(out)


class _Problem:
    """Validated values of one namespace laid out as (m, n) rows.

    ``own_dtype=False`` (the array-API path): rows in the accumulator dtype, each scaled by
    its own power of two. ``own_dtype=True`` (the CUDA kernels): rows in the input's float
    dtype, unscaled; the kernels accumulate in float64 and scale per row themselves.
    """

    def __init__(self, xp, y, weights, axis, name="y", own_dtype=False):
        self.xp = xp
        self.device = device_of(y) if hasattr(y, "shape") else None
        y = as_float(xp, y, name, self.device)
        if y.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension; got a scalar")
        check_finite(xp, y, name)
        self.dtype = y.dtype
        self.axis = v.check_axis(axis, y.ndim)
        self.acc = _kernel_dtype(xp, y.dtype) if own_dtype else accumulator(xp)
        self.y, self.shape = rows(xp, xp.astype(y, self.acc), self.axis)
        self.w = weights_rows(xp, weights, tuple(y.shape), self.axis,
                              None if own_dtype else self.acc, self.device)
        self.scale = None
        if not own_dtype:
            self.scale, scale_w = row_scales(xp, self.y, self.w)
            self.y = self.y * self.scale
            self.w = self.w * scale_w

    def lay_out(self, values, name):
        """Another array of y's shape (e.g. x), validated and laid out the same way."""
        xp = self.xp
        values = as_float(xp, values, name, self.device)
        check_finite(xp, values, name)
        n = self.shape[-1]
        if values.ndim == 1 and values.shape[0] == n:
            return xp.broadcast_to(xp.reshape(values, (1, n)), self.y.shape)
        full = tuple(unrows(xp, self.y, self.shape, self.axis).shape)
        if tuple(values.shape) != full:
            raise ValueError(f"{name} must have shape ({n},) or the shape of y {full}; got "
                             f"{tuple(values.shape)}")
        return rows(xp, values, self.axis)[0]

    def finish(self, fit, sign=1.0):
        if self.scale is not None:
            fit = fit / self.scale
        if sign != 1.0:
            fit = sign * fit
        return xp_cast(self.xp, unrows(self.xp, fit, self.shape, self.axis), self.dtype)

    def finish_labels(self, labels):
        return unrows(self.xp, labels, self.shape, self.axis)


def _kernel_dtype(xp, dtype):
    """float32 and float64 go to the kernels as they are; other floats (float16, bfloat16)
    as float32."""
    return dtype if dtype in (xp.float32, xp.float64) else xp.float32


def xp_cast(xp, array, dtype):
    return array if array.dtype == dtype else xp.astype(array, dtype)


def _roots(xp, problem, root):
    roots = v.check_root(to_host(root) if is_foreign(root) else root, problem.shape[:-1],
                         problem.shape[-1])
    return from_host(xp, roots, like=problem.y)


def star(xp, y, root, weights, increasing, axis, return_blocks):
    kxp = cuda_namespace(xp, y, root, weights)
    if kxp is not None:
        return _give_back(kxp, xp, star_on_kernels(
            kxp, _lend(kxp, xp, y), _lend(kxp, xp, root), _lend(kxp, xp, weights),
            increasing, axis, return_blocks))
    problem = _Problem(xp, y, weights, axis)
    sign = -1.0 if increasing else 1.0  # the solver's root is the maximum
    fit, labels = star_rows(xp, sign * problem.y, problem.w, _roots(xp, problem, root))
    if return_blocks:
        return problem.finish(fit, sign), problem.finish_labels(labels)
    return problem.finish(fit, sign)


def star_on_kernels(xp, y, root, weights, increasing, axis, return_blocks, threads=None):
    """:func:`star` on the CUDA kernels (``xp``: CuPy, PyTorch; NumPy under the simulator)."""
    from .._cuda import launch

    problem = _Problem(xp, y, weights, axis, own_dtype=True)
    sign = -1.0 if increasing else 1.0
    fit, labels = launch.star(xp, problem.y, problem.w, _roots(xp, problem, root), sign,
                              return_blocks, threads)
    if return_blocks:
        return problem.finish(fit), problem.finish_labels(labels)
    return problem.finish(fit)


def _check_ties(x, ties):
    if x is not None and ties != "primary":
        raise NotImplementedError(
            f"ties={ties!r} is not available on arrays of other libraries (primary ties "
            "are); pass NumPy arrays for secondary and tertiary ties")


def chain(xp, y, weights, x, increasing, ties, y_min, y_max, axis, return_blocks):
    _check_ties(x, ties)
    kxp = cuda_namespace(xp, y, weights, x)
    if kxp is not None:
        return _give_back(kxp, xp, chain_on_kernels(
            kxp, _lend(kxp, xp, y), _lend(kxp, xp, weights), _lend(kxp, xp, x), increasing,
            ties, y_min, y_max, axis, return_blocks))
    problem = _Problem(xp, y, weights, axis)
    sign = 1.0 if increasing else -1.0  # the solver fits increasing rows
    if x is None:
        fit, labels = chain_rows(xp, sign * problem.y, problem.w)
    else:
        fit, labels = predictor_rows(xp, sign * problem.y, problem.w,
                                     xp.astype(problem.lay_out(x, "x"), problem.acc))
    return _chain_result(xp, problem, problem.finish(fit, sign), labels, y_min, y_max,
                         return_blocks)


def chain_on_kernels(xp, y, weights, x, increasing, ties, y_min, y_max, axis, return_blocks):
    """:func:`chain` on the CUDA kernels (``xp``: CuPy, PyTorch; NumPy under the simulator)."""
    from .._cuda import launch

    _check_ties(x, ties)
    problem = _Problem(xp, y, weights, axis, own_dtype=True)
    sign = 1.0 if increasing else -1.0
    if x is None:
        fit, labels = launch.chain(xp, problem.y, problem.w, sign, return_blocks)
    else:
        fit, labels = launch.predictor(xp, problem.y, problem.w, problem.lay_out(x, "x"),
                                       sign, return_blocks)
    return _chain_result(xp, problem, problem.finish(fit), labels, y_min, y_max,
                         return_blocks)


def _chain_result(xp, problem, fit, labels, y_min, y_max, return_blocks):
    if y_min is not None or y_max is not None:
        fit = xp.clip(fit, y_min, y_max)
    if return_blocks:
        return fit, problem.finish_labels(labels)
    return fit


def _logit_rows(xp, z, mass, own_dtype):
    """Validated (B, c) logits and mass rows, the logits' shape and float dtype."""
    device = device_of(z) if hasattr(z, "shape") else device_of(mass)
    z = as_float(xp, z, "logits", device)
    m = as_float(xp, mass, "mass", device)
    if z.ndim == 0 or m.ndim == 0:
        raise ValueError("logits and mass must have at least one dimension; got a scalar")
    if tuple(z.shape) != tuple(m.shape):
        raise ValueError(f"mass must have the shape of logits {tuple(z.shape)}; got "
                         f"{tuple(m.shape)}")
    check_finite(xp, z, "logits")
    check_finite(xp, m, "mass")
    check_nonnegative(xp, m, "mass")
    shape = tuple(z.shape)
    acc = _kernel_dtype(xp, z.dtype) if own_dtype else accumulator(xp)
    flat = (math.prod(shape[:-1]), shape[-1])  # not -1: the class axis may be empty
    return xp.reshape(xp.astype(z, acc), flat), xp.reshape(m, flat), shape, z.dtype


def logits(xp, z, mass, method, n_iter, return_blocks):
    kxp = None if method == "shift" else cuda_namespace(xp, z, mass)
    if kxp is not None:
        return _give_back(kxp, xp, logits_on_kernels(
            kxp, _lend(kxp, xp, z), _lend(kxp, xp, mass), method, n_iter, return_blocks))
    z2, m2, shape, dtype = _logit_rows(xp, z, mass, own_dtype=False)
    fit, labels = ida_rows(xp, z2, m2, method, n_iter, return_blocks)
    return _logits_result(xp, fit, labels, shape, dtype, return_blocks)


def logits_on_kernels(xp, z, mass, method, n_iter, return_blocks, threads=None):
    """:func:`logits` (exact, approx) on the CUDA kernels (``xp``: CuPy, PyTorch; NumPy
    under the simulator)."""
    from .._cuda import launch

    z2, m2, shape, dtype = _logit_rows(xp, z, mass, own_dtype=True)
    fit, labels = launch.ida(xp, z2, m2, method == "exact", n_iter or 0, return_blocks,
                             threads)
    return _logits_result(xp, fit, labels, shape, dtype, return_blocks)


def _logits_result(xp, fit, labels, shape, dtype, return_blocks):
    fit = xp_cast(xp, xp.reshape(fit, shape), dtype)
    if return_blocks:
        return fit, xp.reshape(labels, shape)
    return fit


def runs_on_host(xp, *arrays):
    """True when every foreign array lives in host memory in PyTorch or JAX.

    Those are solved by the Numba kernels through a NumPy view (no copy for PyTorch), which
    on a CPU beats the array-API path by an order of magnitude; GPU arrays, and the test
    namespace array_api_strict, take the array-API path.
    """
    import array_api_compat

    if not (array_api_compat.is_torch_namespace(xp) or array_api_compat.is_jax_namespace(xp)):
        return False
    for a in arrays:
        if is_foreign(a):
            dev = device_of(a)
            kind = getattr(dev, "type", None) or getattr(dev, "platform", None)
            if kind != "cpu":
                return False
    return True


def on_host(xp, solve, *arrays):
    """Run a NumPy solver on host copies of ``arrays``; return its array(s) on the device
    of the first foreign one (a float stays a float).

    The explicit device-to-host round trip used for trees and the certificate.
    """
    like = next(a for a in arrays if is_foreign(a))
    out = solve(*(to_host(a) if is_foreign(a) else a for a in arrays))
    if isinstance(out, tuple):
        return tuple(from_host(xp, o, like) for o in out)
    if isinstance(out, float):
        return out
    return from_host(xp, out, like)
