import functools

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import isotree  # noqa: E402
import isotree.jax as ijax  # noqa: E402
from isotree.ida import isotonic_logits, mixup_mass  # noqa: E402

from .autodiff_cases import CASES, IDS, kd_problem, kd_reference, merged_jacobian, oracle_jacobian  # noqa


@pytest.fixture(autouse=True, scope="module")
def float64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def solver(case, **options):
    """The case as a function of arrays (y[, w])."""
    if case.w is None:
        return lambda y: case.call(ijax, y, None, **options)
    return lambda y, w: case.call(ijax, y, w, **options)


def inputs(case, row=None):
    y = case.y if row is None else case.y[row]
    return (jnp.asarray(y),) + (() if case.w is None else (jnp.asarray(case.w),))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_grads_to_second_order_in_both_modes(case):
    check_grads(solver(case), inputs(case), order=2, modes=("fwd", "rev"), eps=1e-6,
                atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_transform_matches_the_oracle(case):
    jac_y, jac_w = oracle_jacobian(case)
    y, *w = inputs(case, row=0)
    func = solver(case)
    f_y = (lambda y: func(y, *w))
    v = jnp.asarray(np.random.default_rng(0).normal(size=y.shape))
    for jacobian in (jax.jacfwd, jax.jacrev):
        np.testing.assert_allclose(jacobian(f_y)(y), jac_y, atol=1e-6)
        np.testing.assert_allclose(jax.jit(jacobian(f_y))(y), jac_y, atol=1e-6)
        if w:
            np.testing.assert_allclose(jacobian(func, argnums=1)(y, *w), jac_w, atol=1e-6)
    np.testing.assert_allclose(jax.jvp(f_y, (y,), (v,))[1], jac_y @ v, atol=1e-6)
    np.testing.assert_allclose(jax.vjp(f_y, y)[1](v)[0], jac_y.T @ v, atol=1e-6)
    np.testing.assert_allclose(jax.grad(lambda y: f_y(y) @ v)(y), jac_y.T @ v, atol=1e-6)
    np.testing.assert_allclose(jax.hessian(lambda y: 0.5 * (f_y(y) ** 2).sum())(y),
                               jac_y.T @ jac_y, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_is_the_loop_over_rows(case):
    func = solver(case)
    y, *w = inputs(case)
    looped = jnp.stack([func(row, *w) for row in y])
    in_axes = (0,) + (None,) * len(w)
    np.testing.assert_allclose(jax.vmap(func, in_axes=in_axes)(y, *w), looped, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.vmap(func, in_axes=in_axes))(y, *w), looped,
                               rtol=1e-12)
    per_row = jax.vmap(jax.grad(lambda row: func(row, *w).sum()))(y)
    np.testing.assert_allclose(per_row, jnp.stack([jax.grad(lambda r: func(r, *w).sum())(r)
                                                   for r in y]), rtol=1e-12)


def test_vmap_batches_the_predictor_and_the_mass():
    rng = np.random.default_rng(8)
    z, x = rng.normal(size=(4, 5)), rng.integers(0, 3, size=(4, 5))
    mass = mixup_mass([0, 1, 2, 3], [4, 4, 1, 0], [0.7, 0.5, 0.2, 0.9], 5)
    fit = jax.vmap(ijax.isotonic_logits)(jnp.asarray(z), jnp.asarray(mass))
    np.testing.assert_array_equal(fit, isotonic_logits(z, mass))
    fit = jax.vmap(lambda y, x: ijax.isotonic_regression(y, x=x))(jnp.asarray(z),
                                                                  jnp.asarray(x))
    np.testing.assert_array_equal(fit, isotree.isotonic_regression(z, x=x))


@pytest.mark.parametrize("case", [c for c in CASES if c.edges is not None],
                         ids=[c.id for c in CASES if c.edges is not None])
def test_equal_values_blocks_merge_ties_along_the_order(case):
    y = jnp.asarray(np.round(case.y[0] / 2))
    w = None if case.w is None else jnp.asarray(np.round(case.w * 2))
    f_y = (lambda y: case.call(ijax, y, w, blocks="equal_values"))
    jac = np.asarray(jax.jacrev(f_y)(y))
    unclipped = case.call(ijax, y, w) if case.bounds == (None, None) else \
        ijax.isotonic_regression(y, weights=w, increasing=False)
    fit = np.asarray(f_y(y))
    mask = (fit > case.bounds[0]) & (fit < case.bounds[1]) if case.bounds != (None, None) \
        else np.ones(fit.size, bool)
    expected = merged_jacobian(np.asarray(y), None if w is None else np.asarray(w),
                               np.asarray(unclipped), case.edges)
    np.testing.assert_allclose(jac[mask], expected[mask], atol=1e-12)
    np.testing.assert_allclose(jax.jacfwd(f_y)(y)[mask], expected[mask], atol=1e-12)


@pytest.mark.filterwarnings("ignore:jax.nn.one_hot input should be integer:DeprecationWarning")
def test_equal_values_is_jaxopts_convention():
    jaxopt_isotonic = pytest.importorskip("jaxopt._src.isotonic")
    rng = np.random.default_rng(7)
    y = jnp.asarray(rng.integers(0, 4, size=(20, 9)).astype(float))  # many exact ties
    v = jnp.asarray(rng.normal(size=9))
    for row in y:
        fit = ijax.isotonic_regression(row)
        ours = jax.jvp(lambda r: ijax.isotonic_regression(r, blocks="equal_values"),
                       (row,), (v,))[1]
        # jaxopt's JVP given the (same) solution: its forward fails on current JAX.
        theirs = jaxopt_isotonic._jvp_isotonic_l2_jax_pav(fit, v)
        np.testing.assert_allclose(ours, theirs, atol=1e-7)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4)])
