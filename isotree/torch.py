"""PyTorch adapters: the solvers on tensors, differentiable to any order, and KD losses.

Each solver is one :class:`torch.autograd.Function` built from the solver's description
(:mod:`isotree._autodiff`): the forward calls the public solver on the tensors where they
live (``return_blocks=True``); the backward and the forward-mode ``jvp`` are the block
averages of :mod:`isotree._blocks` in PyTorch operations, themselves differentiable, so
``backward``, double backward, ``torch.autograd.functional.jvp``/``hessian``,
``torch.autograd.forward_ad`` and ``torch.func`` (``grad``, ``vjp``, ``jvp``, ``jacrev``,
``jacfwd``, ``hessian``, ``vmap``) all give the exact derivative of the partition found.
Half-precision tensors are computed in float32 and returned in their dtype.
"""

import array_api_compat.torch as xp
import numpy as np
import torch
from torch.autograd import forward_ad

from . import _autodiff as ad
from . import _blocks
from . import _kd
from . import ida as _ida
from ._numba.vjp import block_vjp_rows, block_vjp_rows_serial

__all__ = ["isotonic_regression", "tree_isotonic_regression", "star_isotonic_regression",
           "isotonic_logits", "kd_loss", "kd_penalty"]


class _Solve(torch.autograd.Function):
    """fit, labels, groups = solve(y, w); derivatives are block averages by label."""

    @staticmethod
    def forward(y, w, problem, aux):
        fit, labels, groups = ad.forward(xp, problem, y, w, aux)
        if not problem.tertiary:
            groups = labels.new_empty(0)
        return fit, labels, groups

    @staticmethod
    def setup_context(ctx, inputs, output):
        y, w, problem, _ = inputs
        _, labels, groups = output
        ctx.mark_non_differentiable(labels, groups)
        ctx.save_for_backward(y, w, labels, groups)
        ctx.save_for_forward(y, w, labels, groups)
        ctx.problem = problem

    @staticmethod
    def backward(ctx, grad, _labels, _groups):
        y, w, labels, groups = ctx.saved_tensors
        need_y, need_w = ctx.needs_input_grad[:2]
        if (grad.device.type == "cpu" and not torch.is_grad_enabled() and y.numel()
                and not ctx.problem.tertiary and not _functorch_wrapped(grad, y)):
            grad_y, grad_w = _compiled_vjp(labels, y, w, grad, need_w)
        else:  # PyTorch operations: recorded when the backward is differentiated again
            grad_y, grad_w = _blocks.fit_vjp(
                xp, labels, groups if ctx.problem.tertiary else None, y, _full(w, y), grad,
                need_w)
        if need_w and w.shape != y.shape:
            grad_w = grad_w.sum(dim=tuple(range(y.dim() - 1)))  # weights shared by rows
        return grad_y if need_y else None, grad_w, None, None

    @staticmethod
    def jvp(ctx, t_y, t_w, _problem, _aux):
        y, w, labels, groups = ctx.saved_tensors
        t_w = None if t_w is None else t_w.expand(y.shape)
        tangent = _blocks.fit_jvp(xp, labels, groups if ctx.problem.tertiary else None, y,
                                  _full(w, y), t_y, t_w)
        return tangent, None, None

    @staticmethod
    def vmap(info, in_dims, y, w, problem, aux):
        # The solvers batch over leading axes: put the vmapped axis first and solve once.
        size, (y_dim, w_dim, _, aux_dims) = info.batch_size, in_dims
        shape = (size, *(y.shape if y_dim is None else y.movedim(y_dim, 0).shape[1:]))
        y = _batch_first(y, y_dim, shape)
        if w is not None:
            w = _batch_first(w, w_dim, shape)
        aux_shape = shape[:-1] if problem.order == "star" else shape
        aux = tuple(_batch_first(a, d, aux_shape) for a, d in zip(aux, aux_dims))
        out = _Solve.apply(y, w, problem, aux)
        return out, (0, 0, 0 if problem.tertiary else None)


def _batch_first(t, dim, shape):
    """``t`` laid out for a batched problem of ``shape`` (vmapped axis first).

    Unbatched: broadcast, unless it is shared by every row already (weights of shape (n,)).
    Batched: the vmapped axis first, broadcast over the problem's other axes.
    """
    if dim is None:
        return t.expand(shape) if t.dim() == len(shape) - 1 else t
    t = t.movedim(dim, 0)
    return t.reshape(t.shape[0], *[1] * (len(shape) - t.dim()), *t.shape[1:]).expand(shape)


