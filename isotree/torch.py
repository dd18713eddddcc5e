"""PyTorch adapters: the solvers on tensors, differentiable, and knowledge-distillation losses.

Every function takes and returns tensors (same dtype and device). When an input requires a
gradient the solve runs inside a ``torch.autograd.Function`` whose backward is the exact
vector-Jacobian product of the block partition (see :mod:`isotree._blocks`), honouring
``needs_input_grad``: on CUDA pure PyTorch (``scatter_add`` by block label, divide,
``gather``); on the CPU one compiled pass over NumPy views, which beats a dozen small
framework operations.

Where the forward runs: CPU tensors go to the Numba kernels through a NumPy view of the
same memory (no copy). CUDA tensors without gradients take the array-API path on the GPU
(star, chains, predictor orders with primary ties, IDA). The differentiable forward needs
block labels, which on CUDA only the star's array-API path returns; the others copy to the
host for the forward (one transfer each way) and run the backward on the GPU.

``torch.compile``: the solvers call NumPy/Numba, so Dynamo breaks the graph around them
(the rest of a loss still compiles); the backward is plain PyTorch.
"""

import numpy as np
import torch
import torch.nn.functional as F

from . import _validate as v
from . import ida as _ida
from . import solvers as _solvers
from ._blocks import differentiable_ties
from ._numba.vjp import block_vjp_rows, block_vjp_rows_serial

__all__ = ["isotonic_regression", "tree_isotonic_regression", "star_isotonic_regression",
           "isotonic_logits", "kd_loss", "kd_penalty"]


def _host(t):
    return t.detach().cpu().numpy() if t is not None else None


def _tensor(a, like):
    return torch.as_tensor(a, device=like.device)


class _BlockAverage(torch.autograd.Function):
    """fit = block means of y (weighted), clipped to [lower, upper]; the forward is ``solve``.

    ``solve(y, w)`` gets tensors on the last axis and returns ``(fit, labels)`` tensors.
    """

    @staticmethod
    def forward(ctx, y, weights, solve, lower, upper):
        fit, labels = solve(y.detach(), None if weights is None else weights.detach())
        out = fit
        if lower is not None or upper is not None:
            out = fit.clamp(lower, upper)
        ctx.save_for_backward(y, weights, fit, labels, out)
        ctx.bounded = lower is not None or upper is not None
        return out

    @staticmethod
    def backward(ctx, grad):
        y, weights, fit, labels, out = ctx.saved_tensors
        need_y, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_y or need_w):
            return None, None, None, None, None
        if ctx.bounded:
            grad = torch.where(out == fit, grad, torch.zeros_like(grad))
        vjp = _host_vjp if grad.device.type == "cpu" else _framework_vjp
        return (*vjp(grad, labels, weights, y, fit, need_y, need_w), None, None, None)


def _framework_vjp(grad, labels, weights, y, fit, need_y, need_w):
    """The VJP in PyTorch operations (any device): sums by block label, divide, gather."""
    w = torch.ones_like(y) if weights is None else weights.expand_as(y)
    block_grad = torch.zeros_like(grad).scatter_add_(-1, labels, grad)
    block_w = torch.zeros_like(w).scatter_add_(-1, labels, w)
    mean_grad = block_grad.gather(-1, labels) / block_w.gather(-1, labels)
    grad_y = w * mean_grad if need_y else None
    grad_w = None
    if need_w:
        grad_w = (y - fit) * mean_grad
        if weights.shape != y.shape:
            grad_w = grad_w.reshape(-1, y.shape[-1]).sum(0).reshape(weights.shape)
    return grad_y, grad_w


def _host_vjp(grad, labels, weights, y, fit, need_y, need_w):
    """The same VJP in one compiled pass over NumPy views (CPU tensors)."""
    n = y.shape[-1]

    def rows(t):
        return t.detach().reshape(-1, n).contiguous().numpy()

    g = rows(grad)
    w = np.ones((1, n), dtype=g.dtype) if weights is None else rows(weights.to(y.dtype))
    grad_y = np.empty_like(g)
    grad_w = np.empty_like(g) if need_w else np.empty((g.shape[0], 0), dtype=g.dtype)
    kernel = block_vjp_rows if g.size > 1_000_000 else block_vjp_rows_serial
    kernel(g, rows(labels), w, rows(y), rows(fit), grad_y, grad_w)
    grad_y = torch.from_numpy(grad_y).reshape(y.shape) if need_y else None
    if not need_w:
        return grad_y, None
    grad_w = torch.from_numpy(grad_w)
    if weights.shape != y.shape:
        return grad_y, grad_w.sum(0).reshape(weights.shape)
    return grad_y, grad_w.reshape(y.shape)


