"""Small linear-algebra helpers shared by the theory modules."""

from __future__ import annotations

import numpy as np


def basis_diagonal(e: np.ndarray, m: np.ndarray) -> np.ndarray:
    """diag(Eᵀ M E): the quadratic form of M along each column of E (D × k) → (k,). One matrix product, O(D²k)
    (a three-operand einsum without contraction order is O(D²k) per output, O(D³) here: 1.6 s at D = 1,024).

    >>> basis_diagonal(np.eye(2), np.diag([3.0, 5.0])).tolist()
    [3.0, 5.0]
    """
    return np.sum(e * (m @ e), axis=0)
