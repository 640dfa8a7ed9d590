"""Optimisers, learning-rate schedules and the two kinds of weight decay.

Weight decay γ (spec.weight_decay) is the theory's explicit L2, + γ Σ_l ‖W_l‖² added to the loss. Its gradient
2γ W_l is added to the gradients in place (`add_l2_grad`) — identical to differentiating the penalty, without
putting it in the autograd graph. The alternative, decoupled decay (Loshchilov & Hutter 2019), shrinks
W_l ← (1 − 2γ·lr) W_l after the step; it equals L2 for plain SGD but not with momentum or Adam, where the
landscape it minimises is no longer loss + γ‖W‖² (so the theory's thresholds need not hold).

Schedule: linear warmup over `warmup_steps`, then cosine decay from lr to min_lr_ratio·lr (or constant):

    lr(t) = lr · (t+1)/warmup                                    t < warmup
    lr(t) = lr · [r + (1 − r) · ½(1 + cos(π (t − warmup)/(T − warmup)))]     otherwise
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from ..recipe import cosine_lr
from .config import OptimizerConfig, ScheduleConfig


class LARS(torch.optim.Optimizer):
    """LARS (You, Gitman & Ginsburg 2017) as used by SimCLR/BYOL: SGD+momentum with a per-tensor trust ratio

        Δ = lr · η ‖w‖ / ‖g‖ · g     for weight matrices/kernels;  plain SGD for biases and norm parameters
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.9,
                 eta: float = 0.001) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, eta=eta))

    @torch.no_grad()
    def step(self, closure=None):  # noqa: ANN001 - torch's signature
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if p.ndim >= 2:  # the trust ratio only for matrices, as in the SimCLR code
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                    trust = torch.where((w_norm > 0) & (g_norm > 0), group["eta"] * w_norm / g_norm,
                                        torch.ones_like(w_norm))
                    g = g * trust
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return None


def build_optimizer(params: list[nn.Parameter], cfg: OptimizerConfig, lr: float) -> torch.optim.Optimizer:
    """The optimiser without built-in weight decay: γ is applied by `add_l2_grad` / `decoupled_decay`."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum)
    if cfg.name in ("adam", "adamw"):  # adamw = adam + the loop's decoupled decay (its config forces that mode)
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas), eps=cfg.eps)
    if cfg.name == "lars":
        return LARS(params, lr=lr, momentum=cfg.momentum, eta=cfg.lars_eta)
    raise ValueError(f"unknown optimizer {cfg.name!r}")


def lr_at(step: int, sched: ScheduleConfig) -> float:
    """The learning rate at `step` (0-based): a pure function, so resuming needs no scheduler state. The cosine
    schedule is `sslscape.recipe.cosine_lr` (the one the theory integrates with)."""
    if sched.kind == "constant":
        return sched.lr * (step + 1) / sched.warmup_steps if step < sched.warmup_steps else sched.lr
    return cosine_lr(step, sched.steps, sched.lr, sched.warmup_steps, sched.min_lr_ratio)


def l2_penalty(params: list[Tensor]) -> Tensor:
    """Σ_l ‖W_l‖_F² (for reporting; training adds its gradient directly)."""
    return sum((p.detach().pow(2).sum() for p in params), torch.zeros(()))


@torch.no_grad()
def add_l2_grad(params: list[nn.Parameter], weight_decay: float) -> None:
    """grad_l += 2γ W_l — the gradient of + γ Σ_l ‖W_l‖², in one fused call."""
    grads = [p.grad for p in params if p.grad is not None]
    if grads and weight_decay > 0:
        torch._foreach_add_(grads, [p for p in params if p.grad is not None], alpha=2 * weight_decay)


@torch.no_grad()
def decoupled_decay(params: list[nn.Parameter], weight_decay: float, lr: float) -> None:
    """W_l ← (1 − 2γ·lr) W_l: the shrink SGD gets from + γ‖W‖², applied outside the optimiser's statistics."""
    if params and weight_decay > 0:
        torch._foreach_mul_(params, 1.0 - 2 * weight_decay * lr)
