"""The interactive landscape explorer: one self-contained HTML page (plotly.js inlined, no network) where a person
picks objective, similarity, protocol and normalisation, moves weight decay, augmentation strength, temperature,
batch size and embedding size, and sees what the theory predicts (rank, phase, spectrum, critical values, phase
diagram, `advise`), with a "copy spec" button giving the JSON spec of the setting.

Every number on the page comes from `sslscape.theory`; the page's JavaScript only looks values up.

Static page (`write_explorer`). The sliders move over fixed stops (`Stops`, the spec's own values among them). Which
solver answers each loss choice is the solver table's (`sslscape.theory.solvers.plan`, default order auto — the same
answer `sslscape predict` gives), and the page stores what that solver gives:
  'grid'   the quartic closed form answers at every stop: every combination of stops is precomputed, the landscape
           (`theory.landscape`) built once per (augmentation, temperature, batch) stop and the closed form
           evaluated for all weight decays and embedding sizes at once (`sslscape.theory.solve.closed_form_grid`,
           the algebra of `closed_form_minimum` batched; the tests check it against `predict` point by point),
           with the critical weight decays (eigenvalues of A, as in `critical_values`);
  'lines'  another solver that answers in milliseconds (a closed form or a quadrature: the learned point of
           finite-batch and cosine InfoNCE, SimSiam/BYOL, VICReg and standardised Barlow, NT-Xent, depth ≥ 2):
           the solver table's answer along each slider through the spec's setting (one slider moved at a time) —
           at every stop for the spec's own choice, at up to `LINE_STOPS` stops per slider for the others (the
           ends, the spec's own value and evenly spaced stops between; the page's slider moves over those), the
           spec's own point solved once for all five lines;
  'serve'  a numerical solver only (seconds to minutes a point): listed as available with `--serve`.
`advise` answers are precomputed at the spec's own setting (one knob moves, all else fixed, as `advise` defines
them). The grid counts the theory's surviving directions (`Prediction.alive`: a direction within a few percent of
its critical value is kept; `predict`'s `rank`, the collapse rule's cut, may already drop it).

Build time (examples/default.json: about 8 s of CPU on the 2-core container, benchmarks/RESULTS.md "Explorer"): a
grid solves identical landscapes once (a knob the loss does not read, e.g. the spectral loss's temperature); a
'lines' choice other than the spec's own costs 5–35 ms a point (the learned points), so it gets fewer stops
(`line_stops=None`: every stop, about 1.5× the time); a point that needs a numerical solve is refused when the
solver table announces it, before it runs. `progress(done, total, info)` reports the work in units of about a
millisecond (the expected cost of each kind of answer, `COST_MS`) and what is being computed.

Live page (`serve`): the same page served from localhost by `http.server`; choices and settings outside the
precomputed grid, and `advise` at any setting, are computed on demand with `predict` / `advise`.

Storage (page < 5 MB for the default grid): each array is stored once, with axes along which it is exactly
constant dropped (stride 0: e.g. the spectral loss has no temperature), gzip-compressed and base64-encoded;
spectra are quantised on a log scale to 16 bits (relative error < 4e-4); plotly.js itself (plotly's cartesian
bundle, `_plotly_gz_b64`) is stored gzipped (1.5 MB → 0.5 MB) and unpacked by the browser's DecompressionStream
after the values are on screen.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from ..errors import UserError
from ..io import atomic_write_text
from ..knobs import KNOBS as KNOB_ROWS
from ..moments import Moments, moments_of
from ..objectives.registry import NAMES
from ..result import Result
from ..spec import Spec, parse_spec

ASSETS = Path(__file__).with_name("explorer_assets")
SLIDERS = ("weight_decay", "noise_scale", "temperature", "batch_size", "embed_dim")
CHOICES = {"objective": NAMES,  # the objectives registry
           "similarity": ("dot", "euclidean", "cosine"),
           "protocol": ("augmented_negatives", "clean_negatives"),
           "normalization": ("none", "l2", "batch")}
KNOBS = ("weight_decay", "temperature", "noise_scale", "batch_size")  # sslscape.knobs, as the page orders them
NOISE_FACTORS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0)
TEMPERATURE_FACTORS = (0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
BATCH_STOPS = (16, 64, 256, 1024, 4096)
MAX_EMBED_STOPS = 16
MAX_GRID_DIM = 32  # input dimensions up to which the static page precomputes (larger: --serve, point by point)
SMALL = {"noise": (0.0, 0.5, 1.0, 2.0, 4.0), "temperature": (0.2, 0.5, 1.0, 2.0, 5.0), "batch": (64, 1024),
         "embed": 6}  # fewer stops for D > 16, so that spectra of up to 32 directions stay within the page budget
PHASE_CODE = {"complete": 0, "dimensional": 1, "none": 2}  # sslscape.theory.prediction.PHASE_CODES
SPECTRUM_DECADES = 12.0  # spectra are stored on a log scale this many decades below their largest value
LINES_SECONDS = 10.0      # time a 'lines' choice may take to precompute (the spec's own: OWN_LINES_SECONDS)
OWN_LINES_SECONDS = 60.0
LINE_STOPS = 7            # stops per slider for the 'lines' of choices other than the spec's own (None: every stop)
# expected cost of one answer by kind (ms, 2-core CPU container): the progress's units, so that its estimate of the
# time left holds across grids, lines and advise (a solver's cost class: sslscape.theory.solvers)
COST_MS = {"landscape": 1.0, "closed_form": 3.0, "quadrature": 20.0, "numerical": 1000.0, "advise": 150.0}


@dataclass(frozen=True)
class Stops:
    """The values each slider moves over (ascending; batch_size None = N → ∞, shown last)."""

    weight_decay: tuple[float, ...]
    noise_scale: tuple[float, ...]
    temperature: tuple[float, ...]
    batch_size: tuple[int | None, ...]
    embed_dim: tuple[int, ...]

    def to_dict(self) -> dict[str, list]:
        return {k: list(v) for k, v in asdict(self).items()}

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(getattr(self, k)) for k in SLIDERS)


def _nice_step(x: float) -> float:
    """The smallest of {1, 2, 2.5, 5} × 10^k that is ≥ x (round slider values)."""
    base = 10.0 ** math.floor(math.log10(x))
    return next(m * base for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * base >= x * (1 - 1e-12))


def _with(values: Sequence[float], own: float) -> tuple[float, ...]:
    return tuple(sorted({round(float(v), 12) for v in values} | {round(float(own), 12)}))


def default_stops(spec: Spec, weight_decay_max: float | None = None, n_weight_decay: int = 49) -> Stops:
    """Slider stops around `spec` (its own values always among them).

    weight decay   `n_weight_decay` round steps from 0 to `weight_decay_max` (default 1.2 × the largest critical
                   weight decay at the spec's setting, or 2 × the spec's own)
    augmentation   the spec's noise scale × (0, ¼, …, 2, 2.5, 3, 3.5, 4) (a single stop without noise_cov)
    temperature    the spec's × (0.1 … 8) (it matters for InfoNCE only)
    batch size     16, 64, 256, 1024, 4096, the spec's own and N → ∞
    embedding size 1 … D (D ≤ 16), else 6 geometric stops and the spec's own
    For D > 16 the augmentation, temperature and batch stops are fewer (`SMALL`) to keep the page small.
    """
    moments = moments_of(spec)
    dim = moments.dim
    gamma = spec.weight_decay
    if weight_decay_max is None:  # past the largest critical weight decay of every loss answered in closed form
        from ..theory.predict import predict
        from ..theory.solvers import plan

        tops = [0.0]
        for point in _choice_specs(spec).values():
            point = point.with_updates(batch_size=None)
            try:
                if plan(point).cost != "closed_form":  # the closed forms' range (quadratures: seconds each here)
                    continue
                tops.extend((predict(point).thresholds.critical_weight_decay or ())[:1])
            except UserError:
                continue
        weight_decay_max = 1.2 * max(max(tops), 2 * gamma, 1e-3)
    step = _nice_step(weight_decay_max / (n_weight_decay - 1))
    wd = _with(step * np.arange(int(math.ceil(weight_decay_max / step - 1e-9)) + 1), gamma)
    small = dim > MAX_EMBED_STOPS
    s = spec.augmentation.noise_scale
    has_noise = bool(np.any(_unit_noise(spec)))
    factors = SMALL["noise"] if small else NOISE_FACTORS
    noise = _with([(s if s > 0 else 1.0) * f for f in factors], s) if has_noise else (float(s),)
    temps = _with([spec.temperature * f for f in (SMALL["temperature"] if small else TEMPERATURE_FACTORS)],
                  spec.temperature)
    batches = sorted(set(SMALL["batch"] if small else BATCH_STOPS) | ({spec.batch_size} if spec.batch_size else set()))
    embed = spec.embed_dim or dim
    if max(dim, embed) <= MAX_EMBED_STOPS:
        dims = tuple(range(1, max(dim, embed) + 1))
    else:
        n_embed = SMALL["embed"] if small else MAX_EMBED_STOPS - 1
        dims = tuple(sorted({int(round(v)) for v in np.geomspace(1, max(dim, embed), n_embed)} | {embed}))
    return Stops(weight_decay=wd, noise_scale=noise, temperature=temps, batch_size=(*batches, None), embed_dim=dims)


# ---- choices ---------------------------------------------------------------------------------------------------

def _combo_key(spec: Spec) -> str:
    return "|".join(str(getattr(spec, k)) for k in CHOICES)


def home_spec(spec: Spec, stops: Stops) -> Spec:
    """The spec with an explicit embedding size (the page's copy-spec starts from it)."""
    return spec if spec.embed_dim is not None else spec.with_updates(embed_dim=max(stops.embed_dim))


def _choice_specs(spec: Spec) -> dict[str, Spec]:
    """Every valid objective/similarity/protocol/normalisation choice (all else from `spec`), by key."""
    out: dict[str, Spec] = {}
    for obj in CHOICES["objective"]:
        for sim in CHOICES["similarity"]:
            for proto in CHOICES["protocol"]:
                for norm in CHOICES["normalization"]:
                    try:
                        s = spec.with_updates(objective=obj, similarity=sim, protocol=proto, normalization=norm)
                    except UserError:
                        continue  # e.g. a similarity on an objective defined by dot products
                    out[_combo_key(s)] = s
    return out


def _at(spec: Spec, name: str, value: Any) -> Spec:
    """The spec with slider `name` at `value` (a knob of sslscape.knobs, or the embedding size)."""
    return spec.with_updates(**{KNOB_ROWS[name].field if name in KNOB_ROWS else name: value})


def _unit_noise(spec: Spec) -> np.ndarray:
    """S at noise scale 1 (the augmentation's noise_cov, or a moments file's B − A): S = noise_scale × this."""
    return moments_of(_at(spec, "noise_scale", 1.0)).noise_cov


def _home_index(spec: Spec, stops: Stops, name: str) -> int | None:
    """The index of the spec's own value among the slider's stops (exactly equal), or None."""
    own = spec.batch_size if name == "batch_size" else spec.embed_dim if name == "embed_dim" else \
        KNOB_ROWS[name].value(spec)
    values = getattr(stops, name)
    return next((i for i, v in enumerate(values) if v == own), None)


def line_indices(n: int, home: int | None, most: int | None) -> tuple[int, ...]:
    """The stops of a slider with `n` stops at which a 'lines' choice is precomputed: all (`most` None or ≥ n), else
    `most` evenly spaced ones from end to end, plus the spec's own (`home`)."""
    if most is None or n <= most:
        return tuple(range(n))
    picked = {int(round(i)) for i in np.linspace(0, n - 1, max(most, 2))}
    return tuple(sorted(picked | ({home} if home is not None else set())))


def _planned_points(spec: Spec, stops: Stops) -> list[Spec]:
    """The points whose plans decide a choice's mode: coverage changes only at a knob's ends (γ = 0, τ below a
    solver's range, N unset, …), so each slider's two ends through the spec's setting, and every batch size (each
    may cross N → ∞)."""
    out = []
    for name in SLIDERS:
        values = getattr(stops, name)
        for v in (values if name == "batch_size" else values[:: max(1, len(values) - 1)]):
            out.append(_at(spec, name, v))
    return out


def _mode(spec: Spec, stops: Stops, moments: Moments) -> tuple[str, str, str]:
    """(mode, solver at the spec's setting, why) of one choice (module docstring): the solver table's plans along
    every slider's line through the spec's setting decide whether the page can hold its answers."""
    from ..theory.solvers import plan

    try:
        home = plan(spec, "auto", moments)
    except UserError as exc:
        return "serve", "", " ".join(str(exc).split())
    if moments.dim > MAX_GRID_DIM:
        return "serve", home.solver, (f"D = {moments.dim} input dimensions: the static page precomputes up to "
                                      f"{MAX_GRID_DIM}")
    solvers: set[str] = set()
    for point in (spec, *_planned_points(spec, stops)):
        try:
            chosen = home if point is spec else plan(point)
        except UserError as exc:
            return "serve", home.solver, " ".join(str(exc).split())
        if chosen.numerical:  # one numerical point is enough: the page cannot hold this choice
            return "serve", home.solver, (f"solved numerically by {chosen.solver} ({chosen.reason}; seconds or "
                                          "more a point)")
        solvers.add(chosen.solver)
    if solvers == {"quartic_closed_form"} and spec.depth == 1 and not spec.bias and _single_product(spec, moments):
        return "grid", home.solver, ""
    return "lines", home.solver, ("answered by " + ", ".join(sorted(solvers)) + " (under a second a point): "
                                  "precomputed along each slider through the spec's setting")


def _single_product(spec: Spec, moments: Moments) -> bool:
    """The landscape has the single-product form `closed_form_grid` batches (B with quartic Tr[(ŴBŴᵀ)²])."""
    from ..theory.landscape import landscape
    from ..theory.solve import single_product_form

    land = landscape(spec, moments)
    return land.expandable and single_product_form(land) is not None


def combos(spec: Spec, stops: Stops | None = None) -> list[dict[str, Any]]:
    """Every valid objective/similarity/protocol/normalisation choice (all else from `spec`), each with its `mode`
    ('grid' | 'lines' | 'serve', module docstring), `grid` (every stop precomputed), `solver` (the solver table's
    answer at the spec's setting) and `why` (what the page can show, or why it needs --serve)."""
    stops = stops or default_stops(spec)
    moments = moments_of(spec)
    out = []
    for key, point in _choice_specs(spec).items():
        mode, solver, why = _mode(point, stops, moments)
        out.append({"key": key, **{k: getattr(point, k) for k in CHOICES}, "mode": mode, "grid": mode == "grid",
                    "solver": solver, "why": why})
    return out


@dataclass(frozen=True, kw_only=True)
class ComboGrid:
    """Predictions over all stops for one choice: the theory's count / phase (W, S, T, N, E), spectra (W, S, T, N,
    E, max d), critical weight decays (S, T, N, D) per direction (descending) and capacity per embedding size
    (E,)."""

    alive: np.ndarray
    phase: np.ndarray
    spectra: np.ndarray
    critical_weight_decay: np.ndarray
    capacity: np.ndarray


def combo_grid(spec: Spec, stops: Stops, moments: Moments | None = None) -> ComboGrid | None:
    """The predictions of the depth-1 quartic closed form for `spec`'s choice at every combination of `stops` (None
    when that choice has no such closed form at some stop); the solver table answers these choices with it."""
    from ..theory.landscape import landscape
    from ..theory.prediction import capacity_of, phase_codes
    from ..theory.solve import closed_form_grid, single_product_form

    moments = moments or moments_of(spec)
    unit = _unit_noise(spec)
    if spec.depth != 1 or spec.bias:
        return None
    # the landscape reads the augmentation from the moments, everything else from the spec: one spec per (τ, N)
    points = {(t, n): spec.with_updates(temperature=t, batch_size=n) for t in stops.temperature
              for n in stops.batch_size}
    quads, prods = [], []
    for s in stops.noise_scale:
        m = moments.with_noise(s * unit)
        for t in stops.temperature:
            for n in stops.batch_size:
                land = landscape(points[t, n], m)
                b = single_product_form(land) if land.expandable else None
                if b is None or not np.array_equal(land.decay, np.eye(moments.dim)):
                    return None
                quads.append(land.quadratic)
                prods.append(b)
    # identical landscapes (a knob the loss does not read: the spectral loss has no temperature) are solved once
    both = np.concatenate([np.reshape(quads, (len(quads), -1)), np.reshape(prods, (len(prods), -1))], axis=1)
    _, first, again = np.unique(both, axis=0, return_index=True, return_inverse=True)
    quads_arr, prods_arr = np.asarray(quads)[first], np.asarray(prods)[first]
    # critical weight decays (G = I): the eigenvalues of A, as `theory.predict.critical_values` gives them
    crit = np.clip(np.linalg.eigvalsh(quads_arr)[..., ::-1], 0.0, None)[again.ravel()]
    gammas = np.asarray(stops.weight_decay)
    chunk = max(1, int(4e6 // (len(gammas) * moments.dim**2)))  # bounded memory: a few landscapes at a time
    parts = [closed_form_grid(quads_arr[i:i + chunk], prods_arr[i:i + chunk], moments.cov, gammas, stops.embed_dim)
             for i in range(0, len(quads_arr), chunk)]
    if any(p is None for p in parts):
        return None
    spectra = np.concatenate([p[0] for p in parts])[again.ravel()]  # type: ignore[index]
    ranks = np.concatenate([p[1] for p in parts])[again.ravel()]  # type: ignore[index]
    ns, nt, nn = len(stops.noise_scale), len(stops.temperature), len(stops.batch_size)
    shape = (ns, nt, nn, len(stops.weight_decay), len(stops.embed_dim))
    order = (3, 0, 1, 2, 4)  # → (W, S, T, N, E)
    alive = ranks.reshape(shape).transpose(order)
    spectra = spectra.reshape(*shape, -1).transpose(*order, 5)
    capacity = np.array([capacity_of(spec.with_updates(embed_dim=d), moments) for d in stops.embed_dim])
    phase = phase_codes(alive, capacity[None, None, None, None, :])
    crit = crit.reshape(ns, nt, nn, -1)
    return ComboGrid(alive=alive, phase=phase, spectra=spectra, critical_weight_decay=crit, capacity=capacity)


# ---- packing -----------------------------------------------------------------------------------------------------

def pack(array: np.ndarray, dtype: str, delta: bool = False) -> dict[str, Any]:
    """Store an array compactly for the page: axes along which it is exactly constant are dropped (stride 0), the
    rest is C-ordered `dtype` ('uint8', 'uint16', 'float32'), gzip-compressed and base64-encoded.

    Element [i0, i1, …] of the original sits at Σ i_k · strides[k] of the stored vector (`unpack` inverts).
    `delta` (unsigned integer dtypes): store the differences along the outermost kept axis (modulo 2^bits) with the
    bytes of each value split into planes (all low bytes, then all high bytes) — smooth grids (the spectra along
    weight decay) then compress about twice as well; the page undoes it with a running sum (no theory)."""
    a = np.asarray(array)
    kept = []
    for axis in range(a.ndim):
        first = np.take(a, [0], axis=axis)
        if a.shape[axis] > 1 and np.array_equal(a, np.broadcast_to(first, a.shape)):
            a = first
        else:
            kept.append(axis)
    stored = np.ascontiguousarray(a.astype(np.dtype(dtype).newbyteorder("<")))  # typed arrays: little-endian
    strides = [0] * a.ndim
    step = 1
    for axis in reversed(range(a.ndim)):
        if axis in kept:
            strides[axis] = step
            step *= a.shape[axis]
    delta = bool(delta and kept and stored.dtype.kind == "u")
    if delta:
        lead = kept[0]
        with np.errstate(over="ignore"):  # wrap-around differences: the running sum wraps back
            stored = np.diff(stored, axis=lead, prepend=np.zeros_like(np.take(stored, [0], axis=lead)))
        raw_bytes = stored.reshape(-1).view(np.uint8).reshape(-1, stored.dtype.itemsize).T.tobytes()
    else:
        raw_bytes = stored.tobytes()
    raw = gzip.compress(raw_bytes, compresslevel=9, mtime=0)
    return {"shape": list(np.shape(array)), "strides": strides, "dtype": dtype, "size": int(stored.size),
            "delta": strides[kept[0]] if delta else 0, "gz": base64.b64encode(raw).decode("ascii")}


def unpack(packed: dict[str, Any]) -> np.ndarray:
    """The full array back from `pack` (used by the tests and by anyone reading a page's data)."""
    raw = gzip.decompress(base64.b64decode(packed["gz"]))
    dtype = np.dtype(packed["dtype"]).newbyteorder("<")
    stride = packed.get("delta", 0)
    if stride:  # byte planes back to values, then the running sum along the outermost kept axis
        planes = np.frombuffer(raw, np.uint8).reshape(dtype.itemsize, -1)
        flat = np.ascontiguousarray(planes.T).view(dtype).reshape(-1, stride)
        flat = np.cumsum(flat, axis=0, dtype=dtype).reshape(-1)
    else:
        flat = np.frombuffer(raw, dtype=dtype)
    idx = np.zeros(packed["shape"], dtype=np.int64)
    for axis, stride in enumerate(packed["strides"]):
        shape = [1] * len(packed["shape"])
        shape[axis] = packed["shape"][axis]
        idx = idx + stride * np.arange(packed["shape"][axis]).reshape(shape)
    return flat[idx]


def quantise_spectra(spectra: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Log-scale 16-bit codes: 0 = below `SPECTRUM_DECADES` decades under the largest value (shown as 0), else
    1 + round((log10 v − lo)/(hi − lo) · 65534). Returns (codes, lo, hi); relative error ≤ 10^((hi−lo)/131068) − 1."""
    top = float(spectra.max(initial=0.0))
    if top <= 0:
        return np.zeros(spectra.shape, np.uint16), 0.0, 1.0
    hi = math.log10(top)
    lo = hi - SPECTRUM_DECADES
    with np.errstate(divide="ignore"):
        logs = np.log10(np.where(spectra > 0, spectra, 1e-300))
    codes = np.where(logs >= lo, 1 + np.round((np.clip(logs, lo, hi) - lo) / (hi - lo) * 65534), 0)
    return codes.astype(np.uint16), lo, hi


def dequantise_spectra(codes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.where(codes == 0, 0.0, 10.0 ** (lo + (codes.astype(float) - 1) / 65534 * (hi - lo)))


# ---- the page's data -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ExplorerData(Result):
    """Everything the page shows, computed by the theory (a JSON document: its mappings stay dicts): `spec` (the
    home setting, JSON), `stops`, `combos` (each choice, its mode and solver), `grids` (packed arrays per 'grid'
    choice), `lines` (per 'lines' choice: `predict` at every stop of each slider through the spec's setting),
    `advice` (advise answers at the home setting: key 'choice|knob|K'), `capacity` per embedding size, `build_s`
    (seconds to compute)."""

    spec: dict[str, Any]
    stops: dict[str, list]
    combos: tuple[dict[str, Any], ...]
    grids: dict[str, dict[str, Any]]
    lines: dict[str, dict[str, Any]]
    advice: dict[str, dict[str, Any]]
    capacity: tuple[int, ...]
    dim: int
    build_s: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _advice_dict(a: Any) -> dict[str, Any]:
    d = a.to_dict()
    return {k: d[k] for k in ("interval", "intervals", "alive_inside", "reason", "method", "order", "solver",
                              "possible", "current_value", "current_alive", "knob", "keep")}


def _point(pred: Any) -> dict[str, Any]:
    """One precomputed answer of a 'lines' choice, as the page reads it (`predict`'s fields, spectra to 5 digits)."""
    crit = pred.thresholds.critical_weight_decay
    return {"rank": pred.rank, "alive": pred.alive, "phase": PHASE_CODE[pred.phase], "capacity": pred.capacity,
            "spectrum": [float(f"{v:.5g}") for v in pred.spectrum], "solver": pred.solver,
            "critical": None if crit is None else [float(f"{v:.6g}") for v in crit]}


class _TooSlow(Exception):
    """A 'lines' choice whose answers cost more than the static page's time for it (or need a numerical solve)."""


def combo_lines(spec: Spec, stops: Stops, max_seconds: float | None = None, most: int | None = None,
                tick: Callable[[], None] | None = None) -> dict[str, Any]:
    """The solver table's answer (default order: `predict`'s) at the spec's setting ('home') and along each slider
    with all else at the spec's setting (module docstring: a 'lines' choice): {'home': answer, slider: [answer per
    stop]} — at every stop, or with `most` at the stops `line_indices` picks (None at the others). The spec's own
    point is solved once for all lines; `tick()` after each answer. UserError naming the cost when a point needs a
    numerical solve (refused before it starts) or the points would take more than `max_seconds` (estimated from the
    first ones)."""
    from ..theory.solvers import BY_NAME, SOLVERS, Budget, solve

    start = time.perf_counter()
    moments = moments_of(spec)  # only the augmentation's slider changes the moments
    picked = {name: line_indices(len(getattr(stops, name)), _home_index(spec, stops, name), most)
              for name in SLIDERS}
    total = 1 + sum(len(ix) for ix in picked.values())
    done = 0

    def numerical(line: str) -> None:  # the solver table announces a numerical solve before starting it
        name = next((s.name for s in SOLVERS if f"(solver {s.name}:" in line), "a numerical solver")
        raise _TooSlow(f"{name} answers some settings numerically ({BY_NAME[name].summary if name in BY_NAME else line}"
                       "; seconds or more a point)")

    budget = Budget(say=numerical)

    def one(point: Spec, m: Moments) -> dict[str, Any]:
        nonlocal done
        pred = solve(point, moments=m, budget=budget)
        done += 1
        spent = time.perf_counter() - start
        if max_seconds is not None and spent > max_seconds:
            raise _TooSlow(f"{pred.solver}: about {spent / done:.1g} s a point, {total} points")
        if tick is not None:
            tick()
        return _point(pred)

    try:
        home = one(spec, moments)
        out: dict[str, Any] = {"home": home}
        for name in SLIDERS:
            values, own = getattr(stops, name), _home_index(spec, stops, name)
            line: list[dict[str, Any] | None] = [None] * len(values)
            for i in picked[name]:
                point = _at(spec, name, values[i])
                line[i] = home if i == own else one(point, moments_of(point) if name == "noise_scale" else moments)
            out[name] = line
    except _TooSlow as exc:
        raise UserError(f"not precomputed: {exc}") from None
    return out


Progress = Callable[[int, int, str], None]


def explorer_data(spec: Spec, stops: Stops | None = None, advise_knobs: Sequence[str] = KNOBS,
                  advise_choices: str = "own", progress: Progress | None = None, lines_choices: str = "all",
                  line_stops: int | None = LINE_STOPS) -> ExplorerData:
    """Compute the page's values (module docstring). `advise_knobs`: the knobs whose `advise` answers are
    precomputed at the home setting; `advise_choices`: 'own' (the spec's objective/similarity/protocol/
    normalisation), 'all' (every precomputed choice) or 'none'; `lines_choices`: 'all' (every 'lines' choice, at
    most LINES_SECONDS each) or 'own' (the spec's own; the others left to --serve); `line_stops`: stops per slider
    for the lines of the choices other than the spec's own (None: every stop, as for the spec's own).
    `progress(done, total, info)`: the work done and expected, in units of about a millisecond (`COST_MS`), and what
    is being computed, after each answer.

    Raises UserError for an unknown knob, advise_choices, lines_choices or line_stops value."""
    from ..theory.advise import advise_keeps
    from ..theory.solvers import BY_NAME

    start = time.perf_counter()
    if advise_choices not in ("own", "all", "none"):
        raise UserError(f"advise_choices must be 'own', 'all' or 'none', got {advise_choices!r}")
    if lines_choices not in ("own", "all"):
        raise UserError(f"lines_choices must be 'own' or 'all', got {lines_choices!r}")
    if line_stops is not None and (not isinstance(line_stops, int) or line_stops < 2):
        raise UserError(f"line_stops must be an integer ≥ 2 (the two ends) or None (every stop), got {line_stops!r}")
    for k in advise_knobs:
        if k not in KNOBS:
            raise UserError(f"unknown knob {k!r}; use one of {', '.join(KNOBS)}")
    stops = stops or default_stops(spec)
    home = home_spec(spec, stops)
    _check_stops(home, stops)
    moments = moments_of(home)
    choice_list = combos(home, stops)
    own = _combo_key(home)
    for c in choice_list:
        if c["mode"] == "lines" and c["key"] != own:
            if lines_choices == "own":
                c.update(mode="serve", why=c["why"].split(":")[0] + ": not precomputed on this page (--serve)")
            elif line_stops is not None and max(stops.shape) > line_stops:
                c["why"] += f" at up to {line_stops} stops each (the slider moves over those)"
    todo = sorted((c for c in choice_list if c["mode"] != "serve"), key=lambda c: c["key"] != own)  # own first
    todo_advice = [c for c in todo if advise_choices == "all" or (advise_choices == "own" and c["key"] == own)]
    capacity = tuple(int(m) for m in _capacities(home, moments, stops))
    keep_max = capacity[stops.embed_dim.index(home.embed_dim)]

    def most(c: dict[str, Any]) -> int | None:
        return None if c["key"] == own else line_stops

    def cost(c: dict[str, Any]) -> float:  # expected units (≈ ms) of one choice's grid or lines
        if c["mode"] == "grid":
            return COST_MS["landscape"] * len(stops.noise_scale) * len(stops.temperature) * len(stops.batch_size)
        points = 1 + sum(len(line_indices(len(getattr(stops, n)), _home_index(home, stops, n), most(c)))
                         for n in SLIDERS)
        return points * COST_MS[BY_NAME[c["solver"]].cost]

    plan_units = {c["key"]: cost(c) for c in todo}
    total = sum(plan_units.values()) + COST_MS["advise"] * len(todo_advice) * len(advise_knobs)
    done = 0.0

    def tell(units: float, info: str) -> None:
        nonlocal done
        done += units
        if progress is not None:
            progress(int(done), int(max(total, done)), info)

    grids: dict[str, dict[str, Any]] = {}
    lines: dict[str, dict[str, Any]] = {}
    for c in todo:
        point = home.with_updates(**{k: c[k] for k in CHOICES})
        before, info = done, f"{c['key']}: {c['mode']}, {c['solver']}"
        g = combo_grid(point, stops, moments) if c["mode"] == "grid" else None
        if g is None:  # a 'lines' choice (or a singular quartic term at some stop): predict along the sliders
            if c["mode"] == "grid":  # the lines' cost replaces the grid's
                c.update(mode="lines", grid=False)
                total += cost(c) - plan_units[c["key"]]
                plan_units[c["key"]] = cost(c)
            each = COST_MS[BY_NAME[c["solver"]].cost]
            try:
                lines[c["key"]] = combo_lines(point, stops, OWN_LINES_SECONDS if c["key"] == own else LINES_SECONDS,
                                              most(c), tick=lambda each=each, info=info: tell(each, info))
                c.update(mode="lines", grid=False)
            except UserError as exc:  # too slow for the static page, or numerical somewhere: --serve answers it
                c.update(mode="serve", grid=False, why=str(exc))
        else:
            codes, lo, hi = quantise_spectra(g.spectra)
            grids[c["key"]] = {"alive": pack(g.alive, "uint8" if g.alive.max() < 256 else "uint16"),
                               "phase": pack(g.phase, "uint8"), "spectra": pack(codes, "uint16", delta=True),
                               "spectra_log10": [lo, hi],
                               "critical_weight_decay": pack(g.critical_weight_decay, "float32")}
        tell(before + plan_units[c["key"]] - done, info)  # the rest of its share (a choice left to --serve)
    advice: dict[str, dict[str, Any]] = {}
    for c in todo_advice:
        point = home.with_updates(**{k: c[k] for k in CHOICES})
        for knob in advise_knobs:  # one scan per knob answers every K (advise_keeps); none for a choice left to --serve
            for a in advise_keeps(point, range(keep_max + 1), knob) if c["mode"] != "serve" else ():
                advice[f"{c['key']}|{knob}|{a.keep}"] = _advice_dict(a)
            tell(COST_MS["advise"], f"advise {knob} for {c['key']}")
    notes = ("Every value is the answer of sslscape's solver table for the default order (the same as sslscape "
             "predict): closed forms precomputed at every setting, the learned point and the per-direction "
             "solvers along each slider through the spec's setting (the spec's own loss at every stop, the others "
             "at fewer), numerical solvers with --serve. The rank grid counts the directions the theory keeps (a "
             "direction within a few percent of its critical value counts; predict's collapse rule may already "
             "cut it)",)
    return ExplorerData(spec=home.model_dump(mode="json"), stops=stops.to_dict(), combos=tuple(choice_list),
                        grids=grids, lines=lines, advice=advice, capacity=capacity, dim=moments.dim,
                        build_s=time.perf_counter() - start, notes=notes)


def _check_stops(spec: Spec, stops: Stops) -> None:
    """The page starts at the spec's own setting: each of its values must be a stop (UserError naming it)."""
    own = {"weight_decay": spec.weight_decay, "noise_scale": spec.augmentation.noise_scale,
           "temperature": spec.temperature, "batch_size": spec.batch_size, "embed_dim": spec.embed_dim}
    for name, value in own.items():
        values = getattr(stops, name)
        if not any(v == value or (v is not None and value is not None and math.isclose(v, value, rel_tol=1e-12))
                   for v in values):
            raise UserError(f"stops.{name} must include the spec's own value {value} (N → ∞ is None); "
                            f"got {list(values)}")


def _capacities(spec: Spec, moments: Moments, stops: Stops) -> list[int]:
    from ..theory.prediction import capacity_of

    return [capacity_of(spec.with_updates(embed_dim=d), moments) for d in stops.embed_dim]


# ---- the page ------------------------------------------------------------------------------------------------------

PLOTLY_CARTESIAN = ASSETS / "plotly-cartesian.min.js.gz"  # npm plotly.js-cartesian-dist-min 4.1.1 (MIT), gzipped


@cache
def _plotly_gz_b64() -> str:
    """plotly.js for the page, gzipped and base64-encoded: plotly's official *cartesian* bundle (the bar, scatter and
    heatmap traces the page draws; 1.5 MB, evaluated ~2.5× faster than the full 4.8 MB bundle — most of the load
    time) shipped in explorer_assets, else (file removed) the full bundle of the installed plotly package."""
    if PLOTLY_CARTESIAN.exists():
        return base64.b64encode(PLOTLY_CARTESIAN.read_bytes()).decode("ascii")
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as err:  # a declared dependency; say how to get it rather than fail with a traceback
        raise UserError("the explorer needs plotly (pip install plotly): it inlines plotly.js in the page") from err
    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)).decode("ascii")


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element (no '</' sequences)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def render_page(data: ExplorerData, live: bool = False, title: str | None = None) -> str:
    """The self-contained HTML page (module docstring); `live`: served by `serve` (asks it for what is not
    precomputed)."""
    css = (ASSETS / "explorer.css").read_text(encoding="utf-8")
    js = (ASSETS / "explorer.js").read_text(encoding="utf-8")
    template = (ASSETS / "explorer.html").read_text(encoding="utf-8")
    meta = data.to_dict()
    meta["live"] = live
    meta["phase_names"] = sorted(PHASE_CODE, key=PHASE_CODE.__getitem__)
    name = title or f"sslscape explorer — {data.spec['objective']}"
    return (template.replace("{{TITLE}}", html.escape(name))
            .replace("{{CSS}}", css)
            .replace("{{PLOTLY_GZ}}", _plotly_gz_b64())
            .replace("{{DATA}}", _script_json(meta))
            .replace("{{JS}}", js.replace("</script", "<\\/script")))


def write_explorer(spec: Spec, path: str | Path, stops: Stops | None = None, advise_knobs: Sequence[str] = KNOBS,
                   advise_choices: str = "own", progress: Progress | None = None, title: str | None = None,
                   line_stops: int | None = LINE_STOPS) -> Path:
    """Compute the explorer's data for `spec` (`explorer_data`) and write the static page atomically; returns the
    path. The file name must end in .html (UserError otherwise)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"the explorer is an HTML page: give --out a .html file name, not {path.name!r}")
    data = explorer_data(spec, stops, advise_knobs, advise_choices, progress, line_stops=line_stops)
    return atomic_write_text(path, render_page(data, title=title))


# ---- the live server -------------------------------------------------------------------------------------------------

def answer(route: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """The JSON answer of the live server for `route` ('predict' or 'advise'); `query['spec']` is the spec as JSON.
    Raises UserError (one line) for a bad spec, knob or K."""
    from ..theory.advise import advise
    from ..theory.predict import predict

    raw = (query.get("spec") or [""])[0]
    try:
        spec = parse_spec(json.loads(raw))
    except json.JSONDecodeError as err:
        raise UserError(f"spec: not JSON ({err.msg})") from err
    if route == "predict":
        return predict(spec).to_dict()
    if route == "advise":
        knob = (query.get("knob") or ["weight_decay"])[0]
        try:
            keep = int((query.get("keep") or [""])[0])
        except ValueError as err:
            raise UserError("keep: give an integer K ≥ 0") from err
        at_least = (query.get("at_least") or ["0"])[0] in ("1", "true")
        return _advice_dict(advise(spec, keep, knob, at_least=at_least))
    raise UserError(f"unknown route {route!r}; use /api/predict or /api/advise")


def make_server(page: str, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A local HTTP server (not started): GET / gives `page`; GET /api/predict?spec=JSON and
    /api/advise?spec=JSON&keep=K&knob=NAME answer with `answer`. Bound to `host` (localhost by default)."""
    body = page.encode("utf-8")
    lock = threading.Lock()  # the theory runs one request at a time (torch threads, BLAS), pages are served freely

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 — http.server's name
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                self._send(200, body, "text/html; charset=utf-8")
                return
            if not url.path.startswith("/api/"):
                self._send(404, b'{"error": "not found"}', "application/json")
                return
            try:
                with lock:
                    result = answer(url.path[len("/api/"):], parse_qs(url.query))
                self._send(200, json.dumps(result).encode(), "application/json")
            except UserError as err:
                self._send(400, json.dumps({"error": " ".join(str(err).split())}).encode(), "application/json")
            except Exception as err:  # never a dropped connection: the page shows one line
                self._send(500, json.dumps({"error": f"{type(err).__name__}: {' '.join(str(err).split())}"}).encode(),
                           "application/json")

        def _send(self, code: int, payload: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet: the CLI says what it serves
            return

    return ThreadingHTTPServer((host, port), Handler)


__all__ = ["COST_MS", "LINE_STOPS", "ExplorerData", "Stops", "answer", "combo_grid", "combo_lines", "combos",
           "default_stops", "explorer_data", "line_indices", "make_server", "pack", "render_page", "unpack",
           "write_explorer"]
