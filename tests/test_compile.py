"""isotree inside compiled training loops: PyTorch operators, torch.compile, torch.export.

Every solver of ``isotree.torch`` is a custom operator (``torch.ops.isotree.*``): checked
with ``torch.library.opcheck``; compiled with ``fullgraph=True`` (no graph break) by the
default inductor backend and by ``aot_eager``, it must give the eager values and gradients;
a second batch size must compile once more and no further; ``torch.export`` captures a
module whose forward returns ``kd_loss``. The JAX adapters trace once per shape.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import isotree  # noqa: E402
import isotree.torch as itorch  # noqa: E402
from isotree.ida import mixup_mass  # noqa: E402

# Dynamo reads .grad of a non-leaf while tracing a loss, and inductor calls PyTorch's own
# deprecated torch.jit.script_method (torch 2.13): neither concerns isotree.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated"),
]

OPS = torch.ops.isotree
TREE = isotree.Tree([-1, 0, 0, 1, 1, 2, 2])


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _inputs(rows=4, seed=0):
    rng = np.random.default_rng(seed)
    y = torch.tensor(rng.normal(size=(rows, 7)), requires_grad=True)
    w = torch.tensor(rng.uniform(0.5, 2.0, 7))
    mass = torch.as_tensor(mixup_mass(rng.integers(0, 7, rows), rng.integers(0, 7, rows),
                                      rng.uniform(0, 1, rows), 7))
    return y, w, mass


# --- the operators -------------------------------------------------------------------------


def _op_samples():
    y, w, mass = _inputs()
    y = y.detach().requires_grad_()
    x = torch.tensor([0, 1, 1, 2, 2, 3, 4])
    roots = torch.tensor([0, 3, 6, 2])
    parent = itorch._tree_tensor(TREE, torch.device("cpu"))
    yield "chain", OPS.isotonic_regression, (y, w, None, True, "primary", -1, "solver")
    yield "chain-x-tertiary", OPS.isotonic_regression, (y, None, x, False, "tertiary", -1,
                                                        "solver")
    yield "chain-axis0", OPS.isotonic_regression, (y, None, None, True, "primary", -2,
                                                   "equal_values")
    yield "star", OPS.star_isotonic_regression, (y, w, roots, True, -1, "solver")
    yield "tree", OPS.tree_isotonic_regression, (y, w, parent, False, -1, "solver")
    yield "logits-exact", OPS.isotonic_logits, (y, mass, "exact", 0, "solver", True)
    yield "logits-approx", OPS.isotonic_logits, (y.detach(), mass, "approx", 2, "solver",
                                                 False)
    yield "logits-shift", OPS.isotonic_logits, (y.detach(), mass, "shift", 0, "solver", False)
    for method, n_iter in (("exact", 0), ("approx", 2), ("shift", 0)):
        yield f"logits-fit-{method}", OPS.isotonic_logits_fit, (y.detach(), mass, method,
                                                               n_iter)
    _, labels = isotree.isotonic_regression(y.detach().numpy(), return_blocks=True)
    yield "block_vjp", OPS.block_vjp, (torch.ones_like(y.detach()), torch.from_numpy(labels),
                                       y.detach(), w, True)


@pytest.mark.parametrize("name, op, args", list(_op_samples()),
                         ids=[name for name, _, _ in _op_samples()])
def test_operators_pass_opcheck(name, op, args):
    torch.library.opcheck(op, args)


# --- torch.compile ------------------------------------------------------------------------------


def _solvers(w, mass):
    x = torch.tensor([0, 1, 1, 2, 2, 3, 4])
    return {
        "chain": lambda y: itorch.isotonic_regression(y),
        "chain-weights-bounds": lambda y: itorch.isotonic_regression(y, weights=w, y_min=-0.5),
        "chain-ties": lambda y: itorch.isotonic_regression(y, x=x, ties="tertiary"),
        "chain-axis0": lambda y: itorch.isotonic_regression(y, axis=0, increasing=False),
        "tree": lambda y: itorch.tree_isotonic_regression(y, TREE, weights=w),
        "tree-list": lambda y: itorch.tree_isotonic_regression(y, [-1, 0, 0, 1, 1, 2, 2]),
        "star": lambda y: itorch.star_isotonic_regression(y, 2, weights=w),
        "isotonic_logits": lambda y: itorch.isotonic_logits(y, mass),
    }


def _kd_losses(mass):
    return {f"kd_loss-{ida}": (lambda ida: lambda y: itorch.kd_loss(
        y, 2 * y.detach() + 1, mass, ida=ida, temperature=2.0))(ida)
        for ida in ("exact", "approx", "shift", "penalty", None)}


def _assert_compiles_like_eager(function, backend, y):
    expected = function(y)
    (expected_grad,) = torch.autograd.grad(expected.sum(), y)
    compiled = torch.compile(function, fullgraph=True, backend=backend)
    got = compiled(y)
    (got_grad,) = torch.autograd.grad(got.sum(), y)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_grad, expected_grad, rtol=1e-12, atol=1e-12)


CASES = list(_solvers(None, None)) + list(_kd_losses(None))


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
@pytest.mark.parametrize("case", CASES)
def test_fullgraph_compile_matches_eager(case, backend):
    y, w, mass = _inputs()
    functions = {**_solvers(w, mass), **_kd_losses(mass)}
    _assert_compiles_like_eager(functions[case], backend, y)


def test_kd_loss_has_no_graph_break():
    y, _, mass = _inputs()
    for ida in ("exact", "approx", "shift", "penalty", None):
        explanation = torch._dynamo.explain(
            lambda y: itorch.kd_loss(y, y.detach(), mass, ida=ida))(y)
        assert explanation.graph_break_count == 0, explanation.break_reasons
        assert explanation.graph_count == 1


def test_a_second_batch_size_compiles_once_more_and_no_further():
    compiled = torch.compile(lambda y, mass: itorch.kd_loss(y, y.detach(), mass),
                             fullgraph=True, backend="aot_eager")
    for rows in (4, 8):  # the second size makes the batch dimension dynamic
        y, _, mass = _inputs(rows, seed=rows)
        compiled(y, mass).backward()
    with torch.compiler.set_stance("fail_on_recompile"):
        for rows in (5, 16, 3):
            y, _, mass = _inputs(rows, seed=rows)
            loss = compiled(y, mass)
            torch.testing.assert_close(loss, itorch.kd_loss(y, y.detach(), mass))


def test_a_compiled_training_step_matches_eager():
    def make():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(),
                                   torch.nn.Linear(16, 7)).double()

    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(6, 5)))
    teacher = torch.tensor(rng.normal(size=(6, 7)))
    mass = torch.as_tensor(mixup_mass(rng.integers(0, 7, 6), rng.integers(0, 7, 6), 0.7, 7))
    losses = []
    for compile_step in (False, True):
        model = make()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

        def step():
            optimizer.zero_grad()
            loss = itorch.kd_loss(model(x), teacher, mass)
            loss.backward()
            optimizer.step()
            return loss.detach()

        run = torch.compile(step) if compile_step else step
        losses.append(torch.stack([run() for _ in range(3)]))
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-10, atol=1e-12)


def test_export_of_a_student_whose_forward_returns_kd_loss():
    class Student(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(5, 7)

        def forward(self, x, teacher, mass):
            return itorch.kd_loss(self.linear(x), teacher, mass)

    torch.manual_seed(0)
    student = Student()
    _, _, mass = _inputs()
    x, teacher = torch.randn(4, 5), torch.randn(4, 7)
    mass = mass.float()
    exported = torch.export.export(student, (x, teacher, mass))
    assert "isotree.isotonic_logits_fit" in str(exported.graph)  # the detached teacher
    torch.testing.assert_close(exported.module()(x, teacher, mass), student(x, teacher, mass))


def test_compiled_errors_are_the_eager_errors():
    compiled = torch.compile(lambda y: itorch.isotonic_regression(y), fullgraph=True,
                             backend="aot_eager")
    with pytest.raises(ValueError, match=r"y must be finite; y\[1\] is nan"):
        compiled(torch.tensor([0.0, float("nan"), 1.0]))
    tree = torch.compile(lambda y, p: itorch.tree_isotonic_regression(y, p), fullgraph=True,
                         backend="aot_eager")
    with pytest.raises(Exception, match="parent must be concrete under torch.compile"):
        tree(torch.zeros(3), torch.tensor([-1, 0, 0]))
    _, _, mass = _inputs()
    approx = torch.compile(lambda z: itorch.isotonic_logits(z, mass, method="approx").sum(),
                           fullgraph=True, backend="aot_eager")
    with pytest.raises(Exception, match="is a correction, not a projection"):
        approx(torch.randn(mass.shape, dtype=mass.dtype, requires_grad=True)).backward()


# --- JAX ------------------------------------------------------------------------------------------


def test_jax_traces_once_per_shape():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    import isotree.jax as ijax

    traces = []

    def loss(student, teacher, mass):
        traces.append(student.shape)
        return ijax.kd_loss(student, teacher, mass)

    step = jax.jit(jax.value_and_grad(loss))
    solve = jax.jit(jax.vmap(lambda y: ijax.isotonic_regression(y) + ijax.tree_isotonic_regression(
        y, [-1, 0, 0, 1]) + ijax.star_isotonic_regression(y)))
    rng = np.random.default_rng(2)
    for _ in range(3):
        mass = mixup_mass(rng.integers(0, 4, 8), rng.integers(0, 4, 8), 0.7, 4)
        student, teacher = (jnp.asarray(rng.normal(size=(8, 4))) for _ in range(2))
        step(student, teacher, jnp.asarray(mass))
        solve(student)
    assert traces == [(8, 4)]
    assert step._cache_size() == 1 and solve._cache_size() == 1
