"""Sphinx configuration for the isotree documentation.

The build needs no network: cross-references to NumPy, SciPy, PyTorch and JAX resolve
through inventories compiled from ``docs/intersphinx/*.txt`` (see that folder's README), and
MathJax is served from the build (``sphinx-mathjax-offline``).
"""

import importlib.util
import os
import zlib
from pathlib import Path

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
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static: math renders offline
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "intersphinx", "auto_examples/**/*.ipynb",
                    "auto_examples/**/*.py", "auto_examples/**/*.zip"]
nitpicky = True

# API pages -----------------------------------------------------------------------------
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# The signatures carry type hints for type checkers; the docstrings document the types.
autodoc_typehints = "none"
# The adapters' libraries are optional: their API pages build without them (the docs
# extra installs none of them; a bare "torch" requirement would pull a multi-GB CUDA build).
autodoc_mock_imports = [m for m in ("torch", "jax", "array_api_compat")
                        if importlib.util.find_spec(m) is None]
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

# Cross-references to other projects, offline ---------------------------------------------
# Each docs/intersphinx/NAME.txt lists the objects this documentation links to, one line
# per object in objects.inv's own format. They are compiled into inventories in the build
# folder, so CI needs no network; ISOTREE_DOCS_INTERSPHINX=online fetches the projects' full
# inventories instead (to check a new reference before adding it to a list).
INTERSPHINX = {
    "numpy": ("NumPy", "https://numpy.org/doc/stable/"),
    "scipy": ("SciPy", "https://docs.scipy.org/doc/scipy/"),
    "torch": ("PyTorch", "https://docs.pytorch.org/docs/stable/"),
    "jax": ("JAX", "https://docs.jax.dev/en/latest/"),
    "sklearn": ("scikit-learn", "https://scikit-learn.org/stable/"),
}


def _compiled_inventory(name, project_name):
    """Write docs/intersphinx/NAME.txt as a zlib-compressed objects.inv; return its path."""
    here = Path(__file__).parent
    lines = [line for line in (here / "intersphinx" / f"{name}.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    header = (f"# Sphinx inventory version 2\n# Project: {project_name}\n# Version: \n"
              "# The remainder of this file is compressed using zlib.\n").encode()
    target = here / "_build" / "intersphinx" / f"{name}.inv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(header + zlib.compress(("\n".join(lines) + "\n").encode()))
    return str(target)


if os.environ.get("ISOTREE_DOCS_INTERSPHINX") == "online":
    intersphinx_mapping = {name: (url, None) for name, (_, url) in INTERSPHINX.items()}
else:
    intersphinx_mapping = {name: (url, _compiled_inventory(name, title))
                           for name, (title, url) in INTERSPHINX.items()}

# Gallery --------------------------------------------------------------------------------


def _why_a_dag_cannot_be_solved():
    """None where isotree solves a partial order here, else the ImportError's message
    (the max-flow library is optional)."""
    try:
        isotree.grid_isotonic_regression([[3.0, 2.0], [1.0, 0.0]])  # pools all four
    except ImportError as error:
        return str(error)
    return None


def _why_pytorch_is_missing():
    """None where PyTorch is installed, else what to install (the docs extra has none)."""
    if importlib.util.find_spec("torch") is None:
        return ('it needs PyTorch, which is not installed here (``pip install ".[torch]"`` '
                "in the clone; the README says how to get the CPU build)")
    return None


# Examples that need an optional library, and why they cannot run here (None: they can).
# One that cannot run is shown with its code, not run, under a note saying why; the figures
# it would draw are sphinx-gallery's placeholder (``sphinx_gallery_dummy_images`` in the
# example), so pages that show them still build.
NEEDS_AN_EXTRA = {"plot_bivariate_dose_response": _why_a_dag_cannot_be_solved(),
                  "plot_kd_compiled": _why_pytorch_is_missing()}
NOT_RUN = {name: why for name, why in NEEDS_AN_EXTRA.items() if why}
_not_run = "".join(rf"(?!{name}\.py$)" for name in NOT_RUN)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": rf"/{_not_run}plot_",
    # Scripts that are not gallery examples: a console demo, and the PyTorch KD run (about
    # 20 s, needs scikit-learn), which docs/kd.rst quotes instead.
    "ignore_pattern": r"(quickstart|kd_digits)\.py$",
    "subsection_order": ["../examples/statistics", "../examples/distillation",
                         "../examples/benchmarks"],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("isotree",),
    "reference_url": {"isotree": None},
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "image_srcset": ["2x"],
    "show_memory": False,
    "default_thumb_file": None,
    "matplotlib_animations": False,
    # The timing pages load their table script from a CDN: not offline, and noise to readers.
    "write_computation_times": False,
}

# HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "isotree"
html_static_path = ["_static"]
html_css_files = ["isotree.css"]
html_js_files = ["isotree.js"]
html_theme_options = {
    "logo": {"text": "isotree"},
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # sg_download_links shows only on gallery examples: their .py and .ipynb downloads.
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# Without a default the theme logs "Got invalid theme mode" on a reader's first visit.
html_context = {"default_mode": "auto"}
# Pages without a section to list are full width; the others list their section's pages.
html_sidebars = {"index": [], "auto_examples/index": [], "benchmarks": [], "changelog": []}
html_show_sourcelink = True


def _note_examples_not_run(app, docname, source):
    """Put the note under the title of each gallery example that was not run."""
    name = docname.rsplit("/", 1)[-1]
    if not docname.startswith("auto_examples/") or name not in NOT_RUN:
        return
    title_end = source[0].index("\n=")  # the title's underline
    title_end = source[0].index("\n", title_end + 1)
    note = (f"\n\n.. note::\n\n   This example was not run in this build of the "
            f"documentation, so it shows no output or figure: {NOT_RUN[name]}\n")
    source[0] = source[0][:title_end] + note + source[0][title_end:]


def setup(app):
    app.connect("source-read", _note_examples_not_run)
