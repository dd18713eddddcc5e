"""Seeded, deterministic regression tests for the defects of issue 9, one per item.

Each test names the item it pins. Tests of the ``isotree`` command live in test_cli.py.
"""

import numpy as np
import pytest

from isotree import ida
from isotree.ida import isotonic_logits, mixup_mass, order_violations

from .strategies import extreme_values, extreme_weights, mixed_scale_batches


# Item 4: an option with no effect in the call is an error, not silently ignored.

@pytest.mark.parametrize("method", ["exact", "shift"])
def test_item4_n_iter_without_approx_is_an_error(method):
    z = np.array([[0.0, 1.0, 2.0]])
    m = mixup_mass([0], [1], 0.7, 3)
    with pytest.raises(ValueError, match=f"n_iter is only used with method='approx'; got "
                                         f"n_iter=0 with method='{method}'"):
        isotonic_logits(z, m, method=method, n_iter=0)
    with pytest.raises(ValueError, match="return_blocks needs method='exact'"):
        isotonic_logits(z, m, method="approx", return_blocks=True)
    # Allowed and documented: n_iter=None with any method; approx defaults to 2 steps.
    np.testing.assert_array_equal(isotonic_logits(z, m, method="approx"),
                                  isotonic_logits(z, m, method="approx", n_iter=2))


@pytest.mark.parametrize("value", [True, np.bool_(False)])
def test_item4_booleans_are_not_counts(value):
    with pytest.raises(TypeError, match="num_classes must be an integer; got"):
        mixup_mass([0], [0], 0.5, value)
    with pytest.raises(TypeError, match="n_iter must be an integer; got"):
        isotonic_logits([[0.0, 1.0]], [[1.0, 0.0]], method="approx", n_iter=value)


# Item 7: an empty class axis (c = 0) is empty in, empty out.

@pytest.mark.parametrize("shape", [(3, 0), (0, 0), (2, 4, 0), (0,)])
@pytest.mark.parametrize("method", ["exact", "approx", "shift"])
def test_item7_no_classes_gives_an_empty_fit(shape, method):
    z = np.zeros(shape, dtype=np.float32)
    fit = isotonic_logits(z, np.zeros(shape), method=method)
    assert fit.shape == shape and fit.dtype == np.float32


def test_item7_no_classes_gives_blocks_and_statistics():
    fit, blocks = isotonic_logits(np.zeros((3, 0)), np.zeros((3, 0)), return_blocks=True)
    assert fit.shape == blocks.shape == (3, 0) and blocks.dtype == np.int64
    # A row without classes has the statistics of a row of one class.
    empty = order_violations(np.zeros((3, 0)), np.zeros((3, 0)))
    single = order_violations(np.zeros((3, 1)), np.zeros((3, 1)))
    assert empty["rows"] == single["rows"] == 3
    for key in ("violation_rate", "kendall_tau", "top2_any_mixed", "top2_all_mixed"):
        np.testing.assert_equal(empty[key], single[key])
    assert empty["violation_rate"] == 0.0 and np.isnan(empty["kendall_tau"])
    assert order_violations(np.zeros((0, 0)), np.zeros((0, 0)))["rows"] == 0


# Item 8: mixup_mass returns the input's array type, device and a stated dtype.

def test_item8_mixup_mass_dtype_follows_lam():
    assert mixup_mass([0, 1], [1, 1], 0.3, 3).dtype == np.float64
    assert mixup_mass([0, 1], [1, 1], np.float32(0.3), 3).dtype == np.float32
    lam32 = np.array([0.3, 0.5], dtype=np.float32)
    mass = mixup_mass([0, 1], [1, 1], lam32, 3)
    assert mass.dtype == np.float32
    np.testing.assert_array_equal(mass, [[lam32[0], 1 - lam32[0], 0], [0, 1, 0]])
    assert mixup_mass([0], [1], np.float16(0.5), 2).dtype == np.float64


def test_item8_mixup_mass_keeps_torch_tensors_and_device():
    torch = pytest.importorskip("torch")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        a = torch.tensor([0, 2, 1], device=device)
        b = torch.tensor([1, 2, 0], device=device)
        lam = torch.tensor([0.7, 0.4, 0.5], device=device)  # float32
        mass = mixup_mass(a, b, lam, 3)
        assert isinstance(mass, torch.Tensor) and mass.device == a.device
        assert mass.dtype == torch.float32
        expected = mixup_mass(a.cpu().numpy(), b.cpu().numpy(), lam.cpu().numpy(), 3)
        np.testing.assert_array_equal(mass.cpu().numpy(), expected)
        # A Python float lam gives float64, on the labels' device.
        mass = mixup_mass(a, b, 0.25, 3)
        assert mass.dtype == torch.float64 and mass.device == a.device
        np.testing.assert_array_equal(mass.cpu().numpy(),
                                      mixup_mass([0, 2, 1], [1, 2, 0], 0.25, 3))
        with pytest.raises(ValueError, match=r"labels_b must be in \[0, 3\); labels_b\[1\]"):
            mixup_mass(a, torch.tensor([1, 3, 0], device=device), lam, 3)
        with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]; lam\[2\]"):
            mixup_mass(a, b, torch.tensor([0.5, 0.5, -0.5], device=device), 3)
        with pytest.raises(TypeError, match="labels_a must hold integer class labels"):
            mixup_mass(lam, b, lam, 3)


