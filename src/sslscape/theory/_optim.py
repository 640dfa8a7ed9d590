"""One deterministic L-BFGS minimisation, shared by the numerical referee and the exact solver."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def lbfgs_minimise(params: Sequence[torch.Tensor], loss_fn: Callable[[], torch.Tensor], max_iter: int,
                   tolerance_grad: float = 1e-11, tolerance_change: float = 1e-14) -> float:
    """Minimise `loss_fn()` over `params` in place with strong-Wolfe L-BFGS; returns the final loss."""
    opt = torch.optim.LBFGS(list(params), lr=1.0, max_iter=max_iter, tolerance_grad=tolerance_grad,
                            tolerance_change=tolerance_change, history_size=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(loss_fn())


def product(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """W = W_L ⋯ W_1 for factors given input-side first."""
    w = factors[0]
    for f in factors[1:]:
        w = f @ w
    return w


def deep_shapes(embed_dim: int, input_dim: int, depth: int) -> list[tuple[int, int]]:
    """Factor shapes of a depth-L linear encoder with hidden width max(d, D)."""
    if depth == 1:
        return [(embed_dim, input_dim)]
    hidden = max(embed_dim, input_dim)
    return [(hidden, input_dim)] + [(hidden, hidden)] * (depth - 2) + [(embed_dim, hidden)]
