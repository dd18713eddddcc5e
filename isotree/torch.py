"""PyTorch adapters: the solvers on tensors as PyTorch operators, differentiable, and KD losses.

Every solver is a custom operator of the ``isotree`` namespace (``torch.ops.isotree.*``,
built with ``torch.library.custom_op``): its implementation solves where the tensors
live (the Numba kernels on CPU memory, the numba-cuda kernels or a host round trip on a CUDA
device; see :mod:`isotree._dispatch`), a fake implementation gives ``torch.compile`` its
shapes and dtypes, a vmap rule batches it, and its derivative is the block average of
:mod:`isotree._blocks` in PyTorch operations, registered with
``torch.library.register_autograd``; :func:`kd_loss` fits its detached teacher through the
plain operator ``isotree::isotonic_logits_fit``, which has no derivative to carry. So
``torch.compile`` (``fullgraph=True`` included) sees one node per solve, and ``backward``,
double backward, ``torch.func.grad``/``vjp``/``jacrev`` and ``vmap`` give the exact
derivative of the partition found.

A custom operator carries no forward-mode derivative: under forward-mode AD
(``torch.autograd.forward_ad``, ``torch.func.jvp``/``jacfwd``/``hessian``) and other
``torch.func`` transforms the same operator runs inside an :class:`torch.autograd.Function`
whose ``jvp`` is the same block average, so every derivative stays exact in eager mode.
Half-precision tensors are computed in float32 and returned in their dtype.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import torch
from torch.autograd import forward_ad

from . import _autodiff as ad
from . import _blocks, _dispatch, _kd, _threads
from . import _options as opt
from ._bridge import known
from ._numba.vjp import block_vjp_rows
from .tree import Tree

__all__ = ["isotonic_regression", "tree_isotonic_regression", "star_isotonic_regression",
           "isotonic_logits", "kd_loss", "kd_penalty"]

_bx = known("torch")
Tensor = torch.Tensor


# --- operator outputs ---------------------------------------------------------------------------

def _empty_labels(like):
    return torch.empty((0,), dtype=torch.int64, device=like.device)


def _outputs(fit, labels, groups, tertiary):
    """The operators' three outputs, none aliasing another (unused ones empty)."""
    return fit, labels, (groups if tertiary else _empty_labels(fit))


# --- the derivative, shared by the operators and the autograd.Function -----------------------

def _vjp(axis, tertiary, y, w, labels, groups, grad, need_w):
    """``(grad_y, grad_w)`` of a fit along ``axis``: a first-order backward on CPU memory
    runs the compiled block VJP; otherwise PyTorch operations, recorded when the backward is
    differentiated again."""
    compiled = None
    if (grad.device.type == "cpu" and not torch.is_grad_enabled() and y.numel()
            and not _functorch_wrapped(grad, y, labels)):
        def compiled(grad, labels, y, w):
            grad_y, grad_w = torch.ops.isotree.block_vjp(grad, labels, y, w, need_w)
            return grad_y, grad_w

    return ad.vjp_along(_bx, axis, tertiary, y, w, labels, groups, grad, need_w, compiled)


def _jvp(axis, tertiary, y, w, labels, groups, t_y, t_w):
    return ad.jvp_along(_bx, axis, tertiary, y, w, labels, groups, t_y, t_w)


def _functorch_wrapped(*tensors):
    functorch = torch._C._functorch
    return any(isinstance(t, Tensor) and (functorch.is_functorch_wrapped_tensor(t)
                                          or functorch.is_legacy_batchedtensor(t))
               for t in tensors)


# --- the operators ----------------------------------------------------------------------------

def _solve(problem, y, w, aux=()):
    """The operators' body: the fit, block labels and tie groups (or empty) as new tensors."""
    fit, labels, groups = ad.forward(_bx, problem, y, w, aux)
    return _outputs(fit.contiguous(), labels.contiguous(),
                    groups.contiguous() if problem.tertiary else None, problem.tertiary)


@torch.library.custom_op("isotree::isotonic_regression", mutates_args=())
def _chain_op(y: Tensor, w: Tensor | None, x: Tensor | None, increasing: bool,
              ties: str, axis: int, blocks: str) -> tuple[Tensor, Tensor, Tensor]:
    """Isotonic regression along ``axis``: (fit, block labels, tie groups or empty)."""
    problem = ad.Problem("chain", opt.Chain(increasing, ties, axis=axis, return_blocks=True),
                         "chain" if x is None else "preorder", axis=axis, blocks=blocks,
                         tertiary=x is not None and ties == "tertiary")
    return _solve(problem, y, w, () if x is None else (x,))