def _compiled_vjp(labels, y, w, grad, need_w):
    """:func:`isotree._blocks.block_vjp` in one compiled pass (first-order CPU backward)."""
    n = y.shape[-1]

    def rows(t):
        return t.detach().reshape(-1, n).contiguous().numpy()

    g = rows(grad.to(y.dtype))
    w_rows = torch.ones(1, n, dtype=y.dtype).numpy() if w is None else rows(w)
    grad_y = np.empty_like(g)
    grad_w = np.empty_like(g) if need_w else np.empty((g.shape[0], 0), dtype=g.dtype)
    kernel = block_vjp_rows if g.size > 1_000_000 else block_vjp_rows_serial
    kernel(g, rows(labels), w_rows, rows(y), grad_y, grad_w)
    grad_y = torch.from_numpy(grad_y).reshape(y.shape)
    return grad_y, torch.from_numpy(grad_w).reshape(y.shape) if need_w else None


def _full(w, y):
    return torch.ones_like(y) if w is None else w.expand(y.shape)


def _needs_derivative(*tensors):
    """Autograd, forward AD or a torch.func transform is watching one of ``tensors``."""
    tensors = [t for t in tensors if isinstance(t, torch.Tensor)]
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return True
    if forward_ad._current_level >= 0:
        return True
    return _functorch_wrapped(*tensors)


def _functorch_wrapped(*tensors):
    """A tensor of a torch.func transform (or of the legacy vmap of gradcheck)."""
    functorch = torch._C._functorch
    return any(isinstance(t, torch.Tensor) and (functorch.is_functorch_wrapped_tensor(t)
                                                or functorch.is_legacy_batchedtensor(t))
               for t in tensors)


def _host_option(value, name):
    """``parent`` and ``root`` shape the problem and are read on the host: not batchable."""
    if _functorch_wrapped(value):
        raise ValueError(f"{name} cannot be batched by torch.func.vmap or be differentiated: "
                         f"it is read on the host when the problem is set up; pass one "
                         f"{name} for the batch (root: an integer tensor of the batch shape)")


def _compute_dtype(t):
    if t.dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    return t.dtype if t.is_floating_point() else torch.float64


@torch.compiler.disable  # NumPy and Numba inside: torch.compile runs it eagerly (a graph break)
def _solve(problem, y, weights):
    """Shared body of the solvers: layout, dtype, the Function (or a plain solve), bounds."""
    y = torch.as_tensor(y)
    dtype, compute = y.dtype, _compute_dtype(y)
    y = y.to(compute)
    if weights is not None:
        weights = torch.as_tensor(weights, device=y.device).to(compute)
    ndim = y.dim()
    # The public solver validates too, but in the moved layout: check where the caller's
    # indices hold (CPU tensors only; on a GPU the public solver's check is the one).
    if not problem.axis_is_last(ndim) and y.device.type == "cpu" and \
            not _functorch_wrapped(y, weights):
        ad.check_host_values(y.detach().numpy(),
                             None if weights is None else weights.detach().numpy(), problem.axis)
    y_last = problem.moved(y, ndim)
    if weights is not None and weights.dim() == ndim > 1:
        weights = problem.moved(weights, ndim)
    aux = tuple(torch.as_tensor(a, device=y.device) for a in problem.aux)
    if _needs_derivative(y, weights, *aux):
        fit = _Solve.apply(y_last, weights, problem, aux)[0]
    else:
        fit = problem.solve(y_last, weights, *aux, return_blocks=False)
    if problem.y_min is not None or problem.y_max is not None:
        fit = fit.clamp(problem.y_min, problem.y_max)
    fit = problem.restored(fit, ndim)
    return fit if fit.dtype == dtype or not dtype.is_floating_point else fit.to(dtype)


def _as_tensor(a):
    return a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))


