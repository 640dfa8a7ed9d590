"""The SSL loss landscape of a linear encoder, expanded around the collapsed point W = 0 to fourth order.

For an encoder z = Ŵ x̂ (x̂ = x, or [x; 1] with a bias b as the last column of Ŵ) the population loss is

    L(Ŵ) ≈ const − Tr[Ŵ A Ŵᵀ] + Σ_terms c_t · q_t(Ŵ) + γ Tr[Ŵ G Ŵᵀ]

where G = I (G = diag(1, …, 1, 0) with a bias: biases are not decayed) and the quartic terms are
    product  Tr[Ŵ X Ŵᵀ Ŵ Y Ŵᵀ]                      (rotation-invariant in embedding space)
    trace    Tr[Ŵ X Ŵᵀ] · Tr[Ŵ Y Ŵᵀ]
    row      Σ_k (ŵ_kᵀ X ŵ_k)(ŵ_kᵀ Y ŵ_k)            (Barlow Twins' diagonal; breaks rotation invariance)

Moments of the views (docs/theory.md): anchor a, positive p, candidates (negatives) c; `augmented_negatives`:
a = x + ε₁, p = x + ε₂, c = x_j + ε_j; `clean_negatives`: a = x, p = x + ε, c = x_j. ε ~ N(0, S) independent, so
E[a pᵀ] = C + m mᵀ in both protocols (m = E x̂). M2(v) = E[v̂ v̂ᵀ] (uncentred), Σ(v) = Cov(v̂).

Derivations (the test that checks each is named; `tests/theory/test_landscape.py` compares every landscape with
a Monte-Carlo estimate of the exact sample loss from `sslscape.objectives`, and its gradient with autodiff):

* infonce, dot (Gaussian data, N → ∞ except the positive's 1/N share of the denominator, p = 1/N):
  log Σ_j e^{s_ij/τ} = log N + log[p e^{s_ii/τ} + (1 − p) E_c e^{s(a,c)/τ}], and for Gaussian candidates
  log E_c e^{zᵀz_c/τ} = zᵀW m/τ + zᵀ W Σ_c Wᵀ z/(2τ²) exactly. Keeping orders ≤ 4 and dropping the O(p) quartic
  corrections: A = (1 − p) Cov(x̂)/τ, quartic (1 − p)/(2τ²) · Tr[Ŵ M2(a) Ŵᵀ Ŵ Σ_c Ŵᵀ]. The noise cancels in A
  for both protocols; it only enters the quartic (magnitudes), so it never changes the rank at this order.
* ntxent, dot (SimCLR's NT-Xent, augmented negatives; docs/theory.md §15): the same with p = 1/K, K = 2N − 1
  candidates per anchor (its positive, and both views of the N − 1 other examples). The two views of one negative
  example are correlated (cross-view covariance C), which adds −(K − 1)/(2K²τ²)·Tr[ŴBŴᵀŴCŴᵀ] to the quartic: an
  O(1/N) correction, left out like the CLIP form's (`theory/ntxent.py::finite_batch_quartic` has them all).
* infonce, euclidean: s = −‖u − v‖²/2; the anchor's norm cancels between the two terms, leaving
  u_j = z·z_j − ‖z_j‖²/2. A = (1 − p)[E a pᵀ − M2(p)/2 − m mᵀ + M2(c)/2]/τ, i.e. C/τ (augmented negatives) and
  (2C − S)/(2τ) (clean negatives); quartic (1 − p)/(2τ²)·(Tr[K_a K_c] + ½ Tr[K_c²]), K_v = Ŵ Σ_v Ŵᵀ.
* spectral: exactly quartic for every N: A = 2 E[a pᵀ], quartic Tr[Ŵ M2(a) Ŵᵀ Ŵ M2(c) Ŵᵀ].
* barlow (no standardisation): K = Ŵ R Ŵᵀ with R = E[a pᵀ] as N → ∞, so L = d − 2 Tr K + λ Tr K² + (1 − λ) Σ_k K_kk²:
  A = 2R, product λ (R, R), row (1 − λ) (R, R). A finite batch adds E[K_kl²] − (E K_kl)² = (M2a_kk M2p_ll + R_kl²)/N
  (centred Gaussian views): trace λ/N (M2a, M2p), product λ/N (R, R), row (1 − λ)/N ((M2a, M2p) and (R, R)).
  This is how the augmentation reaches Barlow Twins: only through the batch size.
Objectives without an expansion at W = 0 (VICReg's std hinge ∝ ‖W‖, cosine similarity, batch
standardisation and l2 normalisation are scale-invariant, SimSiam/BYOL have no loss) return `expandable=False`
with the reason; `sslscape.theory.exact` solves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..moments import Moments
from ..spec import Spec, SpecLike, as_spec, softmax_candidates

if TYPE_CHECKING:
    from torch import Tensor

TermKind = Literal["product", "trace", "row"]


@dataclass(frozen=True)
class QuarticTerm:
    kind: TermKind
    coef: float
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class ViewMoments:
    """Second moments of the views in the (possibly bias-augmented) input space, all (D̂, D̂)."""

    cross: np.ndarray      # E[a pᵀ], symmetrised
    anchor: np.ndarray     # M2(a)
    positive: np.ndarray   # M2(p)
    cand: np.ndarray       # M2(c)
    mean: np.ndarray       # m = E x̂ (same for every view)
    data_cov: np.ndarray   # Cov(x̂): the embedding covariance is Ŵ Cov(x̂) Ŵᵀ
    decay: np.ndarray      # G: which coordinates weight decay acts on

    def centred(self, second: np.ndarray) -> np.ndarray:
        return second - np.outer(self.mean, self.mean)


@dataclass(frozen=True)
class Landscape:
    """Coefficients of the quartic landscape. `expandable=False` means no expansion exists (see `reason`)."""

    quadratic: np.ndarray          # A
    terms: tuple[QuarticTerm, ...]
    decay: np.ndarray              # G (γ multiplies it)
    weight_decay: float            # γ
    data_cov: np.ndarray           # Cov(x̂), for the embedding spectrum
    embed_dim: int
    input_dim: int                 # D̂ (D + 1 with a bias)
    expandable: bool = True
    reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def effective_quadratic(self) -> np.ndarray:
        """A − γ G: by Sylvester's inertia its positive eigenvalues are the directions that grow from W = 0."""
        return self.quadratic - self.weight_decay * self.decay


