"""Projector theory on a real backbone, Fashion-MNIST (issue 12, item 2): predicted vs trained projector rank.

    .venv/bin/python benchmarks/projector_fmnist.py [--out out/projector_fmnist] [--quick]

1. Backbone: the built-in MLP (784 → 512 → 512, Linear-BN-ReLU; `sslscape.training.models.MLPBackbone`)
   (a) at random init, (b) after SimCLR pretraining (`sslscape train configs/simclr_fmnist_mlp.yaml`: InfoNCE,
   cosine, τ = 0.5, 1,000 steps; reused from OUT/simclr when it exists), frozen.
2. Feature moments under the run's own augmentation (SimCLR crop/flip/jitter, `ImageAugment`):
   `sslscape.moments.feature_moments` on 10,000 training images, 2 view pairs each (noise floor from the two
   halves). Spec: data.cov = A, augmentation.noise_cov = B − A, centred features (z = W (h − μ)).
3. For the spectral loss and dot-InfoNCE (τ = 0.5, batch 256), a log grid of 9 weight decays spanning the
   critical values of the directions the moments resolve (γ*_1 × 1.6 … γ*_R × 1.15, R ≤ 24; projector d = 32):
   `sslscape.projector.predict_projector` → predicted rank (collapse rule on the predicted spectrum);
   `fit_linear_projector` (Adam, cosine lr to 0, 2,000 steps, batch 256, init 0.1) on 20,000 fresh view pairs
   of the frozen features → trained rank = `projector_rank` (`diagnose`'s collapse rule, with the features'
   variance as reference scale) of z on 4,000 held-out clean images. Agreement: the one rule
   (`sslscape.diagnostics.rank.agreement`).
4. Unfrozen: backbone (random init) + linear projector trained jointly (Adam 1e-3, γ on the projector only,
   1,500 steps; γ = 3 and 15, spectral and InfoNCE); every 100 steps the feature moments are re-measured
   (2,000 images, 2 pairs) and the rank predicted from them is compared with the projector's measured rank.
Writes OUT/projector.json, OUT/projector.md (tables) and OUT/projector.png, OUT/projector_joint.png.
One process, one thread (the machine is shared); ~40 min on a busy 2-core CPU (`--quick`: ~10 min, fewer points).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from sslscape.cli.projector import augment_of
from sslscape.diagnostics.rank import agreement
from sslscape.io import atomic_write_json, atomic_write_text
from sslscape.moments import feature_moments
from sslscape.projector import fit_linear_projector, predict_projector, projector_diagnosis, projector_rank
from sslscape.training.models import build_backbone, load_backbone

TAU, BATCH, EMBED = 0.5, 256, 32
OBJECTIVES = {"spectral": {}, "infonce": {"temperature": TAU, "batch_size": BATCH}}


def images(n_train: int, n_eval: int) -> tuple[torch.Tensor, torch.Tensor]:
    from sslscape.datasets import load_images

    t = torch.as_tensor(load_images("fashion-mnist", samples=n_train + n_eval, seed=0).float32())
    return t[:n_train], t[n_train:]


def pretrain(out: Path, steps: int) -> Path:
    """SimCLR on Fashion-MNIST with the shipped config (steps shortened with --pretrain-steps)."""
    ckpt = out / "simclr" / "checkpoint.pt"
    if ckpt.is_file():
        return ckpt
    from sslscape.training.config import load_config
    from sslscape.training.loop import train

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "simclr_fmnist_mlp.yaml")
    cfg = cfg.model_copy(update={"schedule": cfg.schedule.model_copy(update={"steps": steps}), "device": "cpu"})
    result = train(cfg, out / "simclr")
    print(f"pretrained {steps} steps: kNN {result.knn_accuracy}, loss {result.final_loss:.3f}", flush=True)
    return ckpt


@torch.no_grad()
def view_features(net: torch.nn.Module, x: torch.Tensor, augment, pairs: int, seed: int,
                  batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(h′, h″): features of `pairs` independent view pairs of every image (float32)."""
    gen = torch.Generator().manual_seed(seed)
    net.eval()
    out1, out2 = [], []
    for _ in range(pairs):
        for s in range(0, len(x), batch):
            xb = x[s:s + batch]
            out1.append(net(augment(xb, gen)))
            out2.append(net(augment(xb, gen)))
    return torch.cat(out1), torch.cat(out2)


