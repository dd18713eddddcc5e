import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.autograd import forward_ad  # noqa: E402

import isotree  # noqa: E402
import isotree.torch as itorch  # noqa: E402
from isotree.ida import isotonic_logits, mixup_mass  # noqa: E402

from .autodiff_cases import CASES, IDS, kd_problem, kd_reference, merged_jacobian, oracle_jacobian  # noqa


def tensor(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def solver(case, **options):
    """The case as a function of tensors (y[, w])."""
    if case.w is None:
        return lambda y: case.call(itorch, y, None, **options)
    return lambda y, w: case.call(itorch, y, w, **options)


def inputs(case, grad=True, row=None):
    y = case.y if row is None else case.y[row]
    return (tensor(y, grad),) + (() if case.w is None else (tensor(case.w, grad),))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_forward_reverse_batched_and_second_order(case):
    func = solver(case)
    assert torch.autograd.gradcheck(func, inputs(case), check_forward_ad=True,
                                    check_batched_grad=True, check_batched_forward_grad=True,
                                    fast_mode=True)
    assert torch.autograd.gradgradcheck(func, inputs(case), check_fwd_over_rev=True,
                                        check_batched_grad=True, fast_mode=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_transform_matches_the_oracle(case):
    jac_y, jac_w = oracle_jacobian(case)
    y, *w = inputs(case, grad=False, row=0)
    func = solver(case)
    f_y = (lambda y: func(y, *w))
    v = tensor(np.random.default_rng(0).normal(size=y.shape))
    expected = jac_y @ v.numpy()
    # torch.autograd.functional: jvp (double-backward trick), vjp, hessian.
    _, jv = torch.autograd.functional.jvp(f_y, y, v)
    np.testing.assert_allclose(jv, expected, atol=1e-6)
    _, vj = torch.autograd.functional.vjp(f_y, y, v)
    np.testing.assert_allclose(vj, jac_y.T @ v.numpy(), atol=1e-6)
    hessian = torch.autograd.functional.hessian(lambda y: 0.5 * (f_y(y) ** 2).sum(), y)
    np.testing.assert_allclose(hessian, jac_y.T @ jac_y, atol=1e-5)  # J^T J (piecewise linear)
    # Forward-mode AD.
    with forward_ad.dual_level():
        tangent = forward_ad.unpack_dual(f_y(forward_ad.make_dual(y, v))).tangent
    np.testing.assert_allclose(tangent, expected, atol=1e-6)
    # torch.func.
    for jacobian in (torch.func.jacrev, torch.func.jacfwd):
        np.testing.assert_allclose(jacobian(f_y)(y), jac_y, atol=1e-6)
        if w:
            np.testing.assert_allclose(jacobian(func, argnums=1)(y, *w), jac_w, atol=1e-6)
    np.testing.assert_allclose(torch.func.hessian(lambda y: 0.5 * (f_y(y) ** 2).sum())(y),
                               jac_y.T @ jac_y, atol=1e-5)
    np.testing.assert_allclose(torch.func.grad(lambda y: f_y(y) @ v)(y), jac_y.T @ v.numpy(),
                               atol=1e-6)
    _, jvp_out = torch.func.jvp(f_y, (y,), (v,))
    np.testing.assert_allclose(jvp_out, expected, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_is_the_loop_over_rows(case):
    func = solver(case)
    y, *w = inputs(case, grad=False)
    looped = torch.stack([func(row, *w) for row in y])
    torch.testing.assert_close(torch.func.vmap(func, in_dims=(0,) + (None,) * len(w))(y, *w),
                               looped)
    per_row_grad = torch.func.vmap(torch.func.grad(lambda row: func(row, *w).sum()))(y)
    looped_grad = torch.stack([torch.func.grad(lambda row: func(row, *w).sum())(row)
                               for row in y])
    torch.testing.assert_close(per_row_grad, looped_grad)


def test_vmap_batches_the_predictor_and_the_mass():
    rng = np.random.default_rng(8)
    z, x = rng.normal(size=(4, 5)), rng.integers(0, 3, size=(4, 5))
    mass = mixup_mass([0, 1, 2, 3], [4, 4, 1, 0], [0.7, 0.5, 0.2, 0.9], 5)
    fit = torch.func.vmap(itorch.isotonic_logits)(tensor(z), tensor(mass))
    np.testing.assert_array_equal(fit, isotonic_logits(z, mass))
    fit = torch.func.vmap(lambda y, x: itorch.isotonic_regression(y, x=x))(tensor(z),
                                                                          torch.tensor(x))
    np.testing.assert_array_equal(fit, isotree.isotonic_regression(z, x=x))


@pytest.mark.parametrize("case", [c for c in CASES if c.edges is not None],
                         ids=[c.id for c in CASES if c.edges is not None])
def test_equal_values_blocks_merge_ties_along_the_order(case):
    # Integer data: many blocks share a value with a neighbour.
    y = tensor(np.round(case.y[0] / 2))
    w = None if case.w is None else tensor(np.round(case.w * 2))
    f_y = (lambda y: case.call(itorch, y, w, blocks="equal_values"))
    fit = f_y(y).numpy()
    jac = torch.func.jacrev(f_y)(y).numpy()
    mask = np.ones(fit.size, bool)
    if case.bounds != (None, None):  # clipped entries have a zero derivative
        mask = (fit > case.bounds[0]) & (fit < case.bounds[1])
    expected = merged_jacobian(y.numpy(), None if w is None else w.numpy(),
                               _unclipped(case, y, w), case.edges)
    np.testing.assert_allclose(jac[mask], expected[mask], atol=1e-12)


def _unclipped(case, y, w):
    """The fit before the bounds: their blocks decide the merged Jacobian."""
    if case.bounds == (None, None):
        return case.call(itorch, y, w).numpy()
    assert case.id == "chain-decreasing-bounded"
    return itorch.isotonic_regression(y, weights=w, increasing=False).numpy()


# Dynamo itself reads .grad of a non-leaf while tracing the rest of the loss (torch 2.13).
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_torch_compile_runs_the_solver_eagerly_inside():
    y = tensor([3.0, 1.0, 2.0, 0.5], True)

    def loss(y):
        return (itorch.isotonic_regression(y, weights=[1.0, 2.0, 1.0, 1.0]) ** 2).sum()

    compiled = torch.compile(loss, backend="eager")
    (expected,) = torch.autograd.grad(loss(y), y)
    (got,) = torch.autograd.grad(compiled(y), y)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4)])
