"""Pick which points of a long curve to keep: per-bucket minimum and maximum, so troughs and peaks survive."""

from __future__ import annotations

import numpy as np


def envelope_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Sorted indices of at most ~max_points points: first, last, and each bucket's argmin and argmax."""
    count = len(values)
    if count <= max_points:
        return np.arange(count, dtype=np.int64)
    buckets = max(1, max_points // 2)
    width = -(-count // buckets)  # ceil
    padded = width * (-(-count // width))
    low = np.full(padded, np.inf)
    high = np.full(padded, -np.inf)
    low[:count] = values
    high[:count] = values
    offsets = np.arange(0, padded, width, dtype=np.int64)
    minima = offsets + np.argmin(low.reshape(-1, width), axis=1)
    maxima = offsets + np.argmax(high.reshape(-1, width), axis=1)
    keep = np.concatenate(([0, count - 1], minima, maxima))
    return sorted_unique(keep[keep < count])


def sorted_unique(indices: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2.4's hash-based np.unique is ~20x slower on integer indices."""
    ordered = np.sort(np.asarray(indices, dtype=np.int64))
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
