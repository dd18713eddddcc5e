"""JAX adapters: the solvers as ``jax.custom_vjp`` functions, under ``jit``, ``grad``, ``vmap``.

The forward is a ``jax.pure_callback`` into the Numba kernels (the callback converts its
``jax.Array`` arguments with ``np.asarray`` first: handing them to Numba directly is what
breaks jaxopt's isotonic regression since jax 0.4.27), with ``vmap_method="broadcast_all"``
(the kernels batch over leading axes natively). It returns the fit and the block labels;
the backward is pure JAX (``segment_sum`` by label, divide, gather), so it jits and vmaps.
On a GPU the callback copies the inputs to the host and the fit back (one transfer each
way): jit-compiled programs cannot run the array-API path, whose loops synchronise.

Validation: with concrete inputs the same ``ValueError``/``TypeError`` as NumPy is raised
before the callback; under ``jit`` only shapes and options can be checked, and a NaN that
reaches the callback gives a NaN fit instead of an error (nothing raises inside it).

Bounds (``y_min``/``y_max``) are applied by ``jnp.clip`` outside the custom VJP, whose
derivative is zero at the bounds.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate as v
from . import ida as _ida
from . import solvers as _solvers
from ._blocks import differentiable_ties
from .tree import Tree

__all__ = ["isotonic_regression", "tree_isotonic_regression", "star_isotonic_regression",
           "isotonic_logits", "kd_loss", "kd_penalty"]


def _is_concrete(*arrays):
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def _callback(host_solve, y, w, aux):
    """(fit, labels) of ``host_solve(y, w, aux)`` on the host; never raises inside."""
    shapes = (jax.ShapeDtypeStruct(y.shape, y.dtype), jax.ShapeDtypeStruct(y.shape, jnp.int32))

    def host(y, w, aux):
        y, w, aux = np.asarray(y), np.asarray(w), np.asarray(aux)
        try:
            fit, labels = host_solve(y, w, aux)
        except (ValueError, TypeError):
            labels = np.broadcast_to(np.arange(y.shape[-1], dtype=np.int32), y.shape)
            return np.full(y.shape, np.nan, y.dtype), np.ascontiguousarray(labels)
        return np.asarray(fit, dtype=y.dtype), np.asarray(labels, dtype=np.int32)

    return jax.pure_callback(host, shapes, y, w, aux, vmap_method="broadcast_all")


def _segment_mean(values, weights, labels):
    """Per row, the weighted block sums of ``values`` divided by the block weights,
    gathered back to every entry (rows = all leading axes)."""
    shape = values.shape
    n = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    index = (labels.reshape(rows, n) + (jnp.arange(rows, dtype=labels.dtype) * n)[:, None])
    index = index.reshape(-1)
    total = jax.ops.segment_sum(values.reshape(-1), index, num_segments=rows * n)
    weight = jax.ops.segment_sum(weights.reshape(-1), index, num_segments=rows * n)
    return (total / weight)[index].reshape(shape)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _block_average(host_solve, y, w, aux):
    return _callback(host_solve, y, w, aux)[0]


def _forward(host_solve, y, w, aux):
    fit, labels = _callback(host_solve, y, w, aux)
    return fit, (y, w, fit, labels, aux)


def _backward(host_solve, residuals, grad):
    y, w, fit, labels, aux = residuals
    mean_grad = _segment_mean(grad, w, labels)
    return w * mean_grad, (y - fit) * mean_grad, jnp.zeros_like(aux)


_block_average.defvjp(_forward, _backward)


def _prepare(y, weights, aux=None):
    y = jnp.asarray(y)
    if not jnp.issubdtype(y.dtype, jnp.floating):
        y = y.astype(jnp.float32 if not jax.config.read("jax_enable_x64") else jnp.float64)
    w = jnp.ones_like(y) if weights is None else jnp.broadcast_to(
        jnp.asarray(weights, dtype=y.dtype), y.shape)
    aux = jnp.zeros_like(y) if aux is None else jnp.broadcast_to(
        jnp.asarray(aux, dtype=y.dtype), y.shape)
    return y, w, aux


def _check_values(y, weights, axis=-1, x=None):
    """The NumPy-side checks of values, weights and predictor, outside ``jit`` only.

    Returns y's shape (also under ``jit``, where only shapes are known).
    """
    if not _is_concrete(y, weights):
        return tuple(jnp.shape(y))
    y64, _, _ = v.check_values(np.asarray(y))
    axis = v.check_axis(axis, y64.ndim)
    v.check_weights(None if weights is None else np.asarray(weights), y64.shape, axis)
    if x is not None:
        x64, _, _ = v.check_values(x, "x")
        n = y64.shape[axis]
        if x64.shape not in ((n,), y64.shape):
            raise ValueError(f"x must have shape ({n},) or the shape of y {y64.shape}; "
                             f"got {x64.shape}")
    return y64.shape


def isotonic_regression(y, weights=None, *, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1):
    """:func:`isotree.isotonic_regression` for JAX, differentiable in `y` and `weights`.

    `x` must be concrete (a NumPy array or a JAX array outside ``jit``).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> ijax.isotonic_regression(jnp.array([1.0, 3.0, 2.0, 4.0])).tolist()
    [1.0, 2.5, 2.5, 4.0]
    >>> jax.grad(lambda y: ijax.isotonic_regression(y)[1])(jnp.array([1.0, 3.0, 2.0])).tolist()
    [0.0, 0.5, 0.5]
    """
    differentiable_ties(ties)
    y_min, y_max = v.check_bounds(y_min, y_max)
    increasing = v.check_flag(increasing, "increasing")
    y = jnp.asarray(y)
    axis = v.check_axis(axis, y.ndim)
    x_host = None if x is None else np.asarray(x)
    _check_values(y, weights, axis, x_host)
    moved = jnp.moveaxis(y, axis, -1)
    w = None if weights is None else jnp.asarray(weights)
    if w is not None and w.ndim > 1:
        w = jnp.moveaxis(w, axis, -1)
    if x_host is not None and x_host.ndim > 1:
        x_host = np.moveaxis(x_host, axis, -1)
    yy, ww, _ = _prepare(moved, w)

    def host_solve(y, w, _):
        return _solvers.isotonic_regression(y, w, x=x_host, increasing=increasing, ties=ties,
                                            return_blocks=True)

    fit = _block_average(host_solve, yy, ww, jnp.zeros_like(yy))
    if y_min is not None or y_max is not None:
        fit = jnp.clip(fit, y_min, y_max)
    return jnp.moveaxis(fit, -1, axis)


def tree_isotonic_regression(y, parent, weights=None, *, increasing=True):
    """:func:`isotree.tree_isotonic_regression` for JAX, differentiable in `y`, `weights`.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> f = lambda y: ijax.tree_isotonic_regression(y, [-1, 0, 0]).sum()
    >>> jax.grad(f)(jnp.array([2.0, 0.0, 5.0])).tolist()
    [1.0, 1.0, 1.0]
    """
    increasing = v.check_flag(increasing, "increasing")
    tree = parent if isinstance(parent, Tree) else Tree(np.asarray(parent))
    _solvers._check_tree_length(y, tree)
    _check_values(y, weights)
    yy, ww, aux = _prepare(y, weights)

    def host_solve(y, w, _):
        return _solvers.tree_isotonic_regression(y, tree, w, increasing=increasing,
                                                 return_blocks=True)

    return _block_average(host_solve, yy, ww, aux)


def star_isotonic_regression(y, root=0, weights=None, *, increasing=True):
    """:func:`isotree.star_isotonic_regression` for JAX (last axis), differentiable.

    `root` must be concrete: an int or an array of the batch shape.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> ijax.star_isotonic_regression(jnp.array([5.0, 4.0, 6.5, 3.0])).tolist()
    [4.0, 4.0, 6.5, 4.0]
    """
    increasing = v.check_flag(increasing, "increasing")
    root_host = np.asarray(root)
    shape = _check_values(y, weights)
    v.check_root(root_host, shape[:-1], shape[-1])
    yy, ww, aux = _prepare(y, weights)

    def host_solve(y, w, _):
        # Under vmap the rows gain a leading axis that the roots do not have.
        roots = np.broadcast_to(root_host, y.shape[:-1]) if root_host.ndim else root_host
        return _solvers.star_isotonic_regression(y, roots, w, increasing=increasing,
                                                 return_blocks=True)

    return _block_average(host_solve, yy, ww, aux)


def isotonic_logits(logits, mass, *, method="exact", n_iter=None):
    """:func:`isotree.ida.isotonic_logits` for JAX; ``method="exact"`` is differentiable.

    `mass` may be traced (it is a callback argument). ``"approx"`` and ``"shift"`` are not
    projections: their output carries no gradient (``stop_gradient``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> from isotree.ida import mixup_mass
    >>> mass = jnp.asarray(mixup_mass([0], [1], 0.7, num_classes=3))
    >>> ijax.isotonic_logits(jnp.array([[1.0, 2.0, 0.0]]), mass).tolist()
    [[1.5, 1.5, 0.0]]
    """
    method, n_iter, _ = _ida.check_options(method, n_iter, False)
    if _is_concrete(logits, mass):
        _ida.check_logits(np.asarray(logits), np.asarray(mass))
    zz, ones, m = _prepare(logits, None, mass)
    if method != "exact":
        def host(z, m):
            try:
                return np.asarray(_ida.isotonic_logits(np.asarray(z), np.asarray(m),
                                                       method=method, n_iter=n_iter), z.dtype)
            except (ValueError, TypeError):
                return np.full(z.shape, np.nan, z.dtype)
        out = jax.pure_callback(host, jax.ShapeDtypeStruct(zz.shape, zz.dtype),
                                jax.lax.stop_gradient(zz), m, vmap_method="broadcast_all")
        return out

    def host_solve(z, _, m):
        return _ida.isotonic_logits(z, m, return_blocks=True)

    return _block_average(host_solve, zz, ones, m)


def kd_penalty(student_logits, mass):
    """The KD-p penalty per row (see :func:`isotree.torch.kd_penalty`).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> from isotree.ida import mixup_mass
    >>> student = jnp.log(jnp.array([[0.2, 0.2, 0.6]]))
    >>> round(float(ijax.kd_penalty(student, mixup_mass([0], [1], 0.7, num_classes=3))[0]), 6)
    0.4
    """
    p = jax.nn.softmax(student_logits, axis=-1)
    mass = jnp.asarray(mass, dtype=p.dtype)
    low = mass.min(axis=-1, keepdims=True)
    mixed = mass > low
    has_mixed = mixed.any(axis=-1)
    top_other = jnp.where(mixed, -jnp.inf, p).max(axis=-1)
    low_mixed = jnp.where(mixed, p, jnp.inf).min(axis=-1)
    set_term = jnp.where(has_mixed, jnp.maximum(top_other - low_mixed, 0.0), 0.0)
    order = jnp.argsort(-mass, axis=-1, stable=True)
    a, b = order[..., 0:1], order[..., 1:2]
    mass_a = jnp.take_along_axis(mass, a, axis=-1)[..., 0]
    mass_b = jnp.take_along_axis(mass, b, axis=-1)[..., 0]
    ordered = (mass_a > mass_b) & (mass_b > low[..., 0])
    pair = jnp.maximum(jnp.take_along_axis(p, b, axis=-1)[..., 0]
                       - jnp.take_along_axis(p, a, axis=-1)[..., 0], 0.0)
    return set_term + jnp.where(ordered, pair, 0.0)


def kd_loss(student_logits, teacher_logits, mass, *, temperature=4.0, alpha=0.9, ida="exact",
            sigma=1.0, n_iter=None):
    """The KD loss with isotonic data augmentation (see :func:`isotree.torch.kd_loss`).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> from isotree.ida import mixup_mass
    >>> mass = jnp.asarray(mixup_mass([0, 1], [2, 2], 0.7, num_classes=3))
    >>> teacher = jnp.array([[0.0, 0.0, 3.0], [0.0, 1.0, 2.0]])
    >>> grad = jax.grad(lambda s: ijax.kd_loss(s, teacher, mass, temperature=2.0))(
    ...     jnp.zeros((2, 3)))
    >>> bool(jnp.isfinite(grad).all())
    True
    """
    modes = ("exact", "approx", "shift", "penalty", None)
    if ida not in modes:
        raise ValueError(f"ida must be one of {', '.join(map(repr, modes))}; got {ida!r}")
    if jnp.shape(student_logits) != jnp.shape(teacher_logits):
        raise ValueError(f"teacher_logits must have the shape of student_logits "
                         f"{jnp.shape(student_logits)}; got {jnp.shape(teacher_logits)}")
    mass = jnp.asarray(mass, dtype=jnp.asarray(student_logits).dtype)
    teacher = jax.lax.stop_gradient(jnp.asarray(teacher_logits))
    if ida in ("exact", "approx", "shift"):
        teacher = jax.lax.stop_gradient(isotonic_logits(
            teacher, mass, method=ida, n_iter=n_iter if ida == "approx" else None))
    t = temperature
    target = jax.nn.softmax(teacher / t, axis=-1)
    log_student = jax.nn.log_softmax(student_logits / t, axis=-1)
    soft = jnp.sum(target * (jnp.log(jnp.clip(target, 1e-38)) - log_student), axis=-1).mean()
    hard = -(mass * jax.nn.log_softmax(student_logits, axis=-1)).sum(-1).mean()
    loss = alpha * soft * t * t + (1.0 - alpha) * hard
    if ida == "penalty":
        loss = loss + sigma * kd_penalty(student_logits, mass).mean()
    return loss
