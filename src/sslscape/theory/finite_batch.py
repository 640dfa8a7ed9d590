"""InfoNCE with a finite batch at the *learned point*: the self-consistent closed form (docs/theory.md §5).

The quartic landscape (`landscape.py`) expands InfoNCE around W = 0, where the positive pair carries softmax
weight p = 1/N. At the learned point it carries p̄ = E[P_ii] ≫ 1/N (0.4–0.7 with many strong directions), and a
direction k whose input coordinate is independent of the others grows iff

    ∂L/∂g_k |_{g_k = 0} = −(1 − p̄_{−k}) c_k/τ + γ < 0        (dot similarity, either protocol)

— exactly, to all orders in W, with p̄_{−k} the positive pair's share at the learned configuration of the *other*
directions (= p̄ for a dead direction). This module computes that configuration without Monte-Carlo over the
negatives:

1. Linear encoder, dot similarity: the loss depends on W only through G = WᵀW (S = aᵀGp/τ, T_j = aᵀGc_j/τ) and
   is convex in G (log-sum-exp of linear functions, + γ Tr G). When C and S share an eigenbasis the minimiser is
   diagonal there (sign-flip symmetry + convexity): G = diag(g_k), embedding spectrum g_k c_k.
2. Given the anchor/positive pair the N − 1 negative logits are i.i.d. N(0, σ²), σ² = aᵀGΣ_cGa/τ², independent
   of S, and 1/(1 + Y) = ∫₀^∞ e^{−t(1+Y)} dt turns every softmax statistic into a 1-D integral of the (N − 1)-th
   power of the lognormal Laplace transform 1 − ψ₀(y, σ), ψ₀(y, σ) = E[1 − exp(−e^{y+σg})], g ~ N(0, 1):
       P(S, σ)  = E[P_ii | a, p]          = ∫ du e^{u − e^u} (1 − ψ₀(u − S, σ))^{N−1}
       ℓ(S, σ)  = E[loss | a, p]          = ∫ du e^{−e^u} [1 − (1 − ψ₀(u − S, σ))^{N−1}]
       C₂(S, σ) = E[Σ_{j≠i} P_ij² | a, p] = (N − 1) ∫ du e^{−e^u} ψ₂(u − S, σ) (1 − ψ₀(u − S, σ))^{N−2}
   ψ₀, ψ₂ are universal (two variables): tabulated once per process by FFT convolution; P, ℓ, C₂ are tabulated
   per batch size N on a (σ, S) lattice (one matrix product) and read by bicubic interpolation. No approximation
   is made for the negatives' sum: at the learned point it is far from self-averaging (σ² > 2 log N; the
   annealed (N − 1)e^{σ²/2} puts p̄ 0.04–0.13 too low).
3. The remaining expectation over the pair depends, per group of degenerate directions, only on |a|² (∝ χ²_n)
   and a·p = ρ|a|² + √v |a| ζ: a 2·(#groups)-dimensional integral, done by a fixed scrambled Sobol rule
   (deterministic; 1,024 points, p̄ to ≈ 1e-4).
4. The gains solve the convex problem min_{g ≥ 0} E ℓ + γ Σ g by L-BFGS-B (analytic gradient); the alive set is
   then made exact by the growth law above (an active-set round if the optimiser's set disagrees).

Critical values at the learned point (`LearnedPoint`): γ*_k = (1 − p̄_{−k}) c_k/τ with the other directions held
at the learned point (exact for the direction's fate at the spec's own γ); the solution depends on (γ, τ) only
through γτ, so τ*_k = τ γ*_k/γ. As γ, τ, the noise scale or N move, p̄ moves with them: the values at which the
rank changes are the roots of the re-solved growth (`rank_changes`, used by `advise`).

Not covered (`covers` says why, docs/theory.md §5): euclidean similarity (given the anchor the negatives'
logits a·c − |c|²/2 are a bounded, shifted non-central χ², not a Gaussian), cosine similarity / normalised
embeddings (scale-invariant: no gains), depth > 1 (not convex in the end-to-end Gram matrix), a bias or a data
mean (the minimiser is no longer diagonal), C and S without a common eigenbasis, sample-file data (the Gaussian
law of the negatives is essential), weight decay 0 (no finite learned point with dot similarity).

Source: our derivation (docs/theory.md §5); tables and fixed point checked in tests/theory/test_finite_batch.py.
scipy (optimize, special, stats.qmc) is imported where used, so importing the theory stays cheap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..moments import Moments, moments_of
from ..recipe import SOBOL_SEED
from ..result import Result
from ..spec import Spec, softmax_candidates
from ._linalg import joint_diagonals
from .prediction import Prediction, TheoryDeclined, Thresholds, capacity_of, make_prediction

__all__ = ["LearnedPoint", "conditional_stats", "critical_value_self_consistent", "growth_at",
           "covers", "knob_changes", "learned_point_solution", "positive_weight", "prediction",
           "rank_changes", "thresholds"]

# ---------------------------------------------------------------------------------------------------------------
# 1. universal tables ψ₀(y, σ), ψ₂(y, σ) on a lattice y = Y_MIN + j·H, σ = r·SIG_STEP
# ---------------------------------------------------------------------------------------------------------------
H = 0.1                      # y lattice step (the u-integrals are midpoint sums on this lattice)
Y_MIN, Y_MAX = -112.0, 16.0  # ψ₀ < 1e-12 below Y_MIN for σ ≤ SIG_MAX; F = (1 − ψ₀)^{N−1} ≈ 0 above Y_MAX
SIG_STEP, SIG_MAX = 0.125, 16.0
S_STEP_UNITS = 2             # S lattice step = 2·H (u = S + y stays on the integration lattice)
Y_STRIDE = 2                 # the u-integrals use every 2nd y (midpoint rule, step 0.2; error < 1e-7)
U_TOP = 4.5                  # e^{−e^u} < 1e-39 above
SIG_BOUND = SIG_MAX - 0.5    # reads clip σ here (the bicubic stencil needs two rows beyond)
S_MIN, S_MAX = -60.0, 200.0  # reads clip S here
N_QMC = 1024


def _special() -> Any:
    import scipy.special  # where used: importing the theory stays cheap

    return scipy.special


@lru_cache(maxsize=1)
def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """The ψ lattice: (y, σ rows, the padded x grid, y's offset in it, FFT frequencies ω, FFT of G − Φ on x)."""
    ndtr = _special().ndtr
    y = np.arange(round((Y_MAX - Y_MIN) / H) + 1) * H + Y_MIN
    sig = np.arange(-2, round(SIG_MAX / SIG_STEP) + 3) * SIG_STEP
    pad = H * round(9.0 * (SIG_MAX + 3 * SIG_STEP) / H)
    x = np.arange(round((Y_MAX - Y_MIN + 2 * pad) / H) + 1) * H + (Y_MIN - pad)
    r0 = -np.expm1(-np.exp(np.minimum(x, 700.0))) - ndtr(x)
    omega = 2 * np.pi * np.fft.rfftfreq(x.size, d=H)
    return y, sig, x, round(pad / H), omega, np.fft.rfft(r0)


def _psi0_padded(sig: np.ndarray) -> np.ndarray:
    """ψ₀(x, σ) on the whole padded grid, one row per σ (any values, not only the lattice's)."""
    _, _, x, _, omega, f_r0 = _grid()
    c0 = np.fft.irfft(f_r0[None] * np.exp(-0.5 * np.outer(sig**2, omega**2)), n=x.size)
    return np.clip(c0 + _special().ndtr(x[None, :] / np.sqrt(1.0 + sig[:, None] ** 2)), 0.0, 1.0)


@lru_cache(maxsize=1)
def _psi_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, ψ₀, ψ₂) with rows = σ lattice (two mirrored rows in front: ψ is even in σ). ~70–300 ms, once.

    ψ₀ = Φ-part analytic + FFT convolution of the remainder G − Φ (G(x) = 1 − e^{−e^x}), which decays at both
    ends, so the periodic convolution has no wrap-around jump; absolute error ≈ 1e-13 (checked in the tests).
    """
    y, sig, x, lo, omega, _ = _grid()
    k2 = np.where(x < 10.0, np.exp(np.minimum(2 * x - np.exp(np.minimum(x, 700.0)), 0.0)), 0.0)
    damp = np.exp(-0.5 * np.outer(sig**2, omega**2))
    c2 = np.fft.irfft(np.fft.rfft(k2)[None] * damp, n=x.size)[:, lo:lo + y.size]
    return y, _psi0_padded(sig)[:, lo:lo + y.size], np.clip(c2, 0.0, None)


# NT-Xent (docs/theory.md §15): an anchor's negatives come in pairs — the two views of one other example, whose
# logits T, T' have equal variance σ² and correlation r (cross-view over view covariance along the anchor). Write
# T = σ√r g₀ + σ√(1 − r) g₁, T' = σ√r g₀ + σ√(1 − r) g₂: given g₀ the two are i.i.d., so the pair's Laplace
# transform E exp(−e^y (e^T + e^T')) = E_g₀[(1 − ψ₀(y + σ√r g₀, σ√(1 − r)))²] — the CLIP form's per-negative
# transform with 1 − ψ₀ replaced by it, and N − 1 such factors (pairs) instead of N − 1 negatives.
R_STEP = 0.05                   # lattice of the pair correlation r ∈ [0, 1]
R_COUNT = round(1 / R_STEP) + 1


@lru_cache(maxsize=4 * R_COUNT)
def _pair_psi(r_index: int, n_rows: int) -> np.ndarray:
    """ψ_pair(y, σ; r) = 1 − E_g₀[(1 − ψ₀(y + σ√r g₀, σ√(1 − r)))²] on the ψ lattice (the first `n_rows` σ rows),
    r = r_index·R_STEP.

    The square h = 1 − (1 − ψ₀)² at σ√(1 − r), then a Gaussian convolution of std σ√r done like ψ₀'s: Φ-part
    analytic (h − Φ(x/√(1 + σ²(1 − r))) decays at both ends), the rest by FFT. 10–100 ms per r (by the σ rows
    asked for), once per process; checked against direct quadrature in tests/theory/test_ntxent.py."""
    y, sig, x, lo, omega, _ = _grid()
    sig = sig[:n_rows]
    r = r_index * R_STEP
    sig_e, sig_x = sig * math.sqrt(max(1.0 - r, 0.0)), sig * math.sqrt(r)
    psi = _psi0_padded(sig_e)
    base = _special().ndtr(x[None, :] / np.sqrt(1.0 + sig_e[:, None] ** 2))
    rem = psi * (2.0 - psi) - base
    conv = np.fft.irfft(np.fft.rfft(rem, axis=1) * np.exp(-0.5 * np.outer(sig_x**2, omega**2)), n=x.size, axis=1)
    out = conv[:, lo:lo + y.size] + _special().ndtr(y[None, :] / np.sqrt(1.0 + sig[:, None] ** 2))
    return np.clip(out, 0.0, 1.0)


_ROW0 = 2  # index of σ = 0 in the ψ tables


# ---------------------------------------------------------------------------------------------------------------
# 2. per-N tables of P, ℓ, C₂ on the (σ, S) lattice, grown on demand
# ---------------------------------------------------------------------------------------------------------------
class _Conditional:
    """P(S, σ), ℓ(S, σ), C₂(S, σ) for one batch size N, on σ = r·SIG_STEP, S = i·(2H); bicubic reads.

    The covered lattice box grows on demand; every entry depends on its own lattice point only, so answers do
    not depend on which calls came before (tests/theory/test_finite_batch.py::test_deterministic_and_rank_capped).
    """

    def __init__(self, n_batch: int, pair_r: int | None = None):
        self.n = n_batch
        self.pair_r = pair_r  # NT-Xent: N − 1 negative pairs of correlation r = pair_r·R_STEP (C₂ not tabulated)
        self.r_lo = self.r_hi = self.i_lo = self.i_hi = 0  # covered lattice box (inclusive), valid once tabs set
        self.tabs: np.ndarray | None = None                 # (3, rows, cols): P, ℓ, C₂
        self.builds = 0

    def ensure(self, sig: np.ndarray, s: np.ndarray) -> None:
        """Cover the lattice box around the points (callers clip σ to SIG_BOUND and S to [S_MIN, S_MAX])."""
        r_lo = max(int(np.floor(sig.min() / SIG_STEP)) - 2, -2)
        r_hi = int(np.floor(sig.max() / SIG_STEP)) + 3
        i_lo = int(np.floor(s.min() / (S_STEP_UNITS * H))) - 2
        i_hi = int(np.floor(s.max() / (S_STEP_UNITS * H))) + 3
        if self.tabs is not None and r_lo >= self.r_lo and r_hi <= self.r_hi and i_lo >= self.i_lo \
                and i_hi <= self.i_hi:
            return
        if self.tabs is not None:  # grow with slack so that an optimiser's excursions rarely rebuild
            r_lo, r_hi = min(r_lo, self.r_lo), max(r_hi, self.r_hi)
            i_lo, i_hi = min(i_lo, self.i_lo) - 20, max(i_hi, self.i_hi) + 20
            r_lo, r_hi = max(r_lo - 4, -2), min(r_hi + 4, round(SIG_MAX / SIG_STEP) + 2)
        self._build(r_lo, r_hi, i_lo, i_hi)

    def ensure_box(self, r_lo: int, r_hi: int, i_lo: int, i_hi: int) -> None:
        """Cover at least the lattice box (σ rows r_lo … r_hi, S columns i_lo … i_hi), exactly as asked if it is
        built now (`_PairConditional` stacks the slices of one box)."""
        if self.tabs is None or r_lo < self.r_lo or r_hi > self.r_hi or i_lo < self.i_lo or i_hi > self.i_hi:
            if self.tabs is not None:
                r_lo, r_hi = min(r_lo, self.r_lo), max(r_hi, self.r_hi)
                i_lo, i_hi = min(i_lo, self.i_lo), max(i_hi, self.i_hi)
            self._build(r_lo, r_hi, i_lo, i_hi)

    def _build(self, r_lo: int, r_hi: int, i_lo: int, i_hi: int) -> None:
        exp1 = _special().exp1
        y, psi0, psi2 = _psi_tables()
        if self.pair_r is not None:  # one minus the Laplace transform of a negative pair instead of a negative
            psi0 = _pair_psi(self.pair_r, 16 * math.ceil((r_hi + _ROW0 + 1) / 16))
        rows = slice(r_lo + _ROW0, r_hi + _ROW0 + 1)
        p0, p2 = psi0[rows], psi2[rows]
        n = self.n
        log1m = np.log1p(-np.minimum(p0, 1.0 - 1e-16))
        f = np.exp((n - 1) * log1m)                          # (1 − ψ₀)^{N−1}
        hh = (n - 1) * p2 * np.exp((n - 2) * log1m)           # (N − 1) ψ₂ (1 − ψ₀)^{N−2}
        # j range: below row r's own start j_r, (N−1)ψ₀ < 1e-17 (F = 1 and the C₂ integrand vanish; P's part is
        # added analytically); each row is integrated from its own start, so a table entry never depends on which
        # other rows/columns happen to be covered (deterministic answers whatever the cache's history)
        alive = (n - 1) * p0 > 1e-17
        start = np.where(alive.any(axis=1), np.argmax(alive, axis=1), y.size - 1)
        start -= start % Y_STRIDE            # on the integration lattice y_0 + Y_STRIDE·H·ℤ (fixed parity)
        j_lo = int(start.min())
        below = np.arange(y.size)[None, :] < start[:, None]
        f = np.where(below, 0.0, f)           # P integrand: tail from y[start_r] − h/2 added below
        hh = np.where(below, 0.0, hh)
        one_minus_f = np.where(below, 0.0, 1.0 - f)
        h = Y_STRIDE * H                      # midpoint rule on every Y_STRIDE-th y; S lattice step = h too
        s_vals = np.arange(i_lo, i_hi + 1) * h
        j_hi = int(min(y.size - 1, np.floor((U_TOP - s_vals[0] - Y_MIN) / H)))
        j_hi = max(j_hi - (j_hi - j_lo) % Y_STRIDE, j_lo)
        cols = slice(j_lo, j_hi + 1, Y_STRIDE)
        nj, ns = (j_hi - j_lo) // Y_STRIDE + 1, s_vals.size
        # u(j, i) = S_i + y_j on the lattice of step h: index m = (i − i_lo) + (j − j_lo)/Y_STRIDE
        u = s_vals[0] + y[j_lo] + np.arange(ns - 1 + nj) * h
        eu = np.exp(np.minimum(u, 50.0))
        ker_w = np.where(u < U_TOP, np.exp(u - eu), 0.0) * h      # Gumbel density e^{u − e^u}
        ker_e = np.where(u < U_TOP, np.exp(-eu), 0.0) * h          # e^{−e^u}

        def view(k: np.ndarray) -> np.ndarray:  # Hankel view: row j, column i reads k[i + j]
            return np.lib.stride_tricks.as_strided(k, shape=(nj, ns), strides=(k.strides[0], k.strides[0]))

        p_tab = f[:, cols] @ view(ker_w)
        l_tab = one_minus_f[:, cols] @ view(ker_e)
        c_tab = hh[:, cols] @ view(ker_e) if self.pair_r is None else np.full_like(p_tab, np.nan)
        # tails: below row r's start F = 1 (P gains ∫ w = 1 − exp(−e^u)); above Y_MAX 1 − F = 1 (ℓ gains E₁(e^u))
        u_lo = s_vals[None, :] + y[start][:, None] - h / 2
        p_tab += -np.expm1(-np.exp(np.minimum(u_lo, 50.0)))
        u_hi = s_vals + y[j_hi] + h / 2
        l_tab += exp1(np.exp(np.minimum(u_hi, 50.0)))[None, :]
        self.tabs = np.stack([p_tab, l_tab, c_tab])
        self.r_lo, self.r_hi, self.i_lo, self.i_hi = r_lo, r_hi, i_lo, i_hi
        self.builds += 1

    def read(self, sig: np.ndarray, s: np.ndarray, which: tuple[int, ...] = (0, 1, 2),
             derivs: bool = False) -> list[Any]:
        """Values (and ∂/∂σ, ∂/∂S if derivs) of the requested tables at the points (σ, S).

        σ is clipped to SIG_BOUND and S to [S_MIN, S_MAX] (an optimiser's exploratory steps may go there; the
        solution itself is checked to lie inside by `learned_point_solution`). Beyond S_MAX the positive wins
        every softmax (P = 1, ℓ ≤ 1e-27 for σ ≤ SIG_BOUND and N ≤ 1e7)."""
        sig = np.minimum(sig, SIG_BOUND)
        s = np.clip(s, S_MIN, S_MAX)
        self.ensure(sig, s)
        assert self.tabs is not None
        fr = sig * (1.0 / SIG_STEP) - self.r_lo
        fc = s * (1.0 / (S_STEP_UNITS * H)) - self.i_lo
        r0, c0 = fr.astype(np.intp), fc.astype(np.intp)   # both ≥ 1 by construction of the covered box
        wr, dwr = _catmull(fr - r0, derivs)
        wc, dwc = _catmull(fc - c0, derivs)
        ncol = self.tabs.shape[2]
        flat = ((r0 - 1) * ncol + (c0 - 1))[:, None] + _offsets(ncol)[None, :]  # (M, 16)
        out: list[Any] = []
        for k in which:
            patch = self.tabs[k].ravel().take(flat).reshape(-1, 4, 4)
            rows = np.einsum("mij,mj->mi", patch, wc)                 # interpolated along S, per σ row
            val = np.einsum("mi,mi->m", rows, wr)
            if derivs:
                d_sig = np.einsum("mi,mi->m", rows, dwr) * (1.0 / SIG_STEP)
                d_s = np.einsum("mij,mj,mi->m", patch, dwc, wr) * (1.0 / (S_STEP_UNITS * H))
                out.append((val, d_sig, d_s))
            else:
                out.append(val)
        return out


@lru_cache(maxsize=64)
def _offsets(ncol: int) -> np.ndarray:
    return (np.arange(4)[:, None] * ncol + np.arange(4)[None, :]).ravel()


# Catmull-Rom weights of the neighbours (−1, 0, 1, 2) as cubic polynomials in t: [1, t, t², t³] @ _CATMULL
_CATMULL = np.array([[0.0, 1.0, 0.0, 0.0], [-0.5, 0.0, 0.5, 0.0], [1.0, -2.5, 2.0, -0.5], [-0.5, 1.5, -1.5, 0.5]])
_CATMULL_D = np.array([[-0.5, 0.0, 0.5, 0.0], [2.0, -5.0, 4.0, -1.0], [-1.5, 4.5, -4.5, 1.5]])  # d/dt: [1, t, t²]


def _catmull(t: np.ndarray, derivs: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Catmull-Rom weights of the 4 neighbours (−1, 0, 1, 2) and (if derivs) their t-derivatives, (M, 4) each."""
    powers = np.stack([np.ones_like(t), t, t * t, t * t * t], axis=1)
    return powers @ _CATMULL, (powers[:, :3] @ _CATMULL_D if derivs else None)


