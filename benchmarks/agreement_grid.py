"""The default `predict` order vs the rank that training reaches, on a grid of synthetic problems.

For each setting (Gaussian data N(μ, C), additive Gaussian noise N(0, S) as augmentation):

* default  — `predict(spec)` (order 'auto': the learned point for finite-batch dot InfoNCE, the per-direction
             closed form for SimSiam/BYOL, the quartic closed form elsewhere), with its time per spec,
* quartic  — `predict(spec, 'quartic')` (the W = 0 expansion; for SimSiam/BYOL this is the exact solver),
* exact    — `predict(spec, 'exact')` (deterministic minimisation of the exact sample loss; SimSiam/BYOL: the
             integrated dynamics from the trainer's start),
* trained  — non-predictive objectives: Adam on fresh minibatches of size `batch_size`, loss =
             `sslscape.objectives.view_loss` + γ‖W‖² (this script's own loop, 4000 steps); SimSiam/BYOL: the
             project's trainer (`sslscape.compare.compare_config`) with Adam (compare's recipe) and with plain SGD
             (momentum 0) — the two optimisers answer differently for dot similarity (docs/theory.md §7).
Every rank is the collapse rank (`sslscape.diagnostics.rank.collapse_cut`; a trained spectrum with the data scale
as reference), and agreement is `sslscape.diagnostics.rank.agreement` (the predicted spectrum cut by the same rule).

Settings: the factor-2 grid (32; thresholds ≥ √2 away unless labelled), the 17 finite-batch InfoNCE specs with
large p̄ (0.47–0.66) of the learned-point check (`FINITE_BATCH`; weak directions placed 15–50 % of γ on either side
of their learned-point threshold), and SimSiam/BYOL at several weight decays, EMA rates and widths (`PREDICTIVE`).

Run:   .venv/bin/python benchmarks/agreement_grid.py [--only SUBSTRING] [--workers 1]   (≈ 1 h on 2 loaded cores)
       .venv/bin/python benchmarks/agreement_grid.py --quick        (a handful of settings)
       .venv/bin/python benchmarks/agreement_grid.py --rescore      (this version's predictions and times against
                                                                     the stored trained ranks; nothing retrained)
Rows are appended to benchmarks/results/agreement.jsonl as they finish (a rerun skips finished settings; --fresh
starts over); the report goes to benchmarks/results/agreement.md and predictive.md (the SimSiam/BYOL table).
Importable: `grid()`, `run_setting()`, `FINITE_BATCH`, `PREDICTIVE`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import torch

from sslscape.diagnostics.rank import agreement, collapse_cut
from sslscape.moments import moments_of
from sslscape.objectives import view_loss
from sslscape.spec import Spec
from sslscape.theory import predict
from sslscape.theory.predict import Prediction

RESULTS = Path(__file__).resolve().parent / "results"
D = 8
# factor-2 spectrum: every threshold sits a factor ≥ √2 away from the settings' γ unless labelled "near"
C_DIAG = [4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]


def _rotated_noise(seed: int = 3) -> list[list[float]]:
    """A unit noise covariance that does not commute with C (eigenvalues 0.25 … 2)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((D, D)))
    return ((q * np.geomspace(2.0, 0.25, D)) @ q.T).tolist()


@dataclass(frozen=True)
class Setting:
    name: str
    spec: dict
    label: str = ""  # e.g. "near threshold" for settings placed close to a threshold on purpose
    group: str = "grid"  # 'grid' | 'finite_batch' | 'predictive'


def _spec(objective: str, **kw: object) -> dict:
    raw: dict = {"objective": objective, "data": {"cov": C_DIAG}, "augmentation": {"noise_cov": [1.0] * D},
                 "embed_dim": D, "batch_size": 256, "seed": 0}
    for key, value in kw.items():
        if key == "noise_scale":
            raw["augmentation"] = {**raw["augmentation"], "noise_scale": value}
        elif key == "noise_cov":
            raw["augmentation"] = {**raw["augmentation"], "noise_cov": value}
        else:
            raw[key] = value
    return raw


