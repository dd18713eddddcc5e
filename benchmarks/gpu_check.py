"""One script for a machine with an NVIDIA GPU: the GPU tests, then the GPU benchmark.

Run:  python benchmarks/gpu_check.py [RESULTS_DIR]      (default: $OUT or benchmarks/results)
Writes gpu_results.md there (GPU model, library versions, pytest summary, timings) and
prints it. Budget: well under 4 minutes on one H100.

Benchmark (float32, two-label Mixup, synthetic teacher 4 * mass + N(0, 1)): IDA exact and
approx (n_iter=2) at B = 4096, c in {100, 1000, 32768} on PyTorch CUDA tensors (and CuPy when
installed), against torch.sort of the same tensor (targets: exact <= 1.0x, approx <= 0.3x
of the sort); and the star on one row of 10^7.
"""

import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cuda_time(func, sync, repeat=5):
    func()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        sync()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "OUT", os.path.join(HERE, "results"))
    os.makedirs(out_dir, exist_ok=True)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    sys.path.insert(0, ROOT)
    import torch

    import isotree
    from isotree.ida import isotonic_logits, mixup_mass

    say(f"# isotree GPU check\n\nGPU: {torch.cuda.get_device_name(0)}; torch "
        f"{torch.__version__} (CUDA {torch.version.cuda}); isotree {isotree.__version__}; "
        f"numpy {np.__version__}")
    try:
        import cupy

        say(f"cupy {cupy.__version__}")
    except ImportError:
        cupy = None
        say("cupy: not installed")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_array_api.py"], cwd=ROOT, capture_output=True,
                           text=True, timeout=150)
    say("\n## Tests (tests/test_array_api.py, GPU cases included)\n\n```\n"
        + "\n".join(tests.stdout.strip().splitlines()[-6:]) + "\n```")

    sync = torch.cuda.synchronize
    rng = np.random.default_rng(0)
    say("\n## IDA, B = 4096, float32, PyTorch CUDA tensors\n")
    say("| c | torch.sort | exact | exact / sort | approx n_iter=2 | approx / sort | "
        "max abs err vs CPU exact |")
    say("|---|---|---|---|---|---|---|")
    for classes in (100, 1000, 32768):
        batch = 4096
        a = rng.integers(0, classes, batch)
        b = (a + rng.integers(1, classes, batch)) % classes
        mass = mixup_mass(a, b, rng.beta(1.0, 1.0, batch), classes).astype(np.float32)
        logits = (4.0 * mass + rng.normal(size=(batch, classes))).astype(np.float32)
        z = torch.from_numpy(logits).cuda()
        m = torch.from_numpy(mass).cuda()
        sort = cuda_time(lambda: torch.sort(z, dim=1), sync)
        exact = cuda_time(lambda: isotonic_logits(z, m), sync, repeat=3)
        approx = cuda_time(lambda: isotonic_logits(z, m, method="approx", n_iter=2), sync,
                           repeat=3)
        error = float(np.abs(isotonic_logits(z, m).cpu().numpy()
                             - isotonic_logits(logits, mass)).max())
        say(f"| {classes} | {sort * 1e3:.2f} ms | {exact * 1e3:.2f} ms | {exact / sort:.2f} | "
            f"{approx * 1e3:.2f} ms | {approx / sort:.2f} | {error:.1e} |")
    say("\n## Star, one row of 10^7, float32\n")
    y = rng.normal(size=10_000_000).astype(np.float32)
    y_gpu = torch.from_numpy(y).cuda()
    star = cuda_time(lambda: isotree.star_isotonic_regression(y_gpu, 0), sync)
    sort = cuda_time(lambda: torch.sort(y_gpu), sync)
    cpu_start = time.perf_counter()
    expected = isotree.star_isotonic_regression(y, 0)
    cpu = time.perf_counter() - cpu_start
    error = float(np.abs(isotree.star_isotonic_regression(y_gpu, 0).cpu().numpy()
                         - expected).max())
    say(f"torch CUDA: {star * 1e3:.2f} ms; torch.sort {sort * 1e3:.2f} ms "
        f"(ratio {star / sort:.2f}); Numba on the host CPU {cpu * 1e3:.1f} ms; "
        f"max abs err {error:.1e}")
    if cupy is not None:
        y_cp = cupy.asarray(y)
        star_cp = cuda_time(lambda: isotree.star_isotonic_regression(y_cp, 0),
                            cupy.cuda.Device().synchronize)
        say(f"CuPy: {star_cp * 1e3:.2f} ms")
    with open(os.path.join(out_dir, "gpu_results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
