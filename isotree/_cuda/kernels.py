"""The CUDA kernels: chain PAVA one row per thread, star and IDA one row per thread block.

Every kernel reads its input in the caller's float dtype, accumulates in float64 (sums,
means and thresholds; full rate on data-centre GPUs, and what the Numba kernels do) and
writes the fit in the caller's dtype. Each row is scaled by its own power of two (exact)
so that sums near the overflow threshold stay finite and one row's magnitude never
touches another's. Rows are visited by grid-stride loops, so any grid size is correct.

Algorithms (the same as the host kernels, in :mod:`isotree._numba`):

* chain: pool-adjacent-violators with a block stack (Best, Chakravarti & Ubhaya, Math.
  Program. 47 (1990)), one thread per row (rows laid out as columns, so a warp's reads
  coalesce), stack in global scratch; long rows in small batches one block per row (each
  thread pools a stretch, one thread pools the stretches' blocks);
* star: variable fixing (Michelot 1986; Condat, Math. Program. 158 (2016)) with block-wide
  reductions in shared memory: t <- mean(root and leaves above t), from the root's value,
  until the pooled set stops changing (then t is exact). Long rows in small batches are
  split over many blocks: partial sums per chunk, one launch per step
  (:func:`star_partials_kernel`, :func:`star_step_kernel`);
* IDA: the entries above the lowest mass level ("slots") sorted by (mass, logit) and pooled
  by PAVA (one thread; few slots), then their lowest block is the root of a star over the
  lowest level, grown block by block while t exceeds the next block's mean
  (:mod:`isotree._numba.ida`). Up to ``SLOTS`` slots are gathered in shared memory; rows
  with more take the sorted-order kernel, fed by the array library's sort.

Shared-memory reductions need a power-of-two block of at most ``THREADS`` threads.

The star's variable fixing (here and in IDA) keeps, besides the threshold t, the threshold
whose pooled set produced it: t only rises in exact arithmetic, so a step whose rounded t
falls ends the iteration with the previous t and its set (a leaf whose value t rounds onto
would otherwise leave the set and drag t back down, e.g. beside a very light root).
"""

import math

from numba import cuda, float64, int32

from .._numba.scaling import row_shifts

THREADS = 256  # the largest thread block the shared reduction buffers hold
SLOTS = 32  # IDA entries above the lowest mass level handled in shared memory

# The host kernels' per-row scaling rule, compiled for the device from the same source.
_row_shifts = cuda.jit(device=True)(row_shifts.py_func)


@cuda.jit(device=True)
def _exponent(x):
    """The e with 2**(e-1) <= x < 2**e (0 for 0), as isotree._numba.checks.exponent."""
    return math.frexp(x)[1] if x > 0.0 else 0


@cuda.jit(device=True)
def _scales(largest_y, largest_w, smallest_w, n):
    """Power-of-two factors (sy, sw) of one row: :func:`isotree._numba.scaling.row_shifts`
    from its largest |y| and its largest and smallest weight."""
    shift_y, shift_w, _ = _row_shifts(_exponent(largest_y), _exponent(largest_w),
                                      _exponent(smallest_w), n)
    return math.ldexp(1.0, shift_y), math.ldexp(1.0, shift_w)


@cuda.jit(device=True)
def _block_sum(a, b, c, buf_a, buf_b, buf_c):
    """Block-wide sums of three per-thread float64 values (every thread gets them).

    A fixed tree over the threads, so the result does not depend on timing."""
    tid = cuda.threadIdx.x
    buf_a[tid] = a
    buf_b[tid] = b
    buf_c[tid] = c
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tid < step:
            buf_a[tid] += buf_a[tid + step]
            buf_b[tid] += buf_b[tid + step]
            buf_c[tid] += buf_c[tid + step]
        cuda.syncthreads()
        step //= 2
    a, b, c = buf_a[0], buf_b[0], buf_c[0]
    cuda.syncthreads()
    return a, b, c