@pytest.mark.parametrize("library", ["jax.numpy", "array_api_strict"])
def test_item8_mixup_mass_keeps_other_array_types(library):
    xp = pytest.importorskip(library)
    a = xp.asarray([0, 2])
    mass = mixup_mass(a, [1, 2], 0.75, 3)
    assert type(mass) is type(a)
    np.testing.assert_allclose(np.asarray(mass), [[0.75, 0.25, 0.0], [0.0, 0.0, 1.0]])


# Item 9 (docs): method="shift" is not what the paper's code computes.

def test_item9_docs_do_not_attribute_shift_to_the_paper_code():
    doc = " ".join(isotonic_logits.__doc__.split())
    assert "correction of the paper's code" not in doc
    assert "The paper's official code computes the projection" in doc


# Item 16: scalars and other malformed input get clear errors that name the argument.

@pytest.mark.parametrize("function", [isotonic_logits, order_violations])
def test_item16_scalars_are_refused_by_name(function):
    first = "logits" if function is isotonic_logits else "scores"
    with pytest.raises(ValueError, match=f"{first} must have at least one dimension"):
        function(1.0, 1.0)
    with pytest.raises(ValueError, match="mass must have at least one dimension"):
        function([1.0, 2.0], np.float64(1.0))
    with pytest.raises(ValueError, match=rf"mass must have the shape of {first} \(2,\)"):
        function([1.0, 2.0], [1.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="mass must be numeric"):
        function([1.0, 2.0], ["a", "b"])
    with pytest.raises(TypeError, match=f"{first} must be real"):
        function([1.0 + 1j, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"mass must be finite; mass\[1\] is nan"):
        function([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match=r"mass must be >= 0; mass\[0, 1\] is -0.5"):
        function([[1.0, 2.0]], [[1.0, -0.5]])


def test_item16_one_row_is_a_batch_of_one():
    z = np.array([0.0, 2.0, 1.0])
    m = np.array([0.7, 0.3, 0.0])
    np.testing.assert_array_equal(isotonic_logits(z, m), isotonic_logits(z[None], m[None])[0])
    assert order_violations(z, m) == order_violations(z[None], m[None])


def test_item16_mixup_mass_bad_input():
    with pytest.raises(ValueError, match=r"labels_a must be one-dimensional; got shape \(\)"):
        mixup_mass(0, 1, 0.5, 3)
    with pytest.raises(ValueError, match=r"labels_b must have the shape of labels_a \(2,\)"):
        mixup_mass([0, 1], [1], 0.5, 3)
    with pytest.raises(ValueError, match=r"lam must be a scalar or have shape \(2,\)"):
        mixup_mass([0, 1], [1, 1], [[0.5, 0.5]], 3)
    with pytest.raises(ValueError, match=r"lam must be finite; lam\[1\] is nan"):
        mixup_mass([0, 1], [1, 1], [0.5, np.nan], 3)
    with pytest.raises(TypeError, match="lam must be numeric"):
        mixup_mass([0], [1], "half", 3)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        mixup_mass([0], [0], 0.5, 0)


# Item 10: the strategies of the thorough profile cover the ranges they promise.

def test_item10_extreme_strategies_cover_their_ranges():
    from hypothesis import find, settings

    quick = settings(database=None, max_examples=2000)
    tiny = find(extreme_values(5), lambda y: 0 < np.abs(y).min() < 1e-310, settings=quick)
    assert np.isfinite(tiny).all()
    huge = find(extreme_values(5), lambda y: np.abs(y).max() > 1e307, settings=quick)
    assert np.isfinite(huge).all()
    light = find(extreme_weights(4), lambda w: w is not None and w.min() < 1e-290,
                 settings=quick)
    heavy = find(extreme_weights(4), lambda w: w is not None and w.max() > 1e290,
                 settings=quick)
    assert (light > 0).all() and np.isfinite(heavy).all()
    y, w = find(mixed_scale_batches(),
                lambda batch: np.ptp(np.log10(np.abs(batch[0]).max(axis=1) + 1e-320)) > 200,
                settings=quick)
    assert y.ndim == 2 and y.shape[0] >= 2 and np.isfinite(y).all()
    assert w is None or (w.shape == y.shape and (w > 0).all())
