"""Hierarchies by name: Tree.from_pairs / from_dataframe / from_networkx, fits keyed by name,
and the command line's --id column."""

import csv
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import isotree
from isotree.cli import main

from .strategies import forests, values, weights


def names_of(parent, rng):
    """Distinct string names for the nodes of ``parent``, in a random order of pairs."""
    names = np.array([f"node-{k}" for k in rng.permutation(parent.shape[0])], dtype=object)
    pairs = [(names[k], None if parent[k] < 0 else names[parent[k]])
             for k in rng.permutation(parent.shape[0])]
    return names, pairs


@given(st.data(), forests(max_n=40), st.booleans())
def test_from_pairs_solves_the_same_tree(data, parent, increasing):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = parent.shape[0]
    y = data.draw(values(n))
    w = data.draw(weights(n))
    names, pairs = names_of(parent, rng)
    fit = isotree.tree_isotonic_regression(y, parent, weights=w, increasing=increasing)
    expected = dict(zip(names.tolist(), fit.tolist()))

    tree = isotree.Tree.from_pairs(pairs)
    assert sorted(tree.labels.tolist()) == sorted(names.tolist())
    by_name_y = tree.align(dict(zip(names, y)))
    by_name_w = None if w is None else tree.align(dict(zip(names, w)), name="weights")
    named_fit = isotree.tree_isotonic_regression(by_name_y, tree, weights=by_name_w,
                                                 increasing=increasing)
    got = tree.by_label(named_fit)
    assert got.keys() == expected.keys()
    scale = max(np.abs(y).max(), 1e-300)
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()),
                               rtol=1e-12, atol=1e-12 * scale)
    # The parent links are the same, by name.
    for child, parent_name in pairs:
        k = tree._label_index[child]
        assert (tree.parent[k] == -1) if parent_name is None else (
            tree.labels[tree.parent[k]] == parent_name)


def test_parents_named_only_as_parents_are_roots():
    tree = isotree.Tree.from_pairs([("cat", "mammals"), ("trout", "fish")])
    assert tree.labels.tolist() == ["cat", "mammals", "trout", "fish"]
    assert tree.parent.tolist() == [1, -1, 3, -1]
    assert tree.roots.tolist() == [1, 3]
    # A mapping is read as (child, parent) items; any hashable names.
    tree = isotree.Tree.from_pairs({(1, "a"): 7, 7: None})
    assert tree.labels.tolist() == [(1, "a"), 7] and tree.parent.tolist() == [1, -1]


def test_labels_travel_with_the_tree():
    tree = isotree.Tree([-1, 0, 0], labels=["root", "left", "right"])
    assert isotree.Tree(tree).labels.tolist() == ["root", "left", "right"]
    assert not tree.labels.flags.writeable
    fit, blocks = isotree.tree_isotonic_regression([2.0, 0.0, 5.0], tree, return_blocks=True)
    assert tree.labels[blocks].tolist() == ["root", "root", "right"]
    assert tree.by_label(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))["left"].tolist() == [
        2.0, 5.0]
    # Without names, nodes are keyed by index.
    assert isotree.Tree([-1, 0]).by_label([1.5, 2.5]) == {0: 1.5, 1: 2.5}


@pytest.mark.parametrize("pairs, error, match", [
    ([("a", "b"), ("a", "c")], ValueError, r"node 'a' has two parents: 'b' and 'c' "
                                           r"\(pairs\[1\]\)"),
    ([("a", "b"), ("b", "a")], ValueError, "cycle through node 'a'"),
    ([("a", "b"), ("b", "c"), ("c", "b"), ("d", None)], ValueError, "cycle through node 'b'"),
    ([("a", "a")], ValueError, "node 'a' is its own parent"),
    ([("a",)], ValueError, r"pairs\[0\] must be a \(child, parent\) pair"),
    ([(["a"], "b")], TypeError, "node names must be hashable"),
])
def test_from_pairs_errors(pairs, error, match):
    with pytest.raises(error, match=match):
        isotree.Tree.from_pairs(pairs)


def test_labels_errors():
    with pytest.raises(ValueError, match=r"labels names 'a' twice \(nodes 0 and 2\)"):
        isotree.Tree([-1, 0, 0], labels=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"labels must have one entry per node \(3\); got 2"):
        isotree.Tree([-1, 0, 0], labels=["a", "b"])
    tree = isotree.Tree.from_pairs([("b", "a")])
    with pytest.raises(ValueError, match="y has no entry for node 'b'"):
        tree.align({"a": 1.0}, name="y")
    with pytest.raises(ValueError, match="has an entry for 'c', which is not a node"):
        tree.align({"a": 1.0, "b": 2.0, "c": 3.0})
    with pytest.raises(ValueError, match="Tree.align needs node names"):
        isotree.Tree([-1, 0]).align({0: 1.0, 1: 2.0})
    with pytest.raises(ValueError, match=r"one entry per node along the last axis \(2\); "
                                         r"got 3"):
        tree.by_label([1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------------------
# pandas and networkx (optional).

def test_from_dataframe():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"taxon": ["animals", "mammals", "cat", "dog", "fish", "trout"],
                          "up": [np.nan, "animals", "mammals", "mammals", "animals", "fish"],
                          "y": [3.0, 1.0, 4.0, 2.0, 5.0, 0.5]})
    tree = isotree.Tree.from_dataframe(frame, id="taxon", parent="up")
    assert tree.parent.tolist() == [-1, 0, 1, 1, 0, 4]
    fit = isotree.tree_isotonic_regression(frame["y"], tree)
    expected = isotree.tree_isotonic_regression(frame["y"].to_numpy(), [-1, 0, 1, 1, 0, 4])
    assert tree.by_label(fit) == dict(zip(frame["taxon"], expected.tolist()))
    # Integer ids with a nullable parent column.
    frame = pd.DataFrame({"id": [10, 20, 30], "parent": pd.array([None, 10, 10], "Int64")})
    assert isotree.Tree.from_dataframe(frame).parent.tolist() == [-1, 0, 0]


