"""A rooted tree or forest given by parent pointers, validated once for repeated solves."""

from __future__ import annotations

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

    Raises
    ------
    ValueError
        If an entry is < -1 or >= n, a node is its own parent, or the graph has a cycle
        (the message names a node on it).
    TypeError
        If ``parent`` does not hold integers.

    Examples
    --------
    >>> import isotree
    >>> tree = isotree.Tree([-1, 0, 0, 1])
    >>> tree.n_nodes, tree.roots.tolist(), tree.order.tolist()
    (4, [0], [0, 1, 3, 2])
    """

    __slots__ = ("parent", "order", "roots", "preorder_parent", "kind")

    def __init__(self, parent: ArrayLike | Tree):
        if isinstance(parent, Tree):  # already validated: share its read-only arrays
            for name in self.__slots__:
                setattr(self, name, getattr(parent, name))
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

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.parent.shape[0]

    def __len__(self):
        return self.n_nodes

    def __repr__(self):
        return f"Tree(n_nodes={self.n_nodes}, n_roots={self.roots.shape[0]})"


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


def as_tree(parent):
    """``parent`` itself if it is a :class:`Tree`, else a new one built from it."""
    return parent if isinstance(parent, Tree) else Tree(parent)
