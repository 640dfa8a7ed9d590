"""Closed forms of the population loss for VICReg and for Barlow Twins with batch standardisation (docs/theory.md §12).

Neither loss has an expansion at W = 0 (VICReg's hinge has std ∝ ‖W‖; standardised Barlow is scale-invariant), but
for a linear encoder z = W x and two views x′ = x + ε₁, x″ = x + ε₂ (ε ~ N(0, S), the augmented-negatives
protocol) both are functions of second moments at the population level, with B = C + S the view covariance:

VICReg (`objectives/vicreg.py`, weights λ_inv, λ_var, λ_cov, ε = 1e-4, d embedding coordinates):

    L = (2λ_inv/d) tr(W S Wᵀ) + (λ_var/d) Σ_k relu(1 − √(v_k + ε)) + (2λ_cov/d) Σ_{k≠l} K_kl² + γ‖W‖²,
    K = W B Wᵀ,  v_k = K_kk                                                                          (V1)

With U = W B^{1/2} (rows u_k, K = U Uᵀ) and Q = UᵀU, the invariance and the weight decay are tr(M Q),

    M = B^{−1/2} (2λ_inv S/d + γ I) B^{−1/2}   (eigenvalues m_i ascending: the cost of a unit of view variance
                                                 along direction i — no co-diagonality of C and S needed)   (V2)

and Σ_{k≠l} K_kl² = tr Q² − Σ_k v_k². For fixed eigenvalues of Q, tr(MQ) is smallest with Q diagonal in M's
eigenbasis (von Neumann), and the row variances v can be any vector majorised by Q's eigenvalues (Schur–Horn). So
the population problem is exactly

    min  Σ_i m_i q_i + β′ Σ_i q_i² + β_N T² + Σ_k ψ(v_k)   over q ≥ 0 (≤ d of them non-zero), v ≺ q,
    ψ(v) = (λ_var/d) relu(1 − √(v + ε)) − (β′ + β_N) v²,   T = Σ q_i = Σ v_k,                       (V3)

β = 2λ_cov/d, β′ = β N/(N − 1) and β_N = β/(N − 1) for a batch of N Gaussian pairs (E Ĉov_kl² = Cov_kl² +
(v_k v_l + Cov_kl²)/(N − 1) for the unbiased estimate; β′ = β, β_N = 0 as N → ∞). Given the total T the direction
variances are a **water-filling**: q_i = (ν − m_i)⁺ / (2β′), so **direction i is used iff m_i < ν**, the water level
ν set self-consistently by the rows. ψ is convex below std 1 when λ_var ≥ 16 λ_cov (1 + 2/(N − 1)) (VICReg's
defaults 25/25/1), so rows share their variance equally (v_k = T/d), either inside the hinge (ν = −ψ′(T/d)) or at
its kink, std exactly 1 (v_k = 1 − ε, T = d(1 − ε)); rows may also sit alone on a cheap direction at std 1 (the
first p directions pre-filled at 1 − ε). `vicreg_population` evaluates these families on a grid of the shared row
variance, refines the best by golden section and keeps the lowest loss; the covariance penalty is what spreads
the rows: two coordinates on one direction cost 2β′ v_k v_l, so with d > #used directions rows share directions
at that price, and with d < #directions only the d cheapest can be used (Q has rank ≤ d).

Standardised Barlow Twins (`objectives/barlow.py`, λ = barlow_lambda, BN's ε = 1e-5): with K_kl the cross-view
correlation of the standardised coordinates, K_kl = w_kᵀ C w_l / √((v_k + ε)(v_l + ε)). The loss is invariant to
each row's scale up to ε: weight decay shrinks the rows until v_k ~ √(ε/γ), where K loses a relative
O(ε/v) = O(√(γε)) ≈ 1e-3 — neglected here, as in the exact order (which minimises on ‖W‖_F = √d). With unit rows
u_k = B^{1/2} w_k / ‖·‖, R = B^{−1/2} C B^{−1/2} (eigenvalues ρ_i ∈ [0, 1]: each direction's signal-to-noise
ratio c_i/(c_i + s_i) when C and S commute), Q diagonal in R's eigenbasis with q_i ≥ 0, Σ q_i = d, and equal
diagonals K_kk = T/d (T = Σ ρ_i q_i; Σ K_kk² ≥ T²/d, so for λ ≤ 1 this is a relaxation, attained when unit rows
with equal K_kk exist — in every check with d ≥ 4; with d = 3 the true minimum was 0.1–0.7 % higher, same rank):

    L(q) = d − 2T + (1 − λ) T²/d + λ Σ_i ρ_i² q_i²       (convex in q on the simplex)                (B1)
    q_i = (2αρ_i − μ′)⁺ / (2λρ_i²),  α = 1 − (1 − λ)T/d  (KKT)                                      (B2)

so **direction i is used iff ρ_i > ρ_c = μ′/(2α)** — a signal-to-noise threshold; weight decay never enters.
On each prefix of the ρ-sorted directions (α, μ′, T) solve a 3 × 3 linear system; the lowest valid loss wins.

Everything is numpy, vectorised over directions and the grid: 1–10 ms per spec for D ≤ 64. Checked against
multi-start float64 minimisation of (V1)/(B-loss) over W and against the exact solver: tests/theory/test_population.py,
benchmarks/check_population.py (also against training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UserError
from ..moments import Moments, unit_noise_cov
from ..result import Result
from ..spec import Spec
from ._linalg import basis_diagonal, common_eigenbasis
from .prediction import Prediction, TheoryDeclined, Thresholds, capacity_of, make_prediction

VICREG_STD_EPS = 1e-4  # objectives/vicreg.py STD_EPS (not imported: that module imports torch)
BN_EPS = 1e-5          # objectives/barlow.py BN_EPS
GRID = 192             # shared-row-variance grid of the VICReg families (then golden-section refinement)
_REL = 1e-12


@dataclass(frozen=True, kw_only=True)
class PopulationSolution(Result):
    """The population minimiser of VICReg or standardised Barlow Twins for a linear encoder (module docstring).

    objective            'vicreg' | 'barlow'
    rank                 directions used (q_i > 0)
    spectrum             eig(W C Wᵀ), descending, length d (Barlow: every coordinate's view variance is 1)
    costs                per direction, in the solution's order: VICReg m_i (V2, ascending; units 1/variance of
                         the loss), Barlow ρ_i (descending, dimensionless)
    direction_variance   q_i: the embedding's view variance along direction i, summed over coordinates (V3, B2)
    row_variance         v_k: each coordinate's view variance (Barlow: 1, the scale is free)
    level                VICReg: the water level ν (direction i used iff m_i < ν); Barlow: ρ_c (used iff ρ_i > ρ_c)
    structure            which family won: 'collapsed', 'shared' (equal row std < 1), 'kink' (every row std 1),
                         'aligned+shared' (p rows alone on cheap directions), 'stacked' (λ_cov = 0 or λ = 0),
                         'simplex' (Barlow)
    loss                 population loss at the solution (weight decay included; Barlow: the relaxation (B1),
                         a lower bound, without the O(√(γε)) term)
    critical_weight_decay  VICReg: γ*_i with ν held (γ*_i = eigenvalues of νB − 2λ_inv S/d), descending;
                         Barlow: () — weight decay never changes its rank
    critical_noise_scale   noise scales at which direction i changes with the level held (C and S co-diagonal),
                         else None
    weights              W (d × D) built from (q, v) by Schur–Horn rotations: VICReg's minimiser (its loss is
                         `loss`); Barlow: the minimiser's direction variances with unit rows, whose K_kk need not
                         be equal, so its loss can exceed `loss` by the spread of K_kk (a W with equal K_kk
                         reaches `loss`: multi-start minimisation finds it, tests/theory/test_population.py)
    """

    objective: str
    rank: int
    spectrum: tuple[float, ...]
    costs: tuple[float, ...]
    direction_variance: tuple[float, ...]
    row_variance: tuple[float, ...]
    level: float
    structure: str
    loss: float
    critical_weight_decay: tuple[float, ...]
    critical_noise_scale: tuple[float, ...] | None
    weights: np.ndarray = field(repr=False)
    notes: tuple[str, ...] = ()


# ---- coverage -------------------------------------------------------------------------------------------------------
def covers(spec: Spec, moments: Moments | None = None) -> str | None:
    """None when `population_solution` applies to `spec`, else why not (one phrase): the solver table's `covers`."""
    if spec.objective == "vicreg":
        if spec.normalization != "none":
            return f"VICReg with {spec.normalization} normalisation (a scale-invariant loss)"
        w = spec.vicreg
        n = spec.batch_size
        need = 16 * w.covariance * (1 + (2 / (n - 1) if n else 0.0))
        if w.variance < need:
            return (f"VICReg weights with λ_var < 16 λ_cov (here {w.variance:g} < {need:.3g}): rows can split into "
                    "unequal groups below std 1, outside the closed form's families")
    elif spec.objective == "barlow":
        if spec.normalization != "batch":
            return "Barlow Twins without batch standardisation (its quartic closed form applies instead)"
        if spec.barlow_lambda > 1:
            return f"Barlow λ = {spec.barlow_lambda:g} > 1 (the loss in q is no longer convex)"
    else:
        return f"objective {spec.objective}: the population closed form is VICReg's and standardised Barlow's"
    if spec.depth != 1:
        return "depth > 1 (the weight decay of a product is not γ‖W‖²)"
    if spec.protocol != "augmented_negatives":
        return "clean negatives (one clean view: the two views' variances differ)"
    return None


