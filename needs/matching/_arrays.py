"""Set operations on integer arrays by sorting (numpy 2's hash-based np.unique is far slower on these)."""

import numpy as np


def unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending."""
    ordered = np.sort(values)
    if ordered.size:
        ordered = ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
    return ordered


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values, ascending, and for each value its position among them."""
    distinct = unique(values)
    return distinct, np.searchsorted(distinct, values)


def contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each value, whether it is in sorted_values."""
    if not sorted_values.size:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), sorted_values.size - 1)
    return sorted_values[at] == values
