"""Sphinx configuration for the isotree documentation."""

import importlib.util

import isotree

project = "isotree"
author = "The isotree developers"
copyright = "2026, The isotree developers"
version = release = isotree.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.extlinks",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# The adapters' libraries are optional: document them without installing them.
autodoc_mock_imports = [m for m in ("torch", "jax") if importlib.util.find_spec(m) is None]
# No intersphinx: CI builds offline.
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = "isotree"
