"""The trainer's recipe, in one torch-free place that training, `compare` and the theory all import.

The theory answers the trainer's problem: the stop-gradient dynamics (SimSiam/BYOL) integrate from the trainer's
own start with compare's schedule, and the exact order's "large batch" is a batch the trainer could use. So these
numbers are defined once, here; `tests/test_recipe.py` pins training's defaults to them.

    INIT_SCALE        linear encoders start at W₀ = INIT_SCALE · randn(d, D)/√D (training/models.py
                      `LinearEncoder`) unless the spec sets `init_scale` (`start_scale`, which training and the
                      theory both use)
    PREDICTOR_NOISE   SimSiam/BYOL's linear predictor starts at P₀ = I + PREDICTOR_NOISE · randn(d, d)/√d
    STEPS, LR, BATCH  compare's recipe (`sslscape compare`): Adam, cosine learning rate from LR to 0 over STEPS
                      steps (`cosine_lr`), batches of BATCH pairs when the spec has no batch size
    LARGE_N           the batch the exact order uses for a spec without one ("the large-batch limit"):
                      (1 − 1/N) = 0.998, half the N² logits of 1024
    SOBOL_SEED        the seed of every quasi-Monte-Carlo rule of the theory (deterministic answers)
"""

from __future__ import annotations

import math

INIT_SCALE = 1.0
PREDICTOR_NOISE = 0.1
STEPS = 3000
LR = 1e-2
BATCH = 1024
LARGE_N = 512
SOBOL_SEED = 20230501


def start_scale(spec: object) -> float:
    """The initial scale training starts from for `spec`: its `init_scale` field when set, else INIT_SCALE (the one
    resolution training, compare and the theory share)."""
    value = getattr(spec, "init_scale", None)
    return INIT_SCALE if value is None else float(value)


def cosine_lr(step: int, steps: int, lr: float, warmup: int = 0, min_ratio: float = 0.0) -> float:
    """The learning rate at 0-based `step` of a cosine schedule from `lr` to `min_ratio · lr` over `steps`, after
    `warmup` linear warm-up steps (lr · (step + 1)/warmup). Pure: resuming needs no scheduler state.

    >>> cosine_lr(0, 100, 0.1), cosine_lr(50, 100, 0.1), cosine_lr(100, 100, 0.1)
    (0.1, 0.05, 0.0)
    """
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return lr * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress)))