def view_moments(spec: Spec, moments: Moments) -> ViewMoments:
    c, mu, s = moments.cov, moments.mean, moments.noise_cov
    dim = c.shape[0]
    if spec.bias:  # x̂ = [x; 1]: the bias is one more input coordinate with variance 0 and mean 1, not decayed
        pad = np.zeros((dim + 1, dim + 1))
        c_hat, s_hat = pad.copy(), pad.copy()
        c_hat[:dim, :dim], s_hat[:dim, :dim] = c, s
        m = np.append(mu, 1.0)
        decay = np.diag(np.append(np.ones(dim), 0.0))
    else:
        c_hat, s_hat, m, decay = c, s, mu, np.eye(dim)
    mm = np.outer(m, m)
    clean, noisy = c_hat + mm, c_hat + s_hat + mm
    if spec.protocol == "augmented_negatives":
        anchor, positive, cand = noisy, noisy, noisy
    else:
        anchor, positive, cand = clean, noisy, clean
    return ViewMoments(cross=clean, anchor=anchor, positive=positive, cand=cand, mean=m, data_cov=c_hat,
                       decay=decay)


def _not_expandable(spec: Spec, v: ViewMoments, reason: str) -> Landscape:
    zeros = np.zeros_like(v.cross)
    return Landscape(quadratic=zeros, terms=(), decay=v.decay, weight_decay=spec.weight_decay,
                     data_cov=v.data_cov, embed_dim=_embed_dim(spec, v), input_dim=v.cross.shape[0],
                     expandable=False, reason=reason)


def _embed_dim(spec: Spec, v: ViewMoments) -> int:
    return spec.embed_dim if spec.embed_dim is not None else v.data_cov.shape[0] - int(spec.bias)


