"""Leftist max-heaps in flat arrays, melded without recursion.

Crane (1972); Knuth, TAOCP vol. 3, §5.2.3. Heap node ``i`` has children ``left[i]``,
``right[i]`` (-1 = none) and ``rank[i]``, the length of its right spine. The leftist rule
rank(left) >= rank(right) keeps every right spine O(log n) long, so a meld walks at most
``2 log2(n + 1)`` nodes: the caller's ``stack`` of length 130 is enough for any int64 n.
"""

from ._jit import jit

STACK_SIZE = 130


@jit
def meld(a, b, key, left, right, rank, stack):
    """Meld the heaps rooted at ``a`` and ``b`` (max on ``key``); return the new root."""
    if a == -1:
        return b
    if b == -1:
        return a
    # Walk down both right spines, always descending into the larger root.
    top = 0
    while a != -1 and b != -1:
        if key[a] < key[b]:
            a, b = b, a
        stack[top] = a
        top += 1
        a = right[a]
    rest = a if a != -1 else b
    # Walk back up, hanging the merged remainder on the right and restoring the rule.
    while top > 0:
        top -= 1
        v = stack[top]
        right[v] = rest
        rank_left = rank[left[v]] if left[v] != -1 else 0
        rank_right = rank[rest]
        if rank_left < rank_right:
            left[v], right[v] = rest, left[v]
            rank[v] = rank_left + 1
        else:
            rank[v] = rank_right + 1
        rest = v
    return rest
