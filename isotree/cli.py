"""The ``isotree`` command: ``isotree demo`` and ``isotree solve IN.csv``.

A thin layer over the public solvers: read the columns a fit needs into typed arrays, call
:func:`~isotree.isotonic_regression` or :func:`~isotree.tree_isotonic_regression`, and write
the input back with a ``fit`` column (a second pass over the file, so the rows are never
held as strings). Every problem with the file is one line on standard error naming the
1-based line and the column, and exit status 1.
"""

import argparse
import codecs
import csv
import functools
import itertools
import operator
import os
import re
import shutil
import sys
import tempfile
import time
from array import array
from importlib import resources

import numpy as np

from . import ida
from ._options import TIES
from ._version import __version__
from .solvers import isotonic_regression, star_isotonic_regression, tree_isotonic_regression
from .tree import Tree

# The columns ``solve`` reads, by their default names, and what each one is.
ROLES = {"y": "the values", "weight": "weights >= 0",
         "parent": "a tree: the 0-based data row of each row's parent, -1 or empty for a root",
         "x": "a predictor whose order the fit follows"}
# The solvers' argument names for the roles, as their error messages spell them.
_ARGUMENTS = {"y": "y", "weight": "weights", "parent": "parent", "x": "x", "id": "id"}
_OUTPUT = "fit"


class InputError(Exception):
    """A problem with the user's file or options, reported as one line without a traceback."""


def _read_packaged_csv(name):
    text = resources.files("isotree").joinpath("data", name).read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def demo(out=sys.stdout):
    """Three short examples on data shipped with the package; returns 0."""
    print = _printer(out)
    print("isotree demo\n============\n")

    print("1. Simple tree order (order-restricted statistics): five supplements that cannot")
    print("   lower weight gain against one control. Weights are the group sizes.\n")
    rows = _read_packaged_csv("diet_trial.csv")
    y = np.array([float(r["mean_gain"]) for r in rows])
    n = np.array([float(r["n"]) for r in rows])
    fit = star_isotonic_regression(y, root=0, weights=n)
    print(f"   {'group':<14}{'n':>4}{'observed':>10}{'fit':>9}")
    for r, observed, fitted in zip(rows, y, fit):
        print(f"   {r['group']:<14}{int(float(r['n'])):>4}{observed:>10.2f}{fitted:>9.2f}")
    print("   Supplements that observed below the control are pooled with it.\n")

    print("2. A tree order: mean scores may not fall along a path of course modules.\n")
    rows = _read_packaged_csv("skill_tree.csv")
    parent = np.array([int(r["parent"]) for r in rows])
    y = np.array([float(r["mean_score"]) for r in rows])
    w = np.array([float(r["learners"]) for r in rows])
    fit, blocks = tree_isotonic_regression(y, parent, weights=w, return_blocks=True)
    print(f"   {'module':<16}{'parent':>7}{'observed':>10}{'fit':>8}  block")
    for k, r in enumerate(rows):
        top = rows[blocks[k]]["module"]
        print(f"   {r['module']:<16}{parent[k]:>7}{y[k]:>10.2f}{fit[k]:>8.2f}  {top}")
    print()

    print("3. IDA for knowledge distillation: synthetic teacher logits on Mixup samples")
    print("   (B = 2048, c = 100, float32). The teacher often ranks a non-mixed class above")
    print("   a mixed one; the fit restores the order of the label mass.\n")
    rng = np.random.default_rng(0)
    batch, classes = 2048, 100
    a = rng.integers(0, classes, batch)
    b = rng.integers(0, classes, batch)
    lam = rng.beta(1.0, 1.0, batch)
    mass = ida.mixup_mass(a, b, lam, classes)
    # A stated synthetic teacher: logits = 6 * mass + class bias + noise.
    logits = (6.0 * mass + 0.5 * rng.normal(size=classes) + rng.normal(size=(batch, classes))
              ).astype(np.float32)
    exact = ida.isotonic_logits(logits, mass)  # compile outside the timing
    start = time.perf_counter()
    exact = ida.isotonic_logits(logits, mass)
    exact_time = time.perf_counter() - start
    before = ida.order_violations(logits, mass)
    after = ida.order_violations(exact, mass)
    print(f"   {'':<28}{'rows violating':>15}{'Kendall tau':>13}{'mixed in top 2':>16}")
    for name, stats in (("teacher logits", before), ("exact isotonic fit", after)):
        print(f"   {name:<28}{stats['violation_rate']:>15.3f}{stats['kendall_tau']:>13.3f}"
              f"{stats['top2_all_mixed']:>16.3f}")
    print(f"\n   exact fit: {exact_time * 1e3:.2f} ms for the batch")
    for n_iter in (1, 2, 3):
        approx = ida.isotonic_logits(logits, mass, method="approx", n_iter=n_iter)
        start = time.perf_counter()
        approx = ida.isotonic_logits(logits, mass, method="approx", n_iter=n_iter)
        took = time.perf_counter() - start
        error = np.abs(approx.astype(np.float64) - exact)
        print(f"   approx n_iter={n_iter}: max |error| {error.max():.2e}, "
              f"mean {error.mean():.2e}, {took * 1e3:.2f} ms")
    return 0


