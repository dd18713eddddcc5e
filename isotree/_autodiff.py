"""One description per solver, from which the PyTorch and JAX adapters are built.

A :class:`Problem` is one call of a solver in an adapter, validated once by the builders
below: which solver and its options, how the arrays it carries besides the differentiable
``y`` and ``weights`` (a predictor, the roots, the mass: ``aux``) enter it, which order its
blocks live in (for ``blocks="equal_values"``), whether it has tertiary ties, and its axis
and bounds (applied by the adapter around the solve). :func:`forward` solves it through the
dispatcher (never through a public function) and returns the fit with the labels the
derivative averages over; the derivative itself is :mod:`isotree._blocks`, written once.
The adapters add what their framework needs: custom operators and an
``autograd.Function`` in PyTorch, a ``custom_jvp`` over a ``pure_callback`` in JAX.
"""

import dataclasses
from typing import Any

import numpy as np

from . import _blocks, _dispatch
from . import _options as opt
from . import _validate as v
from ._bridge import bridge_of
from .tree import Tree

BLOCKS_DOC = """blocks : {"solver", "equal_values"}, default="solver"
        The blocks the derivative averages over; the fit is the same. ``"solver"``: the
        solver's blocks (its block labels). ``"equal_values"``: neighbouring blocks with
        exactly equal fitted values are merged, the convention of jaxopt, torchsort and
        fast-soft-sort. They differ only at exact ties, where both are one-sided
        derivatives (see :doc:`/autodiff`)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """One call of a solver, validated; everything but the arrays.

    ``kind`` and ``options`` are the dispatcher's (options with ``return_blocks=True``,
    unbounded, along ``axis``); ``axis`` is negative (a batch axis put first by ``vmap``
    keeps it); ``order`` is "chain", "preorder" (``aux[0]`` is the predictor or the mass),
    "tree" or "star" (``aux[0]`` holds the roots, of the batch shape).
    """

    kind: str
    options: Any
    order: str
    weighted: bool = True
    axis: int = -1
    y_min: Any = None
    y_max: Any = None
    tertiary: bool = False
    blocks: str = "solver"
    tree: Any = None

    def arguments(self, y, w, aux):
        """The dispatcher's arguments of this solver for ``y``, ``w`` and ``aux``."""
        if self.kind == "chain":
            return y, w, (aux[0] if aux else None)
        if self.kind == "tree":
            return y, self.tree, w
        if self.kind == "star":
            return y, aux[0], w
        return y, aux[0]  # logits and mass

    @property
    def bounded(self):
        return self.y_min is not None or self.y_max is not None


def forward(bx, problem, y, w, aux):
    """Solve on arrays of the bridge ``bx``'s library (``w`` None, shared along the axis or
    of y's shape): the fit, the labels of the blocks the derivative averages over, and the
    tie groups for tertiary ties (else the labels again, unused)."""
    arguments = problem.arguments(y, w if problem.weighted else None, aux)
    fit, labels = _dispatch.run(problem.kind, problem.options, *arguments, public=None)
    if not (problem.tertiary or problem.blocks == "equal_values"):
        return fit, labels, labels
    # Groups and merged blocks are computed along the last axis.
    axis, ndim = problem.axis, y.ndim

    def last(a):
        return _last(bx, a, axis, ndim)

    def back(a):
        return _back(bx, a, axis)

    fit_last, labels_last, y_last = last(fit), last(labels), last(y)
    aux_last = tuple(last(a) for a in aux)
    groups = labels
    if problem.tertiary:
        groups = back(_blocks.tie_groups(bx, bx.broadcast(aux_last[0], fit_last.shape)))
    if problem.blocks == "equal_values":
        w = bx.broadcast(bx.xp.ones_like(y_last) if w is None else last(w), fit_last.shape)
        labels = back(merged_labels(bx, problem, fit_last, labels_last, y_last, w, aux_last))
    return fit, labels, groups


def fit_only(problem, y, w, aux):
    """The fit alone (no labels), on arrays of any library: for calls no derivative
    watches."""
    options = problem.options
    if options.return_blocks:
        options = options._replace(return_blocks=False)
    arguments = problem.arguments(y, w if problem.weighted else None, aux)
    return _dispatch.run(problem.kind, options, *arguments, public=None)