@torch.library.custom_op("isotree::star_isotonic_regression", mutates_args=())
def _star_op(y: Tensor, w: Tensor | None, roots: Tensor, increasing: bool, axis: int,
             blocks: str) -> tuple[Tensor, Tensor, Tensor]:
    """The star along ``axis``, one root per problem (``roots`` of the batch shape)."""
    problem = ad.Problem("star", opt.Star(increasing, axis, return_blocks=True), "star",
                         axis=axis, blocks=blocks)
    return _solve(problem, y, w, (roots,))


@torch.library.custom_op("isotree::tree_isotonic_regression", mutates_args=())
def _tree_op(y: Tensor, w: Tensor | None, parent: Tensor, increasing: bool, axis: int,
             blocks: str) -> tuple[Tensor, Tensor, Tensor]:
    """A tree along ``axis`` (``parent`` a validated parent array, see :func:`_tree_of`)."""
    problem = ad.Problem("tree", opt.Tree(increasing, return_blocks=True, axis=axis), "tree",
                         axis=axis, blocks=blocks, tree=_tree_of(parent))
    return _solve(problem, y, w)


def _logits_fit(logits, mass, method, n_iter):
    """IDA's fit along the last axis, without block labels or derivative."""
    fit = _dispatch.run("logits", opt.Logits(method, n_iter, return_blocks=False), logits,
                        mass, public=None)
    return fit.contiguous()


@torch.library.custom_op("isotree::isotonic_logits", mutates_args=())
def _logits_op(logits: Tensor, mass: Tensor, method: str, n_iter: int, blocks: str,
               labels: bool) -> tuple[Tensor, Tensor, Tensor]:
    """IDA along the last axis: (fit, block labels or empty, empty). ``labels``: the exact
    fit's block labels, which its derivative needs (a detached teacher does not)."""
    if labels and method == "exact":
        problem = ad.Problem("logits", opt.Logits(method, n_iter, return_blocks=True),
                             "preorder", weighted=False, blocks=blocks)
        return _solve(problem, logits, None, (mass,))
    fit = _logits_fit(logits, mass, method, n_iter)
    return fit, _empty_labels(fit), _empty_labels(fit)


# The fit alone, for kd_loss's detached teacher: a plain library operator. It has no
# derivative to carry, and it skips the custom operator's wrapping per call (about 60-80 us
# in a compiled training step on 256 x 100 logits, measured against isotree::isotonic_logits
# with labels=False, which still serves logits that may require a gradient: its registered
# derivative refuses "approx" and "shift" with a clear error).
_LIBRARY = torch.library.Library("isotree", "FRAGMENT")
_LIBRARY.define("isotonic_logits_fit(Tensor logits, Tensor mass, str method, int n_iter) "
                "-> Tensor")


_LIBRARY.impl("isotonic_logits_fit", _logits_fit, "CompositeExplicitAutograd")
_logits_fit_op = torch.ops.isotree.isotonic_logits_fit.default


@torch.library.custom_op("isotree::block_vjp", mutates_args=())
def _block_vjp_op(grad: Tensor, labels: Tensor, y: Tensor, w: Tensor | None,
                  need_w: bool) -> tuple[Tensor, Tensor]:
    """The block-average VJP along the last axis in one compiled pass on CPU memory:
    ``(grad_y, grad_w or empty)``; elsewhere the PyTorch operations of the same formula."""
    if grad.device.type != "cpu":
        full = torch.ones_like(y) if w is None else w.expand(y.shape)
        grad_y, grad_w = _blocks.block_vjp(_bx, labels, y, full, grad, need_w)
        return grad_y.contiguous(), (grad_w.contiguous() if need_w else _empty_like_float(y))
    n = y.shape[-1]

    def rows(t):
        return t.detach().reshape(-1, n).contiguous().numpy()

    g = rows(grad.to(y.dtype))
    w_rows = np.ones((1, n), dtype=g.dtype) if w is None else rows(w.to(y.dtype))
    grad_y = np.empty_like(g)
    grad_w = np.empty_like(g) if need_w else np.empty((g.shape[0], 0), dtype=g.dtype)
    threads = _threads.threads_for(None, g.size, g.shape[0])
    _threads.call(block_vjp_rows, threads, g, rows(labels), w_rows, rows(y), grad_y, grad_w)
    grad_y = torch.from_numpy(grad_y).reshape(y.shape)
    return grad_y, (torch.from_numpy(grad_w).reshape(y.shape) if need_w
                    else _empty_like_float(y))