def test_empty_in_empty_out_with_gradients(shape):
    y = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    w = torch.ones(shape[-1], dtype=torch.float64, requires_grad=True)
    for blocks in ("solver", "equal_values"):
        fit = itorch.isotonic_regression(y, weights=w, blocks=blocks)
        grad_y, grad_w = torch.autograd.grad(fit.sum(), (y, w))
        assert fit.shape == grad_y.shape == shape and grad_w.shape == w.shape


def test_tie_conventions_on_the_documented_example():
    y = tensor([1.0, 1.0, 2.0])
    solver_jac = torch.func.jacrev(itorch.isotonic_regression)(y)
    merged = torch.func.jacrev(lambda y: itorch.isotonic_regression(y, blocks="equal_values"))
    np.testing.assert_array_equal(solver_jac, np.eye(3))
    np.testing.assert_array_equal(merged(y), [[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1]])
    # Each is a one-sided derivative of the fit: raising y[0] pools it, lowering does not.
    h = 1e-7
    up = (isotree.isotonic_regression([1 + h, 1.0, 2.0]) - [1.0, 1.0, 2.0]) / h
    down = ([1.0, 1.0, 2.0] - isotree.isotonic_regression([1 - h, 1.0, 2.0])) / h
    np.testing.assert_allclose(up, merged(y)[:, 0], atol=1e-6)
    np.testing.assert_allclose(down, solver_jac[:, 0], atol=1e-6)


