"""Depth L ≥ 2 from the trainer's own start: the basin of W = 0 and the rank training reaches (docs/theory.md §6.1).

With weight decay γ > 0 and depth L ≥ 2, W = 0 is a *local* minimum (§6), so the global minimum's rank is not what
training reaches: that depends on where training starts. When A and B commute (no bias), direction k of a balanced
deep linear net follows the 1-D gradient flow of

    f_k(p) = −a_k p + β_k² p² + γ L p^{1/L},     p = σ_k² (σ_k the end-to-end singular value along direction k)

whose stationary points solve h_k(p) := a_k p^{(L−1)/L} − 2β_k² p^{(2L−1)/L} = γ (f′(p) · p^{(L−1)/L} = γ − h_k(p)).
h_k rises from 0 to its maximum at p_m = a_k(L − 1)/(2β_k²(2L − 1)) and falls: for γ < h_k(p_m) (= the spinodal
γ_sp,k of §6) there are two roots, the **basin boundary** p_b,k (a local maximum of f_k) and the non-zero local
minimum p*_k. Every monotone reparametrisation of the flow (balanced factors w with p = w^{2L}; sign-like Adam
steps) moves p down where f′ > 0 and up where f′ < 0, so **direction k stays collapsed iff its start p_k(0) < p_b,k**
and otherwise settles at p*_k. (No local minimum, γ ≥ γ_sp,k: it always collapses.) For small γ,
p_b,k ≈ (γ/a_k)^{L/(L−1)}.

The trainer's start (training/models.py `DeepLinearEncoder`): W_l ~ N(0, s^{2/L}/in_l) with dims D → h → … → h → d
(h = D, the trainer's default width) and s = `recipe.start_scale(spec)` (`spec.init_scale`, default
`recipe.INIT_SCALE`). Along a data direction the factors are independent: layer l gains s^{2/L} χ²_{out_l}/in_l, so
p_k(0) = s² d/D on average.
**Crowding** (found by simulating the matrix flow and by training; §6.1): the directions escape in order of a_k,
and each escaped direction takes one dimension of every layer's input and output; direction k's start is the part
of its random start left by the r_k stronger directions that escaped,

    p_k(0) = s² Π_l χ²_{out_l − r_k} / in_l        (mean s² Π_l (out_l − r_k)/in_l)

(without it the count is 1–2 too high from mid-sized starts: C8, spectral, L = 2, γ = 0.5, s = 0.25 gives 4 alone,
3 with crowding — training 3, 3, 3). A fixed Monte-Carlo set of starts (`DRAWS`, seed `SEED`) gives the law of the
count: its median is the answer, its 2.5–97.5 % quantiles the seed range. The typical start (every factor at its
mean) gives the **critical init scale** s*_k per direction: below it direction k stays at W = 0 (with the stronger
directions escaping before it).

Tests: tests/theory/test_deep_start.py (the stationary points against f′ and the spinodal of
`solve.depth_metastable_weight_decay`; the basin against autodiff gradient descent on the balanced factors; the
start's law against the trainer's own initialisation; the count against Adam on the matrix quartic from random
starts). Against training: benchmarks/check_issue22_kinds.py (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..moments import Moments
from ..recipe import start_scale
from ..result import Result
from ..spec import Spec
from ._linalg import basis_diagonal, common_eigenbasis
from .landscape import Landscape, landscape
from .prediction import Prediction, TheoryDeclined, Thresholds, capacity_of, make_prediction
from .solve import critical_values, depth_critical_weight_decay, embedding_spectrum, single_product_form

__all__ = ["DeepStart", "basin", "covers", "critical_init_scale", "deep_start_solution", "knob_changes", "prediction",
           "start_counts", "stationary_points", "thresholds"]

DRAWS = 4096              # Monte-Carlo starts for the seed range (vectorised; deterministic)
SEED = 20230501           # their seed (the theory's answers never depend on a global RNG)
RANGE = (0.025, 0.975)    # the seed range: these quantiles of the count over random starts
BISECTIONS = 200          # fixed-count vectorised bisection (relative bracket ≈ 1e-60)


def stationary_points(a: np.ndarray, beta2: np.ndarray, gamma: float, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(p_b, p*) per direction: the basin boundary (local maximum of f) and the non-zero local minimum, the two roots
    of h(p) = a p^{(L−1)/L} − 2β² p^{(2L−1)/L} = γ (module docstring); both inf where no local minimum exists
    (γ ≥ γ_sp or a ≤ 0). Vectorised bisection on each side of h's maximiser p_m."""
    a = np.asarray(a, float)
    beta2 = np.maximum(np.asarray(beta2, float), 1e-300)
    big_l = depth
    p_m = np.maximum(a, 0.0) * (big_l - 1) / (2 * beta2 * (2 * big_l - 1))

    def h(p: np.ndarray) -> np.ndarray:
        return a * p ** ((big_l - 1) / big_l) - 2 * beta2 * p ** ((2 * big_l - 1) / big_l)

    exists = (a > 0) & (h(p_m) > gamma)
    lo, hi = np.zeros_like(p_m), p_m.copy()          # h rises on [0, p_m]: root p_b
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        below = h(mid) < gamma
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    p_b = 0.5 * (lo + hi)
    lo, hi = p_m.copy(), np.maximum(a, 0.0) / (2 * beta2) + p_m  # h falls on [p_m, ∞), h(a/2β²) < 0: root p*
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = h(mid) > gamma
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    p_star = 0.5 * (lo + hi)
    return np.where(exists, p_b, np.inf), np.where(exists, p_star, np.inf)


