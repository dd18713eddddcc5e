"""One object per array library: every question isotree asks about arrays that are not NumPy's.

:func:`bridge_of` looks at the arguments of a call once and returns the :class:`Bridge` of
their library (PyTorch, CuPy, JAX, or any other array-API library such as
``array_api_strict``), or None when they are all NumPy arrays, Python sequences or scalars.
The bridge answers, for that library: where an array lives (host memory, a CUDA device), how
to move it to the host as NumPy and back (:meth:`Bridge.to_host`, :meth:`Bridge.from_host`),
which CUDA device and stream its library is using, whether a derivative is watching it, and
the few array operations beyond the array API standard that the derivatives and the KD losses
need (a per-row gather and scatter-add, a stable argsort, ``log_softmax``).

No library is imported here: a bridge exists only once an array of its library has been seen
(or an adapter asks for it), and then the library is already imported.
"""

import functools
import math

import numpy as np

# Arguments that are never arrays of another library (checked first: the common case).
_HOST_TYPES = (np.ndarray, np.generic, list, tuple, int, float, bool, range)


class Bridge:
    """What isotree needs from one array library; this base class is NumPy's."""

    name = "numpy"

    @property
    def xp(self):
        """The library's array-API namespace (for the standard operations)."""
        try:  # NumPy before 2.0 lacks parts of the standard (device=, astype)
            import array_api_compat.numpy

            return array_api_compat.numpy
        except ImportError:
            return np

    # -- what an array is and where it lives ------------------------------------------------

    def is_array(self, x):
        return isinstance(x, np.ndarray)

    def on_cuda(self, x):
        return False

    def host_views(self, arrays):
        """``(arrays, first)``: ``arrays`` with this library's arrays as NumPy arrays on the
        same memory, and the first of the library's arrays, when each of them lies in host
        memory in a dtype NumPy has; else None (the caller then moves them one by one).
        One pass with no per-array method call: an adapter's call in a training loop takes
        this route every step."""
        return None

    def traced(self, x):
        """True when ``x`` has no values yet (a tracer of a compiler or transform)."""
        return False

    def watched(self, *arrays):
        """True when a derivative is being recorded for one of ``arrays``."""
        return False

    def device(self, x):
        """The device of ``x``, as the library's ``asarray(..., device=)`` takes it."""
        return getattr(x, "device", None)

    @property
    def accumulator(self):
        """The float dtype sums are accumulated in: float64 where the library has it."""
        return self.xp.float64

    def cuda_device_and_stream(self, x):
        """The CUDA device index of ``x`` and the pointer of the stream its library is using
        there; ``(None, None)`` for NumPy (Numba's CUDA simulator)."""
        return None, None

    def contiguous(self, a):
        """``a`` as a C-contiguous array of its library (a copy when it is not one)."""
        return np.ascontiguousarray(a)

    # -- moving arrays ------------------------------------------------------------------------

    def to_host(self, x):
        """``x`` as a NumPy array (no copy where the memory is the host's)."""
        return np.asarray(x)

    def from_host(self, array, like):
        """``array`` (NumPy) as an array of this library on ``like``'s device."""
        return array

    def result_from_host(self, out, like):
        """A host result (an array, a tuple of arrays, or a float or dict of numbers, which
        stay as they are) back in this library."""
        if isinstance(out, tuple):
            return tuple(self.result_from_host(o, like) for o in out)
        if isinstance(out, (float, dict)):
            return out
        return self.from_host(out, like)

    # -- operations beyond the array API standard (derivatives, KD losses) ---------------------

    def gather(self, values, index):
        """``values[..., index[..., i]]`` along the last axis (``index`` has the full shape)."""
        shape = tuple(index.shape[:-1]) + tuple(values.shape[-1:])
        return np.take_along_axis(np.broadcast_to(values, shape), index, axis=-1)

    def segment_sum(self, values, labels):
        """Per row: ``out[..., k] = sum of values[..., i] with labels[..., i] == k``."""
        values = np.broadcast_to(values, labels.shape)
        shape = labels.shape
        n = shape[-1]
        m = math.prod(shape[:-1])
        flat = (np.arange(m)[:, None] * n + labels.reshape(m, n)).reshape(-1)
        out = np.bincount(flat, weights=values.reshape(-1), minlength=m * n)
        return out.reshape(shape).astype(values.dtype, copy=False)

    def broadcast(self, values, shape):
        return np.broadcast_to(values, shape)

    def where(self, condition, a, b):
        return np.where(condition, a, b)

    def zeros_like(self, x):
        return np.zeros_like(x)

    def clip(self, x, low, high):
        """``x`` clipped to ``[low, high]`` (None: no bound)."""
        return np.clip(x, low, high)

    def argsort(self, keys, descending=False):
        """A stable argsort along the last axis."""
        return np.argsort(-keys if descending else keys, axis=-1, kind="stable")

    def moveaxis(self, a, source, destination):
        return np.moveaxis(a, source, destination)

    def arange_like(self, n, like):
        return np.arange(n, dtype=like.dtype)


