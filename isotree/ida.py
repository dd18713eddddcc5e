"""Isotonic data augmentation (IDA) for knowledge distillation.

For a mixed sample (Mixup, CutMix, any k-way mix, label smoothing) the teacher's scores should
keep the order of the hard-label mass: a class with more mass may not score below one with
less. Cui & Yan, "Isotonic Data Augmentation for Knowledge Distillation", IJCAI 2021
(arXiv:2107.01412), fit the teacher's logits to that order by isotonic regression and distil
from the result. This module builds the mass, computes the fit (exactly, as the paper's code
does; approximately; or by isotree's level-by-level shift correction) and measures how often
scores break the order.
"""

import math

import numpy as np

from . import _threads
from . import _validate as v
from ._numba.ida import APPROX, EXACT, SHIFT, ida_rows, order_stats_rows
from ._requires_grad import warn_if_requires_grad
from ._scratch import scratch
from ._xp.common import is_foreign, namespace, to_host

__all__ = ["isotonic_logits", "mixup_mass", "order_violations"]

METHODS = {"exact": EXACT, "approx": APPROX, "shift": SHIFT}


def mixup_mass(labels_a, labels_b, lam, num_classes):
    r"""Hard-label mass of mixed samples: ``lam * onehot(a) + (1 - lam) * onehot(b)``.

    Parameters
    ----------
    labels_a, labels_b : array-like of int of shape (B,)
        The two labels mixed into each sample.
    lam : float or array-like of shape (B,)
        The weight of `labels_a`, in [0, 1] (for CutMix, the area fraction of the pasted
        box that is *not* covered, i.e. the share of sample a).
    num_classes : int
        The number of classes c.

    Returns
    -------
    array of shape (B, c)
        Each row sums to 1; ``a == b`` puts all the mass on one class. The array type and
        device are those of the inputs: NumPy for NumPy arrays, lists and scalars; a tensor
        on the same device when any input is a PyTorch tensor (likewise CuPy and JAX
        arrays). The dtype is float32 when `lam` is float32, otherwise float64 (float32
        for JAX without ``jax_enable_x64``).

    Raises
    ------
    ValueError
        If a label is outside ``[0, num_classes)``, `lam` is outside [0, 1] or not
        finite, or the shapes differ.
    TypeError
        If the labels are not integers, `lam` is not real, or `num_classes` is not an
        integer.

    Examples
    --------
    >>> import numpy as np
    >>> from isotree.ida import mixup_mass
    >>> mixup_mass([0, 2], [1, 2], [0.7, 0.4], num_classes=3)
    array([[0.7, 0.3, 0. ],
           [0. , 0. , 1. ]])
    >>> mixup_mass([0], [1], np.float32(0.25), num_classes=2).dtype
    dtype('float32')
    """
    num_classes = _check_integer(num_classes, "num_classes", 1)
    xp = namespace(labels_a, labels_b, lam)
    if xp is not None:
        return _mixup_mass_xp(xp, labels_a, labels_b, lam, num_classes)
    a = v.check_labels(labels_a, num_classes, "labels_a")
    b = v.check_labels(labels_b, num_classes, "labels_b")
    _check_same_shape(a.shape, b.shape)
    lam_array = np.asarray(lam)
    dtype = np.float32 if lam_array.dtype == np.float32 else np.float64
    lam64, _, _ = v.check_values(np.atleast_1d(lam_array), "lam")
    _check_lam_shape(tuple(lam64.shape), a.shape)
    if lam64.size and (lam64.min() < 0 or lam64.max() > 1):
        bad = int(np.flatnonzero((lam64 < 0) | (lam64 > 1))[0])
        raise ValueError(f"lam must be in [0, 1]; lam[{bad}] is {lam64[bad]}")
    return _mass(np, a, b, lam64.astype(dtype), num_classes, None)


def _mass(xp, a, b, lam, num_classes, device):
    """``lam * onehot(a) + (1 - lam) * onehot(b)`` of validated arrays of namespace ``xp``.

    Built by comparison with the class indices (no scatter), so it runs unchanged on every
    array library and device; ``a == b`` gives ``lam + (1 - lam)``, which rounds to 1.
    """
    classes = (xp.arange(num_classes) if device is None
               else xp.arange(num_classes, device=device))
    classes = xp.reshape(classes, (1, num_classes))
    lam = xp.reshape(lam, (-1, 1))
    zero = xp.zeros_like(lam)
    return (xp.where(xp.reshape(a, (-1, 1)) == classes, lam, zero)
            + xp.where(xp.reshape(b, (-1, 1)) == classes, 1 - lam, zero))


