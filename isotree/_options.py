"""The options of every solver, validated once.

A public function or an adapter builds its options here, from the caller's keywords; the
dispatcher, the engine and the kernels then take them as they are and check nothing again.
Options are named tuples (immutable, and cheap to build on every call).
Array arguments are validated where they are laid out (:mod:`isotree._engine.rows` on the
host, :mod:`isotree._cuda.rows` on a CUDA device), so every call is validated exactly once.
``axis`` is checked to be an integer here and normalised against the array's dimension when
the rows are laid out.
"""

import operator
from typing import NamedTuple

import numpy as np

from . import _validate as v
from ._threads import check_workers

TIES = ("primary", "secondary", "tertiary")  # their index is the kernels' mode code
METHODS = ("exact", "approx", "shift")  # likewise


def axis_index(axis):
    """An integer axis (its range is checked against the array when rows are laid out)."""
    if type(axis) is int:
        return axis
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis must be an integer; got {axis!r}")
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer; got {axis!r}") from None


class Chain(NamedTuple):
    increasing: bool = True
    ties: str = "primary"
    y_min: float = None
    y_max: float = None
    axis: int = -1
    return_blocks: bool = False
    workers: int = None


def chain(*, has_x, increasing=True, ties="primary", y_min=None, y_max=None, axis=-1,
          return_blocks=False, workers=None):
    """Options of :func:`isotree.isotonic_regression` (``has_x``: a predictor is given)."""
    increasing = v.check_flag(increasing, "increasing")
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    v.check_choice(ties, "ties", TIES)
    if not has_x and ties != "primary":
        raise ValueError(f"ties={ties!r} needs a predictor x: without x the order is the "
                         f"position along axis and has no ties")
    y_min, y_max = v.check_bounds(y_min, y_max)
    return Chain(increasing, ties, y_min, y_max, axis_index(axis), return_blocks,
                 check_workers(workers))


class Tree(NamedTuple):
    increasing: bool = True
    return_blocks: bool = False
    workers: int = None
    axis: int = -1  # the nodes' axis (the adapters take one)
    y_min: float = None
    y_max: float = None


def tree(*, increasing=True, y_min=None, y_max=None, return_blocks=False, workers=None,
         axis=-1):
    """Options of :func:`isotree.tree_isotonic_regression`."""
    y_min, y_max = v.check_bounds(y_min, y_max)
    return Tree(v.check_flag(increasing, "increasing"),
                v.check_flag(return_blocks, "return_blocks"), check_workers(workers),
                axis_index(axis), y_min, y_max)


class Star(NamedTuple):
    increasing: bool = True
    axis: int = -1
    return_blocks: bool = False
    workers: int = None
    y_min: float = None
    y_max: float = None


def star(*, increasing=True, y_min=None, y_max=None, axis=-1, return_blocks=False,
         workers=None):
    """Options of :func:`isotree.star_isotonic_regression`."""
    y_min, y_max = v.check_bounds(y_min, y_max)
    return Star(v.check_flag(increasing, "increasing"), axis_index(axis),
                v.check_flag(return_blocks, "return_blocks"), check_workers(workers),
                y_min, y_max)


class Logits(NamedTuple):
    method: str = "exact"
    n_iter: int = 0
    return_blocks: bool = False
    workers: int = None


def logits(*, method="exact", n_iter=None, return_blocks=False, workers=None):
    """Options of :func:`isotree.ida.isotonic_logits`; ``n_iter`` defaults to 2 for
    ``"approx"`` and is 0 otherwise."""
    method = v.check_choice(method, "method", METHODS)
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    if method == "approx":
        n_iter = 2 if n_iter is None else v.check_count(n_iter, "n_iter", 0)
    elif n_iter is not None:
        raise ValueError(f"n_iter is only used with method='approx'; got n_iter={n_iter!r} "
                         f"with method={method!r}")
    else:
        n_iter = 0
    if return_blocks and method != "exact":
        raise ValueError(f"return_blocks needs method='exact'; got method={method!r}")
    return Logits(method, n_iter, return_blocks, check_workers(workers))


class Dag(NamedTuple):
    return_blocks: bool = False
    y_min: float = None
    y_max: float = None


def dag(*, y_min=None, y_max=None, return_blocks=False):
    """Options of :func:`isotree.dag_isotonic_regression`."""
    y_min, y_max = v.check_bounds(y_min, y_max)
    return Dag(v.check_flag(return_blocks, "return_blocks"), y_min, y_max)


class Grid(NamedTuple):
    increasing: object = True  # a bool, or a tuple of them (one per ordered axis)
    axes: tuple = None  # None: every axis
    return_blocks: bool = False
    y_min: float = None
    y_max: float = None


def grid(*, increasing=True, axes=None, y_min=None, y_max=None, return_blocks=False):
    """Options of :func:`isotree.grid_isotonic_regression`. The axes' range and repeats and
    the number of directions are checked against the array (:func:`directions`)."""
    if not isinstance(increasing, (bool, np.bool_)):
        increasing = directions(increasing, None)
    if axes is not None:
        axes = tuple(np.atleast_1d(np.asarray(axes, dtype=object)).tolist())
    y_min, y_max = v.check_bounds(y_min, y_max)
    return Grid(increasing, axes, v.check_flag(return_blocks, "return_blocks"), y_min, y_max)


def directions(increasing, ndim):
    """One bool per ordered axis, from a bool or a sequence of bools (of length ``ndim``,
    unless None)."""
    if isinstance(increasing, (bool, np.bool_)):
        return (bool(increasing),) * ndim
    try:
        directions = tuple(increasing)
    except TypeError:
        raise TypeError("increasing must be True, False or one of them per axis; "
                        f"got {increasing!r}") from None
    if ndim is not None and len(directions) != ndim:
        raise ValueError(f"increasing must have one entry per ordered axis ({ndim}); "
                         f"got {len(directions)}")
    return tuple(v.check_flag(d, "increasing") for d in directions)


def grid_shape(shape, name="shape"):
    """A grid's shape: a tuple of sizes >= 0 (booleans refused)."""
    entries = np.atleast_1d(np.asarray(shape, dtype=object)).tolist()
    try:
        if any(isinstance(s, (bool, np.bool_)) for s in entries):
            raise TypeError
        dims = tuple(operator.index(s) for s in entries)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of integers; got {shape!r}") from None
    if any(s < 0 for s in dims):
        raise ValueError(f"{name} must hold sizes >= 0; got {dims}")
    return dims


class Certificate(NamedTuple):
    increasing: bool = True


def certificate(*, increasing=True):
    """Options of :func:`isotree.kkt_violation`."""
    return Certificate(v.check_flag(increasing, "increasing"))


def _bounded(options):
    """Constant bounds given: the fit is clipped to them (exact, see the docs)."""
    return options.y_min is not None or options.y_max is not None


# Named tuples (cheap to build: options are made on every call); the classes with bounds
# say whether any is given.
Chain.bounded = Tree.bounded = Star.bounded = Dag.bounded = Grid.bounded = property(_bounded)
