"""Knowledge-distillation losses, written once over the array namespace.

Every probability is taken through a log-softmax (never ``log(softmax)``, never a clip), so
logits of any size give finite losses; half-precision inputs are computed in float32 (the
adapters cast) and the loss is returned in float32, as autocast does for losses.
"""

import math

from . import _validate as v

IDA_MODES = ("exact", "approx", "shift", "penalty", None)
REDUCTIONS = ("mean", "sum", "none")


def check_options(temperature, alpha, sigma, ida, n_iter, reduction):
    """Validate the options of ``kd_loss``; returns them normalised."""
    if ida not in IDA_MODES:
        raise ValueError(f"ida must be one of {', '.join(map(repr, IDA_MODES))}; got {ida!r}")
    temperature = _real(temperature, "temperature")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    alpha = _real(alpha, "alpha")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}")
    if ida != "penalty" and sigma is not None:
        raise ValueError(f"sigma weighs the penalty of ida='penalty'; got sigma={sigma!r} with "
                         f"ida={ida!r}")
    sigma = 1.0 if sigma is None else _real(sigma, "sigma")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0; got {sigma}")
    if ida == "approx":
        n_iter = 2 if n_iter is None else v.check_count(n_iter, "n_iter", 0)
    elif n_iter is not None:
        raise ValueError(f"n_iter is only used with ida='approx'; got n_iter={n_iter!r} with "
                         f"ida={ida!r}")
    v.check_choice(reduction, "reduction", REDUCTIONS)
    return temperature, alpha, sigma, n_iter


def _real(value, name):
    """A finite real scalar (booleans refused)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def log_softmax(xp, z, stop_gradient):
    shifted = z - stop_gradient(xp.max(z, axis=-1, keepdims=True))
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def kd_penalty(xp, student, mass, stop_gradient):
    """The KD-p penalty of Cui & Yan per row (see ``isotree.torch.kd_penalty``)."""
    p = xp.exp(log_softmax(xp, student, stop_gradient))
    low = xp.min(mass, axis=-1, keepdims=True)
    mixed = mass > low
    has_mixed = xp.any(mixed, axis=-1)
    zero = xp.zeros_like(p)
    top_other = xp.max(xp.where(mixed, zero - 1.0, p), axis=-1)  # probabilities are >= 0
    low_mixed = xp.min(xp.where(mixed, p, zero + 2.0), axis=-1)
    set_term = xp.where(has_mixed, xp.clip(top_other - low_mixed, min=0.0),
                        xp.zeros_like(top_other))
    # a: the class of largest mass, b: of second-largest (first in class order on ties).
    order = xp.argsort(mass, axis=-1, descending=True, stable=True)
    a, b = order[..., 0:1], order[..., 1:2]
    mass_a, mass_b = _take(xp, mass, a), _take(xp, mass, b)
    ordered = (mass_a > mass_b) & (mass_b > low[..., 0])
    pair = xp.clip(_take(xp, p, b) - _take(xp, p, a), min=0.0)
    return set_term + xp.where(ordered, pair, xp.zeros_like(pair))


def _take(xp, values, index):
    from ._blocks import gather

    return gather(xp, values, index)[..., 0]


def kd_loss(xp, student, teacher, mass, *, ida, n_iter, fit_teacher, temperature, alpha,
            sigma, reduction, stop_gradient):
    """Per-row ``alpha T^2 KL(softmax(t'/T) || softmax(s/T)) + (1 - alpha) CE(s, mass)``
    (+ ``sigma`` KD-p), reduced; t' is ``fit_teacher(teacher, mass, method=ida, n_iter=...)``
    (the adapter's ``isotonic_logits``) for the isotonic modes. No gradient reaches the
    teacher."""
    if tuple(teacher.shape) != tuple(student.shape):
        raise ValueError(f"teacher_logits must have the shape of student_logits "
                         f"{tuple(student.shape)}; got {tuple(teacher.shape)}")
    teacher = stop_gradient(teacher)
    if ida in ("exact", "approx", "shift"):
        teacher = fit_teacher(teacher, mass, method=ida, n_iter=n_iter)
    penalty = ida == "penalty"
    t = temperature
    log_target = log_softmax(xp, stop_gradient(teacher) / t, stop_gradient)
    log_student_t = log_softmax(xp, student / t, stop_gradient)
    soft = xp.sum(xp.exp(log_target) * (log_target - log_student_t), axis=-1) * (t * t)
    hard = -xp.sum(mass * log_softmax(xp, student, stop_gradient), axis=-1)
    loss = alpha * soft + (1.0 - alpha) * hard
    if penalty:
        loss = loss + sigma * kd_penalty(xp, student, mass, stop_gradient)
    if reduction == "mean":
        return xp.mean(loss)
    if reduction == "sum":
        return xp.sum(loss)
    return loss
