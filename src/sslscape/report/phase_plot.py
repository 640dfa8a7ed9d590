"""Phase-diagram figure: predicted rank as colour, collapse-phase borders in black, the closed-form threshold
curves in white (only for directions the embedding can hold), the spec's own point marked, and the legend below
the axes (never over the data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..knobs import KNOBS
from ..theory.phase import PhaseDiagram
from . import figures as F


def _exact_bands(diagram: PhaseDiagram, min_agreement: float = 0.99) -> list | None:
    """The region of each rank k as a band between threshold curves: [(k, other-axis values, γ from, γ to)] with
    rank(γ, ·) = #{directions k: γ < γ*_k(·)} — the closed form's rank, capped at capacity by construction of the
    curves (k ≤ capacity). None when there are no curves or when the bands disagree with the diagram's own grid in
    more than 1 − `min_agreement` of its cells (then the grid is drawn as it is)."""
    curves = sorted(diagram.boundaries, key=lambda c: c.direction)
    if not curves:
        return None
    on_x = diagram.x.name == "weight_decay"
    other = np.asarray(getattr(curves[0], "y" if on_x else "x"), float)
    gammas = np.array([getattr(c, "x" if on_x else "y") for c in curves], float)  # (m, n): descending in direction
    if [c.direction for c in curves] != list(range(1, len(curves) + 1)) or np.any(np.diff(gammas, axis=0) > 1e-9):
        return None
    g_axis, o_axis = (diagram.x_values, diagram.y_values) if on_x else (diagram.y_values, diagram.x_values)
    # the rank the bands imply at the grid's own cells, against the grid
    at_cells = np.array([np.interp(o_axis, other, g) for g in gammas])  # (m, n_other)
    implied = (np.asarray(g_axis)[None, None, :] < at_cells[:, :, None]).sum(axis=0)  # (n_other, n_gamma)
    grid = np.asarray(diagram.alive) if on_x else np.asarray(diagram.alive).T
    if np.mean(implied == grid) < min_agreement:
        return None
    lo, hi = float(min(g_axis)), float(max(g_axis))
    edges = np.clip(np.vstack([np.full_like(other, hi), gammas, np.full_like(other, lo)]), lo, hi)
    return [(k, other, edges[k + 1], edges[k]) for k in range(len(curves) + 1)]


def draw_phase_diagram(ax: Any, diagram: PhaseDiagram, mark_point: bool = True, alpha: float = 1.0) -> Any:
    """Draw `diagram` on `ax`: the predicted rank as flat colours (one per rank 0 … capacity), the closed-form
    threshold curves γ = γ*_k (white, dashed; only directions k ≤ capacity, the ones the embedding can hold), the
    exact phase borders (black: direction 1 dies → complete, direction capacity dies → dimensional; a contour of
    the phase codes when there are no closed-form curves), the spec's own point (a star, when `mark_point` and
    inside the axes), axis limits and mathtext labels. Returns the colour mapping (for `fig.colorbar`).
    Shared by `plot_phase_diagram` and the phase-diagram experiment (`sslscape.experiments.phase_diagram`)."""
    from matplotlib import colormaps, patheffects
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    levels = np.arange(-0.5, diagram.capacity + 1.5)
    cmap = colormaps["viridis"].resampled(diagram.capacity + 1)
    rank = np.asarray(diagram.alive)
    bands = _exact_bands(diagram)
    if bands is not None:
        # the closed-form curves bound every rank's region: fill between them (smooth, exact borders)
        norm = Normalize(levels[0], levels[-1])
        fill = ax.fill_betweenx if diagram.x.name == "weight_decay" else ax.fill_between
        for k, other, lo, hi in bands:
            fill(other, lo, hi, color=cmap(norm(k)), alpha=alpha, lw=0, zorder=0.5)
        mesh = ScalarMappable(norm=norm, cmap=cmap)
    else:
        steps = max(np.abs(np.diff(rank, axis=0)).max(initial=0), np.abs(np.diff(rank, axis=1)).max(initial=0))
        if steps <= 1:
            # ranks change by one between neighbouring cells: filled contours at half-integers draw the borders
            # between cells as straight segments instead of a staircase (no rank that is not on the grid appears)
            mesh = ax.contourf(diagram.x_values, diagram.y_values, rank, levels=levels, cmap=cmap, vmin=levels[0],
                               vmax=levels[-1], alpha=alpha)
        else:  # a jump of two or more (directions dying together) would show a band of a rank that is not there
            mesh = ax.pcolormesh(diagram.x_values, diagram.y_values, rank, cmap=cmap, vmin=levels[0],
                                 vmax=levels[-1], shading="nearest", alpha=alpha)
    by_direction = {c.direction: c for c in diagram.boundaries}
    borders = [by_direction[k] for k in sorted({1, diagram.capacity}) if k in by_direction]
    outline = [patheffects.Stroke(linewidth=2.2, foreground=(0, 0, 0, 0.4)), patheffects.Normal()]
    shown = [c for c in diagram.boundaries if c.direction <= diagram.capacity]  # never beyond the embedding
    for i, curve in enumerate(shown):  # a dark outline keeps them visible on yellow and in the legend
        ax.plot(curve.x, curve.y, color="white", lw=0.9, ls="--", path_effects=outline,
                label=r"threshold $\gamma^*_k$ of direction $k$" if i == 0 else None)
    if borders:  # the exact phase borders: direction 1 dies (complete) and direction capacity dies (dimensional)
        for i, curve in enumerate(borders):
            ax.plot(curve.x, curve.y, color="black", lw=2.0, label="phase border" if i == 0 else None)
    elif diagram.phase.min() != diagram.phase.max():
        ax.contour(diagram.x_values, diagram.y_values, diagram.phase, levels=[0.5, 1.5], colors="black",
                   linewidths=2.0)
        ax.plot([], [], color="black", lw=2.0, label="phase border")
    px, py = diagram.point
    inside = diagram.x_values[0] <= px <= diagram.x_values[-1] and diagram.y_values[0] <= py <= diagram.y_values[-1]
    if mark_point and inside:  # not clipped: a point on the frame stays whole
        ax.plot([px], [py], marker="*", ms=15, color="#ff2d55", mec="white", mew=1.2, ls="", clip_on=False,
                label="this spec", zorder=5)
    ax.set_xlim(diagram.x_values[0], diagram.x_values[-1])
    ax.set_ylim(diagram.y_values[0], diagram.y_values[-1])
    ax.set_xlabel(KNOBS[diagram.x.name].label)
    ax.set_ylabel(KNOBS[diagram.y.name].label)
    return mesh


def plot_phase_diagram(diagram: PhaseDiagram, path: str | Path, title: str | None = None,
                       mark_point: bool = True) -> Path:
    """Write the figure (`draw_phase_diagram`, a colour bar, a title and the legend below the axes; format from
    `path`'s extension: png, pdf or svg, else UserError) and return its path."""
    F.check_format(path)
    fig, (ax,) = F.figure(width=6.4, height=5.4)
    mesh = draw_phase_diagram(ax, diagram, mark_point)
    bar = fig.colorbar(mesh, ax=ax, ticks=F.integer_ticks())  # 33 levels: thinned labels
    bar.set_label("predicted rank of the representation")
    spec = {k: str(v).replace("_", " ") for k, v in json.loads(diagram.spec).items()}  # no underscores in a title
    if title and "$" not in title:  # a caller's plain-text title (e.g. `sslscape phase`): the same rule
        title = title.replace("_", " ")
    ax.set_title(title or f"{spec['objective']} ({spec['similarity']}, {spec['protocol']}), depth {spec['depth']}"
                 "\nblack: phase borders (complete | dimensional | none)", fontsize=10)
    if ax.get_legend_handles_labels()[0]:  # below the axes: it never hides the grid or the point
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, fontsize=8, facecolor="0.8")
    return F.save(fig, path)