@lru_cache(maxsize=32 * R_COUNT)
def _conditional(n_batch: int, pair_r: int | None = None) -> _Conditional:
    """The per-N tables (NT-Xent: per N and lattice correlation index), built lazily and kept for the process
    (answers never depend on the cache's history)."""
    return _Conditional(n_batch, pair_r)


class _PairConditional:
    """NT-Xent's P(S, σ, r) and ℓ(S, σ, r): the per-r tables of `_Conditional` on the lattice r = j·R_STEP, stacked
    over a common (σ, S) box and read by bicubic Catmull-Rom in (σ, S) times 4-point Lagrange in r (the stencil
    shifted inside [0, 1] at the ends) — one gather of 64 entries per point. The same `read` as `_Conditional`
    with r given, and ∂/∂r appended to each (value, ∂/∂σ, ∂/∂S) when `derivs`."""

    def __init__(self, n_batch: int):
        self.n = n_batch
        self.box: tuple[int, int, int, int, int, int] | None = None  # (j_lo, j_hi, r_lo, r_hi, i_lo, i_hi)
        self.stack: np.ndarray | None = None                            # (2, J, rows, cols): P, ℓ

    def _ensure(self, sig: np.ndarray, s: np.ndarray, j_lo: int, j_hi: int) -> None:
        want = (j_lo, j_hi, max(int(np.floor(sig.min() / SIG_STEP)) - 2, -2), int(np.floor(sig.max() / SIG_STEP)) + 3,
                int(np.floor(s.min() / (S_STEP_UNITS * H))) - 2, int(np.floor(s.max() / (S_STEP_UNITS * H))) + 3)
        box = self.box
        if box is not None and want[0] >= box[0] and want[1] <= box[1] and want[2] >= box[2] \
                and want[3] <= box[3] and want[4] >= box[4] and want[5] <= box[5]:
            return
        if box is not None:  # grow with slack, as `_Conditional.ensure` does
            want = (min(want[0], box[0]), max(want[1], box[1]), max(min(want[2], box[2]) - 4, -2),
                    min(max(want[3], box[3]) + 4, round(SIG_MAX / SIG_STEP) + 2), min(want[4], box[4]) - 20,
                    max(want[5], box[5]) + 20)
        j_lo, j_hi, r_lo, r_hi, i_lo, i_hi = want
        slices = []
        for j in range(j_lo, j_hi + 1):
            cond = _conditional(self.n, j)
            cond.ensure_box(r_lo, r_hi, i_lo, i_hi)
            assert cond.tabs is not None
            slices.append(cond.tabs[:2, r_lo - cond.r_lo:r_hi - cond.r_lo + 1, i_lo - cond.i_lo:i_hi - cond.i_lo + 1])
        self.stack = np.stack(slices, axis=1)
        self.box = want

    def read(self, sig: np.ndarray, s: np.ndarray, r: np.ndarray, which: tuple[int, ...] = (0, 1),
             derivs: bool = False) -> list[Any]:
        sig = np.minimum(sig, SIG_BOUND)
        s = np.clip(s, S_MIN, S_MAX)
        fj = np.clip(r, 0.0, 1.0) / R_STEP
        j0 = np.clip(np.floor(fj).astype(np.intp) - 1, 0, R_COUNT - 4)   # r stencil j0 … j0 + 3
        self._ensure(sig, s, int(j0.min()), int(j0.max()) + 3)
        assert self.stack is not None and self.box is not None
        j_lo, _, r_lo, _, i_lo, _ = self.box
        wj, dwj = _lagrange4(fj - j0)
        dwj = dwj / R_STEP
        fr = sig * (1.0 / SIG_STEP) - r_lo
        fc = s * (1.0 / (S_STEP_UNITS * H)) - i_lo
        r0, c0 = fr.astype(np.intp), fc.astype(np.intp)
        wr, dwr = _catmull(fr - r0, derivs)
        wc, dwc = _catmull(fc - c0, derivs)
        _, nj, nrow, ncol = self.stack.shape
        flat = (((j0 - j_lo) * nrow + r0 - 1) * ncol + c0 - 1)[:, None] + _offsets3(nrow, ncol)[None, :]  # (M, 64)
        w_sc = (wr[:, :, None] * wc[:, None, :]).reshape(-1, 16)                             # (σ, S) weights
        out: list[Any] = []
        for k in which:
            patch = self.stack[k].ravel().take(flat).reshape(-1, 4, 16)                        # (M, j, σ·S)
            per_r = np.einsum("mjk,mk->mj", patch, w_sc)                                       # each r slice
            val = np.einsum("mj,mj->m", per_r, wj)
            if derivs:
                at_r = np.einsum("mjk,mj->mk", patch, wj)                                      # r interpolated
                d_sig = np.einsum("mk,mk->m", at_r, (dwr[:, :, None] * wc[:, None, :]).reshape(-1, 16))
                d_s = np.einsum("mk,mk->m", at_r, (wr[:, :, None] * dwc[:, None, :]).reshape(-1, 16))
                out.append((val, d_sig * (1.0 / SIG_STEP), d_s * (1.0 / (S_STEP_UNITS * H)),
                            np.einsum("mj,mj->m", per_r, dwj)))
            else:
                out.append(val)
        return out