def _empty_like_float(y):
    return torch.empty((0,), dtype=y.dtype, device=y.device)


# Fake implementations: shapes and dtypes for torch.compile.

def _fake_solve(y, tertiary, labels=True):
    fit = torch.empty_like(y, memory_format=torch.contiguous_format)
    label = (torch.empty(y.shape, dtype=torch.int64, device=y.device) if labels
             else _empty_labels(y))
    groups = (torch.empty(y.shape, dtype=torch.int64, device=y.device) if tertiary
              else _empty_labels(y))
    return fit, label, groups


@_chain_op.register_fake
def _(y, w, x, increasing, ties, axis, blocks):
    return _fake_solve(y, x is not None and ties == "tertiary")


@_star_op.register_fake
def _(y, w, roots, increasing, axis, blocks):
    return _fake_solve(y, False)


@_tree_op.register_fake
def _(y, w, parent, increasing, axis, blocks):
    return _fake_solve(y, False)


@_logits_op.register_fake
def _(logits, mass, method, n_iter, blocks, labels):
    return _fake_solve(logits, False, labels=labels and method == "exact")


@torch.library.register_fake("isotree::isotonic_logits_fit")
def _(logits, mass, method, n_iter):
    return logits.new_empty(logits.shape)


@_block_vjp_op.register_fake
def _(grad, labels, y, w, need_w):
    def new():
        return torch.empty(y.shape, dtype=y.dtype, device=y.device)

    return new(), (new() if need_w else _empty_like_float(y))


# Derivatives: the block average, in PyTorch operations (differentiable again).

def _register_derivative(op, axis_at, tertiary):
    """The block-average derivative of ``op`` (its axis is input ``axis_at``; ``tertiary``
    tells from the inputs whether the fit has tertiary ties)."""

    def setup(ctx, inputs, output):
        _, labels, groups = output
        ctx.save_for_backward(inputs[0], inputs[1], labels, groups)
        ctx.axis, ctx.tertiary, ctx.n_inputs = inputs[axis_at], tertiary(inputs), len(inputs)

    def backward(ctx, grad, _labels, _groups):
        y, w, labels, groups = ctx.saved_tensors
        need_y, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_y, grad_w = _vjp(ctx.axis, ctx.tertiary, y, w, labels, groups, grad,
                              bool(need_w and w is not None))
        return (grad_y if need_y else None, grad_w) + (None,) * (ctx.n_inputs - 2)

    op.register_autograd(backward, setup_context=setup)


_register_derivative(_chain_op, 5, lambda inputs: inputs[2] is not None
                     and inputs[4] == "tertiary")
_register_derivative(_star_op, 4, lambda inputs: False)
_register_derivative(_tree_op, 4, lambda inputs: False)


def _logits_setup(ctx, inputs, output):
    logits, _, method, _, _, with_labels = inputs
    _, labels, _ = output
    ctx.save_for_backward(logits, labels)
    ctx.method, ctx.with_labels = method, with_labels


def _logits_backward(ctx, grad, _labels, _groups):
    if ctx.method != "exact":
        raise ad.not_differentiable(ctx.method)
    if not ctx.with_labels:
        raise ValueError("isotonic_logits was solved without block labels (labels=False), "
                         "so it has no derivative here")
    logits, labels = ctx.saved_tensors
    grad_z, _ = _vjp(-1, False, logits, None, labels, None, grad, False)
    return grad_z, None, None, None, None, None


_logits_op.register_autograd(_logits_backward, setup_context=_logits_setup)


# vmap rules: the solvers batch over leading axes, so the vmapped axis goes first.

