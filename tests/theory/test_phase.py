"""The vectorised phase diagram equals pointwise `predict` on a grid, for every objective with a closed form; a
diagram's cells are always the answers of the order asked for (default auto, as `predict`): with a finite batch, dot
InfoNCE's default is the learned point, solved cell by cell; `order='quartic'` gives its vectorised W = 0 diagram."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.errors import UserError
from sslscape.spec import parse_spec
from sslscape.theory import predict
from sslscape.theory.phase import Axis, phase_diagram

COV = [4.0, 3.0, 2.0, 1.2, 0.6]
NOISE = [1.0, 0.6, 0.9, 0.3, 0.5]
CASES = {
    "spectral": ({"objective": "spectral"}, ("weight_decay", 0.05, 9.0), ("noise_scale", 0.0, 3.0)),
    "spectral-finite-batch": ({"objective": "spectral", "batch_size": 64}, ("weight_decay", 0.05, 9.0),
                              ("batch_size", 8, 512)),
    "infonce-dot-aug": ({"objective": "infonce", "temperature": 0.5, "batch_size": 128},
                        ("weight_decay", 0.05, 9.0), ("temperature", 0.2, 2.0)),
    "infonce-dot-clean": ({"objective": "infonce", "protocol": "clean_negatives"}, ("weight_decay", 0.05, 5.0),
                          ("batch_size", 4, 256)),
    "infonce-euc-aug": ({"objective": "infonce", "similarity": "euclidean"}, ("weight_decay", 0.05, 5.0),
                        ("noise_scale", 0.0, 4.0)),
    "infonce-euc-clean": ({"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives",
                           "batch_size": 32}, ("noise_scale", 0.0, 8.0), ("weight_decay", 0.05, 4.0)),
    "barlow-raw-lam1": ({"objective": "barlow", "barlow_lambda": 1.0}, ("weight_decay", 0.05, 9.0),
                        ("noise_scale", 0.0, 3.0)),
    "spectral-depth2": ({"objective": "spectral", "depth": 2}, ("weight_decay", 0.02, 3.0),
                        ("noise_scale", 0.0, 3.0)),
    "infonce-dot-depth3": ({"objective": "infonce", "depth": 3, "batch_size": 256}, ("weight_decay", 0.01, 1.0),
                           ("temperature", 0.3, 2.0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_vectorised_grid_equals_pointwise_predict(name):
    raw, (xn, xlo, xhi), (yn, ylo, yhi) = CASES[name]
    spec = parse_spec({"data": {"cov": COV}, "augmentation": {"noise_cov": NOISE}, "embed_dim": 4, **raw})
    diagram = phase_diagram(spec, Axis(xn, xlo, xhi, 7), Axis(yn, ylo, yhi, 6), order="quartic")
    assert diagram.method == "vectorised" and diagram.solver == "quartic_closed_form"
    field = {"noise_scale": "augmentation.noise_scale"}
    for i, yv in enumerate(diagram.y_values):
        for j, xv in enumerate(diagram.x_values):
            cast = lambda n, v: int(v) if n == "batch_size" else float(v)  # noqa: E731
            point = spec.with_updates(**{field.get(xn, xn): cast(xn, xv), field.get(yn, yn): cast(yn, yv)})
            assert diagram.alive[i, j] == predict(point, "quartic").alive, (name, xv, yv)
    assert set(np.unique(diagram.phase)) <= {0, 1, 2}


def test_threshold_curves_stop_at_the_embedding_width():
    spec = parse_spec({"objective": "spectral", "data": {"cov": COV}, "augmentation": {"noise_cov": NOISE},
                       "embed_dim": 2})
    diagram = phase_diagram(spec, Axis("weight_decay", 0.0, 9.0, 8), Axis("noise_scale", 0.0, 2.0, 8))
    assert [c.direction for c in diagram.boundaries] == [1, 2] and diagram.method == "vectorised"
    assert diagram.point == (0.0, 1.0)


@pytest.mark.parametrize("objective, similarity", [("simsiam", "dot"), ("byol", "cosine")])
def test_predictive_cells_use_the_per_direction_closed_form(objective, similarity):
    """SimSiam/BYOL have no quartic landscape: each cell is the default order's per-direction closed form (docs
    §7), equal to `predict(point)` — never the exact integrator — so a 64-cell diagram takes well under a second."""
    spec = parse_spec({"objective": objective, "similarity": similarity, "data": {"cov": COV},
                       "augmentation": {"noise_cov": NOISE}, "weight_decay": 0.3, "embed_dim": 3})
    x, y = Axis("weight_decay", 0.05, 3.0, 8), Axis("noise_scale", 0.0, 3.0, 8)
    diagram = phase_diagram(spec, x, y)
    assert diagram.method == "pointwise" and diagram.order == "per_direction" and diagram.solver == "stop_gradient"
    for i, j in [(0, 0), (3, 5), (7, 7), (5, 2)]:
        point = spec.with_updates(weight_decay=float(x.values()[j]),
                                  **{"augmentation.noise_scale": float(y.values()[i])})
        pred = predict(point)
        assert pred.order == "per_direction" and diagram.alive[i, j] == pred.alive
    if similarity == "dot":  # γ*_k decides: the count falls along the weight-decay axis
        assert diagram.alive[0, 0] > diagram.alive[0, -1]


def test_the_default_diagram_is_predicts_answer_cell_by_cell():
    """Finite-batch dot InfoNCE: the default order's cells are the learned point's (each = `predict(cell)`), solved
    one by one within the quadrature cost class's cell limit; `order='quartic'` gives the vectorised W = 0 diagram
    (the two can differ where p̄ kills a weak direction); without a batch size the default is vectorised."""
    base = {"objective": "infonce", "data": {"cov": COV}, "augmentation": {"noise_cov": NOISE}, "weight_decay": 0.3}
    x, y = Axis("weight_decay", 0.05, 3.0, 4), Axis("noise_scale", 0.0, 3.0, 3)
    spec = parse_spec({**base, "batch_size": 64})
    finite = phase_diagram(spec, x, y)
    assert (finite.method, finite.solver, finite.order) == ("pointwise", "learned_point_dot", "learned_point")
    for i, j in [(0, 0), (1, 2), (2, 3)]:
        cell = spec.with_updates(weight_decay=float(x.values()[j]),
                                 **{"augmentation.noise_scale": float(y.values()[i])})
        assert finite.alive[i, j] == predict(cell).alive
    quartic = phase_diagram(spec, x, y, order="quartic")
    assert quartic.method == "vectorised" and quartic.to_dict()["order"] == "quartic"
    assert phase_diagram(parse_spec(base), x, y).method == "vectorised"
    with pytest.raises(UserError, match="at most 1024 cells.*--order quartic"):
        phase_diagram(spec, Axis("weight_decay", 0.05, 3.0, 64), Axis("noise_scale", 0.0, 3.0, 64))
