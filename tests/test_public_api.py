"""Every public function is documented with a runnable example and keeps its inputs."""

import importlib
import importlib.util
import inspect

import numpy as np
import pytest

import isotree

MODULES = ["isotree", "isotree.ida", "isotree.testing", "isotree.torch", "isotree.jax"]


def public_objects():
    for name in MODULES:
        if name.split(".")[-1] in ("torch", "jax") and importlib.util.find_spec(
                name.split(".")[-1]) is None:
            continue
        module = importlib.import_module(name)
        for attr in module.__all__:
            yield f"{name}.{attr}", getattr(module, attr)
    # Loaded on first use (it needs scikit-learn), so not in isotree.__all__.
    if importlib.util.find_spec("sklearn") is not None:
        yield "isotree.IsotonicRegression", isotree.IsotonicRegression


@pytest.mark.parametrize("name, obj", list(public_objects()), ids=lambda x: str(x))
def test_documented_with_an_example(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert "Examples" in doc and ">>>" in doc, f"{name} has no example in its docstring"


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, isotree; isotree.isotonic_regression([2.0, 1.0]); "
            "print(sorted(m for m in ('torch', 'jax', 'cupy', 'array_api_compat', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_no_public_function_mutates_its_inputs():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(2, 8))
    w = rng.uniform(0.5, 2.0, 8)
    mass = isotree.ida.mixup_mass([0, 1], [2, 3], 0.7, 8)
    parent = np.array([-1, 0, 0, 1, 1, 2, 2, 3])
    x = np.array([0, 1, 1, 2, 3, 3, 4, 5])
    copies = [a.copy() for a in (y, w, mass, parent, x)]
    isotree.isotonic_regression(y, weights=w, x=x, ties="tertiary", increasing=False)
    isotree.tree_isotonic_regression(y, parent, weights=w, return_blocks=True)
    isotree.star_isotonic_regression(y, 3, weights=w, return_blocks=True)
    isotree.kkt_violation(y, y, parent, weights=w)
    for method in ("exact", "approx", "shift"):
        isotree.ida.isotonic_logits(y, mass, method=method)
    isotree.ida.order_violations(y, mass)
    for before, after in zip(copies, (y, w, mass, parent, x)):
        np.testing.assert_array_equal(before, after)