def _batch_first(t, dim, shape):
    """``t`` laid out for a batched problem of ``shape`` (vmapped axis first).

    Unbatched: broadcast, unless it is shared by every row already (weights of shape (n,)).
    Batched: the vmapped axis first, broadcast over the problem's other axes.
    """
    if dim is None:
        return t.expand(shape) if t.dim() == len(shape) - 1 else t
    t = t.movedim(dim, 0)
    return t.reshape(t.shape[0], *[1] * (len(shape) - t.dim()), *t.shape[1:]).expand(shape)


def _batched_shape(info, y, y_dim):
    return (info.batch_size, *(y.shape if y_dim is None else y.movedim(y_dim, 0).shape[1:]))


def _vmap_solver(op, aux_shape):
    def rule(info, in_dims, y, w, aux, *options):
        y_dim, w_dim, aux_dim = in_dims[:3]
        if any(d is not None for d in in_dims[3:]):
            raise ValueError("vmap can batch only the tensors of an isotree operator (y, "
                             "weights, x, root, mass), not its options")
        shape = _batched_shape(info, y, y_dim)
        y = _batch_first(y, y_dim, shape)
        if w is not None:
            w = _batch_first(w, w_dim, shape)
        if aux is not None:
            aux = _batch_first(aux, aux_dim, aux_shape(shape, options))
        fit, labels, groups = op(y, w, aux, *options)
        return (fit, labels, groups), (0, 0, 0 if groups.shape == fit.shape else None)

    op.register_vmap(rule)


def _roots_shape(shape, axis):
    axis %= len(shape)
    return shape[:axis] + shape[axis + 1:]


_vmap_solver(_chain_op, lambda shape, options: shape)
_vmap_solver(_star_op, lambda shape, options: _roots_shape(shape, options[1]))


def _tree_vmap(info, in_dims, y, w, parent, *options):
    y_dim, w_dim, parent_dim = in_dims[:3]
    if parent_dim is not None:
        raise ValueError("parent cannot be batched by torch.func.vmap")
    shape = _batched_shape(info, y, y_dim)
    y = _batch_first(y, y_dim, shape)
    w = None if w is None else _batch_first(w, w_dim, shape)
    return _tree_op(y, w, parent, *options), (0, 0, None)


_tree_op.register_vmap(_tree_vmap)


def _logits_vmap(info, in_dims, logits, mass, method, n_iter, blocks, labels):
    z_dim, m_dim = in_dims[:2]
    shape = _batched_shape(info, logits, z_dim)
    out = _logits_op(_batch_first(logits, z_dim, shape), _batch_first(mass, m_dim, shape),
                     method, n_iter, blocks, labels)
    return out, (0, 0 if labels and method == "exact" else None, None)


_logits_op.register_vmap(_logits_vmap)


@torch.library.register_vmap("isotree::isotonic_logits_fit")
def _logits_fit_vmap(info, in_dims, logits, mass, method, n_iter):
    z_dim, m_dim = in_dims[:2]
    shape = _batched_shape(info, logits, z_dim)
    fit = _logits_fit_op(_batch_first(logits, z_dim, shape), _batch_first(mass, m_dim, shape),
                         method, n_iter)
    return fit, 0


def _block_vjp_vmap(info, in_dims, grad, labels, y, w, need_w):
    shape = _batched_shape(info, y, in_dims[2])
    grad, labels, y = (_batch_first(t, d, shape) for t, d in zip((grad, labels, y), in_dims))
    w = None if w is None else _batch_first(w, in_dims[3], shape)
    grad_y, grad_w = _block_vjp_op(grad, labels, y, w, need_w)
    return (grad_y, grad_w), (0, 0 if need_w else None)


_block_vjp_op.register_vmap(_block_vjp_vmap)


# --- validated trees, handed to the tree operator as tensors ----------------------------------

_TREES = collections.OrderedDict()  # data pointer of a parent tensor -> (tensor, Tree)
_TREES_KEPT = 32


def _tree_tensor(tree, device):
    """The parent array of a validated Tree as an int64 tensor on ``device``, remembered
    with the Tree so that the operator does not validate it again (one per device: a copy
    made on every call would be validated, and on a GPU copied to the host, every call)."""
    for tensor, known_tree in _TREES.values():
        if known_tree is tree and tensor.device == device:
            return tensor
    with torch._C._DisableFuncTorch():  # a plain tensor, even inside torch.func transforms
        tensor = torch.from_numpy(tree.parent.copy()).to(device)
    _TREES[tensor.data_ptr()] = (tensor, tree)
    while len(_TREES) > _TREES_KEPT:
        _TREES.popitem(last=False)
    return tensor