def _host_like(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a


def isotonic_regression(y, *, weights=None, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.isotonic_regression` on tensors, differentiable in `y` and `weights`.

    Parameters
    ----------
    y, x, increasing, ties, y_min, y_max, axis
        As in :func:`isotree.isotonic_regression` (every tie rule, bounds, any axis).
    weights : keyword-only
        As there; differentiable.
    {blocks}

    Returns
    -------
    Tensor
        The fit, with y's shape, dtype and device.

    Examples
    --------
    >>> import torch
    >>> import isotree.torch as itorch
    >>> y = torch.tensor([1.0, 3.0, 2.0, 4.0], dtype=torch.float64, requires_grad=True)
    >>> fit = itorch.isotonic_regression(y)
    >>> fit.detach().tolist()
    [1.0, 2.5, 2.5, 4.0]
    >>> fit[1].backward()
    >>> y.grad.tolist()   # entries 1 and 2 form one block: each gets half
    [0.0, 0.5, 0.5, 0.0]
    """
    problem = ad.chain(torch.as_tensor(y).dim(), x=x, increasing=increasing, ties=ties,
                       y_min=y_min, y_max=y_max, axis=axis, blocks=blocks,
                       to_array=_as_tensor)
    return _solve(problem, y, weights)


def tree_isotonic_regression(y, parent, *, weights=None, increasing=True, axis=-1,
                             blocks="solver"):
    """:func:`isotree.tree_isotonic_regression` on tensors, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, parent, increasing
        As in :func:`isotree.tree_isotonic_regression`.
    weights : keyword-only
        As there; differentiable.
    axis : int, default=-1
        The axis of the nodes; the others index problems on the same tree.
    {blocks}

    Examples
    --------
    >>> import torch
    >>> import isotree.torch as itorch
    >>> y = torch.tensor([2.0, 0.0, 5.0], dtype=torch.float64, requires_grad=True)
    >>> fit = itorch.tree_isotonic_regression(y, parent=[-1, 0, 0])
    >>> fit.sum().backward()
    >>> y.grad.tolist()
    [1.0, 1.0, 1.0]
    """
    _host_option(parent, "parent")
    problem = ad.tree(torch.as_tensor(y).dim(), parent, increasing=increasing, axis=axis,
                      blocks=blocks)
    return _solve(problem, y, weights)


def star_isotonic_regression(y, root=0, *, weights=None, increasing=True, axis=-1,
                             blocks="solver"):
    """:func:`isotree.star_isotonic_regression` on tensors, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, root, increasing, axis
        As in :func:`isotree.star_isotonic_regression`.
    weights : keyword-only
        As there; differentiable.
    {blocks}

    Examples
    --------
    >>> import torch
    >>> import isotree.torch as itorch
    >>> y = torch.tensor([5.0, 4.0, 6.5, 3.0], dtype=torch.float64, requires_grad=True)
    >>> fit = itorch.star_isotonic_regression(y, root=0)
    >>> fit.detach().tolist()
    [4.0, 4.0, 6.5, 4.0]
    """
    _host_option(root, "root")
    problem = ad.star(tuple(torch.as_tensor(y).shape), root, increasing=increasing,
                      axis=axis, blocks=blocks, to_array=torch.as_tensor)
    return _solve(problem, y, weights)


def isotonic_logits(logits, mass, *, method="exact", n_iter=None, blocks="solver"):
    """:func:`isotree.ida.isotonic_logits` on tensors; ``method="exact"`` is differentiable.

    `mass` may also be integer hard labels of shape ``logits.shape[:-1]`` (one-hot mass:
    that class above all others). ``"approx"`` and ``"shift"`` are corrections, not
    projections: they raise for logits that require a gradient (detach the teacher's
    logits, as :func:`kd_loss` does).

    Parameters
    ----------
    logits, mass, method, n_iter
        As in :func:`isotree.ida.isotonic_logits`; `mass` may also be integer labels.
    {blocks}

    Examples
    --------
    >>> import torch
    >>> import isotree.torch as itorch
    >>> from isotree.ida import mixup_mass
    >>> mass = torch.as_tensor(mixup_mass([0], [1], 0.7, num_classes=3))
    >>> z = torch.tensor([[1.0, 2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    >>> fit = itorch.isotonic_logits(z, mass)
    >>> fit.detach().tolist()
    [[1.5, 1.5, 0.0]]
    """
    logits = torch.as_tensor(logits)
    mass = ad.hard_label_mass(xp, torch.as_tensor(_host_like(mass) if not isinstance(
        mass, torch.Tensor) else mass, device=logits.device), tuple(logits.shape),
        torch.float64, logits.device)
    problem, method, n_iter = ad.logits(method, n_iter, blocks, mass)
    if method == "exact":
        return _solve(problem, logits, None)
    if _needs_derivative(logits):
        raise ad.not_differentiable(method)
    fit = _ida.isotonic_logits(logits.to(_compute_dtype(logits)), mass, method=method,
                               n_iter=n_iter)
    return fit.to(logits.dtype)


def _kd_inputs(student_logits, mass):
    student = torch.as_tensor(student_logits)
    student = student.to(_compute_dtype(student))
    if not isinstance(mass, torch.Tensor):
        mass = torch.as_tensor(_host_like(mass))
    mass = ad.hard_label_mass(xp, mass.to(student.device), tuple(student.shape),
                              student.dtype, student.device)
    return student, mass


def kd_penalty(student_logits, mass):
    r"""The KD-p penalty of Cui & Yan (2021) on the student's probabilities, per row.

    With p = softmax(student_logits), S the classes above the row's lowest mass level, a the
    class of largest mass and b the class of second-largest mass (when its mass is strictly
    smaller than a's and above the lowest level):
    :math:`\max(0, \max_{k \notin S} p_k - \min_{k \in S} p_k) + \max(0, p_b - p_a)`.
    `mass` may be integer hard labels of shape ``student_logits.shape[:-1]``. Half-precision
    logits give a float32 penalty.

    Examples
    --------
    p = (0.2, 0.2, 0.6) for a 70/30 mix of classes 0 and 1: class 2 beats both by 0.4.

    >>> import torch
    >>> import isotree.torch as itorch
    >>> from isotree.ida import mixup_mass
    >>> student = torch.log(torch.tensor([[0.2, 0.2, 0.6]], dtype=torch.float64))
    >>> penalty = itorch.kd_penalty(student, mixup_mass([0], [1], 0.7, num_classes=3))
    >>> round(penalty.item(), 6)
    0.4
    """
    student, mass = _kd_inputs(student_logits, mass)
    return _kd.kd_penalty(xp, student, mass, torch.Tensor.detach)


def kd_loss(student_logits, teacher_logits, mass, *, temperature=4.0, alpha=0.9, ida="exact",
            sigma=None, n_iter=None, reduction="mean"):
    r"""Knowledge-distillation loss with isotonic data augmentation.

    Per row, ``alpha * T^2 * KL(softmax(t' / T) || softmax(s / T)) + (1 - alpha) * CE(s,
    mass)``, where CE is the mass-weighted cross-entropy :math:`-\sum_k m_k \log
    \mathrm{softmax}(s)_k` and t' is the teacher's logits fitted to the order of `mass` by
    :func:`isotonic_logits` with ``method=ida`` (``"exact"``, ``"approx"``, ``"shift"``), or
    the raw teacher logits (``ida=None`` or ``"penalty"``). ``ida="penalty"`` adds
    ``sigma * kd_penalty(student_logits, mass)`` (the paper's KD-p). The teacher side carries
    no gradient. Every probability goes through a log-softmax, so any finite logits give a
    finite loss; half-precision logits are computed, and the loss returned, in float32.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (..., c)
    mass : Tensor or array-like of shape (..., c), or of int of shape (...)
        Hard-label mass (e.g. :func:`isotree.ida.mixup_mass`), or integer class labels
        (one-hot mass).
    temperature : float, default=4.0
        > 0.
    alpha : float, default=0.9
        Weight of the soft (distillation) term, in [0, 1].
    ida : {"exact", "approx", "shift", "penalty", None}, default="exact"
    sigma : float, default=None
        Weight of the penalty (>= 0; default 1) for ``ida="penalty"``; an error otherwise.
    n_iter : int, default=None
        Steps for ``ida="approx"`` (default 2); an error otherwise.
    reduction : {"mean", "sum", "none"}, default="mean"
        Over the rows; ``"none"`` returns one loss per row.

    Returns
    -------
    Tensor
        A scalar, or the per-row losses for ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> import isotree.torch as itorch
    >>> from isotree.ida import mixup_mass
    >>> mass = torch.as_tensor(mixup_mass([0, 1], [2, 2], 0.7, num_classes=3))
    >>> student = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    >>> teacher = torch.tensor([[0.0, 0.0, 3.0], [0.0, 1.0, 2.0]], dtype=torch.float64)
    >>> loss = itorch.kd_loss(student, teacher, mass, temperature=2.0, alpha=0.5)
    >>> loss.backward()
    >>> round(loss.item(), 4), student.grad.shape
    (0.6496, torch.Size([2, 3]))
    """
    temperature, alpha, sigma, n_iter = _kd.check_options(temperature, alpha, sigma, ida,
                                                          n_iter, reduction)
    student, mass = _kd_inputs(student_logits, mass)
    teacher = torch.as_tensor(teacher_logits).to(student.dtype)
    return _kd.kd_loss(xp, student, teacher, mass, ida=ida, n_iter=n_iter,
                       fit_teacher=isotonic_logits, temperature=temperature, alpha=alpha,
                       sigma=sigma, reduction=reduction, stop_gradient=torch.Tensor.detach)

for _function in (isotonic_regression, tree_isotonic_regression, star_isotonic_regression,
                  isotonic_logits):
    _function.__doc__ = _function.__doc__.replace("{blocks}", ad.BLOCKS_DOC)
