"""InfoNCE with cosine similarity (the CLIP form; NT-Xent with `pair_c`, docs/theory.md §15), depth 1: a
semi-analytic reduced solver.

Derivation: docs/theory.md §14.

The exact order minimises a Monte-Carlo estimate of the batch loss over the full d × D matrix W on the sphere
‖W‖_F = √d (seconds). This module solves the same problem in a reduced form, deterministically:

1. **Diagonal gains.** With cosine similarity the loss depends on W only through G = WᵀW, and only through its
   direction (degree-0 homogeneous: Σ_k g_k ∂L/∂g_k = 0). When C and S share an eigenbasis the sign flips of that
   basis preserve the law of the views, and we take the minimiser diagonal there, G = diag(g_k) (not proved — the
   loss is not convex in G — but every exact solve checked had off-diagonal parts at its Monte-Carlo noise).
   Embedding spectrum g_k c_k, normalised like the exact order (Σ g_k = ‖W‖_F² = d).
2. **Negatives exactly, by a 1-D integral.** Given the anchor a, a negative logit is κ·cos(a, c), κ = 1/τ, with
   c ~ N(0, diag(b_c)) (b_c = c + s augmented, c clean). With u = G^{1/2}a/|G^{1/2}a| and h_k = g_k b_c,k:

       m_κ(a) = E_c exp(κ cos) = 1 + ∫_0^∞ Z(t) (1/t) f(κ² t v(t)/2) dt,      f(y) = √y I₁(2√y)
       Z(t) = Π_k (1 + 2t h_k)^{−1/2},   v(t) = Σ_k u_k² h_k / (1 + 2t h_k)

   (the even moments E cos^{2n} = E[L^{2n} Q^{−n}] by the Gamma-function representation of Q^{−n}, summed under
   the integral; exact, checked against simulation in tests/theory/test_cosine_infonce.py). On t = e^s the
   integrand is a smooth bell: a trapezoid rule with analytic tails (≈ 30 nodes, relative error ≤ 4e-5).
3. **Finite batch.** With Y = Σ_{j≤N−1} e^{κ cos(a, c_j)} (E Y = (N − 1)m_κ, Var Y = (N − 1)(m_{2κ} − m_κ²)):

       E ℓ | a, p ≈ −S + log(e^S + (N − 1) m_κ) − (N − 1)(m_{2κ} − m_κ²) / (2 (e^S + (N − 1)m_κ)²)

   S = κ cos(a, p) — the delta method in the negatives' sum; its relative variance is reported (`relvar`), and the
   spec is refused (None) where it exceeds RELVAR_MAX (small N at small τ: the sum is not self-averaging).
4. **The pair** (a, p) is integrated by a fixed, moment-matched scrambled Sobol rule (`n_pairs` points).
5. **Solve and growth law.** L-BFGS-B on g ≥ 0 (analytic gradient) from the mean-field water-filling start
   h_k ∝ (ρ_k − ν)⁺. A dead direction k (g_k = 0) is independent of everything the loss sees, so its growth rate is
   exact in expectation over x_k and *linear* in (c_k, s_k): Γ_k = c_k Γ₁₀ + s_k Γ₀₁ (both protocols). **Direction
   k survives iff c_k/s_k > −Γ₀₁/Γ₁₀**, i.e. iff its signal-to-noise ratio ρ_k = c_k/(c_k + s_k) exceeds a critical
   ρ_c set by the learned point of the others. Weight decay never enters (the loss is scale-invariant).
   The growth law at the mean-field start first corrects its alive set; a direction with |ρ_k − ρ_c| ≤ SNR_BAND
   (0.02, the pair rule's accuracy on ρ_c) is not decided: it is left out of the point answer and counted in the
   upper end of the predicted range (`rank_max`), and the active set counts as settled once the growth law
   agrees outside the band.

Source: our derivation (docs/theory.md §14); the referee is `sslscape.theory.exact.exact_solution`.
Not covered (`covers`, returns None from `cosine_infonce_prediction`): depth > 1, a bias, a normalisation,
symmetric InfoNCE, a data mean, sample-file data, C and S without a common eigenbasis, D > MAX_DIM, τ below
MIN_TEMPERATURE, the non-self-averaging regime (relvar > RELVAR_MAX) and a solve that does not stay finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..moments import Moments, moments_of
from ..recipe import LARGE_N, SOBOL_SEED
from ..result import Result
from ..spec import Spec
from ._linalg import joint_diagonals
from .prediction import Prediction, TheoryDeclined, Thresholds, capacity_of, make_prediction

__all__ = ["CosineInfoNCE", "cosine_infonce_prediction", "covers", "knob_changes", "m_kappa", "prediction",
           "reduced_loss", "thresholds"]

N_PAIRS = 1024      # Sobol points of the pair rule
MAX_DIM = 32        # directions solved for (cost ∝ D per node)
MIN_TEMPERATURE = 0.04  # below it the exp(κ·cos) integrals overflow or cancel (measured: NaN at τ = 0.022)
RELVAR_MAX = 0.15   # Var Y / (E Y)² above which the delta method in the negatives' sum is not trusted
T_STEP, T_HI = 1.0, 12.0  # trapezoid step on s = log(t·Σh) and its upper end (analytic tails beyond both ends)
BESSEL_STEP = 1e-3  # z step of the Bessel tables
LBFGS_OPTIONS = {"maxiter": 200, "gtol": 1e-6, "ftol": 1e-10}
LBFGS_LOOSE = {"maxiter": 200, "gtol": 1e-4, "ftol": 1e-7}  # rounds that only have to find the alive set
ACTIVE_ROUNDS = 4
DEAD = 1e-7         # gains below DEAD · max are dead
SNR_BAND = 0.02     # |ρ_k − ρ_c| within this: the solver cannot tell (ρ_c to ~0.01 from the pair rule, plus the
                    # diagonal-G and delta-method approximations); such directions widen the predicted range


@dataclass(frozen=True, kw_only=True)
class CosineInfoNCE(Result):
    """The reduced solver's answer. Arrays are in the common eigenbasis, sorted by decreasing SNR ρ_k."""

    rank: int                   # directions with signal alive with ρ_k clear of ρ_c ± SNR_BAND (the point answer)
    rank_max: int               # … and those inside the band (alive or not): the upper end of the predicted range
    spectrum: np.ndarray        # (d,) embedding spectrum (eigenvalues of W C Wᵀ, ‖W‖_F² = d), descending
    gains: np.ndarray           # (D,) g_k of G = WᵀW = diag(g), Σ g = d (band directions then set to 0)
    c: np.ndarray               # (D,) data variances in that order
    s: np.ndarray               # (D,) noise variances
    snr: np.ndarray             # (D,) ρ_k = c_k/(c_k + s_k)
    snr_critical: float         # ρ_c: a dead direction survives iff ρ_k > ρ_c (the growth law at the learned point);
                                # ρ_c < 0 (low τ, augmented negatives): zero-signal directions survive too
    positive_weight: float      # p̄, the positive pair's mean softmax weight (annealed over the negatives)
    relvar: float               # mean Var Y/(E Y)² of the negatives' sum (delta method's small parameter)
    notes: tuple[str, ...]
    used: int = 0               # every alive direction clear of the band, zero-signal ones (c_k = 0) included:
    used_max: int = 0           # the rank of G = WᵀW, which W C Wᵀ does not show (§14.6); … and the band's