@cuda.jit(device=True)
def _block_minmax(low, high_a, high_b, buf_a, buf_b, buf_c):
    """Block-wide min of ``low`` and maxima of ``high_a``, ``high_b``."""
    tid = cuda.threadIdx.x
    buf_a[tid] = low
    buf_b[tid] = high_a
    buf_c[tid] = high_b
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tid < step:
            buf_a[tid] = min(buf_a[tid], buf_a[tid + step])
            buf_b[tid] = max(buf_b[tid], buf_b[tid + step])
            buf_c[tid] = max(buf_c[tid], buf_c[tid + step])
        cuda.syncthreads()
        step //= 2
    low, high_a, high_b = buf_a[0], buf_b[0], buf_c[0]
    cuda.syncthreads()
    return low, high_a, high_b


@cuda.jit(device=True)
def _pava(values, weights, unit, sign, sy, sw, n, bsum, bw, bmean, bstart):
    """PAVA over ``sign * sy * values[:n]`` with weights ``sw * weights`` (or 1 if ``unit``).

    Leaves block b's mean in ``bmean[b]`` and first index in ``bstart[b]``; returns the
    number of blocks. The look-ahead and the look-back on rounded means of
    :func:`isotree._numba.pava.pava_row` (means never decrease, not even by one ulp).
    """
    nb = 0
    i = 0
    while i < n:
        wi = 1.0 if unit else sw * float64(weights[i])
        vi = sign * sy * float64(values[i])
        s = wi * vi
        total = wi
        k = i + 1
        while k < n:
            vk = sign * sy * float64(values[k])
            if vk * total >= s:
                break
            wk = 1.0 if unit else sw * float64(weights[k])
            s += wk * vk
            total += wk
            k += 1
        mean = s / total if k > i + 1 else vi
        start_known = False
        while nb > 0 and bmean[nb - 1] > mean:
            nb -= 1
            s += bsum[nb]
            total += bw[nb]
            mean = s / total
            start_known = True
        if not start_known:
            bstart[nb] = i
        bsum[nb] = s
        bw[nb] = total
        bmean[nb] = mean
        nb += 1
        i = k
    return nb


@cuda.jit
def chain_kernel(y, w, sign, fit, labels, bsum, bw, bmean, bstart):
    """Increasing fit of ``sign * y`` per problem, one thread per problem.

    Column layout: problem r is column r of ``y`` (n, m), so the threads of a warp read
    neighbouring addresses. ``w`` is (n, m) or (n, 1); ``labels`` (n, m) or (0, m) (then
    not written); scratch ``bsum``, ``bw``, ``bmean`` (float64) and ``bstart`` (int32) are
    (n, m).
    """
    n, m = y.shape
    with_labels = labels.shape[0] == n
    for r in range(cuda.grid(1), m, cuda.gridsize(1)):
        wr = r if w.shape[1] > 1 else 0
        largest_y = 0.0
        largest_w = 0.0
        smallest_w = math.inf
        for i in range(n):
            largest_y = max(largest_y, abs(float64(y[i, r])))
            largest_w = max(largest_w, float64(w[i, wr]))
            smallest_w = min(smallest_w, float64(w[i, wr]))
        sy, sw = _scales(largest_y, largest_w, smallest_w, n)
        nb = _pava(y[:, r], w[:, wr], False, sign, sy, sw, n, bsum[:, r], bw[:, r],
                   bmean[:, r], bstart[:, r])
        stop = n
        for b in range(nb - 1, -1, -1):
            value = sign * (bmean[b, r] / sy)
            start = bstart[b, r]
            for i in range(start, stop):
                fit[i, r] = value
                if with_labels:
                    labels[i, r] = start
            stop = start