def test_empty_in_empty_out_with_gradients(shape):
    for blocks in ("solver", "equal_values"):
        def total(y, w):
            return ijax.isotonic_regression(y, weights=w, blocks=blocks).sum()

        grad_y, grad_w = jax.grad(total, argnums=(0, 1))(jnp.zeros(shape),
                                                         jnp.ones(shape[-1]))
        assert grad_y.shape == shape and grad_w.shape == (shape[-1],)


def test_tie_conventions_on_the_documented_example():
    y = jnp.array([1.0, 1.0, 2.0])
    np.testing.assert_array_equal(jax.jacfwd(ijax.isotonic_regression)(y), np.eye(3))
    merged = jax.jacrev(lambda y: ijax.isotonic_regression(y, blocks="equal_values"))(y)
    np.testing.assert_array_equal(merged, [[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1]])


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_is_computed_in_float32_and_returned_as_given(dtype):
    for case in CASES:  # every solver and option of the shared table
        y = jnp.asarray(case.y, dtype=dtype)
        w = None if case.w is None else jnp.asarray(case.w, dtype=dtype)
        fit = case.call(ijax, y, w)
        assert fit.dtype == dtype, case.id
        in_float32 = case.call(ijax, y.astype(jnp.float32),
                               None if w is None else w.astype(jnp.float32))
        np.testing.assert_array_equal(fit, in_float32.astype(dtype))
        grad = jax.grad(lambda y: case.call(ijax, y, w).astype(jnp.float32).sum())(y)
        assert grad.dtype == dtype and np.all(np.isfinite(grad.astype(jnp.float32)))
    mass = mixup_mass([0, 1, 2], [3, 3, 3], 0.7, 6)
    y32 = jnp.asarray(np.random.default_rng(6).normal(size=(3, 6)), dtype=jnp.float32)
    student = (y32 * 1e4).astype(dtype)
    loss = ijax.kd_loss(student, -student, mass)
    assert loss.dtype == jnp.float32 and np.isfinite(loss)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64])
@pytest.mark.parametrize("ida", ["exact", "approx", "shift", "penalty", None])
def test_kd_loss_matches_the_numpy_reference_and_torch(dtype, ida):
    mass, student64, teacher64 = kd_problem()
    student, teacher = jnp.asarray(student64, dtype), jnp.asarray(teacher64, dtype)
    options = dict(temperature=3.0, alpha=0.7, ida=ida, n_iter=1 if ida == "approx" else None)
    loss = ijax.kd_loss(student, teacher, mass, reduction="none", **options)
    s, t = np.asarray(student, np.float64), np.asarray(teacher, np.float64)
    fitted = t if ida in (None, "penalty") else isotonic_logits(
        t, mass, method=ida, n_iter=options["n_iter"])
    expected = kd_reference(s, fitted, mass, 3.0, 0.7)
    if ida == "penalty":
        expected = expected + np.asarray(ijax.kd_penalty(jnp.asarray(s), mass))
    rtol = {jnp.float64: 1e-12, jnp.float32: 1e-5}.get(dtype, 1e-3)
    np.testing.assert_allclose(np.asarray(loss, np.float64), expected, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ijax.kd_loss(student, teacher, mass, reduction="sum", **options),
                               loss.sum(), rtol=1e-6)

    def mean_loss(s, t):
        return ijax.kd_loss(s, t, mass, **options)

    value, (g_student, g_teacher) = jax.value_and_grad(mean_loss, argnums=(0, 1))(student,
                                                                                 teacher)
    np.testing.assert_allclose(value, loss.mean(), rtol=1e-6)
    assert np.all(np.isfinite(np.asarray(g_student, np.float64)))
    assert not np.any(np.asarray(g_teacher, np.float64))  # the teacher carries no gradient
    np.testing.assert_allclose(jax.jit(mean_loss)(student, teacher), value, rtol=1e-6)
    torch = pytest.importorskip("torch")
    import isotree.torch as itorch

    torch_loss = itorch.kd_loss(torch.tensor(s), torch.tensor(t), mass, reduction="none",
                                **options)
    if dtype == jnp.float64:
        np.testing.assert_allclose(loss, torch_loss.numpy(), rtol=1e-12)


