"""One description per solver, from which the PyTorch and JAX adapters are built.

A :class:`Problem` is one validated call of a solver: how to solve it through the public
function (``return_blocks=True``, on the arrays where they live), which order its blocks
live in (for ``blocks="equal_values"``), whether it has tertiary ties, which inputs it
differentiates (always ``y``; ``weights`` where the solver has them), its axis and bounds.
:func:`forward` solves and returns the fit with the labels the derivative averages over; the
derivative itself is :mod:`isotree._blocks`, written once. The adapters only add what their
framework needs (an ``autograd.Function`` or a ``custom_jvp`` over a ``pure_callback``).
"""

import dataclasses
from typing import Any, Callable

import numpy as np

from . import _blocks
from . import _validate as v
from . import ida as _ida
from . import solvers as _solvers
from .tree import Tree

BLOCKS_DOC = """blocks : {"solver", "equal_values"}, default="solver"
        The blocks the derivative averages over; the fit is the same. ``"solver"``: the
        solver's blocks (its block labels). ``"equal_values"``: neighbouring blocks with
        exactly equal fitted values are merged, the convention of jaxopt, torchsort and
        fast-soft-sort. They differ only at exact ties, where both are one-sided
        derivatives (see :doc:`/autodiff`)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """One call of a solver, validated; everything but the differentiable arrays.

    ``solve(y, w, *aux)`` returns ``(fit, labels)`` along the last axis; ``aux`` are arrays
    laid out like ``y`` (or its batch shape) that the adapters carry through their
    framework (so ``vmap`` batches them); ``order`` is "chain", "tree", "star" or
    "preorder" (``aux[0]`` is the predictor).
    """

    solve: Callable
    aux: tuple
    order: str
    weighted: bool = True
    axis: int = -1
    y_min: Any = None
    y_max: Any = None
    tertiary: bool = False
    blocks: str = "solver"
    parent: Any = None  # the tree's parent array, for "equal_values"

    def axis_is_last(self, ndim):
        return ndim <= 1 or self.axis % ndim == ndim - 1

    def moved(self, array, ndim):
        """``array`` (of y's shape) with the problem's axis last."""
        return array if self.axis_is_last(ndim) else _moveaxis(array, self.axis, -1)

    def restored(self, array, ndim):
        return array if self.axis_is_last(ndim) else _moveaxis(array, -1, self.axis)


def _moveaxis(array, source, destination):
    if hasattr(array, "movedim"):  # PyTorch
        return array.movedim(source, destination)
    if type(array).__module__.startswith("jax"):  # also tracers
        import jax.numpy as jnp

        return jnp.moveaxis(array, source, destination)
    return np.moveaxis(array, source, destination)


def forward(xp, problem, y, w, aux):
    """Solve (``y``, ``w`` along the last axis; ``w`` None, (n,) or y's shape): the fit,
    the labels of the blocks the derivative averages over, and the tie groups for tertiary
    ties (else the labels again, unused)."""
    fit, labels = problem.solve(y, w if problem.weighted else None, *aux)
    if problem.tertiary:
        groups = _blocks.tie_groups(xp, _blocks.broadcast(xp, aux[0], fit.shape))
    else:
        groups = labels
    if problem.blocks == "equal_values":
        w = xp.ones_like(y) if w is None else _blocks.broadcast(xp, w, fit.shape)
        labels = merged_labels(xp, problem, fit, labels, y, w, aux)
    return fit, labels, groups


def merged_labels(xp, problem, fit, labels, y, w, aux):
    """The ``blocks="equal_values"`` labels: solver blocks joined along the order's edges
    (chain neighbours, tree edges, star spokes) or comparable pairs where the values are
    equal. With tertiary ties the values compared are the block means."""
    # Tertiary fits keep offsets inside a block: compare the blocks' means instead.
    values = _blocks.block_means(xp, labels, w, y) if problem.tertiary else fit
    if problem.order == "preorder":
        x = _blocks.broadcast(xp, aux[0], fit.shape)
        return _blocks.merge_equal_in_preorder(xp, values, x, labels)
    if problem.order == "chain":
        neighbour = _blocks.chain_neighbours(xp, labels)
    elif problem.order == "tree":
        parent = np.where(problem.parent >= 0, problem.parent, np.arange(problem.parent.size))
        parent = xp.asarray(parent, dtype=labels.dtype, device=_device(labels))
        neighbour = _blocks.broadcast(xp, parent, labels.shape)
    else:  # star: every entry's neighbour is its row's root
        roots = xp.astype(aux[0], labels.dtype)
        roots = xp.reshape(roots, tuple(roots.shape) + (1,))
        neighbour = _blocks.broadcast(xp, roots, labels.shape)
    return _blocks.merge_along(xp, values, neighbour)


def _device(array):
    return getattr(array, "device", None) if hasattr(array, "movedim") else None


def check_blocks(blocks):
    return v.check_choice(blocks, "blocks", _blocks.BLOCK_CONVENTIONS)


# --- the solvers' descriptions --------------------------------------------------------------

def chain(ndim, *, x, increasing, ties, y_min, y_max, axis, blocks, to_array):
    """:func:`isotree.isotonic_regression`; ``to_array`` puts ``x`` in the framework."""
    increasing = v.check_flag(increasing, "increasing")
    v.check_choice(ties, "ties", _solvers.TIES)
    y_min, y_max = v.check_bounds(y_min, y_max)
    axis = v.check_axis(axis, ndim)
    blocks = check_blocks(blocks)
    aux, order = (), "chain"
    if x is not None:
        x = to_array(x)
        if x.ndim > 1 and x.ndim == ndim:
            x = _moveaxis(x, axis, -1)
        aux, order = (x,), "preorder"
    elif ties != "primary":
        raise ValueError(f"ties={ties!r} has no effect without x (ties are tied values of "
                         "the predictor x); leave ties at its default")

    def solve(y, w, x=None, return_blocks=True):
        return _solvers.isotonic_regression(y, weights=w, x=x, increasing=increasing,
                                            ties=ties, return_blocks=return_blocks)

    return Problem(solve, aux, order, axis=axis, y_min=y_min, y_max=y_max,
                   tertiary=x is not None and ties == "tertiary", blocks=blocks)


def tree(ndim, parent, *, increasing, axis, blocks):
    """:func:`isotree.tree_isotonic_regression` (``parent`` stays on the host)."""
    increasing = v.check_flag(increasing, "increasing")
    axis = v.check_axis(axis, ndim)
    blocks = check_blocks(blocks)
    if not isinstance(parent, Tree):
        parent = Tree(_host(parent))

    def solve(y, w, return_blocks=True):
        return _solvers.tree_isotonic_regression(y, parent, weights=w, increasing=increasing,
                                                 return_blocks=return_blocks)

    return Problem(solve, (), "tree", axis=axis, blocks=blocks, parent=parent.parent)


def star(shape, root, *, increasing, axis, blocks, to_array):
    """:func:`isotree.star_isotonic_regression`; the roots travel as an array of the batch
    shape (validated here)."""
    increasing = v.check_flag(increasing, "increasing")
    axis = v.check_axis(axis, len(shape))
    blocks = check_blocks(blocks)
    batch = tuple(s for i, s in enumerate(shape) if i != axis)
    roots = v.check_root(_host(root), batch, shape[axis]).reshape(batch)

    def solve(y, w, roots, return_blocks=True):
        return _solvers.star_isotonic_regression(y, roots, weights=w, increasing=increasing,
                                                 return_blocks=return_blocks)

    return Problem(solve, (to_array(roots),), "star", axis=axis, blocks=blocks)


def logits(method, n_iter, blocks, mass):
    """:func:`isotree.ida.isotonic_logits` (``mass`` already an array of the logits' shape).

    Only ``method="exact"`` is a projection with a block derivative; the adapters refuse to
    differentiate the others.
    """
    method, n_iter, _ = _ida.check_options(method, n_iter, False)
    blocks = check_blocks(blocks)

    def solve(z, _, mass, return_blocks=True):
        return _ida.isotonic_logits(z, mass, return_blocks=return_blocks)

    problem = Problem(solve, (mass,), "preorder", weighted=False, blocks=blocks)
    return problem, method, n_iter


def not_differentiable(method):
    return ValueError(f"isotonic_logits(method={method!r}) is a correction, not a "
                      "projection, and has no derivative; use method='exact', or detach the "
                      "logits (stop_gradient in JAX), as kd_loss does for the teacher")


def _host(a):
    """An index array or scalar of any library as NumPy (options live on the host)."""
    if a is None or isinstance(a, (int, np.integer, np.ndarray, list, tuple)):
        return a
    from ._xp.common import is_foreign, to_host

    return to_host(a) if is_foreign(a) else a


# --- shared input rules -----------------------------------------------------------------------

def check_host_values(y, weights, axis=-1):
    """The NumPy validators on host views (error messages in the caller's layout)."""
    y64, _, _ = v.check_values(y)
    v.check_weights(weights, y64.shape, v.check_axis(axis, y64.ndim))


def hard_label_mass(xp, mass, logits_shape, dtype, device, check=True):
    """``mass`` as a float array of the logits' shape; integer labels of the batch shape
    (one class per row) become one-hot mass. ``check``: the labels are concrete."""
    c = logits_shape[-1]
    if xp.isdtype(mass.dtype, "integral") and tuple(mass.shape) == tuple(logits_shape[:-1]):
        if check:
            bad = xp.reshape((mass < 0) | (mass >= c), (-1,))
            if bool(xp.any(bad)):
                i = int(xp.argmax(xp.astype(bad, xp.int32)))
                raise ValueError(f"mass given as integer labels must be in [0, {c}); mass"
                                 f"{v._where(i, tuple(mass.shape))} is "
                                 f"{int(xp.reshape(mass, (-1,))[i])}")
        classes = xp.arange(c, device=device)
        return xp.astype(xp.reshape(mass, tuple(mass.shape) + (1,)) == classes, dtype)
    if tuple(mass.shape) != tuple(logits_shape):
        raise ValueError(f"mass must have the shape of the logits {tuple(logits_shape)} or, "
                         f"as integer labels, {tuple(logits_shape[:-1])}; got "
                         f"{tuple(mass.shape)}")
    return xp.astype(mass, dtype)
