"""core.common._batching: batches in order, covering every item once, with the next one loading ahead."""
from __future__ import annotations


import numpy as np
import pytest

from core.common._batching import prefetched_batches


def test_batches_cover_items_in_order_with_a_short_last_batch():
    items = list(range(7))
    got = list(prefetched_batches(items, lambda chunk: np.asarray(chunk) * 10, 3))
    assert [(a, b) for a, b, _ in got] == [(0, 3), (3, 6), (6, 7)]
    np.testing.assert_array_equal(np.concatenate([batch for _, _, batch in got]), np.arange(7) * 10)


def test_empty_items_yield_nothing_and_never_call_load():
    def load(chunk):
        raise AssertionError("load called for no items")

    assert list(prefetched_batches([], load, 4)) == []


@pytest.mark.parametrize("size", [0, -2])
def test_batch_size_below_one_is_refused(size):
    with pytest.raises(ValueError, match=f"batch_size must be >= 1, received {size}"):
        list(prefetched_batches([1, 2], lambda c: np.asarray(c), size))


def test_a_load_error_reaches_the_caller():
    def load(chunk):
        if chunk[0] == 2:
            raise OSError("bad file 2")
        return np.asarray(chunk)

    gen = prefetched_batches([0, 1, 2, 3], load, 2)
    next(gen)
    with pytest.raises(OSError, match="bad file 2"):
        next(gen)