def _printer(out):
    def write(*parts):
        out.write(" ".join(str(p) for p in parts) + "\n")
    return write


# ---------------------------------------------------------------------------------------
# Reading: the header, then the columns the fit needs as typed arrays.

def _lines(stream, label):
    """Decoded lines of a binary stream: UTF-8, an Excel byte-order mark dropped."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"{label}, line {number}: not UTF-8 text (byte "
                             f"0x{raw[error.start]:02x}); save the file as UTF-8") from None


def _records(stream, label):
    """``(line, fields)`` for every record; ``line`` is 1-based (a record's last line when a
    quoted field spans several). A blank line is a record with no fields: blank lines at
    the end of the file are dropped, one followed by more records is an error naming it
    (it is not a row, so dropping it would silently leave a row out of the fit, and in a
    one-column file it would be a row whose value is missing)."""
    reader = csv.reader(_lines(stream, label))
    blank = None
    try:
        for fields in reader:
            if not fields:
                blank = blank or reader.line_num
                continue
            if blank is not None:
                yield blank, []
                return
            yield reader.line_num, fields
    except csv.Error as error:
        raise InputError(f"{label}, line {reader.line_num}: {error}") from None


def _blank_line(label, line):
    return InputError(f"{label}, line {line} is blank: every line from the header to the "
                      f"last row must be a row (remove the blank line, or give the row's "
                      f"cells)")


def _parse_parent(text):
    """A node index: an integer (``2`` or ``2.0``); -1 or empty marks a root."""
    if text == "":
        return -1
    try:
        return int(text)
    except ValueError:
        value = float(text)  # "2.0", as spreadsheets and pandas write integer columns
        if not value.is_integer():
            raise ValueError(text) from None
        return int(value)


class _Column:
    """One column the fit reads: where it is, how its cells parse, the values so far."""

    def __init__(self, role, name, index, labels=False):
        self.role, self.name, self.index = role, name, index
        if role == "id" or (role == "parent" and labels):  # names, kept as text
            self.parse, self.values = str.strip, []
        elif role == "parent":
            self.parse, self.values = _parse_parent, array("q")
        elif role == "x":  # integers stay integers (timestamps above 2**53 stay distinct)
            self.parse, self.values = int, array("q")
        else:
            self.parse, self.values = float, array("d")

    def add(self, text, line, label):
        text = text.strip()
        try:
            self.values.append(self.parse(text))
            return
        except (ValueError, OverflowError):
            pass
        if self.role == "x" and self.values.typecode == "q":
            self.values = array("d", self.values)  # a non-integer x: the column is float
            self.parse = float
            return self.add(text, line, label)
        if text == "":
            problem = "is empty"
        elif self.role == "parent":
            problem = f"{text!r} is not a node index (a 0-based data row; -1 or empty: a root)"
        else:
            problem = f"{text!r} is not a valid number"
        raise InputError(f"{label}, line {line}: column {self.name!r}{':' * (text != '')} "
                         f"{problem}")

    def extend(self, texts, lines, label):
        """Parse a chunk of cells at C speed; on a bad cell, redo the chunk cell by cell to
        name its line (or to switch an x column to float)."""
        start = len(self.values)
        try:
            self.values.extend(map(self.parse, texts))
            return
        except (ValueError, OverflowError):
            del self.values[start:]
        for text, line in zip(texts, lines):
            self.add(text, line, label)

    def array(self):
        if isinstance(self.values, list):
            return self.values
        return np.frombuffer(self.values, dtype=np.int64 if self.values.typecode == "q"
                             else np.float64)


# Other spellings of the columns ``solve`` reads. A column whose name reduces to one of
# these (letter case, spaces, underscores and hyphens ignored, a plural "s" dropped) but is
# not read is an error, because copying it through would fit silently wrong: "weights"
# left out turns a weighted fit into an unweighted one, "Parent" a tree into a chain.
_SPELLINGS = {"y": "y", "weight": "weight", "w": "weight", "sampleweight": "weight",
              "parent": "parent", "parentid": "parent", "x": "x"}


def _looks_like(name):
    """The role whose column ``name`` looks like a spelling of, or None."""
    key = re.sub(r"[\s_-]", "", name).casefold()
    for candidate in (key, key[:-1] if key.endswith("s") else ""):
        if candidate in _SPELLINGS:
            return _SPELLINGS[candidate]
    return None


def _columns(header, label, mapped, keep):
    """Check the header against the roles: ``{role: _Column}`` for the columns read.

    Columns are read by their default names or through ``--y/--weight/--parent/--x``; the
    other columns are copied to the output unchanged, except one that looks like a
    spelling of a column isotree reads (``Weight``, ``weights``, ``parent_id``): that is an
    error unless mapped or named by ``--keep``, never a column silently left out of the fit.
    """
    names = [name.strip() for name in header]
    seen = {}
    for index, name in enumerate(names):
        if name == "":
            raise InputError(f"{label}: column {index + 1} of the header has no name")
        if name in seen:
            raise InputError(f"{label}: column name {name!r} appears twice (columns "
                             f"{seen[name] + 1} and {index + 1})")
        seen[name] = index
    if _OUTPUT in seen:
        raise InputError(f"{label} already has a column {_OUTPUT!r}, which the output adds; "
                         f"rename or remove it")
    for option, name in list(mapped.items()) + [("--keep", name) for name in keep]:
        if name not in seen:
            raise InputError(f"{label} has no column {name!r} for {option} (columns: "
                             f"{', '.join(map(repr, names))})")
    roles = {}
    for role in ROLES:
        name = mapped.get(f"--{role}", role if role not in mapped.values() else None)
        if name is not None and name in seen:
            roles[role] = name
    if "--id" in mapped:
        roles["id"] = mapped["--id"]
    claimed = {}
    for role, name in roles.items():
        if name in claimed:
            raise InputError(f"column {name!r} cannot be both {claimed[name]!r} and {role!r}")
        claimed[name] = role
    for name in keep:
        if name in claimed:
            raise InputError(f"--keep {name}: column {name!r} is read as {claimed[name]!r}; "
                             f"--keep names columns that are only copied to the output")
        if keep.count(name) > 1:
            raise InputError(f"--keep {name} is given twice")
    copied = [name for name in names if name not in claimed and name not in keep]
    near_misses = {name: _looks_like(name) for name in copied if _looks_like(name)}
    if near_misses or "y" not in roles:
        raise InputError(_unread_message(label, near_misses, roles, header))
    if "parent" in roles and "x" in roles:
        raise InputError(f"{label} has both a parent column ({roles['parent']!r}) and an x "
                         f"column ({roles['x']!r}): give one order")
    if "id" in roles and "parent" not in roles:
        raise InputError(f"--id {roles['id']}: the id column names the nodes that a parent "
                         f"column refers to, and {label} has no parent column")
    return {role: _Column(role, name, seen[name], labels="id" in roles)
            for role, name in roles.items()}


def _unread_message(label, near_misses, roles, header):
    """What is missing or not read, the names isotree reads, and the option that maps each
    unread column (``weights`` -> ``--weight weights``)."""
    problems = ["no column 'y'"] if "y" not in roles else []
    if near_misses:
        listed = ", ".join(map(repr, near_misses))
        problems.append(f"column {listed} is not read" if len(near_misses) == 1
                        else f"columns {listed} are not read")
    message = (f"{label}: {' and '.join(problems)}: isotree reads 'y' (the values), optionally "
               f"'weight', and 'parent' or 'x' for the order")
    if len(header) == 1 and any(s in header[0] for s in ";\t|"):
        return message + "; the header looks like another separator: isotree reads commas"
    hints = [f"for {name!r} as {role!r}: --{role} {name}"
             for name, role in near_misses.items()]
    if "y" not in roles and "y" not in near_misses.values():
        message += "; name the column of values with --y COLUMN"
    if near_misses:
        message += ("; map a column to one of them with --y/--weight/--parent/--x COLUMN, or "
                    "copy it unchanged to the output with --keep COLUMN")
    return message + (f" ({'; '.join(hints)})" if hints else "")


def _header(stream, label, mapped, keep):
    """The records after the header, the header's line and width, ``{role: _Column}``."""
    records = _records(stream, label)
    first = next(records, None)
    if first is None:
        raise InputError(f"{label} is empty: the first line must name the columns (y, and "
                         f"optionally weight and parent or x)")
    header_line, header = first
    if not header:
        raise _blank_line(label, header_line)
    return records, header_line, len(header), _columns(header, label, mapped, keep)


