"""Batch iteration with the next batch decoded in a background thread while the model runs."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def prefetched_batches(items: Sequence[T], load_fn: Callable[[Sequence[T]], np.ndarray],
                       batch_size: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, load_fn(items[start:stop]))`` with one batch always loading ahead.

    OpenCV decoding and resizing release the GIL, so decoding overlaps the
    model's forward pass on the other core.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, received {batch_size}")
    bounds = [(i, min(i + batch_size, len(items))) for i in range(0, len(items), batch_size)]
    if not bounds:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
        future = pool.submit(load_fn, items[bounds[0][0]:bounds[0][1]])
        for k, (start, stop) in enumerate(bounds):
            batch = future.result()
            if k + 1 < len(bounds):
                nxt = bounds[k + 1]
                future = pool.submit(load_fn, items[nxt[0]:nxt[1]])
            yield start, stop, batch
