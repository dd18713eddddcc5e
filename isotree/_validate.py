"""Every argument check and dtype rule of the public functions, in one place.

Messages follow one template: the argument's name, what was expected, what was received, and
for values the first offending index, e.g. ``y must be finite; y[3] is nan``.
"""

import math
import operator

import numpy as np

from ._numba.checks import float_bits, scan_bits
from ._numba.traversal import node_on_cycle, preorder, preorder_of_topological


def index_text(index, shape):
    """Format flat C-order ``index`` of an array of ``shape`` as ``[i]`` or ``[i, j]``."""
    if len(shape) <= 1:
        return f"[{index}]"
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(index, shape)) + "]"


def as_float(values, name):
    """``values`` as a float64 ndarray (no copy when possible) and the dtype the result keeps.

    Floating inputs keep their dtype (float32 stays float32); integer and boolean inputs
    give float64. Complex, object, string and other dtypes raise ``TypeError``.
    """
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array; isotree does not read masks: pass the "
                        f"entries you want fitted (e.g. {name}.compressed() for a chain)")
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real; got complex dtype {array.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got dtype {array.dtype}")
    out_dtype = array.dtype.newbyteorder("=") if kind == "f" else np.dtype(np.float64)
    return np.asarray(array, dtype=np.float64), out_dtype


_KERNEL_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # native byte order


def as_kernel_float(values, name):
    """``values`` as float32 or float64 without a copy where possible, and the output dtype.

    For kernels that read float32 directly (accumulating in float64): float32 stays
    float32 and saves a conversion pass and a fresh array; other floats and integers are
    read as float64.
    """
    if type(values) is np.ndarray and values.dtype in _KERNEL_FLOATS:
        return values, values.dtype  # the common case, with nothing to convert or check
    array = np.asarray(values)
    _, out_dtype = as_float(array.reshape(-1)[:0], name)  # the dtype checks, on no data
    if array.dtype == np.float32 or array.dtype == np.float64:
        return np.asarray(array, dtype=array.dtype.newbyteorder("=")), out_dtype
    return np.asarray(array, dtype=np.float64), out_dtype


def scan(array):
    """One vectorised pass over a float array: ``(any not finite, largest |value|, any < 0,
    any <= 0, smallest nonzero |value| or inf)`` (contiguous arrays are read in place)."""
    if array.size == 0:
        return False, 0.0, False, False, math.inf
    flat = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")).reshape(-1)
    bits, magnitude, inf = float_bits(flat)
    bad, largest, negative, not_positive, smallest = scan_bits(bits, magnitude, ~magnitude,
                                                               inf)
    as_float = np.asarray([largest, smallest], bits.dtype).view(flat.dtype)
    return bad, float(as_float[0]), negative, not_positive, float(as_float[1])


def check_finite(array, name):
    """Raise ``ValueError`` at the first NaN/inf of ``array``; return (max |value|, scan).

    ``scan`` is the full result of :func:`scan`, for callers that also check signs.
    """
    result = scan(array)
    if result[0]:
        flat = array.reshape(-1)
        bad = int(np.flatnonzero(~np.isfinite(flat))[0])
        raise ValueError(
            f"{name} must be finite; {name}{index_text(bad, array.shape)} is {flat[bad]}")
    return result[1], result


def check_axis(axis, ndim, name="axis"):
    """Normalise ``axis`` for an array of ``ndim`` dimensions (booleans are refused)."""
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {axis!r}")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {axis!r}") from None
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} {axis} is out of range for an array of dimension {ndim}")
    return axis % ndim


def check_values(y, name="y"):
    """Validate ``y`` (at least one dimension, real, finite): ``(y64, out_dtype, max|y|)``."""
    y64, out_dtype = as_float(y, name)
    if y64.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension; got a scalar")
    largest, _ = check_finite(y64, name)
    return y64, out_dtype, largest