@cuda.jit
def chain_block_kernel(y, w, sign, fit, labels, bsum, bw, bmean, bstart):
    """Increasing fit of ``sign * y`` per row, one thread block per row (long rows).

    Each thread pools its own stretch of the row by PAVA (pooling adjacent violators is
    safe anywhere); one thread then runs PAVA over the stretches' blocks, whose number is
    usually far below n; every thread finally writes its entries, finding each one's block
    by binary search. Row layout: ``y`` (m, n), ``w`` (m or 1, n), ``labels`` (m, n) or
    (m, 0); scratch (m, n).
    """
    m, n = y.shape
    tid = cuda.threadIdx.x
    step = cuda.blockDim.x
    counts = cuda.shared.array(THREADS, int32)
    buf_a = cuda.shared.array(THREADS, float64)
    buf_b = cuda.shared.array(THREADS, float64)
    buf_c = cuda.shared.array(THREADS, float64)
    with_labels = labels.shape[1] == n
    stretch = (n + step - 1) // step
    for r in range(cuda.blockIdx.x, m, cuda.gridDim.x):
        wr = r if w.shape[0] > 1 else 0
        largest_y = 0.0
        largest_w = 0.0
        smallest_w = math.inf
        for i in range(tid, n, step):
            largest_y = max(largest_y, abs(float64(y[r, i])))
            largest_w = max(largest_w, float64(w[wr, i]))
            smallest_w = min(smallest_w, float64(w[wr, i]))
        smallest_w, largest_y, largest_w = _block_minmax(smallest_w, largest_y, largest_w,
                                                         buf_a, buf_b, buf_c)
        sy, sw = _scales(largest_y, largest_w, smallest_w, n)
        first = min(tid * stretch, n)
        last = min(first + stretch, n)
        counts[tid] = _pava(y[r, first:last], w[wr, first:last], False, sign, sy, sw,
                            last - first, bsum[r, first:last], bw[r, first:last],
                            bmean[r, first:last], bstart[r, first:last])
        cuda.syncthreads()
        if tid == 0:
            # PAVA over the stretches' blocks; the stack grows at the front of the scratch
            # row and never overtakes the block being read.
            nb = 0
            for t in range(step):
                base = min(t * stretch, n)
                for b in range(counts[t]):
                    s = bsum[r, base + b]
                    total = bw[r, base + b]
                    start = base + bstart[r, base + b]
                    mean = bmean[r, base + b]
                    start_known = False
                    while nb > 0 and bmean[r, nb - 1] > mean:
                        nb -= 1
                        s += bsum[r, nb]
                        total += bw[r, nb]
                        mean = s / total
                        start_known = True
                    if start_known:
                        start = bstart[r, nb]
                    bsum[r, nb] = s
                    bw[r, nb] = total
                    bmean[r, nb] = mean
                    bstart[r, nb] = start
                    nb += 1
            counts[0] = nb
        cuda.syncthreads()
        nb = counts[0]
        for i in range(tid, n, step):
            lo = 0
            hi = nb - 1
            while lo < hi:  # the last block starting at or before i
                mid = (lo + hi + 1) // 2
                if bstart[r, mid] <= i:
                    lo = mid
                else:
                    hi = mid - 1
            fit[r, i] = sign * (bmean[r, lo] / sy)
            if with_labels:
                labels[r, i] = bstart[r, lo]
        cuda.syncthreads()


