"""Leftist max-heaps in one flat link array, melded without recursion.

Crane (1972); Knuth, TAOCP vol. 3, section 5.2.3. Heap node ``i`` has its children in
``link[i, LEFT]`` and ``link[i, RIGHT]`` (-1 = none) and ``link[i, RANK]``, the length of its
right spine. Keeping the fields of a node in one row puts them in one cache line. The
leftist rule rank(left) >= rank(right) keeps every right spine O(log n) long, so a meld walks
at most ``2 log2(n + 1)`` nodes: the caller's ``stack`` of length 130 is enough for any n.
"""

from ._jit import jit

STACK_SIZE = 130
LEFT, RIGHT, RANK = 0, 1, 2


@jit
def meld(a, b, key, link, stack):
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
        a = link[a, RIGHT]
    rest = a if a != -1 else b
    # Walk back up, hanging the merged remainder on the right and restoring the rule.
    while top > 0:
        top -= 1
        v = stack[top]
        left = link[v, LEFT]
        rank_left = link[left, RANK] if left != -1 else 0
        rank_right = link[rest, RANK]
        if rank_left < rank_right:
            link[v, LEFT] = rest
            link[v, RIGHT] = left
            link[v, RANK] = rank_left + 1
        else:
            link[v, RIGHT] = rest
            link[v, RANK] = rank_right + 1
        rest = v
    return rest