def test_compiled_first_order_backward_matches_the_framework_operations():
    # A plain CPU backward runs the compiled pass; create_graph=True the PyTorch operations.
    rng = np.random.default_rng(5)
    y, w = tensor(rng.normal(size=(4, 30)), True), tensor(rng.uniform(0.5, 2, 30), True)
    g = tensor(rng.normal(size=(4, 30)))
    for weights in (w, None):
        args = (y,) if weights is None else (y, w)
        fit = itorch.isotonic_regression(y, weights=weights)
        compiled = torch.autograd.grad(fit, args, g, retain_graph=True)
        framework = torch.autograd.grad(fit, args, g, create_graph=True)
        for a, b in zip(compiled, framework):
            torch.testing.assert_close(a, b.detach(), rtol=1e-12, atol=1e-12)
    # ... and both are the block average of the NumPy solver's labels.
    _, blocks = isotree.isotonic_regression(y.detach().numpy()[0], weights=w.detach().numpy(),
                                            return_blocks=True)
    fit = itorch.isotonic_regression(y[0], weights=w)
    (grad_y,) = torch.autograd.grad(fit, y, g[0])
    for label in np.unique(blocks):
        members = blocks == label
        expected = w.detach().numpy()[members] * g[0].numpy()[members].sum() / \
            w.detach().numpy()[members].sum()
        np.testing.assert_allclose(grad_y[0].numpy()[members], expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32_and_returned_as_given(dtype):
    for case in CASES:  # every solver and option of the shared table
        y = torch.tensor(case.y, dtype=dtype, requires_grad=True)
        w = None if case.w is None else torch.tensor(case.w, dtype=dtype)
        fit = case.call(itorch, y, w)
        assert fit.dtype == dtype, case.id
        in_float32 = case.call(itorch, y.detach().float(), None if w is None else w.float())
        torch.testing.assert_close(fit.float(), in_float32.to(dtype).float())
        (grad,) = torch.autograd.grad(fit.sum(), y)
        assert grad.dtype == dtype and torch.isfinite(grad).all()
    mass = torch.as_tensor(mixup_mass([0, 1, 2], [3, 3, 3], 0.7, 6))
    y32 = torch.tensor(np.random.default_rng(6).normal(size=(3, 6)), dtype=torch.float32)
    student = (y32 * 1e4).to(dtype).requires_grad_()
    loss = itorch.kd_loss(student, -student.detach(), mass)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert torch.isfinite(torch.autograd.grad(loss, student)[0]).all()


def test_weights_of_any_array_type_with_a_differentiable_y():
    y = tensor([3.0, 1.0, 2.0], True)
    expected = itorch.isotonic_regression(y, weights=tensor([1.0, 2.0, 1.0]))
    for weights in ([1.0, 2.0, 1.0], np.array([1.0, 2.0, 1.0]), [1, 2, 1]):
        fit = itorch.isotonic_regression(y, weights=weights)
        torch.testing.assert_close(fit, expected)
        fit.sum().backward()
    for weights in ([1.0, 2.0, 1.0], np.array([1.0, 2.0, 1.0])):
        itorch.tree_isotonic_regression(y, [-1, 0, 0], weights=weights).sum().backward()
        itorch.star_isotonic_regression(y, 0, weights=weights).sum().backward()
    with pytest.raises(ValueError, match=r"weights must be >= 0; weights\[1\] is -1.0"):
        itorch.isotonic_regression(y, weights=[1.0, -1.0, 1.0])


def test_options_checks_and_errors_match_the_numpy_level():
    y = tensor([0.0, float("nan"), 1.0], True)
    with pytest.raises(ValueError, match=r"y must be finite; y\[1\] is nan"):
        itorch.isotonic_regression(y)
    with pytest.raises(ValueError, match=r"y must be finite; y\[1, 0\] is nan"):
        itorch.star_isotonic_regression(y.detach().reshape(3, 1), axis=0)
    with pytest.raises(ValueError, match=r"weights must be >= 0"):
        itorch.tree_isotonic_regression(tensor([1.0, 2.0]), [-1, 0], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="ties='secondary' needs a predictor x"):
        itorch.isotonic_regression(tensor([1.0, 2.0]), ties="secondary")
    with pytest.raises(ValueError, match="blocks must be one of"):
        itorch.isotonic_regression(tensor([1.0, 2.0]), blocks="equal")
    with pytest.raises(TypeError, match="weights|keyword|positional"):
        itorch.isotonic_regression(tensor([1.0, 2.0]), tensor([1.0, 1.0]))
    z = tensor([[1.0, 2.0, 0.0]], True)
    mass = mixup_mass([0], [1], 0.7, 3)
    with pytest.raises(ValueError, match="n_iter is only used with method='approx'"):
        itorch.isotonic_logits(z, mass, n_iter=3)
    with pytest.raises(ValueError, match="has no derivative"):
        itorch.isotonic_logits(z, mass, method="shift")
    np.testing.assert_array_equal(itorch.isotonic_logits(z.detach(), mass, method="approx",
                                                         n_iter=0),
                                  isotonic_logits(z.detach().numpy(), mass, method="approx",
                                                  n_iter=0))
    with pytest.raises(ValueError, match=r"integer labels must be in \[0, 3\)"):
        itorch.isotonic_logits(z, torch.tensor([3]))


def test_parent_and_root_cannot_be_vmapped():
    y = tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="root cannot be batched by torch.func.vmap"):
        torch.func.vmap(itorch.star_isotonic_regression)(y, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="parent cannot be batched by torch.func.vmap"):
        torch.func.vmap(itorch.tree_isotonic_regression)(y, torch.tensor([[-1, 0, 0]] * 2))