def _differentiable(*tensors):
    return torch.is_grad_enabled() and any(
        t is not None and isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


def _on_host_solve(func):
    """Wrap a NumPy solver returning (fit, labels) into one on tensors (host round trip)."""
    def solve(y, w):
        fit, labels = func(_host(y), _host(w))
        return _tensor(fit, y).to(y.dtype), _tensor(labels, y).long()
    return solve


def _last_axis(values, axis):
    return values.movedim(axis, -1) if values.ndim > 1 and axis not in (-1, values.ndim - 1) \
        else values


def isotonic_regression(y, weights=None, *, x=None, increasing=True, ties="primary",
                        y_min=None, y_max=None, axis=-1):
    """:func:`isotree.isotonic_regression` on tensors, differentiable in `y` and `weights`.

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
    if not _differentiable(y, weights):
        return _solvers.isotonic_regression(y, weights, x=x, increasing=increasing, ties=ties,
                                            y_min=y_min, y_max=y_max, axis=axis)
    differentiable_ties(ties)
    y_min, y_max = v.check_bounds(y_min, y_max)
    ndim = y.ndim
    axis = v.check_axis(axis, ndim)
    if weights is not None and weights.ndim > 1:
        weights = _last_axis(weights, axis)
    if x is not None and getattr(x, "ndim", 1) > 1:
        x = _last_axis(torch.as_tensor(x), axis)
    x_host = _host(x) if isinstance(x, torch.Tensor) else x

    def solve(y_host, w_host):
        return _solvers.isotonic_regression(y_host, w_host, x=x_host, increasing=increasing,
                                            ties=ties, return_blocks=True)

    fit = _BlockAverage.apply(_last_axis(y, axis), weights, _on_host_solve(solve), y_min,
                              y_max)
    return fit.movedim(-1, axis) if ndim > 1 and axis != ndim - 1 else fit


def tree_isotonic_regression(y, parent, weights=None, *, increasing=True):
    """:func:`isotree.tree_isotonic_regression` on tensors, differentiable in `y`, `weights`.

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
    if not _differentiable(y, weights):
        return _solvers.tree_isotonic_regression(y, parent, weights, increasing=increasing)
    tree = _solvers.as_tree(_host(parent) if isinstance(parent, torch.Tensor) else parent)

    def solve(y_host, w_host):
        return _solvers.tree_isotonic_regression(y_host, tree, w_host, increasing=increasing,
                                                 return_blocks=True)

    return _BlockAverage.apply(y, weights, _on_host_solve(solve), None, None)


def star_isotonic_regression(y, root=0, weights=None, *, increasing=True, axis=-1):
    """:func:`isotree.star_isotonic_regression` on tensors, differentiable in `y`, `weights`.

    Examples
    --------
    >>> import torch
    >>> import isotree.torch as itorch
    >>> y = torch.tensor([5.0, 4.0, 6.5, 3.0], dtype=torch.float64, requires_grad=True)
    >>> fit = itorch.star_isotonic_regression(y, root=0)
    >>> fit.detach().tolist()
    [4.0, 4.0, 6.5, 4.0]
    """
    if not _differentiable(y, weights):
        return _solvers.star_isotonic_regression(y, root, weights, increasing=increasing,
                                                 axis=axis)
    ndim = y.ndim
    axis = v.check_axis(axis, ndim)
    if weights is not None and weights.ndim > 1:
        weights = _last_axis(weights, axis)

    def solve(y_last, w_last):
        # The star returns labels on every path, so CUDA tensors stay on the GPU.
        fit, labels = _solvers.star_isotonic_regression(
            y_last, root, w_last, increasing=increasing, return_blocks=True)
        return _tensor(fit, y_last).to(y_last.dtype), _tensor(labels, y_last).long()

    fit = _BlockAverage.apply(_last_axis(y, axis), weights, solve, None, None)
    return fit.movedim(-1, axis) if ndim > 1 and axis != ndim - 1 else fit


def isotonic_logits(logits, mass, *, method="exact", n_iter=None):
    """:func:`isotree.ida.isotonic_logits` on tensors; ``method="exact"`` is differentiable.

    ``"approx"`` and ``"shift"`` are corrections, not projections: they refuse inputs that
    require a gradient (detach the teacher's logits, as a KD loss does).

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
    if not _differentiable(logits):
        return _ida.isotonic_logits(logits, mass, method=method, n_iter=n_iter)
    if method != "exact":
        raise ValueError(f"method={method!r} is not differentiable; use method='exact', or "
                         "detach the logits")
    mass_host = _host(mass) if isinstance(mass, torch.Tensor) else mass

    def solve(z_host, _):
        return _ida.isotonic_logits(z_host, mass_host, return_blocks=True)

    return _BlockAverage.apply(logits, None, _on_host_solve(solve), None, None)


def kd_penalty(student_logits, mass):
    r"""The KD-p penalty of Cui & Yan (2021) on the student's probabilities, per row.

    With p = softmax(student_logits), S the classes above the row's lowest mass level, a the
    class of largest mass and b the class of second-largest mass (when its mass is strictly
    smaller than a's and above the lowest level):
    :math:`\max(0, \max_{k \notin S} p_k - \min_{k \in S} p_k) + \max(0, p_b - p_a)`.

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
    p = F.softmax(student_logits, dim=-1)
    mass = torch.as_tensor(mass, dtype=p.dtype, device=p.device)
    low = mass.min(dim=-1, keepdim=True).values
    mixed = mass > low
    has_mixed = mixed.any(dim=-1)
    neg_inf = torch.full_like(p, float("-inf"))
    pos_inf = torch.full_like(p, float("inf"))
    top_other = torch.where(mixed, neg_inf, p).max(dim=-1).values
    low_mixed = torch.where(mixed, p, pos_inf).min(dim=-1).values
    set_term = torch.where(has_mixed, torch.clamp(top_other - low_mixed, min=0.0),
                           torch.zeros_like(top_other))
    order = torch.argsort(mass, dim=-1, descending=True, stable=True)
    a, b = order[..., 0:1], order[..., 1:2]
    mass_a, mass_b = mass.gather(-1, a)[..., 0], mass.gather(-1, b)[..., 0]
    ordered = (mass_a > mass_b) & (mass_b > low[..., 0])
    pair_term = torch.clamp(p.gather(-1, b)[..., 0] - p.gather(-1, a)[..., 0], min=0.0)
    return set_term + torch.where(ordered, pair_term, torch.zeros_like(pair_term))


def kd_loss(student_logits, teacher_logits, mass, *, temperature=4.0, alpha=0.9, ida="exact",
            sigma=1.0, n_iter=None):
    r"""Knowledge-distillation loss with isotonic data augmentation (mean over the batch).

    ``alpha * T^2 * KL(softmax(t' / T) || softmax(s / T)) + (1 - alpha) * CE(s, mass)``,
    where CE is the mass-weighted cross-entropy :math:`-\sum_k m_k \log \mathrm{softmax}(s)_k`
    and t' is the teacher's logits fitted to the order of `mass` by
    :func:`isotonic_logits` with ``method=ida`` (``"exact"``, ``"approx"``, ``"shift"``), or
    the raw teacher logits (``ida=None`` or ``"penalty"``). ``ida="penalty"`` adds
    ``sigma * kd_penalty(student_logits, mass)`` (the paper's KD-p). The teacher side carries
    no gradient.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (B, c)
    mass : Tensor or array-like of shape (B, c)
        Hard-label mass (e.g. :func:`isotree.ida.mixup_mass`).
    temperature : float, default=4.0
    alpha : float, default=0.9
        Weight of the soft (distillation) term.
    ida : {"exact", "approx", "shift", "penalty", None}, default="exact"
    sigma : float, default=1.0
        Weight of the penalty for ``ida="penalty"``.
    n_iter : int, default=None
        Steps for ``ida="approx"``.

    Returns
    -------
    Tensor
        A scalar.

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
    >>> bool(torch.isfinite(loss)) and bool(torch.isfinite(student.grad).all())
    True
    """
    modes = ("exact", "approx", "shift", "penalty", None)
    if ida not in modes:
        raise ValueError(f"ida must be one of {', '.join(map(repr, modes))}; got {ida!r}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"teacher_logits must have the shape of student_logits "
                         f"{tuple(student_logits.shape)}; got {tuple(teacher_logits.shape)}")
    mass = torch.as_tensor(mass, dtype=student_logits.dtype, device=student_logits.device)
    teacher = teacher_logits.detach()
    if ida in ("exact", "approx", "shift"):
        teacher = isotonic_logits(teacher, mass, method=ida,
                                  n_iter=n_iter if ida == "approx" else None)
    t = temperature
    soft_target = F.softmax(teacher / t, dim=-1)
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), soft_target,
                    reduction="batchmean") * t * t
    hard = -(mass * F.log_softmax(student_logits, dim=-1)).sum(-1).mean()
    loss = alpha * soft + (1.0 - alpha) * hard
    if ida == "penalty":
        loss = loss + sigma * kd_penalty(student_logits, mass).mean()
    return loss
