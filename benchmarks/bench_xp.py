"""The array-API path on the CPU: IDA through PyTorch tensors and the NumPy namespace,
against the Numba path and the vectorised NumPy sort baseline (same data, same run).

Run:  pip install -e ".[bench,torch]" && python benchmarks/bench_xp.py
"""

import os
import platform

import numpy as np

import isotree
from _timing import median_time, print_table
from bench_ida import numpy_two_label_baseline
from isotree.ida import isotonic_logits, mixup_mass

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    import array_api_compat
    import torch

    from isotree._xp import api

    rng = np.random.default_rng(7)
    batch, classes = 1024, 1000
    a = rng.integers(0, classes, batch)
    b = (a + rng.integers(1, classes, batch)) % classes
    mass = mixup_mass(a, b, rng.uniform(0.55, 0.95, batch), classes).astype(np.float32)
    logits = (4.0 * mass + rng.normal(size=(batch, classes))).astype(np.float32)
    t_logits, t_mass = torch.from_numpy(logits), torch.from_numpy(mass)
    xp_numpy = array_api_compat.array_namespace(logits)
    xp_torch = array_api_compat.array_namespace(t_logits)
    exact = isotonic_logits(logits, mass)
    np.testing.assert_allclose(isotonic_logits(t_logits, t_mass).numpy(), exact, rtol=1e-5,
                               atol=1e-5)
    cases = {
        "Numba (NumPy arrays)": lambda: isotonic_logits(logits, mass),
        "torch CPU tensors, public API (Numba on a NumPy view)": lambda: isotonic_logits(
            t_logits, t_mass),
        "array-API path, torch namespace": lambda: api.logits(xp_torch, t_logits, t_mass,
                                                              "exact", None, False),
        "array-API path, NumPy namespace": lambda: api.logits(xp_numpy, logits, mass, "exact",
                                                              None, False),
        "vectorised NumPy sort baseline": lambda: numpy_two_label_baseline(logits, a, b),
    }
    approx = {
        "Numba (NumPy arrays)": lambda: isotonic_logits(logits, mass, method="approx",
                                                        n_iter=2),
        "array-API path, torch namespace": lambda: api.logits(xp_torch, t_logits, t_mass,
                                                              "approx", 2, False),
    }
    reference = median_time(cases["Numba (NumPy arrays)"])
    rows = []
    for name, func in cases.items():
        took = median_time(func)
        rows.append(["exact", name, f"{took * 1e3:.2f} ms", f"{took / reference:.2f}"])
    for name, func in approx.items():
        took = median_time(func)
        rows.append(["approx n_iter=2", name, f"{took * 1e3:.2f} ms",
                     f"{took / reference:.2f}"])
    print(f"isotree {isotree.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
          f"python {platform.python_version()}, {os.cpu_count()} cores; IDA B=1024 c=1000 "
          "float32, two-label Mixup")
    print_table(rows, ["method", "path", "time", "ratio to Numba exact"])


if __name__ == "__main__":
    main()
