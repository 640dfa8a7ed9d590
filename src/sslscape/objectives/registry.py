"""The objectives sslscape knows — one row each; the spec, the theory, the monitor, the explorer and the collapse
signatures all read this table (torch-free: importing it costs nothing).

Each row names the objective, its exact sample loss (`objectives/<module>.py`, function `loss`), and what the rest of
the project needs to know about it without importing torch:

    predictive          SimSiam / BYOL: a predictor and a stop-gradient, no loss whose minimum is the learned state
    temperature         the loss has a temperature τ (InfoNCE, NT-Xent)
    stackable           the loss accepts stacked (n_batches, n, d) embeddings (the exact solver batches them)
    similarities        the similarities it can use (its first one is the default)
    scale_invariant_*   similarities / normalisations that make the loss scale-invariant (no expansion at W = 0,
                        weight decay only rescales time)
    reference           the paper (author, year, arXiv id)

To add an objective: its loss module `objectives/<name>.py` and one `Objective` row here (docs/spec.md says which
spec fields it reads); a theory module only if it has a closed form (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True, kw_only=True)
class Objective:
    """One objective (module docstring)."""

    name: str
    title: str
    module: str
    loss: str
    reference: str
    predictive: bool = False
    temperature: bool = False
    stackable: bool = False
    similarities: tuple[str, ...] = ("dot",)
    scale_invariant_similarities: tuple[str, ...] = ()
    scale_invariant_normalizations: tuple[str, ...] = ("l2", "batch")

    def scale_invariant(self, similarity: str, normalization: str) -> bool:
        """True when the loss does not change as W is rescaled (a normalisation, or cosine similarity)."""
        return normalization in self.scale_invariant_normalizations or similarity in self.scale_invariant_similarities


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective(name="infonce", title="InfoNCE (CLIP form)", module="infonce", loss="infonce_loss",
              reference="Oord et al. 2018, arXiv:1807.03748; CLIP form Radford et al. 2021", temperature=True,
              stackable=True, similarities=("dot", "cosine", "euclidean"), scale_invariant_similarities=("cosine",)),
    Objective(name="ntxent", title="NT-Xent (SimCLR)", module="ntxent", loss="ntxent_loss",
              reference="Chen et al. 2020, arXiv:2002.05709, Eq. 1", temperature=True, stackable=True,
              similarities=("cosine", "dot"), scale_invariant_similarities=("cosine",)),
    Objective(name="spectral", title="spectral contrastive loss", module="spectral", loss="spectral_loss",
              reference="HaoChen et al. 2021, arXiv:2106.04156", stackable=True),
    Objective(name="barlow", title="Barlow Twins", module="barlow", loss="barlow_loss",
              reference="Zbontar et al. 2021, arXiv:2103.03230"),
    Objective(name="vicreg", title="VICReg", module="vicreg", loss="vicreg_loss",
              reference="Bardes et al. 2022, arXiv:2105.04906"),
    Objective(name="simsiam", title="SimSiam", module="simsiam", loss="simsiam_loss",
              reference="Chen & He 2021, arXiv:2011.10566", predictive=True,
              similarities=("dot", "cosine", "euclidean"), scale_invariant_normalizations=()),
    Objective(name="byol", title="BYOL", module="byol", loss="byol_loss",
              reference="Grill et al. 2020, arXiv:2006.07733", predictive=True,
              similarities=("dot", "cosine", "euclidean"), scale_invariant_normalizations=()),
)}
NAMES: tuple[str, ...] = tuple(OBJECTIVES)
PREDICTIVE: tuple[str, ...] = tuple(n for n, o in OBJECTIVES.items() if o.predictive)
STACKABLE: tuple[str, ...] = tuple(n for n, o in OBJECTIVES.items() if o.stackable)
WITH_TEMPERATURE: tuple[str, ...] = tuple(n for n, o in OBJECTIVES.items() if o.temperature)


def objective(name: str) -> Objective:
    """The row named `name`; UserError (one line, the valid names) otherwise."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise UserError(f"unknown objective {name!r}; use one of {', '.join(NAMES)}") from None


__all__ = ["NAMES", "OBJECTIVES", "PREDICTIVE", "STACKABLE", "WITH_TEMPERATURE", "Objective", "objective"]
