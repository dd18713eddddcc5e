"""Isotonic data augmentation (IDA) for knowledge distillation.

For a mixed sample (Mixup, CutMix, any k-way mix, label smoothing) the teacher's scores should
keep the order of the hard-label mass: a class with more mass may not score below one with
less. Cui & Yan, "Isotonic Data Augmentation for Knowledge Distillation", IJCAI 2021
(arXiv:2107.01412), fit the teacher's logits to that order by isotonic regression and distil
from the result. This module builds the mass, computes the fit (exactly, as the paper's code
does; approximately; or by isotree's level-by-level shift correction) and measures how often
scores break the order.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from . import _dispatch
from . import _options as opt
from . import _validate as v
from ._bridge import bridge_of

__all__ = ["isotonic_logits", "mixup_mass", "order_violations"]


def mixup_mass(labels_a: ArrayLike, labels_b: ArrayLike, lam: ArrayLike,
               num_classes: int) -> Any:
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
    num_classes = v.check_count(num_classes, "num_classes", 1)
    bridge = bridge_of(labels_a, labels_b, lam)
    if bridge is not None:
        return _mixup_mass_on_device(bridge, labels_a, labels_b, lam, num_classes)
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


def _mixup_mass_on_device(bridge, labels_a, labels_b, lam, num_classes):
    """:func:`mixup_mass` for arrays of another library: the mass is built where they live."""
    xp = bridge.xp
    like = next(x for x in (labels_a, labels_b, lam) if bridge.is_array(x))
    device = bridge.device(like)
    labels = []
    for values, name in ((labels_a, "labels_a"), (labels_b, "labels_b")):
        if not bridge.is_array(values):
            labels.append(xp.asarray(v.check_labels(values, num_classes, name), device=device))
            continue
        if not xp.isdtype(values.dtype, "integral"):
            raise TypeError(f"{name} must hold integer class labels; got dtype {values.dtype}")
        if values.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional; got shape {tuple(values.shape)}")
        v.device_require(xp, xp.logical_and(values >= 0, values < num_classes), values, name,
                         f"in [0, {num_classes})")
        labels.append(values)
    a, b = labels
    _check_same_shape(tuple(a.shape), tuple(b.shape))
    if bridge.is_array(lam):
        lam_array = v.device_float(xp, lam, "lam", device, bridge.accumulator)
        float32 = lam_array.dtype == xp.float32
    else:  # a Python or NumPy scalar or array: validated on the host, made on the device
        host = np.asarray(lam)
        float32 = host.dtype == np.float32
        lam_array = xp.asarray(v.check_values(np.atleast_1d(host), "lam")[0], device=device)
    dtype = xp.float32 if float32 else bridge.accumulator
    _check_lam_shape(tuple(lam_array.shape) if lam_array.ndim else (1,), tuple(a.shape))
    lam_array = xp.reshape(lam_array, (-1,))
    v.device_finite(xp, lam_array, "lam")
    v.device_require(xp, xp.logical_and(lam_array >= 0, lam_array <= 1), lam_array, "lam",
                     "in [0, 1]")
    return _mass(xp, a, b, xp.astype(lam_array, dtype), num_classes, device)


def _check_same_shape(shape_a, shape_b):
    if shape_a != shape_b:
        raise ValueError(f"labels_b must have the shape of labels_a {shape_a}; got {shape_b}")


def _check_lam_shape(lam_shape, label_shape):
    if lam_shape not in ((1,), label_shape):
        raise ValueError(f"lam must be a scalar or have shape {label_shape}; got {lam_shape}")


def isotonic_logits(logits: ArrayLike, mass: ArrayLike, *,
                    method: Literal["exact", "approx", "shift"] = "exact",
                    n_iter: int | None = None, return_blocks: bool = False,
                    workers: int | None = None) -> Any:
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
    :math:`S_B - t W_B + \sum_{i \in G} (z_i - t)_+ = 0`, found by Michelot's iteration
    :math:`t \leftarrow \mathrm{mean}(B \cup \{i \in G : z_i > t\})` from the mean of
    :math:`B`, one vectorised pass over the row per step, until the set above :math:`t`
    stops changing: then :math:`t` is exact (a handful of passes for Mixup-shaped rows). A
    row that has not settled after eight steps (or a row of 2048 classes or more, once few
    entries remain above :math:`t`) finishes with an exact search over the few candidates
    left, in expected linear time. The approximation stops after ``n_iter`` steps
    (``n_iter=0`` only clips the lowest level at the mean of :math:`B`) and clips there;
    every iterate is a lower bound of the exact :math:`t`, so clipping at it keeps the
    order.

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
    options = opt.logits(method=method, n_iter=n_iter, return_blocks=return_blocks,
                         workers=workers)
    return _dispatch.run("logits", options, logits, mass, public="ida.isotonic_logits")


def order_violations(scores: ArrayLike, mass: ArrayLike) -> dict[str, float]:
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
    return _dispatch.run("order statistics", None, scores, mass,
                         public="ida.order_violations")
