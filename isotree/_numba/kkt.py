"""The O(n) optimality certificate of a tree fit (orientation fit[parent] >= fit[child]).

The fit x is optimal iff it is feasible and the multiplier of every edge (parent(i), i),
R_i = sum over the subtree of i of w_u (y_u - x_u), satisfies R_i >= 0 (dual feasibility),
R_i = 0 where x_parent(i) > x_i (complementary slackness), and R_root = 0 at every root
(stationarity there). See Robertson, Wright & Dykstra, "Order Restricted Statistical
Inference" (1988), section 1.3.
"""

import numpy as np

from ._jit import jit


@jit
def kkt_row(parent, y, w, fit, residual, value_scale, mass_scale):
    """Return the largest relative violation of any condition for one row (preorder numbering).

    Order violations are divided by ``value_scale``, multipliers by ``mass_scale``. On an
    edge with gap g > 0 and multiplier R != 0 the violation is min(|R|, g) (relative): a fit
    from another solver whose block values differ by round-off is not penalised, while a
    real violation makes both large. ``residual`` is scratch of length n.
    """
    n = parent.shape[0]
    for v in range(n):
        residual[v] = w[v] * (y[v] - fit[v])
    worst = 0.0
    for v in range(n - 1, -1, -1):
        r = residual[v] / mass_scale
        p = parent[v]
        if p < 0:
            worst = max(worst, abs(r))
            continue
        residual[p] += residual[v]
        gap = (fit[p] - fit[v]) / value_scale
        worst = max(worst, -gap, -r, min(abs(r), gap))
    return worst


@jit
def kkt_rows(parent, y, w, fit, value_scale, mass_scale):
    """The largest violation over the rows of ``y`` and ``fit`` (m, n)."""
    m, n = y.shape
    shared_w = w.shape[0] == 1
    residual = np.empty(n)
    worst = 0.0
    for r in range(m):
        worst = max(worst, kkt_row(parent, y[r], w[0] if shared_w else w[r], fit[r],
                                   residual, value_scale, mass_scale))
    return worst
