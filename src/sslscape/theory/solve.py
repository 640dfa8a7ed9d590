"""Global minima of the quartic landscape: closed forms where they exist, a numerical referee everywhere.

Closed form (depth 1). When every quartic term is Tr[ŴXŴᵀŴYŴᵀ] with X, Y ∝ one PSD matrix B, the landscape is
−Tr[Ŵ A′ Ŵᵀ] + Tr[(Ŵ B Ŵᵀ)²] with A′ = A − γG (B rescaled to absorb the coefficient). With M = Ŵ B^{1/2} it becomes
−Tr[Q P] + Tr[P²] in P = MᵀM (PSD, rank ≤ d), Q = B^{-1/2} A′ B^{-1/2}; the minimiser keeps the top d positive
eigenpairs (q_k, y_k) of Q with P = Σ (q_k/2) y_k y_kᵀ, loss −Σ q_k²/4. Hence ŴᵀŴ = Σ (q_k/2) v_k v_kᵀ with
v_k = B^{-1/2} y_k (generalised eigenvectors of (A′, B)), and the rank is the number of positive eigenvalues of
A′ (Sylvester), capped by d. Directions where B is singular carry no quartic penalty: they are eliminated
exactly (Schur complement of A′) and, if A′ is positive on them, the loss is unbounded below.

Closed form (depth L, A and B commuting, no bias). A balanced deep linear net W = W_L⋯W_1 with γ Σ‖W_l‖² has
regulariser γ L Σ_k σ_k(W)^{2/L}. In the common eigenbasis each direction k solves a 1-D problem in p = σ_k²:
    f_k(p) = −a_k p + β_k² p² + γ L p^{1/L}
and survives iff min_p f_k < 0, i.e. γ < γ*_k = a_k u^{(L−1)/L}/(2L − 1), u = a_k (L − 1)/(β_k² (2L − 1)).
For L ≥ 2 the transition is discontinuous (W = 0 stays a local minimum) and, unlike depth 1, the quartic
coefficient β_k — hence the augmentation — moves the threshold.

Closed form (depth 1, every matrix commuting, mixed product / trace / row terms: raw Barlow Twins with λ < 1 or a
finite batch). A convex quadratic in the column norms bounds the loss from below and is attained by orthogonal
columns mixed equally over the rows (`commuting_minimum`, docs/theory.md §13).

`numerical_minimum` minimises the same polynomial from many random starts (L-BFGS, float64): the referee of
the closed forms in `tests/theory/test_solve.py`, and the answer where no closed form exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..diagnostics.rank import numerical_rank
from ..errors import UserError
from ..moments import Moments, unit_noise_cov
from ..spec import Spec
from ._clock import Clock, OutOfTime
from ._linalg import basis_diagonal, common_eigenbasis
from .landscape import Landscape, landscape, quartic_loss
from .prediction import Prediction, TheoryDeclined, Thresholds, Values, capacity_of, make_prediction

if TYPE_CHECKING:  # torch only where the polynomial is minimised numerically: the closed forms stay light
    import torch

# Eigenvalues of A − γG within this relative distance of zero count as zero (rounding, not physics).
EIG_RTOL = 1e-12
SOLVER_FLOOR = 1e-6  # a numerically minimised polynomial: directions below 1e-6 of the top are zero


@dataclass(frozen=True, kw_only=True)
class Minimum:
    weights: np.ndarray               # Ŵ = W_L⋯W_1 (d × D̂), bias in the last column when present
    loss: float                       # landscape value (without constants)
    spectrum: np.ndarray              # predicted eigenvalues of Ŵ Cov(x̂) Ŵᵀ, descending, length d
    rank: int                         # rank of the embedding covariance
    method: str                       # 'closed_form', 'closed_form_depth', 'closed_form_commuting', 'numerical'
    converged: bool = True            # numerical: False when stopped by the time budget (the best point so far)


def single_product_form(land: Landscape, rtol: float = 1e-9) -> np.ndarray | None:
    """B with quartic = Tr[(ŴBŴᵀ)²] if the landscape has that form, else None."""
    if not land.expandable or not land.terms or any(t.kind != "product" for t in land.terms):
        return None
    ref = land.terms[0].x
    norm = np.sum(ref * ref)
    if norm == 0:
        return None
    kappa = 0.0
    for t in land.terms:
        ax, ay = np.sum(t.x * ref) / norm, np.sum(t.y * ref) / norm
        if (np.linalg.norm(t.x - ax * ref) > rtol * np.linalg.norm(t.x)
                or np.linalg.norm(t.y - ay * ref) > rtol * np.linalg.norm(t.y)):
            return None
        kappa += t.coef * ax * ay
    return np.sqrt(kappa) * ref if kappa > 0 else None


def embedding_spectrum(weights: np.ndarray, data_cov: np.ndarray, embed_dim: int) -> np.ndarray:
    ev = np.linalg.eigvalsh(weights @ data_cov @ weights.T)[::-1]
    out = np.zeros(embed_dim)
    out[: min(embed_dim, ev.size)] = np.clip(ev[:embed_dim], 0.0, None)
    return out


def count_rank(spectrum: np.ndarray, rtol: float, atol: float = 0.0) -> int:
    """#eigenvalues above rtol × the largest and above atol (a vanishing W has rank 0, not d)."""
    top = float(spectrum.max(initial=0.0))
    return 0 if top <= max(atol, 1e-300) else int(np.sum(spectrum > max(rtol * top, atol)))


def absolute_floor(data_cov: np.ndarray) -> float:
    """Embedding variances below this (relative to the data's largest variance) count as zero."""
    return 1e-12 * max(float(np.abs(data_cov).max()), 1e-300)