def basin(a: np.ndarray, beta2: np.ndarray, gamma: float, depth: int) -> np.ndarray:
    """p_b per direction: a start p(0) < p_b flows to W = 0 (module docstring); inf where every start collapses."""
    return stationary_points(a, beta2, gamma, depth)[0]


def layer_dims(dim: int, embed_dim: int, depth: int, width: int | None = None) -> tuple[list[int], list[int]]:
    """(in_l, out_l) of the trainer's DeepLinearEncoder: D → h → … → h → d, h = width or D."""
    h = width or dim
    dims = [dim] + [h] * (depth - 1) + [embed_dim]
    return dims[:-1], dims[1:]


def start_counts(p_b: np.ndarray, order: np.ndarray, scale: float, ins: list[int], outs: list[int],
                 draws: int = DRAWS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directions that escape from `draws` random trainer starts (module docstring: per-layer χ² factors, crowded by
    the stronger escaped directions), taken in `order` (strongest first). Returns (escaped (draws, n) bool in the
    original direction order, the typical start's escaped (n,) bool, the typical start p_k(0) (n,))."""
    rng = np.random.default_rng(seed)
    n = p_b.size
    escaped = np.zeros((draws, n), bool)
    typical = np.zeros(n, bool)
    start = np.zeros(n)
    taken = np.zeros(draws, int)
    taken_typ = 0
    for k in order:
        p = np.full(draws, scale * scale)
        p_typ = scale * scale
        for i, o in zip(ins, outs, strict=True):
            free = o - taken                           # dimensions of this layer's output left to direction k
            p = p * np.where(free > 0, rng.chisquare(np.maximum(free, 1)), 0.0) / i
            p_typ *= max(o - taken_typ, 0) / i
        escaped[:, k] = p > p_b[k]
        typical[k], start[k] = p_typ > p_b[k], p_typ
        taken += escaped[:, k]
        taken_typ += int(typical[k])
    return escaped, typical, start


def critical_init_scale(p_b: np.ndarray, order: np.ndarray, ins: list[int], outs: list[int]) -> np.ndarray:
    """s*_k per direction: from the typical start (each factor at its mean) direction k escapes iff init_scale > s*_k,
    the directions stronger than k with a finite basin having escaped first (r_k of them crowd it):
    s*_k = √(p_b,k Π_l in_l/(out_l − r_k)); inf where it has no local minimum or no dimension is left."""
    out = np.full(p_b.size, np.inf)
    taken = 0
    for k in order:
        room = math.prod(max(o - taken, 0) / i for i, o in zip(ins, outs, strict=True))
        if np.isfinite(p_b[k]) and room > 0:
            out[k] = math.sqrt(p_b[k] / room)
            taken += 1
    return out


@dataclass(frozen=True, kw_only=True)
class DeepStart(Result):
    """Depth ≥ 2 from the trainer's start (module docstring). Per-direction tuples are in the order of `a` (the
    common eigenbasis of A and B, by decreasing a_k).

    alive, alive_range      escaping directions: the median count over the trainer's random starts, and its
                            2.5–97.5 % range (the seed range)
    typical                 the count from the typical start (every factor at its mean)
    global_alive            the global minimum's count (§6), metastable_alive the locally stable count
    init_scale              the trainer's init scale s used
    basin                   p_b,k: a start p_k(0) below it stays at W = 0 (inf: no local minimum, always collapses)
    local_minimum           p*_k, where an escaping direction settles
    critical_init_scale     s*_k: below it the typical start keeps direction k at W = 0
    start_mean              p_k(0) of the typical start (after crowding)
    spectrum                eigenvalues of W C Wᵀ with the `alive` strongest escaping directions at p*_k, length d
    """

    alive: int
    alive_range: tuple[int, int]
    typical: int
    global_alive: int
    metastable_alive: int
    init_scale: float
    a: tuple[float, ...]
    beta2: tuple[float, ...]
    basin: tuple[float, ...]
    local_minimum: tuple[float, ...]
    critical_init_scale: tuple[float, ...]
    start_mean: tuple[float, ...]
    spectrum: tuple[float, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def _landscape(spec: Spec, moments: Moments) -> tuple[Landscape | None, np.ndarray | None, np.ndarray | None, str]:
    """(landscape, B, common eigenbasis E, '') when covered, else (…, why not)."""
    if spec.depth < 2:
        return None, None, None, "depth 1 (W = 0 is not a local minimum there: no basin)"
    if spec.bias:
        return None, None, None, "a bias with depth > 1"
    if spec.weight_decay <= 0:
        return None, None, None, "weight decay 0 (W = 0 is a saddle, not a local minimum: no basin)"
    land = landscape(spec, moments)
    if not land.expandable:
        return None, None, None, f"no quartic landscape: {land.reason}"
    b = single_product_form(land)
    if b is None or not np.allclose(land.decay, np.eye(land.input_dim)):
        return None, None, None, "the quartic terms are not one product Tr[(WBWᵀ)²]"
    e = common_eigenbasis(land.quadratic, b)
    if e is None:
        return None, None, None, "A and B without a common eigenbasis"
    return land, b, e, ""


def covers(spec: Spec, moments: Moments) -> str | None:
    """None when the start dynamics cover `spec` (depth ≥ 2, γ > 0, a single-product landscape with A and B
    commuting, no bias), else why not (one phrase)."""
    return _landscape(spec, moments)[3] or None


def deep_start_solution(spec: Spec, moments: Moments, *, init_scale: float | None = None,
                        width: int | None = None, draws: int = DRAWS) -> DeepStart:
    """The basin of W = 0 per direction and the rank reached from the trainer's start (module docstring).

    `init_scale` overrides `spec.init_scale` (default `recipe.INIT_SCALE`); `width` the hidden width (default D,
    the trainer's). Deterministic. Raises TheoryDeclined where `covers` says no.
    """
    land, b, e, why = _landscape(spec, moments)
    if land is None or b is None or e is None:
        raise TheoryDeclined(why)
    s = float(init_scale) if init_scale is not None else start_scale(spec)
    depth, gamma = spec.depth, float(spec.weight_decay)
    a_all = basis_diagonal(e, land.quadratic)
    beta2_all = basis_diagonal(e, b) ** 2
    idx = np.argsort(-a_all, kind="stable")            # strongest first: the order of escape
    a, beta2, e = a_all[idx], beta2_all[idx], e[:, idx]
    order = np.arange(a.size)
    p_b, p_star = stationary_points(a, beta2, gamma, depth)
    d = land.embed_dim
    ins, outs = layer_dims(land.input_dim, d, depth, width)
    escaped, typical, start_mean = start_counts(p_b, order, s, ins, outs, draws)
    counts = escaped.sum(axis=1)
    lo, hi = (int(np.quantile(counts, q, method="inverted_cdf")) for q in RANGE)
    alive = int(np.quantile(counts, 0.5, method="inverted_cdf"))
    # the point answer's directions: the `alive` most often escaping ones (a prefix of the order when basins grow
    # with weakness, the usual case), each at its local minimum p*
    keep = np.argsort(-escaped.mean(axis=0), kind="stable")[:alive]
    weights = np.zeros((d, land.input_dim))
    weights[np.arange(keep.size), :] = (np.sqrt(p_star[keep])[:, None] * e[:, keep].T) if keep.size else 0.0
    spectrum = embedding_spectrum(weights, land.data_cov, d)
    glob = int(min(d, np.sum(np.asarray(depth_critical_weight_decay(a, beta2, depth)) > gamma)))
    meta = int(min(d, np.sum(np.isfinite(p_b))))
    s_crit = critical_init_scale(p_b, order, ins, outs)
    notes = [f"depth {depth} from the trainer's start (init_scale {s:g}, balanced factors, width {ins[-1]}): "
             f"direction k stays at W = 0 iff its start p_k(0) is below the basin p_b,k of f_k (a local maximum); "
             f"{alive} direction(s) escape from a typical seed, {lo}–{hi} over seeds (the global minimum keeps "
             f"{glob}, {meta} are locally stable); critical init scales "
             + ", ".join(f"{v:.3g}" for v in s_crit[np.isfinite(s_crit)][:8])
             + " (docs/theory.md §6.1)"]
    f = lambda v: tuple(map(float, v))  # noqa: E731
    return DeepStart(alive=alive, alive_range=(lo, hi), typical=int(typical.sum()), global_alive=glob,
                     metastable_alive=meta, init_scale=s, a=f(a), beta2=f(beta2), basin=f(p_b),
                     local_minimum=f(p_star), critical_init_scale=f(s_crit), start_mean=f(start_mean),
                     spectrum=f(spectrum), notes=tuple(notes))


# ---- the solver table's row 'deep_start' (sslscape.theory.solvers) --------------------------------------------------
def thresholds(spec: Spec, moments: Moments) -> Thresholds:
    """The quartic order's depth-L critical values (global γ*_k and spinodal γ_sp,k, §6) and the critical init
    scales s*_k from the trainer's typical start (§6.1; ascending: the strongest direction escapes first)."""
    land, _, _, why = _landscape(spec, moments)
    if land is None:
        raise TheoryDeclined(why)
    return replace(critical_values(spec, moments, land),
                   critical_init_scale=_finite_sorted(deep_start_solution(spec, moments).critical_init_scale))


def prediction(spec: Spec, moments: Moments, budget: Any = None) -> Prediction:
    """The rank reached from the trainer's start (docs/theory.md §6.1) as the theory's answer."""
    sol = deep_start_solution(spec, moments)
    land, _, _, _ = _landscape(spec, moments)
    assert land is not None  # deep_start_solution declined otherwise
    th = replace(critical_values(spec, moments, land), critical_init_scale=_finite_sorted(sol.critical_init_scale))
    return make_prediction(spec, alive=sol.alive, spectrum=sol.spectrum, thresholds=th,
                           capacity=capacity_of(spec, moments), notes=list(sol.notes), alive_min=sol.alive_range[0],
                           alive_max=sol.alive_range[1], method="deep_start", loss=None, embed_dim=len(sol.spectrum))


def _finite_sorted(values: tuple[float, ...]) -> tuple[float, ...]:
    """Critical init scales ascending, without the directions that never escape (no local minimum: inf)."""
    return tuple(sorted(v for v in values if math.isfinite(v)))


def knob_changes(spec: Spec, knob: str, pred: Prediction) -> tuple[list[float] | None, str]:
    """The rank from the trainer's start moves with every basin as a knob moves (no per-direction value holds the
    others): `advise` scans this solver (None)."""
    if knob == "noise_scale" and spec.augmentation.noise_cov is None:
        return [], "the spec has no augmentation noise_cov to scale; give augmentation.noise_cov"
    return None, ""