def _rows(records, header_line, width, columns, label, chunk=1 << 14):
    """Parse the columns the fit needs: ``({role: array}, lines)`` where ``lines[k]`` is
    the 1-based line of data row k. Cells are collected a chunk of rows at a time and
    parsed per column, so only one chunk is ever held as strings."""
    read = list(columns.values())
    pick = operator.itemgetter(*[column.index for column in read])
    lines = array("q")
    cells, chunk_lines = [], []

    def flush():
        per_column = [cells] if len(read) == 1 else list(zip(*cells))
        for column, texts in zip(read, per_column):
            column.extend(texts, chunk_lines, label)
        lines.extend(chunk_lines)
        cells.clear()
        chunk_lines.clear()

    for line, fields in records:
        if not fields:
            flush()  # earlier rows first: their errors come from earlier lines
            raise _blank_line(label, line)
        if len(fields) != width:
            flush()
            raise InputError(f"{label}, line {line}: {_count(len(fields), 'field')}, but the "
                             f"header (line {header_line}) has {width}")
        cells.append(pick(fields))
        chunk_lines.append(line)
        if len(chunk_lines) == chunk:
            flush()
    flush()
    values = {role: column.array() for role, column in columns.items()}
    return values, np.frombuffer(lines, dtype=np.int64)