def _eliminate_unpenalised(a_eff: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                       np.ndarray, np.ndarray]:
    """Split into range(B) and null(B); return (lam_r, U_r, Schur A in U_r coordinates, U_n, elimination map)."""
    lam, u = np.linalg.eigh(b)
    keep = lam > 1e-12 * max(lam.max(initial=0.0), 1e-300)
    u_r, u_n, lam_r = u[:, keep], u[:, ~keep], lam[keep]
    if u_n.shape[1] == 0:
        return lam_r, u_r, u_r.T @ a_eff @ u_r, u_n, np.zeros((lam_r.size, 0))
    a_rr, a_rn, a_nn = u_r.T @ a_eff @ u_r, u_r.T @ a_eff @ u_n, u_n.T @ a_eff @ u_n
    scale = max(np.abs(a_eff).max(), 1e-300)
    if np.linalg.eigvalsh(a_nn).max() > 1e-10 * scale:
        raise UserError("the landscape is unbounded below: a direction with no quartic penalty (zero variance in "
                        "the quartic term) still has a positive quadratic coefficient; raise weight_decay or give "
                        "that direction some data/augmentation variance")
    pinv = np.linalg.pinv(a_nn, rcond=1e-10)
    elim = -(a_rn @ pinv)  # W_n = W_r · elim  (coordinates)
    return lam_r, u_r, a_rr - a_rn @ pinv @ a_rn.T, u_n, elim