@torch.no_grad()
def clean_features(net: torch.nn.Module, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    net.eval()
    return torch.cat([net(x[s:s + batch]) for s in range(0, len(x), batch)])


def grid(crit: tuple[float, ...], resolved: int, n: int) -> list[float]:
    """n weight decays, log-spaced from above the top critical value (rank 0) to just above the critical value
    of the last direction the moments resolve (so every predicted rank rests on resolved eigenvalues)."""
    r = max(2, min(resolved, EMBED - 8))
    hi, lo = crit[0] * 1.6, crit[r - 1] * 1.15
    return [float(v) for v in np.geomspace(hi, lo, n)]


def gap(gamma: float, crit: tuple[float, ...]) -> float:
    """Relative distance of γ to the nearest critical value (|log ratio| as a fraction)."""
    c = np.asarray([v for v in crit if v > 0])
    return float(np.min(np.abs(np.log(gamma / c)))) if c.size else float("inf")


def frozen(out: Path, args: argparse.Namespace, x_train: torch.Tensor, x_eval: torch.Tensor,
           ckpt: Path) -> list[dict]:
    rows = []
    for label in ("random init", "SimCLR"):
        if label == "random init":
            net, cfg = build_backbone("mlp", (1, 28, 28), (512, 512), seed=0), None
        else:
            net, cfg = load_backbone(ckpt, (1, 28, 28))
        augment, text = augment_of("simclr", cfg)
        t0 = time.perf_counter()
        fm = feature_moments(net, x_train, augment, pairs=2, batch_size=1000, seed=1, name="fashion-mnist",
                             augment_name=text)
        t_mom = time.perf_counter() - t0
        v1, v2 = view_features(net, x_train, augment, pairs=2, seed=2)
        h_eval = clean_features(net, x_eval)
        mu = torch.as_tensor(fm.mean, dtype=torch.float32)
        print(f"[{label}] moments {t_mom:.1f}s: floor {fm.noise_floor:.3g}, resolved "
              f"{int(np.sum(fm.eigenvalues > fm.noise_floor))} of {fm.dim}; top eig A "
              f"{', '.join(f'{v:.3g}' for v in fm.eigenvalues[:5])}", flush=True)
        for objective, fields in OBJECTIVES.items():
            probe = predict_projector(fm, objective, 0.0, embed_dim=EMBED, **fields)
            gammas = grid(probe.critical_weight_decay, probe.resolved, args.points)
            preds = predict_projector(fm, objective, gammas, embed_dim=EMBED, **fields)
            for gamma, pred in zip(gammas, preds, strict=True):
                t0 = time.perf_counter()
                w = fit_linear_projector(v1, v2, objective=objective, weight_decay=gamma, embed_dim=EMBED, mean=mu,
                                         steps=args.steps, lr=1e-2, batch_size=BATCH,
                                         temperature=fields.get("temperature", 1.0), init_scale=0.1, seed=0)
                diag = projector_diagnosis(w, h_eval, mu)
                trained = projector_rank(w, h_eval, mu)
                rule = agreement(pred.spectrum, trained, predicted_rank_min=pred.rank_range[0],
                                 predicted_rank_max=pred.rank_range[1])
                row = {"backbone": label, "objective": objective, "weight_decay": gamma,
                       "predicted_rank": pred.rank, "alive": pred.alive, "solver": pred.solver,
                       "trained_rank": trained, "agree": rule.agree, "agree_band": rule.agree,
                       "gap": gap(gamma, pred.critical_weight_decay), "uncertain": pred.uncertain,
                       "resolved": pred.resolved, "effective_rank": diag.effective_rank,
                       "critical": list(pred.critical_weight_decay[:40]), "fit_s": time.perf_counter() - t0}
                rows.append(row)
                print(f"  {objective:8s} γ={gamma:.3g}: predicted {pred.rank} (theory {pred.alive}, {pred.solver}) "
                      f"trained "
                      f"{trained} {'✓' if rule.agree else '✗'}  gap {row['gap']:.0%}  ({row['fit_s']:.0f}s)",
                      flush=True)
    return rows


def joint(args: argparse.Namespace, x_train: torch.Tensor, x_eval: torch.Tensor) -> list[dict]:
    """Backbone + linear projector trained together; the prediction from the current moments at every log."""
    from sslscape.augment import ImageAugment, ImageAugmentConfig
    from sslscape.objectives import view_loss
    from sslscape.training.optim import add_l2_grad

    augment = ImageAugment(ImageAugmentConfig())
    x_mom = x_train[: args.joint_images]
    rows = []
    for objective, gamma in args.joint_runs:
        fields = OBJECTIVES[objective]
        net = build_backbone("mlp", (1, 28, 28), (512, 512), seed=0)
        gen = torch.Generator().manual_seed(0)
        w = torch.nn.Parameter(0.1 * torch.randn(EMBED, 512, generator=gen) / math.sqrt(512))
        opt = torch.optim.Adam([*net.parameters(), w], lr=1e-3)
        for step in range(args.joint_steps + 1):
            if step % args.joint_every == 0 and step > 0:  # step 0: the projector is still its random init
                fm = feature_moments(net, x_mom, augment, pairs=2, batch_size=1000, seed=100 + step)
                pred = predict_projector(fm, objective, gamma, embed_dim=EMBED, **fields)
                mu = torch.as_tensor(fm.mean, dtype=torch.float32)
                trained = projector_rank(w.detach(), clean_features(net, x_eval), mu)
                rule = agreement(pred.spectrum, trained, predicted_rank_min=pred.rank_range[0],
                                 predicted_rank_max=pred.rank_range[1])
                rows.append({"objective": objective, "weight_decay": gamma, "step": step, "predicted_rank": pred.rank,
                             "solver": pred.solver, "trained_rank": trained, "agree": rule.agree,
                             "resolved": pred.resolved, "top_critical": pred.critical_weight_decay[:3],
                             "gap": gap(gamma, pred.critical_weight_decay)})
                print(f"  joint {objective} γ={gamma:g} step {step}: predicted {pred.rank} trained {trained} "
                      f"{'✓' if rule.agree else '✗'} (γ*_1..3 = "
                      f"{', '.join(f'{v:.3g}' for v in pred.critical_weight_decay[:3])})", flush=True)
                net.train()
            if step == args.joint_steps:
                break
            idx = torch.randint(len(x_train), (BATCH,), generator=gen)
            xb = x_train[idx]
            h1, h2 = net(augment(xb, gen)), net(augment(xb, gen))
            h1, h2 = h1 - h1.mean(0), h2 - h2.mean(0)  # centred features, as the prediction assumes
            loss = view_loss(objective, h1 @ w.T, h2 @ w.T, temperature=fields.get("temperature", 1.0))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            add_l2_grad([w], gamma)  # γ on the projector: the theory's weight decay
            opt.step()
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| backbone | objective | γ | predicted rank (theory count) | solver | trained rank | "
             "γ to nearest γ* | agree |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lp = r["solver"]
        flag = "yes" if r["agree"] else ("in band" if r["agree_band"] else "**no**")
        lines.append(f"| {r['backbone']} | {r['objective']} | {r['weight_decay']:.3g} | {r['predicted_rank']} "
                     f"({r['alive']}){' ⚠' if r['uncertain'] else ''} | {lp} | {r['trained_rank']} | "
                     f"{r['gap']:.0%} | {flag} |")
    return "\n".join(lines)


def counts(rows: list[dict]) -> str:
    out = []
    for b in ("random init", "SimCLR"):
        for o in OBJECTIVES:
            sel = [r for r in rows if r["backbone"] == b and r["objective"] == o]
            if sel:
                out.append(f"- {b}, {o}: {sum(r['agree'] for r in sel)}/{len(sel)} agree"
                           + (f" ({sum(r['agree_band'] for r in sel)}/{len(sel)} within [learned-point, quartic])"
                              if o == "infonce" else ""))
    total = sum(r["agree"] for r in rows)
    out.append(f"- **all: {total}/{len(rows)}**")
    return "\n".join(out)


def joint_summary(rows: list[dict]) -> str:
    out = []
    for key in dict.fromkeys((r["objective"], r["weight_decay"]) for r in rows):
        sel = [r for r in rows if (r["objective"], r["weight_decay"]) == key]
        late = sel[len(sel) // 2:]
        err = [abs(r["predicted_rank"] - r["trained_rank"]) for r in sel]
        out.append(f"- {key[0]} γ = {key[1]:g}: {sum(r['agree'] for r in sel)}/{len(sel)} logs agree "
                   f"(second half {sum(r['agree'] for r in late)}/{len(late)}); mean |predicted − trained| "
                   f"{np.mean(err):.2f}, max {max(err)}; predicted {[r['predicted_rank'] for r in sel]}, trained "
                   f"{[r['trained_rank'] for r in sel]}")
    return "\n".join(out)


def figures(out: Path, rows: list[dict], jrows: list[dict]) -> None:
    from sslscape.report.figures import figure, legend, log_axis, save, theory_line, trained_markers

    panels = [(b, o) for b in ("random init", "SimCLR") for o in OBJECTIVES]
    fig, axes = figure(2, 2, width=4.6, height=3.5)
    for ax, (b, o) in zip(axes, panels, strict=True):
        sel = [r for r in rows if r["backbone"] == b and r["objective"] == o]
        if not sel:
            continue
        crit = np.asarray(sel[0]["critical"])
        g = np.geomspace(min(r["weight_decay"] for r in sel) / 1.5, max(r["weight_decay"] for r in sel) * 1.5, 400)
        theory_line(ax, g, np.minimum((crit[None, :] > g[:, None]).sum(1), EMBED), 0,
                    r"theory: #$\{\gamma^*_k > \gamma\}$", step=True)
        trained_markers(ax, [r["weight_decay"] for r in sel], [r["predicted_rank"] for r in sel], 1,
                        "predicted (collapse rule)", s=20)
        trained_markers(ax, [r["weight_decay"] for r in sel], [r["trained_rank"] for r in sel], 2,
                        "trained projector", agree=[r["agree"] for r in sel])
        log_axis(ax, "x")
        ax.set_xlabel("weight decay γ")
        ax.set_ylabel("projector rank")
        ax.set_title(f"{b} backbone, {o}", fontsize=9)
        legend(ax, fontsize=7)
    save(fig, out / "projector.png", title="Fashion-MNIST: linear projector on a frozen MLP backbone")
    if jrows:
        keys = list(dict.fromkeys((r["objective"], r["weight_decay"]) for r in jrows))
        cols = min(2, len(keys))
        fig, axes = figure(cols, math.ceil(len(keys) / cols), width=4.6, height=3.3)
        for ax in axes[len(keys):]:
            ax.set_visible(False)
        for ax, key in zip(axes, keys, strict=False):
            sel = [r for r in jrows if (r["objective"], r["weight_decay"]) == key]
            steps = [r["step"] for r in sel]
            theory_line(ax, steps, [r["predicted_rank"] for r in sel], 0, "predicted from current moments",
                        step=True)
            trained_markers(ax, steps, [r["trained_rank"] for r in sel], 2, "trained projector",
                            agree=[r["agree"] for r in sel])
            ax.set_xlabel("step")
            ax.set_ylabel("projector rank")
            ax.set_title(f"joint training, {key[0]}, γ = {key[1]:g}", fontsize=9)
            legend(ax, fontsize=7)
        save(fig, out / "projector_joint.png", title="Unfrozen backbone: prediction from re-measured moments")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/projector_fmnist"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-joint", action="store_true")
    ap.add_argument("--skip-frozen", action="store_true")
    ap.add_argument("--pretrain-steps", type=int, default=1000)
    ap.add_argument("--replot", action="store_true", help="redraw the figures from OUT/projector.json")
    args = ap.parse_args()
    if args.replot:
        saved = json.loads((args.out / "projector.json").read_text())
        figures(args.out, saved["frozen"], saved["joint"])
        return
    torch.set_num_threads(1)
    args.points = 5 if args.quick else 9
    args.steps = 1000 if args.quick else 2000
    args.joint_steps, args.joint_every, args.joint_images = (400, 100, 1000) if args.quick else (1500, 100, 2000)
    args.joint_runs = [("spectral", 5.0)] if args.quick else [("spectral", 3.0), ("spectral", 15.0),
                                                              ("infonce", 3.0), ("infonce", 15.0)]
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_train = 3000 if args.quick else 10000
    x_train, x_eval = images(n_train, 4000)
    ckpt = pretrain(args.out, args.pretrain_steps)
    rows = [] if args.skip_frozen else frozen(args.out, args, x_train, x_eval, ckpt)
    jrows = [] if args.skip_joint else joint(args, x_train, x_eval)
    wall = time.perf_counter() - t0
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (f"Run {date.today()} on {platform.machine()} ({os.cpu_count()} CPU cores, torch {torch.__version__}, "
              f"load average {load:.1f} — other jobs shared the machine), {wall / 60:.1f} min.")
    md = [f"# Projector theory on a real backbone (`benchmarks/projector_fmnist.py`)\n\n{header}\n"]
    if rows:
        md += ["## Frozen backbone: predicted vs trained projector rank\n", counts(rows), "", table(rows), "",
               "⚠: the predicted rank exceeds the directions the Monte-Carlo moments resolve (noise floor).\n"]
    if jrows:
        md += ["## Unfrozen backbone: prediction from the current moments vs the projector's rank\n",
               joint_summary(jrows), ""]
    atomic_write_text(args.out / "projector.md", "\n".join(md) + "\n")
    atomic_write_json(args.out / "projector.json", {"frozen": rows, "joint": jrows, "wall_s": wall, "header": header})
    figures(args.out, rows, jrows)
    print("\n".join(md))
    print(json.dumps({"wall_s": round(wall, 1)}))


if __name__ == "__main__":
    main()
