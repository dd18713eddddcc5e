"""Problems on a CUDA device: validate and lay out the arrays where they live, launch, shape.

The device-side counterpart of :mod:`isotree._engine` for the solvers that have CUDA kernels:
chains and predictor orders with primary ties (:func:`chain`), the star (:func:`star`) and
IDA's exact and approximate fits (:func:`logits`). Every function takes the
:class:`~isotree._bridge.Bridge` of the arrays' library (PyTorch's or CuPy's; NumPy's under
Numba's CUDA simulator, which is how the tests run them on a CPU) and validated options, and
returns results of that library on the input's device. JAX arrays on a GPU are lent to CuPy
or PyTorch through DLPack (no copy) and the results handed back the same way.
"""

import functools
import math

from .. import _validate as v
from .._bridge import known
from . import launch
from .rows import NeedsHost, Problem, kernel_dtype  # noqa: F401  (NeedsHost: the dispatcher's)


@functools.cache
def numba_cuda_ready():
    """True when ``numba.cuda`` imports, sees a CUDA driver and device, and finds NVIDIA's
    compiler library (libNVVM) to compile the kernels with."""
    try:
        from numba import cuda

        if not cuda.is_available():
            return False
        from numba.cuda.cudadrv.nvvm import NVVM

        NVVM()
        return True
    except Exception:  # no numba.cuda build, driver or NVVM: the host round trip serves
        return False


def solves(kind, options, bridge, arrays):
    """Whether the CUDA kernels solve this problem (else the dispatcher takes the host)."""
    if kind == "chain":
        supported = arrays[2] is None or options.ties == "primary"
    elif kind == "logits":
        supported = options.method != "shift"
    else:
        supported = kind == "star"
    return supported and numba_cuda_ready() and _kernel_bridge(bridge) is not None


def _kernel_bridge(bridge):
    """The bridge whose arrays the kernels take: PyTorch's and CuPy's are themselves; JAX
    arrays are lent to CuPy or PyTorch (whichever is installed), as JAX arrays are
    immutable."""
    if bridge.name != "jax":
        return bridge
    for name in ("cupy", "torch"):
        try:
            return known(name)
        except ImportError:
            continue
    return None


def run(kind, options, bridge, arrays):
    """Solve on the device: ``fit`` or ``(fit, labels)``, arrays of ``bridge``'s library."""
    kernel_bridge = _kernel_bridge(bridge)
    if kernel_bridge is not bridge:
        module = __import__(kernel_bridge.name)
        arrays = [module.from_dlpack(a) if bridge.is_array(a) else a for a in arrays]
    out = SOLVE[kind](kernel_bridge, options, *arrays)
    if kernel_bridge is bridge:
        return out
    import jax.dlpack

    if isinstance(out, tuple):
        return tuple(jax.dlpack.from_dlpack(o) for o in out)
    return jax.dlpack.from_dlpack(out)


def chain(bridge, options, y, weights, x):
    """:func:`isotree.isotonic_regression` (primary ties) on the CUDA kernels."""
    xp = bridge.xp
    problem = Problem(bridge, y, weights, options.axis)
    sign = 1.0 if options.increasing else -1.0
    if x is None:
        fit, labels = launch.chain(bridge, problem.y, problem.w, sign, options.return_blocks)
    else:
        fit, labels = launch.predictor(bridge, problem.y, problem.w, problem.lay_out(x, "x"),
                                       sign, options.return_blocks)
    return _result(xp, problem, options, fit, labels)


def _result(xp, problem, options, fit, labels):
    """The fit in the caller's layout, clipped to the bounds (exact for constant bounds),
    with the labels if asked (as the host engine's ``Rows.result``)."""
    fit = problem.finish(fit)
    if options.bounded:
        fit = xp.clip(fit, options.y_min, options.y_max)
    if options.return_blocks:
        return fit, problem.finish_labels(labels)
    return fit


def star(bridge, options, y, root, weights, threads=None):
    """:func:`isotree.star_isotonic_regression` on the CUDA kernels."""
    xp = bridge.xp
    problem = Problem(bridge, y, weights, options.axis)
    host_root = bridge.to_host(root) if bridge.is_array(root) else root
    roots = v.check_root(host_root, problem.shape[:-1], problem.shape[-1])
    roots = xp.asarray(roots, device=problem.device)
    sign = -1.0 if options.increasing else 1.0  # the kernels' root is the maximum
    fit, labels = launch.star(bridge, problem.y, problem.w, roots, sign, options.return_blocks,
                              threads)
    return _result(xp, problem, options, fit, labels)


def logits(bridge, options, z, mass, threads=None):
    """:func:`isotree.ida.isotonic_logits` (exact, approx) on the CUDA kernels."""
    xp = bridge.xp
    like = z if bridge.is_array(z) else mass
    device = bridge.device(like)
    z = v.device_float(xp, z, "logits", device, bridge.accumulator)
    m = v.device_float(xp, mass, "mass", device, bridge.accumulator)
    for values, name in ((z, "logits"), (m, "mass")):
        if values.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension (shape (..., c)); "
                             f"got a scalar")
    if tuple(z.shape) != tuple(m.shape):
        raise ValueError(f"mass must have the shape of logits {tuple(z.shape)}; got "
                         f"{tuple(m.shape)}")
    v.device_finite(xp, z, "logits")
    v.device_finite(xp, m, "mass")
    v.device_require(xp, m >= 0, m, "mass", ">= 0")
    shape, dtype = tuple(z.shape), z.dtype
    c = shape[-1]
    flat = (math.prod(shape[:-1]), c)  # not -1: the class axis may be empty
    z2 = xp.reshape(xp.astype(z, kernel_dtype(xp, dtype)), flat)
    fit, labels = launch.ida(bridge, z2, xp.reshape(m, flat), options.method == "exact",
                             options.n_iter, options.return_blocks, threads)
    fit = xp.reshape(fit, shape)
    fit = fit if fit.dtype == dtype else xp.astype(fit, dtype)
    if options.return_blocks:
        return fit, xp.reshape(labels, shape)
    return fit


SOLVE = {"chain": chain, "star": star, "logits": logits}