# The learned-point check specs (issue 11; designed with the learned-point theory, checked against the exact order
# and training): (name, protocol, N, τ, γ, cov, noise = ratio · cov or an explicit list, embed_dim).
_ONES = [1.0] * 14
FINITE_BATCH: list[tuple[str, str, int, float, float, list[float], float | list[float], int | None]] = [
    ("failing-example", "aug", 512, 1.0, 0.1, [4.0] * 11 + [0.12], [0.01] * 12, 12),
    ("aug-N16-t0.5", "aug", 16, 0.5, 0.1, _ONES[:6] + [0.1773, 0.08075, 0.04267], 0.05, None),
    ("cln-N16-t0.1", "cle", 16, 0.1, 1.0, [2.0, 1.5, 1.2, 1.0, 1.0, 0.8, 0.2691, 0.1906, 0.08533], 0.2, None),
    ("aug-N32-t1", "aug", 32, 1.0, 0.033333, _ONES[:8] + [0.143, 0.05825, 0.02753], 0.02, None),
    ("cln-N32-t0.3", "cle", 32, 0.3, 0.166667, _ONES[:6] + [0.1203, 0.08523, 0.04129], 0.1, None),
    ("aug-N64-t0.2", "aug", 64, 0.2, 0.6, [3.0, 2.5, 2.0, 2.0, 1.5, 1.5, 1.0, 1.0, 0.3298, 0.1665, 0.09752], 0.05,
     None),
    ("cln-N64-t1", "cle", 64, 1.0, 0.05, _ONES[:8] + [0.1249, 0.08849, 0.04063], 0.3, None),
    ("aug-N128-t0.5", "aug", 128, 0.5, 0.066667, _ONES[:10] + [0.1142, 0.05144, 0.02688], 0.03, None),
    ("cln-N128-t0.2", "cle", 128, 0.2, 0.4, [2.0] * 5 + [1.0] * 5 + [0.2163, 0.1532, 0.0645], 0.1, None),
    ("aug-N256-t1", "aug", 256, 1.0, 0.025, _ONES[:12] + [0.09818, 0.04122, 0.02008], 0.02, None),
    ("cln-N256-t0.5", "cle", 256, 0.5, 0.066667, _ONES[:10] + [0.08086, 0.05728, 0.02677], 0.05, None),
    ("aug-N512-t0.1", "aug", 512, 0.1, 0.375, [1.5] * 6 + [1.0] * 6 + [0.1156, 0.05473, 0.03006], 0.02, None),
    ("cln-N512-t1", "cle", 512, 1.0, 0.025, _ONES[:12] + [0.06744, 0.04777, 0.02004], 0.05, None),
    ("aug-N1024-t0.3", "aug", 1024, 0.3, 0.083333, _ONES[:14] + [0.08791, 0.03895, 0.02002], 0.01, None),
    ("cln-N1024-t1", "cle", 1024, 1.0, 0.025, _ONES[:13] + [0.06407, 0.04539, 0.02002], 0.02, None),
    ("aug-N64-t0.5-d10", "aug", 64, 0.5, 0.08, _ONES[:8] + [0.1194, 0.05785, 0.03251], 0.05, 10),
    ("cln-N16-t1-bignoise", "cle", 16, 1.0, 0.05, _ONES[:6] + [0.1292, 0.09152, 0.04267], 1.0, None),
]


def finite_batch_specs() -> list[tuple[str, dict]]:
    """The FINITE_BATCH table as (name, raw spec) pairs (dot-similarity InfoNCE, large p̄)."""
    out = []
    for name, prot, n, tau, gamma, cov, noise, d in FINITE_BATCH:
        noise_cov = noise if isinstance(noise, list) else [round(noise * c, 7) for c in cov]
        raw = {"objective": "infonce", "similarity": "dot",
               "protocol": "augmented_negatives" if prot == "aug" else "clean_negatives",
               "data": {"cov": cov}, "augmentation": {"noise_cov": noise_cov}, "weight_decay": gamma,
               "temperature": tau, "batch_size": n, "seed": 0}
        if d is not None:
            raw["embed_dim"] = d
        out.append((f"fb-{name}", raw))
    return out


# SimSiam / BYOL: C8 with S = 0.5·I (γ*_1 = λ_1/2 = 2 for dot from the trainer's balanced start at d = D), and a
# low-SNR noise (ρ = λ/(λ + s) from 0.95 down to 0.11); d = 4 < D makes the start unbalanced (w₀² = d/D).
C8 = [4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.5]
LOW_SNR = [0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0, 4.0]


