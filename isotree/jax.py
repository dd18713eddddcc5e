"""JAX adapters: the solvers as ``jax.custom_jvp`` functions, and KD losses.

Each solver is built from its description (:mod:`isotree._autodiff`). The forward is a
``jax.pure_callback`` into the dispatcher and host engine (``vmap_method="broadcast_all"``:
the solvers batch over leading axes) returning the fit and the block labels (an integer
output with a zero tangent). The JVP is the block average of :mod:`isotree._blocks` in
``jax.numpy``: linear in the tangent, so JAX transposes it for reverse mode and
differentiates it again, as jaxopt does. ``jvp``, ``grad``, ``vjp``, ``jacfwd``,
``jacrev``, ``hessian``, ``vmap`` and ``jit`` all work, in any combination.

The callback converts its ``jax.Array`` arguments with ``np.asarray`` before the Numba
kernels see them (handing them over directly is what breaks jaxopt's isotonic regression
since jax 0.4.27). On a GPU the callback copies to the host and back. Validation: with
concrete inputs the same ``ValueError``/``TypeError`` as NumPy is raised before the
callback; under ``jit`` only shapes and options can be checked, and a NaN that reaches the
callback gives a NaN fit (nothing raises inside it). Half-precision arrays are computed in
float32 and returned in their dtype.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _autodiff as ad
from . import _dispatch, _kd
from ._bridge import NUMPY, known

__all__ = ["isotonic_regression", "tree_isotonic_regression", "star_isotonic_regression",
           "isotonic_logits", "kd_loss", "kd_penalty"]

_bx = known("jax")


def _callback(problem, y, w, aux):
    """(fit, labels, groups) on the host; never raises inside (a NaN fit instead)."""
    shapes = (jax.ShapeDtypeStruct(y.shape, y.dtype),
              jax.ShapeDtypeStruct(y.shape, jnp.int32),
              jax.ShapeDtypeStruct(y.shape, jnp.int32))

    def host(y, w, *aux):
        y, w = np.asarray(y), np.asarray(w)
        aux = [np.asarray(a) for a in aux]
        try:
            fit, labels, groups = ad.forward(NUMPY, problem, y, w, aux)
        except (ValueError, TypeError):  # every entry its own block, along the axis
            labels = np.moveaxis(np.broadcast_to(
                np.arange(y.shape[problem.axis], dtype=np.int32),
                np.moveaxis(np.empty(y.shape, np.int8), problem.axis, -1).shape),
                -1, problem.axis)
            labels = np.ascontiguousarray(labels)
            return np.full(y.shape, np.nan, y.dtype), labels, labels
        return (np.asarray(fit, dtype=y.dtype), np.asarray(labels, dtype=np.int32),
                np.asarray(groups, dtype=np.int32))

    return jax.pure_callback(host, shapes, y, w, *aux, vmap_method="broadcast_all")


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _solve(problem, y, w, aux):
    return _callback(problem, y, w, aux)


@_solve.defjvp
def _solve_jvp(problem, primals, tangents):
    y, w, aux = primals
    t_y, t_w, _ = tangents
    fit, labels, groups = _solve(problem, y, w, aux)  # differentiable again
    tangent = ad.jvp_along(_bx, problem.axis, problem.tertiary, y, w, labels, groups, t_y,
                           t_w if problem.weighted else None)
    no_tangent = np.zeros(labels.shape, dtype=jax.dtypes.float0)
    return (fit, labels, groups), (tangent, no_tangent, no_tangent)


def _concrete(*arrays):
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def _host_option(value, name):
    """``parent`` and ``root`` shape the problem and are read on the host: concrete only."""
    if not _concrete(value):
        raise ValueError(f"{name} must be concrete (not traced by jit, vmap or grad): it is "
                         f"read on the host when the problem is set up; pass it as a NumPy "
                         f"array or a static argument (root: an array of the batch shape)")


def _compute_dtype(y):
    if y.dtype in (jnp.float16, jnp.bfloat16):
        return jnp.float32
    if jnp.issubdtype(y.dtype, jnp.floating):
        return y.dtype
    return _widest_float()


def _widest_float():
    return jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32


def _values(y, name="y"):
    """A real array of at least one dimension."""
    y = jnp.asarray(y)
    if jnp.iscomplexobj(y):
        raise TypeError(f"{name} must be real; got complex dtype {y.dtype}")
    if y.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension; got a scalar")
    return y


def _along(a, axis, shape):
    """``a`` (of ``shape`` or of its length along ``axis``) broadcast to ``shape``."""
    if a.ndim == 1 and len(shape) > 1:
        a = a.reshape([-1 if i == axis % len(shape) else 1 for i in range(len(shape))])
    return jnp.broadcast_to(a, shape)


def _apply(problem, y, weights, aux=()):
    """Shared body of the solvers: dtype, the solve, bounds.

    Concrete arrays are solved directly (validated once, errors raised); under a transform
    the solve is a host callback (weights and predictors broadcast to y's shape, so
    ``vmap_method="broadcast_all"`` batches them alike) with the block-average JVP.
    """
    dtype, compute = y.dtype, _compute_dtype(y)
    y = y.astype(compute)
    w = None
    if weights is not None:
        w = jnp.asarray(weights)
        if jnp.iscomplexobj(w):
            raise TypeError(f"weights must be real; got complex dtype {w.dtype}")
        w = w.astype(compute)
    if _concrete(y, w, *aux):
        fit = ad.fit_only(problem, y, w, aux)
    else:
        full = (jnp.ones_like(y) if w is None else
                _along(w, problem.axis, y.shape) if w.ndim < y.ndim else w)
        aux = tuple(_along(jnp.asarray(a), problem.axis, y.shape) if problem.order != "star"
                    else jnp.asarray(a) for a in aux)
        fit = _solve(problem, y, full, aux)[0]
    if problem.bounded:
        fit = ad.bounded(_bx, problem, fit, w, aux)
    return fit.astype(dtype if jnp.issubdtype(dtype, jnp.floating) else compute)


def isotonic_regression(y, *, weights=None, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.isotonic_regression` for JAX, differentiable in `y` and `weights`.

    Parameters
    ----------
    y, x, increasing, ties, y_min, y_max, axis
        As in :func:`isotree.isotonic_regression` (every tie rule, bounds, any axis); `x`
        may be traced.
    weights : keyword-only
        As there; differentiable.
    {blocks}

    Returns
    -------
    jax.Array
        The fit, with y's shape and dtype.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> ijax.isotonic_regression(jnp.array([1.0, 3.0, 2.0, 4.0])).tolist()
    [1.0, 2.5, 2.5, 4.0]
    >>> jax.grad(lambda y: ijax.isotonic_regression(y)[1])(jnp.array([1.0, 3.0, 2.0])).tolist()
    [0.0, 0.5, 0.5]
    """
    y = _values(y)
    problem = ad.chain(y.ndim, has_x=x is not None, increasing=increasing, ties=ties,
                       y_min=y_min, y_max=y_max, axis=axis, blocks=blocks)
    return _apply(problem, y, weights, () if x is None else (_values(x, "x"),))