def _mixup_mass_xp(xp, labels_a, labels_b, lam, num_classes):
    """:func:`mixup_mass` for arrays of another library: the mass is built where they live."""
    from ._xp.common import _require, accumulator, as_float, check_finite, device_of

    like = next(x for x in (labels_a, labels_b, lam) if is_foreign(x))
    device = device_of(like)
    labels = []
    for values, name in ((labels_a, "labels_a"), (labels_b, "labels_b")):
        if not is_foreign(values):
            labels.append(xp.asarray(v.check_labels(values, num_classes, name), device=device))
            continue
        if not xp.isdtype(values.dtype, "integral"):
            raise TypeError(f"{name} must hold integer class labels; got dtype {values.dtype}")
        if values.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional; got shape {tuple(values.shape)}")
        _require(xp, xp.logical_and(values >= 0, values < num_classes), values, name,
                 f"in [0, {num_classes})")
        labels.append(values)
    a, b = labels
    _check_same_shape(tuple(a.shape), tuple(b.shape))
    if is_foreign(lam):
        lam_array = as_float(xp, lam, "lam", device)
        float32 = lam_array.dtype == xp.float32
    else:  # a Python or NumPy scalar or array: validated on the host, made on the device
        host = np.asarray(lam)
        float32 = host.dtype == np.float32
        lam_array = xp.asarray(v.check_values(np.atleast_1d(host), "lam")[0], device=device)
    dtype = xp.float32 if float32 else accumulator(xp)
    _check_lam_shape(tuple(lam_array.shape) if lam_array.ndim else (1,), tuple(a.shape))
    lam_array = xp.reshape(lam_array, (-1,))
    check_finite(xp, lam_array, "lam")
    _require(xp, xp.logical_and(lam_array >= 0, lam_array <= 1), lam_array, "lam", "in [0, 1]")
    return _mass(xp, a, b, xp.astype(lam_array, dtype), num_classes, device)


def _check_same_shape(shape_a, shape_b):
    if shape_a != shape_b:
        raise ValueError(f"labels_b must have the shape of labels_a {shape_a}; got {shape_b}")


def _check_lam_shape(lam_shape, label_shape):
    if lam_shape not in ((1,), label_shape):
        raise ValueError(f"lam must be a scalar or have shape {label_shape}; got {lam_shape}")