def predictive_specs() -> list[tuple[str, dict]]:
    """SimSiam/BYOL cases (name, raw spec): dot at several γ around γ*_1 and EMA rates, cosine at several γ."""
    out: list[tuple[str, dict]] = []

    def add(name: str, objective: str, similarity: str, gamma: float, noise: list[float] | None = None,
            ema: float | None = None, d: int | None = None) -> None:
        raw: dict = {"objective": objective, "similarity": similarity, "data": {"cov": C8},
                     "augmentation": {"noise_cov": noise or [0.5] * 8}, "weight_decay": gamma, "seed": 0}
        if ema is not None:
            raw["ema_decay"] = ema
        if d is not None:
            raw["embed_dim"] = d
        out.append((name, raw))

    for g in (0.3, 1.2, 1.6, 2.4, 3.0):
        add(f"simsiam-dot γ={g}", "simsiam", "dot", g)
    for beta in (0.9, 0.99):
        for g in (1.2, 2.4):
            add(f"byol-dot β={beta} γ={g}", "byol", "dot", g, ema=beta)
    add("byol-dot β=0.996 γ=1.6", "byol", "dot", 1.6, ema=0.996)
    for g in (1.2, 2.0):  # d = 4: w₀² = 0.5, γ*_1 = λ_1/(2 s*(1, √0.5)) = 1.60
        add(f"simsiam-dot d=4 γ={g}", "simsiam", "dot", g, d=4)
    for g in (1.2, 1.7, 2.2):  # BYOL, d = 4: γ*_1 inside the bracket [1.41, 2.0], by quadrature
        add(f"byol-dot d=4 β=0.99 γ={g}", "byol", "dot", g, ema=0.99, d=4)
    for g in (0.01, 0.1):
        add(f"simsiam-cos γ={g}", "simsiam", "cosine", g)
    add("simsiam-cos lowSNR γ=0.01", "simsiam", "cosine", 0.01, noise=LOW_SNR)
    add("simsiam-cos lowSNR d=4 γ=0.01", "simsiam", "cosine", 0.01, noise=LOW_SNR, d=4)
    for beta in (0.9, 0.99):
        add(f"byol-cos β={beta} γ=0.01", "byol", "cosine", 0.01, ema=beta)
    add("byol-cos lowSNR d=4 β=0.99 γ=0.01", "byol", "cosine", 0.01, noise=LOW_SNR, ema=0.99, d=4)
    return out


