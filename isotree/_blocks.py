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
solver's blocks minus the one over the tie groups. A tie group of weight 0 (missing
observations alone at their x) has no mean: its entries take their block's value, so they
keep only the block average.

The blocks come from the solver's labels (never from equal fitted values with a tolerance).
``blocks="equal_values"`` merges solver blocks that are neighbours in the order and have
exactly equal fitted values, the convention of jaxopt, torchsort and fast-soft-sort: at such
a tie both are one-sided derivatives, of opposite sides.

Every function takes the :class:`~isotree._bridge.Bridge` of the arrays' library, which
supplies the operations beyond the array API standard (a per-row gather, a per-row
scatter-add, a stable argsort); the rest is array arithmetic that every library shares.
"""

BLOCK_CONVENTIONS = ("solver", "equal_values")


def _block_weights(bx, labels, w, empty_ok=False):
    """Every entry's block weight; with ``empty_ok``, 1 for blocks of weight 0 (whose
    averages the caller discards: a division by 0 would still poison the derivatives)."""
    total = bx.gather(bx.segment_sum(w, labels), labels)
    return bx.where(total > 0, total, total + 1) if empty_ok else total


def _block_means(bx, labels, w, y, total_w):
    return bx.gather(bx.segment_sum(w * y, labels), labels) / total_w


def block_means(bx, labels, w, y):
    """Every entry's block mean of ``y`` with weights ``w`` (both of the labels' shape)."""
    return _block_means(bx, labels, w, y, _block_weights(bx, labels, w))


def group_levels(bx, groups, w, values):
    """Every entry's weighted mean of ``values`` over its group, or its own value where
    the group weighs 0."""
    total = bx.gather(bx.segment_sum(w, groups), groups)
    means = _block_means(bx, groups, w, values, bx.where(total > 0, total, total + 1))
    return bx.where(total > 0, means, values)


def block_jvp(bx, labels, y, w, t_y, t_w, empty_ok=False):
    """The tangent of the block means of ``y`` (weights ``w``) in direction (t_y, t_w).

    ``w`` has y's shape (broadcast ones when unweighted); a tangent may be None (zero).
    ``empty_ok``: blocks of weight 0 get a finite value the caller discards.
    """
    total_w = _block_weights(bx, labels, w, empty_ok)
    numerator = None
    if t_y is not None:
        numerator = w * t_y
    if t_w is not None:
        spread = t_w * (y - _block_means(bx, labels, w, y, total_w))
        numerator = spread if numerator is None else numerator + spread
    if numerator is None:
        return bx.zeros_like(y)
    return bx.gather(bx.segment_sum(numerator, labels), labels) / total_w


def block_vjp(bx, labels, y, w, grad, need_w, empty_ok=False):
    """The transpose of :func:`block_jvp`: ``(grad_y, grad_w or None)`` for ``grad``."""
    total_w = _block_weights(bx, labels, w, empty_ok)
    mean_grad = bx.gather(bx.segment_sum(grad, labels), labels) / total_w
    grad_w = (y - _block_means(bx, labels, w, y, total_w)) * mean_grad if need_w else None
    return w * mean_grad, grad_w


def fit_jvp(bx, labels, groups, y, w, t_y, t_w):
    """JVP of a solver's fit: the block average, and for tertiary ties (``groups`` = the
    tie groups' labels) ``t_y + avg_blocks - avg_groups``."""
    t = block_jvp(bx, labels, y, w, t_y, t_w)
    if groups is None:
        return t
    offset = -block_jvp(bx, groups, y, w, t_y, t_w, empty_ok=True)
    if t_y is not None:
        offset = offset + t_y
    return t + bx.where(_weighed(bx, groups, w), offset, bx.zeros_like(offset))


def fit_vjp(bx, labels, groups, y, w, grad, need_w):
    """VJP of a solver's fit (the transpose of :func:`fit_jvp`)."""
    grad_y, grad_w = block_vjp(bx, labels, y, w, grad, need_w)
    if groups is None:
        return grad_y, grad_w
    kept = bx.where(_weighed(bx, groups, w), grad, bx.zeros_like(grad))
    group_y, group_w = block_vjp(bx, groups, y, w, kept, need_w, empty_ok=True)
    grad_y = grad_y - group_y + kept
    return grad_y, (grad_w - group_w if need_w else None)


def _weighed(bx, groups, w):
    """Whether each entry's tie group has a positive weight (a mean to keep an offset
    from)."""
    return bx.gather(bx.segment_sum(w, groups), groups) > 0


# --- block labels from an order -----------------------------------------------------------

def _pointer_jump(bx, pointer):
    """Follow ``pointer`` (per row, into the same row) to its fixed point: log2(n) gathers."""
    n = pointer.shape[-1]
    for _ in range(max(n - 1, 1).bit_length()):
        pointer = bx.gather(pointer, pointer)
    return pointer


def _positions(bx, like):
    return bx.broadcast(bx.arange_like(like.shape[-1], like), like.shape)


def merge_along(bx, values, neighbour):
    """Labels of the components of the graph ``i -- neighbour[i]`` restricted to edges whose
    two ends have equal ``values`` (``neighbour[i] == i`` for none); a component is named
    after the entry its pointers lead to (for a forest, its top node)."""
    same = values == bx.gather(values, neighbour)
    return _pointer_jump(bx, bx.where(same, neighbour, _positions(bx, neighbour)))


def tie_groups(bx, x):
    """Per row, every entry labelled with the first (lowest-index) entry of equal ``x``."""
    order = bx.argsort(x)
    sorted_x = bx.gather(x, order)
    previous = bx.where(_positions(bx, order) > 0, _positions(bx, order) - 1, 0)
    first = merge_along(bx, sorted_x, previous)
    inverse = bx.argsort(order)
    return bx.gather(bx.gather(order, first), inverse)


def merge_equal_in_preorder(bx, values, x, labels):
    """``blocks="equal_values"`` for the order ``x_i < x_j => f_i <= f_j`` (either
    direction): the entries sharing a fitted value form one block when they span at least
    two values of ``x`` (then each is ordered against another); otherwise they are
    unordered among themselves and keep the solver's blocks."""
    by_x = bx.argsort(x)
    order = bx.gather(by_x, bx.argsort(bx.gather(values, by_x)))  # by (value, x)
    sorted_values = bx.gather(values, order)
    sorted_x = bx.gather(x, order)
    position = _positions(bx, order)
    n = order.shape[-1]
    start = merge_along(bx, sorted_values, bx.where(position > 0, position - 1, 0))
    end = merge_along(bx, sorted_values, bx.where(position < n - 1, position + 1, n - 1))
    spans = bx.gather(sorted_x, start) != bx.gather(sorted_x, end)
    merged = bx.where(spans, bx.gather(order, start), bx.gather(labels, order))
    return bx.gather(merged, bx.argsort(order))


def chain_neighbours(bx, like):
    """Each entry's predecessor on the chain (the first entry is its own)."""
    position = _positions(bx, like)
    return bx.where(position > 0, position - 1, 0)
