import numpy as np
import pytest

torch = pytest.importorskip("torch")

import isotree  # noqa: E402
import isotree.torch as itorch  # noqa: E402
from isotree.ida import isotonic_logits, mixup_mass  # noqa: E402

from .strategies import make_parent, relabel  # noqa: E402


def tensor(a, grad=True):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def check(func, *inputs):
    assert torch.autograd.gradcheck(func, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_chain_gradients_in_y_and_weights():
    rng = np.random.default_rng(0)
    y, w = tensor(rng.normal(size=(3, 12))), tensor(rng.uniform(0.5, 2.0, 12))
    check(lambda y, w: itorch.isotonic_regression(y, w), y, w)
    check(lambda y, w: itorch.isotonic_regression(y, w, increasing=False), y, w)
    w_full = tensor(rng.uniform(0.5, 2.0, (3, 12)))
    check(lambda y, w: itorch.isotonic_regression(y, w, y_min=-0.3, y_max=0.4), y, w_full)
    check(lambda y: itorch.isotonic_regression(y, axis=0), tensor(rng.normal(size=(9, 2))))
    x = rng.integers(0, 4, 12)
    for ties in ("primary", "secondary"):
        check(lambda y, w: itorch.isotonic_regression(y, w, x=x, ties=ties), y, w)


def test_tree_and_star_gradients():
    rng = np.random.default_rng(1)
    for shape in ("recursive", "binary", "forest"):
        parent = relabel(make_parent(shape, 15, rng), rng.permutation(15))
        y, w = tensor(rng.normal(size=(2, 15))), tensor(rng.uniform(0.5, 2.0, 15))
        for increasing in (True, False):
            check(lambda y, w: itorch.tree_isotonic_regression(y, parent, w,
                                                               increasing=increasing), y, w)
    y, w = tensor(rng.normal(size=(4, 10))), tensor(rng.uniform(0.5, 2.0, (4, 10)))
    check(lambda y, w: itorch.star_isotonic_regression(y, [0, 3, 5, 9], w), y, w)


def test_ida_gradient():
    rng = np.random.default_rng(2)
    mass = mixup_mass(rng.integers(0, 8, 6), rng.integers(0, 8, 6), rng.uniform(0, 1, 6), 8)
    z = tensor(2 * mass + rng.normal(size=(6, 8)))
    check(lambda z: itorch.isotonic_logits(z, mass), z)
    with pytest.raises(ValueError, match="not differentiable"):
        itorch.isotonic_logits(z, mass, method="shift")


def test_backward_is_the_block_average_and_matches_numpy():
    rng = np.random.default_rng(3)
    y_np, w_np = rng.normal(size=20), rng.uniform(0.5, 2.0, 20)
    y, w = tensor(y_np), tensor(w_np)
    fit = itorch.isotonic_regression(y, w)
    np.testing.assert_allclose(fit.detach().numpy(), isotree.isotonic_regression(y_np, w_np))
    g = rng.normal(size=20)
    fit.backward(torch.as_tensor(g))
    _, blocks = isotree.isotonic_regression(y_np, w_np, return_blocks=True)
    expected = np.empty(20)
    for label in np.unique(blocks):
        members = blocks == label
        expected[members] = w_np[members] * g[members].sum() / w_np[members].sum()
    np.testing.assert_allclose(y.grad.numpy(), expected, rtol=1e-12)


def test_no_grad_paths_keep_type_dtype_and_errors():
    y = torch.tensor([[3.0, 1.0, 2.0]], dtype=torch.float32)
    for out in (itorch.isotonic_regression(y), itorch.star_isotonic_regression(y),
                itorch.tree_isotonic_regression(y, [-1, 0, 1]),
                itorch.isotonic_logits(y, torch.tensor([[1.0, 0.0, 0.0]]))):
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    bad = tensor([0.0, float("nan"), 1.0])
    with pytest.raises(ValueError, match=r"y must be finite; y\[1\] is nan"):
        itorch.isotonic_regression(bad)
    with pytest.raises(ValueError, match=r"weights must be > 0"):
        itorch.tree_isotonic_regression(tensor([1.0, 2.0]), [-1, 0], tensor([1.0, -1.0]))
    with pytest.raises(NotImplementedError, match="tertiary"):
        itorch.isotonic_regression(tensor([1.0, 2.0]), x=[0, 0], ties="tertiary")


@pytest.mark.parametrize("ida", ["exact", "approx", "shift", "penalty", None])
def test_kd_loss_is_finite_with_finite_gradients(ida):
    rng = np.random.default_rng(4)
    rows, c = 16, 10
    a, b = rng.integers(0, c, rows), rng.integers(0, c, rows)
    lam = np.where(rng.random(rows) < 0.25, 0.5, rng.uniform(0, 1, rows))
    mass = torch.as_tensor(mixup_mass(a, b, lam, c), dtype=torch.float32)
    student = torch.randn(rows, c, requires_grad=True)
    teacher = (torch.randn(rows, c) * 3).requires_grad_()
    loss = itorch.kd_loss(student, teacher, mass, temperature=3.0, alpha=0.7, ida=ida,
                          n_iter=2 if ida == "approx" else None)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(student.grad).all()
    assert teacher.grad is None  # the teacher side carries no gradient


def test_kd_loss_uses_the_fitted_teacher():
    mass = torch.as_tensor(mixup_mass([0], [1], 0.7, 3))
    teacher = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    student = torch.zeros(1, 3, dtype=torch.float64)
    fitted = torch.as_tensor(isotonic_logits(teacher.numpy(), mass.numpy()))
    expected = torch.nn.functional.kl_div(
        torch.log_softmax(student, -1), torch.softmax(fitted, -1), reduction="batchmean")
    got = itorch.kd_loss(student, teacher, mass, temperature=1.0, alpha=1.0)
    torch.testing.assert_close(got, expected)


def test_kd_penalty_matches_the_paper():
    # p = softmax(0, 0, log 3): (0.2, 0.2, 0.6); S = {0, 1}, a = 0 (0.7), b = 1 (0.3):
    # max(0, 0.6 - 0.2) + max(0, 0.2 - 0.2) = 0.4.
    mass = torch.as_tensor(mixup_mass([0], [1], 0.7, 3))
    student = torch.log(torch.tensor([[0.2, 0.2, 0.6]], dtype=torch.float64))
    torch.testing.assert_close(itorch.kd_penalty(student, mass),
                               torch.tensor([0.4], dtype=torch.float64))
    # lam = 1/2: a and b unordered, only the set term.
    student = torch.log(torch.tensor([[0.1, 0.5, 0.4]], dtype=torch.float64))
    torch.testing.assert_close(itorch.kd_penalty(student, mixup_mass([0], [1], 0.5, 3)),
                               torch.tensor([0.3], dtype=torch.float64))


def test_both_backward_implementations_agree():
    # CUDA tensors use the PyTorch-operation VJP; CPU tensors the compiled one.
    from isotree.torch import _framework_vjp, _host_vjp

    rng = np.random.default_rng(5)
    y_np, w_np = rng.normal(size=(4, 30)), rng.uniform(0.5, 2.0, 30)
    fit, labels = isotree.isotonic_regression(y_np, w_np, return_blocks=True)
    args = [torch.as_tensor(a) for a in (rng.normal(size=(4, 30)), labels, w_np, y_np, fit)]
    for weights in (args[2], None, torch.as_tensor(np.broadcast_to(w_np, (4, 30)).copy())):
        host = _host_vjp(args[0], args[1], weights, args[3], args[4], True, weights is not None)
        framework = _framework_vjp(args[0], args[1], weights, args[3], args[4], True,
                                   weights is not None)
        for a, b in zip(host, framework):
            if a is None:
                assert b is None
            else:
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