def grid() -> list[Setting]:
    """The factor-2 grid (objectives, protocols, γ, noise scale, τ, d < D), then FINITE_BATCH and PREDICTIVE."""
    out: list[Setting] = []
    aug, clean = "augmented_negatives", "clean_negatives"
    # InfoNCE, dot: direction i grows iff (1 − 1/N) c_i/τ > γ at quartic order; noise never matters
    for prot in (aug, clean):
        for tau, gamma, ns in ((0.5, 1.4, 0.5), (1.0, 0.35, 2.0), (0.5, 0.35, 1.0), (2.0, 0.18, 0.5)):
            out.append(Setting(f"infonce-dot-{prot[:3]}-τ{tau}-γ{gamma}-s{ns}",
                               _spec("infonce", protocol=prot, temperature=tau, weight_decay=gamma,
                                     noise_scale=ns)))
    out.append(Setting("infonce-dot-aug-d3", _spec("infonce", temperature=0.5, weight_decay=0.18, embed_dim=3)))
    out.append(Setting("infonce-dot-clean-d2", _spec("infonce", protocol="clean_negatives", temperature=1.0,
                                                     weight_decay=0.35, embed_dim=2)))
    out.append(Setting("infonce-dot-aug-rotS", _spec("infonce", temperature=1.0, weight_decay=0.7,
                                                      noise_cov=_rotated_noise(), noise_scale=2.0)))
    out.append(Setting("infonce-dot-aug-N64", _spec("infonce", temperature=1.0, weight_decay=0.7,
                                                    batch_size=64)))
    # InfoNCE, euclidean: augmented negatives as dot; clean negatives A = (2C − S)/(2τ): augmentation kills
    for tau, gamma, ns in ((0.5, 1.4, 1.0), (1.0, 0.35, 1.0), (1.0, 0.09, 3.0)):
        out.append(Setting(f"infonce-euc-aug-τ{tau}-γ{gamma}-s{ns}",
                           _spec("infonce", similarity="euclidean", temperature=tau, weight_decay=gamma,
                                 noise_scale=ns)))
    for gamma, ns in ((0.0, 0.7), (0.0, 2.8), (0.1, 0.35), (0.3, 1.4)):
        out.append(Setting(f"infonce-euc-clean-γ{gamma}-s{ns}",
                           _spec("infonce", similarity="euclidean", protocol=clean, temperature=1.0,
                                 weight_decay=gamma, noise_scale=ns)))
    out.append(Setting("infonce-euc-clean-rotS", _spec("infonce", similarity="euclidean", protocol=clean,
                                                       temperature=1.0, weight_decay=0.05,
                                                       noise_cov=_rotated_noise(), noise_scale=1.0)))
    # spectral: 2 c_i > γ (noise irrelevant for the rank)
    for prot, gamma, ns, d in ((aug, 1.4, 1.0, 8), (aug, 0.35, 3.0, 8), (clean, 0.7, 1.0, 8), (aug, 0.09, 0.5, 4),
                               (clean, 2.8, 2.0, 8), (aug, 0.7, 1.0, 2)):
        out.append(Setting(f"spectral-{prot[:3]}-γ{gamma}-s{ns}-d{d}",
                           _spec("spectral", protocol=prot, weight_decay=gamma, noise_scale=ns, embed_dim=d)))
    # Barlow Twins without standardisation: λ = 1 → c_i > γ/2; λ < 1 → rows stack on the top directions
    for lam, gamma, ns in ((1.0, 1.4, 1.0), (1.0, 0.35, 2.0), (1.0, 0.09, 0.5), (0.3, 0.3, 1.0),
                           (0.1, 0.3, 1.0), (0.01, 0.3, 1.0)):
        out.append(Setting(f"barlow-λ{lam}-γ{gamma}-s{ns}",
                           _spec("barlow", barlow_lambda=lam, weight_decay=gamma, noise_scale=ns)))
    out += [Setting(n, r, group="finite_batch") for n, r in finite_batch_specs()]
    out += [Setting(n, r, group="predictive") for n, r in predictive_specs()]
    return out


def quick_grid() -> list[Setting]:
    g = {s.name: s for s in grid()}
    names = ["infonce-dot-aug-τ0.5-γ1.4-s0.5", "spectral-aug-γ1.4-s1.0-d8", "fb-failing-example",
             "simsiam-dot γ=1.6", "byol-cos β=0.99 γ=0.01"]
    return [g[n] for n in names]


# ---- training ---------------------------------------------------------------------------------------------------
def _factor(cov: np.ndarray) -> torch.Tensor:
    lam, u = np.linalg.eigh(cov)
    return torch.as_tensor(u * np.sqrt(np.clip(lam, 0.0, None)), dtype=torch.float32)


def _collapse_rank(ev: np.ndarray, cov: np.ndarray) -> int:
    """The collapse rank of a trained spectrum, with the data's mean variance as the complete-collapse scale."""
    if not np.isfinite(ev).all():
        return -1
    return collapse_cut(ev, reference_scale=float(np.trace(cov)) / cov.shape[0]).rank


def train_rank(spec: Spec, steps: int = 4000, lr: float = 1e-2, seed: int = 0) -> tuple[int, list[float]]:
    """Adam on the exact sample loss with fresh Gaussian minibatches; returns (collapse rank, embedding spectrum)."""
    moments = moments_of(spec)
    gen = torch.Generator().manual_seed(seed)
    dim, d, n = moments.dim, spec.embed_dim or moments.dim, spec.batch_size or 512
    fc, fs = _factor(moments.cov), _factor(moments.noise_cov)
    mu = torch.as_tensor(moments.mean, dtype=torch.float32)
    w = (0.1 * torch.randn(d, dim, generator=gen) / math.sqrt(dim)).requires_grad_()
    opt = torch.optim.Adam([w], lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.6 * steps), int(0.85 * steps)], gamma=0.1)
    for _ in range(steps):
        x = mu + torch.randn(n, dim, generator=gen) @ fc.T
        v1 = x + torch.randn(n, dim, generator=gen) @ fs.T
        v2 = x + torch.randn(n, dim, generator=gen) @ fs.T
        if spec.protocol == "augmented_negatives":
            loss = view_loss(spec.objective, v1 @ w.T, v2 @ w.T, **spec.loss_kwargs())
        else:
            loss = view_loss(spec.objective, x @ w.T, v2 @ w.T, x @ w.T, **spec.loss_kwargs())
        loss = loss + spec.weight_decay * (w * w).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    wn = w.detach().double().numpy()
    ev = np.clip(np.sort(np.linalg.eigvalsh(wn @ moments.cov @ wn.T))[::-1], 0.0, None)
    return _collapse_rank(ev, moments.cov), ev.tolist()


