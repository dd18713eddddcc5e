"""An independent, slow, exact oracle for isotonic regression on any partial order.

Used by the test suite and available to users who want to check a solver of their own.
"""

import numpy as np
from scipy.optimize import lsq_linear, nnls
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from . import _validate as v

__all__ = ["qp_isotonic"]


def qp_isotonic(y, edges, weights=None, *, tol=1e-9):
    r"""Exact weighted least-squares fit under ``fit[u] >= fit[v]`` for every edge, any DAG.

    The dual of

    .. math::

        \min_f \tfrac12 \sum_i w_i (f_i - y_i)^2 \quad\text{s.t.}\quad f_u \ge f_v
        \text{ for } (u, v) \in E

    is a non-negative least-squares problem in the edge multipliers :math:`\lambda`:
    :math:`\min_{\lambda \ge 0} \| W^{-1/2} D^T \lambda - W^{1/2} y \|` with :math:`D` the
    edge-node incidence matrix (row :math:`e_v - e_u`), and :math:`f = y - W^{-1} D^T
    \lambda`. It is solved by :func:`scipy.optimize.nnls` on centred, scaled data, or, if
    that answer fails its check (``nnls`` is known to stop early on a few problems), by
    bounded-variable least squares (:func:`scipy.optimize.lsq_linear`, ``"bvls"``).

    The answer is then *polished*: the edges with a positive multiplier define the blocks,
    the fit is set to the exact weighted block means, and that fit is certified from
    scratch (feasible, and multipliers on the in-block edges that solve the stationarity
    equations and are >= 0). The certified fit is exact up to round-off even where the
    NNLS multipliers are only accurate to 1e-8 (skewed weights make the dual
    ill-conditioned). If polishing fails, the NNLS fit itself is returned when it passes
    the optimality check.

    Parameters
    ----------
    y : array-like of shape (n,)
        The values.
    edges : array-like of int of shape (m, 2)
        Pairs ``(u, v)`` meaning ``fit[u] >= fit[v]``. Need not be a tree; must not imply
        a contradiction other than equalities (a directed cycle forces equal values).
    weights : array-like of shape (n,), default=None
        Positive weights; default all ones.
    tol : float, default=1e-9
        Relative tolerance of the self-check.

    Returns
    -------
    ndarray of float64 of shape (n,)
        The fit.

    Raises
    ------
    RuntimeError
        If neither solver returns an answer that passes the check.

    Notes
    -----
    Dense: O(n m) memory and roughly cubic time. Meant for n up to a few hundred.

    Examples
    --------
    >>> from isotree.testing import qp_isotonic
    >>> qp_isotonic([1.0, 3.0, 2.0], edges=[(1, 0), (2, 1)])  # fit[0] <= fit[1] <= fit[2]
    array([1. , 2.5, 2.5])
    """
    y64, _, _ = v.check_values(y)
    if y64.ndim != 1:
        raise ValueError(f"y must be one-dimensional; got shape {y64.shape}")
    n = y64.shape[0]
    w64, _ = v.check_weights(weights, y64.shape, 0)
    w = np.ones(n) if w64 is None else w64
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"edges must hold node indices in [0, {n})")
    if edges.shape[0] == 0 or n == 0:
        return y64.copy()
    centre = float(np.sum(w * y64) / np.sum(w))
    scale = float(np.abs(y64 - centre).max()) or 1.0
    z = (y64 - centre) / scale
    m = edges.shape[0]
    rows = np.arange(m)
    incidence = np.zeros((m, n))
    incidence[rows, edges[:, 1]] += 1.0
    incidence[rows, edges[:, 0]] -= 1.0
    a = incidence.T / np.sqrt(w)[:, None]
    b = np.sqrt(w) * z

    def fit_of(lam):
        return z - (incidence.T @ lam) / w

    def passes(lam):
        gradient = a.T @ (a @ lam - b)
        size = max(1.0, float(np.abs(b).max()))
        f = fit_of(lam)
        return (lam.min() >= -tol
                and gradient.min() >= -tol * size
                and float(np.abs(lam * gradient).max()) <= tol * size * max(1.0, lam.max())
                and float((incidence @ f).max()) <= tol * 10)

    def polished(lam):
        """Block means of the partition the positive multipliers define, if certified."""
        tight = lam > 0
        graph = coo_matrix((np.ones(int(tight.sum())), (edges[tight, 0], edges[tight, 1])),
                           shape=(n, n))
        _, block = connected_components(graph, directed=False)
        means = np.bincount(block, w * z) / np.bincount(block, w)
        f = means[block]
        if float((incidence @ f).max()) > tol:
            return None
        target = w * (z - f)  # = D^T lambda at the optimum, supported on in-block edges
        if not tight.any():
            return f if float(np.abs(target).max()) <= tol else None
        mu = np.linalg.lstsq(incidence[tight].T, target, rcond=None)[0]
        size = max(1.0, float(np.abs(mu).max()))
        residual = float(np.abs(incidence[tight].T @ mu - target).max())
        if residual > tol * size or mu.min() < -tol * size:
            return None
        return f

    lam, _ = nnls(a, b, maxiter=50 * max(m, n))
    if not passes(lam):
        lam = lsq_linear(a, b, bounds=(0.0, np.inf), method="bvls", tol=1e-15).x
        lam = np.maximum(lam, 0.0)
    fit = polished(lam)
    if fit is None:
        if not passes(lam):
            raise RuntimeError("qp_isotonic: neither nnls nor bvls passed the optimality check")
        fit = fit_of(lam)
    return centre + scale * fit