def merged_labels(bx, problem, fit, labels, y, w, aux):
    """The ``blocks="equal_values"`` labels (along the last axis): solver blocks joined along
    the order's edges (chain neighbours, tree edges, star spokes) or comparable pairs where
    the values are equal. With tertiary ties the values compared are the block means."""
    # Tertiary fits keep offsets inside a block: compare the blocks' means instead.
    values = _blocks.block_means(bx, labels, w, y) if problem.tertiary else fit
    if problem.order == "preorder":
        x = bx.broadcast(aux[0], fit.shape)
        return _blocks.merge_equal_in_preorder(bx, values, x, labels)
    if problem.order == "chain":
        neighbour = _blocks.chain_neighbours(bx, labels)
    elif problem.order == "tree":
        parent = problem.tree.parent
        parent = np.where(parent >= 0, parent, np.arange(parent.size))
        neighbour = bx.broadcast(bx.from_host(parent, labels), labels.shape)
    else:  # star: every entry's neighbour is its row's root
        roots = aux[0]
        neighbour = bx.broadcast(roots.reshape(tuple(roots.shape) + (1,)), labels.shape)
    return _blocks.merge_along(bx, values, neighbour)


def _last(bx, a, axis, ndim):
    return a if axis == -1 or a.ndim < ndim else bx.moveaxis(a, axis, -1)


def _back(bx, a, axis):
    return a if axis == -1 else bx.moveaxis(a, -1, axis)


def bounded(bx, problem, fit, w, aux):
    """The adapters' bounds on a fit solved without them: clipped (exact for constant
    bounds); under tertiary ties the tie groups' means are clipped and every entry keeps its
    offset from its group's mean, as on the host. ``w`` is None, shared along the axis or
    of the fit's shape."""
    low, high = problem.y_min, problem.y_max
    if not problem.tertiary:
        return bx.clip(fit, low, high)
    axis, ndim = problem.axis, fit.ndim
    fit_last = _last(bx, fit, axis, ndim)
    x = bx.broadcast(_last(bx, aux[0], axis, ndim), fit_last.shape)
    w = bx.xp.ones_like(fit_last) if w is None else bx.broadcast(_last(bx, w, axis, ndim),
                                                                  fit_last.shape)
    level = _blocks.group_levels(bx, _blocks.tie_groups(bx, x), w, fit_last)
    return _back(bx, fit_last + (bx.clip(level, low, high) - level), axis)


def jvp_along(bx, axis, tertiary, y, w, labels, groups, t_y, t_w):
    """The tangent of a fit along ``axis`` (:func:`isotree._blocks.fit_jvp` on the moved
    arrays); ``w`` and ``t_w`` are None, shared along the axis, or of y's shape."""
    ndim = y.ndim
    y, labels = _last(bx, y, axis, ndim), _last(bx, labels, axis, ndim)
    groups = _last(bx, groups, axis, ndim) if tertiary else None
    full = bx.xp.ones_like(y) if w is None else bx.broadcast(_last(bx, w, axis, ndim), y.shape)
    t_y = None if t_y is None else _last(bx, t_y, axis, ndim)
    if t_w is not None:
        t_w = bx.broadcast(_last(bx, t_w, axis, ndim), y.shape)
    return _back(bx, _blocks.fit_jvp(bx, labels, groups, y, full, t_y, t_w), axis)


def vjp_along(bx, axis, tertiary, y, w, labels, groups, grad, need_w, compiled=None):
    """``(grad_y, grad_w or None)`` of a fit along ``axis`` for the gradient ``grad``;
    ``compiled(grad, labels, y, w)`` (on the moved arrays, ``w`` None, (n,) or full) may
    replace the framework operations where it applies."""
    ndim = y.ndim
    y, labels, grad = (_last(bx, a, axis, ndim) for a in (y, labels, grad))
    groups = _last(bx, groups, axis, ndim) if tertiary else None
    shared = w is not None and w.ndim < ndim
    w_rows = None if w is None else _last(bx, w, axis, ndim)
    if compiled is not None and not tertiary:
        grad_y, grad_w = compiled(grad, labels, y, w_rows)
    else:
        full = bx.xp.ones_like(y) if w is None else bx.broadcast(w_rows, y.shape)
        grad_y, grad_w = _blocks.fit_vjp(bx, labels, groups, y, full, grad, need_w)
    if need_w:
        grad_w = bx.sum(grad_w, axis=tuple(range(ndim - 1))) if shared else \
            _back(bx, grad_w, axis)
    return _back(bx, grad_y, axis), (grad_w if need_w else None)


def check_blocks(blocks):
    return v.check_choice(blocks, "blocks", _blocks.BLOCK_CONVENTIONS)


# --- the solvers' descriptions --------------------------------------------------------------

def _negative_axis(axis, ndim):
    """``axis`` checked against ``ndim`` dimensions, as a negative index."""
    return v.check_axis(opt.axis_index(axis), ndim) - ndim if ndim else -1