def train_predictive(spec: Spec, optimizer: str, seed: int = 0) -> tuple[int | None, list[float], str]:
    """SimSiam/BYOL with the project's trainer (compare's recipe: 3,000 steps, lr 1e-2 cosine, batch 1024; plain
    SGD with momentum 0 when optimizer='sgd'). Returns (collapse rank, spectrum, status); a run that stops on a
    NaN/Inf loss (plain SGD on an escaping dot-similarity direction) returns (None, [], 'diverged (NaN)')."""
    from sslscape.compare import compare_config
    from sslscape.errors import UserError
    from sslscape.training.loop import train

    cfg = compare_config(spec, seed, optimizer=optimizer)
    if optimizer == "sgd":
        cfg = cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"momentum": 0.0})})
    try:
        result = train(cfg, None)
    except (UserError, RuntimeError, FloatingPointError) as exc:
        if "nan" in str(exc).lower() or "inf" in str(exc).lower() or "finite" in str(exc).lower():
            return None, [], "diverged (NaN)"
        raise
    return int(result.rank), [float(v) for v in result.spectrum], "ok"


# ---- one setting -------------------------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    label: str
    group: str
    objective: str
    spec: dict
    default_order: str
    default_method: str
    default_rank: int              # the theory's own count (dot SimSiam/BYOL: escaping directions)
    default_cut: int               # the predicted spectrum cut by the collapse rule (what agreement compares)
    default_ms: float              # median wall time of a warm `predict(spec)` call
    default_cpu_ms: float          # median CPU time of the same calls
    default_first_ms: float        # the first call in this process (imports, per-N tables)
    quartic_order: str
    quartic_rank: int
    exact_rank: int
    exact_method: str
    exact_seconds: float
    trained_rank: int | None       # Adam (the agreement count); None: the run diverged
    trained_sgd: int | None = None  # SimSiam/BYOL: plain SGD (None: diverged, NaN)
    sgd_status: str = ""
    positive_weight: float | None = None        # p̄ of the default order (learned point)
    exact_positive_weight: float | None = None
    agree: bool = False
    trained_spectrum: list[float] = field(default_factory=list)
    default_spectrum: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    default_rank_max: int = -1     # upper end of the predicted range (seed band, metastable band); −1: not recorded


def _time_default(spec: Spec, repeats: int = 7) -> tuple[Prediction, float, float, float]:
    """The default order's prediction and its time: median warm wall and CPU ms, and the first call's ms — with one
    BLAS thread (threadpoolctl, scikit-learn's dependency) and one torch thread, as the README states: two OpenBLAS
    threads on this 2-core machine while other jobs run made the same NT-Xent solves 3–4× slower in wall and CPU
    time (15–28 ms → 52–128 ms CPU, 2026-12-08)."""
    from threadpoolctl import threadpool_limits

    from sslscape.threads import torch_threads

    with threadpool_limits(limits=1), torch_threads(1):
        t0 = time.perf_counter()
        pred = predict(spec)
        first = time.perf_counter() - t0
    # limits again: threadpoolctl limits the libraries loaded when it is entered, and the first call may load
    # scipy's own OpenBLAS (scipy.linalg / optimize); unlimited, it made a cosine solve 3× slower (37 → 121 ms)
    with threadpool_limits(limits=1), torch_threads(1):
        walls, cpus = [], []
        for _ in range(repeats if first < 1.0 else 1):  # a numerical solve of seconds: one warm call is enough
            t, c = time.perf_counter(), time.process_time()
            predict(spec)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
    return pred, 1e3 * float(np.median(walls)), 1e3 * float(np.median(cpus)), 1e3 * first