def _check_ties(ties, columns, label):
    """``--ties`` only acts on the ties of an x column."""
    if ties is None or "x" in columns:
        return
    given = (f"a tree (column {columns['parent'].name!r})" if "parent" in columns
             else "a chain in file order (no x column)")
    raise InputError(f"--ties applies to the ties of an x column; {label} gives {given}, "
                     f"where it would have no effect")


# ---------------------------------------------------------------------------------------
# Solving and writing.

_INDEX = re.compile(r"\b(y|weights|parent|x)\[(\d+)\]|\bnode (\d+)")


def _locate(message, lines, names):
    """Add the 1-based line (and column) to each ``name[k]`` or ``node k`` of a solver's
    message: the solvers count data rows from 0, a reader of the file counts lines."""
    columns = {_ARGUMENTS[role]: name for role, name in names.items()}

    def where(match):
        k = int(match.group(2) or match.group(3))
        if k >= lines.shape[0]:
            return match.group(0)
        if match.group(1):
            return f"{match.group(0)} (column {columns.get(match.group(1), match.group(1))!r}, " \
                   f"line {lines[k]})"
        return f"{match.group(0)} (line {lines[k]})"

    return _INDEX.sub(where, message)


def _fit(values, names, decreasing, ties, label, lines):
    """Call the public solver for the order the columns give; the fit and a description."""
    y = values["y"]
    weights = values.get("weight")
    order = "chain in file order"
    try:
        if "parent" in values:
            parent = values["parent"]
            if "id" in values:
                parent = _parent_rows(values["id"], parent, names, label, lines)
            tree = Tree(parent)
            roots = int(np.count_nonzero(parent < 0))
            by_name = f", names from column {names['id']!r}" if "id" in values else ""
            order = (f"tree from column {names['parent']!r}{by_name} "
                     f"({_count(roots, 'root')})")
            fit = tree_isotonic_regression(y, tree, weights=weights, increasing=not decreasing)
        elif "x" in values:
            ties = ties or "primary"
            order = f"order of column {names['x']!r} ({ties} ties)"
            fit = isotonic_regression(y, weights=weights, x=values["x"], ties=ties,
                                      increasing=not decreasing)
        else:
            fit = isotonic_regression(y, weights=weights, increasing=not decreasing)
    except (ValueError, TypeError) as error:
        raise InputError(f"{label}: {_locate(str(error), lines, names)}") from None
    weighting = (f"weights from column {names['weight']!r}" if weights is not None
                 else "unit weights")
    direction = "decreasing" if decreasing else "increasing"
    return fit, f"{order}, {direction}, {weighting}"