@lru_cache(maxsize=64)
def _offsets3(nrow: int, ncol: int) -> np.ndarray:
    """Flat offsets of a 4 × 4 × 4 (r, σ, S) stencil in a (J, nrow, ncol) stack."""
    return ((np.arange(4)[:, None, None] * nrow + np.arange(4)[None, :, None]) * ncol
            + np.arange(4)[None, None, :]).ravel()


# 4-point Lagrange weights of the nodes 0, 1, 2, 3 as cubic polynomials in t: [1, t, t², t³] @ _LAGRANGE
_LAGRANGE = np.array([[1.0, 0.0, 0.0, 0.0], [-11 / 6, 3.0, -1.5, 1 / 3], [1.0, -2.5, 2.0, -0.5],
                      [-1 / 6, 0.5, -0.5, 1 / 6]])


def _lagrange4(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the 4-point Lagrange interpolant at nodes 0, 1, 2, 3 and their t-derivatives, (M, 4) each."""
    powers = np.stack([np.ones_like(t), t, t * t, t * t * t], axis=1)
    return powers @ _LAGRANGE, (powers[:, :3] * np.array([1.0, 2.0, 3.0])) @ _LAGRANGE[1:]


@lru_cache(maxsize=32)
def _pair_conditional(n_batch: int) -> _PairConditional:
    return _PairConditional(n_batch)


def _conditional_of(prob: _Problem) -> Any:
    """The tables of the problem's candidate structure: i.i.d. negatives (infonce) or view pairs (ntxent)."""
    return _conditional(prob.n_batch) if prob.pair_c is None else _pair_conditional(prob.n_batch)


def conditional_stats(s: np.ndarray, sig: np.ndarray, n_batch: int) -> dict[str, np.ndarray]:
    """E[P_ii], E[loss] and E[Σ_{j≠i} P_ij²] of one softmax row given the positive logit S and the negatives'
    logit std σ (arrays of equal shape; module docstring, item 2). Accuracy ≈ 4e-5 (bicubic reads)."""
    s, sig = np.atleast_1d(np.asarray(s, float)), np.atleast_1d(np.asarray(sig, float))
    p, loss, c2 = _conditional(n_batch).read(sig, s)
    return {"P": p, "loss": loss, "C2": c2}


# ---------------------------------------------------------------------------------------------------------------
# 3. the problem: directions, groups, anchor/positive quadrature
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Problem:
    c: np.ndarray          # data variances per eigen-direction, descending
    s: np.ndarray          # noise variances in the same basis
    m2a: np.ndarray        # E a_k²
    rho: np.ndarray        # E[p_k | a_k] = ρ_k a_k
    v: np.ndarray          # Var(p_k | a_k)
    sc: np.ndarray         # candidate variance Σ_c,k
    growth: np.ndarray     # a_k^∞ = c_k/τ (N → ∞ quadratic coefficient)
    tau: float
    gamma: float
    n_batch: int
    embed_dim: int
    n_cand: int = 0                   # softmax candidates per anchor K: N (infonce), 2N − 1 (ntxent)
    pair_c: np.ndarray | None = None  # ntxent: Cov of a negative example's two views (= C); None: i.i.d. negatives


def covers(spec: Spec, moments: Moments | None = None) -> str | None:
    """None when the learned-point closed form covers `spec`, else why not (one phrase): the solver table's
    `covers` (`sslscape.theory.solvers`). NT-Xent has its own row (`theory/ntxent.py`) on the same conditions."""
    if spec.objective != "infonce":
        return f"objective {spec.objective}: the learned-point closed form is InfoNCE's (NT-Xent: theory/ntxent.py)"
    return conditions(spec, moments)


def conditions(spec: Spec, moments: Moments | None = None) -> str | None:
    """What the learned point needs of a spec of either form (CLIP-form InfoNCE or NT-Xent): None, or why not."""
    if spec.objective not in ("infonce", "ntxent"):
        return f"objective {spec.objective}: the learned-point closed form is InfoNCE's and NT-Xent's"
    if spec.batch_size is None:
        return "no batch_size: the N → ∞ limit is the quartic closed form (p̄ → 0)"
    if spec.similarity == "euclidean":
        return ("euclidean similarity: given the anchor the negatives' logits a·c − |c|²/2 are a bounded, shifted "
                "non-central χ², not the Gaussian the tables need (docs/theory.md §5)")
    if spec.similarity == "cosine" or spec.normalization != "none":
        return "cosine similarity / normalised embeddings: the loss is scale-invariant, there is no gain to solve for"
    if spec.depth != 1:
        return "depth > 1: the loss is not convex in the end-to-end Gram matrix"
    if spec.bias:
        return "a bias: the minimiser is no longer diagonal in the data's eigenbasis"
    if spec.data.samples is not None:
        return "sample-file data: the reduction needs Gaussian data given by a covariance"
    if spec.weight_decay <= 0:
        return "weight decay 0: with dot similarity the loss decreases for ever as W grows (p̄ → 1)"
    m = moments if moments is not None else moments_of(spec)
    if np.any(m.mean != 0):
        return "a non-zero data mean: the negatives' logits get an anchor-dependent mean (not covered)"
    if joint_diagonals(m.cov, m.noise_cov) is None:
        return "data and noise covariances without a common eigenbasis: the minimiser is not diagonal"
    return None


def _check_covered(spec: Spec, moments: Moments | None = None) -> None:
    reason = conditions(spec, moments)
    if reason is not None:
        raise TheoryDeclined(reason)


def _problem(spec: Spec, moments: Moments | None = None) -> _Problem:
    m = moments if moments is not None else moments_of(spec)
    _check_covered(spec, m)
    c, s = joint_diagonals(m.cov, m.noise_cov)  # a common eigenbasis: checked in covers
    order = np.lexsort((-s, -c))
    c, s = np.clip(c[order], 0, None), np.clip(s[order], 0, None)
    tau = float(spec.temperature)
    if spec.protocol == "augmented_negatives":
        m2a, m2p, sc = c + s, c + s, c + s
    else:
        m2a, m2p, sc = c, c + s, c
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(m2a > 0, c / m2a, 0.0)
        v = np.where(m2a > 0, m2p - c**2 / np.where(m2a > 0, m2a, 1.0), m2p)
    growth = c / tau  # a_k^∞: the landscape's (1 − p)·C/τ without (1 − p)
    d = spec.embed_dim if spec.embed_dim is not None else c.size
    n_batch = int(spec.batch_size or 0)
    return _Problem(c, s, m2a, rho, np.clip(v, 0, None), sc, growth, tau, float(spec.weight_decay), n_batch, int(d),
                    n_cand=softmax_candidates(spec.objective, n_batch),
                    pair_c=c.copy() if spec.objective == "ntxent" else None)


@lru_cache(maxsize=64)
def _sobol(dim: int, n: int) -> np.ndarray:
    from scipy.stats import qmc  # where used (scipy.stats is slow to import)

    u = qmc.Sobol(d=dim, scramble=True, seed=SOBOL_SEED).random(n)
    return np.clip(u, 1e-12, 1 - 1e-12)


@lru_cache(maxsize=256)
def _group_variables(first: tuple[int, ...], sizes: tuple[int, ...], dim: int,
                     n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group of n_G degenerate directions: r² = |ξ|² ~ χ²_{n_G} and ζ ~ N(0, 1), (M, G) each.

    One scrambled Sobol set of 2·dim columns per problem; a group takes the two columns of its first direction,
    so every subset of groups (active-set rounds, p̄ without one direction) is integrated by projections of the
    same rule. Moment matching: E r² = n_G and E[r ζ] = 0 exactly on the rule, so that E[a·p] = n_G c_G and
    E|a|² = n_G M2a hold — near a threshold the growth (1 − p̄)c − γτ is a small difference of these moments.
    """
    sp = _special()
    u = _sobol(2 * dim, n)
    cols = 2 * np.asarray(first, int)
    k = np.asarray(sizes, float)
    r2 = np.empty((n, len(sizes)))
    for i, (col, size) in enumerate(zip(cols, sizes, strict=True)):  # χ²_n quantiles (n = 1, 2 in closed form)
        if size == 1:
            r2[:, i] = sp.ndtri(0.5 + 0.5 * u[:, col]) ** 2
        elif size == 2:
            r2[:, i] = -2.0 * np.log1p(-u[:, col])
        else:
            r2[:, i] = 2.0 * sp.gammaincinv(size / 2.0, u[:, col])
    zeta = sp.ndtri(u[:, cols + 1])
    r2 *= k / r2.mean(0)
    r = np.sqrt(r2)
    zeta = zeta - r * ((r * zeta).mean(0) / r2.mean(0))
    return r2, zeta


@dataclass
class _Groups:
    idx: list[np.ndarray]   # direction indices of each group
    n: np.ndarray           # group sizes
    c: np.ndarray
    m2a: np.ndarray
    sc: np.ndarray
    growth: np.ndarray
    aa: np.ndarray          # |a|²_G per quadrature point (M, G)
    ap: np.ndarray          # (a·p)_G
    pc: np.ndarray | None = None  # ntxent: cross-view covariance of the negative pairs per group


def _groups(prob: _Problem, members: list[np.ndarray], n_qmc: int) -> _Groups:
    sizes = tuple(int(len(m)) for m in members)
    first = np.array([m[0] for m in members], int)
    r2, zeta = _group_variables(tuple(map(int, first)), sizes, prob.c.size, n_qmc)
    m2a, rho, v = prob.m2a[first], prob.rho[first], prob.v[first]
    aa = m2a * r2
    ap = rho * aa + np.sqrt(v * aa) * zeta           # a·p = ρ|a|² + √v (a·η), a·η | a ~ N(0, |a|²)
    return _Groups(members, np.asarray(sizes, float), prob.c[first], m2a, prob.sc[first], prob.growth[first],
                   aa, ap, None if prob.pair_c is None else prob.pair_c[first])


def _group_members(prob: _Problem, keep: np.ndarray) -> list[np.ndarray]:
    """Indices of `keep`, grouped by equal (c_k, s_k) (degenerate directions share one gain)."""
    out: list[list[int]] = []
    for k in np.flatnonzero(keep):
        for m in out:
            j = m[0]
            if math.isclose(prob.c[k], prob.c[j], rel_tol=1e-9, abs_tol=1e-300) and \
                    math.isclose(prob.s[k], prob.s[j], rel_tol=1e-9, abs_tol=1e-300):
                m.append(int(k))
                break
        else:
            out.append([int(k)])
    return [np.asarray(m, int) for m in out]


# ---------------------------------------------------------------------------------------------------------------
# 4. loss, gradient and p̄ as functions of the group gains
# ---------------------------------------------------------------------------------------------------------------
def _logits(prob: _Problem, grp: _Groups, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, σ) per quadrature point: positive logit aᵀGp/τ and the std of the negatives' logits given a."""
    s = grp.ap @ g / prob.tau
    var = grp.aa @ (g**2 * grp.sc) / prob.tau**2
    return s, np.sqrt(np.maximum(var, 0.0))


def _loss_grad(prob: _Problem, grp: _Groups, g: np.ndarray, cond: _Conditional) -> tuple[float, np.ndarray]:
    """E ℓ + γ Σ n_G g_G and its gradient in the group gains (chain rule through the bicubic ℓ(σ, S))."""
    s, sig = _logits(prob, grp, g)
    tau = prob.tau
    ds = grp.ap / tau                                   # ∂S/∂g_G
    with np.errstate(divide="ignore", invalid="ignore"):
        dsig = np.where(sig[:, None] > 1e-12,           # ∂σ/∂g_G = g_G Σ_c |a|²_G / (τ² σ)
                        grp.aa * (g * grp.sc) / (tau**2 * np.maximum(sig[:, None], 1e-300)), 0.0)
    if grp.pc is None:
        ((loss, l_sig, l_s),) = cond.read(sig, s, which=(1,), derivs=True)
        extra = 0.0
    else:  # NT-Xent: the negative pairs' correlation r moves with the gains too
        r, dr = _pair_corr(grp, g)
        ((loss, l_sig, l_s, l_r),) = cond.read(sig, s, r, which=(1,), derivs=True)
        extra = l_r[:, None] * dr
    grad = (l_s[:, None] * ds + l_sig[:, None] * dsig + extra).mean(0) + prob.gamma * grp.n
    return float(loss.mean() + prob.gamma * grp.n @ g), grad


def _p_bar(prob: _Problem, grp: _Groups, g: np.ndarray, cond: _Conditional) -> float:
    s, sig = _logits(prob, grp, g)
    (p,) = cond.read(sig, s, which=(0,)) if grp.pc is None else cond.read(sig, s, _pair_corr(grp, g)[0], which=(0,))
    return float(np.clip(p, 0.0, 1.0).mean())


def _pair_corr(grp: _Groups, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NT-Xent: the correlation r = aᵀGCGa / aᵀGΣ_cGa of the two logits of one negative example (per quadrature
    point) and ∂r/∂g_G = 2 g_G |a|²_G (C_G − r Σ_c,G) / aᵀGΣ_cGa."""
    assert grp.pc is not None
    num, den = grp.aa @ (g**2 * grp.pc), grp.aa @ (g**2 * grp.sc)
    safe = np.where(den > 0, den, 1.0)
    r = np.where(den > 0, num / safe, 0.0)
    dr = 2 * g * grp.aa * (grp.pc[None, :] - r[:, None] * grp.sc[None, :]) / safe[:, None]
    return r, np.where(den[:, None] > 0, dr, 0.0)


def _quartic_gains(prob: _Problem, grp: _Groups, keep_p: float) -> np.ndarray:
    """Closed-form quartic gains per group with (1 − p) on both terms (dot: B = M2a ⊗ Σ_c)."""
    a = keep_p * grp.growth - prob.gamma
    quart = keep_p * grp.m2a * grp.sc / prob.tau**2
    return np.maximum(a, 0.0) / np.maximum(quart, 1e-300)


# ---------------------------------------------------------------------------------------------------------------
# 5. the learned point
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LearnedPoint(Result):
    """The InfoNCE minimiser with a finite batch (module docstring). Per-direction tuples are in the order of
    `variances` (data variance c_k descending, all D directions).

    rank                    alive directions (capped by d); quartic_rank: the W = 0 expansion's (p = 1/N)
    spectrum                eigenvalues of W C Wᵀ at the learned point, descending, length d
    positive_weight         p̄ = E[P_ii] at the learned point
    positive_weight_without p̄_{−k}: p̄ with direction k switched off, the others unchanged (= p̄ if k is dead)
    critical_weight_decay   (1 − p̄_{−k}) c_k/τ: direction k survives iff γ is below it (others held fixed);
                            euclidean similarity, clean negatives: (1 − p̄_{−k})(2c_k − s_k)/(2τ) (§5.1)
    critical_temperature    τ γ*_k/γ (exact: the solution depends on γτ only)
    growth                  γ*_k − γ (> 0: alive)
    gains                   g_k = ‖W e_k‖²;  loss: E ℓ + γ Tr WᵀW at the learned point
    """

    rank: int
    spectrum: tuple[float, ...]
    positive_weight: float
    positive_weight_without: tuple[float, ...]
    critical_weight_decay: tuple[float, ...]
    critical_temperature: tuple[float, ...]
    growth: tuple[float, ...]
    gains: tuple[float, ...]
    variances: tuple[float, ...]
    quartic_rank: int
    loss: float
    iterations: int
    converged: bool
    kkt_residual: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def learned_point_solution(spec: Spec, moments: Moments | None = None, *, n_qmc: int = N_QMC,
                           tol: float = 1e-9) -> LearnedPoint:
    """Rank, spectrum, p̄ and per-direction critical values of the InfoNCE minimiser with a finite batch
    (dot similarity; module docstring). Deterministic. Raises `TheoryDeclined` (a ValueError) with the reason for
    specs outside the theory (`covers`), and when the learned point lies outside the tables (σ > 15.5: a
    hard-max softmax).
    """
    minimize = _minimize()
    prob = _problem(spec, moments)
    cond = _conditional_of(prob)
    notes: list[str] = []
    can_grow = (prob.growth > prob.gamma) & (prob.c > 0)
    quartic_rank = int(min(prob.embed_dim, np.sum(((1 - 1 / prob.n_cand) * prob.growth > prob.gamma)
                                                  & (prob.c > 0))))
    active = can_grow.copy()
    iterations, converged, kkt, loss = 0, True, 0.0, math.log(prob.n_cand)
    g_dir = np.zeros(prob.c.size)
    p_bar, p_minus = 1.0 / prob.n_cand, np.full(prob.c.size, 1.0 / prob.n_cand)
    capped = False
    for _round in range(prob.c.size + 2):  # active-set rounds: the exact KKT test settles near-threshold cases
        members = _group_members(prob, active)
        capped_members = _cap_members(prob, members)
        capped = capped or sum(map(len, capped_members)) < sum(map(len, members))
        members = capped_members
        if not members:
            g_dir[:] = 0.0
            p_bar = 1.0 / prob.n_cand
            p_minus[:] = p_bar
            loss = math.log(prob.n_cand)
            break
        grp = _groups(prob, members, n_qmc)
        x0 = _quartic_gains(prob, grp, 1 - 1 / prob.n_cand)
        prev = np.array([g_dir[m[0]] for m in members])
        x0 = np.where(prev > 0, prev, x0)
        scale = np.maximum(x0, 1e-6 * max(x0.max(), 1e-300))
        res = minimize(_scaled, np.ones_like(x0), args=(prob, grp, scale, cond), jac=True, method="L-BFGS-B",
                       bounds=[(0.0, None)] * x0.size, options={"maxiter": 1000, "ftol": 1e-15, "gtol": tol})
        iterations += int(res.nit)
        g = res.x * scale
        s_sol, sig_sol = _logits(prob, grp, g)
        if sig_sol.max() > SIG_BOUND or s_sol.max() > S_MAX or s_sol.min() < S_MIN:
            raise TheoryDeclined(f"the learned point has negative-logit scale σ up to {sig_sol.max():.1f} (tables: "
                              f"σ ≤ {SIG_BOUND:g}) or positive logits outside [{S_MIN:g}, {S_MAX:g}]: the softmax "
                              "is a hard max over the batch there; not covered (raise γ·τ)")
        loss, grad = _loss_grad(prob, grp, g, cond)
        kkt = float(np.max(np.abs(np.where(g > 0, grad, np.minimum(grad, 0.0))) / grp.n)
                    / max(float(np.max(grp.growth)), 1e-300))
        converged = bool(res.success or kkt < 1e-6)
        g_dir[:] = 0.0
        for gi, m in zip(g, members, strict=True):
            g_dir[m] = gi
        p_bar = _p_bar(prob, grp, g, cond)
        p_minus = np.full(prob.c.size, p_bar)
        for gi, m in enumerate(members):
            if g[gi] > 0:
                p_minus[m] = _p_bar_minus(prob, members, g, gi, n_qmc, cond)
        # exact KKT test: direction k is alive iff ∂L/∂g_k at g_k = 0 (others fixed) is negative
        alive = can_grow & ((1 - p_minus) * prob.growth > prob.gamma)
        inside = _in_members(members, prob.c.size)
        if np.array_equal(alive & inside if capped else alive, g_dir > 0):
            break
        active = alive
    else:
        converged = False
        notes.append("active set did not settle")
    rank = int(min(prob.embed_dim, np.sum(g_dir > 0)))
    spectrum = np.sort(g_dir * prob.c)[::-1]
    out = np.zeros(prob.embed_dim)
    out[: min(prob.embed_dim, spectrum.size)] = spectrum[: prob.embed_dim]
    crit = (1 - p_minus) * prob.growth
    tcrit = crit * prob.tau / prob.gamma
    if capped:
        notes.append(f"more directions can grow than embed_dim = {prob.embed_dim}: kept the largest c_k "
                     "(the rank-capped problem is not convex; ranking as in the quartic closed form)")
    f = lambda v: tuple(map(float, v))  # noqa: E731
    return LearnedPoint(rank=rank, spectrum=f(out), positive_weight=float(p_bar), positive_weight_without=f(p_minus),
                        critical_weight_decay=f(crit), critical_temperature=f(tcrit), growth=f(crit - prob.gamma),
                        gains=f(g_dir), variances=f(prob.c), quartic_rank=quartic_rank, loss=float(loss),
                        iterations=iterations, converged=bool(converged), kkt_residual=kkt, notes=tuple(notes))


def _minimize() -> Callable[..., Any]:
    from scipy.optimize import minimize  # where used (scipy.optimize pulls in scipy.linalg)

    return minimize


def _in_members(members: list[np.ndarray], n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    for m in members:
        mask[m] = True
    return mask


def _cap_members(prob: _Problem, members: list[np.ndarray]) -> list[np.ndarray]:
    """At most embed_dim directions, largest a_k^∞ first (a degenerate group may be cut)."""
    left, out = prob.embed_dim, []
    for m in sorted(members, key=lambda m: -prob.growth[m[0]]):
        if left <= 0:
            break
        out.append(m[:left])
        left -= len(out[-1])
    return out


def _scaled(z: np.ndarray, prob: _Problem, grp: _Groups, scale: np.ndarray,
            cond: _Conditional) -> tuple[float, np.ndarray]:
    f, grad = _loss_grad(prob, grp, z * scale, cond)
    return f, grad * scale


def _p_bar_minus(prob: _Problem, members: list[np.ndarray], g: np.ndarray, gi: int, n_qmc: int,
                 cond: _Conditional) -> float:
    """p̄ with one direction of group gi switched off (the others, its group-mates included, unchanged)."""
    sub = [m if i != gi else m[1:] for i, m in enumerate(members)]
    keep = [i for i, m in enumerate(sub) if len(m) > 0]
    if not keep:
        return 1.0 / prob.n_cand
    grp = _groups(prob, [sub[i] for i in keep], n_qmc)
    return _p_bar(prob, grp, g[keep], cond)


# ---------------------------------------------------------------------------------------------------------------
# 6. p̄ at arbitrary weights (general W, no diagonal ansatz)
# ---------------------------------------------------------------------------------------------------------------
def positive_weight(spec: Spec, weights: np.ndarray, n_qmc: int = 8192) -> float:
    """p̄ = E[P_ii] of a dot-similarity InfoNCE (or NT-Xent) spec at encoder weights W (d × D), any W (QMC over
    the pair; the negatives exactly, by the tables). Raises `TheoryDeclined` outside the theory's specs."""
    m = moments_of(spec)
    _check_covered(spec, m)
    c, s = m.cov, m.noise_cov
    dim = c.shape[0]
    if spec.protocol == "augmented_negatives":
        m2a, m2p, sc = c + s, c + s, c + s
    else:
        m2a, m2p, sc = c, c + s, c
    gram = weights.T @ weights
    u = _sobol(2 * dim, n_qmc)
    xi = _special().ndtri(u)
    a = xi[:, :dim] @ _psd_factor(m2a).T
    reg = c @ np.linalg.pinv(m2a)                       # E[p | a] = reg a
    p = a @ reg.T + xi[:, dim:] @ _psd_factor(m2p - reg @ c).T
    tau = spec.temperature
    s_logit = np.einsum("mi,ij,mj->m", a, gram, p) / tau
    ga = a @ gram
    sig = np.sqrt(np.maximum(np.einsum("mi,ij,mj->m", ga, sc, ga), 0.0)) / tau
    if spec.objective == "ntxent":  # the two views of one negative example: logit correlation aᵀGCGa / aᵀGΣ_cGa
        r = np.einsum("mi,ij,mj->m", ga, c, ga) / np.maximum((sig * tau) ** 2, 1e-300)
        (pv,) = _pair_conditional(int(spec.batch_size or 0)).read(sig, s_logit, r, which=(0,))
    else:
        (pv,) = _conditional(int(spec.batch_size or 0)).read(sig, s_logit, which=(0,))
    return float(np.clip(pv, 0, 1).mean())


def _psd_factor(m: np.ndarray) -> np.ndarray:
    lam, u = np.linalg.eigh((m + m.T) / 2)
    return u * np.sqrt(np.clip(lam, 0.0, None))


# ---------------------------------------------------------------------------------------------------------------
# 7. where the rank changes as one knob moves (every other direction re-solved: p̄ moves with the knob)
# ---------------------------------------------------------------------------------------------------------------
FIELDS = {"weight_decay": "weight_decay", "temperature": "temperature", "noise_scale": "augmentation.noise_scale",
          "batch_size": "batch_size"}


def _with(spec: Spec, knob: str, value: float) -> Spec:
    v: float | int = int(round(value)) if knob == "batch_size" else float(value)
    return spec.with_updates(**{FIELDS[knob]: v})


def _knob_value(spec: Spec, knob: str) -> float:
    return float({"weight_decay": spec.weight_decay, "temperature": spec.temperature,
                  "noise_scale": spec.augmentation.noise_scale, "batch_size": spec.batch_size or 0}[knob])


def growth_at(spec: Spec, direction: int) -> float:
    """(1 − p̄_{−k}) c_k/τ − γ of direction k (data-variance-descending index) at the spec's learned point."""
    return learned_point_solution(spec).growth[direction]


def critical_value_self_consistent(spec: Spec, direction: int, parameter: str = "weight_decay", *,
                                   factor: float = 1.5, max_expand: int = 24, xtol: float = 1e-6) -> float | None:
    """The value of `parameter` ('weight_decay', 'temperature' or 'noise_scale') at which direction k's growth
    (1 − p̄_{−k}) c_k/τ − γ changes sign, every other direction re-solved at each trial value (p̄ moves with it).

    Searches outward from the spec's value (geometric steps of `factor`, in the direction that moves the sign)
    and refines with Brent's method; None if no sign change within factor**max_expand. Each trial is one
    learned-point solve (10–30 ms). At the root the direction's gain is 0, so p̄_{−k} = p̄ there.
    """
    from scipy.optimize import brentq

    x0 = _knob_value(spec, parameter)
    if x0 <= 0:
        raise TheoryDeclined(f"{parameter} = 0: no scale to search from")

    def f(x: float) -> float:
        return growth_at(_with(spec, parameter, x), direction)

    f0 = f(x0)
    # γ and τ kill a direction when raised; noise lowers p̄ and revives it when raised
    up = (f0 > 0) if parameter in ("weight_decay", "temperature") else (f0 <= 0)
    lo, flo = x0, f0
    for _ in range(max_expand):
        hi = lo * factor if up else lo / factor
        fhi = f(hi)
        if (fhi > 0) != (flo > 0):
            a, b = sorted((lo, hi))
            return float(brentq(f, a, b, xtol=xtol * x0, rtol=1e-10))
        lo, flo = hi, fhi
    return None


def _growth_curve(spec: Spec, knob: str, value: float) -> np.ndarray | None:
    """Growth of every direction at the knob's value (None where the learned point is not covered there)."""
    try:
        return np.asarray(learned_point_solution(_with(spec, knob, value)).growth)
    except TheoryDeclined:
        return None


def rank_changes(spec: Spec, knob: str, lo: float, hi: float, *, n_grid: int = 24, rtol: float = 1e-8,
                 progress: Callable[[int, int], None] | None = None) -> list[float]:
    """The knob values in (lo, hi) at which a direction's learned-point growth changes sign, i.e. where the
    learned-point rank changes, each to relative accuracy `rtol`; every other direction re-solved (p̄ moves).

    A geometric grid of `n_grid` values (integers for 'batch_size') brackets the sign changes of each direction,
    Brent's method (bisection for N) refines each. Two changes of one direction within one grid cell are not
    resolved. Points where the learned point is not covered (hard-max softmax at tiny γτ) are skipped.
    `progress(done, total)` per solve.
    """
    from scipy.optimize import brentq

    integer = knob == "batch_size"
    grid = np.geomspace(lo, hi, n_grid)
    if integer:
        grid = np.unique(np.round(grid))
    total, done = len(grid), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done, total), total)

    curves: list[np.ndarray | None] = []
    for v in grid:
        curves.append(_growth_curve(spec, knob, float(v)))
        tick()
    cuts: list[float] = []
    for i in range(len(grid) - 1):
        a, b = curves[i], curves[i + 1]
        if a is None or b is None:
            continue
        for k in np.flatnonzero((a > 0) != (b > 0)):
            x_lo, x_hi = float(grid[i]), float(grid[i + 1])
            if integer:  # the smallest N on the far side of the sign change
                f_lo = a[k] > 0
                while x_hi - x_lo > 1:
                    mid = math.floor((x_lo + x_hi) / 2)
                    g = _growth_curve(spec, knob, mid)
                    tick()
                    if g is not None and (g[k] > 0) == f_lo:
                        x_lo = mid
                    else:
                        x_hi = mid
                cuts.append(x_hi)
                continue

            def f(x: float, k: int = int(k)) -> float:
                g = _growth_curve(spec, knob, x)
                tick()
                return float("nan") if g is None else float(g[k])

            cuts.append(float(brentq(f, x_lo, x_hi, xtol=rtol * x_lo, rtol=max(rtol, 4e-16))))
    return sorted(set(cuts))


# ---------------------------------------------------------------------------------------------------------------
# 8. the solver table's row 'learned_point_dot' (sslscape.theory.solvers): covers (above), prediction, thresholds,
#    knob_changes
# ---------------------------------------------------------------------------------------------------------------
def _thresholds_of(spec: Spec, lp: LearnedPoint) -> Thresholds:
    desc = lambda v: tuple(sorted((max(float(x), 0.0) for x in v), reverse=True))  # noqa: E731
    gamma = desc(lp.critical_weight_decay)
    return Thresholds(kind="learned_point", order="learned_point", critical_weight_decay=gamma,
                      critical_temperature=tuple(spec.temperature * g / spec.weight_decay for g in gamma if g > 0),
                      critical_noise_scale=None)


def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """The learned point's critical values: γ*_k = (1 − p̄_{−k}) c_k/τ and τ*_k = τγ*_k/γ, the other directions held
    at the learned point (noise scales move p̄ itself: none frozen; `knob_changes` re-solves along a knob)."""
    return _thresholds_of(spec, learned_point_solution(spec, moments))


def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The learned point as the theory's answer (module docstring; ~10–50 ms). TheoryDeclined outside its tables."""
    lp = learned_point_solution(spec, moments)
    p_bar = lp.positive_weight
    k_cand = softmax_candidates(spec.objective, spec.batch_size or 1)  # N (infonce) or 2N − 1 (ntxent)
    notes = [f"learned point: the positive pair carries p̄ = {p_bar:.3f} of the softmax (1/K = {1 / k_cand:.3g} at "
             f"W = 0, K = {k_cand} candidates); direction k survives iff (1 − p̄_{{−k}})·c_k/τ > γ"]
    if lp.rank != lp.quartic_rank:
        dead = [k + 1 for k, (g, c) in enumerate(zip(lp.growth, lp.variances, strict=True))
                if g <= 0 and (1 - 1 / k_cand) * c / spec.temperature > spec.weight_decay]
        notes.append(f"the W = 0 expansion (order quartic) keeps {lp.quartic_rank}; the positive pair's share kills "
                     f"direction(s) {dead} (of data variance descending)")
    notes.append("critical values hold the other directions at the learned point; where the rank changes as one "
                 "knob moves (p̄ moves with it): sslscape advise")
    notes.extend(lp.notes)
    if not lp.converged:
        notes.append(f"the learned-point solve did not fully converge (KKT residual {lp.kkt_residual:.1e})")
    return make_prediction(spec, alive=lp.rank, spectrum=lp.spectrum, thresholds=_thresholds_of(spec, lp),
                      capacity=capacity_of(spec, moments), notes=notes, method="learned_point", loss=lp.loss,
                      embed_dim=len(lp.spectrum), positive_weight=p_bar)


def _knob_range(spec: Spec, knob: str) -> tuple[float, float]:
    """Where the learned-point rank can change: every direction is dead once γτ exceeds max c (p̄ ≥ 0), and the
    scan reaches two decades below the weakest direction's c/τ (smaller values: a hard-max softmax, not covered)."""
    c = np.linalg.eigvalsh(moments_of(spec).cov)
    c_max, c_min = float(c.max()), float(c[c > 1e-12 * c.max()].min())
    if knob == "weight_decay":
        return 1e-2 * c_min / spec.temperature, 1.02 * c_max / spec.temperature
    if knob == "temperature":
        return 1e-2 * c_min / spec.weight_decay, 1.02 * c_max / spec.weight_decay
    if knob == "noise_scale":
        base = spec.augmentation.noise_scale or 1.0
        return 1e-3 * base, 1e3 * base
    return 2.0, 65536.0


@lru_cache(maxsize=64)
def _knob_changes(spec_json: str, knob: str) -> tuple[float, ...]:
    """`rank_changes` over the knob's range, cached per (spec, knob) for the process (a pure function of its
    arguments: asking `advise` for several K reuses one scan)."""
    from ..spec import parse_spec

    spec = parse_spec(json.loads(spec_json))
    lo, hi = _knob_range(spec, knob)
    return tuple(rank_changes(spec, knob, lo, hi, n_grid=28))


def knob_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The knob values where the learned point's rank changes (every other direction re-solved; `advise`)."""
    if knob == "noise_scale" and spec.augmentation.noise_cov is None:
        return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
    return list(_knob_changes(spec.model_dump_json(), knob)), ""