def _tree_of(parent):
    """The Tree of a parent tensor: the remembered one while its tensor lives (its memory
    cannot be another's), else validated anew."""
    kept = _TREES.get(parent.data_ptr())
    if kept is not None and kept[0].numel() == parent.numel() and \
            kept[0].device == parent.device:
        return kept[1]
    return Tree(parent.detach().cpu().numpy())


# Under torch.compile, host-side setup (validating a parent array, building roots from an
# array) runs once, when the function is traced: the compiler calls these "constant"
# functions with the concrete arguments and bakes the integer key they return into the
# graph; the objects it names stay here for as long as the process lives.
_TRACED = []


@torch._dynamo.assume_constant_result
def _traced_tree(parent, device):
    tree = ad.tree_of(parent)
    _TRACED.append((tree, _tree_tensor(tree, device)))
    return len(_TRACED) - 1


@torch._dynamo.assume_constant_result
def _traced_roots(shape, axis, root):
    _TRACED.append(torch.from_numpy(ad.roots(shape, axis, root)))
    return len(_TRACED) - 1


def _tree_and_tensor(parent, device):
    """The validated Tree of ``parent`` and its parent tensor on ``device`` (for the
    operator)."""
    if isinstance(parent, Tensor) and torch.compiler.is_compiling():
        raise ValueError("parent must be concrete under torch.compile: pass a Tree, a list "
                         "or a NumPy array (validated once, when the function is traced)")
    if torch.compiler.is_compiling():
        return _TRACED[_traced_tree(parent, device)]
    tree = ad.tree_of(parent)
    return tree, _tree_tensor(tree, device)


def _roots_tensor(shape, axis, root, device):
    """The roots of a star problem as an int64 tensor of the batch shape (an integer or
    an array of it: validated here; a tensor: by the operator)."""
    batch = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
    if isinstance(root, Tensor):
        root = root.to(device=device)
        return root.expand(batch) if root.dim() == 0 else root
    if isinstance(root, (int, np.integer)) and not isinstance(root, bool):
        n = shape[axis]
        if not -n <= root < n:
            raise ValueError(f"root must be an index in [-{n}, {n}); root is {root}")
        return torch.full(batch, int(root) % n, dtype=torch.int64, device=device)
    if torch.compiler.is_compiling():
        return _TRACED[_traced_roots(shape, axis, root)].to(device)
    return torch.from_numpy(ad.roots(shape, axis, root)).to(device)


# --- the autograd.Function for forward mode and torch.func transforms -------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class _Call:
    """One operator call with its options bound: ``self(y, w, aux)`` runs the operator,
    ``self.direct(y, w, aux)`` its implementation (in eager mode, without the operator's
    dispatch cost)."""

    op: object  # op(y, w, *aux, axis) -> (fit, labels, groups)
    problem: ad.Problem
    aux_batch: bool = False  # aux has the batch shape of y (roots), not y's shape

    @property
    def axis(self):  # negative: a vmapped axis put first keeps it
        return self.problem.axis

    @property
    def tertiary(self):
        return self.problem.tertiary

    def __call__(self, y, w, aux):
        return self.op(y, w, *aux, self.axis)

    def direct(self, y, w, aux):
        return _solve(self.problem, y, w, aux)


class _Solve(torch.autograd.Function):
    """The operator with a forward-mode derivative (``jvp``) and a vmap rule, for eager
    calls that a derivative watches (the operator's registered derivative has no forward
    mode, which forward-mode AD and ``torch.func.jvp``/``jacfwd``/``hessian`` need)."""

    @staticmethod
    def forward(y, w, aux, call):
        return call.direct(y, w, aux)

    @staticmethod
    def setup_context(ctx, inputs, output):
        y, w, _, call = inputs
        _, labels, groups = output
        ctx.mark_non_differentiable(labels, groups)
        ctx.save_for_backward(y, w, labels, groups)
        ctx.save_for_forward(y, w, labels, groups)
        ctx.call = call

    @staticmethod
    def backward(ctx, grad, _labels, _groups):
        y, w, labels, groups = ctx.saved_tensors
        need_y, need_w = ctx.needs_input_grad[:2]
        grad_y, grad_w = _vjp(ctx.call.axis, ctx.call.tertiary, y, w, labels, groups, grad,
                              bool(need_w and w is not None))
        return grad_y if need_y else None, grad_w, None, None

    @staticmethod
    def jvp(ctx, t_y, t_w, _aux, _call):
        y, w, labels, groups = ctx.saved_tensors
        call = ctx.call
        return _jvp(call.axis, call.tertiary, y, w, labels, groups, t_y, t_w), None, None

    @staticmethod
    def vmap(info, in_dims, y, w, aux, call):
        y_dim, w_dim, aux_dims, _ = in_dims
        shape = _batched_shape(info, y, y_dim)
        y = _batch_first(y, y_dim, shape)
        if w is not None:
            w = _batch_first(w, w_dim, shape)
        aux_shape = _roots_shape(shape, call.axis) if call.aux_batch else shape
        aux = tuple(_batch_first(a, d, aux_shape) for a, d in zip(aux, aux_dims))
        out = _Solve.apply(y, w, aux, call)
        return out, (0, 0, 0 if call.tertiary else None)