def check_weights_shape(weights, shape, axis, name="weights"):
    """``weights`` as float64 of shape ``(n,)`` (n = ``shape[axis]``) or exactly ``shape``.

    Only the dtype and the shape: the values are checked in the kernels' scan, and by
    :func:`check_weights` for the message when that scan finds a bad one.
    """
    w64, _ = as_float(weights, name)
    n = shape[axis]
    if w64.shape != tuple(shape) and w64.shape != (n,):
        raise ValueError(
            f"{name} must have shape ({n},) or the shape of y {tuple(shape)}; "
            f"got {w64.shape}")
    return w64


def check_weights(weights, shape, axis, name="weights", zero=True):
    """Validate weights against values of ``shape`` whose problems run along ``axis``.

    Accepted: ``None`` (all ones), shape ``(n,)`` with ``n = shape[axis]`` (one weight per
    position, shared by every problem), or exactly ``shape``. Every weight must be finite
    and >= 0 (> 0 with ``zero=False``). Returns ``(w64 or None, max weight)``.
    """
    if weights is None:
        return None, 1.0
    w64 = check_weights_shape(weights, shape, axis, name)
    largest, (_, _, negative, not_positive, _) = check_finite(w64, name)
    if negative or (not_positive and not zero):
        flat = w64.ravel()
        bad = int(np.flatnonzero(flat < 0 if zero else flat <= 0)[0])
        raise ValueError(f"{name} must be {'>= 0' if zero else '> 0'}; "
                         f"{name}{index_text(bad, w64.shape)} is {flat[bad]}")
    return w64, largest


def check_some_weight(weights, batch_shape, name="weights"):
    """Every problem (row of ``weights``, (m, n) or (1, n) shared) has a positive weight:
    a problem of missing observations only has nothing to fit. The message names a problem
    by its index in ``batch_shape`` (the shape of the values without the order's axis)."""
    empty = ~np.any(weights > 0, axis=1)
    if weights.shape[1] and empty.any():
        row = int(np.flatnonzero(empty)[0])
        where = ("" if weights.shape[0] == 1 else
                 f" of problem {index_text(row, batch_shape)}")
        raise ValueError(f"{name}{where} are all 0: a problem needs at least one positive "
                         f"weight")


def check_predictor(x, shape, axis, rows_shape, name="x"):
    """A predictor of shape ``(n,)`` or ``shape``, laid out as ``rows_shape`` rows.

    Kept in its own kind: integers as int64 (uint64 above 2**63), floats as float64,
    datetime64/timedelta64 as their int64 counts, so integers above 2**53 (nanosecond
    timestamps) keep their order and ties. NaN and NaT are refused.
    """
    if isinstance(x, np.ma.MaskedArray):
        as_float(x, name)  # raises the masked-array error
    array = np.asarray(x)
    kind = array.dtype.kind
    if kind in "mM":
        missing = np.isnat(array)
        if missing.any():
            bad = int(np.flatnonzero(missing.ravel())[0])
            raise ValueError(f"{name} must not hold NaT; {name}"
                             f"{index_text(bad, array.shape)} is NaT")
        array = array.view(np.int64)
    elif kind == "u":
        array = array.astype(np.uint64 if array.dtype.itemsize == 8 else np.int64)
    elif kind in "bi":
        array = array.astype(np.int64)
    else:
        array, _ = as_float(array, name)
        check_finite(array, name)
    n = shape[axis]
    if array.ndim == 0:
        raise ValueError(f"{name} must have shape ({n},) or the shape of y {tuple(shape)}; "
                         f"got a scalar")
    if array.shape == (n,):
        return np.ascontiguousarray(np.broadcast_to(array, rows_shape))
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape ({n},) or the shape of y {tuple(shape)}; "
                         f"got {array.shape}")
    moved = np.moveaxis(array, axis, -1)
    return np.ascontiguousarray(moved.reshape(rows_shape))


