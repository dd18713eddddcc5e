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


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_draws_a_figure(path, monkeypatch, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    if "sklearn" in path.read_text() and importlib.util.find_spec("sklearn") is None:
        pytest.skip("the example needs scikit-learn (the sklearn extra)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(path.parent)  # sphinx-gallery runs each example in its folder
    plt.close("all")
    try:
        runpy.run_path(str(path), run_name="__main__")
        figures = [plt.figure(n) for n in plt.get_fignums()]
        assert figures, f"{path.name} drew no figure"
        for figure in figures:
            figure.canvas.draw()  # render, so a broken artist fails here, not in the docs
            assert figure.axes and any(ax.has_data() for ax in figure.axes)
    finally:
        plt.close("all")
    assert capsys.readouterr().out, f"{path.name} printed nothing to show under its code"


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