def population_solution(spec: Spec, moments: Moments) -> PopulationSolution:
    """The closed form for a covered spec (TheoryDeclined naming the reason otherwise). A bias and a data mean do not
    enter (every term is centred). The finite-batch correction (β′, β_N) is used when `batch_size` is set."""
    why = covers(spec, moments)
    if why is not None:
        raise TheoryDeclined(why)
    d = spec.embed_dim or moments.dim
    unit = unit_noise_cov(spec, moments.dim)
    if spec.objective == "vicreg":
        w = spec.vicreg
        return vicreg_population(moments.cov, moments.noise_cov, d, spec.weight_decay, invariance=w.invariance,
                                 variance=w.variance, covariance=w.covariance, batch_size=spec.batch_size,
                                 unit_noise=unit, noise_scale=spec.augmentation.noise_scale)
    return barlow_population(moments.cov, moments.noise_cov, d, spec.barlow_lambda, unit_noise=unit,
                             noise_scale=spec.augmentation.noise_scale)


# ---- shared linear algebra -------------------------------------------------------------------------------------------
def _whitening(b: np.ndarray) -> np.ndarray:
    """B^{−1/2} on B's range (D × r): directions with no view variance carry no signal and only cost decay."""
    lam, vec = np.linalg.eigh((b + b.T) / 2)
    keep = lam > _REL * max(float(lam.max()), 1e-300)
    return vec[:, keep] / np.sqrt(lam[keep])


