"""Phase-diagram figure: predicted rank as colour, collapse-phase borders in black, threshold curves in white."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_savefig  # noqa: E402
from ..theory.phase import PhaseDiagram  # noqa: E402

LABELS = {"weight_decay": "weight decay γ", "noise_scale": "augmentation strength (noise scale s)",
          "temperature": "temperature τ", "batch_size": "batch size N"}


def plot_phase_diagram(diagram: PhaseDiagram, path: str | Path, title: str | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 5.0), constrained_layout=True)
    levels = np.arange(-0.5, diagram.max_rank + 1.5)
    cmap = plt.get_cmap("viridis", diagram.max_rank + 1)
    mesh = ax.pcolormesh(diagram.x_values, diagram.y_values, diagram.rank, cmap=cmap, vmin=levels[0],
                         vmax=levels[-1], shading="nearest")
    bar = fig.colorbar(mesh, ax=ax, ticks=range(diagram.max_rank + 1))
    bar.set_label("predicted rank of the representation")
    if diagram.phase.min() != diagram.phase.max():
        ax.contour(diagram.x_values, diagram.y_values, diagram.phase, levels=[0.5, 1.5], colors="black",
                   linewidths=2.0)
    for i, curve in enumerate(diagram.boundaries):
        ax.plot(curve["x"], curve["y"], color="white", lw=0.9, ls="--",
                label="closed-form threshold γ*ₖ" if i == 0 else None)
    ax.set_xlim(diagram.x_values[0], diagram.x_values[-1])
    ax.set_ylim(diagram.y_values[0], diagram.y_values[-1])
    ax.set_xlabel(LABELS.get(diagram.x.name, diagram.x.name))
    ax.set_ylabel(LABELS.get(diagram.y.name, diagram.y.name))
    spec = diagram.spec
    ax.set_title(title or f"{spec['objective']} ({spec['similarity']}, {spec['protocol']}), depth {spec['depth']}"
                 "\nblack: phase borders (complete | dimensional | none)", fontsize=10)
    if diagram.boundaries:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    out = atomic_savefig(path, fig, dpi=130)
    plt.close(fig)
    return out
