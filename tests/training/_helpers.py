"""Small specs and configs that train in well under a second."""

from __future__ import annotations

from sslscape.training import parse_config

COV8 = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]


def small_config(**over):
    raw = {"spec": {"objective": "spectral", "data": {"cov": COV8}, "augmentation": {"noise_cov": [0.5] * 8},
                    "weight_decay": 0.3},
           "schedule": {"steps": 40, "batch_size": 64, "lr": 1e-2, "log_every": 10, "checkpoint_every": 20},
           "data": {"eval_size": 64}, "device": "cpu"}
    for key, value in over.items():
        node = raw
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return parse_config(raw)