def test_errors_outside_jit_nan_inside_and_no_silent_zero_derivative():
    with pytest.raises(ValueError, match=r"y must be finite; y\[1\] is nan"):
        ijax.isotonic_regression(jnp.array([0.0, jnp.nan, 1.0]))
    with pytest.raises(ValueError, match="parent contains a cycle"):
        ijax.tree_isotonic_regression(jnp.zeros(3), [-1, 2, 1])
    with pytest.raises(ValueError, match=r"mass must be >= 0"):
        ijax.isotonic_logits(jnp.zeros((1, 3)), jnp.array([[1.0, -1.0, 0.0]]))
    with pytest.raises(ValueError, match="ties='tertiary' needs a predictor x"):
        ijax.isotonic_regression(jnp.zeros(3), ties="tertiary")
    with pytest.raises(ValueError, match="blocks must be one of"):
        ijax.star_isotonic_regression(jnp.zeros(3), blocks="solver_blocks")
    with pytest.raises(ValueError, match=r"integer labels must be in \[0, 3\)"):
        ijax.isotonic_logits(jnp.zeros((1, 3)), jnp.array([5]))
    with pytest.raises(TypeError):
        ijax.isotonic_regression(jnp.zeros(2), jnp.ones(2))  # weights are keyword-only
    fit = jax.jit(ijax.isotonic_regression)(jnp.array([0.0, jnp.nan, 1.0]))
    assert np.all(np.isnan(fit))
    fit = jax.jit(functools.partial(ijax.isotonic_regression, axis=0))(
        jnp.array([[0.0, 1.0, 2.0], [jnp.nan, 0.0, 1.0]]))  # any axis
    assert fit.shape == (2, 3) and np.all(np.isnan(fit))
    mass = mixup_mass([0], [1], 0.7, 3)
    z = jnp.array([[1.0, 2.0, 0.0]])
    with pytest.raises(ValueError, match="has no derivative"):
        jax.grad(lambda z: ijax.isotonic_logits(z, mass, method="approx").sum())(z)
    with pytest.raises(ValueError, match="has no derivative"):
        jax.jvp(lambda z: ijax.isotonic_logits(z, mass, method="shift"), (z,), (z,))
    stopped = jax.grad(lambda z: ijax.isotonic_logits(jax.lax.stop_gradient(z), mass,
                                                      method="shift").sum() + z.sum())(z)
    np.testing.assert_array_equal(stopped, np.ones((1, 3)))
    np.testing.assert_array_equal(ijax.isotonic_logits(z, mass, method="approx", n_iter=0),
                                  isotonic_logits(np.asarray(z), mass, method="approx",
                                                  n_iter=0))


def test_parent_and_root_must_be_concrete():
    y = jnp.array([[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="root must be concrete"):
        jax.vmap(ijax.star_isotonic_regression)(y, jnp.array([0, 1]))
    with pytest.raises(ValueError, match="parent must be concrete"):
        jax.jit(ijax.tree_isotonic_regression)(y, jnp.array([-1, 0, 0]))


def test_integer_hard_labels_and_traced_mass():
    z = jnp.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    labels = jnp.array([0, 1])
    one_hot = jax.nn.one_hot(labels, 3)
    np.testing.assert_array_equal(ijax.isotonic_logits(z, labels),
                                  ijax.isotonic_logits(z, one_hot))
    np.testing.assert_allclose(ijax.kd_loss(z, 2 * z, labels), ijax.kd_loss(z, 2 * z, one_hot))
    fit = jax.jit(ijax.isotonic_logits)(z, one_hot)  # mass traced
    np.testing.assert_array_equal(fit, isotonic_logits(np.asarray(z), np.asarray(one_hot)))


def test_kd_penalty_matches_torch_definition():
    mass = mixup_mass([0], [1], 0.7, 3)
    student = jnp.log(jnp.array([[0.2, 0.2, 0.6]]))
    np.testing.assert_allclose(ijax.kd_penalty(student, mass), [0.4], rtol=1e-12)
    np.testing.assert_allclose(ijax.kd_penalty(jnp.log(jnp.array([[0.1, 0.5, 0.4]])),
                                               mixup_mass([0], [1], 0.5, 3)), [0.3], rtol=1e-12)


def test_solvers_match_numpy():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(5, 20))
    w = rng.uniform(0.5, 2.0, 20)
    parent = np.array([-1] + list(range(19)))
    np.testing.assert_allclose(ijax.tree_isotonic_regression(jnp.asarray(y), parent,
                                                             weights=w),
                               isotree.tree_isotonic_regression(y, parent, weights=w),
                               rtol=1e-12)


def test_host_only_functions_refuse_traced_arrays_by_name():
    mass = mixup_mass([0], [1], 0.7, 3)
    z = jnp.array([[1.0, 2.0, 0.0]])
    for call, name in [(lambda v: isotree.isotonic_regression(v), "isotonic_regression"),
                       (lambda v: isotree.ida.order_violations(v, mass)["rows"],
                        "ida.order_violations"),
                       (lambda v: isotree.kkt_violation(v[0], v[0], [-1, 0, 0]),
                        "kkt_violation")]:
        with pytest.raises(TypeError, match=f"isotree.{name} runs on the host and needs "
                                            "concrete arrays"):
            jax.jit(call)(z)
    assert isotree.ida.order_violations(z, mass)["rows"] == 1  # concrete arrays are fine
