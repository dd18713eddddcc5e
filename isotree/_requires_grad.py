"""A warning for tensors that require a gradient but reach a NumPy-level solver.

Kept free of isotree imports so that :mod:`isotree.solvers` and :mod:`isotree.ida` can call
it without an import cycle.
"""

import warnings


def warn_if_requires_grad(function, *arrays):
    """Warn when a PyTorch tensor that requires a gradient reaches the NumPy-level
    ``isotree.<function>`` (its result carries no ``grad_fn``). Cheap: it reads one
    attribute per argument. Call it first thing in the public solvers, e.g.
    ``warn_if_requires_grad("isotonic_regression", y, weights)``."""
    if not any(getattr(a, "requires_grad", False) is True for a in arrays):
        return
    import torch

    if torch.is_grad_enabled():
        name = function.rsplit(".", 1)[-1]
        warnings.warn(f"isotree.{function} returns a tensor without a gradient although its "
                      f"input requires grad; use isotree.torch.{name} to differentiate it",
                      UserWarning, stacklevel=3)
