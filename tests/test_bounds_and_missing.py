"""Bounds on every solver, and weights of 0 as missing observations.

Bounds are checked against an independent bounded QP (SciPy's SLSQP: the fit must be
feasible and its objective no worse); under tertiary ties the bounds apply to the tie
groups' means. A zero-weight entry must move no other fit (the others equal the QP oracle's
fit of the problem without it, the order through it kept transitively), the whole fit must
be feasible, and its own value must be the documented one: the largest fit among the
positive-weight entries below it in the order, else the smallest fit of its problem.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import isotree
from isotree.testing import qp_isotonic

from .strategies import examples, forests, values, weights

# --- the orders as edges (u, v): fit[u] >= fit[v] ---------------------------------------


def chain_edges(n, increasing):
    i = np.arange(n - 1)
    return np.stack([i + 1, i] if increasing else [i, i + 1], axis=1).reshape(-1, 2)


def tree_edges(parent, increasing):
    child = np.flatnonzero(parent >= 0)
    pairs = [child, parent[child]] if increasing else [parent[child], child]
    return np.stack(pairs, axis=1).reshape(-1, 2)


def predictor_edges(x, increasing, tied_equal):
    above = x[:, None] > x[None, :] if increasing else x[:, None] < x[None, :]
    if tied_equal:
        above |= (x[:, None] == x[None, :]) & ~np.eye(x.size, dtype=bool)
    u, v = np.nonzero(above)
    return np.stack([u, v], axis=1).reshape(-1, 2)


def closure(n, edges):
    """``reach[u, v]``: u >= v in the transitive closure of ``edges``."""
    reach = np.zeros((n, n), dtype=bool)
    reach[edges[:, 0], edges[:, 1]] = True
    for k in range(n):
        reach |= reach[:, [k]] & reach[[k], :]
    return reach


def assert_missing_observations(y, w, fit, edges):
    """The fit of a problem with zero weights, against the oracle and the rule."""
    n = y.size
    positive = w > 0
    reach = closure(n, edges)
    keep = np.flatnonzero(positive)
    index = np.full(n, -1)
    index[keep] = np.arange(keep.size)
    u, v = np.nonzero(reach[np.ix_(keep, keep)])
    expected = qp_isotonic(y[keep], np.stack([u, v], axis=1).reshape(-1, 2), w[keep])
    scale = max(np.abs(y).max(), 1e-300)
    np.testing.assert_allclose(fit[keep], expected, rtol=1e-7, atol=1e-9 * scale)
    gaps = fit[edges[:, 0]] - fit[edges[:, 1]]
    assert gaps.size == 0 or gaps.min() >= -1e-12 * scale, "infeasible"
    for z in np.flatnonzero(~positive):
        below = keep[reach[z, keep]]
        rule = fit[below].max() if below.size else fit[keep].min()
        np.testing.assert_allclose(fit[z], rule, rtol=1e-12, atol=1e-12 * scale)


@st.composite
def missing_weights(draw, n):
    """Weights with zeros: at least one positive, often a zero at either end."""
    w = draw(weights(n))
    w = np.ones(n) if w is None else w.copy()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w[rng.random(n) < draw(st.sampled_from([0.2, 0.5, 0.8]))] = 0.0
    if not (w > 0).any():
        w[rng.integers(n)] = 1.0
    return w


@given(data=st.data())
@settings(max_examples=examples(60))
def test_zero_weights_on_chains_trees_and_stars(data):
    parent = data.draw(forests(min_n=1, max_n=12))
    n = parent.size
    y = data.draw(values(n))
    w = data.draw(missing_weights(n))
    increasing = data.draw(st.booleans())
    fit = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing)
    assert_missing_observations(y, w, fit, tree_edges(parent, increasing))
    fit = isotree.isotonic_regression(y, weights=w, increasing=increasing)
    assert_missing_observations(y, w, fit, chain_edges(n, increasing))
    root = data.draw(st.integers(0, n - 1))
    fit = isotree.star_isotonic_regression(y, root, weights=w, increasing=increasing)
    star = np.where(np.arange(n) == root, -1, root)
    assert_missing_observations(y, w, fit, tree_edges(star, increasing))


@given(data=st.data())
@settings(max_examples=examples(40))
def test_zero_weights_on_predictor_orders(data):
    n = data.draw(st.integers(1, 10))
    y = data.draw(values(n))
    w = data.draw(missing_weights(n))
    x = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    increasing = data.draw(st.booleans())
    for ties in ("primary", "secondary"):
        fit = isotree.isotonic_regression(y, weights=w, x=x, ties=ties, increasing=increasing)
        assert_missing_observations(y, w, fit, predictor_edges(x, increasing,
                                                               ties == "secondary"))


def random_dag_edges(n, rng):
    """About 2n random edges u -> v that respect a hidden order (so acyclic)."""
    hidden = rng.permutation(n)
    m = int(rng.integers(0, 2 * n + 1))
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    a, b = a[keep], b[keep]
    upper = np.where(a < b, a, b)
    lower = np.where(a < b, b, a)
    return np.stack([hidden[upper], hidden[lower]], axis=1).reshape(-1, 2)


@given(data=st.data())
@settings(max_examples=examples(60))
def test_zero_weights_on_dags_and_grids(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(1, 14))
    y = data.draw(values(n))
    w = data.draw(missing_weights(n))
    edges = random_dag_edges(n, rng)
    fit = isotree.dag_isotonic_regression(y, edges, weights=w)
    assert_missing_observations(y, w, fit, edges)
    # Grids with holes, two and three ordered axes, each direction.
    shape = data.draw(st.sampled_from([(n, 1), (2, 3), (3, 4), (2, 2, 3)]))
    size = int(np.prod(shape))
    y = data.draw(values(size))
    w = data.draw(missing_weights(size))
    increasing = tuple(data.draw(st.lists(st.booleans(), min_size=len(shape),
                                          max_size=len(shape))))
    fit = isotree.grid_isotonic_regression(y.reshape(shape), weights=w.reshape(shape),
                                           increasing=increasing)
    assert_missing_observations(y, w, fit.ravel(), isotree.grid_edges(shape, increasing))


def test_a_hole_in_a_grid_keeps_its_neighbours_ordered_through_it():
    # The middle column is missing: the columns either side are ordered only through it.
    y = np.array([[5.0, 7.0, 0.0],
                  [5.0, 7.0, 1.0]])
    w = np.array([[1.0, 0.0, 1.0],
                  [1.0, 0.0, 1.0]])
    fit, blocks = isotree.grid_isotonic_regression(y, weights=w, return_blocks=True)
    # Each row pools across the hole (without the order through it, fit would be y); a
    # hole takes the largest fit below it and joins that cell's block.
    np.testing.assert_array_equal(fit, [[2.5, 2.5, 2.5], [3.0, 3.0, 3.0]])
    np.testing.assert_array_equal(blocks, [[0, 0, 0], [3, 3, 3]])
    fit = isotree.grid_isotonic_regression(y, weights=w, increasing=(True, False))
    np.testing.assert_array_equal(fit, [[5.0, 0.0, 0.0], [5.0, 1.0, 1.0]])
    # A batch whose problems have different holes equals the problems one by one.
    ys = np.stack([y, y[::-1], -y])
    ws = np.stack([w, np.ones((2, 3)), np.where(y == 0.0, 0.0, 1.0)])
    batch = isotree.grid_isotonic_regression(ys, weights=ws, axes=(1, 2))
    for k in range(3):
        np.testing.assert_array_equal(
            batch[k], isotree.grid_isotonic_regression(ys[k], weights=ws[k]))


def test_zero_weights_keep_tertiary_offsets_and_move_nothing():
    y = np.array([1.0, 4.0, 2.0, 3.0, 0.0, 9.0])
    x = np.array([1, 2, 2, 3, 2, 4])
    w = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    fit = isotree.isotonic_regression(y, weights=w, x=x, ties="tertiary")
    alone = isotree.isotonic_regression(y[:4], weights=w[:4], x=x[:4], ties="tertiary")
    np.testing.assert_array_equal(fit[:4], alone)
    assert fit[4] == y[4] + (fit[1] - y[1])  # the offset from its tie group's shift
    # Alone at its x: the largest value the order compares below it, a group's mean (the
    # group at x = 2 has fits 4 and 2, mean 3), not an entry's fit.
    assert fit[5] == 3.0 == fit[1:3].mean()


def test_missing_entries_of_a_chain_join_the_block_below_them():
    y = np.array([[3.0, 0.0, 1.0, 5.0, 4.0]] * 2)
    w = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    fit, blocks = isotree.isotonic_regression(y, weights=w, return_blocks=True)
    np.testing.assert_array_equal(fit, [[2.0, 2.0, 2.0, 2.0, 4.0]] * 2)
    np.testing.assert_array_equal(blocks, [[0, 0, 0, 0, 4]] * 2)
    # Falling: below an entry are the entries after it; entry 1 is above {2, 4} (2.5).
    fit, blocks = isotree.isotonic_regression(y, weights=w, increasing=False,
                                              return_blocks=True)
    np.testing.assert_array_equal(fit, [[3.0, 2.5, 2.5, 2.5, 2.5]] * 2)
    np.testing.assert_array_equal(blocks, [[0, 2, 2, 2, 2]] * 2)


def test_derivatives_treat_a_missing_observation_as_a_member_of_weight_zero():
    torch = pytest.importorskip("torch")
    import isotree.torch as itorch

    y = torch.tensor([3.0, 0.0, 1.0, 5.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    fit = itorch.isotonic_regression(y, weights=w)
    np.testing.assert_array_equal(fit.detach(), [2.0, 2.0, 2.0, 5.0])
    fit[1].backward()  # the missing entry copies the block {0, 2}: 1/2 each
    np.testing.assert_array_equal(y.grad, [0.5, 0.0, 0.5, 0.0])


def test_tertiary_derivatives_with_a_missing_observation_alone_at_its_x():
    # Entry 4 is alone at x = 4 with weight 0: it takes the largest group mean below it
    # (the group at x = 3, entry 3), so its derivative is entry 3's.
    torch = pytest.importorskip("torch")
    import isotree.torch as itorch

    y = torch.tensor([1.0, 4.0, 2.0, 3.0, 9.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    x = torch.tensor([1, 2, 2, 3, 4])
    fit = itorch.isotonic_regression(y, weights=w, x=x, ties="tertiary")
    np.testing.assert_array_equal(fit.detach(), [1.0, 4.0, 2.0, 3.0, 3.0])
    fit.sum().backward()
    np.testing.assert_array_equal(y.grad, [1.0, 1.0, 1.0, 2.0, 0.0])
    # Against finite differences in y, every direction (a pooled block, a missing entry
    # tied with observed ones, one alone; weights of 0 cannot be perturbed both ways).
    y = torch.tensor([1.0, 4.0, 2.0, 0.5, 9.0, 2.5], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, 2.0, 1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    x = torch.tensor([1, 2, 2, 3, 4, 2])
    assert torch.autograd.gradcheck(
        lambda y: itorch.isotonic_regression(y, weights=w, x=x, ties="tertiary"), (y,))


# --- bounds ----------------------------------------------------------------------------------


def bounded_qp(y, w, edges, low, high, groups=None):
    """SLSQP on min sum w (f - y)^2 with the order and the bounds; under ``groups`` (tie
    group ids, tertiary ties) the order and the bounds apply to the groups' weighted means."""
    scale = max(np.abs(y).max(), 1.0)
    y0 = y / scale
    if groups is None:
        def value(f):
            return f
    else:
        ids = np.unique(groups)
        member = (groups[None, :] == ids[:, None]) * w[None, :]
        member = member / member.sum(axis=1, keepdims=True)

        def value(f):
            return member @ f

    constraints = [{"type": "ineq", "fun": lambda f: value(f)[edges[:, 0]] - value(f)[edges[:, 1]]}
                   ] if edges.size else []
    if low is not None:
        constraints.append({"type": "ineq", "fun": lambda f: value(f) - low / scale})
    if high is not None:
        constraints.append({"type": "ineq", "fun": lambda f: high / scale - value(f)})
    result = minimize(lambda f: np.sum(w * (f - y0) ** 2), y0, method="SLSQP",
                      jac=lambda f: 2 * w * (f - y0), constraints=constraints,
                      options={"ftol": 1e-14, "maxiter": 500})
    return result.x * scale