def chain(ndim, *, has_x, increasing, ties, y_min, y_max, axis, blocks):
    """:func:`isotree.isotonic_regression` (the predictor travels in ``aux``)."""
    options = opt.chain(has_x=has_x, increasing=increasing, ties=ties, y_min=y_min,
                        y_max=y_max, axis=axis, return_blocks=True)
    axis = _negative_axis(options.axis, ndim)
    solve = options._replace(y_min=None, y_max=None, axis=axis)
    return Problem("chain", solve, "preorder" if has_x else "chain", axis=axis,
                   y_min=options.y_min, y_max=options.y_max,
                   tertiary=has_x and options.ties == "tertiary", blocks=check_blocks(blocks))


def tree(ndim, parent, *, increasing, y_min, y_max, axis, blocks):
    """:func:`isotree.tree_isotonic_regression` (``parent`` is read on the host)."""
    axis = _negative_axis(axis, ndim)
    options = opt.tree(increasing=increasing, y_min=y_min, y_max=y_max, return_blocks=True,
                       axis=axis)
    return Problem("tree", options._replace(y_min=None, y_max=None), "tree",
                   axis=axis, y_min=options.y_min, y_max=options.y_max,
                   blocks=check_blocks(blocks), tree=tree_of(parent))


def tree_of(parent):
    """``parent`` as a validated :class:`~isotree.Tree` (arrays of any library)."""
    return parent if isinstance(parent, Tree) else Tree(host(parent))


def star(ndim, *, increasing, y_min, y_max, axis, blocks):
    """:func:`isotree.star_isotonic_regression` (the roots travel in ``aux``, as an array of
    the batch shape: see :func:`roots`)."""
    axis = _negative_axis(axis, ndim)
    options = opt.star(increasing=increasing, y_min=y_min, y_max=y_max, axis=axis,
                       return_blocks=True)
    return Problem("star", options._replace(y_min=None, y_max=None), "star",
                   axis=axis, y_min=options.y_min, y_max=options.y_max,
                   blocks=check_blocks(blocks))


def roots(shape, axis, root):
    """The validated roots of a star problem as a host array of the batch shape."""
    batch = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
    return v.check_root(host(root), batch, shape[axis]).reshape(batch)


def logits(method, n_iter, blocks):
    """:func:`isotree.ida.isotonic_logits` (the mass travels in ``aux``). Only
    ``method="exact"`` is a projection with a block derivative: the adapters refuse to
    differentiate the others."""
    options = opt.logits(method=method, n_iter=n_iter, return_blocks=method == "exact")
    return Problem("logits", options, "preorder", weighted=False, blocks=check_blocks(blocks))


def not_differentiable(method):
    return ValueError(f"isotonic_logits(method={method!r}) is a correction, not a "
                      "projection, and has no derivative; use method='exact', or detach the "
                      "logits (stop_gradient in JAX), as kd_loss does for the teacher")


def host(a):
    """An index array or scalar of any library as NumPy (options live on the host)."""
    bridge = bridge_of(a)
    return a if bridge is None else bridge.to_host(a)


def hard_label_mass(bx, mass, logits_shape, dtype, check=True):
    """``mass`` as a float array of the logits' shape; integer labels of the batch shape
    (one class per row) become one-hot mass. ``check``: the labels are concrete."""
    xp = bx.xp
    c = logits_shape[-1]
    if xp.isdtype(mass.dtype, "integral"):
        if tuple(mass.shape) != tuple(logits_shape[:-1]):
            raise ValueError(f"mass given as integer class labels must have the batch shape "
                             f"of the logits {tuple(logits_shape[:-1])}; got "
                             f"{tuple(mass.shape)}")
        if check:
            v.device_require(xp, (mass >= 0) & (mass < c), mass, "mass given as integer "
                             "labels", f"in [0, {c})")
        classes = bx.arange_like(c, mass)
        return xp.astype(mass[..., None] == classes, dtype)
    if tuple(mass.shape) != tuple(logits_shape):
        if tuple(mass.shape) == tuple(logits_shape[:-1]):
            raise ValueError(f"mass of shape {tuple(mass.shape)} (the logits' batch shape) "
                             f"must hold integer class labels; got dtype {mass.dtype}")
        raise ValueError(f"mass must have the shape of the logits {tuple(logits_shape)} or, "
                         f"as integer labels, {tuple(logits_shape[:-1])}; got "
                         f"{tuple(mass.shape)}")
    return xp.astype(mass, dtype)
