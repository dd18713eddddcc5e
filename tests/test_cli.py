import csv
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import isotree
from isotree.cli import main

NOTICE = "isotree: compiling kernels (first run only)..."


def run(*args, stdin=None, env=None):
    """Run ``python -m isotree`` in a subprocess: exit status, stdout, stderr."""
    done = subprocess.run([sys.executable, "-m", "isotree", *args], capture_output=True,
                          input=stdin, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env})
    return done.returncode, done.stdout, done.stderr


def write(path, text):
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def messages(err):
    """stderr without the compile notice."""
    return [line for line in err.strip().splitlines() if line != NOTICE]


def solve(capsys, path, *options):
    """Run ``isotree solve`` in this process: exit status, output rows, stderr lines."""
    code = main(["solve", path, *options])
    captured = capsys.readouterr()
    return code, list(csv.DictReader(io.StringIO(captured.out))), messages(captured.err)


def fits(rows):
    return [float(r["fit"]) for r in rows]


def test_demo_runs():
    code, out, err = run("demo")
    assert code == 0, err
    assert "Simple tree order" in out and "IDA" in out and "approx n_iter=2" in out


def test_solve_chain_round_trip(tmp_path):
    path = write(tmp_path / "in.csv", "y,weight,name\n1,1,a\n3,1,b\n2,1,c\n4,2,d\n")
    out_path = tmp_path / "out.csv"
    assert main(["solve", path, "-o", str(out_path), "--keep", "name"]) == 0
    with out_path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["a", "b", "c", "d"]
    np.testing.assert_allclose(fits(rows), [1, 2.5, 2.5, 4])


def test_solve_tree_predictor_and_flags(tmp_path, capsys):
    tree = write(tmp_path / "tree.csv", "y,parent\n2,-1\n0,0\n5,\n")
    code, rows, _ = solve(capsys, tree)
    assert code == 0
    np.testing.assert_allclose(fits(rows), [1, 1, 5])
    pred = write(tmp_path / "x.csv", "y,x\n1,1\n4,2\n2,2\n3,3\n")
    code, rows, _ = solve(capsys, pred, "--ties", "secondary", "--decreasing")
    assert code == 0
    expected = isotree.isotonic_regression([1, 4, 2, 3], x=[1, 2, 2, 3], ties="secondary",
                                           increasing=False)
    np.testing.assert_allclose(fits(rows), expected)


@pytest.mark.parametrize("text, message", [
    ("value\n1\n", "no column 'y': isotree reads 'y' (the values)"),
    ("y\n1\nabc\n", "line 3: column 'y': 'abc' is not a valid number"),
    ("y\n1\nnan\n", "y must be finite; y[1] (column 'y', line 3) is nan"),
    ("y,parent\n1,1\n2,0\n", "no root"),
    ("y,parent\n1,-1\n2,2\n3,1\n", "cycle through node"),
    ("y,parent,x\n1,-1,0\n", "has both a parent column ('parent') and an x column ('x')"),
    ("y,weight\n1,-1\n", "weights must be >= 0; weights[0] (column 'weight', line 2) is -1.0"),
    ("y,weight\n1,0\n", "weights are all 0: a problem needs at least one positive weight"),
])
def test_solve_errors_are_one_line(tmp_path, text, message):
    code, out, err = run("solve", write(tmp_path / "bad.csv", text))
    assert code == 1 and out == ""
    assert message in err
    assert "Traceback" not in err and len(messages(err)) == 1