def test_from_dataframe_errors():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": ["a", "b", "a"], "parent": [None, "a", "b"]})
    with pytest.raises(ValueError, match=r"column 'id' names 'a' twice \(nodes 0 and 2\)"):
        isotree.Tree.from_dataframe(frame)
    frame = pd.DataFrame({"id": ["a", "b"], "parent": [None, "c"]})
    with pytest.raises(ValueError, match=r"column 'parent', row 1: 'c' is not a name of "
                                         r"column 'id'"):
        isotree.Tree.from_dataframe(frame)
    frame = pd.DataFrame({"id": ["a", None], "parent": [None, "a"]})
    with pytest.raises(ValueError, match="row 1 has no name"):
        isotree.Tree.from_dataframe(frame)
    with pytest.raises(ValueError, match="frame has no column 'node' for id"):
        isotree.Tree.from_dataframe(frame, id="node")


def test_from_networkx():
    nx = pytest.importorskip("networkx")
    graph = nx.bfs_tree(nx.balanced_tree(2, 3), 0)  # edges from parent to child
    tree = isotree.Tree.from_networkx(graph)
    assert tree.labels.tolist() == list(graph.nodes)
    for parent_name, child in graph.edges():
        assert tree.labels[tree.parent[tree._label_index[child]]] == parent_name
    rng = np.random.default_rng(0)
    y = {node: float(rng.normal()) for node in graph.nodes}
    fit = tree.by_label(isotree.tree_isotonic_regression(tree.align(y), tree))
    for parent_name, child in graph.edges():
        assert fit[parent_name] <= fit[child]
    # Isolated nodes are roots.
    graph.add_node("alone")
    assert isotree.Tree.from_networkx(graph).parent[-1] == -1


def test_from_networkx_errors():
    nx = pytest.importorskip("networkx")
    with pytest.raises(ValueError, match="graph must be directed"):
        isotree.Tree.from_networkx(nx.path_graph(3))
    with pytest.raises(ValueError, match="node 'c' has two parents: 'a' and 'b'"):
        isotree.Tree.from_networkx(nx.DiGraph([("a", "c"), ("b", "c")]))
    with pytest.raises(ValueError, match="cycle through node"):
        isotree.Tree.from_networkx(nx.DiGraph([("a", "b"), ("b", "a")]))


# ---------------------------------------------------------------------------------------
# The command line: --id names the rows, the parent column holds names.

def solve(capsys, tmp_path, text, *options):
    path = tmp_path / "in.csv"
    path.write_text(text)
    code = main(["solve", str(path), *options])
    captured = capsys.readouterr()
    err = [line for line in captured.err.strip().splitlines() if "compiling" not in line]
    return code, list(csv.DictReader(io.StringIO(captured.out))), err, str(path)


def test_cli_parent_by_name(tmp_path, capsys):
    text = ("taxon,parent,y\nanimals,,3\nmammals,animals,1\ncat,mammals,4\ndog,mammals,2\n"
            "fish,animals,5\ntrout,fish,0.5\n")
    code, rows, err, path = solve(capsys, tmp_path, text, "--id", "taxon")
    assert code == 0
    expected = isotree.tree_isotonic_regression([3, 1, 4, 2, 5, 0.5], [-1, 0, 1, 1, 0, 4])
    np.testing.assert_allclose([float(r["fit"]) for r in rows], expected)
    assert [r["taxon"] for r in rows] == ["animals", "mammals", "cat", "dog", "fish", "trout"]
    assert err == [f"isotree: fit 6 rows of {path}: tree from column 'parent', names from "
                   f"column 'taxon' (1 root), increasing, unit weights"]


@pytest.mark.parametrize("text, options, message", [
    ("name,parent,y\na,,1\nb,c,2\n", (), "line 3: column 'parent': 'c' is not a name in "
                                         "column 'name'"),
    ("name,parent,y\na,,1\na,a,2\n", (), "line 3: column 'name': 'a' names line 2 already"),
    ("name,parent,y\na,,1\n,a,2\n", (), "line 3: column 'name' is empty"),
    ("name,parent,y\na,b,1\nb,a,2\n", (), "node 0 (line 2) is on a cycle"),
    ("name,y\na,1\n", (), "--id name: the id column names the nodes that a parent column "
                          "refers to"),
    ("name,parent,y\na,,1\n", ("--keep", "name"), "column 'name' is read as 'id'"),
])
def test_cli_parent_by_name_errors(tmp_path, capsys, text, options, message):
    code, _, err, _ = solve(capsys, tmp_path, text, "--id", "name", *options)
    assert code == 1 and len(err) == 1
    assert message in err[0]