@cuda.jit
def star_kernel(y, w, roots, sign, fit, labels):
    """Star with the root at ``roots[r]`` as the maximum of ``sign * y`` (one block per row).

    Variable fixing from the root's value: each step is one block-wide reduction over the
    row; it stops when the pooled set stops changing (exact). ``labels`` (m, n) or (m, 0).
    """
    buf_a = cuda.shared.array(THREADS, float64)
    buf_b = cuda.shared.array(THREADS, float64)
    buf_c = cuda.shared.array(THREADS, float64)
    m, n = y.shape
    tid = cuda.threadIdx.x
    step = cuda.blockDim.x
    with_labels = labels.shape[1] == n
    for r in range(cuda.blockIdx.x, m, cuda.gridDim.x):
        wr = r if w.shape[0] > 1 else 0
        root = roots[r]
        largest_y = 0.0
        largest_w = 0.0
        smallest_w = math.inf
        for i in range(tid, n, step):
            largest_y = max(largest_y, abs(float64(y[r, i])))
            largest_w = max(largest_w, float64(w[wr, i]))
            smallest_w = min(smallest_w, float64(w[wr, i]))
        smallest_w, largest_y, largest_w = _block_minmax(smallest_w, largest_y, largest_w,
                                                         buf_a, buf_b, buf_c)
        sy, sw = _scales(largest_y, largest_w, smallest_w, n)
        root_w = sw * float64(w[wr, root])
        root_sum = root_w * (sign * sy * float64(y[r, root]))
        t = root_sum / root_w
        t_set = math.inf  # t is the mean of the root and the leaves above t_set
        pooled_count = 0.0
        for _ in range(n + 1):
            s = 0.0
            total = 0.0
            count = 0.0
            for i in range(tid, n, step):
                v = sign * sy * float64(y[r, i])
                if i != root and v > t:
                    wi = sw * float64(w[wr, i])
                    s += wi * v
                    total += wi
                    count += 1.0
            s, total, count = _block_sum(s, total, count, buf_a, buf_b, buf_c)
            if count == pooled_count:  # the pooled set is a fixed point: t is exact
                break
            t_next = (root_sum + s) / (root_w + total)
            if t_next < t:  # round-off: t stays with the set that gave it
                break
            t_set = t
            t = t_next
            pooled_count = count
        for i in range(tid, n, step):
            v = sign * sy * float64(y[r, i])
            pooled = i == root or v > t_set
            if pooled:
                fit[r, i] = sign * (t / sy)
            else:
                fit[r, i] = y[r, i]
            if with_labels:
                labels[r, i] = root if pooled else i
        cuda.syncthreads()


@cuda.jit
def star_extremes_kernel(y, w, partial_y, partial_w, partial_w_min):
    """Split rows: per chunk (block x of row y-block r) the largest |y|, the largest and
    the smallest weight."""
    buf_a = cuda.shared.array(THREADS, float64)
    buf_b = cuda.shared.array(THREADS, float64)
    buf_c = cuda.shared.array(THREADS, float64)
    r = cuda.blockIdx.y
    n = y.shape[1]
    wr = r if w.shape[0] > 1 else 0
    largest_y = 0.0
    largest_w = 0.0
    smallest_w = math.inf
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x, n,
                   cuda.gridDim.x * cuda.blockDim.x):
        largest_y = max(largest_y, abs(float64(y[r, i])))
        largest_w = max(largest_w, float64(w[wr, i]))
        smallest_w = min(smallest_w, float64(w[wr, i]))
    smallest_w, largest_y, largest_w = _block_minmax(smallest_w, largest_y, largest_w, buf_a,
                                                     buf_b, buf_c)
    if cuda.threadIdx.x == 0:
        partial_y[r, cuda.blockIdx.x] = largest_y
        partial_w[r, cuda.blockIdx.x] = largest_w
        partial_w_min[r, cuda.blockIdx.x] = smallest_w


@cuda.jit
def star_start_kernel(y, w, roots, sign, partial_y, partial_w, partial_w_min, state):
    """Split rows, one thread per row: the row's scales and starting threshold.

    ``state`` (m, 8) float64: sy, sw, root sum, root weight, t, the count of the pooled set
    that gave t, 1 while the row still iterates, and the threshold that defines that set."""
    r = cuda.grid(1)
    if r >= y.shape[0]:
        return
    largest_y = 0.0
    largest_w = 0.0
    smallest_w = math.inf
    for j in range(partial_y.shape[1]):
        largest_y = max(largest_y, partial_y[r, j])
        largest_w = max(largest_w, partial_w[r, j])
        smallest_w = min(smallest_w, partial_w_min[r, j])
    sy, sw = _scales(largest_y, largest_w, smallest_w, y.shape[1])
    root = roots[r]
    wr = r if w.shape[0] > 1 else 0
    root_w = sw * float64(w[wr, root])
    root_sum = root_w * (sign * sy * float64(y[r, root]))
    state[r, 0] = sy
    state[r, 1] = sw
    state[r, 2] = root_sum
    state[r, 3] = root_w
    state[r, 4] = root_sum / root_w
    state[r, 5] = 0.0
    state[r, 6] = 1.0
    state[r, 7] = math.inf


