"""Autodiff adapters: backward against forward time (PyTorch) and jax.grad against jaxopt.

The PyTorch backward is timed twice: the first-order CPU backward (one compiled pass,
isotree._numba.vjp) and the same backward in PyTorch operations (what double backward,
forward mode and torch.func run; forced here with create_graph=True), which is the measured
reason the compiled pass is kept.

Run:  pip install -e ".[bench,torch,jax]" jaxopt && python benchmarks/bench_autodiff.py
Medians of >= 5 runs, same data, same run.
"""

import os
import platform

import numpy as np
from _timing import median_time, print_table


def torch_rows(rng):
    import torch

    import isotree.torch as itorch
    from isotree.ida import mixup_mass

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    rows = []
    batch, c = 256, 100
    mass = torch.as_tensor(mixup_mass(rng.integers(0, c, batch), rng.integers(0, c, batch),
                                      rng.uniform(0, 1, batch), c))
    logits = (3 * mass + torch.randn(batch, c, dtype=torch.float64)).requires_grad_()
    chain_y = torch.randn(batch, c, dtype=torch.float64).cumsum(1).requires_grad_()
    chain_w = torch.rand(c, dtype=torch.float64).add(0.5).requires_grad_()
    n = 100_000
    parent = np.concatenate([[-1], (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)])
    import isotree

    tree = isotree.Tree(parent)
    tree_y = torch.randn(n, dtype=torch.float64).requires_grad_()
    tree_w = torch.rand(n, dtype=torch.float64).add(0.5).requires_grad_()
    cases = {  # name: (forward, the inputs it differentiates)
        "isotonic_logits exact, B=256 c=100": (
            lambda: itorch.isotonic_logits(logits, mass), (logits,)),
        "isotonic_regression (chains), B=256 n=100, y and w": (
            lambda: itorch.isotonic_regression(chain_y, weights=chain_w), (chain_y, chain_w)),
        "tree_isotonic_regression, n=1e5, y and w": (
            lambda: itorch.tree_isotonic_regression(tree_y, tree, weights=tree_w),
            (tree_y, tree_w)),
    }
    for name, (forward, inputs) in cases.items():
        forward_time = median_time(forward, repeat=9)
        out = forward()
        grad = torch.ones_like(out)

        def backward(create_graph):
            torch.autograd.grad(out, inputs, grad, retain_graph=True,
                                create_graph=create_graph)

        compiled = median_time(lambda: backward(False), repeat=9)
        framework = median_time(lambda: backward(True), repeat=9)
        rows.append([f"torch: {name}", f"{forward_time * 1e3:.2f} ms",
                     f"{compiled * 1e3:.2f} ms", f"{framework * 1e3:.2f} ms",
                     f"{compiled / forward_time:.2f}"])
    return rows


def jax_rows(rng):
    import jax
    import jax.numpy as jnp

    import isotree.jax as ijax

    n = 10_000
    y = jnp.asarray(rng.normal(size=n).cumsum() * 0.1 + rng.normal(size=n))
    ours = jax.jit(jax.grad(lambda y: jnp.sum(ijax.isotonic_regression(y) * jnp.arange(n))))
    ours(y).block_until_ready()
    ours_time = median_time(lambda: ours(y).block_until_ready())
    try:
        from jaxopt.isotonic import isotonic_l2_pav

        theirs = jax.jit(jax.grad(lambda y: jnp.sum(isotonic_l2_pav(y) * jnp.arange(n))))
        theirs(y).block_until_ready()
        theirs_time = median_time(lambda: theirs(y).block_until_ready())
        peer = f"{theirs_time * 1e3:.1f} ms"
        ratio = f"{ours_time / theirs_time:.3f}"
    except Exception as error:  # jaxopt is unmaintained; report why it did not run
        peer = f"jaxopt fails: {type(error).__name__}"
        ratio = "n/a"
    return [["jax.grad (jit) of a 1e4 chain", f"{ours_time * 1e3:.2f} ms", peer, ratio, ""]]


def main():
    rng = np.random.default_rng(5)
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print_table(torch_rows(rng), ["case", "forward", "backward (compiled)",
                                  "backward (PyTorch ops)", "backward / forward"])
    print()
    print_table(jax_rows(rng), ["case", "isotree", "jaxopt isotonic_l2_pav", "ratio", ""])


if __name__ == "__main__":
    main()
