"""The derivative of every solver, written once over the array namespace.

Inside a fixed partition into blocks the fit is the weighted block mean,
f_i = sum_{j in B(i)} w_j y_j / W_B(i), so for a tangent (t_y, t_w)

    t_f_i = sum_{j in B(i)} (w_j t_y_j + t_w_j (y_j - mean_B)) / W_B       (the JVP)

and for an incoming gradient g, with G_B = sum_{i in B} g_i,

    grad y_j = w_j G_B / W_B,    grad w_j = (y_j - mean_B) G_B / W_B       (the VJP).

Both are linear in the tangent / gradient and are written in array operations only, so JAX
transposes the JVP (reverse mode) and both frameworks differentiate them again (Hessians).
``mean_B`` is recomputed from ``y`` rather than taken from the fit, so the formulas depend
on ``y`` and ``w`` explicitly and their own derivatives are right.

Tertiary ties (each entry keeps its offset from its tie group's mean) give
f = y + mean_block(y) - mean_group(y): the JVP is ``t_y`` plus the block average over the
solver's blocks minus the one over the tie groups.

The blocks come from the solver's labels (never from equal fitted values with a tolerance).
``blocks="equal_values"`` merges solver blocks that are neighbours in the order and have
exactly equal fitted values, the convention of jaxopt, torchsort and fast-soft-sort: at such
a tie both are one-sided derivatives, of opposite sides.

Only two operations are not in the array API standard: a per-row gather and a per-row
scatter-add (segment sum). They get one branch per framework below.
"""

import math

import numpy as np

BLOCK_CONVENTIONS = ("solver", "equal_values")


def _framework(xp):
    name = getattr(xp, "__name__", "")
    if "torch" in name:
        return "torch"
    if "jax" in name:
        return "jax"
    return "numpy"


def broadcast(xp, values, shape):
    """``xp.broadcast_to``; PyTorch's ``expand``, which every vmap implementation batches."""
    if _framework(xp) == "torch":
        return values.expand(shape)
    return xp.broadcast_to(values, shape)


def gather(xp, values, index):
    """``values[..., index[..., i]]`` along the last axis (``index`` has the full shape)."""
    kind = _framework(xp)
    shape = tuple(index.shape[:-1]) + tuple(values.shape[-1:])
    if kind == "torch":
        import torch

        return torch.gather(values.expand(shape), -1, index)
    if kind == "jax":
        import jax.numpy as jnp

        return jnp.take_along_axis(jnp.broadcast_to(values, shape), index, axis=-1)
    return np.take_along_axis(np.broadcast_to(values, shape), index, axis=-1)


def segment_sum(xp, values, labels):
    """Per row (last axis): ``out[..., k] = sum of values[..., i] with labels[..., i] == k``."""
    kind = _framework(xp)
    values = broadcast(xp, values, labels.shape)
    if kind == "torch":
        import torch

        return torch.zeros_like(values).scatter_add(-1, labels, values)
    shape = labels.shape
    n = shape[-1]
    m = math.prod(shape[:-1])
    if kind == "jax":
        import jax.numpy as jnp

        rows = jnp.arange(m)[:, None]
        out = jnp.zeros((m, n), values.dtype).at[rows, labels.reshape(m, n)].add(
            values.reshape(m, n))
        return out.reshape(shape)
    flat = (np.arange(m)[:, None] * n + labels.reshape(m, n)).reshape(-1)
    out = np.bincount(flat, weights=values.reshape(-1), minlength=m * n)
    return out.reshape(shape).astype(values.dtype, copy=False)


def _block_weights(xp, labels, w):
    return gather(xp, segment_sum(xp, w, labels), labels)


def _block_means(xp, labels, w, y, total_w):
    return gather(xp, segment_sum(xp, w * y, labels), labels) / total_w


def block_means(xp, labels, w, y):
    """Every entry's block mean of ``y`` with weights ``w`` (both of the labels' shape)."""
    return _block_means(xp, labels, w, y, _block_weights(xp, labels, w))


def block_jvp(xp, labels, y, w, t_y, t_w):
    """The tangent of the block means of ``y`` (weights ``w``) in direction (t_y, t_w).

    ``w`` has y's shape (broadcast ones when unweighted); a tangent may be None (zero).
    """
    total_w = _block_weights(xp, labels, w)
    numerator = None
    if t_y is not None:
        numerator = w * t_y
    if t_w is not None:
        spread = t_w * (y - _block_means(xp, labels, w, y, total_w))
        numerator = spread if numerator is None else numerator + spread
    if numerator is None:
        return xp.zeros_like(y)
    return gather(xp, segment_sum(xp, numerator, labels), labels) / total_w