@cuda.jit
def star_partials_kernel(y, w, roots, sign, state, partial_s, partial_w, partial_count):
    """Split rows: per chunk, the sums over the leaves above the row's current t."""
    buf_a = cuda.shared.array(THREADS, float64)
    buf_b = cuda.shared.array(THREADS, float64)
    buf_c = cuda.shared.array(THREADS, float64)
    r = cuda.blockIdx.y
    if state[r, 6] == 0.0:  # the whole block agrees: no thread reaches a barrier alone
        return
    n = y.shape[1]
    wr = r if w.shape[0] > 1 else 0
    sy, sw, t = state[r, 0], state[r, 1], state[r, 4]
    root = roots[r]
    s = 0.0
    total = 0.0
    count = 0.0
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x, n,
                   cuda.gridDim.x * cuda.blockDim.x):
        v = sign * sy * float64(y[r, i])
        if i != root and v > t:
            wi = sw * float64(w[wr, i])
            s += wi * v
            total += wi
            count += 1.0
    s, total, count = _block_sum(s, total, count, buf_a, buf_b, buf_c)
    if cuda.threadIdx.x == 0:
        partial_s[r, cuda.blockIdx.x] = s
        partial_w[r, cuda.blockIdx.x] = total
        partial_count[r, cuda.blockIdx.x] = count


@cuda.jit
def star_step_kernel(state, partial_s, partial_w, partial_count, pending):
    """Split rows, one thread per row: one variable-fixing step from the chunks' sums;
    ``pending[0]`` is set while any row's pooled set still changes."""
    r = cuda.grid(1)
    if r >= state.shape[0] or state[r, 6] == 0.0:
        return
    s = 0.0
    total = 0.0
    count = 0.0
    for j in range(partial_s.shape[1]):  # in chunk order: the same sums every run
        s += partial_s[r, j]
        total += partial_w[r, j]
        count += partial_count[r, j]
    t_next = (state[r, 2] + s) / (state[r, 3] + total)
    if count == state[r, 5] or t_next < state[r, 4]:  # a fixed point, or round-off
        state[r, 6] = 0.0
    else:
        state[r, 7] = state[r, 4]
        state[r, 4] = t_next
        state[r, 5] = count
        pending[0] = 1


@cuda.jit
def star_write_kernel(y, roots, sign, state, fit, labels):
    """Split rows: the fit and labels from the row's final t."""
    r = cuda.blockIdx.y
    n = y.shape[1]
    with_labels = labels.shape[1] == n
    sy, t, t_set = state[r, 0], state[r, 4], state[r, 7]
    root = roots[r]
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x, n,
                   cuda.gridDim.x * cuda.blockDim.x):
        pooled = i == root or sign * sy * float64(y[r, i]) > t_set
        if pooled:
            fit[r, i] = sign * (t / sy)
        else:
            fit[r, i] = y[r, i]
        if with_labels:
            labels[r, i] = root if pooled else i