def covers(spec: Spec, moments: Moments | None = None) -> str | None:
    """None when the reduced cosine-InfoNCE solver may answer `spec` (the solve itself can still decline: relvar >
    RELVAR_MAX), else why not (one phrase): the solver table's `covers` (`sslscape.theory.solvers`). NT-Xent has
    its own row (`theory/ntxent.py`) on the same conditions."""
    if spec.objective != "infonce":
        return f"objective {spec.objective}: the reduced solver's row is InfoNCE's (NT-Xent: theory/ntxent.py)"
    return conditions(spec, moments)


def conditions(spec: Spec, moments: Moments | None = None) -> str | None:
    """What the reduced solver needs of a spec of either form (CLIP-form InfoNCE or NT-Xent): None, or why not."""
    if spec.objective not in ("infonce", "ntxent") or spec.similarity != "cosine":
        return "the reduced solver is InfoNCE's or NT-Xent's with cosine similarity"
    if spec.depth != 1:
        return "depth > 1"
    if spec.bias:
        return "a bias"
    if spec.normalization != "none":
        return f"{spec.normalization} normalisation"
    if spec.symmetric:
        return "symmetric InfoNCE"
    if spec.data.samples is not None:
        return "sample-file data: the reduction needs Gaussian data given by a covariance"
    if spec.temperature < MIN_TEMPERATURE:
        return f"temperature below {MIN_TEMPERATURE} (logits up to 1/τ: the reduced integrals are not resolved)"
    m = moments if moments is not None else moments_of(spec)
    if np.any(m.mean != 0):
        return "a non-zero data mean"
    if m.dim > MAX_DIM:
        return f"D = {m.dim} > {MAX_DIM} directions"
    if joint_diagonals(m.cov, m.noise_cov) is None:
        return "data and noise covariances without a common eigenbasis"
    return None


