"""InfoNCE with euclidean similarity, clean negatives and a finite batch, at the learned point (docs/theory.md §5.1).

The quartic landscape expands around W = 0, where the positive pair's softmax share is 1/N. With several strong
directions the learned point has p̄ = E[P_ii] ≫ 1/N, and a direction k whose coordinate is independent of the others
grows iff (exactly, to all orders; the derivation of §5 with the euclidean logits)

    ∂E ℓ/∂g_k |_{g_k = 0} = −(1 − p̄_{−k})(2c_k − s_k)/(2τ) + γ < 0          (clean negatives)

— the quartic's (1 − 1/N)(2c_k − s_k)/(2τ) > γ with p̄_{−k}, the positive share at the learned point of the other
directions. The learned point itself, with G = WᵀW = diag(g):

1. **Convex in G.** s(u, v) = −‖u − v‖²/2, so with R_+ = |a − p|²_G, R_j = |a − c_j|²_G and κ = 1/(2τ) the sample
   loss is ℓ = log(1 + Σ_j e^{W_+ − W_j}), W_+ = κR_+, W_j = κR_j — log-sum-exp of functions linear in G, + γ Tr G:
   convex; sign flips of the common eigenbasis keep the law of the views, so a minimiser is diagonal, and equal
   within a group of directions with the same (c, s) (permutation symmetry + convexity).
2. **The negatives exactly, by one FFT per anchor.** Given the anchor a = x (clean), the N − 1 values W_j are i.i.d.:
   per group of n directions with gain g and variance c, κg|c_j − a|² = λ χ′²_n(δ) with λ = κgc, δ = |a|²/c. With
   1/(1 + Y) and log(1 + Y) as Laplace/Frullani integrals (as in §5), every softmax statistic is an integral of
   (1 − ψ(y))^{N−1}, ψ(y) = E[φ(y − W_j)], φ(x) = 1 − exp(−e^x), and by Mellin–Barnes (−1 < c < 0)

       e^{cy} ψ(y) = (1/2π) ∫ −Γ(c − iω) M(c − iω) e^{iωy} dω,    M(z) = Π_groups (1 − 2λz)^{−n/2} e^{δλz/(1 − 2λz)}

   (M the moment generating function of W_j given a: closed form). One inverse real FFT gives ψ on a lattice; the
   u-integrals
       E[ℓ | a, W_+] = F(W_+) = ∫ dy e^{−e^{y − W_+}} Λ(y),   E[P_ii | a, W_+] = P(W_+) = 1 − F′(W_+),
       Λ = 1 − (1 − ψ)^{N−1}
   are lattice sums evaluated exactly at the positive's nodes (a matrix product). No approximation of the negatives'
   law: the moment-matched Gaussian of the dot tables is far off here (p̄ 0.17 where Monte-Carlo gives 0.68; the
   logits are a bounded, shifted non-central χ²).
3. **The pair.** Clean negatives: W_+ = κ Σ g s χ²_n (the positive's offset is the noise, independent of the
   anchor); the anchor enters through δ ~ χ²_n per group. Both by product Gauss–Laguerre rules (`NODES`).
4. **Solve.** BFGS on the group gains (analytic gradient: ∂ψ/∂λ by one more inverse FFT per group, ∂F/∂W_+ =
   1 − P) from the minimiser of the annealed loss, with its Hessian as the first metric (`_annealed_start`); the
   growth law above then decides every dead direction (an active-set round if it disagrees), and p̄_{−k} of an alive
   direction is p̄ with it switched off. At most embed_dim directions: the largest (2c − s) first (`_cap`).

Critical values (in `finite_batch.LearnedPoint`, the dot learned point's result): γ*_k = (1 − p̄_{−k})(2c_k − s_k)/(2τ)
with the others held at the learned point; the solution depends on (γ, τ) only through γτ (G/τ is the variable), so
τ*_k = τγ*_k/γ.
Not covered (`covers`): augmented negatives (the positive's offset is then correlated with the anchor; the quartic
answers with a note), other similarities, depth > 1, a bias, a normalisation, symmetric InfoNCE, a data mean,
sample-file data, C and S without a common eigenbasis, γ = 0, no batch size, more than MAX_GROUPS groups of
distinct (c, s) alive at once (the product rule's cost).

Tests: tests/theory/test_euclidean_learned_point.py (ψ, ℓ and p̄ against simulated negatives; the expected loss,
p̄ and the gradient against Monte-Carlo and autodiff of sslscape's exact batch loss, and finite differences; the
growth law against autodiff at g_k = 0; the lattice and rules against finer ones; issue 22's failing example).
Against training: benchmarks/check_issue22_kinds.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from ..moments import Moments
from ..spec import Spec
from ._linalg import joint_diagonals
from .finite_batch import LearnedPoint
from .prediction import Prediction, TheoryDeclined, Thresholds, capacity_of, make_prediction

__all__ = ["conditional_stats", "covers", "euclidean_learned_point", "expected_loss", "knob_changes",
           "prediction", "thresholds"]

# the y lattice of ψ: y_n = Y0 + n·STEP, n < LATTICE (period 128); Mellin abscissa C_ABS: aliasing ≤ e^{C_ABS·128}
# = e^{−32}, the spectrum cut at ω = π/STEP where |Γ(c − iω)| ≈ e^{−πω/2} ≈ 3e-9. Against a 4× finer lattice
# (period 256) and 3× the nodes: p̄ within 3e-5, E ℓ 2e-5, gradients 2e-4 (tests)
Y0, STEP, LATTICE, C_ABS = -40.0, 0.25, 512, -0.25
NODES = {1: 16, 2: 8, 3: 4}    # Gauss–Laguerre nodes per group for 1, 2, 3 alive groups (anchor and positive):
                               # 64 anchors at most; p̄ within 3e-5 (1, 2 groups) and 4e-4 (3) of 8–24 nodes
MAX_GROUPS = 3
DYING = 1e-4                   # a gain pushed below DYING · max is taken as dying (the growth law then decides it)
BFGS_STEPS, BFGS_RTOL = 30, 1e-5   # gains to ~1e-5 relative (the lattice's noise is ~1e-8 in E ℓ)


# ---- 1. the lattice, the kernels and the Mellin factor (shared by every evaluation) --------------------------------
@lru_cache(maxsize=1)
def _lattice() -> dict[str, np.ndarray]:
    """y lattice, ω ≥ 0 frequencies (ψ is real: its spectrum is Hermitian, so the inverse transform is an irfft),
    −Γ(c − iω) e^{iωY0} and the damping e^{−cy}/STEP."""
    from scipy.special import loggamma

    omega = 2 * np.pi * np.arange(LATTICE // 2 + 1) / (LATTICE * STEP)
    z = C_ABS - 1j * omega
    mellin = -np.exp(loggamma(z) + 1j * omega * Y0)
    y = Y0 + STEP * np.arange(LATTICE)
    out = {"y": y, "z": z, "mellin": mellin, "damp": np.exp(-C_ABS * y) / STEP}
    for v in out.values():
        v.flags.writeable = False
    return out


def _kernels(w_plus: np.ndarray, lat: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """STEP·k_F(y_n − r_k) and STEP·k_P(y_n − r_k), (LATTICE, K), k_F(u) = e^{−e^u}, k_P(u) = e^{u − e^u} = −k_F′(u):
    E[ℓ | a, W_+ = r] = Λ @ the first (the u-integral on the lattice, exact in r) and its r-derivative 1 − P =
    Λ @ the second."""
    u = np.minimum(lat["y"][:, None] - w_plus[None, :], 50.0)
    eu = np.exp(u)
    return STEP * np.exp(-eu), STEP * eu * np.exp(-eu)


def _inverse(spectrum: np.ndarray, lat: dict[str, np.ndarray]) -> np.ndarray:
    """e^{−cy} (1/2π) ∫ spectrum(ω) e^{iωy} dω on the lattice from the ω ≥ 0 half (a real function)."""
    from scipy.fft import irfft

    return irfft(spectrum, LATTICE, axis=-1) * lat["damp"]


# ---- 2. the problem: groups of directions with equal (c, s) --------------------------------------------------------
@dataclass(frozen=True)
class _Problem:
    c: np.ndarray          # (D,) data variances, descending
    s: np.ndarray          # (D,) noise variances in that order
    group: np.ndarray      # (D,) group index of each direction
    gc: np.ndarray         # (G,) c of each group
    gs: np.ndarray         # (G,) s of each group
    size: np.ndarray       # (G,) directions per group
    tau: float
    gamma: float
    n_batch: int
    embed_dim: int


def covers(spec: Spec, moments: Moments) -> str | None:
    """None when the euclidean learned point covers `spec`, else why not (one phrase; module docstring)."""
    if spec.objective != "infonce" or spec.similarity != "euclidean":
        return "the euclidean learned point is InfoNCE with euclidean similarity"
    if spec.protocol != "clean_negatives":
        return ("augmented negatives (the positive's offset is correlated with the anchor; covered with clean "
                "negatives only)")
    for bad, why in ((spec.batch_size is None, "no batch size (the large-batch limit: the quartic)"),
                     (spec.depth != 1, "depth > 1"), (spec.bias, "a bias"),
                     (spec.normalization != "none", f"{spec.normalization} normalisation"),
                     (spec.symmetric, "symmetric InfoNCE"), (spec.weight_decay <= 0, "weight decay 0"),
                     (spec.data.samples is not None, "sample-file data (the Gaussian law of the negatives is used)"),
                     (bool(np.any(moments.mean != 0)), "a non-zero data mean")):
        if bad:
            return why
    if joint_diagonals(moments.cov, moments.noise_cov) is None:
        return "data and noise covariances without a common eigenbasis"
    return None


def _problem(spec: Spec, moments: Moments) -> _Problem:
    c, s = (np.clip(v, 0.0, None) for v in joint_diagonals(moments.cov, moments.noise_cov))
    idx = np.lexsort((-s, -c))
    c, s = c[idx], s[idx]
    keys = np.round(np.stack([c, s], 1) / max(float(c.max()), 1e-300), 12)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = np.asarray(group).ravel()
    return _Problem(c=c, s=s, group=group, gc=c[first], gs=s[first], size=np.bincount(group),
                    tau=float(spec.temperature), gamma=float(spec.weight_decay), n_batch=int(spec.batch_size or 0),
                    embed_dim=int(spec.embed_dim or c.size))


def _chi2_rule(n: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of E f(X), X ~ χ²_n (generalised Gauss–Laguerre in X/2 ~ Gamma(n/2))."""
    from scipy.special import roots_genlaguerre

    y, w = roots_genlaguerre(nodes, n / 2 - 1)
    return 2 * y, w / w.sum()


