"""The IDA fit on any array library: the algorithm of :mod:`isotree._numba.ida`, batched.

Per row: G = the entries at the lowest mass level, U = the k entries above it. With
K = max k over the batch (one host synchronisation):

1. K rounds of masked arg-min pick U in (mass, logit) order into K slots;
2. PAVA on the slots by the max-min formula f_j = max_{a<=j} min_{b>=j} mean(a..b)
   (O(K^3) per row, for the handful of mixed labels of Mixup, CutMix and k-way mixes);
3. the lowest block is the root of a star over G, solved by variable fixing (exact: until
   the pooled set stops changing; approx: n_iter steps from the root's mean, every iterate
   feasible); while t exceeds the next block's value that block joins the root (at most K
   rounds);
4. the slot values are written back with K masked selects.

``shift`` walks the mass levels upwards the same way.
"""

import math

from .common import device_of, masked_sum
from .star import variable_fixing


def _upper_slots(xp, z, mass, upper, count):
    """The upper entries in (mass, logit) order: slot values, one-hot masks, validity."""
    b, c = z.shape
    column = xp.reshape(xp.arange(c, device=device_of(z)), (1, c))
    remaining = upper
    inf = xp.full((b, c), math.inf, dtype=z.dtype, device=device_of(z))
    mass_inf = xp.full((b, c), math.inf, dtype=mass.dtype, device=device_of(z))
    values, masks, valid = [], [], []
    for _ in range(count):
        level = xp.min(xp.where(remaining, mass, mass_inf), axis=1, keepdims=True)
        candidates = xp.logical_and(remaining, mass == level)
        pick = xp.argmin(xp.where(candidates, z, inf), axis=1, keepdims=True)
        has = xp.any(remaining, axis=1, keepdims=True)
        onehot = xp.logical_and(column == xp.astype(pick, column.dtype), has)
        values.append(masked_sum(xp, onehot, z))
        masks.append(onehot)
        valid.append(has[:, 0])
        remaining = xp.logical_and(remaining, xp.logical_not(onehot))
    return xp.stack(values, axis=1), masks, xp.stack(valid, axis=1)


def _pava_slots(xp, values, valid):
    """Increasing isotonic fit of the valid prefix of every row of ``values`` (B, K)."""
    b, k = values.shape
    dev = device_of(values)
    zero = xp.zeros((b, 1), dtype=values.dtype, device=dev)
    prefix = xp.concat([zero, xp.cumulative_sum(xp.where(valid, values, zero), axis=1)],
                       axis=1)
    a = xp.reshape(xp.arange(k, device=dev), (1, k, 1))
    e = xp.reshape(xp.arange(k, device=dev), (1, 1, k))
    width = xp.astype(e - a + 1, values.dtype)
    mean = (prefix[:, None, 1:] - prefix[:, :k, None]) / xp.where(width > 0, width,
                                                                   xp.ones_like(width))
    usable = xp.logical_and(a <= e, valid[:, None, :])
    inf = xp.full(mean.shape, math.inf, dtype=values.dtype, device=dev)
    fits = []
    for j in range(k):
        lowest_after = xp.min(xp.where(xp.logical_and(usable, e >= j), mean, inf), axis=2)
        fits.append(xp.max(xp.where(a[:, :, 0] <= j, lowest_after, -inf[:, :, 0]), axis=1))
    return xp.stack(fits, axis=1)


def ida_rows(xp, z, mass, method, n_iter):
    """Fit of logits ``z`` (B, c) to the order of ``mass``; method "exact"/"approx"/"shift"."""
    b, c = z.shape
    dev = device_of(z)
    low = xp.min(mass, axis=1, keepdims=True)
    upper = mass > low
    bottom = xp.logical_not(upper)
    count = int(xp.max(xp.sum(xp.astype(upper, xp.int32), axis=1))) if b and c else 0
    if count == 0:
        return z
    if method == "shift":
        return _shift(xp, z, mass, upper, bottom, count)
    values, masks, valid = _upper_slots(xp, z, mass, upper, count)
    fits = _pava_slots(xp, values, valid)
    has_upper = valid[:, 0]
    inf = xp.full(fits.shape, math.inf, dtype=z.dtype, device=dev)
    one = xp.ones((b,), dtype=z.dtype, device=dev)
    in_root = xp.logical_and(valid, fits <= fits[:, :1])
    steps = None if method == "exact" else n_iter
    ones_like_z = xp.ones_like(z)
    start = None
    for _ in range(count):
        root_sum = masked_sum(xp, in_root, values)
        root_w = xp.where(has_upper, masked_sum(xp, in_root, xp.ones_like(values)), one)
        t = variable_fixing(xp, root_sum, root_w, z, z, ones_like_z, bottom, steps, start)
        outside = xp.logical_and(valid, xp.logical_not(in_root))
        following = xp.min(xp.where(outside, fits, inf), axis=1)
        grow = xp.logical_and(has_upper, following < t)
        if not bool(xp.any(grow)):
            break
        in_root = xp.logical_or(
            in_root, xp.logical_and(xp.logical_and(valid, fits <= following[:, None]),
                                    grow[:, None]))
        if method == "exact":
            # Rows that did not grow keep their exact t (a fixed point: no further step);
            # grown rows restart from their new root's mean, a lower bound again.
            new_mean = masked_sum(xp, in_root, values) / xp.where(
                has_upper, masked_sum(xp, in_root, xp.ones_like(values)), one)
            start = xp.where(grow, new_mean, t)
    t_column = t[:, None]
    fit = xp.where(xp.logical_and(bottom, has_upper[:, None]), xp.minimum(z, t_column), z)
    slot_values = xp.where(in_root, xp.broadcast_to(t_column, fits.shape), fits)
    for j, onehot in enumerate(masks):
        fit = xp.where(onehot, slot_values[:, j:j + 1], fit)
    return fit


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
