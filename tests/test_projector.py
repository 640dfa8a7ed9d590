"""Feature moments (sslscape.moments.feature_moments) and the projector workflow (sslscape.projector): streamed
moments vs direct float64 formulas and the exact pixel moments, module-state restoration, validation, predicted vs
trained projector rank on Gaussian features, checkpoint loading and the CLI command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from sslscape.augment import NoiseAugment, PipelineAugment, parse_pipeline
from sslscape.datasets import load_images
from sslscape.errors import UserError
from sslscape.moments import FeatureMoments, augmentation_moments, feature_moments
from sslscape.projector import fit_linear_projector, predict_projector, projector_rank, projector_spec
from sslscape.training.models import load_backbone


def flat(v: torch.Tensor) -> torch.Tensor:
    return v.flatten(1)


def test_identity_features_under_flip_match_the_exact_pixel_moments():
    images = load_images("digits", samples=600)
    p = parse_pipeline("flip")
    exact = augmentation_moments(images, p)
    imgs = torch.as_tensor(images.x, dtype=torch.float64)
    fm = feature_moments(flat, imgs, PipelineAugment(p), pairs=8, batch_size=300, seed=3)
    assert isinstance(fm, FeatureMoments) and fm.method == "monte_carlo" and fm.n_images == 600 and fm.pairs == 8
    assert fm.noise_floor > 0 and 0 < fm.below_floor < fm.dim
    above = exact.eigenvalues > 3 * fm.noise_floor
    assert above.sum() >= 5
    np.testing.assert_allclose(fm.eigenvalues[above], exact.eigenvalues[above], rtol=0.05)
    np.testing.assert_allclose(fm.mean, exact.mean, atol=0.01)
    np.testing.assert_allclose(fm.view_cov, exact.view_cov, atol=0.02)


def test_view_pairs_from_a_loader_give_the_direct_float64_moments():
    """Fixed views (the same in every pass): A, B, μ equal the textbook formulas; the floor is 0 (identical halves).
    A large common offset checks that the shifted accumulation centres exactly."""
    rng = np.random.default_rng(0)
    n, dim = 600, 5
    base = rng.standard_normal((n, dim)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.1]) + 1e4
    v1, v2 = base + 0.3 * rng.standard_normal((n, dim)), base + 0.3 * rng.standard_normal((n, dim))
    batches = [(torch.tensor(v1[i:i + 100]), torch.tensor(v2[i:i + 100])) for i in range(0, n, 100)]
    fm = feature_moments(lambda v: v, batches, pairs=2)
    mu = (v1.mean(0) + v2.mean(0)) / 2
    a = (v1 - mu).T @ (v2 - mu) / n
    b = ((v1 - mu).T @ (v1 - mu) + (v2 - mu).T @ (v2 - mu)) / (2 * n)
    np.testing.assert_allclose(fm.mean, mu, rtol=1e-12)
    np.testing.assert_allclose(fm.cross_cov, (a + a.T) / 2, atol=1e-9)
    np.testing.assert_allclose(fm.view_cov, b, atol=1e-9)
    assert fm.noise_floor == 0.0 and fm.n_images == n and fm.pairs == 2
    assert np.linalg.eigvalsh(fm.view_cov - fm.cross_cov).min() > -1e-9  # B − A = ½E[(h′−h″)(h′−h″)ᵀ] ⪰ 0


def test_gaussian_noise_views_recover_c_and_s_and_flag_the_dead_directions():
    """x ~ N(0, C) with two dead directions, views x + ε, ε ~ N(0, 0.25 I): A → C, B − A → S; the dead directions
    (and nothing alive) fall under the Monte-Carlo floor."""
    g = torch.Generator().manual_seed(0)
    c = torch.tensor([4.0, 2.0, 1.0, 0.5, 0.0, 0.0])
    x = torch.randn(20000, 6, generator=g) * c.sqrt()
    fm = feature_moments(lambda v: v, x, NoiseAugment(0.5 * torch.eye(6)), pairs=4,
                         batch_size=5000)
    np.testing.assert_allclose(np.diag(fm.cross_cov), c.numpy(), atol=0.12)
    np.testing.assert_allclose(fm.view_cov - fm.cross_cov, 0.25 * np.eye(6), atol=0.03)
    assert fm.below_floor == 2 and fm.eigenvalues[3] > fm.noise_floor


def test_one_shot_iterator_alternates_halves():
    views = [(torch.randn(50, 3), torch.randn(50, 3)) for _ in range(4)]
    fm = feature_moments(lambda v: v, iter(views), pairs=2)
    assert fm.n_images == 200 and fm.pairs == 1 and fm.noise_floor > 0


def test_module_state_is_restored_and_no_gradient_is_taken():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    net.train()
    net[1].eval()  # a frozen BatchNorm inside a training model must stay frozen
    running = net[1].running_mean.clone()
    x = torch.randn(64, 4)
    fm = feature_moments(net, x, lambda b: b + 0.1 * torch.randn_like(b), pairs=2, batch_size=16)
    assert fm.dim == 3 and fm.features == "Sequential"
    assert net.training and net[0].training and not net[1].training and net[3].training
    assert torch.equal(net[1].running_mean, running)
    assert all(p.grad is None for p in net.parameters())

    class Boom(torch.nn.Module):
        def forward(self, v: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("boom")

    boom = Boom().train()
    with pytest.raises(RuntimeError, match="boom"):
        feature_moments(boom, x, lambda b: b, pairs=2)
    assert boom.training and torch.is_grad_enabled()


@pytest.mark.parametrize("call, match", [
    (lambda: feature_moments(flat, torch.randn(8, 2), lambda b: b, pairs=3), "even"),
    (lambda: feature_moments(flat, torch.randn(8, 2)), "augment="),
    (lambda: feature_moments(flat, [torch.randn(8, 2)]), "two views"),
    (lambda: feature_moments(lambda v: v * float("nan"), torch.randn(8, 2), lambda b: b), "NaN"),
    (lambda: feature_moments(flat, [(torch.randn(8, 2), torch.randn(7, 2))]), "differ in shape"),
    (lambda: feature_moments(flat, [(torch.randn(8, 2), torch.randn(8, 2))], pairs=2, max_batches=0), "too few"),
    (lambda: feature_moments("not callable", torch.randn(8, 2), lambda b: b), "callable"),
])
def test_bad_inputs_are_one_line_user_errors(call, match):
    with pytest.raises(UserError, match=match):
        call()


def gaussian_moments(c: np.ndarray, s: float, n: int = 40000, seed: int = 0) -> tuple[FeatureMoments, torch.Tensor,
                                                                                        torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(c), generator=g) * torch.tensor(np.sqrt(c), dtype=torch.float32)
    v1 = x + s * torch.randn(x.shape, generator=g)
    v2 = x + s * torch.randn(x.shape, generator=g)
    return feature_moments(lambda v: v, [(v1[i::2], v2[i::2]) for i in range(2)], pairs=2), v1, v2


C8 = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125])


@pytest.mark.parametrize("objective, fields, factor", [
    ("spectral", {}, 2.0),                                        # γ*_k = 2 c_k
    ("infonce", {"temperature": 0.5, "batch_size": 256}, (1 - 1 / 256) / 0.5),  # γ*_k = (1 − 1/N) c_k / τ
])
def test_predicted_rank_counts_the_critical_values_of_the_feature_covariance(objective, fields, factor):
    fm, _, _ = gaussian_moments(C8, 0.5)
    gammas = [factor * np.sqrt(C8[k] * C8[k + 1]) for k in range(5)]  # between c_{k+1} and c_{k+2}: rank k + 1
    preds = predict_projector(fm, objective, gammas, embed_dim=8, **fields)
    assert [p.alive for p in preds] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(preds[0].critical_weight_decay[:5], factor * C8[:5], rtol=0.05)
    assert all(p.cost != "numerical" and not p.uncertain for p in preds)
    one = predict_projector(fm, objective, gammas[2], embed_dim=8, **fields)
    assert one.rank == preds[2].rank and json.loads(one.to_json())["objective"] == objective


def test_spec_of_feature_moments():
    fm, _, _ = gaussian_moments(C8[:3], 0.5, n=4000)
    spec = projector_spec(fm, "infonce", 0.1, embed_dim=2, temperature=0.5)
    assert spec.embed_dim == 2 and spec.temperature == 0.5 and spec.data.mean is None
    assert projector_spec(fm, "spectral", 0.1, center=False).data.mean is not None
    with pytest.raises(UserError, match="temperature"):
        projector_spec(fm, "infonce", 0.1, temperature=-1.0)
    with pytest.raises(UserError, match="weight_decay"):
        predict_projector(fm, "spectral", [0.1, float("nan")])


@pytest.mark.parametrize("objective, fields, gamma, rank", [
    ("spectral", {}, 2.8, 2), ("spectral", {}, 0.7, 4), ("spectral", {}, 10.0, 0),
    ("infonce", {"temperature": 1.0}, 0.7, 3),
])  # γ in the middle of the gaps between critical values (2c_k; c_k/τ), so a miss is a real disagreement
def test_trained_linear_projector_reaches_the_predicted_rank(objective, fields, gamma, rank):
    c = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.125])
    fm, v1, v2 = gaussian_moments(c, 0.5, n=8192)
    pred = predict_projector(fm, objective, gamma, embed_dim=6, batch_size=256, **fields) if objective == "infonce" \
        else predict_projector(fm, objective, gamma, embed_dim=6)
    assert pred.rank == rank
    w = fit_linear_projector(v1, v2, objective=objective, weight_decay=gamma, embed_dim=6, steps=600,
                             batch_size=256, init_scale=0.3, seed=1, **fields)
    assert projector_rank(w, v1[:4000], torch.as_tensor(fm.mean, dtype=torch.float32)) == rank


def test_fit_linear_projector_leaves_global_rng_alone():
    v = torch.randn(64, 3)
    before = torch.random.get_rng_state()
    fit_linear_projector(v, v + 0.1, steps=3, batch_size=32, embed_dim=2)
    assert torch.equal(before, torch.random.get_rng_state())
    with pytest.raises(UserError, match="batch_size"):
        fit_linear_projector(v, v, batch_size=128)


@pytest.fixture(scope="module")
def digits_checkpoint(tmp_path_factory):
    from sslscape.training.config import parse_config
    from sslscape.training.loop import train

    out = tmp_path_factory.mktemp("digits_run")
    cfg = parse_config({"spec": {"objective": "infonce", "similarity": "cosine", "temperature": 0.5, "embed_dim": 8},
                        "model": {"kind": "mlp", "hidden": [32, 16]}, "data": {"source": "digits"},
                        "schedule": {"steps": 4, "batch_size": 64, "log_every": 2, "checkpoint_every": 4},
                        "eval": {"knn": False}, "device": "cpu"})
    result = train(cfg, out)
    return out, result.model


def test_load_backbone_gives_the_trained_backbone(digits_checkpoint):
    out, model = digits_checkpoint
    net, config = load_backbone(out, (1, 8, 8))
    x = torch.rand(10, 1, 8, 8)
    model.eval()
    net.eval()
    torch.testing.assert_close(net(x), model.represent(x))
    assert config["model"]["hidden"] == [32, 16]
    with pytest.raises(UserError, match="does not fit"):
        load_backbone(out, (1, 28, 28))
    with pytest.raises(UserError, match="not found"):
        load_backbone(out / "missing.pt", (1, 8, 8))


def cli() -> typer.Typer:
    from sslscape.cli import projector

    app = typer.Typer()
    projector.register(app)
    app.command("noop", hidden=True)(lambda: None)  # a second command keeps `projector` a sub-command
    return app


def test_cli_projector_json_and_table(digits_checkpoint, tmp_path):
    out, _ = digits_checkpoint
    runner = CliRunner()
    res = runner.invoke(cli(), ["projector", "digits", "--checkpoint", str(out), "--samples", "400",
                                "--weight-decay", "0.001,1000", "--embed-dim", "8", "--json",
                                "--out", str(tmp_path / "spec.json")])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    ranks = [p["rank"] for p in obj["predictions"]]
    assert ranks[1] == 0 and ranks[0] >= 1 and obj["moments"]["dim"] == 16
    spec = json.loads((tmp_path / "spec.json").read_text())
    assert spec["objective"] == "spectral" and len(spec["data"]["cov"]) == 16
    res = runner.invoke(cli(), ["projector", "digits", "--hidden", "32", "--samples", "200", "--objective", "infonce",
                                "--augment", "flip+noise:0.05"])
    assert res.exit_code == 0, res.output
    assert "predicted rank" in res.stdout and "noise floor" in res.stdout


def test_cli_projector_bad_input_is_a_user_error():
    runner = CliRunner()
    res = runner.invoke(cli(), ["projector", "digits", "--objective", "vicregg"])
    assert isinstance(res.exception, UserError) and "unknown objective 'vicregg'" in str(res.exception)
    res = runner.invoke(cli(), ["projector", "digits", "--order", "sextic"])
    assert res.exit_code == 2 and "sextic" in res.output
    res = runner.invoke(cli(), ["projector", "cifar"])
    assert isinstance(res.exception, UserError) and "neither 'digits'" in str(res.exception)


def test_build_backbone_kinds_and_seeded_init():
    from sslscape.training.models import build_backbone

    a, b = build_backbone("mlp", (1, 8, 8), (16,), seed=3), build_backbone("mlp", (1, 8, 8), (16,), seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    net = build_backbone("resnet18", (1, 8, 8))
    x = torch.rand(6, 1, 8, 8)
    fm = feature_moments(net, x, PipelineAugment(parse_pipeline("flip")), pairs=2, batch_size=3)
    assert fm.dim == 512 and net.training  # the ResNet's BatchNorms were put back in training mode
    with pytest.raises(UserError, match="unknown backbone"):
        build_backbone("vit", (1, 8, 8))
    with pytest.raises(UserError, match="images"):
        build_backbone("resnet18", (64,))
