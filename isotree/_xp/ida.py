"""The IDA fit on any array library: the algorithm of :mod:`isotree._numba.ida`, batched.

Per row: G = the entries at the lowest mass level, U = the k entries above it. With
K = max k over the batch (one host synchronisation):

1. the entries of U in (mass, logit) order: for K <= :data:`FEW_SLOTS` (Mixup, CutMix,
   k-way mixes), K rounds of masked arg-min pick them into K slots; for more (dense mass),
   two stable sorts order the whole row and the slots are the sorted row itself, so memory
   stays O(B c) (no (B, K, K) tables);
2. PAVA on the slots by parallel pooling (:mod:`isotree._xp.chain`);
3. the lowest block is the root of a star over G, solved by variable fixing (exact: until
   the pooled set stops changing; approx: n_iter steps from the root's mean, every iterate
   feasible); while t exceeds the next block's value that block joins the root (at most K
   rounds);
4. the slot values are written back (K masked selects, or the inverse permutation).

Each row is scaled by its own power of two first (exact), so logits near the overflow
threshold keep finite sums in float32 accumulators as in float64. ``shift`` walks the mass
levels upwards the same way.
"""

import math

from .chain import chain_rows, sort_rows
from .common import device_of, masked_sum, row_scales, take_rows
from .star import variable_fixing

FEW_SLOTS = 8  # up to this many mixed labels per row: slots picked by masked arg-mins


def _upper_slots(xp, z, mass, upper, count):
    """The upper entries in (mass, logit) order: slot values, column indices, validity."""
    b, c = z.shape
    column = xp.reshape(xp.arange(c, device=device_of(z)), (1, c))
    remaining = upper
    inf = xp.full((b, c), math.inf, dtype=z.dtype, device=device_of(z))
    mass_inf = xp.full((b, c), math.inf, dtype=mass.dtype, device=device_of(z))
    values, picks, valid = [], [], []
    for _ in range(count):
        level = xp.min(xp.where(remaining, mass, mass_inf), axis=1, keepdims=True)
        candidates = xp.logical_and(remaining, mass == level)
        pick = xp.argmin(xp.where(candidates, z, inf), axis=1, keepdims=True)
        has = xp.any(remaining, axis=1, keepdims=True)
        onehot = xp.logical_and(column == xp.astype(pick, column.dtype), has)
        values.append(masked_sum(xp, onehot, z))
        picks.append(xp.astype(pick[:, 0], column.dtype))
        valid.append(has[:, 0])
        remaining = xp.logical_and(remaining, xp.logical_not(onehot))
    return xp.stack(values, axis=1), xp.stack(picks, axis=1), xp.stack(valid, axis=1)


def _slot_pava(xp, values, valid, invalid_first):
    """Increasing fit of the valid slots of every row, sorted ascending; the invalid slots
    all come first (``invalid_first``) or all last and get a value below (resp. above)
    every valid one, so they pool with nothing. Returns (fits, first)."""
    inf = xp.full_like(values, math.inf)
    if invalid_first:
        edge = xp.min(xp.where(valid, values, inf), axis=1, keepdims=True)
    else:
        edge = xp.max(xp.where(valid, values, -inf), axis=1, keepdims=True)
    edge = xp.where(xp.isfinite(edge), edge, xp.zeros_like(edge))
    # After the row's power-of-two scaling |values| <= 2**1000, so the pad is finite.
    pad = edge - (xp.abs(edge) + 1) if invalid_first else edge + (xp.abs(edge) + 1)
    padded = xp.where(valid, values, xp.broadcast_to(pad, values.shape))
    ones = xp.ones((1, values.shape[1]), dtype=values.dtype, device=device_of(values))
    return chain_rows(xp, padded, ones)


def _grow_root(xp, values, fits, valid, z, bottom, exact, n_iter, count):
    """The threshold t of the star rooted at the lowest slot blocks, grown while t exceeds
    the next block's value; returns (t, in_root)."""
    b = z.shape[0]
    dev = device_of(z)
    inf = xp.full(fits.shape, math.inf, dtype=fits.dtype, device=dev)
    one = xp.ones((b,), dtype=z.dtype, device=dev)
    has_upper = xp.any(valid, axis=1)
    lowest = xp.min(xp.where(valid, fits, inf), axis=1, keepdims=True)
    in_root = xp.logical_and(valid, fits <= lowest)
    ones_like_z = xp.ones_like(z)
    ones_like_values = xp.ones_like(values)
    steps = None if exact else n_iter
    start = None
    for _ in range(count):
        root_sum = masked_sum(xp, in_root, values)
        root_w = xp.where(has_upper, masked_sum(xp, in_root, ones_like_values), one)
        t = variable_fixing(xp, root_sum, root_w, z, z, ones_like_z, bottom, steps, start)
        outside = xp.logical_and(valid, xp.logical_not(in_root))
        following = xp.min(xp.where(outside, fits, inf), axis=1)
        grow = xp.logical_and(has_upper, following < t)
        if not bool(xp.any(grow)):
            break
        in_root = xp.logical_or(
            in_root, xp.logical_and(xp.logical_and(valid, fits <= following[:, None]),
                                    grow[:, None]))
        if exact:
            # Rows that did not grow keep their exact t (a fixed point: no further step);
            # grown rows restart from their new root's mean, a lower bound again.
            new_mean = masked_sum(xp, in_root, values) / xp.where(
                has_upper, masked_sum(xp, in_root, ones_like_values), one)
            start = xp.where(grow, new_mean, t)
    return t, in_root


