"""One theory, one answer: every entry point that predicts asks the same solver table with the same default order
(`sslscape.theory.solvers`), so one spec gets one answer everywhere — `predict` (library and CLI), a phase diagram's
cell at the spec's own point, `advise` at the spec's own value, the explorer's static data, `diagnose --spec`'s
comparison, the collapse monitor's expectation, the projector's prediction, `compare` and the experiments.

The grid covers every objective and the fields that change which solver answers (batch size, similarity,
normalisation, protocol, depth, bias). Numerical rows are planned but not solved here (their cost is the point of
the budget, tested in tests/theory and tests/cli); every other answer is a closed form or a quadrature (< 0.3 s).
Ranks compared: `rank` (the collapse rule's cut, what a run is compared with) where an entry point reports a rank to
compare with a measurement, `alive` (the theory's count) where it partitions a knob (phase cells, advise).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sslscape.cli import main
from sslscape.compare import compare_embeddings
from sslscape.diagnostics.diagnosis import diagnose
from sslscape.expectation import theory_expectation
from sslscape.experiments._theory import theory_point
from sslscape.moments import AugmentationMoments, moments_of
from sslscape.projector import prediction_of
from sslscape.report import explorer as E
from sslscape.spec import parse_spec
from sslscape.theory import plan, predict
from sslscape.theory.advise import advise
from sslscape.theory.phase import Axis, phase_diagram

COV = [4.0, 2.0, 1.0, 0.5, 0.25]
NOISE = [0.5, 0.4, 0.3, 0.2, 0.1]
BASE = {"data": {"cov": COV}, "augmentation": {"noise_cov": NOISE}, "weight_decay": 0.3, "temperature": 0.5}
GRID = {  # name: (spec fields, the solver the table picks)
    "spectral": ({"objective": "spectral"}, "quartic_closed_form"),
    "spectral-bias": ({"objective": "spectral", "bias": True, "data": {"cov": COV, "mean": [0.4, 0, 0, 0, 0]}},
                      "quartic_closed_form"),
    "spectral-depth2": ({"objective": "spectral", "depth": 2}, "deep_start"),
    "infonce-dot": ({"objective": "infonce"}, "quartic_closed_form"),
    "infonce-dot-batch": ({"objective": "infonce", "batch_size": 64}, "learned_point_dot"),
    "infonce-dot-clean-batch": ({"objective": "infonce", "protocol": "clean_negatives", "batch_size": 64},
                                "learned_point_dot"),
    "infonce-euclidean": ({"objective": "infonce", "similarity": "euclidean"}, "quartic_closed_form"),
    "infonce-cosine": ({"objective": "infonce", "similarity": "cosine", "batch_size": 64}, "learned_point_cosine"),
    "infonce-l2": ({"objective": "infonce", "normalization": "l2", "batch_size": 64}, "exact_lbfgs"),
    "ntxent-cosine": ({"objective": "ntxent", "batch_size": 32}, "learned_point_ntxent_cosine"),
    "barlow-raw": ({"objective": "barlow", "barlow_lambda": 1.0}, "quartic_closed_form"),
    "barlow-standardised": ({"objective": "barlow", "normalization": "batch"}, "population"),
    "vicreg": ({"objective": "vicreg"}, "population"),
    "vicreg-clean": ({"objective": "vicreg", "protocol": "clean_negatives"}, "exact_lbfgs"),
    "simsiam-dot": ({"objective": "simsiam"}, "stop_gradient"),
    "simsiam-cosine": ({"objective": "simsiam", "similarity": "cosine"}, "stop_gradient"),
    "byol-dot": ({"objective": "byol"}, "stop_gradient_ema"),
    "byol-cosine": ({"objective": "byol", "similarity": "cosine"}, "stop_gradient"),
    "simsiam-euclidean": ({"objective": "simsiam", "similarity": "euclidean"}, "exact_dynamics"),
}


def _spec(name: str):
    fields, _ = GRID[name]
    return parse_spec({**BASE, **fields})


def _moments(spec) -> AugmentationMoments:
    """The spec's own moments as the feature moments a projector is predicted on (A = C, B = C + S, exact)."""
    m = moments_of(spec)
    a, b = m.cov, m.cov + m.noise_cov
    return AugmentationMoments(dataset="spec", pipeline="noise", n_images=1, dim=m.dim, method="exact",
                               mean=m.mean, cross_cov=a, view_cov=b, noise_floor=0.0,
                               eigenvalues=np.sort(np.linalg.eigvalsh(a))[::-1], below_floor=0)