@cuda.jit(device=True)
def _ida_row(z, mass, r, slots, first, k, low, sy, exact, n_iter, fit, labels, with_labels,
             uz, ufit, ulab, bsum, bw, bmean, bstart, buf_a, buf_b, buf_c):
    """One IDA row, all threads of the block: ``slots[first:first + k]`` are the entries
    above the lowest mass ``low``, in (mass, logit) order; scratch of length >= k."""
    c = z.shape[1]
    tid = cuda.threadIdx.x
    step = cuda.blockDim.x
    if tid == 0:
        for j in range(k):
            uz[j] = z[r, slots[first + j]]
        nb = _pava(uz, uz, True, 1.0, sy, 1.0, k, bsum, bw, bmean, bstart)
        stop = k
        for b in range(nb - 1, -1, -1):
            for j in range(bstart[b], stop):
                ufit[j] = bmean[b]
                ulab[j] = bstart[b]
            stop = bstart[b]
    cuda.syncthreads()
    lowest_mean = ufit[0]
    # The lowest blocks act as the root of a star over the bottom level; while t exceeds
    # the next block's mean, that block joins the root (at most k rounds, usually one).
    # Every thread computes the same root sums, so control flow stays uniform.
    root_size = 0
    root_sum = 0.0
    root_w = 0.0
    t = 0.0
    while True:
        block = ulab[root_size]
        while root_size < k and ulab[root_size] == block:
            root_sum += sy * float64(z[r, slots[first + root_size]])
            root_w += 1.0
            root_size += 1
        t = root_sum / root_w
        t_set = math.inf  # t is the mean of the root and the bottom entries above t_set
        pooled_count = 0.0
        steps = c + 1 if exact else n_iter
        for _ in range(steps):
            s = 0.0
            count = 0.0
            for i in range(tid, c, step):
                v = sy * float64(z[r, i])
                if mass[r, i] == low and v > lowest_mean and v > t:
                    s += v
                    count += 1.0
            s, count, _ = _block_sum(s, count, 0.0, buf_a, buf_b, buf_c)
            if exact and count == pooled_count:  # a fixed point: t is exact
                break
            t_next = (root_sum + s) / (root_w + count)
            # A fixed point ends the approximation early (as on the host); round-off that
            # lowers t ends either, with the previous t and its set.
            if t_next <= t:
                break
            t_set = t
            t = t_next
            pooled_count = count
        if root_size == k or ufit[root_size] >= t:
            break
    if not exact:
        t_set = t  # the approximation clips the bottom level at t
    root = slots[first]
    for i in range(tid, c, step):
        if mass[r, i] == low:
            v = sy * float64(z[r, i])
            pooled = v > lowest_mean and v > t_set
            if pooled:
                fit[r, i] = t / sy
            else:
                fit[r, i] = z[r, i]
            if with_labels:
                labels[r, i] = root if pooled else i
    for j in range(tid, k, step):
        i = slots[first + j]
        fit[r, i] = (t if j < root_size else ufit[j]) / sy
        if with_labels:
            labels[r, i] = root if j < root_size else slots[first + ulab[j]]
    cuda.syncthreads()


@cuda.jit(device=True)
def _ida_prepare(z, mass, r, buf_a, buf_b, buf_c):
    """The row's lowest mass and its power-of-two scale (block-wide)."""
    c = z.shape[1]
    low = math.inf
    largest = 0.0
    for i in range(cuda.threadIdx.x, c, cuda.blockDim.x):
        low = min(low, float64(mass[r, i]))
        largest = max(largest, abs(float64(z[r, i])))
    low, largest, _ = _block_minmax(low, largest, 0.0, buf_a, buf_b, buf_c)
    return low, _scales(largest, 1.0, 1.0, c)[0]


@cuda.jit(device=True)
def _copy_row(z, r, fit, labels, with_labels):
    for i in range(cuda.threadIdx.x, z.shape[1], cuda.blockDim.x):
        fit[r, i] = z[r, i]
        if with_labels:
            labels[r, i] = i


