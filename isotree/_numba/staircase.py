"""The maximum-weight upper set of order-convex blocks of a 2-D grid, by a staircase program.

The grid is increasing along both axes: cell ``(i, j)`` (node ``i * cols + j``) lies below
``(i + 1, j)`` and ``(i, j + 1)``. The blocks of the recursive partitioning are
order-convex (a cell between two cells of a block is in the block: the whole grid is, and
an upper set of a convex block and its complement are again convex). So a block meets each
grid row in one interval ``[a, b]``, and an upper set of the block meets it in a suffix
``[t, b]`` (``t = b + 1``: empty). Between consecutive rows of a block the order asks
``t_i <= t_{i-1}`` wherever the two intervals overlap; rows further apart are unrelated
inside a convex block. The best upper set is then a dynamic program over the rows, one
state per threshold ``t``, O(block size) in all: the idea of J. Spouge, H. Wan and W. J.
Wilbur, "Least squares isotonic regression in two dimensions", J. Optimization Theory and
Applications 117 (2003) 585-605, doi:10.1023/A:1023901806339.

Every block of a round is solved in one sweep over the rows (a block's consecutive cells of
a row form one *run*), then one sweep back that follows the stored choices. Equal totals
go to the larger set, as the minimum cut of :mod:`isotree._numba.maxflow` does.
"""

from ._jit import jit


@jit
def best_upper_sets(rows, cols, block, is_open, gain, upper, best, arg, back, run_row,
                    run_a, run_b, run_prev, run_empty_best, run_empty_arg, run_empty_back,
                    run_choice, last_run):
    """Mark in ``upper`` the maximum-gain upper set of every open block (``is_open[block]``).

    Scratch: ``best``/``arg``/``back`` per cell (suffix maxima of the totals, where they
    are reached, and the previous run's threshold each threshold uses), ``run_*`` per run
    (at most one per cell) and ``last_run`` per block id. Cells of closed blocks are left
    untouched.
    """
    n_runs = 0
    for i in range(rows):
        row_start = i * cols
        j = 0
        while j < cols:
            b_id = block[row_start + j]
            if not is_open[b_id]:
                j += 1
                continue
            a = j
            while j + 1 < cols and block[row_start + j + 1] == b_id:
                j += 1
            b = j
            j += 1
            r = n_runs
            n_runs += 1
            prev = last_run[b_id]
            last_run[b_id] = r
            run_row[r] = i
            run_a[r] = a
            run_b[r] = b
            run_prev[r] = prev
            # The previous run of the block: its best total over thresholds >= c is
            # best[its row, c] (c <= its b) or its empty total (c = its b + 1). Every
            # threshold of it is allowed unless it is the row just below and overlaps this
            # run's columns: then this run's threshold t > a asks c = min(t, overlap + 1).
            if prev < 0:
                bound = cols + 1  # no previous run: every t sees total 0
                p_start = 0
                p_a = 0
                p_b = -1
                all_total = 0.0
                all_at = -1
            else:
                p_start = run_row[prev] * cols
                p_a = run_a[prev]
                p_b = run_b[prev]
                all_total = best[p_start + p_a]
                all_at = arg[p_start + p_a]
                linked = run_row[prev] == i - 1 and p_a <= b
                bound = min(p_b, b) + 1 if linked else cols + 1
            # Thresholds from right to left: the empty suffix first.
            suffix = 0.0
            top = 0.0
            top_at = b + 1
            for t in range(b + 1, a - 1, -1):
                if t <= b:
                    suffix += gain[row_start + t]
                if t == a or bound > cols:
                    total = all_total
                    choice = all_at
                else:
                    c = max(p_a, min(t, bound))
                    if c == p_a:
                        total = all_total
                        choice = all_at
                    elif c == p_b + 1:
                        total = run_empty_best[prev]
                        choice = run_empty_arg[prev]
                    else:
                        total = best[p_start + c]
                        choice = arg[p_start + c]
                value = suffix + total
                if t > b:
                    run_empty_back[r] = choice
                    top = value
                    top_at = t
                    run_empty_best[r] = top
                    run_empty_arg[r] = top_at
                else:
                    cell = row_start + t
                    back[cell] = choice
                    if value >= top:  # ties: the smaller threshold, the larger set
                        top = value
                        top_at = t
                    best[cell] = top
                    arg[cell] = top_at
    # Each block's last run takes its best threshold; then follow the choices back.
    for r in range(n_runs - 1, -1, -1):
        b_id = block[run_row[r] * cols + run_a[r]]
        if last_run[b_id] == r:
            run_choice[r] = arg[run_row[r] * cols + run_a[r]]
            last_run[b_id] = -1  # leave the scratch clean for the next round
    for r in range(n_runs - 1, -1, -1):
        t = run_choice[r]
        row_start = run_row[r] * cols
        for j in range(run_a[r], run_b[r] + 1):
            upper[row_start + j] = j >= t
        prev = run_prev[r]
        if prev >= 0:
            if t == run_b[r] + 1:
                run_choice[prev] = run_empty_back[r]
            else:
                run_choice[prev] = back[row_start + t]