def objective(y, w, f):
    return float(np.sum(w * (f - y) ** 2))


@given(data=st.data())
@settings(max_examples=examples(40))
def test_bounds_on_every_solver_against_a_bounded_qp(data):
    parent = data.draw(forests(min_n=2, max_n=9))
    n = parent.size
    y = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).normal(size=n) * 3
    w = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).uniform(0.5, 2.0, n)
    low, high = np.sort(data.draw(st.lists(st.floats(-2, 2), min_size=2, max_size=2)))
    bounds = data.draw(st.sampled_from([(low, None), (None, high), (low, high)]))
    increasing = data.draw(st.booleans())
    root = data.draw(st.integers(0, n - 1))
    star = np.where(np.arange(n) == root, -1, root)
    cases = [
        (isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing,
                                          y_min=bounds[0], y_max=bounds[1]),
         tree_edges(parent, increasing)),
        (isotree.star_isotonic_regression(y, root, weights=w, increasing=increasing,
                                          y_min=bounds[0], y_max=bounds[1]),
         tree_edges(star, increasing)),
        (isotree.isotonic_regression(y, weights=w, increasing=increasing, y_min=bounds[0],
                                     y_max=bounds[1]), chain_edges(n, increasing)),
    ]
    dag = random_dag_edges(n, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    cases.append((isotree.dag_isotonic_regression(y, dag, weights=w, y_min=bounds[0],
                                                  y_max=bounds[1]), dag))
    if n % 2 == 0:
        shape = (2, n // 2)
        fit = isotree.grid_isotonic_regression(y.reshape(shape), weights=w.reshape(shape),
                                               increasing=(increasing, True),
                                               y_min=bounds[0], y_max=bounds[1])
        cases.append((fit.ravel(), isotree.grid_edges(shape, (increasing, True))))
    for fit, edges in cases:
        assert fit.min() >= (bounds[0] if bounds[0] is not None else -np.inf)
        assert fit.max() <= (bounds[1] if bounds[1] is not None else np.inf)
        assert edges.size == 0 or (fit[edges[:, 0]] - fit[edges[:, 1]]).min() >= -1e-12
        qp = bounded_qp(y, w, edges, *bounds)
        assert objective(y, w, fit) <= objective(y, w, qp) + 1e-7 * (1 + objective(y, w, qp))


@given(data=st.data())
@settings(max_examples=examples(30))
def test_tertiary_ties_bound_the_group_means_exactly(data):
    n = data.draw(st.integers(2, 9))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    y = rng.normal(size=n) * 3
    w = rng.uniform(0.5, 2.0, n)
    x = rng.integers(0, 4, n)
    low, high = np.sort(rng.uniform(-2, 2, 2))
    increasing = data.draw(st.booleans())
    fit = isotree.isotonic_regression(y, weights=w, x=x, ties="tertiary", y_min=low,
                                      y_max=high, increasing=increasing)
    ids = np.unique(x)
    means = np.array([np.sum(w[x == g] * fit[x == g]) / w[x == g].sum() for g in ids])
    assert means.min() >= low - 1e-12 and means.max() <= high + 1e-12
    steps = np.diff(means) if increasing else -np.diff(means)
    assert steps.size == 0 or steps.min() >= -1e-12  # the group means are ordered
    offsets = fit - y
    for g in ids:  # every entry keeps its offset from its group's mean
        np.testing.assert_allclose(offsets[x == g], offsets[x == g][0], atol=1e-12)
    edges = predictor_edges(ids, increasing, tied_equal=False)
    group_of = np.searchsorted(ids, x)
    qp = bounded_qp(y, w, edges, low, high, groups=group_of)
    assert objective(y, w, fit) <= objective(y, w, qp) + 1e-7 * (1 + objective(y, w, qp))


def test_tertiary_bounds_keep_the_order_of_the_means():
    """The fit that once broke the order: the bound clipped one entry, not its group."""
    fit = isotree.isotonic_regression([0.5, 0.5, -5.0, 5.0], x=[0, 0, 1, 1], ties="tertiary",
                                      y_max=0.1)
    np.testing.assert_allclose(fit, [0.1, 0.1, -4.9, 5.1])
    means = [fit[:2].mean(), fit[2:].mean()]
    assert means[0] <= means[1] + 1e-12


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_adapters_bound_tertiary_ties_as_the_host_does(library):
    """The adapters solve without bounds and bound after: under tertiary ties they must
    clip the groups' means, as the host does, not single entries."""
    rng = np.random.default_rng(5)
    y = rng.normal(size=(6, 9)) * 3
    x = rng.integers(0, 4, 9)
    w = rng.uniform(0.5, 2.0, 9)
    w[[2, 7]] = 0.0  # missing observations, tied or alone
    expected = isotree.isotonic_regression(y, weights=w, x=x, ties="tertiary", y_min=-1.0,
                                           y_max=0.5, axis=-1)
    if library == "torch":
        torch = pytest.importorskip("torch")
        import isotree.torch as adapter

        def solve(y):
            return adapter.isotonic_regression(torch.tensor(y), weights=torch.tensor(w),
                                               x=torch.tensor(x), ties="tertiary",
                                               y_min=-1.0, y_max=0.5, axis=0).numpy()
    else:
        jax = pytest.importorskip("jax")
        import isotree.jax as adapter

        def solve(y):
            jax.config.update("jax_enable_x64", True)
            try:
                f = jax.jit(lambda v: adapter.isotonic_regression(
                    v, weights=w, x=x, ties="tertiary", y_min=-1.0, y_max=0.5, axis=0))
                return np.asarray(f(jax.numpy.asarray(y)))
            finally:
                jax.config.update("jax_enable_x64", False)
    # Along axis 0 of the transposed batch: the bounds follow the axis too.
    np.testing.assert_allclose(solve(y.T).T, expected, rtol=1e-12, atol=1e-12)