@pytest.mark.parametrize("name", list(GRID))
def test_every_entry_point_gives_the_same_answer(name: str, tmp_path: Path, capsys) -> None:
    spec = _spec(name)
    chosen = plan(spec)
    assert chosen.solver == GRID[name][1], chosen  # the table's choice, written once
    if chosen.numerical:  # planned identically everywhere; solving it is the budgeted path's test
        own = next(c for c in E.combos(spec, _own_stops(spec)) if c["key"] == E._combo_key(spec))
        assert (own["mode"], own["solver"]) == ("serve", chosen.solver)
        return
    pred = predict(spec)
    answers = {"predict": (pred.rank, pred.solver)}

    # the command line, as a user runs it
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(path), "--json"])
    assert exc.value.code == 0
    cli = json.loads(capsys.readouterr().out)
    answers["cli predict"] = (cli["rank"], cli["solver"])

    # a phase diagram's cell at the spec's own point, and advise at the spec's own value (the theory's count)
    gamma, s = spec.weight_decay, spec.augmentation.noise_scale
    diagram = phase_diagram(spec, Axis("weight_decay", gamma, gamma + 1.0, 2), Axis("noise_scale", s, s + 1.0, 2))
    assert diagram.alive[0, 0] == pred.alive and pred.solver in diagram.solver.split("+")
    adv = advise(spec, pred.capacity + 1)  # beyond the capacity: answered at once, with the spec's own count
    assert (adv.current_alive, adv.solver, adv.method) == (pred.alive, pred.solver, "bound")

    # the explorer's static data at the spec's setting
    stops = _own_stops(spec)
    own = next(c for c in E.combos(spec, stops) if c["key"] == E._combo_key(spec))
    assert own["solver"] == pred.solver and own["mode"] in ("grid", "lines")
    if own["mode"] == "grid":
        g = E.combo_grid(spec, stops)
        assert int(g.alive[(0,) * 5]) == pred.alive
    else:
        home = E.combo_lines(spec, stops)["home"]
        answers["explorer"] = (home["rank"], home["solver"])

    # diagnose --spec (embeddings whose spectrum is the predicted one), the monitor, the projector, the experiments
    z = np.random.default_rng(0).standard_normal((4000, len(pred.spectrum))) * np.sqrt(pred.spectrum)
    comparison = compare_embeddings(diagnose(z), predict(spec))
    answers["diagnose --spec"] = (comparison.predicted_rank, comparison.solver)
    exp = theory_expectation(spec)
    answers["monitor"] = (exp.rank, exp.solver)
    proj = prediction_of(spec, _moments(spec))
    answers["projector"] = (proj.rank, proj.solver)
    point = theory_point(spec)
    answers["experiments"] = (point["rank"], point["solver"])
    assert len(set(answers.values())) == 1, answers


def _own_stops(spec) -> E.Stops:
    """One stop per slider: the spec's own setting (and the explorer's embedding size)."""
    d = spec.embed_dim or len(COV) + int(spec.bias)
    return E.Stops(weight_decay=(spec.weight_decay,), noise_scale=(spec.augmentation.noise_scale,),
                   temperature=(spec.temperature,), batch_size=(spec.batch_size,), embed_dim=(d,))


def test_compare_predicts_with_the_table() -> None:
    """`compare` asks the same table (one seed, a few steps: the prediction is what is checked here)."""
    from sslscape.compare import compare_training

    spec = _spec("infonce-dot-batch")
    pred = predict(spec)
    res = compare_training(spec, seeds=1, steps=5)
    assert (res.predicted_rank, res.solver, res.order) == (pred.rank, pred.solver, pred.order)
