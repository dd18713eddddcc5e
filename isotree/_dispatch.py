"""Where a validated problem runs, decided once per call, and the moves there and back.

- NumPy arrays, Python sequences and scalars: the host engine (:mod:`isotree._engine`).
- Arrays of another library on a CUDA device, for the solvers that have CUDA kernels (chains
  and predictor orders with primary ties, the star, IDA's exact and approximate fits), when
  ``numba.cuda`` can compile and launch there: the kernels of :mod:`isotree._cuda`, which
  read the arrays where they live and return the results on the same device.
- Every other array of another library (PyTorch and JAX arrays in host memory, trees, DAGs
  and certificates of CUDA arrays, ``array_api_strict``, devices without CUDA kernels): one
  transfer to NumPy (none for host memory), the host engine, one transfer back to the
  library and device of the input. On a CPU this beats array-library code by one to three
  orders of magnitude (measured in the GPU guide, docs/gpu.rst), so no second copy of the
  algorithms runs there.

Results keep the input's library, device and float dtype (bfloat16, which NumPy lacks, is
computed in float32 and returned as bfloat16); block labels are int64.
"""

import functools
import warnings

from ._bridge import bridge_of
from ._engine import certificate, chain, dag, ida, star, tree

# The host engine's entry point for every kind of problem: (options, *arrays) -> result.
HOST = {
    "chain": chain.solve,
    "tree": tree.solve,
    "star": star.solve,
    "logits": ida.solve,
    "tree certificate": certificate.tree,
    "dag": dag.solve,
    "grid": dag.grid,
    "dag certificate": certificate.dag,
    "order statistics": ida.statistics,
}

# Kinds whose result is a number, not a fit: nothing a gradient could flow through.
_MEASURES = {"tree certificate", "dag certificate", "order statistics"}

# Public NumPy-level functions that have a differentiable version in the adapters.
_DIFFERENTIABLE = {"isotonic_regression", "tree_isotonic_regression",
                   "star_isotonic_regression", "ida.isotonic_logits"}

#: Set to False to send CUDA arrays through the host instead of the CUDA kernels (the GPU
#: benchmark compares the two).
USE_CUDA_KERNELS = True


def run(kind, options, *arrays, public):
    """Solve problem ``kind`` (a key of :data:`HOST`) with validated ``options`` on
    ``arrays`` wherever they live; ``public`` names the NumPy-level function called (for
    messages), or is None when an adapter calls."""
    bridge = bridge_of(*arrays)
    if bridge is None:
        return HOST[kind](options, *arrays)
    if public is None:  # an adapter: validated, nothing to refuse or warn about
        host = bridge.host_views(arrays)
        if host is not None:  # host memory, where every array would go anyway
            views, like = host
            return bridge.result_from_host(HOST[kind](options, *views), like)
    foreign = [a for a in arrays if bridge.is_array(a)]
    if public is not None:
        _refuse_traced(bridge, foreign, public)
        if kind not in _MEASURES and bridge.watched(*foreign):
            _warn_no_gradient(public)
    if USE_CUDA_KERNELS and all(bridge.on_cuda(a) for a in foreign):
        from ._cuda import solve as cuda

        if cuda.solves(kind, options, bridge, arrays):
            try:
                return cuda.run(kind, options, bridge, arrays)
            except cuda.NeedsHost:
                pass
    # On the host: the arrays of the library as NumPy arrays (no copy for host memory),
    # the result back to the library and device of the first of them.
    host = [bridge.to_host(a) if bridge.is_array(a) else a for a in arrays]
    return bridge.result_from_host(HOST[kind](options, *host), foreign[0])


def _refuse_traced(bridge, arrays, public):
    if not any(bridge.traced(a) for a in arrays):
        return
    name = public.rsplit(".", 1)[-1]
    hint = (f"; under jit, vmap or grad use isotree.jax.{name} (isotree.torch.{name} in "
            f"PyTorch)" if public in _DIFFERENTIABLE else
            "; call it outside the transform (there is no differentiable version)")
    raise TypeError(f"isotree.{public} runs on the host and needs concrete arrays, not "
                    f"traced or transformed ones{hint}")


@functools.cache
def _hint(public):
    name = public.rsplit(".", 1)[-1]
    if public in _DIFFERENTIABLE:
        return f"use isotree.torch.{name} to differentiate it"
    return "it has no differentiable version"


def _warn_no_gradient(public):
    warnings.warn(f"isotree.{public} returns a tensor without a gradient although its input "
                  f"requires grad; {_hint(public)}", UserWarning, stacklevel=4)
