"""CUDA kernels for the batched problems (chains, stars, IDA), written with ``numba.cuda``.

One kernel source serves a real GPU and Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``),
under which the test suite runs it on the CPU. Nothing here is imported by ``import isotree``:
:mod:`isotree._xp.api` imports it only for arrays that live on a CUDA device.
"""
