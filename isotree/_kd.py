"""Knowledge-distillation losses, written once for every framework.

Every function takes the framework's :class:`~isotree._bridge.Bridge` (PyTorch's or JAX's),
whose operations are the framework's own (so ``torch.compile`` and ``jax.jit`` trace them).
Every probability is taken through a log-softmax (never ``log(softmax)``, never a clip), so
logits of any size give finite losses; half-precision inputs are computed in float32 (the
adapters cast) and the loss is returned in float32, as autocast does for losses.
"""

import math
from typing import NamedTuple

from . import _options as opt
from . import _validate as v

IDA_MODES = ("exact", "approx", "shift", "penalty", None)
REDUCTIONS = ("mean", "sum", "none")


class Options(NamedTuple):
    """Validated options of ``kd_loss``; ``teacher`` are the options of the teacher's fit
    (None: the raw teacher logits)."""

    temperature: float
    alpha: float
    sigma: float
    penalty: bool
    teacher: opt.Logits
    reduction: str


def check_options(temperature, alpha, sigma, ida, n_iter, reduction):
    """Validate the options of ``kd_loss`` once: an :class:`Options`."""
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
    teacher = (opt.Logits(ida, n_iter or 0, return_blocks=ida == "exact")
               if ida in opt.METHODS else None)
    return Options(temperature, alpha, sigma, ida == "penalty", teacher, reduction)


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


def kd_penalty(bx, student, mass):
    """The KD-p penalty of Cui & Yan per row (see ``isotree.torch.kd_penalty``)."""
    p = bx.exp(bx.log_softmax(student))
    low = bx.amin(mass, keepdims=True)
    mixed = mass > low
    has_mixed = bx.any(mixed)
    top_other = bx.amax(bx.where(mixed, p - 2.0, p))  # probabilities are in [0, 1]
    low_mixed = bx.amin(bx.where(mixed, p, p + 2.0))
    set_term = bx.where(has_mixed, bx.relu(top_other - low_mixed), bx.zeros_like(top_other))
    # a: the class of largest mass, b: of second-largest (first in class order on ties).
    # Picked by masked sums, not gathers: torch.compile's inductor (torch 2.13, CPU)
    # miscompiles the backward of two gathers beside the maximum above.
    order = bx.argsort(mass, descending=True)
    classes = bx.arange_like(mass.shape[-1], order)
    is_a, is_b = classes == order[..., 0:1], classes == order[..., 1:2]

    def pick(values, chosen):
        return bx.sum(bx.where(chosen, values, bx.zeros_like(values)), axis=-1)

    ordered = (pick(mass, is_a) > pick(mass, is_b)) & (pick(mass, is_b) > low[..., 0])
    pair = bx.relu(pick(p, is_b) - pick(p, is_a))
    return set_term + bx.where(ordered, pair, bx.zeros_like(pair))


def kd_loss(bx, student, teacher_fit, mass, options):
    """Per-row ``alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, mass)``
    (+ ``sigma`` KD-p for ``ida="penalty"``), reduced; ``teacher_fit`` is the teacher's
    logits already fitted to the order of ``mass`` (or raw). No gradient reaches the
    teacher."""
    t, alpha, sigma = options.temperature, options.alpha, options.sigma
    log_target = bx.log_softmax(bx.detach(teacher_fit) / t)
    log_student_t = bx.log_softmax(student / t)
    soft = bx.sum(bx.exp(log_target) * (log_target - log_student_t), axis=-1) * (t * t)
    hard = -bx.sum(mass * bx.log_softmax(student), axis=-1)
    loss = alpha * soft + (1.0 - alpha) * hard
    if options.penalty:
        loss = loss + sigma * kd_penalty(bx, student, mass)
    if options.reduction == "mean":
        return bx.mean(loss)
    if options.reduction == "sum":
        return bx.sum(loss)
    return loss