def run_setting(setting: Setting, steps: int = 4000) -> Row:
    torch.set_num_threads(1)
    t0 = time.time()
    spec = Spec.model_validate(setting.spec)
    default, default_ms, default_cpu_ms, first_ms = _time_default(spec)
    cut = default.rank  # the predicted spectrum cut by the collapse rule (`Prediction.rank`)
    lo, hi = default.rank_range
    predictive = spec.objective in ("simsiam", "byol")
    quartic = default if predictive else predict(spec, "quartic")  # SimSiam/BYOL: 'quartic' is the exact solver
    te = time.perf_counter()
    exact = predict(spec, order="exact")
    exact_s = time.perf_counter() - te
    sgd, sgd_status = None, ""
    if predictive:
        trained, trained_ev, status = train_predictive(spec, "adam", spec.seed)
        sgd, _, sgd_status = train_predictive(spec, "sgd", spec.seed)
        ok = agreement(default.spectrum, trained if trained is not None else 1, predicted_rank_min=lo,
                       predicted_rank_max=hi).agree
    else:
        trained, trained_ev = train_rank(spec, steps=steps, seed=spec.seed)
        ok = agreement(default.spectrum, trained, predicted_rank_min=lo, predicted_rank_max=hi).agree
    return Row(setting.name, setting.label, setting.group, spec.objective, setting.spec, default.order,
               default.method, default.alive, cut, default_ms, default_cpu_ms, first_ms,
               quartic.order if not predictive else "—", quartic.alive if not predictive else -1, exact.rank,
               exact.method, exact_s, trained, sgd, sgd_status, default.positive_weight, exact.positive_weight, ok,
               list(trained_ev), list(default.spectrum), list(default.notes), time.time() - t0, hi)


def rescore(row: Row) -> Row:
    """`row` with this version's default prediction and time, and the agreement of its stored trained ranks."""
    spec = Spec.model_validate(row.spec)
    default, default_ms, default_cpu_ms, first_ms = _time_default(spec)
    trained = row.trained_rank if row.trained_rank is not None else 1  # a diverged SimSiam/BYOL run escaped
    lo, hi = default.rank_range
    ok = agreement(default.spectrum, trained, predicted_rank_min=lo, predicted_rank_max=hi).agree
    return replace(row, default_order=default.order, default_method=default.method, default_rank=default.alive,
                   default_cut=default.rank, default_ms=default_ms,
                   default_cpu_ms=default_cpu_ms, default_first_ms=first_ms, agree=ok,
                   default_spectrum=list(default.spectrum), notes=list(default.notes),
                   default_rank_max=hi, positive_weight=default.positive_weight)


# ---- report -----------------------------------------------------------------------------------------------------
def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "—" if x is None else format(x, spec)


def _rank(r: int | None) -> str:
    return "diverged" if r is None else str(r)


def explain(row: Row) -> str:
    """Why the default order missed the trained rank (the spectra beside each other)."""
    if row.agree:
        return ""
    parts = [f"default ({row.default_order}) {row.default_cut} vs trained {_rank(row.trained_rank)}",
             f"exact {row.exact_rank}"]
    if row.positive_weight is not None:
        parts.append(f"p̄ = {row.positive_weight:.3f}")
    k = max(row.default_cut, row.trained_rank or 0) + 2
    for label, ev in (("trained", row.trained_spectrum), ("default", row.default_spectrum)):
        if ev and ev[0] > 0:
            parts.append(f"{label} spectrum / top: " + ", ".join(f"{v / ev[0]:.1e}" for v in ev[:k]))
    return "; ".join(parts)


def _machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"{platform.processor() or platform.machine()} ({os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"load average {load[0]:.1f} at the end)")