def _product_rule(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """χ² nodes (K, G) and weights (K,) of the product rule over groups of the given sizes."""
    return _product_rule_cached(tuple(float(n) for n in sizes), NODES[len(sizes)])


@lru_cache(maxsize=64)
def _product_rule_cached(sizes: tuple[float, ...], k: int) -> tuple[np.ndarray, np.ndarray]:
    rules = [_chi2_rule(n, k) for n in sizes]
    grids = np.meshgrid(*[r[0] for r in rules], indexing="ij")
    wgrid = np.meshgrid(*[r[1] for r in rules], indexing="ij")
    nodes, weights = np.stack([g.ravel() for g in grids], 1), np.prod(np.stack([w.ravel() for w in wgrid], 1), axis=1)
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


# ---- 3. the expected loss, p̄ and the gradient ----------------------------------------------------------------------
def expected_loss(gains: np.ndarray, gc: np.ndarray, gs: np.ndarray, sizes: np.ndarray, tau: float, n_batch: int,
                  grad: bool = True) -> tuple[float, np.ndarray, float]:
    """E ℓ (clean negatives, euclidean similarity) of G = diag(gains per group), its gradient per group gain and
    p̄ = E P_ii (module docstring, points 2–3). Groups with gain 0 are left out of the rules (they do not enter)."""
    lat = _lattice()
    gains = np.asarray(gains, float)
    on = gains > 0
    grad_out = np.zeros(gains.size)
    if not on.any():
        return math.log(n_batch), grad_out - (1 - 1 / n_batch) * (2 * gc - gs) / (2 * tau), 1.0 / n_batch
    kappa = 1.0 / (2 * tau)
    g, c, s, n = gains[on], gc[on], gs[on], sizes[on].astype(float)
    nodes, weights = _product_rule(n)                       # δ (anchor) and χ² (positive) share one rule
    lam = kappa * g * c                                     # negatives: λ χ′²_n(δ) per group
    z = lat["z"]
    den = 1 - 2 * np.outer(lam, z)                          # (G, L)
    log_m = (-0.5 * n[:, None] * np.log(den)).sum(0)[None, :] + (nodes @ (lam[:, None] * z / den))  # (A, L)
    qhat = lat["mellin"] * np.exp(log_m)                    # the spectrum of e^{cy}ψ, ω ≥ 0
    if grad:  # ∂ψ/∂λ_j: the same transform of q̂ ∂ log M/∂λ_j (one batched inverse FFT with ψ itself)
        dlog = n[:, None, None] * z / den[:, None, :] + nodes.T[:, :, None] * z / den[:, None, :] ** 2  # (G, A, L)
        spectra = np.concatenate([qhat[None], qhat[None] * dlog])
    else:
        spectra = qhat[None]
    inv = _inverse(spectra, lat)                            # (1 + G, A, LATTICE)
    psi = np.clip(inv[0], 0.0, 1.0)
    one_m = 1 - np.minimum(psi, 1 - 1e-16)
    rest = np.exp((n_batch - 1) * np.log(one_m))            # (1 − ψ)^{N−1}
    lam_tabs = [1 - rest]                                   # Λ, then ∂Λ/∂λ_j = (N − 1)(1 − ψ)^{N−2} ∂ψ/∂λ_j
    if grad:
        inside = (psi > 0) & (psi < 1)
        lam_tabs += [np.where(inside, (n_batch - 1) * rest / one_m * d, 0.0) for d in inv[1:]]
    w_plus = kappa * (nodes * (g * s)).sum(1)               # positive: κ Σ g s χ²_n, same rule (independent)
    k_f, k_p = _kernels(w_plus, lat)
    weight = np.outer(weights, weights)                     # (anchor, positive)
    tabs = np.stack(lam_tabs)                               # (1 + G, A, LATTICE)
    value = tabs @ k_f                                      # E[ℓ | a, W_+] (and its ∂/∂λ_j), (1 + G, A, K)
    loss = float((weight * value[0]).sum())
    slope = tabs[0] @ k_p                                   # ∂E[ℓ | a, W_+]/∂W_+ = 1 − P
    p_bar = float((weight * np.clip(1 - slope, 0.0, 1.0)).sum())
    if grad:
        dlam = np.einsum("ak,jak->j", weight, value[1:])
        # W_+ = κ Σ g s χ² → ∂/∂g_j through the positive: ∂E[ℓ|·]/∂W_+ · κ s_j χ²_j
        dplus = ((weight * slope) @ nodes).sum(0) * kappa * s
        grad_out[on] = dlam * kappa * c + dplus
    return loss, grad_out, p_bar


def conditional_stats(gains: np.ndarray, gc: np.ndarray, gs: np.ndarray, sizes: np.ndarray, tau: float,
                      n_batch: int, anchor_delta: np.ndarray, w_plus: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray]:
    """ψ on the lattice, E[ℓ | a, W_+] and E[P_ii | a, W_+] for given anchors (δ per alive group, (A, G)) and
    positive values W_+ (K,): the conditional integrals of point 2, for tests against simulated negatives.
    Returns (y lattice, ψ (A, LATTICE), (ℓ (A, K), P (A, K)) stacked as one array (2, A, K))."""
    lat = _lattice()
    on = np.asarray(gains) > 0
    kappa = 1.0 / (2 * tau)
    lam = kappa * np.asarray(gains)[on] * gc[on]
    z = lat["z"]
    den = 1 - 2 * np.outer(lam, z)
    log_m = (-0.5 * sizes[on][:, None] * np.log(den)).sum(0)[None, :] + anchor_delta @ (lam[:, None] * z / den)
    psi = np.clip(_inverse(lat["mellin"] * np.exp(log_m), lat), 0.0, 1.0)
    rest = np.exp((n_batch - 1) * np.log(1 - np.minimum(psi, 1 - 1e-16)))
    k_f, k_p = _kernels(np.asarray(w_plus, float), lat)
    return lat["y"], psi, np.stack([(1 - rest) @ k_f, 1 - (1 - rest) @ k_p])


# ---- 4. the learned point -------------------------------------------------------------------------------------------
def _quartic_start(prob: _Problem, alive: np.ndarray, p_bar: float) -> np.ndarray:
    """Group gains of the quartic closed form with the positive share p̄ (p = 1/N at W = 0): quadratic
    (1 − p̄)(2c − s)/(2τ) − γ, quartic (1 − p̄)·(3/4)c²/τ² per direction (clean: Tr K_aK_c + ½ Tr K_c², K = W C Wᵀ)."""
    keep = 1 - p_bar
    a = keep * (2 * prob.gc - prob.gs) / (2 * prob.tau) - prob.gamma
    q = keep * 0.75 * prob.gc**2 / prob.tau**2
    return np.where(alive, np.maximum(a, 0.0) / np.maximum(2 * q, 1e-300), 0.0)


@dataclass(frozen=True)
class _Solved:
    gains: np.ndarray       # (G,) group gains
    value: float            # E ℓ + γ Σ n g
    p_bar: float
    converged: bool
    evaluations: int
    kkt: float              # max |∂/∂g| over alive groups, relative to the largest growth drive


def _cap(prob: _Problem, alive: np.ndarray) -> np.ndarray:
    """Directions per group that may be alive: at most embed_dim in all, groups of largest drive (2c − s) first (the
    last one cut to the rows left). (G,) ints, 0 for dead groups."""
    left, sizes = prob.embed_dim, np.zeros(prob.gc.size, int)
    for j in sorted(np.flatnonzero(alive), key=lambda j: -(2 * prob.gc[j] - prob.gs[j])):
        sizes[j] = min(int(prob.size[j]), left)
        left -= sizes[j]
    return sizes


def _solve_groups(prob: _Problem, alive: np.ndarray, start: np.ndarray | None) -> _Solved:
    """Group gains minimising E ℓ + γ Σ n g over the alive groups (`_bfgs` from `_annealed_start`)."""
    idx = np.flatnonzero(alive)
    g = np.zeros(prob.gc.size)
    if idx.size == 0:
        return _Solved(gains=g, value=math.log(prob.n_batch), p_bar=1.0 / prob.n_batch, converged=True,
                       evaluations=0, kkt=0.0)
    sub = (prob.gc[idx], prob.gs[idx], prob.size[idx])
    n = prob.size[idx].astype(float)
    seen: dict[bytes, tuple[float, np.ndarray, float]] = {}

    def objective(gains: np.ndarray) -> tuple[float, np.ndarray, float]:
        key = gains.tobytes()
        if key not in seen:  # the final read repeats the last point; each evaluation is a batch of FFTs
            value, grad, p_bar = expected_loss(gains, *sub, prob.tau, prob.n_batch)
            seen[key] = (value + prob.gamma * float(n @ gains), grad + prob.gamma * n, p_bar)
        return seen[key]

    x0, hess = _annealed_start(prob, idx)
    if start is not None:
        x0 = np.where(start[idx] > 0, start[idx], x0)
    x, converged = _bfgs(objective, x0, hess)
    g[idx] = x
    value, grad, p_bar = objective(x)
    drive = np.max((2 * prob.gc[idx] - prob.gs[idx]) / (2 * prob.tau))
    kkt = float(np.max(np.abs(grad[x > 0]) / n[x > 0], initial=0.0) / max(drive, 1e-300))
    return _Solved(gains=g, value=value, p_bar=p_bar, converged=converged, evaluations=len(seen), kkt=kkt)


def _bfgs(objective: Any, x: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray, bool]:
    """Minimise a smooth convex function of a few positive variables by BFGS with the annealed loss's Hessian as the
    first metric (it is within ~5–20 % of the true one, so 3–6 evaluations reach 1e-6), Armijo backtracking, steps
    capped to keep every variable above a tenth of its value. A variable falling below DYING of the largest is set
    to 0 (a dying group: the growth law then decides it). Returns (x, converged)."""
    lam, vec = np.linalg.eigh(0.5 * (hess + hess.T))
    h = (vec * np.maximum(lam, 1e-6 * max(float(lam.max()), 1e-300))) @ vec.T
    f, grad, _ = objective(x)
    for _ in range(BFGS_STEPS):
        step = -np.linalg.solve(h, grad)
        shrink = np.where(step < 0, -0.9 * x / np.minimum(step, -1e-300), np.inf)
        alpha = min(1.0, float(shrink.min()))
        while True:
            trial = x + alpha * step
            f_new, g_new, _ = objective(trial)
            if f_new <= f + 1e-4 * alpha * float(grad @ step) or alpha < 1e-4:
                break
            alpha *= 0.5
        s, y = trial - x, g_new - grad
        done = bool(np.all(np.abs(s) <= BFGS_RTOL * x)) or abs(float(grad @ s)) <= 1e-12 * max(abs(f), 1.0)
        x, f, grad = trial, f_new, g_new
        if done:
            return x, True
        dead = x < DYING * x.max()
        if dead.any():  # a dying group: the others are solved again without it (the growth law then decides it)
            return _without(objective, x, ~dead, h)
        if float(y @ s) > 1e-14 * float(np.linalg.norm(y) * np.linalg.norm(s)):
            hs = h @ s
            h = h - np.outer(hs, hs) / float(s @ hs) + np.outer(y, y) / float(y @ s)
    return x, False


def _without(objective: Any, x: np.ndarray, keep: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, bool]:
    """`_bfgs` on the variables `keep` (the others held at 0), from x and the metric's block."""
    out = np.zeros_like(x)

    def sub(v: np.ndarray) -> tuple[float, np.ndarray, float]:
        full = np.zeros_like(x)
        full[keep] = v
        value, gradient, p_bar = objective(full)
        return value, gradient[keep], p_bar

    out[keep], ok = _bfgs(sub, x[keep], h[np.ix_(keep, keep)])
    return out, ok


def _annealed_start(prob: _Problem, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start gains and a first Hessian: the minimiser of the *annealed* loss E log(1 + (N − 1) e^{W_+} E_c e^{−W_j})
    (the negatives' sum replaced by its mean; E_c e^{−W_j} = Π (1 + 2λ)^{−n/2} e^{−λδ/(1 + 2λ)} in closed form),
    microseconds per evaluation. On issue 22's example it is within 5 % (strong) and 18 % (weak) of the learned
    point, where the quartic closed form is 8× off for the strong directions (the euclidean logits are bounded)."""
    from scipy.optimize import minimize

    n = prob.size[idx].astype(float)
    c, s = prob.gc[idx], prob.gs[idx]
    kappa = 1.0 / (2 * prob.tau)
    nodes, weights = _product_rule(n)
    weight = np.outer(weights, weights)
    log_n = math.log(prob.n_batch - 1)

    def fun(g: np.ndarray) -> tuple[float, np.ndarray]:
        lam = kappa * g * c
        log_m = -(0.5 * n * np.log1p(2 * lam)).sum() - nodes @ (lam / (1 + 2 * lam))        # (A,) log E_c e^{−W}
        arg = kappa * (nodes * (g * s)).sum(1)[None, :] + log_n + log_m[:, None]           # (A, K)
        sig = weight * (0.5 * (1 + np.tanh(0.5 * arg)))                                     # weight · σ(arg)
        dlog_m = -(n / (1 + 2 * lam))[None, :] - nodes / (1 + 2 * lam) ** 2                # ∂ log_m/∂λ, (A, G)
        grad = (sig.sum(1) @ dlog_m) * kappa * c + (sig.sum(0) @ nodes) * kappa * s + prob.gamma * n
        return float((weight * np.logaddexp(0.0, arg)).sum()) + prob.gamma * float(n @ g), grad

    q = _quartic_start(prob, np.isin(np.arange(prob.gc.size), idx), 1 / prob.n_batch)[idx]
    res = minimize(fun, np.maximum(q, 1e-6), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * idx.size)
    x = np.where(res.x > 0, res.x, np.maximum(q, 1e-6))
    g0 = fun(x)[1]
    hess = np.stack([(fun(x + e)[1] - g0) / e.sum() for e in np.diag(1e-5 * x)], axis=1)  # its Hessian there
    return x, hess


def euclidean_learned_point(spec: Spec, moments: Moments) -> LearnedPoint:
    """Rank, spectrum, p̄ and per-direction critical values of clean-negative euclidean InfoNCE with a finite batch
    (module docstring), as `finite_batch.LearnedPoint` (its fields; `iterations` counts loss evaluations, each a
    batch of FFTs). Deterministic. Raises TheoryDeclined outside `covers` and when more than MAX_GROUPS groups
    of distinct (c, s) are alive."""
    why = covers(spec, moments)
    if why is not None:
        raise TheoryDeclined(why)
    prob = _problem(spec, moments)
    drive = (2 * prob.gc - prob.gs) / (2 * prob.tau)      # growth per unit (1 − p̄)
    can_grow = (drive > prob.gamma) & (prob.gc > 0)
    quartic_rank = int(min(prob.embed_dim, prob.size[(1 - 1 / prob.n_batch) * drive > prob.gamma].sum()))
    alive = can_grow & ((1 - 1 / prob.n_batch) * drive > prob.gamma)
    notes: list[str] = []
    g, p_bar, converged = np.zeros(prob.gc.size), 1.0 / prob.n_batch, True
    value, evaluations, kkt = math.log(prob.n_batch), 0, 0.0
    capped = False
    full = prob
    for _ in range(prob.gc.size + 2):  # active-set rounds: the exact growth law settles near-threshold groups
        sizes = _cap(full, alive)
        capped = capped or bool((sizes < np.where(alive, full.size, 0)).any())
        prob, alive = replace(full, size=np.maximum(sizes, 1)), sizes > 0
        if int(alive.sum()) > MAX_GROUPS:
            raise TheoryDeclined(f"{int(alive.sum())} groups of directions with distinct (c, s) alive at once "
                                 f"(the product rule covers ≤ {MAX_GROUPS})")
        start = np.where(g > 0, g, _quartic_start(prob, alive, p_bar)) if g.any() else None
        sol = _solve_groups(prob, alive, start)
        g, value, p_bar, converged, kkt = sol.gains, sol.value, sol.p_bar, sol.converged, sol.kkt
        evaluations += sol.evaluations
        # the growth law decides: a dead group grows iff (1 − p̄)(2c − s)/(2τ) > γ; an alive one with a gain the
        # optimiser left near 0 is checked the same way, with p̄ of the others (p̄_{−k}: below)
        want = _cap(full, can_grow & (((1 - p_bar) * drive > prob.gamma) | (g > 0))) > 0
        if np.array_equal(want, g > 0):
            break
        alive = want
    else:
        converged = False
        notes.append("the active set did not settle: a direction sits at its threshold")
    p_minus = np.full(prob.gc.size, p_bar)
    for j in np.flatnonzero(g > 0):  # p̄ with one direction of group j switched off, the others held
        sizes = prob.size.copy()
        sizes[j] -= 1
        p_minus[j] = expected_loss(np.where(sizes > 0, g, 0.0), prob.gc, prob.gs, np.maximum(sizes, 1), prob.tau,
                                   prob.n_batch, grad=False)[2]
    crit_g = (1 - p_minus) * drive
    # an alive group whose growth at g_k = 0 (others held) is not positive is dead: a gain L-BFGS-B left at a
    # rounding-level value (convexity: the growth of a direction alive at the minimum is positive)
    g = np.where(crit_g > prob.gamma, g, 0.0)
    per_dir = lambda v: np.asarray(v)[prob.group]  # noqa: E731
    rows = np.array([np.sum(prob.group[:i] == prob.group[i]) for i in range(prob.group.size)])  # index in its group
    gains = np.where(rows < per_dir(np.where(g > 0, prob.size, 0)), per_dir(g), 0.0)  # a cut group: its first rows
    rank = int(np.count_nonzero(gains))
    if capped:
        notes.append(f"more directions grow than embed_dim = {prob.embed_dim}: kept those of largest (2c − s), the "
                     "rest held at 0 (the rank-capped problem is not convex; as the dot learned point)")
    spectrum = np.zeros(prob.embed_dim)
    top = np.sort(gains * prob.c)[::-1][: prob.embed_dim]
    spectrum[: top.size] = top
    crit = per_dir(crit_g)
    f = lambda v: tuple(map(float, v))  # noqa: E731
    return LearnedPoint(rank=rank, spectrum=f(spectrum), positive_weight=float(p_bar),
                        positive_weight_without=f(per_dir(p_minus)), critical_weight_decay=f(crit),
                        critical_temperature=f(crit * prob.tau / prob.gamma), growth=f(crit - prob.gamma),
                        gains=f(gains), variances=f(prob.c), quartic_rank=quartic_rank, loss=float(value),
                        iterations=evaluations, converged=converged, kkt_residual=kkt, notes=tuple(notes))


# ---- the solver table's row 'learned_point_euclidean' (sslscape.theory.solvers) -----------------------------------
def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """γ*_k = (1 − p̄_{−k})(2c_k − s_k)/(2τ) at the learned point (the others held), τ*_k = τγ*_k/γ."""
    return _thresholds_of(spec, euclidean_learned_point(spec, moments))


def _thresholds_of(spec: Spec, lp: LearnedPoint) -> Thresholds:
    crit = tuple(sorted((max(float(x), 0.0) for x in lp.critical_weight_decay), reverse=True))
    return Thresholds(kind="learned_point", order="learned_point", critical_weight_decay=crit,
                      critical_temperature=tuple(spec.temperature * g / spec.weight_decay for g in crit if g > 0),
                      critical_noise_scale=None)


def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The euclidean learned point as the theory's answer (docs/theory.md §5.1)."""
    lp = euclidean_learned_point(spec, moments)
    notes = [f"learned point (euclidean similarity, clean negatives): the positive pair carries p̄ = "
             f"{lp.positive_weight:.3f} of the softmax (1/N = {1 / (spec.batch_size or 1):.3g} at W = 0); direction k "
             "survives iff (1 − p̄_{−k})(2c_k − s_k)/(2τ) > γ"]
    if lp.rank != lp.quartic_rank:
        notes.append(f"the W = 0 expansion (order quartic) keeps {lp.quartic_rank}")
    notes.extend(lp.notes)
    if not lp.converged:
        notes.append(f"the learned-point solve did not fully converge (KKT residual {lp.kkt_residual:.1e})")
    return make_prediction(spec, alive=lp.rank, spectrum=lp.spectrum, thresholds=_thresholds_of(spec, lp),
                           capacity=capacity_of(spec, moments), notes=notes, method="learned_point_euclidean",
                           loss=lp.loss, embed_dim=len(lp.spectrum), positive_weight=lp.positive_weight,
                           converged=lp.converged)


def knob_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """p̄ moves with every knob, so the critical values (others held) are not where the rank changes: `advise` scans
    this solver (None; 5–15 ms CPU a solve)."""
    if knob == "noise_scale" and spec.augmentation.noise_cov is None:
        return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
    return None, ""
