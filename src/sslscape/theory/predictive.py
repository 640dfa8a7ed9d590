"""SimSiam and BYOL with a linear encoder W (d×D) and a linear predictor P (d×d): the per-eigendirection closed form
(docs/theory.md §7; the approach of Tian, Chen & Ganguli 2021, for sslscape's own losses, which are *linear* in
the prediction: −p·z for dot, −cos(p, z) for cosine).

Population stop-gradient dynamics in gradient time t = Σ lr, weight decay + γ(‖W‖² + ‖P‖²), X = C + μμᵀ:

    dot:      Ẇ = Pᵀ W_t X − 2γ W,   Ṗ = W_t X Wᵀ − 2γ P        (W_t = W for SimSiam, the EMA target A for BYOL,
                                                                Ȧ = κ (W − A), κ = −ln β / lr)
    for every objective and similarity:  PᵀP − WWᵀ = e^{−4γt} (P₀ᵀP₀ − W₀W₀ᵀ)   (conservation law)

Aligned reduction (W = V diag(w) Uᵀ, P = V diag(p) Vᵀ, U = eigenvectors of X, eigenvalues λ_k):

    dot SimSiam   ẇ = (λp − 2γ) w,  ṗ = λw² − 2γp. The nonzero fixed point w = p = 2γ/λ is a saddle: no stable
                  nonzero state — each direction collapses to 0 or escapes to infinity (finite-time blow-up).
                  Exact solution by the time change s = λ(1 − e^{−2γt})/(2γ): direction k escapes iff
                  γ < γ*_k = λ_k / (2 s*(p₀, w₀)),  s* = ∫_{p₀}^∞ dp/(p² − c),  c = p₀² − w₀²
                  (any start, aligned or not: γ* = 1/(2 s*(W₀, P₀)), `matrix_blowup_time`).
    dot BYOL      ẇ = λpa − 2γw, ṗ = λaw − 2γp, ȧ = κ(w − a): the same saddle for every EMA rate; the bracket
                  λ min(w₀, p₀)/2 ≤ γ*_k ≤ λ max(w₀, p₀)/2 holds for every κ (so γ* = λp₀/2 for a balanced
                  start, w₀ = p₀); inside it γ*_k comes from quadrature of the three equations.
    cosine        scale-invariant: weight decay only rescales time (no critical weight decay, the EMA does not
                  move the end state). Mean field (‖p‖, ‖z‖ by their RMS), ρ_k = λ_k/(λ_k + s_k):
                  direction k survives iff ρ_k > r √max(c_k, 0), c_k = p₀² − w₀²,
                  with r fixed by Σ_alive (ρ_k²/r² − c_k) = ‖W₀‖²; survivors have w_k² = ρ_k²/r² − c_k.

The start (w₀, p₀) is the trainer's (`sslscape.training.models`): W₀ ~ init_scale·N(0, 1/D) → w₀² = init_scale²·d/D
per data direction, P₀ = I + 0.1 G/√d → p₀ = 1. Everything is numpy; the closed forms take well under a
millisecond, the BYOL-dot quadrature (only for an unbalanced start, w₀ ≠ p₀) and `matrix_blowup_time` 0.05–0.3 s.
Checked against independent integrations of the reduced and the full matrix dynamics in
tests/theory/test_predictive.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..moments import Moments, moments_of
from ..recipe import LR, start_scale
from ..result import Result
from ..spec import Spec
from ._linalg import basis_diagonal
from .prediction import Prediction, TheoryDeclined, Thresholds, capacity_of, make_prediction

Objective = Literal["simsiam", "byol"]
Similarity = Literal["dot", "cosine"]
Init = Literal["trainer"]



@dataclass(frozen=True, kw_only=True)
class PredictiveResult(Result):
    """What the per-eigendirection theory says about one SimSiam/BYOL problem.

    Modes are the eigenvectors u_k of X = C + μμᵀ in descending eigenvalue order (`mode_variances`, the λ_k);
    `modes` are the ≤ d of them the aligned model uses (the d largest λ for dot, the d largest SNR ρ for cosine).

    surviving               indices k (into `mode_variances`) of the directions that survive: for dot the ones that
                            escape to infinity (the dynamics have no stable nonzero state), for cosine the ones
                            alive at the stationary point (23)
    rank                    len(surviving)
    measured_rank           the collapse-rule rank a run shows: dot → 1 if anything escapes (the fastest direction
                            blows up first and dominates by any number of decades), else 0; cosine → rank
    fate                    'collapse' (W → 0), 'diverge' (dot, some direction escapes), 'stationary' (cosine)
    spectrum                predicted eigenvalues of W C Wᵀ, descending, length d: dot → the shape a run shows
                            when rank ≥ 1 (λ_k of the first direction to blow up, 0 for the others: it dominates
                            them by any number of decades), all 0 when everything collapses; cosine → λ_k w_k² in
                            the rescaled frame (21), i.e. the shape — the overall scale decays as e^{−4γt}
    critical_weight_decay   per entry of `modes`: γ*_k (dot; None where the direction never escapes) — None for
                            cosine (no critical weight decay exists, §5.2)
    saddle                  dot: the unstable nonzero fixed point w* = p* = 2γ/λ_k per mode, as λ_k w*² (11)
    """

    objective: str
    similarity: str
    mode_variances: tuple[float, ...]
    modes: tuple[int, ...]
    surviving: tuple[int, ...]
    rank: int
    measured_rank: int
    fate: str
    spectrum: tuple[float, ...]
    critical_weight_decay: tuple[float | None, ...]
    snr: tuple[float, ...] = ()
    saddle: tuple[float, ...] = ()
    ema_rate: float | None = None
    init_w0: tuple[float, ...] = ()
    init_p0: float = 1.0
    r: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    seed_band: tuple[int, int, int] | None = None  # cosine: alive count at the 2.5/50/97.5 % random start


# ---------------------------------------------------------------------------------------------------------------
# dot similarity, SimSiam: exact closed forms (13)–(15)
# ---------------------------------------------------------------------------------------------------------------
def blowup_time(p0: float | np.ndarray, w0: float | np.ndarray) -> np.ndarray:
    """s*(p₀, w₀) = ∫_{p₀}^∞ dp / (p² − c), c = p₀² − w₀²: blow-up time of dw/ds = pw, dp/ds = w² (13).

    c > 0 (p₀ > 0):  artanh(√c / p₀) / √c;   c = 0:  1/p₀;   c < 0:  (π/2 − arctan(p₀ / √−c)) / √−c.
    Infinite when the direction can never grow (w₀ = 0, or p₀ ≤ 0 with c ≥ 0).
    """
    p0 = np.asarray(p0, dtype=float)
    w0 = np.abs(np.asarray(w0, dtype=float))
    p0, w0 = np.broadcast_arrays(p0, w0)
    c = p0 * p0 - w0 * w0
    out = np.full(p0.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = (c > 1e-14 * np.maximum(p0 * p0, 1e-300)) & (p0 > 0) & (w0 > 0)
        rc = np.sqrt(np.where(pos, c, 1.0))
        out = np.where(pos, np.arctanh(np.minimum(rc / np.where(p0 > 0, p0, 1.0), 1 - 1e-16)) / rc, out)
        neg = c < -1e-14 * np.maximum(w0 * w0, 1e-300)
        rn = np.sqrt(np.where(neg, -c, 1.0))
        out = np.where(neg, (0.5 * np.pi - np.arctan(p0 / rn)) / rn, out)
        zero = ~pos & ~neg & (p0 > 0) & (w0 > 0)
        out = np.where(zero, 1.0 / np.where(p0 > 0, p0, 1.0), out)
    return out


def escape_time(lam: np.ndarray, gamma: float, p0: float, w0: np.ndarray) -> np.ndarray:
    """Gradient time t* at which dot-SimSiam direction k blows up: λ(1 − e^{−2γt*})/(2γ) = s*(p₀, w₀) (12), i.e.
    t* = −ln(1 − 2γ s*/λ)/(2γ) (t* = s*/λ at γ = 0); inf where it never escapes. For BYOL an estimate (the EMA
    target lags: later)."""
    lam = np.asarray(lam, float)
    s_star = blowup_time(p0, w0) * np.ones_like(lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(lam > 0, s_star / np.where(lam > 0, lam, 1.0), np.inf)
        if gamma <= 0:
            return x
        arg = 1.0 - 2.0 * gamma * x
        return np.where(arg > 0, -np.log(np.where(arg > 0, arg, 1.0)) / (2.0 * gamma), np.inf)


def simsiam_dot_critical_weight_decay(lam: np.ndarray, p0: float, w0: np.ndarray,
                                      horizon: float | None = None) -> np.ndarray:
    """γ*_k = λ_k / (2 s*) (14); with a finite horizon T the root of λ(1 − e^{−2γT})/(2γ) = s* (15).

    inf when s* = 0 is impossible; 0 where the direction cannot escape at all (λ ≤ 0 or s* = ∞), or cannot
    escape within T even at γ = 0 (λT < s*).
    """
    lam = np.asarray(lam, dtype=float)
    s_star = blowup_time(p0, w0) * np.ones_like(lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where((lam > 0) & np.isfinite(s_star), lam / (2.0 * s_star), 0.0)
    if horizon is None:
        return g
    out = np.zeros_like(g)
    for i, (l, s) in enumerate(zip(lam, s_star, strict=True)):
        if l <= 0 or not np.isfinite(s) or l * horizon <= s:
            continue
        f = lambda gam, l=l, s=s: l * (-math.expm1(-2 * gam * horizon)) / (2 * gam) - s  # noqa: E731 (decreasing)
        lo, hi = 1e-300, g[i]            # f(hi) ≤ 0 since 1 − e^{−x} < 1; f(0⁺) = lT − s > 0
        for _ in range(200):
            mid = 0.5 * (lo + hi) if lo > 0 else hi / 2
            if f(mid) > 0:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-13 * hi:
                break
        out[i] = 0.5 * (lo + hi)
    return out


# ---------------------------------------------------------------------------------------------------------------
# dot similarity, BYOL: quadrature of (16)
# ---------------------------------------------------------------------------------------------------------------
def byol_dot_escapes(lam: np.ndarray, gamma: np.ndarray, kappa: float, p0: float, w0: np.ndarray,
                     horizon: float | None = None, max_steps: int = 20000, settle: int | None = None,
                     step: float = 0.1) -> np.ndarray:
    """Fate of each (λ, γ) pair under ẇ = λpa − 2γw, ṗ = λaw − 2γp, ȧ = κ(w − a), (w, p, a)(0) = (w₀, p₀, w₀).

    Returns +1 escaped, −1 collapsed, 0 undecided (within `horizon`, or `max_steps` steps). Vectorised: RK4 for
    (w, p) with a per-element step h = `step` / (λ·max(p, |a|, |w|) + 2γ); inside a step the target a follows the
    exact solution of ȧ = κ(w − a) for a linearly moving w (stiff for large κ). κ = inf is SimSiam (a ≡ w).
    `settle`: inputs of shape (rows, grid) — stop once every row has at most `settle` undecided pairs (a γ grid
    only needs its escape/collapse boundary; the pairs next to γ* decide last, by critical slowing down).
    """
    rows = np.shape(gamma)[0] if settle is not None else 0
    lam, gamma, w0 = np.broadcast_arrays(np.asarray(lam, float), np.asarray(gamma, float),
                                         np.asarray(w0, float))
    lam, gamma, w0 = lam.ravel().copy(), gamma.ravel().copy(), np.abs(w0.ravel().copy())
    n = lam.size
    w, p, a = w0.copy(), np.full(n, float(p0)), w0.copy()
    t = np.zeros(n)
    fate = np.zeros(n, dtype=int)
    fate[(lam <= 0) | (w0 == 0)] = -1
    simsiam = not np.isfinite(kappa)
    T = np.inf if horizon is None else float(horizon)

    def rhs(w_, p_, a_):
        tgt = w_ if simsiam else a_
        return lam * p_ * tgt - 2 * gamma * w_, lam * tgt * w_ - 2 * gamma * p_

    def follow(a_, w_, slope, tau):
        """a(τ) solving ȧ = κ(w_n + slope·τ − a) exactly: the target trails a linearly moving w by slope/κ
        (stable and accurate when κ is large, where plain RK4 would need h < 1/κ)."""
        if simsiam:
            return w_ + slope * tau
        e = np.exp(-kappa * tau)
        return w_ + slope * tau - slope / kappa * (1 - e) + (a_ - w_) * e

    for _ in range(max_steps):
        live = fate == 0
        if not live.any():
            break
        scale = lam * np.maximum.reduce([np.abs(p), np.abs(a), np.abs(w)]) + 2 * gamma
        h = np.where(live, step / np.maximum(scale, 1e-300), 0.0)
        h = np.minimum(h, np.maximum(T - t, 0.0))
        k1 = rhs(w, p, a)
        k2 = rhs(w + 0.5 * h * k1[0], p + 0.5 * h * k1[1], follow(a, w, k1[0], 0.5 * h))
        k3 = rhs(w + 0.5 * h * k2[0], p + 0.5 * h * k2[1], follow(a, w, k2[0], 0.5 * h))
        k4 = rhs(w + h * k3[0], p + h * k3[1], follow(a, w, k3[0], h))
        w_new = w + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        p = p + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        a = w_new if simsiam else follow(a, w, (w_new - w) / np.where(h > 0, h, 1.0), h)
        w = w_new
        t = t + h
        m = np.maximum.reduce([np.abs(p), np.abs(w), np.abs(a)])
        # escape is certain in R = {λa > 2γ, λp > 2γ, w ≥ a}: R is forward-invariant and w + p grows at rate
        # ≥ λa − 2γ > 0 there (derivation §4.3)
        up = live & (lam * a > 2 * gamma) & (lam * p > 2 * gamma) & (w >= a) & (w > 0)
        # collapse is certain once λ·max(p, |w|, |a|) < 2γ: the largest of the three then decreases (§4.3)
        down = live & ((lam * m < 2 * gamma) | (m < 1e-30))
        fate[up] = 1
        fate[down & ~up] = -1
        fate[live & (t >= T) & (fate == 0)] = 0
        if horizon is not None and np.all((fate != 0) | (t >= T)):
            break
        if settle is not None and np.all(np.sum((fate == 0).reshape(rows, -1), axis=1) <= settle):
            break
    return fate


def byol_dot_critical_weight_decay(lam: np.ndarray, kappa: float, p0: float, w0: np.ndarray,
                                   horizon: float | None = None, rounds: int = 3, grid: int = 16,
                                   max_steps: int = 4000) -> np.ndarray:
    """γ*_k of (16) by a vectorised grid refinement in γ (escape is monotone in γ, checked in tests).

    Bracketed by the closed-form bounds λ min(p₀, w₀)/2 ≤ γ* ≤ λ max(p₀, w₀)/2 (§4.3: escape and collapse are
    certain from the start outside them); each of `rounds` rounds integrates a `grid`-point grid until at most one
    point per direction is undecided and keeps the bracket between the last escape and the first collapse. RK4
    step 0.3 (not the fate call's 0.1): measured 2.6e-4 relative from the converged γ*, 3× faster (2026-12-01).
    """
    lam = np.asarray(lam, float)
    w0 = np.broadcast_to(np.abs(np.asarray(w0, float)), lam.shape)
    lo = lam * np.minimum(w0, p0) / 2
    hi = lam * np.maximum(w0, p0) / 2
    open_ = np.flatnonzero((hi > lo * (1 + 1e-12)) & (lam > 0))  # a balanced start (w₀ = p₀) needs no quadrature
    for _ in range(rounds if open_.size else 0):
        gs = lo[open_, None] + (hi - lo)[open_, None] * np.linspace(0, 1, grid + 2)[None, 1:-1]
        fate = byol_dot_escapes(np.repeat(lam[open_, None], grid, 1), gs, kappa, p0,
                                np.repeat(w0[open_, None], grid, 1), horizon, max_steps, settle=1,
                                step=0.3).reshape(gs.shape)
        for j, i in enumerate(open_):  # γ* lies between the last escape and the first collapse (monotone in γ)
            esc, col = np.flatnonzero(fate[j] == 1), np.flatnonzero(fate[j] == -1)
            lo[i] = gs[j, esc.max()] if esc.size else lo[i]
            hi[i] = gs[j, col.min()] if col.size else hi[i]
    return np.where(lam > 0, 0.5 * (lo + hi), 0.0)


# ---------------------------------------------------------------------------------------------------------------
# cosine similarity: mean-field stationary state (23)–(24)
# ---------------------------------------------------------------------------------------------------------------
def cosine_mean_field_state(rho: np.ndarray, c: np.ndarray, norm_w: float) -> tuple[np.ndarray, float]:
    """Alive set and r of (24): alive iff ρ_k > r √max(c_k, 0), Σ_alive (ρ_k²/r² − c_k) = ‖W₀‖².

    The left side decreases in r and the alive set {ρ_k/√c_k > r} shrinks with r, so the solution is unique: try
    the n directions with the largest ρ_k/√c_k (directions with c_k ≤ 0 always in) for n = all … 1.
    Returns (w² per mode, r); collapsed modes get w² = 0.
    """
    rho, c = np.asarray(rho, float), np.asarray(c, float)
    forced = c <= 0
    with np.errstate(divide="ignore"):
        margin = np.where(forced, np.inf, rho / np.sqrt(np.where(forced, 1.0, c)))  # alive iff ρ/√c > r
    order = np.lexsort((-rho, -margin))  # forced-alive first, then by decreasing ρ/√c (ties: by ρ)
    for n in range(rho.size, 0, -1):
        alive = np.zeros(rho.size, bool)
        alive[order[:n]] = True
        denom = norm_w + float(np.sum(c[alive]))
        if denom <= 0:
            continue
        r = math.sqrt(float(np.sum(rho[alive] ** 2)) / denom)
        implied = forced | (rho > r * np.sqrt(np.clip(c, 0, None)))
        if np.array_equal(implied, alive):
            return np.where(alive, np.clip(rho**2 / r**2 - c, 0.0, None), 0.0), r
    return np.zeros_like(rho), float("nan")  # unreachable for norm_w > 0 (kept as a safe answer)


def cosine_alive_counts(rho: np.ndarray, p0: float, w0_sq: np.ndarray) -> np.ndarray:
    """Alive counts of the mean-field state (24) for many starts at once: `w0_sq` (S, n) holds w₀² of each of the
    n modes (ρ as in `cosine_mean_field_state`) for S starts; returns S counts (−1 where no consistent alive set
    exists). The same search as `cosine_mean_field_state` — forced-alive modes (c ≤ 0) first, then by the margin
    ρ/√c; the largest consistent prefix wins — in one pass: with the modes sorted by margin, the prefix of length k
    has r_k² = Σ_{≤k} ρ² / (‖W₀‖² + Σ_{≤k} c) (cumulative sums) and is consistent iff its last margin exceeds r_k
    and the next one does not. O(S·n) work and memory."""
    rho = np.asarray(rho, float)[None, :]
    w0_sq = np.atleast_2d(np.asarray(w0_sq, float))
    c = p0**2 - w0_sq
    forced = c <= 0
    with np.errstate(divide="ignore"):
        margin = np.where(forced, np.inf, rho / np.sqrt(np.where(forced, 1.0, c)))  # alive iff ρ/√c > r
    order = np.argsort(-margin, axis=1, kind="stable")
    m_sorted = np.take_along_axis(margin, order, 1)
    denom = w0_sq.sum(1, keepdims=True) + np.cumsum(np.take_along_axis(c, order, 1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(np.cumsum(np.take_along_axis(np.broadcast_to(rho**2, c.shape), order, 1), 1) / denom)
    nxt = np.concatenate([m_sorted[:, 1:], np.full((c.shape[0], 1), -np.inf)], 1)
    ok = (denom > 0) & (m_sorted > r) & (nxt <= r)
    k = np.arange(1, c.shape[1] + 1)[None, :]
    return np.where(ok.any(1), np.max(np.where(ok, k, 0), 1), -1)


INIT_SAMPLES = 512  # random starts drawn for the cosine seed band (fixed seed: the answer is deterministic)


def cosine_seed_band(rho: np.ndarray, p0: float, init_scale: float, d: int, dim: int,
                     samples: int = INIT_SAMPLES) -> tuple[int, int, int]:
    """(2.5 %, 50 %, 97.5 %) quantiles of the cosine mean-field alive count over the trainer's random starts.

    Along orthonormal data directions u_k the columns W₀u_k of W₀ ~ init_scale · N(0, 1/D) are independent
    N(0, init_scale²/D · I_d), so each mode's w₀² is an independent init_scale²/D · χ²_d: a mode that starts below
    the predictor (c_k = p₀² − w₀² > 0) needs ρ_k > r √c_k, so at low signal-to-noise the alive set depends on the
    seed. Measured (compare sweep, C = diag(4 … 0.1), S = 0.5 I): the typical start keeps all 8 directions, the
    median start 7, and every trained seed (SGD and Adam) 7.
    """
    rng = np.random.default_rng(0)
    w0_sq = init_scale**2 * rng.chisquare(d, size=(samples, len(rho))) / dim
    counts = cosine_alive_counts(rho, p0, w0_sq)
    counts = counts[counts >= 0]
    if counts.size == 0:
        return (0, 0, 0)
    lo, med, hi = np.quantile(counts, [0.025, 0.5, 0.975], method="nearest")
    return int(lo), int(med), int(hi)


# ---------------------------------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------------------------------
def ema_rate(ema_decay: float, lr: float) -> float:
    """κ = −ln β / lr: A_{n+1} = β A_n + (1 − β) W_n is A(t) relaxing to W at rate κ in t = lr·n (6)."""
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
    return math.inf if ema_decay == 0.0 else -math.log(ema_decay) / lr


def init_scales(init: Init, init_scale: float, cov: np.ndarray, d: int, dim: int) -> float:
    """w₀²: the squared norm ‖W₀u_k‖² of the encoder along one data eigenvector (what the aligned model calls w_k)
    at the trainer's start W₀ ~ init_scale · N(0, 1/D): its mean is init_scale² · d/D (d rows of variance
    init_scale²/D); the spread between seeds is ±√(2/d) relative."""
    if init != "trainer":
        raise ValueError(f"init must be 'trainer', got {init!r}")
    return init_scale**2 * d / dim


INIT_QUANTILE = 0.975  # the seed band of dot SimSiam/BYOL: starts up to this quantile of the trainer's w₀ law


def init_w0_quantile(init_scale: float, d: int, dim: int, q: float = INIT_QUANTILE) -> float:
    """w₀ = ‖W₀u‖ of the trainer's start at quantile q over seeds (u a unit data direction).

    W₀ ~ init_scale · N(0, 1/D) of shape d × D gives W₀u ~ N(0, init_scale²/D · I_d) exactly, so
    ‖W₀u‖² = init_scale²/D · χ²_d and its q-quantile is init_scale² · 2 P⁻¹(d/2, q) / D (P⁻¹ the inverse
    regularised lower incomplete gamma function). The mean, init_scale² d/D, is `init_scales`.
    """
    from scipy.special import gammaincinv  # where used: importing the theory stays cheap

    return init_scale * math.sqrt(2.0 * float(gammaincinv(d / 2.0, q)) / dim)


def dot_escapes_from(res: PredictiveResult, weight_decay: float, w0: float,
                     horizon: float | None = None) -> np.ndarray:
    """Which of `res.modes` escape (bool per mode) under dot SimSiam/BYOL at `weight_decay` when every mode
    starts at w₀ (the same closed form (14) or quadrature (16) as `predictive_fixed_points`)."""
    lam = np.asarray(res.mode_variances)[list(res.modes)]
    w = np.full(lam.shape, float(w0))
    if res.ema_rate is None or not np.isfinite(res.ema_rate):
        return weight_decay < simsiam_dot_critical_weight_decay(lam, res.init_p0, w, horizon)
    return byol_dot_escapes(lam, np.full(lam.shape, float(weight_decay)), res.ema_rate, res.init_p0, w,
                            horizon) == 1


def predictive_fixed_points(cov: np.ndarray, noise_cov: np.ndarray | None = None, weight_decay: float = 0.0,
                            objective: Objective = "simsiam", similarity: Similarity = "dot",
                            ema_decay: float = 0.99, embed_dim: int | None = None, lr: float | None = None, *,
                            mean: np.ndarray | None = None, init: Init = "trainer", init_scale: float = 1.0,
                            p0: float = 1.0, w0: float | np.ndarray | None = None,
                            horizon: float | None = None) -> PredictiveResult:
    """Per-eigendirection fate of SimSiam/BYOL, linear encoder and predictor (module docstring, docs/theory.md §7).

    cov, noise_cov  C and S (vectors are diagonals); S = noise_scale · noise_cov as in `moments_of`
    weight_decay    γ of + γ(‖W‖² + ‖P‖²)
    ema_decay, lr   BYOL's per-step EMA β and the step size; κ = −ln β / lr (6). lr defaults to the trainer's
                    (compare's recipe, sslscape.recipe.LR) when BYOL needs it
    init, init_scale, p0, w0
                    the initial state of each direction: p₀ (predictor eigenvalue, default 1 = the identity) and
                    w₀ (‖W₀u_k‖ along each data eigenvector; default from the preset, see `init_scales`)
    horizon         total gradient time T = Σ lr of the run (None: t → ∞); dot only — directions that would
                    escape after T are reported as collapsed
    """
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    if cov.shape[0] == 1 and cov.shape[1] > 1:
        cov = np.diag(cov.ravel())
    dim = cov.shape[0]
    noise = np.zeros((dim, dim)) if noise_cov is None else np.asarray(noise_cov, dtype=float)
    if noise.ndim == 1:
        noise = np.diag(noise)
    if objective not in ("simsiam", "byol"):
        raise ValueError(f"objective must be 'simsiam' or 'byol', got {objective!r}")
    if similarity not in ("dot", "cosine"):
        raise ValueError(f"similarity must be 'dot' or 'cosine' (euclidean is not covered), got {similarity!r}")
    d = int(embed_dim or dim)
    gamma = float(weight_decay)
    mu = np.zeros(dim) if mean is None else np.asarray(mean, float)
    x2 = cov + np.outer(mu, mu)
    x2 = (x2 + x2.T) / 2
    # eigenbasis of X that also diagonalises S inside degenerate eigenspaces of X (when they commute): a tiny
    # multiple of S splits the degeneracy without moving non-degenerate eigenvectors measurably
    tilt = 1e-6 * max(np.abs(x2).max(initial=0.0), 1e-300) / max(np.abs(noise).max(initial=0.0), 1e-300)
    _, u = np.linalg.eigh(x2 + tilt * (noise + noise.T) / 2 if noise.any() else x2)
    lam = basis_diagonal(u, x2)
    order = np.argsort(-lam, kind="stable")
    lam, u = np.clip(lam[order], 0.0, None), u[:, order]
    n = min(d, dim)
    notes: list[str] = []
    if w0 is None:
        w0_modes = np.full(dim, math.sqrt(init_scales(init, init_scale, cov, d, dim)))
    else:
        w0_modes = np.broadcast_to(np.abs(np.asarray(w0, float)), (dim,)).copy()
    if mu.any():
        notes.append("non-zero mean: the dynamics use X = C + μμᵀ and its eigenbasis; the spectrum is eig(W C Wᵀ)")
    kappa = None
    if objective == "byol":
        kappa = ema_rate(ema_decay, lr if lr is not None else LR)

    if similarity == "dot":
        modes = np.arange(n)  # the n largest λ of X
        lam_m, w0_m = lam[modes], w0_modes[modes]
        if objective == "simsiam" or (kappa is not None and not np.isfinite(kappa)):
            crit = simsiam_dot_critical_weight_decay(lam_m, p0, w0_m, horizon)
            escapes = gamma < crit
        else:
            crit = byol_dot_critical_weight_decay(lam_m, kappa, p0, w0_m, horizon)
            # a balanced start (w₀ = p₀, t → ∞): γ*_k = λ_k p₀/2 exactly (the bracket closes), so the fate is
            # γ < γ*_k without quadrature — at γ = γ*_k the flow stays at its start (an unstable fixed point), which
            # the integration could only report as undecided after max_steps (seconds); the rest is integrated
            fate = np.where(gamma < crit, 1, -1)
            todo = np.ones(n, bool) if horizon is not None else np.abs(w0_m - p0) > 1e-12 * max(p0, 1.0)
            if todo.any():
                fate[todo] = byol_dot_escapes(lam_m[todo], np.full(int(todo.sum()), gamma), kappa, p0, w0_m[todo],
                                              horizon)
            tie = ~todo & (lam_m > 0) & (gamma == crit)
            if tie.any():
                notes.append(f"directions {modes[tie].tolist()} sit exactly at their threshold (γ = γ*_k = λ_k p₀/2 "
                             "from a balanced start): the flow stays at its start, reported as collapsed")
            escapes = fate == 1
            if np.any(fate == 0):
                notes.append(f"directions {modes[fate == 0].tolist()} undecided within the horizon "
                             "(reported as collapsed)")
            if np.any(escapes != (gamma < crit)):
                notes.append("grid threshold and direct quadrature disagree (γ within grid resolution of γ*)")
        surv = tuple(int(k) for k in modes[escapes])
        rank = len(surv)
        spectrum = np.zeros(d)
        if rank:  # what a run shows: the first direction to blow up dominates the others by any number of decades
            t_star = escape_time(lam_m, gamma, p0, w0_m)
            spectrum[0] = lam_m[int(np.argmin(np.where(escapes, t_star, np.inf)))]
        saddle = 4 * gamma**2 / np.where(lam_m > 0, lam_m, np.inf)
        notes.append("dot similarity: the nonzero fixed point w = p = 2γ/λ is a saddle; no direction has a stable "
                     "nonzero state — escaping directions grow without bound (finite-time blow-up in the flow), "
                     "so SGD/GD runs diverge when rank ≥ 1")
        if noise.any():
            notes.append("dot similarity: the augmentation noise S does not enter the population dynamics")
        crit_out = tuple(float(g) if g > 0 else None for g in crit)
        return PredictiveResult(objective=objective, similarity=similarity, mode_variances=tuple(map(float, lam)),
                                modes=tuple(int(k) for k in modes), surviving=surv, rank=rank,
                                measured_rank=int(rank > 0), fate="diverge" if rank else "collapse",
                                spectrum=tuple(spectrum.tolist()), critical_weight_decay=crit_out, snr=(),
                                saddle=tuple(map(float, saddle)), ema_rate=None if kappa is None else float(kappa),
                                init_w0=tuple(map(float, w0_m)), init_p0=float(p0), r=None, notes=tuple(notes))

    # ---- cosine (mean field) ----
    su = u.T @ noise @ u
    off = su - np.diag(np.diag(su))
    if np.abs(off).max(initial=0.0) > 1e-8 * max(np.abs(su).max(initial=0.0), 1e-300):
        notes.append("C and S do not share eigenvectors: the aligned reduction is an approximation (S replaced by "
                     "its diagonal in the eigenbasis of C)")
    s_k = np.clip(np.diag(su), 0.0, None)
    sig = lam + s_k
    rho = np.where(sig > 0, lam / np.where(sig > 0, sig, 1.0), 0.0)
    modes = np.lexsort((-lam, -rho))[:n]  # the n most informative (largest ρ; ties by λ)
    c_m = p0**2 - w0_modes[modes] ** 2
    norm_w = float(np.sum(w0_modes[modes] ** 2))
    w2, r = cosine_mean_field_state(rho[modes], c_m, norm_w)
    alive = w2 > 0
    band = None
    if w0 is None:  # the trainer's random start: the seed band of the alive count
        band = cosine_seed_band(rho[modes], p0, init_scale, d, dim)
        if band[1] < int(alive.sum()):  # the median start keeps fewer: drop the least informative survivors
            drop = modes[alive][np.argsort(rho[modes][alive], kind="stable")][: int(alive.sum()) - band[1]]
            w2 = np.where(np.isin(modes, drop), 0.0, w2)
            alive = w2 > 0
            notes.append(f"seed band: over the trainer's random starts the mean-field state keeps {band[0]}–{band[2]} "
                         f"directions (median {band[1]}; the typical start keeps {len(drop) + band[1]}): the median "
                         f"is the answer, the 97.5 % start the range's upper end (docs/theory.md §7)")
    w_full = np.zeros((d, dim))
    w_full[np.arange(n), :] = (np.sqrt(w2)[:, None] * u[:, modes].T)
    spectrum = np.sort(np.clip(np.linalg.eigvalsh(w_full @ cov @ w_full.T), 0.0, None))[::-1]
    surv = tuple(int(k) for k in modes[alive])
    notes.append("cosine similarity: scale-invariant, weight decay only rescales time in the flow (no critical "
                 "weight decay); the alive set depends on the initialisation through c_k = p₀² − w₀² and ‖W₀‖²")
    notes.append("cosine: mean-field norms (‖p‖, ‖z‖ replaced by their RMS); exact Gaussian expectations shift "
                 "thresholds by O(1/d) (docs/theory.md §7)")
    if objective == "byol":
        notes.append("cosine BYOL: the stationary states and conserved quantities equal SimSiam's; the EMA rate "
                     "changes the path, not the mean-field answer")
    return PredictiveResult(objective=objective, similarity=similarity, mode_variances=tuple(map(float, lam)),
                            modes=tuple(int(k) for k in modes), surviving=surv, rank=len(surv),
                            measured_rank=len(surv), fate="stationary", spectrum=tuple(spectrum.tolist()),
                            critical_weight_decay=tuple(None for _ in modes), snr=tuple(map(float, rho)), saddle=(),
                            ema_rate=None if kappa is None else float(kappa),
                            init_w0=tuple(map(float, w0_modes[modes])), init_p0=float(p0), r=float(r),
                            notes=tuple(notes), seed_band=band)


def _not_covered(spec: Spec) -> str | None:
    """Why the per-direction closed form does not apply to `spec` (one phrase), or None when it does. (depth > 1, a
    bias and a normalisation are `Spec.theory_gaps`, refused by `predict` before this is asked.)"""
    if spec.objective not in ("simsiam", "byol"):
        return f"objective {spec.objective}: the per-direction closed form is SimSiam's and BYOL's"
    if spec.similarity not in ("dot", "cosine"):
        return (f"similarity {spec.similarity}: the per-direction closed form covers dot and cosine (the euclidean "
                "loss is not linear in the prediction)")
    if spec.similarity == "cosine" and spec.protocol == "clean_negatives":
        return ("cosine similarity with a clean anchor: the mean-field closed form assumes two equally noisy views "
                "(the normalisation sees the noise)")
    return None


def from_spec(spec: Spec, moments: Moments | None = None, *, lr: float | None = None, init: Init = "trainer",
              init_scale: float | None = None, horizon: float | None = None) -> PredictiveResult:
    """`predictive_fixed_points` of a spec at the trainer's start (`init_scale` default: the spec's, else the
    recipe's — `sslscape.recipe.start_scale`); TheoryDeclined for specs not covered."""
    reason = _not_covered(spec)
    if reason is not None:
        raise TheoryDeclined(reason)
    m = moments if moments is not None else moments_of(spec)
    sim = spec.similarity
    return predictive_fixed_points(m.cov, m.noise_cov, spec.weight_decay, spec.objective, sim, spec.ema_decay,
                                   spec.embed_dim, lr, mean=m.mean, init=init,
                                   init_scale=start_scale(spec) if init_scale is None else init_scale,
                                   horizon=horizon)


# ---------------------------------------------------------------------------------------------------------------
# dot SimSiam, any initialisation: the matrix version of (12)–(14)
# ---------------------------------------------------------------------------------------------------------------
def matrix_blowup_time(w0: np.ndarray, p0: np.ndarray, x: np.ndarray, rtol: float = 1e-6,
                       max_steps: int = 200000) -> float:
    """Blow-up time s* of the weight-decay-free flow dŴ/ds = P̂ᵀŴX, dP̂/ds = ŴXŴᵀ from (W₀, P₀) (12m).

    With weight decay γ the dot-SimSiam flow is exactly this flow run up to s = (1 − e^{−2γt})/(2γ) and scaled by
    e^{−2γt}, so W escapes iff s* < 1/(2γ): γ* = 1/(2 s*) for this initialisation, no alignment assumed.
    RK4 in s with step h = 0.05 / (‖X‖₂ (‖P̂‖_F + ‖Ŵ‖_F)); s* is read off where ‖Ŵ‖ reaches 1e6 ‖W₀‖·max(1, ‖P₀‖)
    and extrapolated with the 1/(s* − s) law of the final blow-up. Returns inf if the flow does not blow up.
    """
    w, p = np.array(w0, float), np.array(p0, float)
    xs = (np.asarray(x, float) + np.asarray(x, float).T) / 2
    xn = float(np.abs(np.linalg.eigvalsh(xs)).max(initial=0.0))
    if xn == 0 or not np.any(w):
        return math.inf
    big = 1e6 * np.linalg.norm(w) * max(1.0, np.linalg.norm(p))
    f = lambda w_, p_: (p_.T @ w_ @ xs, w_ @ xs @ w_.T)  # noqa: E731
    s = 0.0
    for _ in range(max_steps):
        nw, npn = math.sqrt(float(np.sum(w * w))), math.sqrt(float(np.sum(p * p)))  # Frobenius ≥ spectral
        h = 0.05 / (xn * (npn + nw) + 1e-300)
        k1 = f(w, p)
        k2 = f(w + 0.5 * h * k1[0], p + 0.5 * h * k1[1])
        k3 = f(w + 0.5 * h * k2[0], p + 0.5 * h * k2[1])
        k4 = f(w + h * k3[0], p + h * k3[1])
        w = w + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        p = p + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        s += h
        if np.linalg.norm(w) > big:
            # near blow-up ‖Ŵ‖ ~ ‖P̂‖ ~ 1/(λ₁(s* − s)) along the leading direction: remaining time ≈ 1/(λ₁‖P̂‖)
            lead = float(np.linalg.norm(p, 2))
            return s + 1.0 / (xn * lead)  # O(1e-6) of s*: the final stretch of a 1/(s* − s) blow-up
        if not np.isfinite(w).all():
            return s
    return math.inf


# ---------------------------------------------------------------------------------------------------------------
# the solver table's rows 'stop_gradient' (SimSiam; BYOL cosine) and 'stop_gradient_ema' (BYOL dot: a quadrature
# per direction): covers, prediction, thresholds, knob_changes (sslscape.theory.solvers)
# ---------------------------------------------------------------------------------------------------------------
def covers(spec: Spec, moments: Moments | None = None) -> str | None:
    """None when the closed form covers `spec` without a quadrature (SimSiam; cosine BYOL), else why not."""
    if spec.objective == "byol" and spec.similarity == "dot":
        return "BYOL with dot similarity: its escape thresholds need a quadrature (row stop_gradient_ema)"
    return _not_covered(spec)


def covers_ema(spec: Spec, moments: Moments | None = None) -> str | None:
    """None for BYOL with dot similarity (γ*_k by quadrature per direction), else why not."""
    if spec.objective != "byol" or spec.similarity != "dot":
        return "the EMA-target quadrature is BYOL's with dot similarity"
    return _not_covered(spec)


def _thresholds_of(spec: Spec, res: PredictiveResult) -> Thresholds:
    if res.similarity == "cosine":  # the flow's end state does not depend on γ (it only rescales time)
        return Thresholds(kind="mean_field", order="per_direction", critical_weight_decay=(),
                          critical_noise_scale=None)
    crit = tuple(sorted((g for g in res.critical_weight_decay if g is not None), reverse=True))
    balanced = all(abs(w - res.init_p0) <= 1e-12 * max(res.init_p0, 1.0) for w in res.init_w0)
    exact = spec.objective == "simsiam" or balanced or res.ema_rate is None or not np.isfinite(res.ema_rate)
    bracket = None
    if spec.objective == "byol":
        lam = np.asarray(res.mode_variances)[list(res.modes)]
        bracket = tuple((float(lv * min(w, res.init_p0) / 2), float(lv * max(w, res.init_p0) / 2))
                        for lv, w in zip(lam, res.init_w0, strict=True))
    return Thresholds(kind="escape" if exact else "escape_estimate", order="per_direction", critical_weight_decay=crit,
                      critical_weight_decay_range=bracket, critical_noise_scale=())


def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """Dot: γ*_k, the weight decay below which direction k escapes (BYOL: with its bracket); cosine: none (γ only
    rescales time)."""
    return _thresholds_of(spec, from_spec(spec, moments))


thresholds_ema = thresholds


def _band_w0(spec: Spec, res: PredictiveResult, dim: int, d: int) -> float:
    """The start at the upper end of the seed band: w₀ at quantile 1 − (1 − INIT_QUANTILE)/n of its law for each of
    the n modes (a union bound: the chance that any mode starts above it is at most 1 − INIT_QUANTILE)."""
    return init_w0_quantile(start_scale(spec), d, dim, 1.0 - (1.0 - INIT_QUANTILE) / max(len(res.modes), 1))


def _seed_band(spec: Spec, res: PredictiveResult, dim: int, d: int) -> tuple[int, float]:
    """Dot SimSiam/BYOL: how many directions escape from a start at the upper end of the seed band (`_band_w0`).
    The closed form at the typical start is the lower end of the predicted range; a seed's larger start raises
    each γ*_k (measured in the compare sweep: seed 1 escaped at γ = 2.4 > γ*₁ = 2.0, and at d = 4, γ = 1.2 showed
    4 directions where the typical start lets 1 escape), so the range's upper end counts these directions.
    Returns (that count, the start w₀ used)."""
    w_hi = _band_w0(spec, res, dim, d)
    return int(dot_escapes_from(res, spec.weight_decay, w_hi).sum()), w_hi


def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The per-direction answer (module docstring): dot → escape or collapse per direction and the seed band;
    cosine → the mean-field survivors."""
    res = from_spec(spec, moments)
    d = spec.embed_dim or moments.dim
    start = (f"the trainer's start (W₀ ~ {start_scale(spec):g}·N(0, 1/D): w₀² = {res.init_w0[0] ** 2:.3g} per "
             f"direction, P₀ ≈ I)")
    if res.similarity == "dot":
        method = "escape" if spec.objective == "simsiam" else "escape_byol"
        notes = [f"dot similarity: no stable non-zero state — each direction escapes (grows without bound) or "
                 f"collapses; {res.rank} escaping direction(s) (γ < γ*_k), from {start}. "
                 + ("A run diverges (plain SGD: NaN; Adam: one direction dominates, collapse rank 1)"
                    if res.rank else "Every direction collapses: complete collapse")]
        if spec.objective == "byol":
            notes.append(f"BYOL: γ*_k lies in [λ_k min(w₀, p₀)/2, λ_k max(w₀, p₀)/2] for every EMA rate; the rate "
                         f"κ = −ln β/lr uses the trainer's lr = {LR:g}")
        band, w_hi = _seed_band(spec, res, moments.dim, d)
        if band > res.rank:
            notes.append(f"seed band: a seed whose start is larger along the data directions (w₀ up to {w_hi:.3g}, "
                         f"the {INIT_QUANTILE:.1%} level of its law) lets up to {band} direction(s) escape, so the "
                         f"theory's count reaches {band} "
                         "(docs/theory.md §7); --order exact integrates from the trainer's own start")
        top = max(res.rank, band)
    else:
        method = "mean_field"
        notes = [f"cosine similarity, mean field: direction k survives iff its signal-to-noise ratio ρ_k = "
                 f"λ_k/(λ_k + s_k) exceeds r·√c_k, c_k = p₀² − w₀² from {start}; weight decay and the EMA rate "
                 "only change the path, not where the flow ends"]
        top = max(res.rank, res.seed_band[2]) if res.seed_band else None
    notes += [n for n in res.notes if not n.startswith(("dot similarity: the nonzero", "cosine similarity: scale"))]
    spectrum = np.zeros(d)
    spectrum[: min(d, len(res.spectrum))] = np.asarray(res.spectrum)[:d]
    return make_prediction(spec, alive=res.rank, spectrum=spectrum, thresholds=_thresholds_of(spec, res),
                           capacity=capacity_of(spec, moments), notes=notes, method=method, loss=None, embed_dim=d,
                           alive_max=top)


prediction_ema = prediction


def knob_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The escape thresholds of dot similarity, or why a knob does not act; None: scan (`advise`)."""
    th = pred.thresholds
    if knob == "temperature":
        return [], f"{spec.objective} has no temperature"
    if knob == "batch_size":
        return [], ("the per-direction closed form does not depend on the batch size: the SimSiam/BYOL losses have "
                    "no cross-sample terms, the batch only sets the gradient noise")
    if th.kind == "mean_field" and knob == "weight_decay":
        return [], ("cosine similarity: weight decay only rescales the time of the stop-gradient flow; it never "
                    "changes which directions survive (docs/theory.md §7)")
    if th.kind in ("escape", "escape_estimate") and knob == "noise_scale":
        return [], ("dot similarity: the augmentation noise does not enter the SimSiam/BYOL dynamics (their loss is "
                    "linear in the prediction), so it never changes the rank")
    if knob == "weight_decay" and th.kind == "escape":
        return sorted({v for v in th.critical_weight_decay or () if v > 0}), ""
    return None, ""


knob_changes_ema = knob_changes
