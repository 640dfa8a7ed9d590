"""The collapse monitor in your own training loop: a SimSiam step without a predictor collapses, and the monitor
says so in words (about 30 s on a CPU): at step 50, `negative_cosine_collapse`.

    .venv/bin/python examples/monitor_loop.py

The same monitor with a spec (`spec=`) also shows the theory's predicted rank and the weight decay to use
(docs/monitor.md); `figure="monitor.png"` draws a live figure; under DDP it gathers embeddings across ranks.
"""

from __future__ import annotations

import torch
from torch import nn

from sslscape.moments import load_images
from sslscape.monitor import CollapseMonitor
from sslscape.objectives import simsiam_loss

x, _, _ = load_images("digits")
data = torch.as_tensor(x, dtype=torch.float32)
torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 32))
opt = torch.optim.SGD(encoder.parameters(), lr=0.1, momentum=0.9)
monitor = CollapseMonitor("out/examples/monitor.jsonl", every=50, objective="simsiam", say=print)


def view(batch: torch.Tensor) -> torch.Tensor:
    """Half the pixels masked, plus noise: strong enough that agreeing views need a real solution or collapse."""
    return batch * (torch.rand_like(batch) > 0.5) + 0.3 * torch.randn_like(batch)


for step in range(501):
    batch = data[torch.randint(len(data), (256,))]
    z1, z2 = encoder(view(batch)), encoder(view(batch))
    loss = simsiam_loss(z1, z2, z1, z2)  # no predictor: p = z — the collapsing variant
    monitor(z1, step, loss=loss)
    opt.zero_grad()
    loss.backward()
    opt.step()
last = monitor.records[-1]
print(f"step {last['step']}: loss {last['loss']:.4f}, rank {last['rank']} of {last['dim']}, {last['verdict']}")
