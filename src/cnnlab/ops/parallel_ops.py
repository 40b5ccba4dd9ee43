"""Independent computations run side by side on cnnlab's threads.

The kernels split one op's work over the threads (``runtime.threads``); small ops split
poorly, and a loop of independent computations, such as ``predict``'s batches, is
better shared out whole: each thread takes the next item and runs all of it.
"""

from ..runtime import threads


def map_side_by_side(task, n, after_own_item=None):
    """Calls ``task(i)`` for every ``i`` in ``range(n)``; item 0 first and alone, then, when it took
    long enough to repay a hand-off (``runtime.tuning.SIDE_BY_SIDE_MIN_SECONDS``), the others
    side by side, each thread taking the next (else one by one, in order).

    Args:
        task: a function of one index that writes its results in place; items may run in
            any order and two at a time, so tasks must not share mutable state.
        n: how many items.
        after_own_item: called on the calling thread after each item it ran, with how many
            items are finished so far (to draw a progress bar); or None.
    """
    threads.parallel_items_if_worth_it(task, n, after_own_item)
