"""NT-Xent (SimCLR's loss, Chen et al. 2020, Eq. 1) for a linear encoder: what changes against the CLIP form.

Derivation: docs/theory.md §15. An anchor z_i (view 1) is scored against K = 2N − 1 candidates: its positive z'_i
and, for each other example k ≠ i, *both* views z_k, z'_k. Each negative has the CLIP form's law, but the two views
of one example are correlated (cross-view covariance C against view covariance B = C + S). Everything else is the
CLIP form's machinery with two parameters changed — the candidate count K and the negatives' pair structure:

* W = 0 expansion (dot, centred Gaussian data, exact for every N; `finite_batch_quartic`):
      E ℓ = log K − (1 − 1/K) Tr K_C/τ
            + (K − 1)/(2K²τ²) · [K Tr K_B² + Tr K_C² + (Tr K_C)²] − P/(K²τ²) · Tr K_B K_C + O(W⁶),
  K_X = W X Wᵀ, P the number of correlated negative pairs: P = N − 1 for NT-Xent (K = 2N − 1), P = 0 for the CLIP
  form (K = N). The landscape (`landscape.py`) keeps the leading (1 − 1/K)/(2τ²) Tr K_B² (the CLIP form's with
  N → K); the rest is O(1/N). N → ∞: both forms are A = C/τ, quartic Tr K_B²/(2τ²).
* Learned point, dot similarity (`finite_batch`, parameters `n_cand` = K and `pair_c` = C): the growth law is the
  CLIP form's, direction k survives iff (1 − p̄_{−k}) c_k/τ > γ (a dead direction's x_k is independent of every
  softmax weight, and E[a_k c_k] = 0 for every negative, same-view ones included); p̄ itself integrates each
  negative pair exactly: E exp(−e^y(e^T + e^T')) = E_g₀[(1 − ψ₀(y + σ√r g₀, σ√(1 − r)))²], r = aᵀGCGa/aᵀGBGa.
* Cosine similarity (`cosine_infonce`, parameter `pair_c`): E Y = (K − 1) m_κ as for K − 1 independent
  negatives; the pairs enter the delta method's variance, Var Y = (K − 1)(Var + Cov), Cov by lognormal matching.

The solver table's rows 'learned_point_ntxent' (dot) and 'learned_point_ntxent_cosine' (`sslscape.theory.solvers`)
are `covers_dot`/`prediction_dot`/… and `covers_cosine`/…, on the CLIP-form rows' conditions. Checked in
tests/theory/test_ntxent.py (Monte-Carlo of `sslscape.objectives.ntxent_loss` for the expansion, the pair tables
and p̄) and against training in benchmarks/agreement_grid_ntxent.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..moments import Moments, moments_of
from ..spec import Spec, softmax_candidates
from . import cosine_infonce, finite_batch
from .landscape import Landscape, QuarticTerm, landscape
from .prediction import Prediction

__all__ = ["covers_cosine", "covers_dot", "finite_batch_quartic", "knob_changes_cosine", "knob_changes_dot",
           "negative_pairs", "prediction_cosine", "prediction_dot", "thresholds_cosine", "thresholds_dot"]


def negative_pairs(objective: str, batch_size: int) -> int:
    """How many pairs of correlated negatives (two views of one example) each anchor sees: N − 1 for NT-Xent, none
    for the CLIP form (its negatives are one view of each other example)."""
    return batch_size - 1 if objective == "ntxent" else 0


def finite_batch_quartic(spec: Spec, moments: Moments | None = None) -> Landscape:
    """The exact W = 0 expansion of the population loss at batch size N (module docstring), for dot similarity,
    augmented negatives, centred data given by a covariance, depth 1 without bias — `infonce` or `ntxent`.

    Returns the spec's `Landscape` with the quadratic (1 − 1/K) C/τ and every quartic term: product (B, B)
    (K − 1)/(2Kτ²), product (C, C) and trace (C, C) (K − 1)/(2K²τ²), product (B, C) −P/(K²τ²). Raises ValueError for
    other specs. Checked against a Monte-Carlo estimate of the exact batch loss (tests/theory/test_ntxent.py)."""
    ok = (spec.objective in ("infonce", "ntxent") and spec.similarity == "dot" and spec.batch_size is not None
          and spec.protocol == "augmented_negatives" and spec.depth == 1 and not spec.bias
          and spec.normalization == "none" and not spec.symmetric and spec.data.samples is None)
    m = moments if moments is not None else moments_of(spec)
    if not ok or np.any(m.mean != 0):
        raise ValueError("finite_batch_quartic: dot-similarity infonce/ntxent with augmented negatives, a batch size, "
                         "centred covariance data, depth 1 and no bias only")
    n = int(spec.batch_size)  # type: ignore[arg-type]  # checked above
    k, pairs, tau = softmax_candidates(spec.objective, n), negative_pairs(spec.objective, n), spec.temperature
    c, b = m.cov, m.cov + m.noise_cov
    small = (k - 1) / (2 * k * k * tau**2)
    terms = (QuarticTerm("product", (k - 1) / (2 * k * tau**2), b, b), QuarticTerm("product", small, c, c),
             QuarticTerm("trace", small, c, c), QuarticTerm("product", -pairs / (k * k * tau**2), b, c))
    return replace(landscape(spec, m), quadratic=(1 - 1 / k) * c / tau,
                   terms=tuple(t for t in terms if t.coef != 0.0), notes=())


# ---- the solver table's rows (sslscape.theory.solvers): NT-Xent on the CLIP-form rows' conditions ----------------
_DOT_NOTE = ("NT-Xent (SimCLR's loss): each anchor's softmax runs over K = 2N − 1 candidates, its negatives the two "
             "views of each other example — correlated pairs, integrated exactly at the learned point "
             "(docs/theory.md §15)")
_COSINE_NOTE = ("NT-Xent (SimCLR's loss): each anchor's softmax runs over K = 2N − 1 candidates; the two views of a "
                "negative example enter the negatives' variance through their covariance (docs/theory.md §15)")


def _ntxent_only(spec: Spec, similarity: str) -> str | None:
    if spec.objective != "ntxent":
        return f"objective {spec.objective}: this row is NT-Xent's"
    if spec.similarity != similarity:
        return f"similarity {spec.similarity}: this row is NT-Xent with {similarity} similarity"
    return None


def _rows(similarity: str, module: Any, note: str) -> tuple[Callable[..., Any], ...]:
    """A solver-table row for NT-Xent with `similarity` on the CLIP-form row `module` (`finite_batch`, §5, or
    `cosine_infonce`, §14): covers = NT-Xent with that similarity and the module's `conditions`; prediction = the
    module's (its machinery parametrised by the spec's objective: K = 2N − 1, the negative pairs) with NT-Xent's
    note first; thresholds and knob changes the module's (the growth law is the CLIP form's, §15.2)."""

    def covers(spec: Spec, moments: Moments) -> str | None:
        return _ntxent_only(spec, similarity) or module.conditions(spec, moments)

    def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
        pred = module.prediction(spec, moments, budget)
        return replace(pred, notes=(note, *pred.notes))

    return covers, prediction, module.thresholds, module.knob_changes


covers_dot, prediction_dot, thresholds_dot, knob_changes_dot = _rows("dot", finite_batch, _DOT_NOTE)
covers_cosine, prediction_cosine, thresholds_cosine, knob_changes_cosine = _rows("cosine", cosine_infonce, _COSINE_NOTE)
