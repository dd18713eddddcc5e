"""Doctest collection: the adapters and their guide need their optional libraries."""

import importlib.util

collect_ignore = ["docs/conf.py"]
# Build outputs: the gallery's copies of the examples and the downloadable scripts.
collect_ignore_glob = ["docs/_build/*", "docs/auto_examples/*", "docs/generated/*"]
missing = {m for m in ("torch", "jax") if importlib.util.find_spec(m) is None}
for module in missing:
    collect_ignore.append(f"isotree/{module}.py")
if missing:
    collect_ignore.append("docs/autodiff.rst")
# The recipe page needs Dask.
if any(importlib.util.find_spec(m) is None for m in ("dask", "distributed", "xarray")):
    collect_ignore.append("docs/dask.rst")
# The scikit-learn estimator (the "sklearn" extra).
if importlib.util.find_spec("sklearn") is None:
    collect_ignore += ["isotree/estimator.py", "docs/coming_from.rst"]
if "torch" in missing:
    collect_ignore.append("docs/kd.rst")

# Examples that need a library isotree never imports itself: skipped without it.
_DOCTEST_NEEDS = {"isotree.tree.Tree.from_dataframe": "pandas",
                  "isotree.tree.Tree.from_networkx": "networkx"}


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        module = _DOCTEST_NEEDS.get(item.name)
        if module is not None and importlib.util.find_spec(module) is None:
            item.add_marker(pytest.mark.skip(reason=f"the example needs {module}"))
