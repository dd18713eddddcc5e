"""The threading policy (``workers=``) and fork safety.

Every multi-process check runs in a fresh interpreter (``subprocess``), so the test process
itself never forks with PyTorch's or JAX's threads alive, and a hang fails by timeout
instead of stalling the suite.
"""

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import isotree
from isotree import _threads
from isotree.ida import isotonic_logits, mixup_mass


def run_script(source, tmp_path, timeout=240):
    # A file, not ``-c``: spawned children re-import the main module by its path.
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def batch(rows, n, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, n))


@pytest.mark.parametrize("workers", [None, 1, 2, -1])
def test_every_worker_count_gives_the_same_fit(workers):
    y = batch(600, 500)  # 3e5 entries: past the serial threshold
    w = np.random.default_rng(1).uniform(0.5, 2.0, y.shape)
    expected = isotree.isotonic_regression(y, weights=w, workers=1)
    np.testing.assert_array_equal(
        isotree.isotonic_regression(y, weights=w, workers=workers), expected)
    np.testing.assert_array_equal(isotree.star_isotonic_regression(y, workers=workers),
                                  isotree.star_isotonic_regression(y, workers=1))
    parent = np.arange(500) - 1
    np.testing.assert_array_equal(
        isotree.tree_isotonic_regression(y, parent, workers=workers),
        isotree.tree_isotonic_regression(y, parent, workers=1))
    mass = mixup_mass(np.zeros(600, int), np.ones(600, int), 0.7, 500)
    np.testing.assert_array_equal(isotonic_logits(y, mass, workers=workers),
                                  isotonic_logits(y, mass, workers=1))


def test_policy_is_serial_for_small_work_and_never_more_threads_than_rows():
    assert _threads.threads_for(None, _threads.PARALLEL_THRESHOLD - 1, 1000) == 1
    assert _threads.threads_for(None, 10**7, 1) == 1  # one row cannot be shared out
    assert _threads.threads_for(1, 10**7, 1000) == 1
    big = _threads.threads_for(None, 10**7, 1000)
    assert 1 <= big <= _threads.numba.get_num_threads()
    assert _threads.threads_for(-1, 10, 1000) == big


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_workers_is_validated(bad):
    with pytest.raises((TypeError, ValueError), match="workers"):
        isotree.isotonic_regression([1.0, 2.0], workers=bad)


def test_numba_thread_count_is_respected():
    import numba

    y = batch(600, 500)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert _threads.threads_for(None, y.size, y.shape[0]) == 1
        isotree.isotonic_regression(y)
    finally:
        numba.set_num_threads(before)


def test_concurrent_calls_from_threads():
    y = batch(400, 1000)
    expected = isotree.isotonic_regression(y, workers=1)
    with ThreadPoolExecutor(4) as pool:
        fits = list(pool.map(lambda _: isotree.isotonic_regression(y), range(8)))
    for fit in fits:
        np.testing.assert_array_equal(fit, expected)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_child_processes_after_a_parallel_call(method, tmp_path):
    # The parent runs the thread pool first; a forked child must not hang (GNU OpenMP's
    # pool does not survive fork: isotree runs serially there).
    out = run_script(f"""
        import multiprocessing as mp
        import numpy as np
        import isotree

        def solve(seed):
            y = np.random.default_rng(seed).normal(size=(600, 500))
            return isotree.isotonic_regression(y, workers=2).sum()

        if __name__ == "__main__":
            y = np.random.default_rng(0).normal(size=(600, 500))
            isotree.isotonic_regression(y, workers=2)
            with mp.get_context("{method}").Pool(2) as pool:
                got = pool.map(solve, [0, 1, 2])
            want = [solve(s) for s in [0, 1, 2]]
            assert np.allclose(got, want), (got, want)
            print("ok")
        """, tmp_path)
    assert out.strip() == "ok"


def test_torch_dataloader_workers_compute_ida_targets(tmp_path):
    pytest.importorskip("torch")
    out = run_script("""
        import numpy as np
        import torch
        from isotree.ida import isotonic_logits, mixup_mass

        class Mixed(torch.utils.data.Dataset):
            def __len__(self):
                return 64

            def __getitem__(self, i):
                rng = np.random.default_rng(i)
                logits = rng.normal(size=(1, 100))
                mass = mixup_mass([i % 100], [(i + 1) % 100], 0.7, 100)
                return torch.from_numpy(isotonic_logits(logits, mass)[0])

        if __name__ == "__main__":
            z = np.random.default_rng(0).normal(size=(1024, 1000)).astype(np.float32)
            m = mixup_mass(np.zeros(1024, int), np.ones(1024, int), 0.6, 1000)
            isotonic_logits(z, m, workers=2)  # the parent's pool has run
            loader = torch.utils.data.DataLoader(Mixed(), batch_size=16, num_workers=2)
            rows = torch.cat(list(loader))
            assert rows.shape == (64, 100)
            print("ok")
        """, tmp_path)
    assert out.strip() == "ok"
