"""One prepared script for a machine with an NVIDIA GPU: the GPU tests, then the GPU figures.

Run:  python benchmarks/gpu_check.py [--out DIR]      (default: $OUT, else benchmarks/results)
      python benchmarks/gpu_check.py --dry-run --out DIR   (no GPU: tiny sizes, the CUDA
                                                            kernels under Numba's simulator)

Needs PyTorch with CUDA and a ``numba.cuda`` that can launch (in the clone, ``pip install
-e ".[test,cuda]"`` brings pytest and NVIDIA's numba-cuda). Writes ``gpu_results.md`` and
``gpu_results.json`` to DIR and prints the report. Budget: under 4 minutes on one H200
(most of it the tests and the kernels' first compilation).

What it measures, all float32 on PyTorch CUDA tensors, each against something on the same
tensor in the same run:

* the GPU tests (``tests/test_gpu_kernels.py``: kernels against Numba and the QP oracle,
  public functions keeping arrays and block labels on the device, torch gradients on CUDA);
* IDA exact and approx (``n_iter=2``), two-label Mixup, B = 4096, c in {100, 1000, 32768},
  against ``torch.sort`` of the same logits (targets: exact <= 1.0x, approx <= 0.3x), and
  the host round trip;
* chains, 4096 x 1000: the PAVA kernel against a torchsort-style PAVA (one thread per row,
  row-major, float32 sums; written below) and against a host round trip (copy to the host,
  Numba, copy back); the same for one row of 10^6 (one thread per row is the kernel's weak
  spot);
* the star on one row of 10^7 against ``torch.sort`` and the host round trip;
* a ``kd_loss`` training step (256 x 100, a small MLP) on CUDA tensors with ``ida="exact"``
  against ``ida=None``, eager and under ``torch.compile``.

Errors are the largest absolute difference from the Numba kernels on the same data.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SIZES = {  # real run, dry run
    "ida_batch": (4096, 4), "ida_classes": ((100, 1000, 32768), (10, 40)),
    "chain": (((4096, 1000), (1, 1_000_000)), ((8, 50), (1, 200))),
    "star": (10_000_000, 100), "repeat": (5, 1),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="no GPU: tiny sizes, kernels under Numba's CUDA simulator")
    parser.add_argument("--out", default=os.environ.get("OUT", os.path.join(HERE, "results")),
                        help="folder for gpu_results.md and gpu_results.json")
    parser.add_argument("--skip-tests", action="store_true", help="figures only")
    return parser.parse_args(argv)


class Device:
    """Where the arrays live and how the kernels are reached: PyTorch CUDA tensors through
    the public functions, or (dry run) NumPy arrays through the CUDA solvers of
    :mod:`isotree._cuda.solve` under the simulator."""

    def __init__(self, dry_run):
        import numpy as np
        import torch

        from isotree._bridge import NUMPY, known

        self.dry_run = dry_run
        self.np, self.torch = np, torch
        if dry_run:
            self.bridge = NUMPY
            self.name = "none (dry run: Numba's CUDA simulator on the CPU; timings mean nothing)"
        else:
            if not torch.cuda.is_available():
                sys.exit("gpu_check.py needs PyTorch with a CUDA device (or --dry-run)")
            self.bridge = known("torch")
            self.name = torch.cuda.get_device_name(0)

    def put(self, a):
        return a if self.dry_run else self.torch.from_numpy(a).cuda()

    def host(self, a):
        return a if self.dry_run else a.cpu().numpy()

    def sync(self):
        if not self.dry_run:
            self.torch.cuda.synchronize()

    def sort(self, a):
        return self.np.sort(a, axis=-1) if self.dry_run else self.torch.sort(a, dim=-1)

    def logits(self, z, m, method="exact", n_iter=None):
        from isotree import _options as opt
        from isotree._cuda import solve
        from isotree.ida import isotonic_logits

        if self.dry_run:
            options = opt.logits(method=method, n_iter=n_iter)
            return solve.logits(self.bridge, options, z, m)
        return isotonic_logits(z, m, method=method, n_iter=n_iter)

    def chain(self, y):
        import isotree
        from isotree import _options as opt
        from isotree._cuda import solve

        if self.dry_run:
            return solve.chain(self.bridge, opt.chain(has_x=False), y, None, None)
        return isotree.isotonic_regression(y)

    def star(self, y):
        import isotree
        from isotree import _options as opt
        from isotree._cuda import solve

        if self.dry_run:
            return solve.star(self.bridge, opt.star(), y, 0, None)
        return isotree.star_isotonic_regression(y, 0)

    def timed(self, func, repeat):
        """(median seconds, first-call seconds): the first call includes compilation."""
        start = time.perf_counter()
        func()
        self.sync()
        first = time.perf_counter() - start
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            func()
            self.sync()
            times.append(time.perf_counter() - start)
        return float(self.np.median(times)), first


def torchsort_style_chain(device, y):
    """A PAVA in the manner of torchsort's CUDA isotonic kernel, for comparison: one thread
    per row, rows read in place (row-major), sums in the input's float32, no block labels,
    no scaling. Written here with numba.cuda; torchsort itself needs a compiled extension."""
    global cuda, float32  # module globals: the simulator swaps them inside kernels
    from numba import cuda, float32

    if not hasattr(torchsort_style_chain, "kernel"):
        @cuda.jit
        def kernel(y, sol, sums, counts, targets):
            r = cuda.grid(1)
            if r >= y.shape[0]:
                return
            n = y.shape[1]
            blocks = 0
            for i in range(n):
                sums[r, blocks] = y[r, i]
                counts[r, blocks] = float32(1.0)
                targets[r, blocks] = i
                blocks += 1
                while blocks > 1 and (sums[r, blocks - 2] / counts[r, blocks - 2]
                                      > sums[r, blocks - 1] / counts[r, blocks - 1]):
                    sums[r, blocks - 2] += sums[r, blocks - 1]
                    counts[r, blocks - 2] += counts[r, blocks - 1]
                    blocks -= 1
            stop = n
            for b in range(blocks - 1, -1, -1):
                value = sums[r, b] / counts[r, b]
                for i in range(targets[r, b], stop):
                    sol[r, i] = value
                stop = targets[r, b]

        torchsort_style_chain.kernel = kernel
    like = device.torch if not device.dry_run else device.np
    if device.dry_run:
        sol, sums, counts = (device.np.empty_like(y) for _ in range(3))
        targets = device.np.empty(y.shape, dtype=device.np.int32)
    else:
        sol, sums, counts = (like.empty_like(y) for _ in range(3))
        targets = like.empty(y.shape, dtype=like.int32, device=y.device)
    rows = y.shape[0]
    torchsort_style_chain.kernel[(rows + 63) // 64, 64](y, sol, sums, counts, targets)
    return sol


def kd_step(say, torch, repeat):
    """A training step on CUDA tensors: a small MLP student distilled with kd_loss, with
    ida="exact" against ida=None, eager and compiled (256 x 100 and 4096 x 1000)."""
    import isotree.torch as itorch
    from isotree.ida import mixup_mass

    say("\n## kd_loss training step on CUDA tensors\n")
    say("| batch x classes | mode | ida=None | ida='exact' | added per step |")
    say("|---|---|---|---|---|")
    rows = []
    rng = __import__("numpy").random.default_rng(3)
    for b, c in ((256, 100), (4096, 1000)):
        mass = torch.as_tensor(mixup_mass(rng.integers(0, c, b), rng.integers(0, c, b),
                                          rng.uniform(0, 1, b), c),
                               dtype=torch.float32, device="cuda")
        x, teacher = torch.randn(b, 128, device="cuda"), torch.randn(b, c, device="cuda")
        for compiled in (False, True):
            times = {}
            for ida in (None, "exact"):
                torch.manual_seed(0)
                model = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(),
                                            torch.nn.Linear(256, c)).cuda()
                optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

                def step(model=model, optimizer=optimizer, ida=ida):
                    optimizer.zero_grad()
                    itorch.kd_loss(model(x), teacher, mass, ida=ida).backward()
                    optimizer.step()

                run = torch.compile(step) if compiled else step
                for _ in range(3):
                    run()
                torch.cuda.synchronize()
                samples = []
                for _ in range(max(repeat, 20)):
                    start = time.perf_counter()
                    run()
                    torch.cuda.synchronize()
                    samples.append(time.perf_counter() - start)
                times[str(ida)] = sorted(samples)[len(samples) // 2]
            mode = "compiled" if compiled else "eager"
            added = (times["exact"] - times["None"]) * 1e3
            rows.append(dict(batch=b, classes=c, mode=mode, none_ms=times["None"] * 1e3,
                             exact_ms=times["exact"] * 1e3, added_ms=added))
            say(f"| {b} x {c} | {mode} | {times['None'] * 1e3:.3f} ms | "
                f"{times['exact'] * 1e3:.3f} ms | {added:.3f} ms |")
    return rows


def host_round_trip(device, solve, a):
    """Copy to the host, solve with Numba, copy back."""
    return device.put(solve(device.host(a)))


def run_tests(say):
    say("\n## GPU tests\n")
    this = "tests/test_gpu_kernels.py"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", this,
               "--deselect", f"{this}::test_gpu_check_dry_run"]  # this script, on the CPU
    try:
        tests = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=150)
        lines = tests.stdout.strip().splitlines()
        say("```\n" + "\n".join(lines[-12:]) + "\n```")
        return lines[-1] if lines else tests.stderr[-500:]
    except subprocess.TimeoutExpired:
        say("tests did not finish within 150 s")
        return "timeout"


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")  # before numba.cuda is imported
    sys.path.insert(0, ROOT)
    import numpy as np

    import isotree
    from isotree import _dispatch
    from isotree._cuda import launch
    from isotree.ida import isotonic_logits, mixup_mass

    device = Device(args.dry_run)
    pick = 1 if args.dry_run else 0
    repeat = SIZES["repeat"][pick]
    os.makedirs(args.out, exist_ok=True)
    lines, record = [], {}

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    import numba
    import torch

    versions = {"isotree": isotree.__version__, "numpy": np.__version__,
                "numba": numba.__version__, "torch": torch.__version__,
                "cuda (torch)": torch.version.cuda, "python": platform.python_version()}
    try:
        from numba import cuda

        versions["numba.cuda"] = getattr(cuda, "implementation", "built-in")
    except ImportError:
        versions["numba.cuda"] = "missing"
    record.update(gpu=device.name, versions=versions, dry_run=args.dry_run)
    say(f"# isotree GPU check{' (dry run)' if args.dry_run else ''}\n")
    say(f"GPU: {device.name}\n")
    say("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if args.dry_run or args.skip_tests:
        say("\nGPU tests: not run here (the dry run checks this script; CI runs the kernel "
            "tests under the simulator)")
    else:
        record["tests"] = run_tests(say)

    rng = np.random.default_rng(0)
    # IDA against torch.sort of the same logits.
    batch = SIZES["ida_batch"][pick]
    say(f"\n## IDA, B = {batch}, float32, two-label Mixup\n")
    say("| c | torch.sort | exact | exact / sort | approx n_iter=2 | approx / sort | "
        "host round trip, exact | first call (compile) | max abs err vs Numba |")
    say("|---|---|---|---|---|---|---|---|---|")
    record["ida"] = []
    for classes in SIZES["ida_classes"][pick]:
        a = rng.integers(0, classes, batch)
        b = (a + rng.integers(1, classes, batch)) % classes
        mass = mixup_mass(a, b, rng.beta(1.0, 1.0, batch), classes).astype(np.float32)
        logits = (4.0 * mass + rng.normal(size=(batch, classes))).astype(np.float32)
        z, m = device.put(logits), device.put(mass)
        sort, _ = device.timed(lambda: device.sort(z), repeat)
        exact, first = device.timed(lambda: device.logits(z, m), repeat)
        approx, _ = device.timed(lambda: device.logits(z, m, "approx", 2), repeat)
        generic = float("nan")
        if not args.dry_run:
            _dispatch.USE_CUDA_KERNELS = False
            generic, _ = device.timed(lambda: isotonic_logits(z, m), repeat)
            _dispatch.USE_CUDA_KERNELS = True
        error = float(np.abs(device.host(device.logits(z, m))
                             - isotonic_logits(logits, mass)).max())
        error_approx = float(np.abs(device.host(device.logits(z, m, "approx", 2))
                                    - isotonic_logits(logits, mass, method="approx",
                                                      n_iter=2)).max())
        row = dict(classes=classes, sort_ms=sort * 1e3, exact_ms=exact * 1e3,
                   approx_ms=approx * 1e3, host_round_trip_ms=generic * 1e3,
                   first_call_s=first, error=error, error_approx=error_approx)
        record["ida"].append(row)
        say(f"| {classes} | {sort * 1e3:.3f} ms | {exact * 1e3:.3f} ms | {exact / sort:.2f} | "
            f"{approx * 1e3:.3f} ms | {approx / sort:.2f} | {generic * 1e3:.2f} ms | "
            f"{first:.1f} s | {max(error, error_approx):.1e} |")

    # Chains against a torchsort-style PAVA and a host round trip; a long single row too
    # (one thread per row: where does the host round trip win?).
    record["chain"] = []
    for rows, n in SIZES["chain"][pick]:
        say(f"\n## Chains, {rows} x {n}, float32\n")
        y = (np.linspace(0, 10, n) + rng.normal(size=(rows, n)) * 3).astype(np.float32)
        y_dev = device.put(y)
        expected = isotree.isotonic_regression(y)
        kernel, first = device.timed(lambda: device.chain(y_dev), repeat)
        ones = device.put(np.ones((1, n), dtype=np.float32))
        per_layout = {layout: device.timed(lambda: launch.chain(
            device.bridge, y_dev, ones, 1.0, False, per_block=layout), repeat)[0]
            for layout in (False, True)}
        style, _ = device.timed(lambda: torchsort_style_chain(device, y_dev), repeat)
        trip, _ = device.timed(lambda: host_round_trip(device, isotree.isotonic_regression,
                                                       y_dev), repeat)
        error = float(np.abs(device.host(device.chain(y_dev)) - expected).max())
        error_style = float(np.abs(device.host(torchsort_style_chain(device, y_dev))
                                   - expected).max())
        record["chain"].append(dict(
            rows=rows, n=n, kernel_ms=kernel * 1e3, first_call_s=first,
            one_thread_per_row_ms=per_layout[False] * 1e3,
            one_block_per_row_ms=per_layout[True] * 1e3,
            torchsort_style_ms=style * 1e3, host_round_trip_ms=trip * 1e3, error=error,
            error_style=error_style))
        say("| path | time | max abs err vs Numba |")
        say("|---|---|---|")
        say(f"| isotree PAVA kernel (labels off, float64 sums) | {kernel * 1e3:.3f} ms | "
            f"{error:.1e} |")
        say(f"| the same, forced one thread per row | {per_layout[False] * 1e3:.3f} ms | |")
        say(f"| the same, forced one block per row | {per_layout[True] * 1e3:.3f} ms | |")
        say(f"| torchsort-style PAVA (float32 sums) | {style * 1e3:.3f} ms | "
            f"{error_style:.1e} |")
        say(f"| host round trip (copy, Numba, copy back) | {trip * 1e3:.3f} ms | 0 |")

    # The star on one long row.
    size = SIZES["star"][pick]
    say(f"\n## Star, one row of {size}, float32\n")
    y = rng.normal(size=size).astype(np.float32)
    y_dev = device.put(y)
    star, first = device.timed(lambda: device.star(y_dev), repeat)
    sort, _ = device.timed(lambda: device.sort(y_dev), repeat)
    trip, _ = device.timed(lambda: host_round_trip(
        device, lambda a: isotree.star_isotonic_regression(a, 0), y_dev), repeat)
    error = float(np.abs(device.host(device.star(y_dev))
                         - isotree.star_isotonic_regression(y, 0)).max())
    record["star"] = dict(n=size, kernel_ms=star * 1e3, sort_ms=sort * 1e3,
                          host_round_trip_ms=trip * 1e3, first_call_s=first, error=error)
    say(f"kernel {star * 1e3:.3f} ms; torch.sort {sort * 1e3:.3f} ms (ratio "
        f"{star / sort:.2f}); host round trip {trip * 1e3:.2f} ms; max abs err {error:.1e}")

    if not args.dry_run:
        record["kd_step"] = kd_step(say, torch, repeat)
        say("\n## Gradients on CUDA (isotree.torch)\n")
        try:
            import isotree.torch as itorch

            z = torch.from_numpy(logits).cuda().requires_grad_()
            fit = itorch.isotonic_logits(z, torch.from_numpy(mass).cuda())
            fit.sum().backward()
            say(f"isotonic_logits backward: fit on {fit.device}, grad on {z.grad.device}")
        except Exception as error:  # the adapter is another module's; report, do not stop
            say(f"isotonic_logits backward failed: {type(error).__name__}: {error}")
    with open(os.path.join(args.out, "gpu_results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "gpu_results.json"), "w") as f:
        json.dump(record, f, indent=2)


if __name__ == "__main__":
    main()