def landscape(spec: SpecLike, moments: Moments) -> Landscape:
    """The quartic landscape of `spec` (a Spec, a dict or a spec file path: `sslscape.spec.as_spec`) on
    data/augmentation `moments` (see the module docstring)."""
    spec = as_spec(spec)
    v = view_moments(spec, moments)
    if spec.objective in ("simsiam", "byol"):
        return _not_expandable(spec, v, f"{spec.objective} has no loss whose minimum is the learned state "
                               "(stop-gradient dynamics): no landscape to expand")
    if spec.objective == "vicreg":
        return _not_expandable(spec, v, "VICReg's variance hinge relu(1 − std) has std ∝ ‖W‖, not analytic at "
                               "W = 0")
    if spec.objective == "barlow" and spec.normalization != "none":
        return _not_expandable(spec, v, f"Barlow Twins with {spec.normalization} normalisation is scale-invariant "
                               "(no expansion at W = 0)")
    if spec.objective != "barlow" and (spec.normalization != "none" or spec.similarity == "cosine"):
        return _not_expandable(spec, v, "normalised embeddings (cosine similarity / l2 / batch) make the loss "
                               "scale-invariant, with no expansion at W = 0")
    notes: list[str] = []
    if spec.objective in ("infonce", "ntxent"):  # the positive's share 1/K at W = 0, K candidates per anchor
        p = 0.0 if spec.batch_size is None else 1.0 / softmax_candidates(spec.objective, spec.batch_size)
    else:
        p = 0.0 if spec.batch_size is None else 1.0 / spec.batch_size
    if spec.objective in ("infonce", "ntxent"):  # ntxent: dot only here (cosine is not expandable, above)
        tau = spec.temperature
        sigma_c, sigma_a = v.centred(v.cand), v.centred(v.anchor)
        if spec.similarity == "dot":
            quad = (1 - p) * v.data_cov / tau
            terms = [QuarticTerm("product", (1 - p) / (2 * tau**2), v.anchor, sigma_c)]
        else:  # euclidean
            quad = (1 - p) * (v.cross - v.positive / 2 - np.outer(v.mean, v.mean) + v.cand / 2) / tau
            terms = [QuarticTerm("product", (1 - p) / (2 * tau**2), sigma_a, sigma_c),
                     QuarticTerm("product", (1 - p) / (4 * tau**2), sigma_c, sigma_c)]
        if p > 0:
            k = "N" if spec.objective == "infonce" else "2N − 1"
            notes.append(f"finite batch: exact (1 − 1/K) factor on the quadratic term, K = {k} candidates; O(1/N) "
                         "quartic corrections and the positive pair's growing softmax weight are left to order "
                         "'exact'")
    elif spec.objective == "spectral":
        quad = 2 * v.cross
        terms = [QuarticTerm("product", 1.0, v.anchor, v.cand)]
    elif spec.objective != "barlow":  # an objective whose expansion is not derived here: never another's
        return _not_expandable(spec, v, f"{spec.objective}: no quartic expansion is derived for it "
                               "(docs/theory.md §2)")
    else:  # barlow, raw cross second moments
        lam, r = spec.barlow_lambda, v.cross
        quad = 2 * r
        terms = [QuarticTerm("product", lam, r, r), QuarticTerm("row", 1 - lam, r, r)]
        if p > 0:
            if np.any(v.mean != 0):
                notes.append("finite-batch variance of K assumes centred data; with a mean it is approximate")
            terms += [QuarticTerm("trace", lam * p, v.anchor, v.positive), QuarticTerm("product", lam * p, r, r),
                      QuarticTerm("row", (1 - lam) * p, v.anchor, v.positive), QuarticTerm("row", (1 - lam) * p, r, r)]
    terms = [t for t in terms if t.coef != 0.0]
    return Landscape(quadratic=_sym(quad), terms=tuple(terms), decay=v.decay, weight_decay=spec.weight_decay,
                     data_cov=v.data_cov, embed_dim=_embed_dim(spec, v), input_dim=v.cross.shape[0],
                     notes=tuple(notes))


def _sym(a: np.ndarray) -> np.ndarray:
    return (a + a.T) / 2


def quartic_loss(land: Landscape, w: Tensor) -> Tensor:
    """The landscape polynomial at Ŵ (d × D̂), without the constant; differentiable (torch)."""
    import torch  # here, not at the top: the closed forms need no torch

    dt = w.dtype

    def t(a: np.ndarray) -> Tensor:
        return torch.as_tensor(a, dtype=dt, device=w.device)

    loss = -torch.trace(w @ t(land.quadratic) @ w.T) + land.weight_decay * torch.trace(w @ t(land.decay) @ w.T)
    for term in land.terms:
        kx, ky = w @ t(term.x) @ w.T, w @ t(term.y) @ w.T
        if term.kind == "product":
            loss = loss + term.coef * (kx * ky).sum()  # Tr[Kx Ky] for symmetric Kx, Ky
        elif term.kind == "trace":
            loss = loss + term.coef * torch.trace(kx) * torch.trace(ky)
        else:
            loss = loss + term.coef * (kx.diagonal() * ky.diagonal()).sum()
    return loss