def block_vjp(xp, labels, y, w, grad, need_w):
    """The transpose of :func:`block_jvp`: ``(grad_y, grad_w or None)`` for ``grad``."""
    total_w = _block_weights(xp, labels, w)
    mean_grad = gather(xp, segment_sum(xp, grad, labels), labels) / total_w
    grad_w = (y - _block_means(xp, labels, w, y, total_w)) * mean_grad if need_w else None
    return w * mean_grad, grad_w


def fit_jvp(xp, labels, groups, y, w, t_y, t_w):
    """JVP of a solver's fit: the block average, and for tertiary ties (``groups`` = the
    tie groups' labels) ``t_y + avg_blocks - avg_groups``."""
    t = block_jvp(xp, labels, y, w, t_y, t_w)
    if groups is None:
        return t
    t = t - block_jvp(xp, groups, y, w, t_y, t_w)
    return t if t_y is None else t + t_y


def fit_vjp(xp, labels, groups, y, w, grad, need_w):
    """VJP of a solver's fit (the transpose of :func:`fit_jvp`)."""
    grad_y, grad_w = block_vjp(xp, labels, y, w, grad, need_w)
    if groups is None:
        return grad_y, grad_w
    group_y, group_w = block_vjp(xp, groups, y, w, grad, need_w)
    grad_y = grad_y - group_y + grad
    return grad_y, (grad_w - group_w if need_w else None)


# --- block labels from an order -----------------------------------------------------------

def _pointer_jump(xp, pointer):
    """Follow ``pointer`` (per row, into the same row) to its fixed point: log2(n) gathers."""
    n = pointer.shape[-1]
    for _ in range(max(n - 1, 1).bit_length()):
        pointer = gather(xp, pointer, pointer)
    return pointer


def _positions(xp, like):
    n = like.shape[-1]
    return broadcast(xp, xp.arange(n, dtype=like.dtype, device=_device(xp, like)), like.shape)


def _device(xp, array):
    if _framework(xp) == "torch":
        return array.device
    return None


def merge_along(xp, values, neighbour):
    """Labels of the components of the graph ``i -- neighbour[i]`` restricted to edges whose
    two ends have equal ``values`` (``neighbour[i] == i`` for none); a component is named
    after the entry its pointers lead to (for a forest, its top node)."""
    same = values == gather(xp, values, neighbour)
    return _pointer_jump(xp, xp.where(same, neighbour, _positions(xp, neighbour)))


def _sort_along(xp, keys):
    kind = _framework(xp)
    if kind == "torch":
        import torch

        return torch.argsort(keys, dim=-1, stable=True)
    if kind == "jax":
        import jax.numpy as jnp

        return jnp.argsort(keys, axis=-1, stable=True)
    return np.argsort(keys, axis=-1, kind="stable")


def tie_groups(xp, x):
    """Per row, every entry labelled with the first (lowest-index) entry of equal ``x``."""
    order = _sort_along(xp, x)
    sorted_x = gather(xp, x, order)
    previous = xp.where(_positions(xp, order) > 0, _positions(xp, order) - 1, 0)
    first = merge_along(xp, sorted_x, previous)
    inverse = _sort_along(xp, order)
    return gather(xp, gather(xp, order, first), inverse)


def merge_equal_in_preorder(xp, values, x, labels):
    """``blocks="equal_values"`` for the order ``x_i < x_j => f_i <= f_j`` (either
    direction): the entries sharing a fitted value form one block when they span at least
    two values of ``x`` (then each is ordered against another); otherwise they are
    unordered among themselves and keep the solver's blocks."""
    by_x = _sort_along(xp, x)
    order = gather(xp, by_x, _sort_along(xp, gather(xp, values, by_x)))  # by (value, x)
    sorted_values = gather(xp, values, order)
    sorted_x = gather(xp, x, order)
    position = _positions(xp, order)
    n = order.shape[-1]
    start = merge_along(xp, sorted_values, xp.where(position > 0, position - 1, 0))
    end = merge_along(xp, sorted_values, xp.where(position < n - 1, position + 1, n - 1))
    spans = gather(xp, sorted_x, start) != gather(xp, sorted_x, end)
    merged = xp.where(spans, gather(xp, order, start), gather(xp, labels, order))
    return gather(xp, merged, _sort_along(xp, order))


def chain_neighbours(xp, like):
    """Each entry's predecessor on the chain (the first entry is its own)."""
    position = _positions(xp, like)
    return xp.where(position > 0, position - 1, 0)