def _watched(*tensors):
    """Eager mode with a derivative watching: autograd, forward-mode AD or a torch.func
    transform (under torch.compile the operator and its registered derivative serve)."""
    if torch.compiler.is_compiling():
        return False
    tensors = [t for t in tensors if isinstance(t, Tensor)]
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return True
    return forward_ad._current_level >= 0 or _functorch_wrapped(*tensors)


def _apply(problem, call, y, w, aux=()):
    """The fit of ``problem``: the operator ``call`` under torch.compile, the Function when
    a derivative watches in eager mode, else the fit alone (no block labels to compute)."""
    if torch.compiler.is_compiling():
        return call(y, w, aux)[0]
    if _watched(y, w, *aux):
        return _Solve.apply(y, w, aux, call)[0]
    return ad.fit_only(problem, y, w, aux)


# --- the public functions ---------------------------------------------------------------------

def _compute_dtype(t):
    if t.dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    return t.dtype if t.is_floating_point() else torch.float64


def _real_tensor(a, name, device=None):
    """``a`` as a real tensor (complex refused, by name)."""
    t = a if isinstance(a, Tensor) else torch.as_tensor(np.asarray(a), device=device)
    if t.is_complex():
        raise TypeError(f"{name} must be real; got complex dtype {t.dtype}")
    return t


def _values(t, name="y"):
    """A real tensor of at least one dimension."""
    t = _real_tensor(t, name)
    if t.dim() == 0:
        raise ValueError(f"{name} must have at least one dimension; got a scalar")
    return t


def _run(problem, op, y, weights, aux=(), aux_batch=False):
    """Shared body of the solvers: dtype, weights, the operator, bounds."""
    dtype = y.dtype
    compute = _compute_dtype(y)
    y = y.to(compute)
    w = None
    if weights is not None:
        w = _real_tensor(weights, "weights", y.device).to(device=y.device, dtype=compute)
    fit = _apply(problem, _Call(op, problem, aux_batch), y, w, aux)
    if problem.bounded:
        fit = ad.bounded(_bx, problem, fit, w, aux)
    return fit if fit.dtype == dtype or not dtype.is_floating_point else fit.to(dtype)


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
    y = _values(y)
    problem = ad.chain(y.dim(), has_x=x is not None, increasing=increasing, ties=ties,
                       y_min=y_min, y_max=y_max, axis=axis, blocks=blocks)
    increasing, ties, blocks = problem.options.increasing, problem.options.ties, problem.blocks
    if x is None:
        return _run(problem, lambda y, w, axis: _chain_op(y, w, None, increasing, ties, axis,
                                                          blocks), y, weights)
    x = _real_tensor(x, "x", y.device).to(y.device)
    return _run(problem, lambda y, w, x, axis: _chain_op(y, w, x, increasing, ties, axis,
                                                         blocks), y, weights, (x,))