@cuda.jit
def ida_kernel(z, mass, exact, n_iter, fit, labels, counts):
    """IDA exact (``exact``) or approximate (``n_iter`` steps) per row, one block per row.

    The entries above the row's lowest mass are gathered into shared slots; a row with
    more than ``SLOTS`` of them is left unwritten and its count (``counts[r]``) tells the
    caller to solve it with :func:`ida_sorted_kernel`.
    """
    buf_a = cuda.shared.array(THREADS, float64)
    buf_b = cuda.shared.array(THREADS, float64)
    buf_c = cuda.shared.array(THREADS, float64)
    slots = cuda.shared.array(SLOTS, int32)
    uz = cuda.shared.array(SLOTS, float64)
    ufit = cuda.shared.array(SLOTS, float64)
    ulab = cuda.shared.array(SLOTS, int32)
    bsum = cuda.shared.array(SLOTS, float64)
    bw = cuda.shared.array(SLOTS, float64)
    bmean = cuda.shared.array(SLOTS, float64)
    bstart = cuda.shared.array(SLOTS, int32)
    counter = cuda.shared.array(1, int32)
    c = z.shape[1]
    tid = cuda.threadIdx.x
    with_labels = labels.shape[1] == c
    for r in range(cuda.blockIdx.x, z.shape[0], cuda.gridDim.x):
        low, sy = _ida_prepare(z, mass, r, buf_a, buf_b, buf_c)
        if tid == 0:
            counter[0] = 0
        cuda.syncthreads()
        for i in range(tid, c, cuda.blockDim.x):
            if mass[r, i] > low:
                position = cuda.atomic.add(counter, 0, 1)
                if position < SLOTS:
                    slots[position] = i
        cuda.syncthreads()
        k = counter[0]
        if tid == 0:
            counts[r] = k
            # Insertion sort by (mass, logit, index): the host kernel's order.
            for j in range(1, min(k, SLOTS)):
                i = slots[j]
                p = j - 1
                while p >= 0 and (mass[r, slots[p]] > mass[r, i] or (
                        mass[r, slots[p]] == mass[r, i] and (
                            z[r, slots[p]] > z[r, i]
                            or (z[r, slots[p]] == z[r, i] and slots[p] > i)))):
                    slots[p + 1] = slots[p]
                    p -= 1
                slots[p + 1] = i
        cuda.syncthreads()
        if k == 0:
            _copy_row(z, r, fit, labels, with_labels)
        elif k <= SLOTS:
            _ida_row(z, mass, r, slots, 0, k, low, sy, exact, n_iter, fit, labels,
                     with_labels, uz, ufit, ulab, bsum, bw, bmean, bstart, buf_a, buf_b,
                     buf_c)
        cuda.syncthreads()


@cuda.jit
def ida_sorted_kernel(z, mass, order, exact, n_iter, fit, labels, uz, ufit, ulab, bsum, bw,
                      bmean, bstart):
    """IDA per row (one block per row) given ``order``, each row's indices sorted by
    (mass, logit, index): the entries above the lowest mass are its last k. Scratch rows
    (float64: ``uz``, ``ufit``, ``bsum``, ``bw``, ``bmean``; int32: ``ulab``, ``bstart``)
    are (B, c). For rows with many mixed labels (dense mass).
    """
    buf_a = cuda.shared.array(THREADS, float64)
    buf_b = cuda.shared.array(THREADS, float64)
    buf_c = cuda.shared.array(THREADS, float64)
    c = z.shape[1]
    tid = cuda.threadIdx.x
    with_labels = labels.shape[1] == c
    for r in range(cuda.blockIdx.x, z.shape[0], cuda.gridDim.x):
        low, sy = _ida_prepare(z, mass, r, buf_a, buf_b, buf_c)
        count = 0.0
        for i in range(tid, c, cuda.blockDim.x):
            if mass[r, i] > low:
                count += 1.0
        count, _, _ = _block_sum(count, 0.0, 0.0, buf_a, buf_b, buf_c)
        k = int32(count)
        if k == 0:
            _copy_row(z, r, fit, labels, with_labels)
        else:
            _ida_row(z, mass, r, order[r], c - k, k, low, sy, exact, n_iter, fit, labels,
                     with_labels, uz[r], ufit[r], ulab[r], bsum[r], bw[r], bmean[r],
                     bstart[r], buf_a, buf_b, buf_c)
        cuda.syncthreads()
