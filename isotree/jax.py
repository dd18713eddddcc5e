"""JAX adapters: the solvers as ``jax.custom_jvp`` functions, and KD losses.

Each solver is built from its description (:mod:`isotree._autodiff`). The forward is a
``jax.pure_callback`` into the public solver on the host (``vmap_method="broadcast_all"``:
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
from . import _blocks
from . import _kd
from . import ida as _ida

__all__ = ["isotonic_regression", "tree_isotonic_regression", "star_isotonic_regression",
           "isotonic_logits", "kd_loss", "kd_penalty"]


def _callback(problem, weighted, y, w, aux):
    """(fit, labels, groups) on the host; never raises inside."""
    shapes = (jax.ShapeDtypeStruct(y.shape, y.dtype),
              jax.ShapeDtypeStruct(y.shape, jnp.int32),
              jax.ShapeDtypeStruct(y.shape, jnp.int32))

    def host(y, w, *aux):
        y, w = np.asarray(y), np.asarray(w)
        aux = [np.asarray(a) for a in aux]
        try:
            fit, labels, groups = ad.forward(np, problem, y, w if weighted else None, aux)
        except (ValueError, TypeError):
            labels = np.ascontiguousarray(np.broadcast_to(
                np.arange(y.shape[-1], dtype=np.int32), y.shape))
            return np.full(y.shape, np.nan, y.dtype), labels, labels
        return (np.asarray(fit, dtype=y.dtype), np.asarray(labels, dtype=np.int32),
                np.asarray(groups, dtype=np.int32))

    return jax.pure_callback(host, shapes, y, w, *aux, vmap_method="broadcast_all")


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _solve(problem, weighted, y, w, aux):
    return _callback(problem, weighted, y, w, aux)


@_solve.defjvp
def _solve_jvp(problem, weighted, primals, tangents):
    y, w, aux = primals
    t_y, t_w, _ = tangents
    fit, labels, groups = _solve(problem, weighted, y, w, aux)  # differentiable again
    tangent = _blocks.fit_jvp(jnp, labels, groups if problem.tertiary else None, y, w, t_y,
                              t_w if weighted else None)
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


def _host(a):
    """A concrete array as NumPy for the validators (bfloat16, unknown to them, as float32)."""
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype.name == "bfloat16" else a


def _compute_dtype(y):
    if y.dtype in (jnp.float16, jnp.bfloat16):
        return jnp.float32
    if jnp.issubdtype(y.dtype, jnp.floating):
        return y.dtype
    return _widest_float()


def _widest_float():
    return jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32


def _apply(problem, y, weights):
    """Shared body of the solvers: checks, layout, dtype, the custom JVP, bounds."""
    y = jnp.asarray(y)
    dtype, compute = y.dtype, _compute_dtype(y)
    if _concrete(y, weights):
        ad.check_host_values(_host(y), None if weights is None else _host(weights),
                             problem.axis)
    ndim = y.ndim
    y_last = problem.moved(y.astype(compute), ndim)
    w = jnp.ones_like(y_last)
    if weights is not None:
        weights = jnp.asarray(weights).astype(compute)
        w = jnp.broadcast_to(problem.moved(weights, ndim) if weights.ndim == ndim > 1
                             else weights, y_last.shape)
    shape = y_last.shape[:-1] if problem.order == "star" else y_last.shape
    aux = tuple(jnp.broadcast_to(jnp.asarray(a), shape) for a in problem.aux)
    fit = _solve(problem, weights is not None, y_last, w, aux)[0]
    if problem.y_min is not None or problem.y_max is not None:
        fit = jnp.clip(fit, problem.y_min, problem.y_max)
    return problem.restored(fit, ndim).astype(dtype if jnp.issubdtype(dtype, jnp.floating)
                                              else compute)


def isotonic_regression(y, *, weights=None, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.isotonic_regression` for JAX, differentiable in `y` and `weights`.

    Parameters
    ----------
    y, x, increasing, ties, y_min, y_max, axis
        As in :func:`isotree.isotonic_regression` (every tie rule, bounds, any axis); `x` may be traced.
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
    problem = ad.chain(jnp.ndim(y), x=x, increasing=increasing, ties=ties, y_min=y_min,
                       y_max=y_max, axis=axis, blocks=blocks, to_array=jnp.asarray)
    return _apply(problem, y, weights)


def tree_isotonic_regression(y, parent, *, weights=None, increasing=True, axis=-1,
                             blocks="solver"):
    """:func:`isotree.tree_isotonic_regression` for JAX, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, parent, increasing
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
    problem = ad.tree(jnp.ndim(y), parent, increasing=increasing, axis=axis, blocks=blocks)
    return _apply(problem, y, weights)


def star_isotonic_regression(y, root=0, *, weights=None, increasing=True, axis=-1,
                             blocks="solver"):
    """:func:`isotree.star_isotonic_regression` for JAX, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, root, increasing, axis
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
    problem = ad.star(jnp.shape(y), root, increasing=increasing, axis=axis, blocks=blocks,
                      to_array=jnp.asarray)
    return _apply(problem, y, weights)


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
    logits = jnp.asarray(logits)
    mass = _mass(mass, logits, _widest_float())
    problem, method, n_iter = ad.logits(method, n_iter, blocks, mass)
    if _concrete(logits, mass):
        _ida.check_logits(_host(logits), _host(mass))
    if method == "exact":
        return _apply(problem, logits, None)
    compute = _compute_dtype(logits)
    return _correction(method, n_iter, logits.astype(compute), mass).astype(logits.dtype)


def _mass(mass, logits, dtype):
    mass = jnp.asarray(mass)
    return ad.hard_label_mass(jnp, mass, logits.shape, dtype, None, check=_concrete(mass))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _correction(method, n_iter, z, mass):
    def host(z, m):
        try:
            return np.asarray(_ida.isotonic_logits(np.asarray(z), np.asarray(m),
                                                   method=method, n_iter=n_iter), z.dtype)
        except (ValueError, TypeError):
            return np.full(z.shape, np.nan, z.dtype)

    return jax.pure_callback(host, jax.ShapeDtypeStruct(z.shape, z.dtype), z, mass,
                             vmap_method="broadcast_all")


@_correction.defjvp
def _correction_jvp(method, n_iter, primals, tangents):
    raise ad.not_differentiable(method)


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
    student = jnp.asarray(student_logits)
    student = student.astype(_compute_dtype(student))
    return _kd.kd_penalty(jnp, student, _mass(mass, student, student.dtype),
                          jax.lax.stop_gradient)


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
    temperature, alpha, sigma, n_iter = _kd.check_options(temperature, alpha, sigma, ida,
                                                          n_iter, reduction)
    student = jnp.asarray(student_logits)
    student = student.astype(_compute_dtype(student))
    teacher = jnp.asarray(teacher_logits).astype(student.dtype)
    return _kd.kd_loss(jnp, student, teacher, _mass(mass, student, student.dtype), ida=ida,
                       n_iter=n_iter, fit_teacher=isotonic_logits, temperature=temperature,
                       alpha=alpha, sigma=sigma, reduction=reduction,
                       stop_gradient=jax.lax.stop_gradient)

for _function in (isotonic_regression, tree_isotonic_regression, star_isotonic_regression,
                  isotonic_logits):
    _function.__doc__ = _function.__doc__.replace("{blocks}", ad.BLOCKS_DOC)
