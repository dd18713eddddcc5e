"""Doctest collection: the adapters need their optional libraries."""

import importlib.util

collect_ignore = ["docs/conf.py"]
for module, path in (("torch", "isotree/torch.py"), ("jax", "isotree/jax.py")):
    if importlib.util.find_spec(module) is None:
        collect_ignore.append(path)
