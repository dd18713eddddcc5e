"""Doctest collection: the adapters and their guide need their optional libraries."""

import importlib.util

collect_ignore = ["docs/conf.py"]
missing = {m for m in ("torch", "jax") if importlib.util.find_spec(m) is None}
for module in missing:
    collect_ignore.append(f"isotree/{module}.py")
if missing:
    collect_ignore.append("docs/autodiff.rst")
if "torch" in missing:
    collect_ignore.append("docs/kd.rst")