def _parent_rows(ids, parents, names, label, lines):
    """The 0-based data row of each row's parent, from parents given by name (an empty
    cell marks a root): the rows' names are the id column's."""
    row_of = {}
    for k, name in enumerate(ids):
        if name == "":
            raise InputError(f"{label}, line {lines[k]}: column {names['id']!r} is empty: "
                             f"every row needs a name")
        first = row_of.setdefault(name, k)
        if first != k:
            raise InputError(f"{label}, line {lines[k]}: column {names['id']!r}: {name!r} "
                             f"names line {lines[first]} already")
    rows = np.empty(len(parents), dtype=np.int64)
    for k, name in enumerate(parents):
        if name == "":
            rows[k] = -1
        elif name in row_of:
            rows[k] = row_of[name]
        else:
            raise InputError(f"{label}, line {lines[k]}: column {names['parent']!r}: {name!r} "
                             f"is not a name in column {names['id']!r}")
    return rows


def _count(number, noun):
    return f"{number} {noun}{'s' * (number != 1)}"


def _python_values(values, chunk=1 << 16):
    """The entries of a NumPy array as Python numbers, a chunk at a time (no 2M-item list)."""
    for start in range(0, values.shape[0], chunk):
        yield from values[start:start + chunk].tolist()


def _write(stream, label, header_line, lines, fit, out):
    """Copy the input line by line, adding ``,fit`` to the header and ``,value`` to the last
    line of each data record (a quoted field may span lines): every other byte of the input
    is kept as it was."""
    targets = itertools.chain([header_line], _python_values(lines))
    texts = itertools.chain([_OUTPUT], map(repr, _python_values(fit)))
    target = next(targets, None)
    for number, text in enumerate(_lines(stream, label), start=1):
        if number != target:
            out.write(text)
            continue
        body = text.rstrip("\r\n")
        out.write(f"{body},{next(texts)}{text[len(body):] or chr(10)}")
        target = next(targets, None)