def _check_integer(value, name, minimum):
    """An integer >= ``minimum``; booleans are refused (``True`` is not a count)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    return v.check_count(value, name, minimum)


def isotonic_logits(logits, mass, *, method="exact", n_iter=None, return_blocks=False,
                    workers=None):
    r"""Fit each row of logits to the order of its hard-label mass (the IDA order).

    Solves, for every row,

    .. math::

        \min_f \sum_i (f_i - z_i)^2 \quad\text{subject to}\quad
        m_i > m_j \Rightarrow f_i \ge f_j

    with no constraint between entries of equal mass ("primary" ties). For Mixup with
    ``lam > 1/2`` this is ``f_a >= f_b >= f_other``; ``lam = 1/2`` leaves a and b unordered;
    ``a == b`` puts that class above all others; k-way mixes give a chain of levels above
    the rest. Unweighted L2 on logits commutes with temperature: the fit of ``z / T`` is
    ``fit(z) / T``.

    Parameters
    ----------
    logits : array-like of shape (..., c)
        Teacher logits; float32 stays float32 (sums are accumulated in float64).
    mass : array-like of the shape of `logits`
        Non-negative hard-label mass per class (e.g. from :func:`mixup_mass`).
    method : {"exact", "approx", "shift"}, default="exact"
        ``"exact"``: the projection, O(c + k log k) per row for k classes above the row's
        lowest mass level (linear for Mixup and CutMix). ``"approx"``: `n_iter`
        variable-fixing steps for the threshold between the lowest level and the rest
        (every iterate feasible and below the exact threshold, exact once it stops moving).
        ``"shift"``: going up the mass levels, raise each level by how far its minimum
        falls below the maximum of the levels beneath it (isotree's level-by-level
        generalisation of a shift correction, offered as a cheap alternative; feasible but
        not the projection). The paper's official code computes the projection, i.e.
        ``"exact"``.
    n_iter : int, default=None
        Steps for ``"approx"`` (>= 0; default 2). Must be None for the other methods.
    return_blocks : bool, default=False
        Also return block labels (``"exact"`` only): entries pooled together share the
        index of one of them.
    workers : int, default=None
        Threads for the batch: ``None`` solves small batches (under 2**20 entries) in the
        calling thread and larger ones on every thread Numba may use; an int asks for at
        most that many (``-1``: all). See :doc:`/threads`.

    Returns
    -------
    fit : ndarray of the shape and float dtype of `logits`
    blocks : ndarray of int64, only if `return_blocks`

    Raises
    ------
    ValueError
        If `logits` or `mass` is a scalar, has a NaN or inf, `mass` is negative or has
        another shape, `method` is unknown, `n_iter` is given with a method other than
        ``"approx"``, or `return_blocks` with a method other than ``"exact"``.
    TypeError
        If `logits` or `mass` is not real-valued, or `n_iter` is not an integer.

    See Also
    --------
    isotree.isotonic_regression : the same fit with ``x=mass`` (sort-based, any shape).
    order_violations : how often scores break this order.

    Notes
    -----
    The entries above the lowest mass level are sorted by (mass, logit) and pooled by PAVA;
    their lowest block then acts as the root of a star over the lowest level and pools with
    the entries above the threshold :math:`t` solving
    :math:`S_B - t W_B + \sum_{i \in G} (z_i - t)_+ = 0`, found by an expected-linear
    breakpoint search. The approximation runs Michelot's iteration
    :math:`t \leftarrow \mathrm{mean}(B \cup \{i \in G : z_i > t\})` from the mean of
    :math:`B` (``n_iter=0`` only clips the lowest level at that mean); every iterate is a
    lower bound of the exact :math:`t`, so clipping at it keeps the order.

    References
    ----------
    .. [1] W. Cui and Y. Yan, "Isotonic Data Augmentation for Knowledge Distillation",
       IJCAI 2021, :doi:`10.24963/ijcai.2021/317`.
    .. [2] L. Condat, "Fast projection onto the simplex and the l1 ball", Mathematical
       Programming 158 (2016) 575-585, :doi:`10.1007/s10107-015-0946-6`.

    Examples
    --------
    Mixup of class 0 (70 %) and class 1 (30 %): the teacher ranks class 2 above both.
    The fit needs ``f0 >= f1 >= f2, f3``; classes 1 and 2 pool, and class 0 stays level:

    >>> import numpy as np
    >>> from isotree.ida import isotonic_logits, mixup_mass
    >>> mass = mixup_mass([0], [1], 0.7, num_classes=4)
    >>> logits = np.array([[2.0, 1.0, 3.0, -1.0]])
    >>> isotonic_logits(logits, mass)
    array([[ 2.,  2.,  2., -1.]])
    >>> isotonic_logits(logits, mass, method="shift")
    array([[ 3.,  3.,  3., -1.]])
    """
    method, n_iter, return_blocks = check_options(method, n_iter, return_blocks)
    workers = _threads.check_workers(workers)
    xp = namespace(logits, mass)
    if xp is not None:
        warn_if_requires_grad("ida.isotonic_logits", logits)
        from ._xp import api

        if api.runs_on_host(xp, logits, mass):
            return api.on_host(xp, lambda z, m: isotonic_logits(
                z, m, method=method, n_iter=n_iter, return_blocks=return_blocks,
                workers=workers), logits, mass)
        return api.logits(xp, logits, mass, method, n_iter, return_blocks)
    z, out_dtype, m, largest = check_logits(logits, mass)
    shape = z.shape
    c = shape[-1]
    rows = math.prod(shape[:-1])  # not reshape(-1, c): c may be 0
    z2 = np.ascontiguousarray(z.reshape(rows, c))
    # Rows with logits near the overflow threshold are scaled down by an exact power of
    # two, each by its own factor (a row's fit never depends on the other rows).
    scale = v.overflow_row_scales(z2, largest)
    if scale is not None:
        z2 = z2.astype(np.float64) * scale
    m2 = np.ascontiguousarray(m.reshape(rows, c))
    # The kernel reads float32 logits as they are and writes the fit in their dtype
    # (sums in float64): no conversion passes, no float64 copies.
    fit = np.empty_like(z2)
    labels = np.empty(z2.shape if return_blocks else (z2.shape[0], 0), dtype=np.int64)
    if z2.size:
        threads = _threads.threads_for(workers, z2.size, z2.shape[0])
        floats, ints = scratch((threads, 4, c), (threads, 4, c))
        bits, magnitude = v.as_bits(m2)
        _threads.call(ida_rows, threads, z2, m2, bits, magnitude, METHODS[method], n_iter or 0,
                      fit, labels, ints, floats)
    if scale is not None:
        fit /= scale
    fit = fit.reshape(shape).astype(out_dtype, copy=False)
    if return_blocks:
        return fit, labels.reshape(shape)
    return fit


def check_options(method, n_iter, return_blocks):
    """Validate the options of :func:`isotonic_logits`; ``n_iter`` defaults to 2 for approx."""
    method = v.check_choice(method, "method", tuple(METHODS))
    return_blocks = v.check_flag(return_blocks, "return_blocks")
    if method == "approx":
        n_iter = 2 if n_iter is None else _check_integer(n_iter, "n_iter", 0)
    elif n_iter is not None:
        raise ValueError(f"n_iter is only used with method='approx'; got n_iter={n_iter!r} "
                         f"with method={method!r}")
    if return_blocks and method != "exact":
        raise ValueError(f"return_blocks needs method='exact'; got method={method!r}")
    return method, n_iter, return_blocks


def check_logits(logits, mass):
    """Validate logits and mass (finite, same shape, mass >= 0): the arrays as the kernels
    read them, the logits' output dtype and their largest magnitude."""
    z, out_dtype, m, _, largest = _check_pair(logits, mass, "logits")
    return z, out_dtype, m, largest


