"""A rooted tree or forest given by parent pointers, validated once for repeated solves."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from ._validate import check_parent


class Tree:
    """A rooted forest, validated once, with its traversal order cached.

    Pass a ``Tree`` instead of a parent array to :func:`tree_isotonic_regression` or
    :func:`kkt_violation` to skip validation and traversal on every call.

    Parameters
    ----------
    parent : array-like of int, shape (n,), or Tree
        ``parent[i]`` is the parent of node ``i``, or -1 if ``i`` is a root. Any labelling
        of the nodes is accepted (no leaves-first rule); several roots make a forest. A
        ``Tree`` gives an equal tree without validating again.
    labels : sequence of shape (n,), default=None
        A name for each node (any hashable values, all different), for trees given by
        name: see :meth:`from_pairs`, :meth:`from_dataframe` and :meth:`from_networkx`,
        which build the parent array from names; :meth:`align` and :meth:`by_label`
        translate values between names and nodes. Default: the nodes are their indices.

    Attributes
    ----------
    parent : ndarray of int64, shape (n,)
        A read-only copy of the parent array.
    n_nodes : int
        Number of nodes.
    roots : ndarray of int64
        The roots, in increasing order.
    order : ndarray of int64, shape (n,)
        A depth-first preorder: parents before children, every subtree a contiguous run.
        The solvers renumber the nodes in this order, which keeps each subtree's data
        together in memory (several times faster on large random trees).
    preorder_parent : ndarray of int64, shape (n,)
        The parent array in the numbering of `order`: node ``order[k]`` is numbered ``k``,
        and ``preorder_parent[k] < k`` for every non-root.
    kind : {"star", "path", "tree"}
        ``"star"``: one root and every other node its child; ``"path"``: one root and at
        most one child per node; ``"tree"``: anything else. Stars and paths are solved by
        the linear-time star and chain solvers.
    labels : ndarray of object, shape (n,), or None
        The name of each node (read-only), or None for a tree without names.

    Raises
    ------
    ValueError
        If an entry is < -1 or >= n, a node is its own parent, or the graph has a cycle
        (the message names a node on it).
        If `labels` does not have one entry per node or names a node twice.
    TypeError
        If ``parent`` does not hold integers, or a label is not hashable.

    Examples
    --------
    >>> import isotree
    >>> tree = isotree.Tree([-1, 0, 0, 1])
    >>> tree.n_nodes, tree.roots.tolist(), tree.order.tolist()
    (4, [0], [0, 1, 3, 2])

    A hierarchy by name, and its fit keyed by name:

    >>> tree = isotree.Tree.from_pairs([("cat", "mammals"), ("dog", "mammals"),
    ...                                 ("mammals", "animals"), ("trout", "animals")])
    >>> tree.labels.tolist(), tree.parent.tolist()
    (['cat', 'mammals', 'dog', 'animals', 'trout'], [1, 3, 1, -1, 3])
    >>> y = tree.align({"animals": 3.0, "mammals": 1.0, "cat": 4.0, "dog": 2.0,
    ...                 "trout": 5.0})
    >>> tree.by_label(isotree.tree_isotonic_regression(y, tree))
    {'cat': 4.0, 'mammals': 2.0, 'dog': 2.0, 'animals': 2.0, 'trout': 5.0}
    """

    __slots__ = ("parent", "order", "roots", "preorder_parent", "kind", "labels",
                 "_label_index")

    def __init__(self, parent: ArrayLike | Tree, labels=None):
        if isinstance(parent, Tree):  # already validated: share its read-only arrays
            for name in self.__slots__:
                setattr(self, name, getattr(parent, name))
            if labels is not None:
                self._set_labels(labels)
            return
        self.parent, self.order = check_parent(parent)
        self.roots = np.flatnonzero(self.parent == -1)
        self.roots.flags.writeable = False
        position = np.empty_like(self.order)
        position[self.order] = np.arange(self.n_nodes)
        preorder_parent = self.parent[self.order]
        has_parent = preorder_parent >= 0
        preorder_parent[has_parent] = position[preorder_parent[has_parent]]
        preorder_parent.flags.writeable = False
        self.preorder_parent = preorder_parent
        self.kind = _kind(self.parent, self.roots)
        self.labels = self._label_index = None
        if labels is not None:
            self._set_labels(labels)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.parent.shape[0]

    def __len__(self):
        return self.n_nodes

    def __repr__(self):
        return f"Tree(n_nodes={self.n_nodes}, n_roots={self.roots.shape[0]})"

    # -- Trees by name ---------------------------------------------------------------------

    def _set_labels(self, labels):
        names = _object_array(labels)
        if names.shape != (self.n_nodes,):
            raise ValueError(f"labels must have one entry per node ({self.n_nodes}); got "
                             f"{len(names)}")
        self._label_index = _index_of_labels(names, "labels")
        names.flags.writeable = False
        self.labels = names

    @classmethod
    def from_pairs(cls, pairs):
        """A tree from ``(child, parent)`` pairs of names.

        Parameters
        ----------
        pairs : iterable of (hashable, hashable or None), or mapping
            Each node's parent by name (a mapping ``{child: parent}`` is read as its
            items). A parent of None makes the child a root, and so does appearing only
            as a parent: ``("mammals", "animals")`` with no pair for ``"animals"`` makes
            ``"animals"`` a root.

        Returns
        -------
        Tree
            The tree, with `labels` in order of first appearance in `pairs`.

        Raises
        ------
        ValueError
            If a child has two parents (both are named), a pair is not two values, or
            the pairs contain a cycle (a node on it is named).
        TypeError
            If a name is not hashable.

        Examples
        --------
        >>> import isotree
        >>> tree = isotree.Tree.from_pairs({"b": "a", "c": "a", "d": "c", "e": None})
        >>> tree.labels.tolist(), tree.parent.tolist()
        (['b', 'a', 'c', 'd', 'e'], [1, -1, 1, 2, -1])
        """
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        index, parents = {}, []

        def node(label):
            try:
                k = index.setdefault(label, len(index))
            except TypeError:
                raise TypeError(f"node names must be hashable; got {label!r}") from None
            if k == len(parents):
                parents.append(None)  # not (yet) seen as a child: a root so far
            return k

        for number, pair in enumerate(items):
            try:
                child, parent = pair
            except (TypeError, ValueError):
                raise ValueError(f"pairs[{number}] must be a (child, parent) pair; got "
                                 f"{pair!r}") from None
            k = node(child)
            if parents[k] is not None:
                raise ValueError(f"node {child!r} has two parents: {parents[k][1]!r} and "
                                 f"{parent!r} (pairs[{number}])")
            parents[k] = (-1, None) if parent is None else (node(parent), parent)
        parent_array = np.array([-1 if p is None else p[0] for p in parents], dtype=np.int64)
        return cls._named(parent_array, list(index))

    @classmethod
    def from_dataframe(cls, frame, id="id", parent="parent"):
        """A tree from a table with one row per node: its name and its parent's name.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per node. Node ``i`` is row ``i``, so a column of values in the same
            frame is already in node order.
        id : str, default="id"
            The column of node names (all different, none missing).
        parent : str, default="parent"
            The column of each node's parent, by name; a missing value (None, NaN, NA)
            marks a root.

        Returns
        -------
        Tree
            The tree, with the `id` column as `labels`.

        Raises
        ------
        ValueError
            If a column is missing, a name appears twice or is missing, a parent is not a
            name of the `id` column (the row is given), or there is a cycle.

        Examples
        --------
        >>> import pandas as pd
        >>> import isotree
        >>> frame = pd.DataFrame({"id": ["animals", "mammals", "cat", "dog"],
        ...                       "parent": [None, "animals", "mammals", "mammals"],
        ...                       "y": [3.0, 1.0, 4.0, 2.0]})
        >>> tree = isotree.Tree.from_dataframe(frame)
        >>> tree.parent.tolist()
        [-1, 0, 1, 1]
        >>> tree.by_label(isotree.tree_isotonic_regression(frame["y"], tree))
        {'animals': 2.0, 'mammals': 2.0, 'cat': 4.0, 'dog': 2.0}
        """
        for role, column in (("id", id), ("parent", parent)):
            if column not in frame.columns:
                raise ValueError(f"frame has no column {column!r} for {role} (columns: "
                                 f"{', '.join(map(repr, frame.columns))})")
        names = _object_array(frame[id].to_list())
        missing = np.asarray(frame[id].isna())
        if missing.any():
            raise ValueError(f"column {id!r} must name every node; row "
                             f"{int(np.flatnonzero(missing)[0])} has no name")
        index = _index_of_labels(names, f"column {id!r}")
        is_root = np.asarray(frame[parent].isna())
        parent_names = frame[parent].to_list()
        parent_array = np.full(len(names), -1, dtype=np.int64)
        for row in np.flatnonzero(~is_root):
            name = parent_names[row]
            try:
                parent_array[row] = index[name]
            except KeyError:
                raise ValueError(f"column {parent!r}, row {row}: {name!r} is not a name of "
                                 f"column {id!r}") from None
            except TypeError:
                raise TypeError(f"column {parent!r}, row {row}: {name!r} is not "
                                f"hashable") from None
        return cls._named(parent_array, names)

    @classmethod
    def from_networkx(cls, graph):
        """A tree from a networkx directed graph whose edges point from parent to child.

        Parameters
        ----------
        graph : networkx.DiGraph
            A forest of arborescences (as ``networkx.is_arborescence`` and
            ``networkx.bfs_tree`` give): every node has at most one incoming edge.

        Returns
        -------
        Tree
            The tree, with the graph's nodes (in its node order) as `labels`.

        Raises
        ------
        ValueError
            If the graph is undirected, a node has two parents (both are named), or there
            is a cycle.

        Examples
        --------
        >>> import networkx as nx
        >>> import isotree
        >>> graph = nx.DiGraph([("animals", "mammals"), ("mammals", "cat"),
        ...                     ("mammals", "dog")])
        >>> tree = isotree.Tree.from_networkx(graph)
        >>> tree.labels.tolist(), tree.parent.tolist()
        (['animals', 'mammals', 'cat', 'dog'], [-1, 0, 1, 1])
        """
        if not graph.is_directed():
            raise ValueError("graph must be directed, with edges from parent to child; got "
                             "an undirected graph")
        names = list(graph.nodes)
        index = {name: k for k, name in enumerate(names)}
        parent_array = np.full(len(names), -1, dtype=np.int64)
        for parent, child in graph.edges():
            k = index[child]
            if parent_array[k] >= 0:
                raise ValueError(f"node {child!r} has two parents: "
                                 f"{names[parent_array[k]]!r} and {parent!r}")
            parent_array[k] = index[parent]
        return cls._named(parent_array, names)

    @classmethod
    def _named(cls, parent, names):
        """The tree of ``parent`` built from names: its errors name the nodes."""
        loops = np.flatnonzero(parent == np.arange(parent.shape[0]))
        if loops.size:
            raise ValueError(f"node {names[loops[0]]!r} is its own parent")
        try:
            return cls(parent, labels=names)
        except ValueError as error:
            on_cycle = re.search(r"node (\d+)", str(error))
            if on_cycle is None:
                raise
            raise ValueError(f"the parent links contain a cycle through node "
                             f"{names[int(on_cycle.group(1))]!r}") from None

    def align(self, values, name="values"):
        """Values given by node name, as an array in node order.

        Parameters
        ----------
        values : mapping
            A value for every node, keyed by its name (a dict, or a pandas Series indexed
            by name).
        name : str, default="values"
            What the values are, for error messages.

        Returns
        -------
        ndarray of float64, shape (n,)
            ``values[labels[i]]`` at position ``i``.

        Raises
        ------
        ValueError
            If the tree has no labels, or a node has no value or a name is not a node
            (the first is named).

        Examples
        --------
        >>> import isotree
        >>> tree = isotree.Tree.from_pairs([("b", "a")])
        >>> tree.align({"a": 1.0, "b": 2.0})
        array([2., 1.])
        """
        index = self._require_labels("align")
        out = np.full(self.n_nodes, np.nan)
        seen = np.zeros(self.n_nodes, dtype=bool)
        for label, value in values.items():
            k = index.get(label) if _hashable(label) else None
            if k is None:
                raise ValueError(f"{name} has an entry for {label!r}, which is not a node "
                                 f"of the tree")
            out[k] = value
            seen[k] = True
        if not seen.all():
            missing = self.labels[int(np.flatnonzero(~seen)[0])]
            raise ValueError(f"{name} has no entry for node {missing!r}")
        return out

    def by_label(self, values):
        """Values in node order (a fit), keyed by node name.

        Parameters
        ----------
        values : array-like of shape (..., n)
            One value per node along the last axis.

        Returns
        -------
        dict
            ``{label: values[..., i]}`` in node order: Python numbers for 1-D `values`,
            arrays of the leading shape otherwise. A tree without labels keys by index.

        Raises
        ------
        ValueError
            If the last axis of `values` does not have one entry per node.

        Examples
        --------
        >>> import isotree
        >>> tree = isotree.Tree.from_pairs([("b", "a")])
        >>> tree.by_label([2.0, 1.0])
        {'b': 2.0, 'a': 1.0}
        """
        array = np.asarray(values)
        if array.ndim == 0 or array.shape[-1] != self.n_nodes:
            got = array.shape[-1] if array.ndim else "a scalar"
            raise ValueError(f"values must have one entry per node along the last axis "
                             f"({self.n_nodes}); got {got}")
        labels = range(self.n_nodes) if self.labels is None else self.labels.tolist()
        if array.ndim == 1:
            return dict(zip(labels, array.tolist()))
        return {label: array[..., k] for k, label in enumerate(labels)}

    def _require_labels(self, method):
        if self._label_index is None:
            raise ValueError(f"Tree.{method} needs node names: build the tree with labels= "
                             f"or Tree.from_pairs / from_dataframe / from_networkx")
        return self._label_index


def _kind(parent, roots):
    """``"star"`` (one root, every other node its child), ``"path"`` (one root, at most one
    child each) or ``"tree"``: the first two have linear-time solvers of their own."""
    n = parent.shape[0]
    if n < 3 or roots.shape[0] != 1:
        return "tree"
    if np.all((parent == roots[0]) | (parent == -1)):
        return "star"
    children = np.bincount(parent[parent >= 0], minlength=n)
    return "path" if children.max() <= 1 else "tree"


def _object_array(labels):
    """``labels`` as a 1-D object array (tuples stay single labels)."""
    labels = list(labels)
    names = np.empty(len(labels), dtype=object)
    names[:] = labels
    return names


def _hashable(label):
    try:
        hash(label)
    except TypeError:
        return False
    return True


def _index_of_labels(names, what):
    """``{label: node}``; every label hashable and different from the others."""
    index = {}
    for k, label in enumerate(names.tolist()):
        if not _hashable(label):
            raise TypeError(f"{what}[{k}] is {label!r}: node names must be hashable")
        if isinstance(label, float) and math.isnan(label):
            raise ValueError(f"{what}[{k}] is NaN: every node needs a name")
        first = index.setdefault(label, k)
        if first != k:
            raise ValueError(f"{what} names {label!r} twice (nodes {first} and {k})")
    return index


def as_tree(parent):
    """``parent`` itself if it is a :class:`Tree`, else a new one built from it."""
    return parent if isinstance(parent, Tree) else Tree(parent)