def _open_input(path):
    """The input as a seekable binary stream and its name for messages. Standard input and
    pipes are spooled to a temporary file: the input is read twice."""
    if path == "-":
        return _spooled(sys.stdin.buffer), "<stdin>"
    try:
        source = open(path, "rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    if source.seekable():
        return source, path
    with source:
        return _spooled(source), path


def _spooled(source):
    spool = tempfile.TemporaryFile()
    shutil.copyfileobj(source, spool)
    spool.seek(0)
    return spool


def solve(path, output=None, decreasing=False, ties=None, columns=None, keep=(),
          report=None):
    """Fit the values column of a CSV file; write every column plus ``fit``.

    ``columns`` maps the options ``--y``, ``--weight``, ``--parent``, ``--x`` and ``--id``
    to column names (with an id column, the parent column holds its names); ``keep`` lists
    columns copied unchanged. A line on ``report`` (default: standard
    error) says which order and weights were used.
    """
    mapped = {option: name for option, name in (columns or {}).items() if name is not None}
    stream, label = _open_input(path)
    with stream:
        records, header_line, width, columns = _header(stream, label, mapped, list(keep))
        _check_ties(ties, columns, label)
        values, lines = _rows(records, header_line, width, columns, label)
        names = {role: column.name for role, column in columns.items()}
        fit, used = _fit(values, names, decreasing, ties, label, lines)
        stream.seek(0)
        write = functools.partial(_write, stream, label, header_line, lines, fit)
        if output is None or output == "-":
            write(sys.stdout)
        else:
            _write_file(write, output)
    (report or sys.stderr).write(f"isotree: fit {_count(fit.shape[0], 'row')} of {label}: {used}\n")
    return 0


def _write_file(write, output):
    """Write to a temporary file beside ``output``, then rename: an error leaves no partial
    file, and ``-o`` may name the input itself."""
    directory = os.path.dirname(os.path.abspath(output))
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".isotree-", suffix=".csv")
    except OSError as error:
        raise InputError(f"cannot write {output}: {error.strerror}") from None
    try:
        with open(handle, "w", newline="", encoding="utf-8") as out:
            write(out)
        os.replace(temporary, output)
    except OSError as error:
        raise InputError(f"cannot write {output}: {error.strerror}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


# ---------------------------------------------------------------------------------------
# The command line.

def build_parser():
    parser = argparse.ArgumentParser(
        prog="isotree", allow_abbrev=False,
        description="Exact isotonic regression on chains, trees and stars.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run three short examples on bundled data",
                        allow_abbrev=False)
    solver = commands.add_parser(
        "solve", help="fit the 'y' column of a CSV file", allow_abbrev=False,
        description="Read column 'y', optional 'weight', and optionally 'parent' (a tree: "
                    "the 0-based data row of each row's parent, -1 or empty for a root) or "
                    "'x' (a predictor). Without either, the rows form a chain in file order. "
                    "Other columns are copied to the output unchanged, but one whose name "
                    "looks like a column isotree reads ('Weight', 'weights', 'parent_id') is "
                    "an error unless mapped or named by --keep. Writes every column plus "
                    "'fit'; a line on standard error says which order and weights were used.")
    solver.add_argument("input", help="the CSV file (UTF-8; '-' for standard input)")
    solver.add_argument("-o", "--output",
                        help="where to write (default, or '-': standard output)")
    solver.add_argument("--decreasing", action="store_true",
                        help="fit a decreasing order (roots are maxima)")
    solver.add_argument("--ties", choices=TIES, default=None,
                        help="treatment of equal x values (only with an x column; "
                             "default: primary)")
    for role, what in ROLES.items():
        solver.add_argument(f"--{role}", metavar="COLUMN", dest=f"{role}_column",
                            help=f"the column of {what} (default: '{role}')")
    solver.add_argument("--id", metavar="COLUMN", dest="id_column",
                        help="a column of row names: the parent column then holds the name "
                             "of each row's parent (empty for a root) instead of its row")
    solver.add_argument("--keep", metavar="COLUMN", action="append", default=[],
                        help="copy this column unchanged to the output even though its name "
                             "looks like a column isotree reads (repeat for several; other "
                             "columns are copied anyway)")
    return parser


def _compile_notice(stream):
    """A context manager that says once on ``stream`` that Numba is compiling (a first run
    takes seconds). Numba's "numba:compile" event fires only for a kernel missing from the
    on-disk cache, so a cached run says nothing. Imported here, never by ``import isotree``.
    """
    from numba.core import event

    class Notice(event.Listener):
        shown = False

        def on_start(self, _):
            if not self.shown:
                self.shown = True
                stream.write("isotree: compiling kernels (first run only)...\n")
                stream.flush()

        def on_end(self, _):
            pass

    return event.install_listener("numba:compile", Notice())


def main(argv=None):
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with _compile_notice(sys.stderr):
            if args.command == "demo":
                return demo()
            columns = {f"--{role}": getattr(args, f"{role}_column") for role in (*ROLES, "id")}
            return solve(args.input, args.output, args.decreasing, args.ties, columns,
                         args.keep)
    except InputError as error:
        sys.stderr.write(f"isotree: error: {error}\n")
        return 1
    except BrokenPipeError:  # e.g. piped into head: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