def _eigen_cs(moments: Moments) -> tuple[np.ndarray, np.ndarray]:
    """C's and S's variances along their common eigenbasis (checked in `covers`), clipped at 0."""
    c, s = joint_diagonals(moments.cov, moments.noise_cov)
    return np.clip(c, 0, None), np.clip(s, 0, None)


@lru_cache(maxsize=32)
def _normals(dim: int, n: int) -> np.ndarray:
    """(n, dim) standard normals from a scrambled Sobol set, centred and whitened (exact second moments)."""
    from scipy.special import ndtri
    from scipy.stats import qmc

    u = qmc.Sobol(d=dim, scramble=True, seed=SOBOL_SEED).random(n)
    z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    z = z - z.mean(axis=0)
    chol = np.linalg.cholesky(z.T @ z / n)
    z = np.linalg.solve(chol, z.T).T
    z.flags.writeable = False
    return z


def _pairs(c: np.ndarray, s: np.ndarray, protocol: str, n_pairs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, p) each (n_pairs, n) on the Sobol rule, and the candidates' variances b_c (n,)."""
    n = c.size
    z = _normals(2 * n, n_pairs)
    z1, z2 = z[:, :n], z[:, n:]
    if protocol == "augmented_negatives":  # a = x + ε₁, p = x + ε₂: Var b = c + s, correlation ρ = c/b
        b = c + s
        r = np.divide(c, b, out=np.zeros_like(c), where=b > 0)
        a = np.sqrt(b) * z1
        return a, np.sqrt(b) * (r * z1 + np.sqrt(np.clip(1 - r**2, 0, None)) * z2), b
    a = np.sqrt(c) * z1  # clean: a = x, p = x + ε, negatives clean
    return a, a + np.sqrt(s) * z2, c.copy()


@lru_cache(maxsize=8)
def _bessel_table(z_max: float) -> np.ndarray:
    """Rows (i1e(z_j), i1e(z_{j+1}) − i1e(z_j), i0e(z_j), i0e(z_{j+1}) − i0e(z_j)) on z_j = j·BESSEL_STEP ∈
    [0, z_max] (linear reads: relative error ≤ 1e-7); one row per read gathers all four values at once."""
    from scipy.special import i0e, i1e

    z = np.arange(0.0, z_max + 2 * BESSEL_STEP, BESSEL_STEP)
    t1, t0 = i1e(z), i0e(z)
    tab = np.stack([t1[:-1], np.diff(t1), t0[:-1], np.diff(t0)], axis=1)
    tab.flags.writeable = False
    return tab


def _bessel(z: np.ndarray, mult: float, ez: np.ndarray, z_max: float) -> tuple[np.ndarray, np.ndarray]:
    """f(y) = √y I₁(2√y) and f′(y) = I₀(2√y) at 2√y = mult·z ≤ z_max (ez = e^z, reused; tabulated Bessels: the
    scipy ones cost 75 % of a solve)."""
    tab = _bessel_table(z_max)
    zz = z if mult == 1 else mult * z
    e = ez if mult == 1 else ez * ez if mult == 2 else ez**mult
    x = zz * (1.0 / BESSEL_STEP)
    i = x.astype(np.intp)  # uniform grid: the index is arithmetic (np.interp searches)
    frac = x - i
    row = tab.take(i, axis=0, mode="clip")  # (…, 4): one gather for both Bessels and their slopes
    i1 = row[..., 0] + frac * row[..., 1]
    i0 = row[..., 2] + frac * row[..., 3]
    return 0.5 * zz * i1 * e, i0 * e