def test_unreadable_path_and_usage(tmp_path):
    code, _, err = run("solve", str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot read" in err and "Traceback" not in err
    code, _, err = run("solve")
    assert code == 2 and "usage" in err


# An option that has no effect in the call is an error.

@pytest.mark.parametrize("text, given", [
    ("y,parent\n1,-1\n0,0\n", "gives a tree (column 'parent')"),
    ("y\n1\n0\n", "gives a chain in file order (no x column)"),
])
def test_ties_without_an_x_column_is_an_error(tmp_path, capsys, text, given):
    path = write(tmp_path / "in.csv", text)
    code, rows, err = solve(capsys, path, "--ties", "secondary")
    assert code == 1 and rows == []
    assert err == [f"isotree: error: --ties applies to the ties of an x column; {path} "
                   f"{given}, where it would have no effect"]


@pytest.mark.parametrize("options, message", [
    (["--keep", "name", "--keep", "name"], "--keep name is given twice"),
    (["--keep", "name", "--keep", "y"], "--keep y: column 'y' is read as 'y'"),
    (["--keep", "name", "--keep", "other"], "has no column 'other' for --keep"),
    (["--keep", "name", "--x", "missing"], "has no column 'missing' for --x"),
    (["--keep", "name", "--weight", "y"], "no column 'y' and column 'weight' is not read"),
    (["--keep", "name", "--y", "y", "--weight", "y"], "column 'y' cannot be both 'y' and 'weight'"),
    (["--keep", "name", "--y", "weight"], "column 'y' is not read"),
])
def test_options_that_would_do_nothing_are_errors(tmp_path, capsys, options, message):
    path = write(tmp_path / "in.csv", "y,weight,name\n1,1,a\n0,1,b\n")
    code, rows, err = solve(capsys, path, *options)
    assert code == 1 and rows == [] and len(err) == 1
    assert message in err[0]


# Columns isotree does not read are copied through; names that look like a column it reads
# (case, plural, separators) are errors that name the option mapping them.

@pytest.mark.parametrize("column, option", [
    ("weights", "--weight"), ("w", "--weight"), ("X", "--x"), ("parent_id", "--parent"),
    ("Weight", "--weight"), ("sample weights", "--weight"), ("Parents", "--parent"),
    ("xs", "--x"),
])
def test_near_miss_columns_are_errors_and_options_map_them(tmp_path, capsys, column, option):
    values = "0" if option == "--x" else "-1" if option == "--parent" else "1"
    second = "1" if option == "--x" else "0" if option == "--parent" else "3"
    path = write(tmp_path / "in.csv", f"y,{column}\n2,{values}\n1,{second}\n")
    code, rows, err = solve(capsys, path)
    assert code == 1 and rows == []
    assert f"column '{column}' is not read: isotree reads 'y' (the values), optionally " \
           f"'weight', and 'parent' or 'x' for the order" in err[0]
    assert f"{option} {column}" in err[0]  # the hint names the option that maps it
    code, rows, err = solve(capsys, path, option, column)
    assert code == 0
    role = option[2:]
    y = np.array([2.0, 1.0])
    other = np.array([float(values), float(second)])
    if role == "weight":
        expected = isotree.isotonic_regression(y, weights=other)
    elif role == "x":
        expected = isotree.isotonic_regression(y, x=other)
    else:
        expected = isotree.tree_isotonic_regression(y, other.astype(np.int64))
    np.testing.assert_allclose(fits(rows), expected)
    assert [r[column] for r in rows] == [values, second]
    described = {"weight": f"chain in file order, increasing, weights from column '{column}'",
                 "x": f"order of column '{column}' (primary ties), increasing, unit weights",
                 "parent": f"tree from column '{column}' (1 root), increasing, unit weights"}
    assert err == [f"isotree: fit 2 rows of {path}: {described[role]}"]


@pytest.mark.parametrize("header, row", [
    ("y,id", "{y},{i}"), ("id,weight,y,notes", "{i},1,{y},n{i}"),
    ("y,x_label,weighted", "{y},a{i},yes"),  # not spellings of x or weight
])
def test_other_columns_are_copied_unchanged(tmp_path, capsys, header, row):
    y = [3.0, 1.0, 2.0, 5.0]
    path = write(tmp_path / "in.csv", header + "\n" + "".join(
        row.format(y=v, i=i) + "\n" for i, v in enumerate(y)))
    code, rows, err = solve(capsys, path)
    assert code == 0, err
    np.testing.assert_allclose(fits(rows), isotree.isotonic_regression(y))
    with open(path) as f:
        original = list(csv.DictReader(f))
    assert [{k: v for k, v in r.items() if k != "fit"} for r in rows] == original
    weighted = "weight from column" in err[0] or "weights from column" in err[0]
    assert weighted == ("weight" in header.split(",")), err


def test_keep_copies_a_near_miss_column(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y,Weight\n3,1\n1,9\n")
    code, rows, err = solve(capsys, path, "--keep", "Weight")
    assert code == 0
    np.testing.assert_allclose(fits(rows), [2.0, 2.0])  # unweighted, as asked
    assert [r["Weight"] for r in rows] == ["1", "9"]
    assert err == [f"isotree: fit 2 rows of {path}: chain in file order, increasing, "
                   f"unit weights"]


def test_spaces_around_names_are_not_part_of_them(tmp_path, capsys):
    path = write(tmp_path / "in.csv", " y , weight\n3,1\n1,3\n")
    code, rows, err = solve(capsys, path)
    assert code == 0
    np.testing.assert_allclose(fits(rows), [1.5, 1.5])
    assert "weights from column 'weight'" in err[0]


def test_duplicate_and_reserved_column_names_are_errors(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y,weight,y\n1,1,2\n")
    code, _, err = solve(capsys, path)
    assert code == 1 and err == [f"isotree: error: {path}: column name 'y' appears twice "
                                 f"(columns 1 and 3)"]
    path = write(tmp_path / "in.csv", "y, weight ,weight\n1,1,2\n")  # names are stripped
    code, _, err = solve(capsys, path)
    assert code == 1 and "column name 'weight' appears twice (columns 2 and 3)" in err[0]
    path = write(tmp_path / "in.csv", "y,fit\n1,1\n")
    code, _, err = solve(capsys, path)
    assert code == 1 and "already has a column 'fit', which the output adds" in err[0]
    path = write(tmp_path / "in.csv", "y,,z\n1,1,2\n")
    code, _, err = solve(capsys, path)
    assert code == 1 and "column 2 of the header has no name" in err[0]


def test_the_report_says_which_order_and_weights(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y,weight,x\n1,1,3\n2,1,2\n2,1,2\n")
    code, _, err = solve(capsys, path, "--ties", "tertiary", "--decreasing")
    assert code == 0
    assert err == [f"isotree: fit 3 rows of {path}: order of column 'x' (tertiary ties), "
                   f"decreasing, weights from column 'weight'"]


# Awkward files, standard input, --version, line numbers, memory.

def test_header_without_rows_is_an_empty_fit(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y,parent\n")
    code = main(["solve", path])
    captured = capsys.readouterr()
    assert code == 0 and captured.out == "y,parent,fit\n"
    assert messages(captured.err) == [f"isotree: fit 0 rows of {path}: tree from column "
                                      f"'parent' (0 roots), increasing, unit weights"]
    code, _, err = solve(capsys, write(tmp_path / "empty.csv", ""))
    assert code == 1 and "is empty: the first line must name the columns" in err[0]


def test_byte_order_mark_crlf_and_quoting_are_kept(tmp_path, capsys):
    text = '\ufeffy,weight,note\r\n3,1,"a, b"\r\n1,1,"two\r\nlines"\r\n2,2,c\r\n'
    path = write(tmp_path / "in.csv", text)
    code = main(["solve", path, "--keep", "note"])
    out = capsys.readouterr().out
    assert code == 0
    # Every byte of the input is kept (but the byte-order mark); the fit is appended.
    assert out == ('y,weight,note,fit\r\n3,1,"a, b",2.0\r\n1,1,"two\r\nlines",2.0\r\n'
                   '2,2,c,2.0\r\n')


def test_ragged_rows_are_errors_with_their_line(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y,z\n1,a\n2\n")
    code, rows, err = solve(capsys, path)
    assert code == 1 and rows == []
    assert err == [f"isotree: error: {path}, line 3: 1 field, but the header (line 1) has 2"]
    path = write(tmp_path / "in.csv", "y,z\n1,a,b,c\n")
    code, _, err = solve(capsys, path, "--keep", "z")
    assert err == [f"isotree: error: {path}, line 2: 4 fields, but the header (line 1) has 2"]


@pytest.mark.parametrize("text, line", [
    ("y\n1\n\n2\n", 3),  # in a one-column file: a row whose value is missing
    ("y,weight\n1,1\n2,1\n\n\n3,1\n", 4),
    ("y\r\n1\r\n\r\n2\r\n", 3),
    ('y,note\n1,"two\nlines"\n\n2,b\n', 4),
    ("y,weight\n\n1,1\n", 2),
    ("\ny\n1\n", 1),  # the first line must be the header
])
def test_a_blank_line_before_the_last_row_is_an_error(tmp_path, capsys, text, line):
    path = write(tmp_path / "in.csv", text)
    code, rows, err = solve(capsys, path, *(["--keep", "note"] if "note" in text else []))
    assert code == 1 and rows == []
    assert err == [f"isotree: error: {path}, line {line} is blank: every line from the "
                   f"header to the last row must be a row (remove the blank line, or give "
                   f"the row's cells)"]


def test_blank_lines_at_the_end_are_kept_and_ignored(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y\n2\n1\n\n\n")
    code = main(["solve", path])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == "y,fit\n2,1.5\n1,1.5\n\n\n"
    assert messages(captured.err)[0].startswith(f"isotree: fit 2 rows of {path}")


def test_an_earlier_bad_row_is_reported_before_a_blank_line(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y\n1\nabc\n\n2\n")
    code, _, err = solve(capsys, path)
    assert code == 1 and err == [f"isotree: error: {path}, line 3: column 'y': 'abc' is not "
                                 f"a valid number"]


@pytest.mark.parametrize("cell", ["inf", "0.5", "-inf", "nan", "1e400", "two"])
def test_parent_that_is_not_a_node_index(tmp_path, capsys, cell):
    path = write(tmp_path / "in.csv", f"y,parent\n1,-1\n2,{cell}\n")
    code, rows, err = solve(capsys, path)
    assert code == 1 and rows == []
    assert err == [f"isotree: error: {path}, line 3: column 'parent': {cell!r} is not a node "
                   f"index (a 0-based data row; -1 or empty: a root)"]


def test_parent_written_as_float_integers_is_read(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y,parent\n2,-1.0\n0,0.0\n5,\n")
    code, rows, _ = solve(capsys, path)
    assert code == 0
    np.testing.assert_allclose(fits(rows), [1, 1, 5])


@pytest.mark.parametrize("text, where", [
    ("y\n1\n2\n2\nnan\n", "y[3] (column 'y', line 5) is nan"),
    ('y,note\n1,"multi\nline"\ninf,x\n', "y[1] (column 'y', line 4) is inf"),
    ("y,weight\n1,1\n2,-1\n", "weights[1] (column 'weight', line 3) is -1.0"),
    ("y,parent\n1,-1\n2,5\n", "parent[1] (column 'parent', line 3) is 5"),
    ("y,parent\n1,-1\n2,2\n3,1\n", "cycle through node 1 (line 3)"),
    ("y,x\n1,1\n2,\n", "line 3: column 'x' is empty"),
    ("y\n1\n1 2\n", "line 3: column 'y': '1 2' is not a valid number"),
    (b"y\n1\n\xff\n", "line 3: not UTF-8 text (byte 0xff); save the file as UTF-8"),
])
def test_messages_name_one_based_lines(tmp_path, capsys, text, where):
    path = write(tmp_path / "in.csv", text)
    code, rows, err = solve(capsys, path, *(["--keep", "note"] if b"note" in
                                            (text if isinstance(text, bytes) else
                                             text.encode()) else []))
    assert code == 1 and rows == [] and len(err) == 1
    assert where in err[0]


def test_integer_x_is_read_as_integers(tmp_path, monkeypatch, capsys):
    seen = {}

    def spy(y, **kwargs):
        seen["x"] = kwargs["x"]
        return isotree.isotonic_regression(y, **kwargs)

    monkeypatch.setattr("isotree.cli.isotonic_regression", spy)
    path = write(tmp_path / "in.csv", "y,x\n2,1700000000000000001\n1,1700000000000000000\n")
    assert solve(capsys, path)[0] == 0
    assert seen["x"].dtype == np.int64
    np.testing.assert_array_equal(seen["x"], [1700000000000000001, 1700000000000000000])
    path = write(tmp_path / "in.csv", "y,x\n2,1\n1,0.5\n")  # one float: the column is float
    assert solve(capsys, path)[0] == 0
    assert seen["x"].dtype == np.float64
    np.testing.assert_array_equal(seen["x"], [1.0, 0.5])


def test_standard_input_and_output_and_version(tmp_path):
    code, out, err = run("solve", "-", "-o", "-", stdin="y,parent\n2,-1\n0,0\n5,0\n")
    assert code == 0, err
    assert out == "y,parent,fit\n2,-1,1.0\n0,0,1.0\n5,0,5.0\n"
    assert messages(err) == ["isotree: fit 3 rows of <stdin>: tree from column 'parent' "
                             "(1 root), increasing, unit weights"]
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"isotree {isotree.__version__}"


def test_output_may_replace_the_input(tmp_path, capsys):
    path = write(tmp_path / "in.csv", "y\n2\n1\n")
    assert main(["solve", path, "-o", path]) == 0
    assert (tmp_path / "in.csv").read_text() == "y,fit\n2,1.5\n1,1.5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no temporary left


def test_compile_notice_only_when_compiling(tmp_path):
    """The first run says it is compiling; a cached run says nothing."""
    path = write(tmp_path / "in.csv", "y\n2\n1\n")
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    code, _, err = run("solve", path, env=env)
    assert code == 0 and err.startswith(NOTICE + "\n") and err.count(NOTICE) == 1
    code, _, err = run("solve", path, env=env)
    assert code == 0 and NOTICE not in err


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB: Linux")
def test_two_million_rows_without_holding_strings(tmp_path):
    """Peak memory of ``solve`` on 2M rows stays far below the ~1 GB of lists of strings."""
    rng = np.random.default_rng(0)
    n = 2_000_000
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("y,weight\n")
        np.savetxt(f, np.column_stack([rng.normal(size=n), rng.uniform(0.5, 2, n)]),
                   fmt="%.17g", delimiter=",")
    script = textwrap.dedent("""
        import resource, sys
        from isotree.cli import main
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        code = main(["solve", sys.argv[1], "-o", sys.argv[2]])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(code, before, after)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "out.csv")],
                          capture_output=True, text=True, timeout=600)
    code, before, after = map(int, done.stdout.split())
    assert code == 0, done.stderr
    grown_mb = (after - before) / 1024  # ru_maxrss is in KiB on Linux
    # Typed arrays: y, weight, line numbers and fit are 64 MB; the solver needs some more.
    assert grown_mb < 300, grown_mb
    with (tmp_path / "out.csv").open() as f:
        assert sum(1 for _ in f) == n + 1
