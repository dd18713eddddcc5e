import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import isotree  # noqa: E402
import isotree.jax as ijax  # noqa: E402
from isotree.ida import isotonic_logits, mixup_mass  # noqa: E402

from .strategies import make_parent, relabel  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def float64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def grads(func, *args):
    check_grads(func, args, order=1, modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)


def test_gradients_of_every_solver():
    rng = np.random.default_rng(0)
    y, w = jnp.asarray(rng.normal(size=(3, 12))), jnp.asarray(rng.uniform(0.5, 2.0, 12))
    grads(lambda y, w: ijax.isotonic_regression(y, w), y, w)
    grads(lambda y, w: ijax.isotonic_regression(y, w, increasing=False, y_min=-0.2,
                                                y_max=0.5), y, w)
    grads(lambda y: ijax.isotonic_regression(y, axis=0), y.T)
    x = rng.integers(0, 4, 12)
    grads(lambda y, w: ijax.isotonic_regression(y, w, x=x, ties="secondary"), y, w)
    parent = relabel(make_parent("recursive", 12, rng), rng.permutation(12))
    grads(lambda y, w: ijax.tree_isotonic_regression(y, parent, w), y, w)
    grads(lambda y, w: ijax.star_isotonic_regression(y, 4, w, increasing=False), y, w)
    mass = mixup_mass(rng.integers(0, 12, 3), rng.integers(0, 12, 3), rng.uniform(0, 1, 3), 12)
    grads(lambda z: ijax.isotonic_logits(z, mass), jnp.asarray(2 * mass) + y)


def test_values_match_numpy_under_jit_and_vmap():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(5, 20))
    w = rng.uniform(0.5, 2.0, 20)
    parent = make_parent("binary", 20, rng)
    expected = isotree.tree_isotonic_regression(y, parent, w)
    solve = jax.jit(lambda y, w: ijax.tree_isotonic_regression(y, parent, w))
    np.testing.assert_allclose(solve(jnp.asarray(y), jnp.asarray(w)), expected, rtol=1e-12)
    batched = jax.vmap(lambda row: ijax.tree_isotonic_regression(row, parent, w))
    np.testing.assert_allclose(batched(jnp.asarray(y)), expected, rtol=1e-12)
    mass = mixup_mass(rng.integers(0, 20, 5), rng.integers(0, 20, 5), rng.uniform(0, 1, 5), 20)
    fit = jax.jit(ijax.isotonic_logits)(jnp.asarray(y), jnp.asarray(mass))  # mass traced
    np.testing.assert_allclose(fit, isotonic_logits(y, mass), rtol=1e-12)
    grad = jax.jit(jax.grad(lambda y: ijax.isotonic_regression(y).sum()))(jnp.asarray(y))
    np.testing.assert_allclose(grad, np.ones_like(y), rtol=1e-12)
    per_row = jax.vmap(jax.grad(lambda row: ijax.star_isotonic_regression(row, 0)[0]))(
        jnp.asarray(y))
    assert per_row.shape == y.shape and np.all(np.isfinite(per_row))


@pytest.mark.parametrize("ida", ["exact", "approx", "shift", "penalty", None])
def test_kd_loss_is_finite_with_finite_gradients(ida):
    rng = np.random.default_rng(2)
    rows, c = 8, 10
    lam = np.where(rng.random(rows) < 0.25, 0.5, rng.uniform(0, 1, rows))
    mass = jnp.asarray(mixup_mass(rng.integers(0, c, rows), rng.integers(0, c, rows), lam, c))
    student = jnp.asarray(rng.normal(size=(rows, c)))
    teacher = jnp.asarray(3 * rng.normal(size=(rows, c)))

    def loss(s, t):
        return ijax.kd_loss(s, t, mass, temperature=3.0, alpha=0.7, ida=ida,
                            n_iter=2 if ida == "approx" else None)

    value, (g_student, g_teacher) = jax.value_and_grad(loss, argnums=(0, 1))(student, teacher)
    assert np.isfinite(value) and np.all(np.isfinite(g_student))
    assert np.all(g_teacher == 0)  # the teacher side carries no gradient
    assert np.isfinite(jax.jit(loss)(student, teacher))


def test_errors_outside_jit_and_nan_inside():
    with pytest.raises(ValueError, match=r"y must be finite; y\[1\] is nan"):
        ijax.isotonic_regression(jnp.array([0.0, jnp.nan, 1.0]))
    with pytest.raises(ValueError, match="parent contains a cycle"):
        ijax.tree_isotonic_regression(jnp.zeros(3), [-1, 2, 1])
    with pytest.raises(ValueError, match=r"mass must be >= 0"):
        ijax.isotonic_logits(jnp.zeros((1, 3)), jnp.array([[1.0, -1.0, 0.0]]))
    fit = jax.jit(ijax.isotonic_regression)(jnp.array([0.0, jnp.nan, 1.0]))
    assert np.all(np.isnan(fit))


def test_kd_penalty_matches_torch_definition():
    mass = mixup_mass([0], [1], 0.7, 3)
    student = jnp.log(jnp.array([[0.2, 0.2, 0.6]]))
    np.testing.assert_allclose(ijax.kd_penalty(student, mass), [0.4], rtol=1e-12)