def _z_max(kappa: float) -> float:
    """Largest 2√y of the two Bessel reads (y ≤ (2κ)²/4 since t·v(t) ≤ 1/2), rounded up to a cached table."""
    return float(2.0 ** math.ceil(math.log2(max(2 * kappa, 1.0)) + 1e-12))


def m_kappa(u2: np.ndarray, h: np.ndarray, kappa: float) -> np.ndarray:
    """E_c exp(κ u·y/|y|), y ~ N(0, diag h), for unit directions with squared components u2 (…, n); h (n,) ≥ 0.

    The integral of the module docstring (point 2) on the trapezoid rule of `reduced_loss`. Returns (…,).
    """
    u2 = np.atleast_2d(u2)
    t, w, z_t = _t_rule(h / h.sum(), kappa)
    den = 1 + 2 * np.outer(t, h / h.sum())
    v = u2 @ ((h / h.sum()) / den).T
    z = kappa * np.sqrt(2 * np.maximum(v * t, 0.0))
    f, _ = _bessel(z, 1.0, np.exp(z), _z_max(kappa))
    return 1 + (f * (w * z_t)).sum(-1)


def _t_rule(h: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes t (Σh = 1 units), weights (trapezoid in s = log t + analytic tails) and Z(t) for the m_κ integral.

    Below the first node the integrand is ∝ t (tail weight 1); above the last every direction with 2th ≫ 1
    contributes t^{−1/2} to Z (tail weight 2/#such directions)."""
    s = np.arange(-7.0 - 2 * math.log(max(kappa, 1.0)), T_HI + 1e-9, T_STEP)
    t = np.exp(s)
    den = 1 + 2 * np.outer(t, h)
    z_t = np.exp(-0.5 * np.log(den).sum(1))
    grown = max(int(np.sum(2 * t[-1] * h > 1.0)), 1)
    w = np.full(t.size, T_STEP)
    w[0] = 0.5 * T_STEP + 1.0
    w[-1] = 0.5 * T_STEP + 2.0 / grown
    return t, w, z_t


def reduced_loss(g: np.ndarray, a2: np.ndarray, p2: np.ndarray, ap: np.ndarray, b_c: np.ndarray, kappa: float,
                 n_batch: int, pair_c: np.ndarray | None = None) -> tuple[float, np.ndarray, dict[str, float]]:
    """Expected cosine-InfoNCE loss of G = diag(g) and its gradient (module docstring, points 2–3).

    g (n,) ≥ 0 (any scale; the loss is scale-invariant); a2, p2, ap (n_pairs, n): a_k², p_k², a_k p_k on the pair
    rule; b_c (n,) candidate variances; κ = 1/τ; n_batch = N. Returns (loss, ∂loss/∂g (n,), {pbar, relvar}).
    `pair_c` (n,): NT-Xent (docs/theory.md §15) — the negatives are the two views of each of N − 1 examples
    (2N − 2 in all) and `pair_c` their cross-view covariance; None: the CLIP form's N − 1 independent negatives.
    """
    total = g.sum()
    g = g / total
    qa, qp = a2 @ g, p2 @ g
    sq = np.sqrt(qa * qp)
    cos = (ap @ g) / sq
    S = kappa * cos
    h = g * b_c
    hs = h.sum()
    t, w, z_t = _t_rule(h / hs, kappa)
    t = t / hs
    den = 1 + 2 * np.outer(t, h)                          # (T, n)
    K = g * h / den                                       # v = a2 @ Kᵀ / qa
    dK = 2 * b_c * g * (1 + t[:, None] * h) / den**2      # ∂K/∂g_k
    dlogz = -t[:, None] * b_c / den                       # ∂ log Z/∂g_k
    v = (a2 @ K.T) / qa[:, None]                          # (P, T)
    z = kappa * np.sqrt(2 * np.maximum(v * t, 0.0))
    ez = np.exp(z)
    zmax = _z_max(kappa)
    parts = []
    for mult in (1, 2):
        f, fp = _bessel(z, mult, ez, zmax)
        F = (w * z_t) * f
        E = (w * z_t * (mult * kappa) ** 2 * t / 2) * fp / qa[:, None]
        parts.append((1 + F.sum(1), F, E))
    m1, m2 = parts[0][0], parts[1][0]
    eS = np.exp(S)
    if pair_c is None:  # Var Y = M Var e^{κ cos}, M = N − 1
        M = n_batch - 1
        var, dvar = np.maximum(m2 - m1**2, 0.0), (-2 * m1, 1.0)
    else:  # NT-Xent: Var Y = M (Var + Cov), M = 2N − 2; the two views' Cov by lognormal matching (§15)
        M = 2 * (n_batch - 1)
        var, dvar, dvar_dr, dr = _pair_variance(g, a2, m1, m2, b_c, pair_c)
    D = eS + M * m1
    loss = float(np.mean(-S + np.log(D) - M * var / (2 * D**2)))
    dl_dS = -1 + eS / D + M * var * eS / D**3
    lams = (M / D - M * dvar[0] / (2 * D**2) + M**2 * var / D**3, -M * dvar[1] / (2 * D**2))
    dS = kappa * (ap / sq[:, None] - 0.5 * cos[:, None] * (a2 / qa[:, None] + p2 / qp[:, None]))
    grad = dl_dS @ dS
    if pair_c is not None:
        grad += (-M * dvar_dr / (2 * D**2)) @ dr
    for lam, (_, F, E) in zip(lams, parts, strict=True):
        grad += (lam @ F) @ dlogz
        grad += (lam[:, None] * a2 * ((E @ dK) - (E * v).sum(1)[:, None])).sum(0)
    grad /= a2.shape[0]
    stats = {"pbar": float(np.mean(eS / D)), "relvar": float(np.mean(var / (M * m1**2)))}
    return loss, grad / total, stats


def _pair_variance(g: np.ndarray, a2: np.ndarray, m1: np.ndarray, m2: np.ndarray, b_c: np.ndarray,
                   pair_c: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """NT-Xent: Var + Cov of e^{κ cos} over the two views of one negative example, per anchor (docs/theory.md §15).

    Cov by lognormal matching: with q = m_{2κ}/m_κ² (= e^{κ²v} for a Gaussian logit of variance v) and r the two
    logits' correlation along the anchor, r = Σ g_k² a_k² c_k / Σ g_k² a_k² b_k (as for dot similarity), Cov =
    m_κ²(q^r − 1): exact at r = 0 (independent views) and r = 1 (equal views, Cov = Var). Returns V = m₂ − 2m₁² +
    m₁²q^r, (∂V/∂m₁, ∂V/∂m₂), ∂V/∂r and ∂r/∂g (n_pairs, n)."""
    num, den = a2 @ (g * g * pair_c), a2 @ (g * g * b_c)
    safe = np.where(den > 0, den, 1.0)
    r = np.clip(np.where(den > 0, num / safe, 0.0), 0.0, 1.0)
    dr = 2 * g * a2 * (pair_c[None, :] - r[:, None] * b_c[None, :]) / safe[:, None]
    q = np.maximum(m2 / m1**2, 1.0)
    qr = q**r
    var = np.maximum(m2 - 2 * m1**2 + m1**2 * qr, 0.0)
    dvar = (-4 * m1 + 2 * m1 * qr * (1 - r), 1 + r * qr / q)
    return var, dvar, m1**2 * qr * np.log(q), dr


def _virtual_growth(g: np.ndarray, a2: np.ndarray, p2: np.ndarray, ap: np.ndarray, b_c: np.ndarray, kappa: float,
                    n_batch: int, protocol: str,
                    pair_c: np.ndarray | None = None) -> tuple[float, float, dict[str, float]]:
    """(Γ₁₀, Γ₀₁): ∂E ℓ/∂g_k at g_k = 0 of a dead direction with (c, s) = (1, 0) and (0, 1), x_k integrated out
    (its moments replace its columns: E a_k², E p_k², E a_k p_k, its candidate variance). Γ_k = c_k Γ₁₀ + s_k Γ₀₁."""
    rows = a2.shape[0]
    # columns (E a², E p², E ap, b_c) per unit c and unit s
    cols = [(1, 1, 1, 1), (1, 1, 0, 1)] if protocol == "augmented_negatives" else [(1, 1, 1, 1), (0, 1, 0, 0)]
    extra = np.array(cols, float)
    widen = lambda x, j: np.hstack([x, np.repeat(extra[None, :, j], rows, 0)])  # noqa: E731
    # NT-Xent: a negative example's two views share its unit c (not its noise); at g_k = 0 it does not move r
    pairs = None if pair_c is None else np.concatenate([pair_c, [1.0, 0.0]])
    _, grad, stats = reduced_loss(np.concatenate([g, [0.0, 0.0]]), widen(a2, 0), widen(p2, 1), widen(ap, 2),
                                  np.concatenate([b_c, extra[:, 3]]), kappa, n_batch, pairs)
    return float(grad[-2]), float(grad[-1]), stats  # the two zero-gain columns leave the loss statistics as at g


def _water_filling(rho: np.ndarray, b: np.ndarray, tau: float) -> np.ndarray:
    """Start: the Gaussian mean field (|z| at its RMS, quadratic log-mgf) gives h_k = τ(ρ_k − ν)⁺, Σ h = 1; returns
    g = h/b (zero where the mean field has the direction dead; the top direction is always alive)."""
    order = np.argsort(-rho)
    h = np.zeros_like(rho)
    for n in range(rho.size, 0, -1):
        top = order[:n]
        nu = (rho[top].sum() - 1 / tau) / n
        if n == rho.size or rho[order[n]] <= nu:
            if rho[top].min() > nu:
                h[top] = tau * (rho[top] - nu)
                break
    return h / np.maximum(b, 1e-300)


def cosine_infonce_prediction(spec: Spec, moments: Moments | None = None,
                              n_pairs: int = N_PAIRS) -> CosineInfoNCE | None:
    """Rank and spectrum of depth-1 cosine InfoNCE (module docstring), or None outside the domain.

    `spec`: objective infonce, similarity cosine; `moments` its moments (default `moments_of(spec)`); `n_pairs`
    the pair rule's size. Deterministic. Returns None where `covers` says so, where no direction has
    signal (c = 0 everywhere), or where the negatives' sum is not self-averaging (relvar > RELVAR_MAX).
    """
    m = moments if moments is not None else moments_of(spec)
    if conditions(spec, m) is not None:
        return None
    c_all, s_all = _eigen_cs(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_all = np.where(c_all > 0, c_all / (c_all + s_all), 0.0)
    order = np.lexsort((-c_all, -rho_all))  # by SNR, ties by variance
    c_all, s_all, rho_all = c_all[order], s_all[order], rho_all[order]
    dim = c_all.size
    d = spec.embed_dim or dim
    tau, kappa = float(spec.temperature), 1.0 / float(spec.temperature)
    n_batch = int(spec.batch_size or LARGE_N)
    notes: list[str] = []
    signal = int(np.sum(c_all > 0))
    if signal == 0:
        return None
    # candidates: the top-k SNR directions (alive sets are SNR prefixes; Q has rank ≤ d). With augmented negatives
    # a zero-signal direction (c_k = 0, s_k > 0) is a candidate too, after every direction with signal: its growth
    # Γ₀₁ per unit noise turns negative at low τ (ρ_c < 0, §14.6); with clean negatives it only adds noise to the
    # positive (Γ₀₁ > 0 always) and is never used
    usable = signal + (int(np.sum((c_all <= 0) & (s_all > 0))) if spec.protocol == "augmented_negatives" else 0)
    k = min(d, usable)
    if k < signal:
        notes.append(f"d = {d} < {signal} directions with signal: the {d} of highest SNR are the candidates")
    c, s = c_all[:k], s_all[:k]
    b_view = c + s if spec.protocol == "augmented_negatives" else c
    # the mean field's alive set is the first guess (one solve when it is right); the growth law then frees or cuts
    start = _water_filling(rho_all[:k], b_view, tau)
    with np.errstate(all="ignore"):  # a non-finite answer is refused below, not warned about
        found = _active_set(_pairs(c, s, spec.protocol, n_pairs), rho_all[:k], start, start > 0, kappa, n_batch,
                            spec.protocol, pair_c=c.copy() if spec.objective == "ntxent" else None)
    if found is None or not (np.all(np.isfinite(found[0])) and np.isfinite(found[1])):
        return None  # the delta method in the negatives' sum is not trusted (or did not resolve): exact answers
    g, rho_c, stats, settled = found
    if not settled:
        notes.append(f"the active set did not settle in {ACTIVE_ROUNDS} rounds: a direction sits at its threshold")
    near = np.abs(rho_all[:k] - rho_c) <= SNR_BAND
    if near.any():
        notes.append(f"direction(s) {(np.flatnonzero(near) + 1).tolist()} (by SNR) have ρ within ±{SNR_BAND} of "
                     f"ρ_c = {rho_c:.3f}, the solver's accuracy: the predicted range covers them either way")
    sure = (g > 0) & ~near
    gains = np.zeros(dim)
    gains[:k] = np.where(sure, g, 0.0) * d  # the point answer: directions clear of the band (their solved gains)
    spectrum = np.sort(gains * c_all)[::-1][:d]
    has_signal = c > 0
    rank, rank_max = int((sure & has_signal).sum()), int((((g > 0) | near) & has_signal).sum())
    used, used_max = int(sure.sum()), int(((g > 0) | near).sum())
    if used_max > rank_max:
        n0, n1 = used - rank, used_max - rank_max
        notes.append(f"{n0 if n0 == n1 else f'{n0} to {n1}'} direction(s) without signal (c_k = 0) are used: "
                     f"ρ_c = {rho_c:.3f} < 0, so at this temperature spreading the embedding over pure augmentation "
                     "noise lowers the negatives' term more than it costs the positive (docs/theory.md §14.6); "
                     "they show in W's singular values (gains up to "
                     f"{np.max(g[~has_signal], initial=0.0) / g.max():.2f} of the largest), not in W C Wᵀ")
    return CosineInfoNCE(rank=rank, rank_max=rank_max, spectrum=spectrum, gains=gains, c=c_all, s=s_all, snr=rho_all,
                         snr_critical=float(rho_c), positive_weight=stats["pbar"], relvar=stats["relvar"],
                         notes=tuple(notes), used=used, used_max=used_max)


def snr_level(g10: float, g01: float) -> float:
    """ρ_c of the growth law Γ_k = c_kΓ₁₀ + s_kΓ₀₁ < 0 ⟺ ρ_kΓ₁₀ + (1 − ρ_k)Γ₀₁ < 0 (per unit view variance
    b_k = c_k + s_k, augmented negatives): ρ_c = Γ₀₁/(Γ₀₁ − Γ₁₀) when signal helps more than noise (Γ₁₀ < Γ₀₁).
    Negative when Γ₀₁ < 0 — every direction grows, zero-signal ones included (docs/theory.md §14.6); −1 when both
    are negative but noise would help more than signal (every direction grows; never measured); 1 (nothing grows)
    when neither helps."""
    if g10 < g01:
        return float(g01 / (g01 - g10))
    return -1.0 if g01 < 0 else 1.0


def _active_set(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], rho: np.ndarray, start: np.ndarray,
                free: np.ndarray, kappa: float, n_batch: int, protocol: str,
                pair_c: np.ndarray | None = None) -> tuple[np.ndarray, float, dict[str, float], bool] | None:
    """Gains g (Σ = 1) on the pair rule `pairs` = (a, p, b_c), the critical SNR ρ_c, the loss statistics and whether
    the active set settled — or None where the negatives' sum is not self-averaging (relvar > RELVAR_MAX).

    Solve on the free directions (L-BFGS-B from `start`), then the growth law (exact in x_k for a dead direction)
    decides which are alive — L-BFGS-B alone leaves directions just past their threshold at small non-zero gains."""
    from scipy.optimize import minimize

    a, p, b_c = pairs
    a2, p2, ap = a * a, p * p, a * p
    k = rho.size

    def solve(free: np.ndarray, start: np.ndarray, options: dict) -> np.ndarray:
        idx = np.flatnonzero(free)
        cols = (a2[:, idx], p2[:, idx], ap[:, idx], b_c[idx])
        pairs = None if pair_c is None else pair_c[idx]

        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad, _ = reduced_loss(x, *cols, kappa, n_batch, pairs)
            pen = x.sum() - 1.0  # fixes the free scale
            return value + pen * pen, grad + 2 * pen

        res = minimize(fun, start[idx] / start[idx].sum(), jac=True, method="L-BFGS-B",
                       bounds=[(0.0, None)] * idx.size, options=options)
        out = np.zeros(k)
        out[idx] = np.where(res.x > DEAD * res.x.max(), res.x, 0.0)
        return out / out.sum()

    def decide(g: np.ndarray) -> tuple[float, dict[str, float], bool]:
        """ρ_c from the growth law at g, the loss statistics there, and whether the growth law agrees with g's
        alive set outside the threshold band (a direction inside it is reported in the range either way)."""
        dead = g <= 0
        g10, g01, stats = _virtual_growth(g[~dead], a2[:, ~dead], p2[:, ~dead], ap[:, ~dead], b_c[~dead], kappa,
                                          n_batch, protocol, None if pair_c is None else pair_c[~dead])
        rho_c = snr_level(g10, g01)
        near = np.abs(rho - rho_c) <= SNR_BAND
        return rho_c, stats, bool(np.array_equal((rho > rho_c) | near, ~dead | near))

    # a tight solve from the mean-field start (usually its alive set is right: one round); when the growth law
    # changes the set, loose rounds until it settles, then one tight solve that must agree (each round is a full
    # L-BFGS-B solve; the loose ones only have to find the set)
    tight = True
    # the growth law at the start itself (one evaluation) corrects the mean field's alive set before any solve
    rho_c0, _, agree0 = decide(start / start.sum())
    if not agree0 and np.any(rho > rho_c0):
        free = rho > rho_c0
        start = np.where(free, np.where(start > 0, start, 0.02 * start.max()), 0.0)  # as a freed direction below
    for _ in range(ACTIVE_ROUNDS + 1):
        g = solve(free, start, LBFGS_OPTIONS if tight else LBFGS_LOOSE)
        rho_c, stats, settled = decide(g)
        if stats["relvar"] > RELVAR_MAX:
            return None
        if settled and tight:
            return g, rho_c, stats, True
        dead = g <= 0
        if settled:
            tight, start = True, g
            continue
        want = rho > rho_c
        # a growing dead direction is freed, a sub-threshold alive one cut
        free = want | ~dead if np.any(want & dead) else want
        start = np.where(free & dead, 0.02 * g.max(), g)
        tight = False
    return g, rho_c, stats, False


# ---- the solver table's row 'learned_point_cosine' (sslscape.theory.solvers): covers (above), prediction,
#      thresholds, knob_changes -----------------------------------------------------------------------------------
def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """No per-direction noise scale or temperature: both move ρ_c itself (a noise scan of the sweep's spec keeps six
    directions up to σ ≈ 49, where ρ_c held would say 1.9) — `sslscape advise` scans the solver instead; weight
    decay never acts (a scale-invariant loss)."""
    return Thresholds(kind="snr_level", order="learned_point", critical_weight_decay=(), critical_noise_scale=None)


def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The reduced solver's answer as the theory's (docs/theory.md §14); TheoryDeclined where it does not apply."""
    res = cosine_infonce_prediction(spec, moments)
    if res is None:
        raise TheoryDeclined("the reduced cosine-InfoNCE solver does not cover this batch size and temperature (a "
                             "few negatives dominate the softmax) or no direction carries signal")
    form = "NT-Xent" if spec.objective == "ntxent" else "InfoNCE"
    notes = [f"{form}, cosine similarity: direction k survives iff its signal-to-noise ratio ρ_k = c_k/(c_k + s_k) "
             f"exceeds ρ_c = {res.snr_critical:.3f}, set by the learned point of the others (p̄ = "
             f"{res.positive_weight:.3f}); weight decay never changes the rank (a scale-invariant loss)", *res.notes]
    return make_prediction(spec, alive=res.rank, spectrum=res.spectrum, thresholds=thresholds(spec, moments),
                           capacity=capacity_of(spec, moments), notes=notes, method="cosine_snr_level", loss=None,
                           embed_dim=len(res.spectrum), positive_weight=res.positive_weight,
                           alive_max=max(res.rank_max, res.rank))


def knob_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """Weight decay never changes the rank; every other knob moves ρ_c: scan the solver (`advise`)."""
    if knob == "weight_decay":
        return [], ("InfoNCE with cosine similarity is scale-invariant: the weight decay never changes which "
                    "directions survive (their signal-to-noise ratio against ρ_c decides; docs/theory.md §14)")
    if knob == "noise_scale" and spec.augmentation.noise_cov is None:
        return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
    return None, ""