def tree_isotonic_regression(y, parent, *, weights=None, increasing=True, y_min=None,
                             y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.tree_isotonic_regression` on tensors, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, parent, increasing, y_min, y_max
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
    y = _values(y)
    tree, parent_tensor = _tree_and_tensor(parent, y.device)
    problem = ad.tree(y.dim(), tree, increasing=increasing, y_min=y_min, y_max=y_max,
                      axis=axis, blocks=blocks)
    increasing = problem.options.increasing
    return _run(problem, lambda y, w, axis: _tree_op(y, w, parent_tensor, increasing, axis,
                                                     problem.blocks), y, weights)


def star_isotonic_regression(y, root=0, *, weights=None, increasing=True, y_min=None,
                             y_max=None, axis=-1, blocks="solver"):
    """:func:`isotree.star_isotonic_regression` on tensors, differentiable in `y`, `weights`.

    Parameters
    ----------
    y, root, increasing, y_min, y_max, axis
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
    y = _values(y)
    problem = ad.star(y.dim(), increasing=increasing, y_min=y_min, y_max=y_max, axis=axis,
                      blocks=blocks)
    roots = _roots_tensor(tuple(y.shape), problem.axis, root, y.device)
    increasing = problem.options.increasing
    return _run(problem, lambda y, w, roots, axis: _star_op(y, w, roots, increasing, axis,
                                                            problem.blocks),
                y, weights, (roots,), aux_batch=True)


def _host_option(value, name):
    """``parent`` and ``root`` shape the problem and are read on the host: not batchable."""
    if not torch.compiler.is_compiling() and _functorch_wrapped(value):
        raise ValueError(f"{name} cannot be batched by torch.func.vmap or be differentiated: "
                         f"it is read on the host when the problem is set up; pass one "
                         f"{name} for the batch (root: an integer tensor of the batch shape)")


def _mass(mass, logits, dtype):
    """The hard-label mass as a tensor of the logits' shape (integer labels: one-hot)."""
    mass = _real_tensor(mass, "mass", logits.device).to(logits.device)
    return ad.hard_label_mass(_bx, mass, tuple(logits.shape), dtype,
                              check=not torch.compiler.is_compiling())


def _fit_logits(logits, mass, problem, differentiable=True):
    """Validated logits and mass (mass already of the logits' shape) through the operator;
    ``differentiable=False`` for logits no derivative can watch (a detached teacher)."""
    dtype = logits.dtype
    z = logits.to(_compute_dtype(logits))
    options = problem.options
    if differentiable:
        if options.method == "exact":
            fit = _apply(problem, _Call(lambda z, w, mass, axis: _logits_op(
                z, mass, "exact", 0, problem.blocks, True), problem), z, None, (mass,))
        elif _watched(z):
            raise ad.not_differentiable(options.method)
        elif torch.compiler.is_compiling():  # the operator refuses a gradient
            fit = _logits_op(z, mass, options.method, options.n_iter, problem.blocks,
                             False)[0]
        else:
            fit = ad.fit_only(problem, z, None, (mass,))
    elif torch.compiler.is_compiling():  # a detached teacher: nothing to differentiate
        fit = _logits_fit_op(z.detach(), mass.detach(), options.method, options.n_iter)
    else:  # eager, no derivative: the fit alone, without the operator's dispatch cost
        fit = ad.fit_only(problem, z, None, (mass,))
    return fit if fit.dtype == dtype else fit.to(dtype)


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
    logits = _values(logits, "logits")
    problem = ad.logits(method, n_iter, blocks)
    mass = _mass(mass, logits, torch.float64)
    return _fit_logits(logits, mass, problem)


def _kd_inputs(student_logits, mass):
    student = _values(student_logits, "student_logits")
    student = student.to(_compute_dtype(student))
    return student, _mass(mass, student, student.dtype)


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
    return _kd.kd_penalty(_bx, student, mass)


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
    options = _kd.check_options(temperature, alpha, sigma, ida, n_iter, reduction)
    student, mass = _kd_inputs(student_logits, mass)
    teacher = _values(teacher_logits, "teacher_logits").to(student.dtype).detach()
    if tuple(teacher.shape) != tuple(student.shape):
        raise ValueError(f"teacher_logits must have the shape of student_logits "
                         f"{tuple(student.shape)}; got {tuple(teacher.shape)}")
    if options.teacher is not None:
        teacher = _fit_logits(teacher, mass, ad.Problem("logits", options.teacher, "preorder",
                                                        weighted=False), differentiable=False)
    return _kd.kd_loss(_bx, student, teacher, mass, options)


for _function in (isotonic_regression, tree_isotonic_regression, star_isotonic_regression,
                  isotonic_logits):
    _function.__doc__ = _function.__doc__.replace("{blocks}", ad.BLOCKS_DOC)