def generalised_rows(a_rot: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closed form's algebra, batched over leading axes (module docstring).

    a_rot (..., D, D): A′ in B's eigenbasis; lam (..., D): B's eigenvalues (all positive). Returns q (..., D), the
    eigenvalues of Q = B^{-1/2} A′ B^{-1/2} descending, and rows (..., D, D): row k = √(max(q_k, 0)/2) (B^{-1/2} y_k)ᵀ
    in B's eigenbasis, so the minimiser with d rows is the first min(d, #positive q) rows.
    """
    inv_sqrt = 1.0 / np.sqrt(lam)
    q, y = np.linalg.eigh(inv_sqrt[..., :, None] * a_rot * inv_sqrt[..., None, :])
    q, y = q[..., ::-1], y[..., ::-1]
    rows = np.sqrt(np.clip(q, 0.0, None) / 2)[..., :, None] * np.swapaxes(y * inv_sqrt[..., :, None], -1, -2)
    return q, rows


def positive_count(q: np.ndarray) -> np.ndarray:
    """#eigenvalues of Q above rounding (EIG_RTOL × the largest magnitude), over the last axis."""
    return np.sum(q > EIG_RTOL * np.maximum(np.abs(q).max(axis=-1, keepdims=True), 1e-300), axis=-1)


def closed_form_minimum(land: Landscape, b: np.ndarray) -> Minimum:
    """Depth-1 global minimum of −Tr[ŴA′Ŵᵀ] + Tr[(ŴBŴᵀ)²] (module docstring)."""
    lam_r, u_r, a_schur, u_n, elim = _eliminate_unpenalised(land.effective_quadratic, b)
    q, rows = generalised_rows(a_schur, lam_r)
    k = int(min(land.embed_dim, positive_count(q)))
    w_r = np.zeros((land.embed_dim, lam_r.size))
    w_r[:k] = rows[:k]
    weights = w_r @ u_r.T + (w_r @ elim) @ u_n.T
    spec = embedding_spectrum(weights, land.data_cov, land.embed_dim)
    rank = count_rank(spec, 1e-10, absolute_floor(land.data_cov))  # round-off of exact zeros is not a direction
    return Minimum(weights=weights, loss=float(-np.sum(q[:k] ** 2) / 4), spectrum=spec, rank=rank,
                   method="closed_form")


def closed_form_grid(quadratic: np.ndarray, product: np.ndarray, data_cov: np.ndarray, gammas: np.ndarray,
                     dims: tuple[int, ...] | list[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Embedding spectra and ranks of the depth-1 closed-form minimum for many landscapes at once (the
    interactive explorer's grid; the same algebra as `closed_form_minimum`, `generalised_rows`).

    quadratic, product: (P, D, D) — A and B of P landscapes −Tr[WAWᵀ] + Tr[(WBWᵀ)²] + γ‖W‖² (no bias: G = I);
    data_cov (D, D); gammas (G,) weight decays; dims: embedding sizes. Returns spectra (P, G, len(dims), max(dims))
    (descending, zero-padded beyond each size) and ranks (P, G, len(dims)) counted with `count_rank`'s rule, or
    None where some B is singular (`closed_form_minimum` then eliminates unpenalised directions first).
    """
    lam, u = np.linalg.eigh(product)                                          # (P, D), (P, D, D)
    if np.any(lam <= 1e-12 * np.maximum(lam.max(axis=-1, keepdims=True), 1e-300)):
        return None
    dim = quadratic.shape[-1]
    ut = np.swapaxes(u, -1, -2)[:, None]
    a_rot = ut @ (quadratic[:, None] - gammas[None, :, None, None] * np.eye(dim)) @ u[:, None]   # (P, G, D, D)
    q, rows = generalised_rows(a_rot, np.broadcast_to(lam[:, None], a_rot.shape[:-1]))
    alive = positive_count(q)                                                 # (P, G)
    rows = rows @ ut                                                          # back to the input basis
    floor = absolute_floor(data_cov)
    spectra = np.zeros((*alive.shape, len(dims), max(dims)))
    ranks = np.zeros((*alive.shape, len(dims)), dtype=np.int64)
    for j, d in enumerate(dims):  # one batched eigen-decomposition per embedding size
        keep = np.arange(min(d, dim)) < np.minimum(alive, d)[..., None]
        w = rows[..., : min(d, dim), :] * keep[..., None]
        spec = np.clip(np.linalg.eigvalsh(w @ data_cov @ np.swapaxes(w, -1, -2))[..., ::-1], 0.0, None)
        spectra[..., j, : spec.shape[-1]] = spec
        top = spec.max(axis=-1, initial=0.0)
        ranks[..., j] = np.where(top <= max(floor, 1e-300), 0,
                                 (spec > np.maximum(1e-10 * top, floor)[..., None]).sum(axis=-1))
    return spectra, ranks


def depth_profile(a: np.ndarray, beta2: np.ndarray, gamma: float | np.ndarray,
                  depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Per direction: minimiser p* ≥ 0 and minimum of f(p) = −a p + β² p² + γ L p^{1/L}; broadcasts over arrays."""
    a, beta2 = np.asarray(a, float), np.maximum(np.asarray(beta2, float), 1e-300)
    gamma = np.asarray(gamma, float)
    if depth == 1:
        p = np.maximum(a - gamma, 0.0) / (2 * beta2)
        return p, -(np.maximum(a - gamma, 0.0) ** 2) / (4 * beta2)
    big_l = depth
    a, beta2, gamma = np.broadcast_arrays(a, beta2, gamma)

    def fprime(p: np.ndarray) -> np.ndarray:
        return -a + 2 * beta2 * p + gamma * p ** (1.0 / big_l - 1.0)

    # f' is decreasing below its minimum at p_c (f''(p_c) = 0) and increasing beyond, with f'(a / 2β²) > 0:
    # bisecting on [p_c, max(a / 2β², 2 p_c)] finds the local minimum of f whenever one exists (f'(p_c) < 0)
    p_c = np.maximum(inflection_point(beta2, gamma, big_l), 1e-300)
    lo, hi = p_c, np.maximum(a / (2 * beta2), 2 * p_c)
    for _ in range(200):  # fixed-count vectorised bisection: ~1e-60 relative bracket, no data-dependent loop
        mid = 0.5 * (lo + hi)
        neg = fprime(mid) < 0
        lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
    p = 0.5 * (lo + hi)
    val = -a * p + beta2 * p**2 + gamma * big_l * p ** (1.0 / big_l)
    alive = (val < 0) & (a > 0)
    return np.where(alive, p, 0.0), np.where(alive, val, 0.0)


def inflection_point(beta2: np.ndarray, gamma: np.ndarray, depth: int) -> np.ndarray:
    """p_c where f''(p) = 2β² − γ (1 − 1/L) p^{1/L − 2} vanishes: p_c = (γ (L − 1) / (2 L β²))^{L/(2L − 1)}."""
    return (gamma * (depth - 1) / (2 * depth * beta2)) ** (depth / (2 * depth - 1))


def depth_metastable_weight_decay(a: np.ndarray, beta2: np.ndarray, depth: int) -> np.ndarray:
    """γ_sp_k below which direction k has a *local* minimum p* > 0 (the spinodal of the discontinuous transition).

    A local minimum exists iff min_p f'(p) = f'(p_c) < 0; at p_c, γ p_c^{1/L−1} = 2Lβ² p_c/(L − 1), so
    f'(p_c) = −a + 2β² p_c (2L − 1)/(L − 1), zero at p_c = a (L − 1)/(2β² (2L − 1)), i.e.
    γ_sp = 2Lβ² p_c^{(2L−1)/L}/(L − 1). For γ* < γ < γ_sp the direction is metastable: training that starts
    (or passes) inside its basin keeps it, training from a small initialisation loses it.
    """
    a = np.maximum(np.asarray(a, float), 0.0)
    if depth == 1:
        return a
    beta2 = np.maximum(np.asarray(beta2, float), 1e-300)
    p_c = a * (depth - 1) / (2 * beta2 * (2 * depth - 1))
    return 2 * depth * beta2 * p_c ** ((2 * depth - 1) / depth) / (depth - 1)


def depth_critical_weight_decay(a: np.ndarray, beta2: np.ndarray, depth: int) -> np.ndarray:
    """γ*_k above which direction k's global minimum is W = 0 (module docstring); a_k ≤ 0 gives 0."""
    a = np.asarray(a, float)
    if depth == 1:
        return np.maximum(a, 0.0)
    u = np.maximum(a, 0.0) * (depth - 1) / (np.maximum(beta2, 1e-300) * (2 * depth - 1))
    return np.maximum(a, 0.0) * u ** ((depth - 1) / depth) / (2 * depth - 1)


def depth_closed_form_minimum(land: Landscape, b: np.ndarray, depth: int) -> Minimum | None:
    """Depth-L global minimum when A and B commute and there is no bias; None otherwise."""
    if not np.allclose(land.decay, np.eye(land.input_dim)):
        return None
    e = common_eigenbasis(land.quadratic, b)
    if e is None:
        return None
    a_k = np.einsum("ik,ij,jk->k", e, land.quadratic, e)
    beta2 = np.einsum("ik,ij,jk->k", e, b, e) ** 2
    p, val = depth_profile(a_k, beta2, land.weight_decay, depth)
    order = np.argsort(val, kind="stable")[: land.embed_dim]
    order = order[val[order] < 0]
    weights = np.zeros((land.embed_dim, land.input_dim))
    weights[: order.size] = np.sqrt(p[order])[:, None] * e[:, order].T
    spec = embedding_spectrum(weights, land.data_cov, land.embed_dim)
    return Minimum(weights=weights, loss=float(val[order].sum()), spectrum=spec,
                   rank=count_rank(spec, 1e-12, absolute_floor(land.data_cov)), method="closed_form_depth")


def commuting_minimum(land: Landscape, rtol: float = 1e-9) -> Minimum | None:
    """Depth-1 global minimum when every matrix of the landscape commutes (docs/theory.md §13), else None.

    In the common eigenbasis E the loss depends on Ŵ through its columns c_i (Ŵ E = [c_1 … c_D̂]) and the rows'
    squared entries P_ki. With n_i = ‖c_i‖², a_i, g_i, x_i, y_i the diagonals:
        quadratic  −Σ (a_i − γ g_i) n_i                                     (exact in n)
        trace      c (x·n)(y·n)                                              (exact in n)
        product    c Σ_ij x_i y_j (c_i·c_j)² ≥ c Σ_i x_i y_i n_i²           (x, y ≥ 0; equality: orthogonal columns)
        row        Σ_k P_kᵀ R P_k ≥ nᵀ R n / d,  R = Σ c sym(x yᵀ) PSD       (Jensen; equality: P_k = n/d for all k)
    so L(Ŵ) ≥ g(n) = −bᵀn + ½ nᵀHn, a convex quadratic over n ≥ 0 solved exactly (NNLS on H's Cholesky factor).
    The bound is attained — hence the global minimum — by orthogonal columns √n_i q_i whose squared entries are
    all 1/d when row terms exist (q_i: columns of a Hadamard matrix; d a power of 2, or ≤ 2 active directions
    with d even, or 1 active direction). Where it cannot be attained (more active directions than d, no such
    matrix, a sign condition fails) this returns None and the numerical minimiser answers. The candidate's value
    is checked against the polynomial itself (`quartic_value_and_grad`) before it is returned.
    Covers raw Barlow Twins with λ < 1 and/or a finite batch (rows stack onto the top directions: each row mixes
    every surviving direction equally), and any commuting landscape outside the single-product form.
    Tests: tests/theory/test_solve.py (against `numerical_minimum` on random commuting landscapes).
    """
    if not land.expandable:
        return None
    mats = [land.quadratic, land.decay] + [m for t in land.terms for m in (t.x, t.y)]
    e = common_eigenbasis(*mats, rtol=rtol)  # symmetrises them; xᵀMx only sees M's symmetric part either way
    if e is None:
        return None  # some pair does not commute
    scales = [max(float(np.abs(m).max()), 1e-300) for m in mats]
    diag = [basis_diagonal(e, m) for m in mats]
    d, dim = land.embed_dim, land.input_dim
    b = diag[0] - land.weight_decay * diag[1]
    h = np.zeros((dim, dim))
    row = np.zeros((dim, dim))
    for j, t in enumerate(land.terms):
        x, y = diag[2 + 2 * j], diag[3 + 2 * j]
        outer = t.coef * (np.outer(x, y) + np.outer(y, x)) / 2
        if t.kind == "product":
            if t.coef < 0 or min(x.min(), y.min()) < -rtol * max(scales[2 + 2 * j], scales[3 + 2 * j]):
                return None
            h += 2 * t.coef * np.diag(x * y)
        elif t.kind == "trace":
            h += 2 * outer
        else:
            row += outer
    if row.any() and np.linalg.eigvalsh(row).min() < -rtol * np.abs(row).max():
        return None  # Jensen needs a convex row term
    h += 2 * row / d
    return _commuting_candidate(land, e, b, h, has_rows=bool(row.any()))


def _commuting_candidate(land: Landscape, e: np.ndarray, b: np.ndarray, h: np.ndarray,
                         has_rows: bool) -> Minimum | None:
    """Solve min_{n ≥ 0} −bᵀn + ½nᵀHn, build the Ŵ that attains the bound, verify it (`commuting_minimum`)."""
    from scipy.optimize import nnls  # where used: importing the theory stays cheap

    d, dim = land.embed_dim, land.input_dim
    # with H ≥ 0 entrywise a direction with b_i ≤ 0 only raises g; the rest need H positive definite
    if np.any(h < -1e-12 * max(np.abs(h).max(), 1e-300)):
        return None
    cand = np.flatnonzero(b > EIG_RTOL * max(np.abs(b).max(), 1e-300))
    n = np.zeros(dim)
    if cand.size:
        hs = h[np.ix_(cand, cand)]
        ev = np.linalg.eigvalsh(hs)
        if ev[0] <= 1e-9 * max(ev[-1], 1e-300):
            return None  # a flat direction of g (e.g. λ = 0 without a batch): the minimiser is not unique
        chol = np.linalg.cholesky(hs)  # H = L Lᵀ: g = ½‖Lᵀn − L⁻¹b‖² + const
        n[cand] = nnls(chol.T, np.linalg.solve(chol, b[cand]), maxiter=50 * cand.size)[0]
    active = np.flatnonzero(n > 1e-12 * max(n.max(initial=0.0), 1e-300))
    k = active.size
    if k > d:
        return None
    q = _equal_mixing(d, k) if has_rows else np.eye(d)[:, :k]
    if q is None:
        return None
    weights = (q * np.sqrt(n[active])) @ e[:, active].T
    value = float(-b @ n + n @ h @ n / 2)
    check = float(quartic_value_and_grad(land, weights[None])[0][0])
    if abs(check - value) > 1e-8 * max(abs(value), 1e-12):
        return None  # the bound is not attained by this construction
    spec = embedding_spectrum(weights, land.data_cov, d)
    return Minimum(weights=weights, loss=value, spectrum=spec,
                   rank=count_rank(spec, 1e-10, absolute_floor(land.data_cov)), method="closed_form_commuting")


def _equal_mixing(d: int, k: int) -> np.ndarray | None:
    """d × k, orthonormal columns, every entry ±1/√d (columns of a Hadamard matrix), or None if not built here."""
    if k == 0:
        return np.zeros((d, 0))
    if d & (d - 1) == 0:  # Sylvester: every power of 2
        from scipy.linalg import hadamard

        return hadamard(d)[:, :k] / np.sqrt(d)
    if k <= 2 and (k == 1 or d % 2 == 0):
        cols = np.stack([np.ones(d), (-1.0) ** np.arange(d)], axis=1)
        return cols[:, :k] / np.sqrt(d)
    return None


def quartic_value_and_grad(land: Landscape, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The landscape polynomial (as `quartic_loss`) and its gradient at a stack of Ŵ, shape (S, d, D̂), in numpy.

    With K_X = Ŵ X Ŵᵀ (X, Y symmetrised): ∇ −tr(Ŵ A Ŵᵀ) = −2ŴA, ∇ γ tr(Ŵ G Ŵᵀ) = 2γŴG, and for a quartic term
    product c tr(K_X K_Y) → 2c (K_Y Ŵ X + K_X Ŵ Y); trace c tr K_X tr K_Y → 2c (tr K_Y ŴX + tr K_X ŴY);
    row c Σ_k (K_X)_kk (K_Y)_kk → 2c (diag K_Y ŴX + diag K_X ŴY). Returns (values (S,), gradients (S, d, D̂)).
    Tests: tests/theory/test_solve.py (against torch autodiff of `quartic_loss`).
    """
    return _polynomial(land)(w)


def _polynomial(land: Landscape) -> Any:
    """`quartic_value_and_grad` with the symmetrised coefficients computed once (the minimiser calls it often)."""
    sym = lambda a: (a + a.T) / 2  # noqa: E731
    quad = sym(land.quadratic) * -1.0 + land.weight_decay * sym(land.decay)
    terms = [(t.kind, t.coef, sym(t.x), sym(t.y)) for t in land.terms]

    def value_and_grad(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wq = w @ quad
        value = np.einsum("sij,sij->s", wq, w)
        grad = 2.0 * wq
        for kind, coef, x, y in terms:
            wx, wy = w @ x, w @ y
            kx, ky = wx @ np.swapaxes(w, 1, 2), wy @ np.swapaxes(w, 1, 2)
            if kind == "product":
                value = value + coef * np.einsum("sij,sij->s", kx, ky)
                grad = grad + 2.0 * coef * (ky @ wx + kx @ wy)
            elif kind == "trace":
                tx, ty = np.trace(kx, axis1=1, axis2=2), np.trace(ky, axis1=1, axis2=2)
                value = value + coef * tx * ty
                grad = grad + 2.0 * coef * (ty[:, None, None] * wx + tx[:, None, None] * wy)
            else:
                dx, dy = np.diagonal(kx, axis1=1, axis2=2), np.diagonal(ky, axis1=1, axis2=2)
                value = value + coef * np.sum(dx * dy, axis=1)
                grad = grad + 2.0 * coef * (dy[:, :, None] * wx + dx[:, :, None] * wy)
        return value, grad

    return value_and_grad


def _numerical_minimum_depth1(land: Landscape, n_starts: int, seed: int, max_iter: int,
                              clock: Clock) -> tuple[float, np.ndarray]:
    """Depth 1: scipy's L-BFGS on the numpy polynomial and gradient (`quartic_value_and_grad`), one call per start
    (each converges on its own scale; no per-iteration torch overhead). Starts drawn like the depth ≥ 2 path's
    (scales 0.5 and 2 × √max|A| alternately), up to `n_starts`, stopping once three starts reached the same lowest
    value. `clock` ticks per evaluation (OutOfTime ends the search: the best point evaluated so far is kept).
    Returns the best (value, Ŵ)."""
    from scipy.optimize import minimize  # where used: importing the theory stays cheap

    rng = np.random.default_rng(seed)
    d, dim = land.embed_dim, land.input_dim
    scale = float(np.sqrt(max(np.abs(land.quadratic).max(), 1e-12)))
    poly = _polynomial(land)
    best: tuple[float, np.ndarray] = (float("inf"), np.zeros((d, dim)))
    seen: list[tuple[float, np.ndarray]] = [best]  # the best point evaluated, for a search stopped by the clock

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = poly(flat.reshape(1, d, dim))
        if np.isfinite(v[0]) and v[0] < seen[0][0]:
            seen[0] = (float(v[0]), flat.reshape(d, dim).copy())
        clock.tick()
        return float(v[0]), g.ravel()

    hits = 0  # starts that reached the best value so far (to 1e-9 relative)
    for start in range(n_starts):
        w0 = (0.5 if start % 2 == 0 else 2.0) * scale * rng.standard_normal(d * dim) / np.sqrt(dim)
        try:
            res = minimize(fun, w0, jac=True, method="L-BFGS-B",
                           options={"maxiter": max_iter, "maxcor": 50, "gtol": 1e-12, "ftol": 1e-16})
        except OutOfTime:
            return seen[0] if seen[0][0] < best[0] else best
        if not np.isfinite(res.fun):
            continue
        if res.fun < best[0] - 1e-9 * max(1.0, abs(best[0])) or not np.isfinite(best[0]):
            best, hits = (float(res.fun), res.x.reshape(d, dim)), 1
        else:
            hits += res.fun <= best[0] + 1e-9 * max(1.0, abs(best[0]))
            if res.fun < best[0]:
                best = (float(res.fun), res.x.reshape(d, dim))
        if hits >= 3:  # three independent starts (one from each scale at least) found the same minimum
            break
    return best


N_STARTS = 6             # random starts of the numerical minimiser
EVALS_PER_START = 400    # polynomial evaluations an L-BFGS start typically takes (measured: 200–450 at D = 128)
LBFGS_SECONDS = 6.6e-9   # L-BFGS-B's own work per evaluation, per variable and stored correction (maxcor 50):
#                          5.4 ms of the 7.5 ms an evaluation took at d = D = 128 (2-core CPU container, 2026-12-08)
def numerical_minimum(land: Landscape, depth: int = 1, n_starts: int = N_STARTS, seed: int = 0,
                      max_iter: int = 500, *, max_seconds: float | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Minimum:
    """Minimise the landscape polynomial from `n_starts` random starts (float64 L-BFGS); keep the best.

    Depth 1: numpy + scipy, one L-BFGS call per start (`_numerical_minimum_depth1`); depth ≥ 2: torch on the factors
    (`_numerical_minimum_deep`; weight decay acts on each). Cost ∝ d·D² per evaluation (`estimate_numerical_seconds`:
    minutes at D ≈ 800). `progress(done, expected)` per evaluation; after `max_seconds` the best point so far is
    returned with `converged=False`."""
    if not land.expandable:
        raise ValueError(f"no quartic landscape: {land.reason}")
    clock = Clock(n_starts * EVALS_PER_START, progress, max_seconds)
    if depth == 1:
        value, w = _numerical_minimum_depth1(land, n_starts, seed, max_iter, clock)
    else:
        value, w = _numerical_minimum_deep(land, depth, n_starts, seed, max_iter, clock)
    if not np.isfinite(value) or value > 0.0:  # the collapsed point W = 0 (loss 0) is always a candidate
        value, w = 0.0, np.zeros((land.embed_dim, land.input_dim))
    spec = embedding_spectrum(w, land.data_cov, land.embed_dim)
    # L-BFGS on the polynomial converges tightly (dead directions end ≤ 1e-10 of the top): the theory's count is
    # the numerical rank above a solver-precision floor, not the measurement's collapse rule
    floor = max(SOLVER_FLOOR * float(spec.max(initial=0.0)), absolute_floor(land.data_cov))
    return Minimum(weights=w, loss=value, spectrum=spec, rank=numerical_rank(spec, floor), method="numerical",
                   converged=not clock.out_of_time)


def estimate_numerical_seconds(land: Landscape, depth: int = 1, n_starts: int = N_STARTS) -> float:
    """About how long `numerical_minimum` takes: per evaluation, a timed evaluation of the polynomial and its
    gradient plus L-BFGS-B's own work (`LBFGS_SECONDS` per variable and stored correction: it dominates for a large
    Ŵ), × the evaluations a search usually needs (`EVALS_PER_START` for each of the three starts that usually settle
    it). Within a factor of about 2 (D = 128: 9 s estimated, 9.5 s taken); the machine's load moves it as much.
    Depth ≥ 2 evaluates L factors of width max(d, D) and prunes directions: ×(2L + 2)."""
    import time

    poly = _polynomial(land)
    w = np.random.default_rng(0).standard_normal((1, land.embed_dim, land.input_dim)) * 1e-2
    t = time.perf_counter()
    poly(w)
    t_poly = time.perf_counter() - t
    if t_poly < 0.02:  # short enough to time again without the first call's set-up
        t = time.perf_counter()
        for _ in range(3):
            poly(w)
        t_poly = (time.perf_counter() - t) / 3
    overhead = LBFGS_SECONDS * land.embed_dim * land.input_dim * 50
    factor = 1.0 if depth == 1 else 2.0 * depth + 2.0
    return float((t_poly + overhead) * min(n_starts, 3) * EVALS_PER_START * factor)


def _numerical_minimum_deep(land: Landscape, depth: int, n_starts: int, seed: int, max_iter: int,
                            clock: Clock) -> tuple[float, np.ndarray]:
    """Depth ≥ 2: torch L-BFGS on the L factors from `n_starts` starts (small random ones and, every other start,
    all singular values beyond the quartic barrier), each pruned of directions that do not pay. Returns the best
    (value, Ŵ) — (inf, 0) if no start ended finite; a start stopped by the clock keeps its point so far."""
    import torch

    from ._optim import deep_shapes, lbfgs_minimise, product

    gen = torch.Generator().manual_seed(seed)
    scale = float(np.sqrt(max(np.abs(land.quadratic).max(), 1e-12)))
    best: tuple[float, np.ndarray] = (float("inf"), np.zeros((land.embed_dim, land.input_dim)))
    shapes = deep_shapes(land.embed_dim, land.input_dim, depth)
    for start in range(n_starts):
        if start % 2 == 1:
            # every singular value of the product well beyond its barrier: each direction then descends to its
            # non-zero local minimum when it has one, and pruning below removes those that do not pay
            big = 1.5 * _quartic_balance_scale(land)
            factors = [(big ** (1 / depth) * _random_orthogonal(s, gen)).requires_grad_() for s in shapes]
        else:
            factors = [(0.5 * scale ** (1 / depth) * torch.randn(s, generator=gen, dtype=torch.float64)
                        / np.sqrt(s[1])).requires_grad_() for s in shapes]
        try:
            value = lbfgs_minimise(factors, partial(_deep_loss, land, factors, depth, clock), max_iter, 1e-13, 1e-16)
        except OutOfTime:
            with torch.no_grad():
                value = float(_deep_loss(land, factors, depth))
        w = product(factors).detach().numpy()
        if np.isfinite(value) and not clock.out_of_time:
            value, w = _prune_directions(land, depth, value, w, max_iter, clock)
        if np.isfinite(value) and value < best[0]:
            best = (value, w)
        if clock.out_of_time:
            break
    return best


def _quartic_balance_scale(land: Landscape) -> float:
    """Singular value at which the quartic terms outweigh the quadratic one: √(‖A‖ / Σ_t |c_t| ‖X_t‖ ‖Y_t‖)."""
    quartic = sum(abs(t.coef) * np.linalg.norm(t.x, 2) * np.linalg.norm(t.y, 2) for t in land.terms)
    return float(np.sqrt(np.linalg.norm(land.quadratic, 2) / max(quartic, 1e-300)))


def _random_orthogonal(shape: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """A (rows, cols) matrix with orthonormal rows or columns (all singular values 1)."""
    import torch

    q, _ = torch.linalg.qr(torch.randn(max(shape), min(shape), generator=gen, dtype=torch.float64))
    return (q if shape[0] >= shape[1] else q.T).contiguous()


def _balanced_factors(w: np.ndarray, depth: int) -> list[torch.Tensor]:
    """Factors W_1 … W_L (hidden width max(d, D)) with product w and equal singular values σ^{1/L}."""
    import torch

    d, dim = w.shape
    hidden = max(d, dim)
    u, sv, vt = np.linalg.svd(w, full_matrices=False)
    root = np.zeros(hidden)
    root[: sv.size] = sv ** (1.0 / depth)
    first = np.zeros((hidden, dim))
    first[: sv.size] = root[: sv.size, None] * vt
    last = np.zeros((d, hidden))
    last[:, : sv.size] = u * root[None, : sv.size]
    mats = [first] + [np.diag(root)] * (depth - 2) + [last]
    return [torch.tensor(m, dtype=torch.float64, requires_grad=True) for m in mats]


def _prune_directions(land: Landscape, depth: int, value: float, w: np.ndarray, max_iter: int,
                      clock: Clock | None = None) -> tuple[float, np.ndarray]:
    """Greedy descent over which singular directions are alive.

    For depth ≥ 2 every direction has a local minimum at zero *and* one at p* > 0, so a run started with all
    directions active can keep one whose f_k(p*) > 0. Removing a direction (and re-optimising) is tried for each
    singular triplet, weakest first, while it lowers the loss.
    """
    from ._optim import lbfgs_minimise, product

    improved = True
    while improved:
        improved = False
        u, sv, vt = np.linalg.svd(w, full_matrices=False)
        for k in np.argsort(sv):
            if sv[k] <= 1e-12 * max(sv.max(), 1e-300):
                continue
            factors = _balanced_factors(w - sv[k] * np.outer(u[:, k], vt[k]), depth)
            try:
                trial = lbfgs_minimise(factors, partial(_deep_loss, land, factors, depth, clock), max_iter, 1e-13,
                                       1e-16)
            except OutOfTime:
                return value, w
            if np.isfinite(trial) and trial < value - 1e-12 * max(abs(value), 1e-300):
                value, w, improved = trial, product(factors).detach().numpy(), True
                break
    return value, w


def _deep_loss(land: Landscape, factors: list[torch.Tensor], depth: int, clock: Clock | None = None) -> torch.Tensor:
    """Depth ≥ 2 (depth 1 runs in numpy, `_polynomial`); `clock` ticks per evaluation."""
    from ._optim import product

    if clock is not None:
        clock.tick()
    w = product(factors)
    # the product carries the landscape; weight decay acts on every factor (bias not modelled for depth > 1)
    no_decay = replace(land, weight_decay=0.0)
    return quartic_loss(no_decay, w) + land.weight_decay * sum((f * f).sum() for f in factors)


def closed_form(land: Landscape, depth: int = 1) -> Minimum | None:
    """The landscape's closed-form global minimum (single product, depth-L commuting, every matrix commuting), or
    None when it has none."""
    b = single_product_form(land)
    if b is not None:
        if depth == 1:
            return closed_form_minimum(land, b)
        found = depth_closed_form_minimum(land, b, depth)
        if found is not None:
            return found
    return commuting_minimum(land) if depth == 1 else None


def minimum(land: Landscape, depth: int = 1, seed: int = 0) -> Minimum:
    """Closed form where it exists, otherwise the numerical minimiser of the polynomial (the referee's shortcut; the
    theory's answers go through the solver table, `sslscape.theory.solvers`)."""
    found = closed_form(land, depth)
    return found if found is not None else numerical_minimum(land, depth=depth, seed=seed)


# ---- critical values of the quartic order (depth 1: eigenvalues of (A, G); depth L: `depth_critical_weight_decay`)
def _finite_real(values: np.ndarray) -> list[float]:
    values = np.asarray(values)
    keep = np.isfinite(values) & (np.abs(values.imag) <= 1e-9 * np.maximum(1.0, np.abs(values.real)))
    return sorted((float(v) for v in values.real[keep]), reverse=True)


def critical_values(spec: Spec, moments: Moments, land: Landscape) -> Thresholds:
    """Per-direction critical weight decay, noise scale and temperature of the quartic landscape:
    direction k grows from W = 0 iff the k-th eigenvalue of A − γG is positive, so
      γ*_k  = generalised eigenvalues of (A, G)              (γ above which direction k dies)
      s*_k  = roots s ≥ 0 of det(A₀ + s A₁ − γG) = 0          (A is affine in the noise scale)
      τ*_k  = τ a_k / γ  (InfoNCE: A ∝ 1/τ; direction k dies for τ above it)
    global statements for the single-product landscapes, else the local instability thresholds of W = 0 (`kind`);
    depth L ≥ 2: the closed form of `depth_profile` (with the spinodals, `metastable_weight_decay`)."""
    import scipy.linalg  # where it is used: importing the theory stays cheap (scipy.linalg alone takes ~1 s)

    a, g, gamma = land.quadratic, land.decay, land.weight_decay
    kind = "global" if single_product_form(land) is not None else "local_instability"
    if spec.depth == 1:
        if np.allclose(g, np.eye(g.shape[0])):
            decay = tuple(max(float(v), 0.0) for v in np.linalg.eigvalsh(a)[::-1])
        else:
            decay = tuple(max(v, 0.0) for v in _finite_real(scipy.linalg.eigvals(a, g)))
        unit = unit_noise_cov(spec, moments.dim)
        a0 = landscape(spec, replace(moments, noise_cov=0 * unit)).quadratic
        a1 = landscape(spec, replace(moments, noise_cov=unit)).quadratic - a0
        if np.abs(a1).max() <= 1e-12 * max(np.abs(a0).max(), 1e-300):
            noise: Values = ()  # augmentation does not enter the quadratic term: it never changes the rank
        else:
            roots = _finite_real(scipy.linalg.eigvals(a0 - gamma * g, -a1))
            noise = tuple(sorted((r for r in roots if r >= 0), reverse=True))
        temps: Values = ()
        if spec.objective in ("infonce", "ntxent") and gamma > 0:
            # a subnormal γ overflows τ·a/γ: like γ = 0, no temperature kills a direction (never an inf threshold)
            temps = tuple(t for v in np.linalg.eigvalsh(a)[::-1] if v > 0
                          and np.isfinite(t := float(spec.temperature * v / gamma)))
        return Thresholds(kind=kind, order="quartic", critical_weight_decay=decay, critical_noise_scale=noise,
                          critical_temperature=temps)
    b = single_product_form(land)
    e = None if b is None or spec.bias else common_eigenbasis(a, b)
    if e is None:
        return Thresholds(kind="none", order="quartic")
    a_k = basis_diagonal(e, a)
    beta2 = basis_diagonal(e, b) ** 2
    desc = lambda v: tuple(sorted(map(float, v), reverse=True))  # noqa: E731
    return Thresholds(kind="global", order="quartic",
                      critical_weight_decay=desc(depth_critical_weight_decay(a_k, beta2, spec.depth)),
                      metastable_weight_decay=desc(depth_metastable_weight_decay(a_k, beta2, spec.depth)))


# ---- the solver table's rows (sslscape.theory.solvers): 'quartic_closed_form', 'quartic_numerical',
#      'exact_polynomial', 'exact_polynomial_numerical' -----------------------------------------------------------
def _quartic_landscape(spec: Spec, moments: Moments) -> tuple[Landscape | None, str]:
    """(the landscape, '') when the quartic order applies, else (None, why not)."""
    if spec.depth > 1 and spec.bias:
        return None, ("a bias with depth > 1 sits after the product W_L⋯W_1, outside the landscape's input "
                      "augmentation")
    land = landscape(spec, moments)
    return (land, "") if land.expandable else (None, f"no quartic landscape: {land.reason}")


def _has_closed_form(land: Landscape, depth: int) -> str | None:
    """None when the landscape has a closed form, else why not. The commuting minimum (§13) is attempted here: its
    bound is attained only by some constructions (an equal-mixing d × k matrix, a sign condition), which only the
    solve can tell — and a row that covers a spec must answer it in closed form, or the plan would call a numerical
    solve a closed form (raw Barlow Twins, λ < 1, on estimated RGB moments with d = 192: 0.35 s here, then 77 s of
    silent L-BFGS). It is milliseconds to a fraction of a second, against the numerical row's seconds to minutes."""
    b = single_product_form(land)
    if b is not None and (depth == 1 or (np.allclose(land.decay, np.eye(land.input_dim))
                                         and common_eigenbasis(land.quadratic, b) is not None)):
        return None
    if depth == 1 and common_eigenbasis(land.quadratic, land.decay, *[m for t in land.terms for m in (t.x, t.y)],
                                        rtol=1e-9) is not None:
        if commuting_minimum(land) is not None:
            return None
        return ("no closed form: the matrices commute, but no equal-mixing construction attains the commuting bound "
                f"for d = {land.embed_dim} (docs/theory.md §13)")
    return ("no closed form: the quartic terms are not one product and the matrices do not commute"
            + (" (depth > 1 needs A and B commuting)" if depth > 1 else ""))


def covers_closed_form(spec: Spec, moments: Moments) -> str | None:
    land, why = _quartic_landscape(spec, moments)
    return why if land is None else _has_closed_form(land, spec.depth)


def covers_numerical(spec: Spec, moments: Moments) -> str | None:
    return _quartic_landscape(spec, moments)[1] or None


def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """The quartic order's critical values (`critical_values`), or none where the quartic order does not apply."""
    land, _ = _quartic_landscape(spec, moments)
    return Thresholds() if land is None else critical_values(spec, moments, land)


def _quartic_notes(spec: Spec, moments: Moments, land: Landscape) -> list[str]:
    """The landscape's notes for the quartic order, with the finite-batch note pointing at the learned point."""
    from .solvers import plan

    notes = [n for n in land.notes if "left to order" not in n]
    if spec.objective == "infonce" and spec.batch_size is not None:
        chosen = plan(spec, "auto", moments)
        if chosen.order == "learned_point":
            notes.append("finite batch: the quartic keeps the exact (1 − 1/N) factor at W = 0; the positive pair's "
                         "share p̄ at the learned point is in order 'learned_point' (the default here)")
        else:
            why = dict(chosen.declined).get("learned_point_dot", "")
            notes.append("finite batch: the quartic keeps the exact (1 − 1/N) factor at W = 0; at the learned point "
                         "the positive pair's share p̄ can kill weak directions it keeps"
                         + (f", and the learned-point closed form does not cover this spec ({why})" if why else "")
                         + ": check with --order exact")
    return notes


def _answer(spec: Spec, moments: Moments, land: Landscape, found: Minimum, thresholds: Thresholds,
            notes: list[str], method: str | None = None) -> Prediction:
    if not found.converged:
        notes.append("stopped at the time budget (max_seconds): the best point so far, not converged")
    return make_prediction(spec, alive=found.rank, spectrum=found.spectrum, thresholds=thresholds,
                           capacity=capacity_of(spec, moments), notes=notes, method=method or found.method,
                           loss=found.loss, embed_dim=land.embed_dim, converged=found.converged)


def prediction_closed_form(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The quartic landscape's closed-form global minimum (module docstring; milliseconds)."""
    land, why = _quartic_landscape(spec, moments)
    found = None if land is None else closed_form(land, spec.depth)
    if land is None or found is None:
        raise TheoryDeclined(why or "the commuting bound is not attained by an equal-mixing construction here")
    return _answer(spec, moments, land, found, critical_values(spec, moments, land),
                   _quartic_notes(spec, moments, land))


def _budgeted_minimum(land: Landscape, spec: Spec, budget: Any) -> Minimum:
    return numerical_minimum(land, depth=spec.depth, seed=spec.seed,
                             max_seconds=getattr(budget, "max_seconds", None),
                             progress=getattr(budget, "progress", None))


def prediction_numerical(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The quartic polynomial minimised numerically (no closed form): seconds to minutes (`estimate_numerical`)."""
    land, why = _quartic_landscape(spec, moments)
    if land is None:
        raise TheoryDeclined(why)
    notes = _quartic_notes(spec, moments, land)
    notes.append("no closed form for this landscape; its polynomial was minimised numerically")
    return _answer(spec, moments, land, _budgeted_minimum(land, spec, budget), critical_values(spec, moments, land),
                   notes)


def estimate_numerical(spec: Spec, moments: Moments) -> float:
    land, _ = _quartic_landscape(spec, moments)
    return 0.0 if land is None else estimate_numerical_seconds(land, spec.depth)


def polynomial_is_exact(spec: Spec, moments: Moments, land: Landscape) -> bool:
    """True when E[sample loss] equals the landscape polynomial exactly, so `exact` needs no Monte-Carlo.

    Spectral: its expectation involves second moments only (any data). Raw Barlow Twins: its expectation is a
    quartic whose finite-batch part uses Gaussian fourth moments of centred data — exact for Gaussian data given
    by a covariance with zero mean and no bias. A Monte-Carlo sample there only adds error: on 4,096 pairs a
    direction dead in the population (3.9e-13 of the top) read 2.6e-3, and 1.0e-3 / 2.4e-4 on 16k / 65k pairs.
    """
    if spec.objective == "spectral":
        return True
    gaussian_centred = spec.data.samples is None and not np.any(moments.mean) and not spec.bias
    return spec.objective == "barlow" and spec.normalization == "none" and gaussian_centred


def _exact_landscape(spec: Spec, moments: Moments) -> tuple[Landscape | None, str]:
    land, why = _quartic_landscape(spec, moments)
    if land is not None and not polynomial_is_exact(spec, moments, land):
        return None, "the exact loss is not the landscape polynomial (Monte-Carlo needed)"
    return land, why


def covers_exact_polynomial(spec: Spec, moments: Moments) -> str | None:
    land, why = _exact_landscape(spec, moments)
    return why if land is None else _has_closed_form(land, spec.depth)


def covers_exact_polynomial_numerical(spec: Spec, moments: Moments) -> str | None:
    return _exact_landscape(spec, moments)[1] or None


def _exact_notes(how: str, thresholds: Thresholds) -> list[str]:
    notes = [f"the population loss of this spec is exactly the landscape polynomial; it was {how}, with no "
             "Monte-Carlo error"]
    if thresholds.order:
        notes.append(f"critical values: the {thresholds.order} order's (the exact solver gives none)")
    return notes


def prediction_exact_polynomial(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    from .solvers import closed_form_thresholds

    land, why = _exact_landscape(spec, moments)
    found = None if land is None else closed_form(land, spec.depth)
    if land is None or found is None:
        raise TheoryDeclined(why or "the commuting bound is not attained by an equal-mixing construction here")
    th = closed_form_thresholds(spec, moments)
    return _answer(spec, moments, land, found, th, _exact_notes(f"minimised in closed form ({found.method})", th),
                   method="exact_polynomial")


def prediction_exact_polynomial_numerical(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    from .solvers import closed_form_thresholds

    land, why = _exact_landscape(spec, moments)
    if land is None:
        raise TheoryDeclined(why)
    th = closed_form_thresholds(spec, moments)
    return _answer(spec, moments, land, _budgeted_minimum(land, spec, budget), th,
                   _exact_notes("minimised numerically (multi-start)", th), method="exact_polynomial")


estimate_exact_polynomial_numerical = estimate_numerical