def tree_isotonic_regression(y, parent, *, weights=None, increasing=True, y_min=None,
                             y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.tree_isotonic_regression` for JAX, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, parent, increasing, y_min, y_max
        As in :func:`isotree.tree_isotonic_regression` (`parent` concrete).
    weights : keyword-only
        As there; differentiable.
    axis : int, default=-1
        The axis of the nodes; the others index problems on the same tree.
    {blocks}

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> f = lambda y: ijax.tree_isotonic_regression(y, [-1, 0, 0]).sum()
    >>> jax.grad(f)(jnp.array([2.0, 0.0, 5.0])).tolist()
    [1.0, 1.0, 1.0]
    """
    _host_option(parent, "parent")
    y = _values(y)
    problem = ad.tree(y.ndim, parent, increasing=increasing, y_min=y_min, y_max=y_max,
                      axis=axis, blocks=blocks)
    return _apply(problem, y, weights)


def star_isotonic_regression(y, root=0, *, weights=None, increasing=True, y_min=None,
                             y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.star_isotonic_regression` for JAX, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, root, increasing, y_min, y_max, axis
        As in :func:`isotree.star_isotonic_regression` (`root` concrete: an int or an
        array of the batch shape).
    weights : keyword-only
        As there; differentiable.
    {blocks}

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> ijax.star_isotonic_regression(jnp.array([5.0, 4.0, 6.5, 3.0])).tolist()
    [4.0, 4.0, 6.5, 4.0]
    """
    _host_option(root, "root")
    y = _values(y)
    problem = ad.star(y.ndim, increasing=increasing, y_min=y_min, y_max=y_max, axis=axis,
                      blocks=blocks)
    roots = jnp.asarray(ad.roots(tuple(y.shape), problem.axis, root))
    return _apply(problem, y, weights, (roots,))


def isotonic_logits(logits, mass, *, method="exact", n_iter=None, blocks="solver"):
    """:func:`isotree.ida.isotonic_logits` for JAX; ``method="exact"`` is differentiable.

    `mass` may be traced, or integer hard labels of shape ``logits.shape[:-1]`` (one-hot
    mass). ``"approx"`` and ``"shift"`` are corrections, not projections: differentiating
    them raises (apply ``jax.lax.stop_gradient`` to the logits, as :func:`kd_loss` does).

    Parameters
    ----------
    logits, mass, method, n_iter
        As in :func:`isotree.ida.isotonic_logits`; `mass` may also be integer labels.
    {blocks}

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> from isotree.ida import mixup_mass
    >>> mass = jnp.asarray(mixup_mass([0], [1], 0.7, num_classes=3))
    >>> ijax.isotonic_logits(jnp.array([[1.0, 2.0, 0.0]]), mass).tolist()
    [[1.5, 1.5, 0.0]]
    """
    logits = _values(logits, "logits")
    problem = ad.logits(method, n_iter, blocks)
    return _fit_logits(logits, _mass(mass, logits, _widest_float()), problem)


def _fit_logits(logits, mass, problem):
    if problem.options.method == "exact":
        return _apply(problem, logits, None, (mass,))
    compute = _compute_dtype(logits)
    return _correction(problem, logits.astype(compute), mass).astype(logits.dtype)


def _mass(mass, logits, dtype):
    mass = jnp.asarray(mass)
    if jnp.iscomplexobj(mass):
        raise TypeError(f"mass must be real; got complex dtype {mass.dtype}")
    return ad.hard_label_mass(_bx, mass, logits.shape, dtype, check=_concrete(mass))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _correction(problem, z, mass):
    if _concrete(z, mass):
        return _dispatch.run("logits", problem.options, z, mass, public=None)

    def host(z, m):
        try:
            return np.asarray(_dispatch.run("logits", problem.options, np.asarray(z),
                                            np.asarray(m), public=None), z.dtype)
        except (ValueError, TypeError):
            return np.full(z.shape, np.nan, z.dtype)

    return jax.pure_callback(host, jax.ShapeDtypeStruct(z.shape, z.dtype), z, mass,
                             vmap_method="broadcast_all")


@_correction.defjvp
def _correction_jvp(problem, primals, tangents):
    raise ad.not_differentiable(problem.options.method)


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
    student = _values(student_logits, "student_logits")
    student = student.astype(_compute_dtype(student))
    return _kd.kd_penalty(_bx, student, _mass(mass, student, student.dtype))


def kd_loss(student_logits, teacher_logits, mass, *, temperature=4.0, alpha=0.9, ida="exact",
            sigma=None, n_iter=None, reduction="mean"):
    """The KD loss with isotonic data augmentation (see :func:`isotree.torch.kd_loss`).

    Same arguments, defaults, checks and values as the PyTorch version.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import isotree.jax as ijax
    >>> from isotree.ida import mixup_mass
    >>> mass = jnp.asarray(mixup_mass([0, 1], [2, 2], 0.7, num_classes=3))
    >>> teacher = jnp.array([[0.0, 0.0, 3.0], [0.0, 1.0, 2.0]])
    >>> loss = lambda s: ijax.kd_loss(s, teacher, mass, temperature=2.0, alpha=0.5)
    >>> round(float(loss(jnp.zeros((2, 3)))), 4), jax.grad(loss)(jnp.zeros((2, 3))).shape
    (0.6496, (2, 3))
    """
    options = _kd.check_options(temperature, alpha, sigma, ida, n_iter, reduction)
    student = _values(student_logits, "student_logits")
    student = student.astype(_compute_dtype(student))
    teacher = _values(teacher_logits, "teacher_logits").astype(student.dtype)
    if tuple(teacher.shape) != tuple(student.shape):
        raise ValueError(f"teacher_logits must have the shape of student_logits "
                         f"{tuple(student.shape)}; got {tuple(teacher.shape)}")
    mass = _mass(mass, student, student.dtype)
    teacher = jax.lax.stop_gradient(teacher)
    if options.teacher is not None:
        teacher = _fit_logits(teacher, mass, ad.Problem(
            "logits", options.teacher, "preorder", weighted=False))
    return _kd.kd_loss(_bx, student, teacher, mass, options)


for _function in (isotonic_regression, tree_isotonic_regression, star_isotonic_regression,
                  isotonic_logits):
    _function.__doc__ = _function.__doc__.replace("{blocks}", ad.BLOCKS_DOC)
