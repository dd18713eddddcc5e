"""Shared helpers for the autodiff adapters: the block-average Jacobian.

Inside a fixed block partition the fit is f_i = sum_{j in B(i)} w_j y_j / W_B(i), so

    d f_i / d y_j = w_j / W_B    and    d f_i / d w_j = (y_j - f_B) / W_B

for i, j in one block B and 0 otherwise. The vector-Jacobian product of an incoming
gradient g therefore needs only the per-block sums G_B = sum_{i in B} g_i and W_B:

    grad y_j = w_j G_B / W_B,    grad w_j = (y_j - f_B) G_B / W_B.

The blocks come from the solver's labels, never from equal fitted values (two blocks can
share a value). Entries fitted to a bound (``y_min``/``y_max``) have a zero derivative:
the adapters zero their incoming gradient first.
"""

from .solvers import TIES


def differentiable_ties(ties):
    """Tertiary ties keep offsets inside a block: that Jacobian is not a block average."""
    if ties == "tertiary":
        raise NotImplementedError(
            "gradients of ties='tertiary' are not implemented; use 'primary' or 'secondary'")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {', '.join(map(repr, TIES))}; got {ties!r}")