def check_bound(value, name):
    """A bound is None or a real scalar, not NaN."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):  # no array: compilers
        value = float(value)                                       # trace this
    else:
        array = np.asarray(value)
        if array.ndim != 0 or array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real scalar or None; got {value!r}")
        value = float(array)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def check_bounds(y_min, y_max):
    """Validate the bounds of a fit: ``(y_min, y_max)``, each None or a real number, an
    infinite bound on its own side standing for none (``y_min=inf`` or ``y_max=-inf``
    would leave no finite fit, and are refused)."""
    if y_min is None and y_max is None:
        return None, None
    y_min = check_bound(y_min, "y_min")
    y_max = check_bound(y_max, "y_max")
    for value, name, empty in ((y_min, "y_min", math.inf), (y_max, "y_max", -math.inf)):
        if value == empty:
            raise ValueError(f"{name} must be finite or {-empty}; got {value} (no finite fit "
                             f"lies within it)")
    if y_min is not None and y_max is not None and y_min > y_max:
        raise ValueError(f"y_min must be <= y_max; got y_min={y_min} > y_max={y_max}")
    return y_min, y_max


def check_choice(value, name, options):
    """``value`` must be one of ``options``."""
    if not isinstance(value, str) or value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_flag(value, name):
    """A boolean option (``numpy.bool_`` accepted)."""
    if value is True or value is False:  # the common case, first
        return value
    if not isinstance(value, np.bool_):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_parent(parent, name="parent"):
    """Validate a parent array (-1 marks a root) and return ``(parent64, order)``.

    ``order`` lists the nodes in depth-first preorder (parents first, subtrees contiguous).
    A labelling with ``parent[i] < i`` for every non-root (random recursive trees,
    breadth-first labellings) cannot have a cycle and takes a faster, stack-free path.

    Raises for a non-integer dtype or value, a shape other than 1-D, an entry < -1 or
    >= n, a node that is its own parent, and a cycle (naming a node on it).
    """
    array = np.asarray(parent)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}")
    kind = array.dtype.kind
    if kind == "f":
        finite = np.isfinite(array)
        integral = finite & (array == np.round(np.where(finite, array, 0)))
        if not integral.all():
            bad = int(np.flatnonzero(~integral)[0])
            raise ValueError(f"{name} must hold integer node indices; "
                             f"{name}[{bad}] is {array[bad]}")
    elif kind not in "iu":
        raise TypeError(f"{name} must be an integer array; got dtype {array.dtype}")
    n = array.shape[0]
    too_large = array >= n
    if kind != "u":
        bad_mask = (array < -1) | too_large
    else:
        bad_mask = too_large
    if bad_mask.any():
        bad = int(np.flatnonzero(bad_mask)[0])
        raise ValueError(f"{name} entries must be -1 (a root) or a node index in [0, {n}); "
                         f"{name}[{bad}] is {array[bad]}")
    parent64 = np.array(array, dtype=np.int64)
    self_loop = np.flatnonzero(parent64 == np.arange(n))
    if self_loop.size:
        bad = int(self_loop[0])
        raise ValueError(f"{name}[{bad}] is {bad}: a node cannot be its own parent")
    parent64.flags.writeable = False
    if np.all(parent64 < np.arange(n)):
        order = preorder_of_topological(parent64)
        order.flags.writeable = False
        return parent64, order
    order, count = preorder(parent64)
    if count < n:
        reached = np.zeros(n, dtype=np.bool_)
        reached[order[:count]] = True
        node = int(node_on_cycle(parent64, reached))
        if count == 0:
            raise ValueError(f"{name} has no root (no entry is -1): node {node} is on a cycle")
        raise ValueError(f"{name} contains a cycle through node {node}")
    order.flags.writeable = False
    return parent64, order


def check_root(root, batch_shape, n, name="root"):
    """One root index per problem: an int for all, or an array of the batch shape.

    Negative indices count from the end, as in NumPy. Returns a flat int64 array.
    """
    array = np.asarray(root)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer or an integer array; got dtype {array.dtype}")
    if n == 0 and math.prod(batch_shape):
        raise ValueError(f"{name} cannot index an empty axis: y has no entries along it")
    if array.ndim and array.shape != tuple(batch_shape):
        raise ValueError(f"{name} must be an integer or have the batch shape of y "
                         f"{tuple(batch_shape)}; got shape {array.shape}")
    bad = (array < -n) | (array >= n)
    if bad.any():
        where = index_text(int(np.flatnonzero(bad.ravel())[0]), array.shape) if array.ndim else ""
        value = array.ravel()[np.flatnonzero(bad.ravel())[0]]
        raise ValueError(f"{name} must be an index in [-{n}, {n}); {name}{where} is {value}")
    flat = np.broadcast_to(array, tuple(batch_shape)).reshape(-1).astype(np.int64)
    return np.where(flat < 0, flat + n, flat)


def matrix_pair(first, second, first_name, second_name):
    """Two real arrays of one shape with at least one dimension (e.g. logits, mass), as
    float32 or float64 (see :func:`as_kernel_float`), and the first's output dtype; their
    values are not read (see :func:`check_finite`)."""
    arrays = []
    for values, name in ((first, first_name), (second, second_name)):
        array, dtype = as_kernel_float(values, name)
        if array.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension (shape (..., c)); "
                             f"got a scalar")
        arrays.append((array, dtype))
    (a, a_dtype), (b, _) = arrays
    if a.shape != b.shape:
        raise ValueError(f"{second_name} must have the shape of {first_name} {a.shape}; "
                         f"got {b.shape}")
    return a, a_dtype, b


def check_mass(mass, negatives, name="mass"):
    """Hard-label mass is >= 0 everywhere (``negatives`` from :func:`check_finite`'s scan)."""
    if negatives:
        bad = int(np.flatnonzero(mass.ravel() < 0)[0])
        raise ValueError(f"{name} must be >= 0; {name}{index_text(bad, mass.shape)} is "
                         f"{mass.ravel()[bad]}")


def check_labels(labels, num_classes, name):
    """Integer class labels in [0, num_classes): a 1-D int64 array."""
    array = np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels; got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}")
    bad = (array < 0) | (array >= num_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be in [0, {num_classes}); {name}[{i}] is {array[i]}")
    return array.astype(np.int64)


def check_count(value, name, minimum):
    """An integer >= ``minimum`` (booleans are refused)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


# --- arrays of other libraries, checked where they live --------------------------------------
# Each check is one reduction on the array's device and one host synchronisation; the
# message is the template above, with the first offending index.


def device_float(xp, values, name, device, accumulator):
    """``values`` as a real floating array of namespace ``xp`` on ``device`` (integers and
    booleans become ``accumulator``)."""
    array = xp.asarray(values, device=device)
    if xp.isdtype(array.dtype, "complex floating"):
        raise TypeError(f"{name} must be real; got complex dtype {array.dtype}")
    if xp.isdtype(array.dtype, "real floating"):
        return array
    if xp.isdtype(array.dtype, ("integral", "bool")):
        return xp.astype(array, accumulator)
    raise TypeError(f"{name} must be numeric; got dtype {array.dtype}")


def device_require(xp, ok, array, name, what):
    """Raise ``ValueError`` at the first entry of ``array`` where ``ok`` is False."""
    if bool(xp.all(ok)):
        return
    bad = int(xp.argmin(xp.astype(xp.reshape(ok, (-1,)), xp.int32)))
    value = float(xp.reshape(array, (-1,))[bad])
    raise ValueError(f"{name} must be {what}; {name}{index_text(bad, tuple(array.shape))} is "
                     f"{value}")


def device_finite(xp, array, name):
    """No NaN or inf."""
    device_require(xp, xp.isfinite(array), array, name, "finite")
