"""The public functions' array-API branch: validate, lay out rows, solve, shape back.

Mirrors :mod:`isotree.solvers` for arrays of other libraries; results keep the input's
array type, float dtype and device. Sums run in float64 where the library has it.
"""

from .. import _validate as v
from .chain import chain_rows, predictor_rows
from .common import (accumulator, as_float, check_finite, check_nonnegative, device_of,
                     from_host, is_foreign, rows, to_host, unrows, weights_rows)
from .ida import ida_rows
from .star import star_rows


class _Problem:
    """Validated values of one namespace laid out as (m, n) rows in the accumulator dtype."""

    def __init__(self, xp, y, weights, axis, name="y"):
        self.xp = xp
        self.device = device_of(y) if hasattr(y, "shape") else None
        y = as_float(xp, y, name, self.device)
        if y.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension; got a scalar")
        check_finite(xp, y, name)
        self.dtype = y.dtype
        self.axis = v.check_axis(axis, y.ndim)
        self.acc = accumulator(xp)
        self.y, self.shape = rows(xp, xp.astype(y, self.acc), self.axis)
        self.w = weights_rows(xp, weights, tuple(y.shape), self.axis, self.acc, self.device)

    def lay_out(self, values, name):
        """Another array of y's shape (e.g. x), validated and laid out the same way."""
        xp = self.xp
        values = as_float(xp, values, name, self.device)
        check_finite(xp, values, name)
        n = self.shape[-1]
        if values.ndim == 1 and values.shape[0] == n:
            return xp.broadcast_to(xp.reshape(xp.astype(values, self.acc), (1, n)),
                                   self.y.shape)
        full = tuple(unrows(xp, self.y, self.shape, self.axis).shape)
        if tuple(values.shape) != full:
            raise ValueError(f"{name} must have shape ({n},) or the shape of y {full}; got "
                             f"{tuple(values.shape)}")
        return rows(xp, xp.astype(values, self.acc), self.axis)[0]

    def finish(self, fit, sign=1.0):
        return xp_cast(self.xp, unrows(self.xp, sign * fit, self.shape, self.axis), self.dtype)

    def finish_labels(self, labels):
        return unrows(self.xp, labels, self.shape, self.axis)


def xp_cast(xp, array, dtype):
    return array if array.dtype == dtype else xp.astype(array, dtype)


def _no_blocks(what):
    raise NotImplementedError(
        f"return_blocks=True is not available for {what} on arrays of other libraries; "
        "pass NumPy arrays (the Numba kernels return block labels)")


def star(xp, y, root, weights, increasing, axis, return_blocks):
    problem = _Problem(xp, y, weights, axis)
    roots = v.check_root(to_host(root) if is_foreign(root) else root, problem.shape[:-1],
                         problem.shape[-1])
    roots = from_host(xp, roots, like=problem.y)
    sign = -1.0 if increasing else 1.0  # the solver's root is the maximum
    fit, labels = star_rows(xp, sign * problem.y, problem.w, roots)
    if return_blocks:
        return problem.finish(fit, sign), problem.finish_labels(labels)
    return problem.finish(fit, sign)


def chain(xp, y, weights, x, increasing, ties, y_min, y_max, axis, return_blocks):
    if return_blocks:
        _no_blocks("isotonic_regression")
    if x is not None and ties != "primary":
        raise NotImplementedError(
            f"ties={ties!r} is not available on arrays of other libraries (primary ties "
            "are); pass NumPy arrays for secondary and tertiary ties")
    problem = _Problem(xp, y, weights, axis)
    sign = 1.0 if increasing else -1.0  # the solver fits increasing rows
    if x is None:
        fit = chain_rows(xp, sign * problem.y, problem.w)
    else:
        fit = predictor_rows(xp, sign * problem.y, problem.w, problem.lay_out(x, "x"))
    fit = problem.finish(fit, sign)
    if y_min is not None or y_max is not None:
        fit = xp.clip(fit, y_min, y_max)
    return fit


def logits(xp, z, mass, method, n_iter, return_blocks):
    if return_blocks:
        _no_blocks("isotonic_logits")
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
    dtype = z.dtype
    shape = tuple(z.shape)
    c = shape[-1]
    acc = accumulator(xp)
    z2 = xp.reshape(xp.astype(z, acc), (-1, c))
    m2 = xp.reshape(m, (-1, c))
    fit = ida_rows(xp, z2, m2, method, n_iter)
    return xp_cast(xp, xp.reshape(fit, shape), dtype)


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