def schur_horn(eigenvalues: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """An orthogonal G (n × n) with diag(G diag(λ) Gᵀ) = `diagonal`, for `diagonal` ≺ λ (both length n).

    Chan & Li (1983): Givens rotations in the plane of a free entry above and a free entry below the next target
    fix one diagonal entry at a time; off-diagonal entries appear only next to fixed entries, so the free block
    stays diagonal. Raises ValueError when the target is not majorised (within 1e-9 relative).
    """
    lam = np.asarray(eigenvalues, float).copy()
    target = np.sort(np.asarray(diagonal, float))[::-1]
    n = lam.size
    g = np.eye(n)
    cur = lam.copy()
    free = list(range(n))
    tol = 1e-9 * max(float(np.abs(lam).max()), 1e-300)
    for t in target[:-1]:
        hi = [i for i in free if cur[i] >= t - tol]
        lo = [j for j in free if cur[j] <= t + tol]
        if not hi or not lo:
            raise ValueError("the target diagonal is not majorised by the eigenvalues")
        i = max(hi, key=lambda k: cur[k])
        j = max((k for k in lo if k != i), key=lambda k: cur[k], default=None)
        if j is None:
            j = min((k for k in free if k != i), key=lambda k: cur[k])
        di, dj = cur[i], cur[j]
        if abs(di - dj) <= tol:
            c2 = 1.0
        else:
            c2 = float(np.clip((t - dj) / (di - dj), 0.0, 1.0))
        c, s = math.sqrt(c2), math.sqrt(1.0 - c2)
        rot = np.eye(n)
        rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, s, -s, c
        g = rot @ g
        cur[i], cur[j] = t, di + dj - t
        free.remove(i)
    got = np.sort(np.diag(g @ np.diag(lam) @ g.T))[::-1]
    if float(np.abs(got - target).max()) > 1e-7 * max(1.0, float(np.abs(lam).max())):
        raise ValueError("the target diagonal is not majorised by the eigenvalues")
    return g


def _weights(q: np.ndarray, v: np.ndarray, basis: np.ndarray, d: int) -> np.ndarray:
    """W (d × D) with WBWᵀ having diagonal v and B^{1/2}-rotated Gram diag(q) in `basis` (= B^{−1/2}E, D × r)."""
    order = np.argsort(-q)
    lam = np.zeros(d)
    k = min(d, q.size)
    lam[:k] = q[order][:k]
    g = schur_horn(lam, v) if d > 1 else np.eye(1)
    u = g[:, :k] * np.sqrt(np.clip(lam[:k], 0.0, None))[None, :]  # U in the sorted eigenbasis: UᵀU = diag(λ)
    return u @ basis[:, order[:k]].T


def _spectrum(q: np.ndarray, basis: np.ndarray, c: np.ndarray, d: int) -> np.ndarray:
    """eig(W C Wᵀ) (length d, descending) of any W = U basisᵀ with UᵀU = diag(q): eig(√q (basisᵀ C basis) √q)."""
    root = np.sqrt(np.clip(q, 0.0, None))
    ev = np.linalg.eigvalsh(root[:, None] * (basis.T @ c @ basis) * root[None, :])[::-1]
    out = np.zeros(d)
    k = min(d, ev.size)
    out[:k] = np.clip(ev[:k], 0.0, None)
    return out


# ---- VICReg ----------------------------------------------------------------------------------------------------------
def _waterfill(costs: np.ndarray, totals: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """x (G × n) minimising Σ costs·x + β Σ x² with Σ x = total ≥ 0, x ≥ 0, for each total (G,); and the level
    ν (G,).

    `costs` ascending. x_i = (ν − c_i)⁺/(2β); β = 0 puts every unit on the cheapest entry.
    """
    totals = np.asarray(totals, float)
    n = costs.size
    if beta <= 0:
        x = np.zeros((totals.size, n))
        x[:, 0] = totals
        return x, np.full(totals.size, costs[0])
    csum = np.cumsum(costs)
    k_idx = np.arange(1, n)
    breaks = (k_idx * costs[1:] - csum[:-1]) / (2 * beta)  # total at which entry k+1 starts to fill
    k = np.minimum(1 + np.searchsorted(breaks, totals, side="right"), n)
    nu = (2 * beta * totals + csum[k - 1]) / k
    x = np.clip(nu[:, None] - costs[None, :], 0.0, None) / (2 * beta)
    x[totals <= 0] = 0.0
    return x, nu


def vicreg_population(cov: np.ndarray, noise_cov: np.ndarray, d: int, weight_decay: float, *,
                      invariance: float = 25.0, variance: float = 25.0, covariance: float = 1.0,
                      batch_size: int | None = None, eps: float = VICREG_STD_EPS,
                      unit_noise: np.ndarray | None = None, noise_scale: float = 1.0) -> PopulationSolution:
    """The VICReg population minimiser (module docstring, (V1)–(V3)) for C = `cov`, S = `noise_cov` (D × D),
    d coordinates, weight decay γ, weights λ_inv/λ_var/λ_cov and a batch of N = `batch_size` pairs (None: N → ∞).

    `unit_noise`/`noise_scale` (S = noise_scale · unit_noise) only serve the critical noise scales. Returns a
    `PopulationSolution`; the loss equals (V1) at `weights` (tests/theory/test_population.py).
    """
    c, s = np.asarray(cov, float), np.asarray(noise_cov, float)
    dim = c.shape[0]
    b = c + s
    half = _whitening(b)                                  # D × r
    mmat = half.T @ (2 * invariance / d * s + weight_decay * np.eye(dim)) @ half
    m, e = np.linalg.eigh((mmat + mmat.T) / 2)            # ascending costs
    basis = half @ e                                      # D × r: w = basis @ u
    r = m.size
    beta = 2 * covariance / d
    fb = 0.0 if batch_size is None else 1.0 / (batch_size - 1)
    b1, bn = beta * (1 + fb), beta * fb
    a = 1.0 - eps
    hv = variance / d
    nused = min(d, r)

    def psi(v: np.ndarray) -> np.ndarray:
        return hv * np.clip(1 - np.sqrt(v + eps), 0.0, None) - (b1 + bn) * v**2

    def family(p: int, vs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(loss (G,), q (G × r), ν (G,)) with p rows alone on the p cheapest directions at std 1 and d − p rows
        sharing the row variance vs (G,) over the first min(d, r) directions (water-filled)."""
        pre = np.zeros(r)
        pre[:p] = a
        cost = (m + 2 * b1 * pre)[:nused]
        order = np.argsort(cost, kind="stable")
        x_sorted, nu = _waterfill(cost[order], (d - p) * vs, b1)
        q = np.zeros((vs.size, r))
        q[:, :nused][:, order] = x_sorted
        q += pre[None, :]
        total = p * a + (d - p) * vs
        loss = q @ m + b1 * (q**2).sum(1) + bn * total**2 + p * psi(np.array(a)) + (d - p) * psi(vs)
        return loss, q, nu

    grid = np.r_[0.0, np.geomspace(1e-9, a, GRID)]
    best: tuple[float, int, float] = (d * float(psi(np.array(0.0))), 0, 0.0)  # W = 0
    candidates: list[tuple[float, int, float]] = []
    # a coordinate alone on direction i at std 1 is stationary only if m_i ≤ λ_var/(2d) (the hinge's subgradient
    # at the kink), so at most that many (+1 for safety) directions are pre-filled
    p_max = min(nused, int(np.count_nonzero(m <= hv / 2)) + 1)
    for p in range(0, p_max + 1):
        vs = grid if p < d else np.array([a])
        loss, _, _ = family(p, vs)
        i = int(np.argmin(loss))
        candidates.append((float(loss[i]), p, i))
    candidates.sort()
    for loss0, p, i in candidates[:3]:  # golden-section refinement of the best grid points
        if p == d:
            val, vbest = loss0, a
        else:
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
            f = lambda v, p=p: float(family(p, np.array([v]))[0][0])  # noqa: E731
            g = (math.sqrt(5) - 1) / 2
            x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
            f1, f2 = f(x1), f(x2)
            for _ in range(40):
                if f1 <= f2:
                    hi, x2, f2 = x2, x1, f1
                    x1 = hi - g * (hi - lo)
                    f1 = f(x1)
                else:
                    lo, x1, f1 = x1, x2, f2
                    x2 = lo + g * (hi - lo)
                    f2 = f(x2)
            vbest, val = min(((grid[i], loss0), (x1, f1), (x2, f2)), key=lambda t: t[1])
        if val < best[0]:
            best = (val, p, float(vbest))
    loss, p, vs = best
    if p == 0 and vs == 0.0:
        q, nu, structure = np.zeros(r), float(m[0]) if r else 0.0, "collapsed"
        v = np.zeros(d)
    else:
        _, qg, nug = family(p, np.array([vs]))
        q, nu = qg[0], float(nug[0])
        v = np.r_[np.full(p, a), np.full(d - p, vs if p < d else a)]
        structure = ("stacked" if b1 <= 0 else "kink" if (p == 0 and vs >= a * (1 - 1e-9)) else
                     "shared" if p == 0 else "aligned+shared" if p < d else "aligned")
    q = np.where(q > _REL * max(float(q.max(initial=0.0)), 1e-300), q, 0.0)
    weights = _weights(q, v, basis, d) if q.any() else np.zeros((d, dim))
    spectrum = _spectrum(q, basis, c, d)
    crit = np.linalg.eigvalsh(nu * b - 2 * invariance / d * s)[::-1]
    notes: list[str] = []
    noise = _vicreg_noise_thresholds(c, unit_noise, nu, invariance, d, weight_decay) if unit_noise is not None \
        else None
    if b1 <= 0:
        notes.append("λ_cov = 0: nothing stops coordinates stacking on the cheapest direction (rank 1)")
    return PopulationSolution(objective="vicreg", rank=int((q > 0).sum()), spectrum=tuple(map(float, spectrum)),
                              costs=tuple(map(float, m)), direction_variance=tuple(map(float, q)),
                              row_variance=tuple(map(float, v)), level=nu, structure=structure, loss=float(loss),
                              critical_weight_decay=tuple(float(max(g, 0.0)) for g in crit),
                              critical_noise_scale=noise, weights=weights, notes=tuple(notes))


def _vicreg_noise_thresholds(c: np.ndarray, unit: np.ndarray, nu: float, invariance: float, d: int,
                             gamma: float) -> tuple[float, ...] | None:
    """Noise scales s at which m_i(s) = ν (ν held): m_i(s) = (2λ_inv s u_i/d + γ)/(c_i + s u_i) in a common
    eigenbasis of C and the unit noise U; None when C and U do not commute."""
    vec = common_eigenbasis(c, unit, rtol=1e-10)
    if vec is None:
        return None
    ci = basis_diagonal(vec, c)
    ui = basis_diagonal(vec, unit)
    k = 2 * invariance / d - nu
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = (nu * ci - gamma) / (k * ui)
    good = np.isfinite(roots) & (roots > 0) & (ui > 0)
    return tuple(sorted((float(x) for x in roots[good]), reverse=True))


# ---- standardised Barlow Twins ---------------------------------------------------------------------------------------
def barlow_population(cov: np.ndarray, noise_cov: np.ndarray, d: int, lam: float, *,
                      unit_noise: np.ndarray | None = None, noise_scale: float = 1.0) -> PopulationSolution:
    """The standardised Barlow Twins population minimiser ((B1)–(B2)) for C = `cov`, S = `noise_cov`, d coordinates
    and off-diagonal weight λ ∈ [0, 1] (ValueError above 1). Weight decay does not enter (module docstring)."""
    if lam > 1:
        raise ValueError(f"barlow_population needs λ ≤ 1, got {lam}")
    c, s = np.asarray(cov, float), np.asarray(noise_cov, float)
    dim = c.shape[0]
    half = _whitening(c + s)
    rmat = half.T @ c @ half
    rho, e = np.linalg.eigh((rmat + rmat.T) / 2)
    rho, e = np.clip(rho[::-1], 0.0, 1.0), e[:, ::-1]
    basis = half @ e
    npos = int((rho > _REL).sum())
    best: tuple[float, np.ndarray, float] | None = None
    if npos == 0:  # no direction has signal: every K_kk = 0
        q, level, loss = np.zeros(rho.size), 1.0, float(d)
        structure = "collapsed"
    elif lam <= 0:  # no off-diagonal penalty: every coordinate on the top direction
        q = np.zeros(rho.size)
        q[0] = d
        level, loss, structure = float(rho[1]) if rho.size > 1 else 0.0, d * (1 - float(rho[0])) ** 2, "stacked"
    else:
        for k in range(1, min(d, npos) + 1):
            p = rho[:k]
            # unknowns (α, μ, T) with q_i = α/(λρ_i) − μ/(2λρ_i²): Σq = d, T = Σρq, α = 1 − (1 − λ)T/d
            mat = np.array([[np.sum(1 / (lam * p)), -np.sum(1 / (2 * lam * p**2)), 0.0],
                            [k / lam, -np.sum(1 / (2 * lam * p)), -1.0],
                            [1.0, 0.0, (1 - lam) / d]])
            try:
                alpha, mu, _ = np.linalg.solve(mat, [d, 0.0, 1.0])
            except np.linalg.LinAlgError:
                continue
            qk = alpha / (lam * p) - mu / (2 * lam * p**2)
            if np.any(qk < -1e-12 * d):
                continue
            qk = np.clip(qk, 0.0, None)
            t = float(p @ qk)
            val = d - 2 * t + (1 - lam) * t**2 / d + lam * float((p**2 * qk**2).sum())
            if best is None or val < best[0]:
                full = np.zeros(rho.size)
                full[:k] = qk
                best = (val, full, float(mu / (2 * alpha)) if alpha > 0 else float("inf"))
        if best is None:  # k = 1 always gives q = (d): unreachable unless the inputs are not finite
            raise UserError("standardised Barlow Twins: no candidate solution (are the data and noise variances "
                            "finite and positive?)")
        loss, q, level = best
        structure = "simplex"
    v = np.ones(d)
    q = np.where(q > _REL * max(float(q.max(initial=0.0)), 1e-300), q, 0.0)
    weights = _weights(q, v, basis, d) if q.any() else np.zeros((d, dim))
    spectrum = _spectrum(q, basis, c, d)
    noise = None
    vec = common_eigenbasis(c, unit_noise, rtol=1e-10) if unit_noise is not None and 0 < level < 1 else None
    if vec is not None:
        ci = basis_diagonal(vec, c)
        ui = basis_diagonal(vec, unit_noise)
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = ci * (1 - level) / (level * ui)  # ρ_i(s) = c_i/(c_i + s u_i) = ρ_c
        good = np.isfinite(roots) & (roots > 0) & (ui > 0)
        noise = tuple(sorted((float(x) for x in roots[good]), reverse=True))
    return PopulationSolution(objective="barlow", rank=int((q > 0).sum()), spectrum=tuple(map(float, spectrum)),
                              costs=tuple(map(float, rho)), direction_variance=tuple(map(float, q)),
                              row_variance=tuple(map(float, v)), level=float(level), structure=structure,
                              loss=float(loss), critical_weight_decay=(), critical_noise_scale=noise,
                              weights=weights)


# ---- the solver table's row 'population' (sslscape.theory.solvers): covers (above), prediction, thresholds,
#      knob_changes ---------------------------------------------------------------------------------------------------
def _thresholds_of(sol: PopulationSolution) -> Thresholds:
    """VICReg: γ*_k with the water level ν held; Barlow: weight decay never acts (()), noise scales with ρ_c held."""
    if sol.objective == "vicreg":
        return Thresholds(kind="water_level", order="per_direction",
                          critical_weight_decay=tuple(sorted(sol.critical_weight_decay, reverse=True)),
                          critical_noise_scale=sol.critical_noise_scale)
    return Thresholds(kind="snr_level", order="per_direction", critical_weight_decay=(),
                      critical_noise_scale=sol.critical_noise_scale)


def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    return _thresholds_of(population_solution(spec, moments))


_STRUCTURES = {"shared": "every coordinate at the same std < 1", "kink": "every coordinate at std exactly 1",
               "aligned+shared": "some coordinates alone on cheap directions at std 1",
               "aligned": "every coordinate alone on a direction at std 1",
               "stacked": "coordinates stacked on the cheapest direction", "collapsed": "W = 0"}


def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The population minimiser as the theory's answer (module docstring; milliseconds)."""
    sol = population_solution(spec, moments)
    d = spec.embed_dim or moments.dim
    if sol.objective == "vicreg":
        notes = [f"VICReg population closed form: view variance is water-filled over data directions by cost "
                 f"m_k = (2λ_inv s_k/d + γ)/(c_k + s_k); direction k is used iff m_k < ν, here ν = {sol.level:.4g} "
                 f"({sol.structure}: {_STRUCTURES.get(sol.structure, sol.structure)})",
                 "critical weight decays hold ν at its value here; where the rank changes as a knob moves "
                 "(ν moves with it): sslscape advise"]
        if spec.batch_size is None:
            notes.append("large-batch limit (N → ∞); with batch_size set, the covariance penalty's (v_k v_l)/(N − 1) "
                         "bias is included")
    else:
        notes = [f"standardised Barlow Twins, population closed form: direction k is used iff its signal-to-noise "
                 f"ratio ρ_k = c_k/(c_k + s_k) exceeds ρ_c = {sol.level:.4g}; weight decay never changes the rank "
                 "(scale-invariant up to BN's ε, an O(√(γε)) correction); the spectrum has unit-variance "
                 "coordinates (the scale is free)"]
    notes += list(sol.notes)
    return make_prediction(spec, alive=sol.rank, spectrum=sol.spectrum, thresholds=_thresholds_of(sol),
                           capacity=capacity_of(spec, moments), notes=notes, method=f"population_{sol.objective}",
                           loss=sol.loss, embed_dim=d)


def knob_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The water level ν (VICReg) and the SNR level ρ_c (Barlow) move with every knob, so their frozen-level values
    are not the rank changes: scan the closed form (None), except where a knob never acts."""
    if knob == "temperature":
        return [], f"{spec.objective} has no temperature"
    if spec.objective == "barlow" and knob in ("weight_decay", "batch_size"):
        return [], (f"standardised Barlow Twins is scale-invariant: the {knob.replace('_', ' ')} never changes which "
                    "directions survive (their signal-to-noise ratio against ρ_c decides; docs/theory.md §12)")
    return None, ""


__all__ = ["PopulationSolution", "barlow_population", "covers", "knob_changes", "population_solution", "prediction",
           "schur_horn", "thresholds", "vicreg_population"]
