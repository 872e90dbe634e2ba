"""Forked workers: results in the tasks' order, the inherited heap kept from the collector."""

import gc
import os

from etanche.lib.forked import ordered_map


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
