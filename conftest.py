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
if "torch" in missing:
    collect_ignore.append("docs/kd.rst")