def test_integer_hard_labels_are_a_one_hot_mass():
    z = tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]], True)
    labels = torch.tensor([0, 1])
    one_hot = torch.nn.functional.one_hot(labels, 3).double()
    torch.testing.assert_close(itorch.isotonic_logits(z, labels),
                               itorch.isotonic_logits(z, one_hot))
    torch.testing.assert_close(itorch.kd_loss(z, z.detach() * 2, labels),
                               itorch.kd_loss(z, z.detach() * 2, one_hot))
    torch.testing.assert_close(itorch.kd_penalty(z, labels), itorch.kd_penalty(z, one_hot))


def test_numpy_level_warns_only_when_a_gradient_is_expected():
    y = tensor([1.0, 0.0], True)
    with pytest.warns(UserWarning, match="use isotree.torch.isotonic_regression"):
        isotree.isotonic_regression(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            isotree.isotonic_regression(y)  # no gradient expected
        isotree.isotonic_regression(y.detach(), weights=np.ones(2))
        # Certificates and statistics return numbers: nothing to differentiate.
        isotree.kkt_violation(y, y, [-1, 0])
        isotree.ida.order_violations(y[None], np.array([[1.0, 0.0]]))
    with pytest.warns(UserWarning, match="has no differentiable version"):
        isotree.dag_isotonic_regression(y, [[1, 0]])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32,
                                   torch.float64])
@pytest.mark.parametrize("ida", ["exact", "approx", "shift", "penalty", None])
def test_kd_loss_matches_the_numpy_reference_even_for_extreme_logits(dtype, ida):
    mass, student64, teacher64 = kd_problem()
    student = torch.tensor(student64, dtype=dtype, requires_grad=True)
    teacher = torch.tensor(teacher64, dtype=dtype, requires_grad=True)
    options = dict(temperature=3.0, alpha=0.7, ida=ida, n_iter=1 if ida == "approx" else None)
    loss = itorch.kd_loss(student, teacher, mass, reduction="none", **options)
    s, t = student.detach().double().numpy(), teacher.detach().double().numpy()
    fitted = t if ida in (None, "penalty") else isotonic_logits(
        t, mass, method=ida, n_iter=options["n_iter"])
    expected = kd_reference(s, fitted, mass, 3.0, 0.7)
    if ida == "penalty":
        expected = expected + itorch.kd_penalty(torch.tensor(s), mass).numpy()
    rtol = {torch.float64: 1e-12, torch.float32: 1e-5}.get(dtype, 1e-3)
    np.testing.assert_allclose(loss.detach().double().numpy(), expected, rtol=rtol, atol=rtol)
    total = itorch.kd_loss(student, teacher, mass, reduction="sum", **options)
    mean = itorch.kd_loss(student, teacher, mass, **options)
    torch.testing.assert_close(total, loss.sum())
    torch.testing.assert_close(mean, loss.mean())
    mean.backward()
    assert torch.isfinite(student.grad).all()
    assert teacher.grad is None  # the teacher side carries no gradient


def test_kd_options_are_validated():
    s, mass = torch.zeros(1, 3), mixup_mass([0], [1], 0.7, 3)
    for bad, message in [(dict(temperature=0.0), "temperature must be > 0"),
                         (dict(alpha=1.5), r"alpha must be in \[0, 1\]"),
                         (dict(sigma=2.0), "sigma weighs the penalty"),
                         (dict(ida="penalty", sigma=-1.0), "sigma must be >= 0"),
                         (dict(n_iter=2), "n_iter is only used with ida='approx'"),
                         (dict(reduction="batchmean"), "reduction must be one of"),
                         (dict(ida="exactly"), "ida must be one of")]:
        with pytest.raises(ValueError, match=message):
            itorch.kd_loss(s, s, mass, **bad)


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


def test_numpy_level_solvers_warn_for_tensors_that_require_grad():
    y = torch.tensor([1.0, 0.0], requires_grad=True)
    with pytest.warns(UserWarning, match="isotree.torch.isotonic_regression"):
        isotree.isotonic_regression(y)
    with pytest.warns(UserWarning, match="isotree.torch.star_isotonic_regression"):
        isotree.star_isotonic_regression(y)
