import csv
import io
import subprocess
import sys

import numpy as np
import pytest

import isotree
from isotree.cli import main


def run(*args):
    """Run ``python -m isotree`` in a subprocess: exit status, stdout, stderr."""
    done = subprocess.run([sys.executable, "-m", "isotree", *args], capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def write(path, text):
    path.write_text(text)
    return str(path)


def test_demo_runs():
    code, out, err = run("demo")
    assert code == 0, err
    assert "Simple tree order" in out and "IDA" in out and "approx n_iter=2" in out


def test_solve_chain_round_trip(tmp_path):
    path = write(tmp_path / "in.csv", "y,weight,name\n1,1,a\n3,1,b\n2,1,c\n4,2,d\n")
    out_path = tmp_path / "out.csv"
    assert main(["solve", path, "-o", str(out_path)]) == 0
    with out_path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["a", "b", "c", "d"]
    np.testing.assert_allclose([float(r["fit"]) for r in rows], [1, 2.5, 2.5, 4])


def test_solve_tree_predictor_and_flags(tmp_path, capsys):
    tree = write(tmp_path / "tree.csv", "y,parent\n2,-1\n0,0\n5,\n")
    assert main(["solve", tree]) == 0
    out = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    np.testing.assert_allclose([float(r["fit"]) for r in out], [1, 1, 5])
    pred = write(tmp_path / "x.csv", "y,x\n1,1\n4,2\n2,2\n3,3\n")
    assert main(["solve", pred, "--ties", "secondary", "--decreasing"]) == 0
    out = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    expected = isotree.isotonic_regression([1, 4, 2, 3], x=[1, 2, 2, 3], ties="secondary",
                                           increasing=False)
    np.testing.assert_allclose([float(r["fit"]) for r in out], expected)


@pytest.mark.parametrize("text, message", [
    ("value\n1\n", "has no column 'y'"),
    ("y\n1\nabc\n", "line 3: column 'y': 'abc' is not a valid number"),
    ("y\n1\nnan\n", "y must be finite; y[1] is nan"),
    ("y,parent\n1,1\n2,0\n", "no root"),
    ("y,parent\n1,-1\n2,2\n3,1\n", "cycle through node"),
    ("y,parent,x\n1,-1,0\n", "both 'parent' and 'x'"),
    ("y,weight\n1,0\n", "weights must be > 0"),
])
def test_solve_errors_are_one_line(tmp_path, text, message):
    code, out, err = run("solve", write(tmp_path / "bad.csv", text))
    assert code == 1
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreadable_path_and_usage(tmp_path):
    code, _, err = run("solve", str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot read" in err and "Traceback" not in err
    code, _, err = run("solve")
    assert code == 2 and "usage" in err
