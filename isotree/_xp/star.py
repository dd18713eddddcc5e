"""The star on any array library: variable fixing (Michelot 1986; Condat 2016).

Orientation: the root is the maximum (the caller negates y for the other one). Start from
t = the root's value, a lower bound of the exact threshold; each step pools the leaves above
t and takes the mean of the root and them. From a lower bound the step stays a lower bound
and never falls, so every iterate, with the leaves clipped at t, is feasible; the pooled set
only shrinks, and when it stops changing t is exact (at most n steps, usually a handful).
Each step is one masked reduction per row.
"""

from .common import device_of, masked_sum


def variable_fixing(xp, root_sum, root_w, y, wy, w, candidates, n_iter=None, start=None):
    """The star threshold per row: t <- (root_sum + sum of wy over {candidates, y > t}) /
    (root_w + sum of w over the same set), from ``start`` or the root's mean.

    ``n_iter=None`` iterates until no row's t changes (exact); an integer stops after that
    many steps (every iterate is a lower bound of the exact t).
    """
    t = root_sum / root_w if start is None else start
    steps = y.shape[1] + 1 if n_iter is None else n_iter
    for _ in range(steps):
        pooled = xp.logical_and(candidates, y > t[:, None])
        t_next = (root_sum + masked_sum(xp, pooled, wy)) / (root_w + masked_sum(xp, pooled, w))
        converged = n_iter is None and not bool(xp.any(t_next != t))
        t = t_next
        if converged:
            break
    return t


def star_rows(xp, y, w, root, *, n_iter=None):
    """Fit rows ``y`` (m, n) with roots ``root`` (m,); ``w`` is (m or 1, n), same dtype.

    ``n_iter=None`` iterates to convergence (exact); an integer stops after that many steps.
    Returns ``(fit, labels)`` (labels: the root for the pooled entries, else the entry).
    """
    m, n = y.shape
    column = xp.reshape(xp.arange(n, device=device_of(y)), (1, n))
    is_root = column == xp.reshape(xp.astype(root, column.dtype), (m, 1))
    leaf = xp.logical_not(is_root)
    w = xp.broadcast_to(w, (m, n))
    wy = w * y
    t = variable_fixing(xp, masked_sum(xp, is_root, wy), masked_sum(xp, is_root, w), y, wy,
                        w, leaf, n_iter)
    pooled = xp.logical_or(is_root, xp.logical_and(leaf, y > t[:, None]))
    fit = xp.where(is_root, xp.broadcast_to(t[:, None], (m, n)), xp.minimum(y, t[:, None]))
    labels = xp.where(pooled, xp.broadcast_to(xp.reshape(xp.astype(root, column.dtype),
                                                         (m, 1)), (m, n)),
                      xp.broadcast_to(column, (m, n)))
    return fit, labels