def ida_rows(xp, z, mass, method, n_iter, with_labels=False):
    """Fit of logits ``z`` (B, c) to the order of ``mass``; method "exact"/"approx"/"shift".

    Returns ``(fit, labels)``; labels (exact only, else None): the root's index (the lowest
    slot) for the root block and the bottom entries pooled with it, the first slot's index
    for the other upper blocks, the entry itself otherwise.
    """
    b, c = z.shape
    dev = device_of(z)
    low = xp.min(mass, axis=1, keepdims=True)
    upper = mass > low
    bottom = xp.logical_not(upper)
    count = int(xp.max(xp.sum(xp.astype(upper, xp.int32), axis=1))) if b and c else 0
    if count == 0:
        column = xp.reshape(xp.arange(c, device=dev), (1, c))
        return z, (xp.broadcast_to(column, (b, c)) if with_labels else None)
    if method == "shift":
        return _shift(xp, z, mass, upper, bottom, count), None
    scale, _ = row_scales(xp, z, xp.ones((1, c), dtype=z.dtype, device=dev))
    z = z * scale
    exact = method == "exact"
    if count <= FEW_SLOTS:
        values, picks, valid = _upper_slots(xp, z, mass, upper, count)
        z_work, bottom_work = z, bottom
    else:
        order = sort_rows(xp, mass, z)
        z_work = take_rows(xp, z, order)
        bottom_work = take_rows(xp, bottom, order)
        values, picks, valid = z_work, order, xp.logical_not(bottom_work)
    fits, first = _slot_pava(xp, values, valid, invalid_first=count > FEW_SLOTS)
    t, in_root = _grow_root(xp, values, fits, valid, z_work, bottom_work, exact, n_iter,
                            count)
    t_column = t[:, None]
    lowest_level = xp.logical_and(bottom_work, xp.any(valid, axis=1, keepdims=True))
    fit = xp.where(lowest_level, xp.minimum(z_work, t_column), z_work)
    slot_values = xp.where(in_root, xp.broadcast_to(t_column, fits.shape), fits)
    labels = None
    if with_labels and exact:
        labels = _labels(xp, picks, valid, first, in_root,
                         xp.logical_and(lowest_level, z_work > t_column), count)
    if count <= FEW_SLOTS:
        column = xp.reshape(xp.arange(c, device=dev), (1, c))
        for j in range(count):
            onehot = xp.logical_and(column == picks[:, j:j + 1], valid[:, j:j + 1])
            fit = xp.where(onehot, slot_values[:, j:j + 1], fit)
    else:
        fit = take_rows(xp, xp.where(valid, slot_values, fit),
                        xp.argsort(picks, axis=1, stable=True))
    return fit / scale, labels


def _labels(xp, picks, valid, first, in_root, pooled, count):
    """Block labels in the input's column order (see :func:`ida_rows`)."""
    b, c = pooled.shape
    column = xp.broadcast_to(xp.reshape(xp.arange(c, device=device_of(pooled)), (1, c)),
                             (b, c))
    if count <= FEW_SLOTS:
        root = picks[:, :1]
    else:  # the lowest upper entry sits at position c - k of the sorted row
        k = xp.sum(xp.astype(valid, picks.dtype), axis=1, keepdims=True)
        root = take_rows(xp, picks, xp.minimum(c - k, xp.full_like(k, c - 1)))
    slot_labels = xp.where(in_root, xp.broadcast_to(root, picks.shape),
                           take_rows(xp, picks, first))
    if count > FEW_SLOTS:
        labels = xp.where(valid, slot_labels,
                          xp.where(pooled, xp.broadcast_to(root, (b, c)), picks))
        return take_rows(xp, labels, xp.argsort(picks, axis=1, stable=True))
    labels = xp.where(pooled, xp.broadcast_to(root, (b, c)), column)
    for j in range(count):
        onehot = xp.logical_and(column == picks[:, j:j + 1], valid[:, j:j + 1])
        labels = xp.where(onehot, slot_labels[:, j:j + 1], labels)
    return labels


def _shift(xp, z, mass, upper, bottom, count):
    """Raise each mass level, upwards, by how far its minimum falls below all levels beneath."""
    b, c = z.shape
    dev = device_of(z)
    inf = xp.full((b, c), math.inf, dtype=z.dtype, device=dev)
    mass_inf = xp.full((b, c), math.inf, dtype=mass.dtype, device=dev)
    zero = xp.zeros((b, 1), dtype=z.dtype, device=dev)
    below_max = xp.max(xp.where(bottom, z, -inf), axis=1, keepdims=True)
    fit = z
    remaining = upper
    for _ in range(count):
        level_mass = xp.min(xp.where(remaining, mass, mass_inf), axis=1, keepdims=True)
        level = xp.logical_and(remaining, mass == level_mass)
        level_min = xp.min(xp.where(level, z, inf), axis=1, keepdims=True)
        shift = xp.where(xp.any(level, axis=1, keepdims=True),
                         xp.maximum(below_max - level_min, zero), zero)
        fit = xp.where(level, z + shift, fit)
        below_max = xp.maximum(below_max, xp.max(xp.where(level, z + shift, -inf), axis=1,
                                                 keepdims=True))
        remaining = xp.logical_and(remaining, xp.logical_not(level))
        if not bool(xp.any(remaining)):
            break
    return fit
