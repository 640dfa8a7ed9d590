"""Theory for a projector on your own backbone: feature moments under your augmentation → predicted rank.

    .venv/bin/python examples/projector_theory.py          (digits, a random-init MLP; about 10 s)

Replace `backbone`, `images` and `augment` with yours (docs/projector.md).
"""

from __future__ import annotations

import torch

from sslscape.augment import PipelineAugment, parse_pipeline
from sslscape.moments import feature_moments, load_images
from sslscape.projector import predict_projector
from sslscape.training.models import build_backbone

x, side, _ = load_images("digits")  # (1797, 64) in [0, 1]
images = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, side, side)
backbone = build_backbone("mlp", (1, side, side), hidden=(256, 256))  # any nn.Module or callable
augment = PipelineAugment(parse_pipeline("flip+shift:1+noise:0.05"))  # any callable: batch -> one random view

fm = feature_moments(backbone, images, augment, pairs=4)
print(f"features: {fm.dim}-d; top eigenvalues of A {fm.eigenvalues[:4].round(4)}; noise floor {fm.noise_floor:.2g} "
      f"({fm.dim - fm.below_floor} resolved)")
gammas = [1.9 * v for v in fm.eigenvalues[[0, 2, 5]]]  # spectral: direction k survives iff γ < 2 a_k
for p in predict_projector(fm, "spectral", gammas, embed_dim=64):
    print(f"weight decay {p.weight_decay:.3g}: predicted projector rank {p.rank} of {p.max_rank} ({p.phase})"
          + ("  [beyond the resolved directions]" if p.uncertain else ""))