class TorchBridge(Bridge):
    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    @functools.cached_property
    def xp(self):
        import array_api_compat.torch

        return array_api_compat.torch

    def is_array(self, x):
        return isinstance(x, self.torch.Tensor)

    def on_cuda(self, x):
        return x.is_cuda

    def host_views(self, arrays):
        tensor, bfloat16 = self.torch.Tensor, self.torch.bfloat16
        views, first = [], None
        for a in arrays:
            if isinstance(a, tensor):
                if not a.is_cpu or a.dtype == bfloat16:
                    return None
                first = a if first is None else first
                a = a.detach().numpy() if a.requires_grad else a.numpy()
            views.append(a)
        return views, first

    def traced(self, x):
        return _torch_functorch_wrapped(self.torch, x)

    def watched(self, *arrays):
        torch = self.torch
        tensors = [a for a in arrays if isinstance(a, torch.Tensor)]
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            return True
        from torch.autograd import forward_ad

        if forward_ad._current_level >= 0:
            return True
        return any(_torch_functorch_wrapped(torch, t) for t in tensors)

    # The two moves below run on every call that reaches the host engine: host-memory
    # tensors take the shortest path (no new tensor, no device move, no copy).
    def to_host(self, x):
        if x.requires_grad:
            x = x.detach()
        if x.dtype == self.torch.bfloat16:  # NumPy has no bfloat16: computed in float32
            x = x.float()
        return (x if x.is_cpu else x.cpu()).numpy()

    def from_host(self, array, like):
        contiguous = type(array) is np.ndarray and array.ndim and array.flags.c_contiguous
        out = self.torch.from_numpy(array if contiguous else np.ascontiguousarray(array))
        if like.dtype == self.torch.bfloat16 and out.dtype == self.torch.float32:
            out = out.to(like.dtype)
        return out if like.is_cpu else out.to(like.device)

    def contiguous(self, a):
        return a.contiguous().detach()

    def cuda_device_and_stream(self, x):
        """The CUDA device index of ``x`` and the pointer of PyTorch's current stream there."""
        torch = self.torch
        index = x.device.index if x.device.index is not None else torch.cuda.current_device()
        return index, torch.cuda.current_stream(index).cuda_stream

    def gather(self, values, index):
        shape = tuple(index.shape[:-1]) + tuple(values.shape[-1:])
        return self.torch.gather(values.expand(shape), -1, index)

    def segment_sum(self, values, labels):
        values = values.expand(labels.shape)
        return self.torch.zeros_like(values).scatter_add(-1, labels, values)

    def broadcast(self, values, shape):
        return values.expand(shape)  # what every vmap implementation batches

    def where(self, condition, a, b):
        return self.torch.where(condition, a, b)

    def zeros_like(self, x):
        return self.torch.zeros_like(x)

    def clip(self, x, low, high):
        return x.clamp(low, high)

    def argsort(self, keys, descending=False):
        return self.torch.argsort(keys, dim=-1, descending=descending, stable=True)

    def moveaxis(self, a, source, destination):
        return a.movedim(source, destination)

    def arange_like(self, n, like):
        return self.torch.arange(n, dtype=like.dtype, device=like.device)

    # The operations of the KD losses (last axis).

    def log_softmax(self, z):
        return self.torch.log_softmax(z, dim=-1)

    def exp(self, x):
        return self.torch.exp(x)

    def amax(self, x, keepdims=False):
        return self.torch.amax(x, dim=-1, keepdim=keepdims)

    def amin(self, x, keepdims=False):
        return self.torch.amin(x, dim=-1, keepdim=keepdims)

    def any(self, x):
        return self.torch.any(x, dim=-1)

    def relu(self, x):
        return self.torch.relu(x)

    def detach(self, x):
        return x.detach()

    def sum(self, x, axis=None):
        return self.torch.sum(x) if axis is None else self.torch.sum(x, dim=axis)

    def mean(self, x):
        return self.torch.mean(x)


