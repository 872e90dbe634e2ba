"""Forked workers: results in the tasks' order, the inherited heap kept from the collector."""

import gc
import os

from etanche.lib.forked import frozen_heap, ordered_map


def _square_in_child(n: int) -> tuple[int, int, int]:
    return n * n, os.getpid(), gc.get_freeze_count()


def test_results_come_in_the_tasks_order_from_other_processes():
    results = list(ordered_map(_square_in_child, range(40), workers=2))
    assert [square for square, _, _ in results] == [n * n for n in range(40)]
    assert os.getpid() not in {pid for _, pid, _ in results}


def test_a_child_freezes_what_it_inherits():
    """A full collection in a child would walk the parent's whole heap (Django, caches, a
    scan's sample) for nothing: it is frozen when the child starts."""
    assert all(frozen > 1000 for _, _, frozen in ordered_map(_square_in_child, range(4), 2))


def test_the_parent_heap_is_frozen_while_a_bulk_job_runs_and_only_then():
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 1000
        with frozen_heap():  # nested (an import's check pass inside the import)
            pass
        assert gc.get_freeze_count() > 1000  # the inner end did not unfreeze the outer
        assert [n for n, _, _ in ordered_map(_square_in_child, range(3), 2)] == [0, 1, 4]
        assert gc.get_freeze_count() > 1000
    assert gc.get_freeze_count() == 0
