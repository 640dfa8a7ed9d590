"""The trainer's recipe (sslscape.recipe) is the one training, compare and the theory use: training's defaults equal
it, the theory's start and schedule are built from it, and `adamw` means decoupled weight decay."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from sslscape import compare, recipe
from sslscape.errors import UserError
from sslscape.training.config import ModelConfig, OptimizerConfig, ScheduleConfig, parse_config
from sslscape.training.models import LinearEncoder, linear_predictor
from sslscape.training.optim import lr_at

SPEC = {"objective": "spectral", "data": {"cov": [2.0, 1.0]}, "embed_dim": 2}


def test_training_defaults_are_the_recipe() -> None:
    assert ModelConfig().init_scale is None  # → the spec's init_scale, else the recipe's
    sched = ScheduleConfig()
    assert (sched.steps, sched.lr, sched.kind) == (recipe.STEPS, recipe.LR, "cosine")
    cfg = parse_config({"spec": SPEC})
    assert cfg.batch_size(cfg.resolved_spec()) == recipe.BATCH
    assert cfg.init_scale(cfg.resolved_spec()) == recipe.INIT_SCALE == recipe.start_scale(cfg.resolved_spec())
    own = parse_config({"spec": {**SPEC, "init_scale": 0.1}})
    assert own.init_scale(own.resolved_spec()) == 0.1 == recipe.start_scale(own.resolved_spec())
    clash = parse_config({"spec": {**SPEC, "init_scale": 0.1}, "model": {"init_scale": 0.5}})
    with pytest.raises(UserError, match="set one of them"):
        clash.init_scale(clash.resolved_spec())
    assert inspect.signature(LinearEncoder).parameters["init_scale"].default == recipe.INIT_SCALE
    assert (compare.COMPARE_STEPS, compare.COMPARE_LR, compare.COMPARE_BATCH) == (recipe.STEPS, recipe.LR,
                                                                                    recipe.BATCH)


def test_the_predictor_start_uses_the_recipe_noise() -> None:
    d = 64
    w = linear_predictor(d, torch.Generator().manual_seed(0)).weight.detach()
    spread = float((w - torch.eye(d)).std() * math.sqrt(d))  # ≈ PREDICTOR_NOISE
    assert spread == pytest.approx(recipe.PREDICTOR_NOISE, rel=0.05)


def test_lr_at_is_the_recipe_schedule() -> None:
    """`lr_at` (training) and `cosine_lr` (the theory's integrator) are one schedule, warm-up and floor included."""
    for sched in (ScheduleConfig(), ScheduleConfig(steps=50, lr=0.3, warmup_steps=7, min_lr_ratio=0.1)):
        for step in (0, 3, 7, 20, 49, 50, 80):
            expect = recipe.cosine_lr(step, sched.steps, sched.lr, sched.warmup_steps, sched.min_lr_ratio)
            assert lr_at(step, sched) == expect
    # the closed form itself, independently: lr · ½(1 + cos(π t / T))
    assert recipe.cosine_lr(25, 100, 2.0) == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi / 4)))


@pytest.mark.parametrize("scale", [None, 0.3])
def test_the_theory_starts_where_the_trainer_starts(scale: float | None) -> None:
    from sslscape.spec import parse_spec
    from sslscape.theory.exact import trainer_start

    spec = parse_spec({**SPEC, "objective": "simsiam", "seed": 5, **({"init_scale": scale} if scale else {})})
    w, p = trainer_start(spec, 2, 2)
    gen = torch.Generator().manual_seed(5)
    enc = LinearEncoder(2, 2, init_scale=parse_config({"spec": spec}).init_scale(spec), generator=gen)
    assert torch.allclose(w.float(), enc.weight.detach())
    assert torch.allclose(p.float(), linear_predictor(2, gen).weight.detach())


def test_adamw_means_decoupled_decay() -> None:
    assert OptimizerConfig.model_validate({"name": "adamw"}).weight_decay_mode == "decoupled"
    assert OptimizerConfig.model_validate({"name": "adam"}).weight_decay_mode == "l2"
    with pytest.raises(UserError, match="adamw means decoupled weight decay"):
        parse_config({"spec": SPEC, "optimizer": {"name": "adamw", "weight_decay_mode": "l2"}})
