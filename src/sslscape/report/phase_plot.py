"""Phase-diagram figure: predicted rank as colour, collapse-phase borders in black, the closed-form threshold
curves in white (only for directions the embedding can hold), and the spec's own point marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..theory.phase import PhaseDiagram
from . import figures as F

LABELS = {"weight_decay": r"weight decay $\gamma$", "noise_scale": r"augmentation strength $s$ (noise scale)",
          "temperature": r"temperature $\tau$", "batch_size": r"batch size $N$"}


def plot_phase_diagram(diagram: PhaseDiagram, path: str | Path, title: str | None = None,
                       mark_point: bool = True) -> Path:
    """Write the figure (format from `path`'s extension: png, pdf or svg) and return its path."""
    from matplotlib import colormaps

    F.check_format(path)
    fig, (ax,) = F.figure(width=6.4, height=5.0)
    levels = np.arange(-0.5, diagram.max_rank + 1.5)
    cmap = colormaps["viridis"].resampled(diagram.max_rank + 1)
    mesh = ax.pcolormesh(diagram.x_values, diagram.y_values, diagram.rank, cmap=cmap, vmin=levels[0],
                         vmax=levels[-1], shading="nearest")
    bar = fig.colorbar(mesh, ax=ax, ticks=range(diagram.max_rank + 1))
    bar.set_label("predicted rank of the representation")
    by_direction = {c["direction"]: c for c in diagram.boundaries}
    borders = [by_direction[k] for k in sorted({1, diagram.max_rank}) if k in by_direction]
    for i, curve in enumerate(diagram.boundaries):
        ax.plot(curve["x"], curve["y"], color="white", lw=0.9, ls="--",
                label=r"threshold $\gamma^*_k$ of direction $k$" if i == 0 else None)
    if borders:  # the exact phase borders: direction 1 dies (complete) and direction max_rank dies (dimensional)
        for i, curve in enumerate(borders):
            ax.plot(curve["x"], curve["y"], color="black", lw=2.0, label="phase border" if i == 0 else None)
    elif diagram.phase.min() != diagram.phase.max():
        ax.contour(diagram.x_values, diagram.y_values, diagram.phase, levels=[0.5, 1.5], colors="black",
                   linewidths=2.0)
    px, py = diagram.point
    inside = diagram.x_values[0] <= px <= diagram.x_values[-1] and diagram.y_values[0] <= py <= diagram.y_values[-1]
    if mark_point and inside:
        ax.plot([px], [py], marker="*", ms=15, color="#ff2d55", mec="white", mew=1.2, ls="", clip_on=False,
                label="this spec", zorder=5)
    ax.set_xlim(diagram.x_values[0], diagram.x_values[-1])
    ax.set_ylim(diagram.y_values[0], diagram.y_values[-1])
    ax.set_xlabel(LABELS.get(diagram.x.name, diagram.x.name))
    ax.set_ylabel(LABELS.get(diagram.y.name, diagram.y.name))
    spec = diagram.spec
    ax.set_title(title or f"{spec['objective']} ({spec['similarity']}, {spec['protocol']}), depth {spec['depth']}"
                 "\nblack: phase borders (complete | dimensional | none)", fontsize=10)
    if diagram.boundaries or (mark_point and inside):
        ax.legend(loc="upper right", fontsize=8, framealpha=0.7)
    return F.save(fig, path)
