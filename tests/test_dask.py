"""The Dask and xarray recipe of docs/dask.rst, on a two-worker LocalCluster.

Many independent problems, the order axis in one chunk: the result must equal the
in-memory call, and a chunked order axis must be refused (never solved piecewise).
"""

import functools

import numpy as np
import pytest

import isotree

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")


@pytest.fixture(scope="module")
def client():
    # Two small in-process workers: quick to start on a 2-core CI machine.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(40, 25)) + np.linspace(0.0, 1.0, 25)
    w = rng.uniform(0.5, 2.0, size=(40, 25))
    return y, w


def fit_rows(y, w, increasing):
    """A module-level function: what a process-based cluster can pickle."""
    return isotree.isotonic_regression(y, weights=w, increasing=increasing)


def test_gufunc_equals_the_in_memory_call(client, data):
    y, w = data
    dy = da.from_array(y, chunks=(8, -1))  # rows split, the order axis in one chunk
    dw = da.from_array(w, chunks=(8, -1))
    solve = functools.partial(fit_rows, increasing=False)
    lazy = da.apply_gufunc(solve, "(n),(n)->(n)", dy, dw, output_dtypes=y.dtype)
    assert lazy.chunks == dy.chunks
    result = client.compute(lazy).result()
    np.testing.assert_array_equal(
        result, isotree.isotonic_regression(y, weights=w, increasing=False))


def test_gufunc_with_blocks(client, data):
    y, _ = data
    dy = da.from_array(y, chunks=(16, -1))
    fit, blocks = da.apply_gufunc(
        functools.partial(isotree.isotonic_regression, return_blocks=True), "(n)->(n),(n)",
        dy, output_dtypes=(y.dtype, np.int64))
    fit, blocks = client.compute([fit, blocks], sync=True)
    expected_fit, expected_blocks = isotree.isotonic_regression(y, return_blocks=True)
    np.testing.assert_array_equal(fit, expected_fit)
    np.testing.assert_array_equal(blocks, expected_blocks)


def test_chunked_order_axis_is_refused(data):
    y, _ = data
    dy = da.from_array(y, chunks=(8, 5))  # the order axis split in 5: must not be solved
    with pytest.raises(ValueError, match="consists of multiple chunks"):
        da.apply_gufunc(isotree.isotonic_regression, "(n)->(n)", dy, output_dtypes=y.dtype)


def test_xarray_equals_the_in_memory_call(client, data):
    y, w = data
    arr = xr.DataArray(y, dims=("site", "time")).chunk({"site": 10})
    weights = xr.DataArray(w, dims=("site", "time")).chunk({"site": 10})
    # The core dimension goes last, where the solvers look by default (axis=-1).
    fit = xr.apply_ufunc(fit_rows, arr.transpose("time", "site"), weights,
                         input_core_dims=[["time"], ["time"]], output_core_dims=[["time"]],
                         kwargs={"increasing": True}, dask="parallelized",
                         output_dtypes=[y.dtype])
    assert fit.dims == ("site", "time")
    result = fit.compute()
    np.testing.assert_array_equal(result.values, isotree.isotonic_regression(y, weights=w))


def test_xarray_refuses_a_chunked_core_dimension(data):
    y, _ = data
    arr = xr.DataArray(y, dims=("site", "time")).chunk({"site": 10, "time": 5})
    with pytest.raises(ValueError, match="consists of multiple chunks"):
        xr.apply_ufunc(isotree.isotonic_regression, arr, input_core_dims=[["time"]],
                       output_core_dims=[["time"]], dask="parallelized",
                       output_dtypes=[y.dtype])


def test_grids_with_two_core_dimensions(client):
    rng = np.random.default_rng(1)
    y = rng.normal(size=(6, 8, 9)) + np.add.outer(np.arange(8), np.arange(9)) / 8
    dy = da.from_array(y, chunks=(2, -1, -1))
    # Dask hands each block over with the core dimensions last; name them as the grid.
    solve = functools.partial(isotree.grid_isotonic_regression, axes=(-2, -1))
    lazy = da.apply_gufunc(solve, "(i,j)->(i,j)", dy, output_dtypes=y.dtype)
    result = client.compute(lazy, sync=True)
    np.testing.assert_array_equal(
        result, isotree.grid_isotonic_regression(y, axes=(-2, -1)))
