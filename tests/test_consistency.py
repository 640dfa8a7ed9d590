"""Theory and training answer the same problem: for every combination of spec fields the spec either refuses it
in one line naming the fields (a contradiction), or the theory refuses it in one line naming the fields
(`Spec.theory_gaps`: training runs it, the theory cannot model it), or the theory's exact loss equals the training
loss on the same weights and views (issue 11: no field the theory silently ignores)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from sslscape.compare import compare_config
from sslscape.errors import UserError
from sslscape.moments import moments_of
from sslscape.spec import OBJECTIVES, SpecError, parse_spec
from sslscape.theory import plan, predict
from sslscape.theory.exact import _ExactProblem, _pairs, exact_solution, is_scale_invariant, sample_views
from sslscape.training.data import GaussianSource
from sslscape.training.loop import build_model, ssl_loss

GRID = list(itertools.product(OBJECTIVES, ("dot", "cosine", "euclidean"), ("none", "l2", "batch"), (1, 2),
                              (False, True), ("augmented_negatives", "clean_negatives"), (False, True)))


def raw(objective, similarity, normalization, depth, bias, protocol, symmetric) -> dict:
    return {"objective": objective, "similarity": similarity, "normalization": normalization, "depth": depth,
            "bias": bias, "protocol": protocol, "symmetric": symmetric, "data": {"cov": [2.0, 1.0, 0.5]},
            "augmentation": {"noise_cov": [0.3, 0.2, 0.1]}, "embed_dim": 3, "batch_size": 32,
            "weight_decay": 0.1, "temperature": 0.7}


@pytest.mark.parametrize("combo", GRID, ids=["-".join(map(str, c)) for c in GRID])
def test_refused_or_the_same_loss(combo):
    try:
        spec = parse_spec(raw(*combo))
    except SpecError as err:
        msg = str(err)
        assert "\n" not in msg and "spec field" in msg  # one line naming the field(s)
        return
    if spec.theory_gaps():  # training accepts it; every way into the theory refuses it in one line
        for call in (lambda: plan(spec), lambda: predict(spec, "exact"),
                     lambda: exact_solution(spec, moments_of(spec))):
            with pytest.raises(UserError) as err:
                call()
            msg = str(err.value)
            assert "\n" not in msg and all(f.split()[0] in msg for f in spec.theory_gaps())
        return
    if spec.objective in ("simsiam", "byol"):  # the theory integrates these losses' dynamics (no loss minimum)
        pytest.skip("predictive objectives: checked by test_predictive_losses_match")
    gen = torch.Generator().manual_seed(0)
    cfg = compare_config(spec, seed=0)
    source = GaussianSource(moments_of(spec), torch.device("cpu"), 16, seed=0)
    model = build_model(cfg, spec, source, gen).double()
    with torch.no_grad():  # a point on the sphere ‖W‖ = √d, where the theory evaluates scale-invariant losses
        w = model.effective_weight()
        for p in model.parameters():
            if p.ndim >= 2:
                p.mul_((np.sqrt(3) / float(w.norm())) ** (1 / spec.depth))
        if spec.bias:
            model.backbone.bias.copy_(torch.tensor([0.3, -0.2, 0.1]))
    clean, v1, v2 = sample_views(spec, moments_of(spec), 32, seed=0)
    anchor, positive, negatives = _pairs(spec, clean, v1, v2)
    train_loss = ssl_loss(spec, model, None, anchor, positive, negatives is not None)
    factors = [p.detach().clone() for p in (model.backbone.weights if spec.depth > 1 else [model.backbone.weight])]
    bias = model.backbone.bias.detach().clone() if spec.bias else torch.zeros(3, dtype=torch.float64)
    theory = _ExactProblem(spec, anchor, positive, negatives, factors, bias, 32, 1, is_scale_invariant(spec))
    decay = 0.0 if is_scale_invariant(spec) else spec.weight_decay * sum(float((f * f).sum()) for f in factors)
    assert float(theory.loss(count=False)) - decay == pytest.approx(float(train_loss), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("objective, similarity", list(itertools.product(("simsiam", "byol"),
                                                                        ("dot", "cosine", "euclidean"))))
def test_predictive_losses_match(objective, similarity):
    from sslscape.objectives import byol_loss, simsiam_loss

    spec = parse_spec(raw(objective, similarity, "none", 1, False, "augmented_negatives", False))
    gen = torch.Generator().manual_seed(1)
    model = build_model(compare_config(spec, 0), spec, GaussianSource(moments_of(spec), torch.device("cpu"), 16, 0),
                        gen).double()
    clean, v1, v2 = sample_views(spec, moments_of(spec), 32, seed=0)
    train_loss = ssl_loss(spec, model, _Target(model) if objective == "byol" else None, v1, v2, False)
    w, p = model.backbone.weight.detach(), model.predictor.weight.detach()
    za, zp = v1 @ w.T, v2 @ w.T
    fn = simsiam_loss if objective == "simsiam" else byol_loss
    theory = fn(za @ p.T, zp @ p.T, za, zp, similarity=similarity)  # what theory/exact.py integrates
    assert float(theory) == pytest.approx(float(train_loss), rel=1e-12)


class _Target:
    """BYOL's EMA target at initialisation (= the online encoder)."""

    def __init__(self, model):
        self.model = model

    def embed(self, x):
        return self.model.embed(x)
