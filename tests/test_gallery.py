"""The gallery's examples run and each draws a figure; the site checker reads DevTools events.

The docs build runs the examples too (sphinx-gallery fails the build on an error); this test
catches a broken example without building the docs, under the suite's warnings-as-errors.
"""

import importlib.util
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*/plot_*.py"))


def test_gallery_has_examples():
    assert len(EXAMPLES) >= 7, [p.name for p in EXAMPLES]


def run_example(path, monkeypatch):
    """Run an example as sphinx-gallery does (in its folder); its figures.

    An example that needs an optional library that is not installed skips, naming it: the
    suite passes with the test extra alone. A missing module that is installed, or one of
    the core dependencies, is an error.
    """
    monkeypatch.chdir(path.parent)  # sphinx-gallery runs each example in its folder
    try:
        runpy.run_path(str(path), run_name="__main__")
    except ImportError as error:
        missing = next((e.name for e in (error, error.__cause__)
                        if isinstance(e, ImportError) and e.name), None)
        if (missing is None or missing.split(".")[0] in CORE
                or importlib.util.find_spec(missing.split(".")[0]) is not None):
            raise
        pytest.skip(f"{path.name} needs {missing}, which is not installed: {error}")
    import matplotlib.pyplot as plt

    return [plt.figure(n) for n in plt.get_fignums()]


# Never skipped for: what every example may import.
CORE = {"numpy", "numba", "scipy", "matplotlib", "isotree"}


# Inductor calls PyTorch's own deprecated torch.jit.script_method when an example compiles
# (torch 2.13): not the example's doing.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_draws_a_figure(path, monkeypatch, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    if "sklearn" in path.read_text() and importlib.util.find_spec("sklearn") is None:
        pytest.skip("the example needs scikit-learn (the sklearn extra)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    try:
        figures = run_example(path, monkeypatch)
        assert figures, f"{path.name} drew no figure"
        for figure in figures:
            figure.canvas.draw()  # render, so a broken artist fails here, not in the docs
            assert figure.axes and any(ax.has_data() for ax in figure.axes)
    finally:
        plt.close("all")
    assert capsys.readouterr().out, f"{path.name} printed nothing to show under its code"


def test_an_example_needing_a_missing_library_skips(tmp_path, monkeypatch):
    example = tmp_path / "plot_needs_something.py"
    example.write_text("import isotree_no_such_module\n")
    with pytest.raises(pytest.skip.Exception, match="needs isotree_no_such_module"):
        run_example(example, monkeypatch)
    example.write_text("from numpy import no_such_name\n")  # a real error, not a skip
    with pytest.raises(ImportError):
        run_example(example, monkeypatch)


def test_landing_figure_text_is_large_enough_to_read():
    """The landing page shows this figure at 3/4 of its size or more (docs/check_site.py
    checks that in a browser); 10 pt text at 100 dpi then reads as 10 pixels or more."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = ROOT / "examples" / "statistics" / "plot_tree_blocks.py"
    assert "plot_tree_blocks" in (ROOT / "docs" / "index.rst").read_text()
    plt.close("all")
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            (figure,) = run_example(path, monkeypatch)
        figure.canvas.draw()
        assert figure.get_figwidth() <= 4.5 and figure.dpi == 100
        texts = [t for t in figure.findobj(matplotlib.text.Text)
                 if t.get_visible() and t.get_text().strip()]
        assert len(texts) > 20  # node labels, legend, ticks, title
        small = sorted({(t.get_fontsize(), t.get_text()) for t in texts if t.get_fontsize() < 10})
        assert not small, small
    finally:
        plt.close("all")


def load_check_site():
    spec = importlib.util.spec_from_file_location("check_site", ROOT / "docs" / "check_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_site", module)
    spec.loader.exec_module(module)
    return module


def test_check_site_reports_console_errors_and_failed_loads():
    check_site = load_check_site()
    events = [
        {"sessionId": "s", "method": "Runtime.exceptionThrown",
         "params": {"exceptionDetails": {"text": "Uncaught", "exception": {
             "description": "TypeError: x is undefined"}}}},
        {"sessionId": "s", "method": "Runtime.consoleAPICalled",
         "params": {"type": "error", "args": [{"value": "Got invalid theme mode"}]}},
        {"sessionId": "s", "method": "Runtime.consoleAPICalled",
         "params": {"type": "log", "args": [{"value": "fine"}]}},
        {"sessionId": "s", "method": "Log.entryAdded",
         "params": {"entry": {"level": "error", "text": "404", "url": "http://h/x.png"}}},
        {"sessionId": "s", "method": "Log.entryAdded",
         "params": {"entry": {"level": "error", "text": "404", "url": "http://h/favicon.ico"}}},
        {"sessionId": "s", "method": "Network.loadingFailed",
         "params": {"errorText": "net::ERR_NAME_NOT_RESOLVED"}},
        {"sessionId": "other", "method": "Runtime.consoleAPICalled",
         "params": {"type": "error", "args": [{"value": "another tab"}]}},
    ]
    found = check_site.problems_in(events, "s")
    assert found == ["uncaught exception: TypeError: x is undefined",
                     "console.error: Got invalid theme mode",
                     "console error: 404 http://h/x.png",
                     "failed to load a resource: net::ERR_NAME_NOT_RESOLVED"]
    assert check_site.problems_in(events[2:3], "s") == []


def test_check_site_skips_cleanly_without_a_browser(monkeypatch, tmp_path, capsys):
    check_site = load_check_site()
    (tmp_path / "index.html").write_text("<html></html>")
    monkeypatch.setattr(check_site, "find_browser", lambda: None)
    assert check_site.main([str(tmp_path)]) == 0
    assert "SKIPPED" in capsys.readouterr().out
    assert check_site.main([str(tmp_path), "--require-browser"]) == 1


def test_kd_example_runs_pytorch_on_one_thread_unless_told(monkeypatch):
    """The KD example's models and batches are small: one PyTorch thread by default, as
    the threads page says for small work (a busy neighbour made two threads 10-100x
    slower per step); ``--threads`` sets another count."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("kd_digits", ROOT / "examples" / "kd_digits.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    asked = []

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(torch, "set_num_threads", asked.append)
    monkeypatch.setattr(example, "data", stop)  # the training itself is not under test
    for argv, threads in (([], 1), (["--threads", "3"], 3)):
        with pytest.raises(Stop):
            example.main(argv)
        assert asked[-1] == threads
    assert len(asked) == 2