def _torch_functorch_wrapped(torch, t):
    """A tensor of a torch.func transform (or of the legacy vmap of gradcheck)."""
    if not isinstance(t, torch.Tensor):
        return False
    functorch = torch._C._functorch
    return functorch.is_functorch_wrapped_tensor(t) or functorch.is_legacy_batchedtensor(t)


class CupyBridge(Bridge):
    name = "cupy"

    def __init__(self):
        import cupy

        self.cupy = cupy

    @functools.cached_property
    def xp(self):
        import array_api_compat.cupy

        return array_api_compat.cupy

    def is_array(self, x):
        return isinstance(x, self.cupy.ndarray)

    def on_cuda(self, x):
        return True

    def to_host(self, x):
        return x.get()

    def from_host(self, array, like):
        with self.cupy.cuda.Device(like.device.id):
            return self.cupy.asarray(array)

    def cuda_device_and_stream(self, x):
        return x.device.id, self.cupy.cuda.get_current_stream().ptr

    def contiguous(self, a):
        return self.cupy.ascontiguousarray(a)


class JaxBridge(Bridge):
    name = "jax"

    def __init__(self):
        import jax
        import jax.numpy as jnp

        self.jax = jax
        self.jnp = jnp

    @functools.cached_property
    def xp(self):
        return self.jnp

    def is_array(self, x):
        return isinstance(x, (self.jax.Array, self.jax.core.Tracer))

    def _platforms(self, x):
        return {d.platform for d in x.devices()}

    def device(self, x):
        return next(iter(x.devices()))

    @property
    def accumulator(self):
        return self.jnp.float64 if self.jax.config.read("jax_enable_x64") else self.jnp.float32

    def on_cuda(self, x):
        return not self.traced(x) and self._platforms(x) == {"gpu"}

    def traced(self, x):
        return isinstance(x, self.jax.core.Tracer)

    def watched(self, *arrays):
        return any(self.traced(a) for a in arrays)

    def to_host(self, x):
        array = np.asarray(x)
        if array.dtype.name == "bfloat16":  # computed in float32
            array = array.astype(np.float32)
        return array

    def from_host(self, array, like):
        dtype = like.dtype if (np.asarray(array).dtype == np.float32
                               and like.dtype.name == "bfloat16") else None
        out = self.jax.device_put(np.ascontiguousarray(array), self.device(like))
        return out if dtype is None else out.astype(dtype)

    def gather(self, values, index):
        shape = tuple(index.shape[:-1]) + tuple(values.shape[-1:])
        return self.jnp.take_along_axis(self.jnp.broadcast_to(values, shape), index, axis=-1)

    def segment_sum(self, values, labels):
        jnp = self.jnp
        values = jnp.broadcast_to(values, labels.shape)
        shape = labels.shape
        n = shape[-1]
        m = math.prod(shape[:-1])
        rows = jnp.arange(m)[:, None]
        out = jnp.zeros((m, n), values.dtype).at[rows, labels.reshape(m, n)].add(
            values.reshape(m, n))
        return out.reshape(shape)

    def broadcast(self, values, shape):
        return self.jnp.broadcast_to(values, shape)

    def where(self, condition, a, b):
        return self.jnp.where(condition, a, b)

    def zeros_like(self, x):
        return self.jnp.zeros_like(x)

    def clip(self, x, low, high):
        return self.jnp.clip(x, low, high)

    def argsort(self, keys, descending=False):
        return self.jnp.argsort(keys, axis=-1, stable=True, descending=descending)

    def moveaxis(self, a, source, destination):
        return self.jnp.moveaxis(a, source, destination)

    def arange_like(self, n, like):
        return self.jnp.arange(n, dtype=like.dtype)

    # The operations of the KD losses (last axis).

    def log_softmax(self, z):
        return self.jax.nn.log_softmax(z, axis=-1)

    def exp(self, x):
        return self.jnp.exp(x)

    def amax(self, x, keepdims=False):
        return self.jnp.max(x, axis=-1, keepdims=keepdims)

    def amin(self, x, keepdims=False):
        return self.jnp.min(x, axis=-1, keepdims=keepdims)

    def any(self, x):
        return self.jnp.any(x, axis=-1)

    def relu(self, x):
        return self.jnp.maximum(x, 0)

    def detach(self, x):
        return self.jax.lax.stop_gradient(x)

    def sum(self, x, axis=None):
        return self.jnp.sum(x, axis=axis)

    def mean(self, x):
        return self.jnp.mean(x)