def write_report(rows: list[Row], path: Path, seconds: float) -> None:
    groups = {"grid": "factor-2 grid", "finite_batch": "finite-batch InfoNCE, large p̄", "predictive": "SimSiam/BYOL"}
    lines = ["# Default `predict` order vs trained rank (`benchmarks/agreement_grid.py`)", "",
             f"Run {date.today().isoformat()} on {_machine()}, {seconds / 60:.0f} min (one process, one thread; the "
             "machine was shared). Trained rank: the collapse rank (docs/metrics.md); agreement: the predicted "
             "spectrum cut by the same rule equals it. Trainer: 4000 Adam steps (lr 1e-2, ×0.1 at 60 % and 85 %), "
             "fresh minibatches of the spec's batch size (256 unless noted); SimSiam/BYOL: the project's trainer "
             "with compare's recipe (Adam, 3000 steps, lr 1e-2 cosine, batch 1024).", ""]
    lines.append("| group | settings | default = trained | exact = trained | quartic = trained | default time "
                 "(median warm, ms wall / CPU) | slowest (ms wall) |")
    lines.append("|---|---|---|---|---|---|---|")
    for g, label in groups.items():
        rs = [r for r in rows if r.group == g]
        if not rs:
            continue
        ok = sum(r.agree for r in rs)
        ex = sum(r.exact_rank == (r.trained_rank if r.trained_rank is not None else 1) for r in rs)
        qu = sum(r.quartic_rank == r.trained_rank for r in rs if r.quartic_rank >= 0)
        qn = sum(r.quartic_rank >= 0 for r in rs)
        lines.append(f"| {label} | {len(rs)} | **{ok}/{len(rs)}** | {ex}/{len(rs)} | "
                     f"{f'{qu}/{qn}' if qn else '—'} | {np.median([r.default_ms for r in rs]):.1f} / "
                     f"{np.median([r.default_cpu_ms for r in rs]):.1f} | {max(r.default_ms for r in rs):.1f} |")
    n, ok = len(rows), sum(r.agree for r in rows)
    lines += ["", f"**Default order = trained: {ok}/{n} ({100 * ok / max(n, 1):.0f} %).** Time per spec of the "
              f"default order (warm, median over settings): {np.median([r.default_ms for r in rows]):.1f} ms wall, "
              f"{np.median([r.default_cpu_ms for r in rows]):.1f} ms CPU; slowest "
              f"{max(r.default_ms for r in rows):.1f} ms; first call in a process median "
              f"{np.median([r.default_first_ms for r in rows]):.0f} ms.", "",
              "| setting | default order (method) | default rank | quartic | exact | trained | p̄ (default / exact) "
              "| ms | agree |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r.name + (f" ({r.label})" if r.label else "")
        pb = f"{_fmt(r.positive_weight)} / {_fmt(r.exact_positive_weight)}"
        shown = str(r.default_cut) if r.default_cut == r.default_rank else f"{r.default_cut} ({r.default_rank})"
        lines.append(f"| {name} | {r.default_order} ({r.default_method}) | {shown} | "
                     f"{r.quartic_rank if r.quartic_rank >= 0 else '—'} | {r.exact_rank} | {_rank(r.trained_rank)} | "
                     f"{pb} | {r.default_ms:.1f} | {'yes' if r.agree else '**no**'} |")
    lines += ["", "Default rank: the predicted spectrum cut by the collapse rule; in brackets the theory's own count "
              "where it differs (dot SimSiam/BYOL: the escaping directions — a run shows the fastest one only).", "",
              "## Misses", ""]
    lines += [f"- **{r.name}**: {explain(r)}" for r in rows if not r.agree] or ["None."]
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, "\n".join(lines) + "\n")
    pred = [r for r in rows if r.group == "predictive"]
    if pred:
        _atomic_write(path.with_name("predictive.md"), predictive_table(pred))