def _check_pair(scores, mass, name):
    """Scores and mass: at least one dimension, one shape, finite, mass >= 0."""
    for values, label in ((scores, name), (mass, "mass")):
        if np.ndim(values) == 0:
            raise ValueError(f"{label} must have at least one dimension (shape (..., c)); "
                             f"got a scalar")
    s, out_dtype, m, negatives, largest = v.check_matrix_pair(scores, mass, name, "mass")
    v.check_mass(m, negatives)
    return s, out_dtype, m, negatives, largest


def order_violations(scores, mass):
    r"""How often scores break the order of the hard-label mass, over a batch.

    Parameters
    ----------
    scores : array-like of shape (..., c)
        Logits or probabilities (any monotone transform gives the same statistics).
    mass : array-like of the shape of `scores`
        Hard-label mass per class.

    Returns
    -------
    dict
        ``"violation_rate"``: share of rows with a pair ``m_i > m_j`` but
        ``s_i < s_j``; ``"kendall_tau"``: mean over rows of Kendall's tau between scores
        and mass over the pairs of different mass (``(C - D) / P``, score ties count as
        neither; rows with one mass level are skipped); ``"top2_any_mixed"``: share of
        rows with a mixed label (a class above the row's lowest mass level) among the two
        highest scores; ``"top2_all_mixed"``: share of rows whose ``min(2, k)`` highest
        scores are all mixed labels (k = the number of mixed labels; rows with none are
        skipped); ``"rows"``: the number of rows.

        With no classes (c = 0) a row counts as a row of one class: it violates nothing
        and has no mixed label.

    Raises
    ------
    ValueError
        If an input is a scalar, has a NaN or inf, `mass` is negative, or the shapes
        differ.
    TypeError
        If an input is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> from isotree.ida import mixup_mass, order_violations
    >>> mass = mixup_mass([0, 0], [1, 1], 0.7, num_classes=3)
    >>> scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    >>> stats = order_violations(scores, mass)
    >>> stats["violation_rate"], stats["kendall_tau"], stats["top2_all_mixed"]
    (0.5, 0.0, 0.5)
    """
    if namespace(scores, mass) is not None:  # statistics are computed on the host
        scores = to_host(scores) if namespace(scores) is not None else scores
        mass = to_host(mass) if namespace(mass) is not None else mass
    s, _, m, _, _ = _check_pair(scores, mass, "scores")
    c = s.shape[-1]
    rows = math.prod(s.shape[:-1])  # not reshape(-1, c): c may be 0
    s2 = np.ascontiguousarray(s.reshape(rows, c))
    m2 = np.ascontiguousarray(m.reshape(rows, c))
    out = np.empty((rows, 4))
    if s2.size:
        _threads.call(order_stats_rows, _threads.threads_for(None, s2.size, rows),
                      s2, m2, out)
    else:
        # A row without classes has no pair to break and no mixed label: the statistics
        # of a row with one class.
        out[:] = (0.0, np.nan, 0.0, np.nan)

    def mean_of(column):
        values = column[~np.isnan(column)]
        return float(values.mean()) if values.size else float("nan")

    return {
        "violation_rate": mean_of(out[:, 0]),
        "kendall_tau": mean_of(out[:, 1]),
        "top2_any_mixed": mean_of(out[:, 2]),
        "top2_all_mixed": mean_of(out[:, 3]),
        "rows": int(s2.shape[0]),
    }
