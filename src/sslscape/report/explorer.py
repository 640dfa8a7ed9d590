"""The interactive landscape explorer: one self-contained HTML page (plotly.js inlined, no network) where a person
picks objective, similarity, protocol and normalisation, moves weight decay, augmentation strength, temperature,
batch size and embedding size, and sees what the theory predicts (rank, phase, spectrum, critical values, phase
diagram, `advise`), with a "copy spec" button giving the JSON spec of the setting.

Every number on the page comes from `sslscape.theory`; the page's JavaScript only looks values up.

Static page (`write_explorer`). The sliders move over fixed stops (`Stops`, the spec's own values among them) and
every combination of stops is precomputed, for each objective/similarity/protocol/normalisation choice whose
quartic landscape has the depth-1 closed form (`sslscape.theory.solve.closed_form_minimum`): InfoNCE (dot or
euclidean) and the spectral loss, without normalisation. The landscape (`theory.landscape`) is built once per
(augmentation, temperature, batch) stop and the closed form is then evaluated for all weight decays and embedding
sizes at once (`sslscape.theory.solve.closed_form_grid`, the algebra of `closed_form_minimum` batched; the tests
check it against `predict` point by point), and the critical weight decays (eigenvalues of A, as in
`critical_values`); `advise` answers are precomputed at the spec's own setting (one knob moves, all else fixed,
as `advise` defines them).
Choices without a closed form (cosine similarity, l2/batch normalisation, VICReg, SimSiam/BYOL, Barlow Twins with
λ < 1) need a numerical solver per point: the page lists them as available with `--serve`.

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
from dataclasses import asdict, dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from ..errors import UserError
from ..io import atomic_write_text
from ..moments import Moments, moments_of, unit_noise_cov
from ..spec import Spec, parse_spec

ASSETS = Path(__file__).with_name("explorer_assets")
SLIDERS = ("weight_decay", "noise_scale", "temperature", "batch_size", "embed_dim")
CHOICES = {"objective": ("infonce", "spectral", "barlow", "vicreg", "simsiam", "byol"),
           "similarity": ("dot", "euclidean", "cosine"),
           "protocol": ("augmented_negatives", "clean_negatives"),
           "normalization": ("none", "l2", "batch")}
KNOBS = ("weight_decay", "temperature", "noise_scale", "batch_size")
FIELDS = {"noise_scale": "augmentation.noise_scale"}
NOISE_FACTORS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0)
TEMPERATURE_FACTORS = (0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
BATCH_STOPS = (16, 64, 256, 1024, 4096)
MAX_EMBED_STOPS = 16
MAX_GRID_DIM = 32  # input dimensions up to which the static page precomputes (larger: --serve, point by point)
SMALL = {"noise": (0.0, 0.5, 1.0, 2.0, 4.0), "temperature": (0.2, 0.5, 1.0, 2.0, 5.0), "batch": (64, 1024),
         "embed": 6}  # fewer stops for D > 16, so that spectra of up to 32 directions stay within the page budget
SPECTRUM_DECADES = 12.0  # spectra are stored on a log scale this many decades below their largest value


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
    if weight_decay_max is None:  # past the largest critical weight decay of every precomputed choice
        from ..theory.predict import predict

        tops = [0.0]
        for c in combos(spec):
            if c["grid"]:
                point = spec.with_updates(batch_size=None, **{k: c[k] for k in CHOICES})
                tops.extend((predict(point).thresholds.weight_decay or ())[:1])
        weight_decay_max = 1.2 * max(max(tops), 2 * gamma, 1e-3)
    step = _nice_step(weight_decay_max / (n_weight_decay - 1))
    wd = _with(step * np.arange(int(math.ceil(weight_decay_max / step - 1e-9)) + 1), gamma)
    small = dim > MAX_EMBED_STOPS
    s = spec.augmentation.noise_scale
    has_noise = bool(np.any(unit_noise_cov(spec, dim)))
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


def combos(spec: Spec) -> list[dict[str, Any]]:
    """Every valid objective/similarity/protocol/normalisation choice (all else from `spec`), each with `grid`:
    True when the depth-1 closed form covers it (precomputed on the static page), else `why` it needs --serve."""
    from ..theory.landscape import landscape
    from ..theory.solve import single_product_form

    moments = moments_of(spec)
    out = []
    for obj in CHOICES["objective"]:
        for sim in CHOICES["similarity"]:
            for proto in CHOICES["protocol"]:
                for norm in CHOICES["normalization"]:
                    try:
                        s = spec.with_updates(objective=obj, similarity=sim, protocol=proto, normalization=norm)
                    except UserError:
                        continue  # e.g. a similarity on an objective defined by dot products
                    land = landscape(s, moments)
                    if moments.dim > MAX_GRID_DIM:
                        why = (f"D = {moments.dim} input dimensions: the static page precomputes up to "
                               f"{MAX_GRID_DIM}")
                    elif not land.expandable:
                        why = land.reason
                    elif spec.depth != 1 or spec.bias:
                        why = (f"depth {spec.depth}, bias {spec.bias}: the explorer precomputes the depth-1 closed "
                               "form without bias only")
                    elif single_product_form(land) is None:
                        why = "no closed form: the landscape polynomial is minimised numerically (about 1 s a point)"
                    else:
                        why = ""
                    out.append({"key": _combo_key(s), "objective": obj, "similarity": sim, "protocol": proto,
                                "normalization": norm, "grid": not why, "why": why})
    return out

@dataclass(frozen=True)
class ComboGrid:
    """Predictions over all stops for one choice: ranks/phase (W, S, T, N, E), spectra (W, S, T, N, E, max d),
    critical weight decays (S, T, N, D) per direction (descending) and max_rank per embedding size (E,)."""

    rank: np.ndarray
    phase: np.ndarray
    spectra: np.ndarray
    weight_decay_critical: np.ndarray
    max_rank: np.ndarray


def combo_grid(spec: Spec, stops: Stops, moments: Moments | None = None) -> ComboGrid | None:
    """The predictions of the depth-1 closed form for `spec`'s choice at every combination of `stops` (None when
    that choice has no such closed form at some stop)."""
    from ..theory.landscape import landscape
    from ..theory.predict import max_rank_of, phase_codes
    from ..theory.solve import closed_form_grid, single_product_form

    moments = moments or moments_of(spec)
    unit = unit_noise_cov(spec, moments.dim)
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
    quads_arr = np.asarray(quads)
    # critical weight decays (G = I): the eigenvalues of A, as `theory.predict.critical_values` gives them
    crit = np.clip(np.linalg.eigvalsh(quads_arr)[..., ::-1], 0.0, None)
    prods_arr, gammas = np.asarray(prods), np.asarray(stops.weight_decay)
    chunk = max(1, int(4e6 // (len(gammas) * moments.dim**2)))  # bounded memory: a few landscapes at a time
    parts = [closed_form_grid(quads_arr[i:i + chunk], prods_arr[i:i + chunk], moments.cov, gammas, stops.embed_dim)
             for i in range(0, len(quads_arr), chunk)]
    if any(p is None for p in parts):
        return None
    spectra = np.concatenate([p[0] for p in parts])  # type: ignore[index]
    ranks = np.concatenate([p[1] for p in parts])  # type: ignore[index]
    ns, nt, nn = len(stops.noise_scale), len(stops.temperature), len(stops.batch_size)
    shape = (ns, nt, nn, len(stops.weight_decay), len(stops.embed_dim))
    order = (3, 0, 1, 2, 4)  # → (W, S, T, N, E)
    rank = ranks.reshape(shape).transpose(order)
    spectra = spectra.reshape(*shape, -1).transpose(*order, 5)
    max_rank = np.array([max_rank_of(spec.with_updates(embed_dim=d), moments) for d in stops.embed_dim])
    phase = phase_codes(rank, max_rank[None, None, None, None, :])
    crit = crit.reshape(ns, nt, nn, -1)
    return ComboGrid(rank=rank, phase=phase, spectra=spectra, weight_decay_critical=crit, max_rank=max_rank)


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

@dataclass(frozen=True)
class ExplorerData:
    """Everything the page shows, computed by the theory: `spec` (the home setting, JSON), `stops`, `combos`
    (each choice, precomputed or not), `grids` (packed arrays per precomputed choice), `advice` (advise answers
    at the home setting: key 'choice|knob|K'), `build_s` (seconds to compute)."""

    spec: dict[str, Any]
    stops: dict[str, list]
    combos: list[dict[str, Any]]
    grids: dict[str, dict[str, Any]]
    advice: dict[str, dict[str, Any]]
    max_rank: list[int]
    dim: int
    build_s: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


def _advice_dict(a: Any) -> dict[str, Any]:
    d = a.to_dict()
    return {k: d[k] for k in ("interval", "intervals", "rank_inside", "reason", "method", "order", "possible",
                              "current_value", "current_rank", "knob", "keep")}


def explorer_data(spec: Spec, stops: Stops | None = None, advise_knobs: Sequence[str] = KNOBS,
                  advise_choices: str = "own", progress: Callable[[int, int], None] | None = None) -> ExplorerData:
    """Compute the page's values (module docstring). `advise_knobs`: the knobs whose `advise` answers are
    precomputed at the home setting; `advise_choices`: 'own' (the spec's objective/similarity/protocol/
    normalisation), 'all' (every precomputed choice) or 'none'. `progress(done, total)` per choice and answer.

    Raises UserError for an unknown knob or advise_choices value."""
    from ..theory.advise import advise

    start = time.perf_counter()
    if advise_choices not in ("own", "all", "none"):
        raise UserError(f"advise_choices must be 'own', 'all' or 'none', got {advise_choices!r}")
    for k in advise_knobs:
        if k not in KNOBS:
            raise UserError(f"unknown knob {k!r}; use one of {', '.join(KNOBS)}")
    stops = stops or default_stops(spec)
    home = home_spec(spec, stops)
    _check_stops(home, stops)
    moments = moments_of(home)
    choice_list = combos(home)
    own = _combo_key(home)
    todo_advice = [c for c in choice_list if c["grid"] and (advise_choices == "all" or
                                                           (advise_choices == "own" and c["key"] == own))]
    max_rank = [int(m) for m in _max_ranks(home, moments, stops)]
    n_advice = sum(max_rank[stops.embed_dim.index(home.embed_dim)] + 1 for _ in todo_advice) * len(advise_knobs)
    total, done = sum(c["grid"] for c in choice_list) + n_advice, 0
    grids: dict[str, dict[str, Any]] = {}
    for c in choice_list:
        if not c["grid"]:
            continue
        point = home.with_updates(**{k: c[k] for k in CHOICES})
        g = combo_grid(point, stops, moments)
        done += 1
        if progress is not None:
            progress(done, total)
        if g is None:
            c.update(grid=False, why="no closed form at some slider stop (a singular quartic term)")
            continue
        codes, lo, hi = quantise_spectra(g.spectra)
        grids[c["key"]] = {"rank": pack(g.rank, "uint8" if g.rank.max() < 256 else "uint16"),
                           "phase": pack(g.phase, "uint8"), "spectra": pack(codes, "uint16", delta=True),
                           "spectra_log10": [lo, hi], "weight_decay_critical": pack(g.weight_decay_critical,
                                                                                     "float32")}
    advice: dict[str, dict[str, Any]] = {}
    keep_max = max_rank[stops.embed_dim.index(home.embed_dim)]
    for c in todo_advice:
        if c["key"] not in grids:
            continue
        point = home.with_updates(**{k: c[k] for k in CHOICES})
        for knob in advise_knobs:
            for keep in range(keep_max + 1):
                advice[f"{c['key']}|{knob}|{keep}"] = _advice_dict(advise(point, keep, knob))
                done += 1
                if progress is not None:
                    progress(done, total)
    notes = ["With a finite batch the page shows the quartic order (the (1 − 1/N) factor); for InfoNCE with dot "
             "similarity `sslscape predict` answers at the learned point instead (the positive pair's softmax weight "
             "p̄ replaces 1/N; docs/theory.md §5) and may keep fewer directions: use the Live mode or "
             "sslscape predict for that answer"]
    return ExplorerData(spec=home.model_dump(mode="json"), stops=stops.to_dict(), combos=choice_list, grids=grids,
                        advice=advice, max_rank=max_rank, dim=moments.dim, build_s=time.perf_counter() - start,
                        notes=notes)


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


def _max_ranks(spec: Spec, moments: Moments, stops: Stops) -> list[int]:
    from ..theory.predict import max_rank_of

    return [max_rank_of(spec.with_updates(embed_dim=d), moments) for d in stops.embed_dim]


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
    from ..theory.predict import PHASE_CODES

    meta = data.to_dict()
    meta["live"] = live
    meta["phase_names"] = sorted(PHASE_CODES, key=PHASE_CODES.__getitem__)
    name = title or f"sslscape explorer — {data.spec['objective']}"
    return (template.replace("{{TITLE}}", html.escape(name))
            .replace("{{CSS}}", css)
            .replace("{{PLOTLY_GZ}}", _plotly_gz_b64())
            .replace("{{DATA}}", _script_json(meta))
            .replace("{{JS}}", js.replace("</script", "<\\/script")))


def write_explorer(spec: Spec, path: str | Path, stops: Stops | None = None, advise_knobs: Sequence[str] = KNOBS,
                   advise_choices: str = "own", progress: Callable[[int, int], None] | None = None,
                   title: str | None = None) -> Path:
    """Compute the explorer's data for `spec` and write the static page atomically; returns the path. The file name
    must end in .html (UserError otherwise)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"the explorer is an HTML page: give --out a .html file name, not {path.name!r}")
    data = explorer_data(spec, stops, advise_knobs, advise_choices, progress)
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


__all__ = ["ExplorerData", "Stops", "answer", "combo_grid", "combos", "default_stops", "explorer_data",
           "make_server", "pack", "render_page", "unpack", "write_explorer"]