def predictive_table(rows: list[Row]) -> str:
    """SimSiam/BYOL: the closed form vs the integrated dynamics vs training with plain SGD and with Adam."""
    lines = ["# SimSiam / BYOL: closed form vs integrated dynamics vs trained (`benchmarks/agreement_grid.py`)", "",
             f"Run {date.today().isoformat()} on {_machine()}. C = diag(4, 3, 2.5, 2, 1.5, 1, 0.7, 0.5), S = 0.5·I "
             "(lowSNR: S = diag(0.2 … 4)); d = D = 8 unless noted. Closed form: `predict` (order per_direction) at "
             "the trainer's start; integrated: `predict(order='exact')` (full-batch GD from the trainer's own W₀, P₀, "
             "its cosine schedule, 3000 steps); trained: the project's trainer, 3000 steps, lr 1e-2 cosine, batch "
             "1024 — plain SGD (momentum 0) and Adam. Ranks are collapse ranks; for dot similarity a run that "
             "escapes shows rank 1 (Adam) or stops on NaN (SGD, 'diverged'); the closed form's own count of escaping "
             "directions is in brackets; \"range a–b\": the predicted range with the seed band "
             "(docs/theory.md §7).", "",
             "| setting | closed form: rank (γ*₁) | integrated | SGD | Adam | closed form = SGD | = Adam |",
             "|---|---|---|---|---|---|---|"]
    n_sgd = n_adam = 0
    for r in rows:
        crit = ""
        th = None
        try:
            th = predict(Spec.model_validate(r.spec)).thresholds
        except Exception:  # noqa: BLE001 — a report never fails on one row
            th = None
        if th is not None and th.critical_weight_decay:
            crit = f" (γ*₁ = {th.critical_weight_decay[0]:.3g})"
        shown = str(r.default_cut) if r.default_cut == r.default_rank else f"{r.default_cut} [{r.default_rank}]"
        if r.default_rank_max > r.default_cut:
            shown += f", range {r.default_cut}–{r.default_rank_max}"
        integ = "diverged" if r.exact_method == "dynamics_diverged" else str(r.exact_rank)
        ok_sgd = agreement(r.default_spectrum, r.trained_sgd if r.trained_sgd is not None else 1,
                           predicted_rank_max=r.default_rank_max if r.default_rank_max >= 0 else None).agree
        n_sgd += ok_sgd
        n_adam += r.agree
        lines.append(f"| {r.name} | {shown}{crit} | {integ} | {_rank(r.trained_sgd)} | {_rank(r.trained_rank)} | "
                     f"{'yes' if ok_sgd else '**no**'} | {'yes' if r.agree else '**no**'} |")
    lines += ["", f"Closed form = SGD: {n_sgd}/{len(rows)}; closed form = Adam: {n_adam}/{len(rows)} (a diverged "
              "SGD run counts as rank ≥ 1)."]
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def _load(jsonl: Path) -> dict[str, Row]:
    if not jsonl.exists():
        return {}
    rows = {}
    for line in jsonl.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            rows[r["name"]] = Row(**r)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a handful of settings (smoke test)")
    ap.add_argument("--only", default="", help="substring filter on setting names")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--out", type=Path, default=RESULTS / "agreement.md")
    ap.add_argument("--fresh", action="store_true", help="ignore finished rows in the .jsonl")
    ap.add_argument("--report", action="store_true", help="only regenerate the report from the .jsonl")
    ap.add_argument("--rescore", action="store_true",
                    help="re-predict the finished settings (default order and its time) with this version and "
                         "re-apply the agreement rule to their stored trained ranks (nothing is retrained)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    jsonl = args.out.with_suffix(".jsonl")
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    settings = [s for s in (quick_grid() if args.quick else grid()) if args.only in s.name]
    if args.fresh and jsonl.exists():
        jsonl.unlink()
    done = _load(jsonl)
    if args.rescore:
        for s in settings:
            if s.name in done:
                done[s.name] = rescore(done[s.name])
        jsonl.write_text("".join(json.dumps(asdict(r)) + "\n" for r in done.values()))
    elif not args.report:
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
        for i, s in enumerate(settings, 1):
            if s.name in done:
                continue
            row = run_setting(s, args.steps)
            done[row.name] = row
            with jsonl.open("a") as fh:
                fh.write(json.dumps(asdict(row)) + "\n")
            print(f"[{i}/{len(settings)}] {row.name:<36} default {row.default_order} {row.default_cut} "
                  f"exact {row.exact_rank} trained {_rank(row.trained_rank)}"
                  + (f" sgd {_rank(row.trained_sgd)}" if row.group == "predictive" else "")
                  + f" {'ok' if row.agree else 'MISS'} ({row.default_ms:.1f} ms, {row.seconds:.0f} s)", flush=True)
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    ordered = [done[s.name] for s in grid() if s.name in done]
    write_report(ordered, args.out, sum(r.seconds for r in ordered))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