class ArrayApiBridge(Bridge):
    """Any other library with the array API (``__array_namespace__``): data through NumPy."""

    name = "array-api"

    def __init__(self, namespace):
        self._xp = namespace

    @property
    def xp(self):
        return self._xp

    def is_array(self, x):
        return hasattr(x, "__array_namespace__")

    def to_host(self, x):
        try:
            return np.from_dlpack(x)
        except (TypeError, AttributeError, BufferError, RuntimeError):
            return np.asarray(x)

    def from_host(self, array, like):
        return self._xp.asarray(np.ascontiguousarray(array), device=like.device)


NUMPY = Bridge()

_KNOWN = {"torch": TorchBridge, "cupy": CupyBridge, "jax": JaxBridge, "jaxlib": JaxBridge}
_bridges = {}


@functools.cache  # one answer per type, asked on every call
def _bridge_for(kind):
    """The bridge of arrays of type ``kind``, or None for types that are not arrays of
    another library (they go through ``numpy.asarray``)."""
    module = kind.__module__.split(".")[0]
    if module in _KNOWN:
        return known(module)
    namespace = getattr(kind, "__array_namespace__", None)
    if namespace is None:
        return None
    return None if module == "numpy" else module


def bridge_of(*arrays):
    """The :class:`Bridge` of the arrays of another library among ``arrays``, or None.

    Raises ``TypeError`` for arrays of two different libraries in one call.
    """
    found = None
    for a in arrays:
        if a is None or isinstance(a, _HOST_TYPES):
            continue
        bridge = _bridge_for(type(a))
        if bridge is None:
            continue
        if isinstance(bridge, str):  # a generic array-API library
            bridge = _bridges.get(bridge) or _bridges.setdefault(
                bridge, ArrayApiBridge(a.__array_namespace__()))
        if found is None:
            found = bridge
        elif bridge is not found:
            raise TypeError(f"arrays of two libraries in one call ({found.name} and "
                            f"{bridge.name}); convert them to one")
    return found


def known(name):
    """The bridge of ``"torch"``, ``"cupy"`` or ``"jax"`` (for the adapters, which import
    their library themselves)."""
    kind = _KNOWN[name]
    if kind not in _bridges:
        _bridges[kind] = kind()
    return _bridges[kind]
