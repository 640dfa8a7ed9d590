"""The solver table (sslscape.theory.solvers): every row resolves, `plan` is a lookup that names its reasons, a row
that declines while solving hands over to the next (and the notes say so), an explicit order no row covers is one
`TheoryDeclined` line, and a numerical row is announced with its estimate, reports progress and stops at its
budget."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.errors import UserError
from sslscape.orders import ORDERS, Order, as_order
from sslscape.spec import parse_spec
from sslscape.theory import solvers as S
from sslscape.theory.prediction import TheoryDeclined, Thresholds, capacity_of, make_prediction

SPEC = parse_spec({"objective": "spectral", "data": {"cov": [4.0, 2.0, 1.0]}, "weight_decay": 1.5})


def test_every_row_resolves_and_names_its_order_cost_and_docs() -> None:
    names = [s.name for s in S.SOLVERS]
    assert len(names) == len(set(names)) and set(S.BY_NAME) == set(names)
    for s in S.SOLVERS:
        assert s.order in Order and s.order is not Order.AUTO and s.cost in S.COSTS
        assert s.docs.startswith("docs/theory.md §") and s.summary
        assert (s.estimate is not None) == (s.cost == "numerical"), s.name  # nothing numerical without an estimate
        for fn in (s.covers, s.solve, s.thresholds, s.estimate, s.rank_changes):
            if fn is not None and "." in getattr(fn, "__name__", ""):
                module, func = fn.__name__.split(".")
                assert callable(getattr(__import__(f"sslscape.theory.{module}", fromlist=[func]), func)), fn
    assert set(ORDERS) == {o.value for o in Order}
    with pytest.raises(UserError, match="order must be one of"):
        as_order("sextic")


def test_plan_is_a_lookup_that_says_why() -> None:
    chosen = S.plan(SPEC)
    assert (chosen.solver, chosen.order, chosen.cost) == ("quartic_closed_form", "quartic", "closed_form")
    assert dict(chosen.declined)["learned_point_dot"].startswith("objective spectral")
    exact = S.plan(SPEC, "exact")
    assert exact.solver == "exact_polynomial" and not exact.numerical
    with pytest.raises(TheoryDeclined, match=r"order learned_point does not apply \(learned_point_ntxent_cosine"):
        S.plan(SPEC, "learned_point")
    assert issubclass(TheoryDeclined, UserError)  # one line, exit 2 on the command line


def _row(name: str, answer: int | None) -> S.Solver:
    """A fake row: covers every spec; declines while solving (answer None) or answers `answer` directions."""
    def solve(spec, m, budget):
        if answer is None:
            raise TheoryDeclined("outside my tables")
        spectrum = [1.0] * answer + [0.0] * (3 - answer)
        return make_prediction(spec, alive=answer, spectrum=spectrum, thresholds=Thresholds(),
                               capacity=capacity_of(spec, m), notes=["mine"], embed_dim=3, method=name, loss=None)

    return S.Solver(name=name, order=Order.QUARTIC, summary=f"{name} summary", cost="closed_form",
                    docs="docs/theory.md §0", covers=lambda spec, m: None, solve=solve,
                    thresholds=lambda spec, m: Thresholds())


def test_a_row_that_declines_while_solving_hands_over_and_the_notes_say_so(monkeypatch) -> None:
    monkeypatch.setattr(S, "SOLVERS", (_row("first", None), _row("second", 2)))
    monkeypatch.setattr(S, "BY_NAME", {s.name: s for s in S.SOLVERS})
    pred = S.solve(SPEC)
    assert (pred.solver, pred.order, pred.cost, pred.why, pred.rank) == ("second", "quartic", "closed_form",
                                                                          "second summary", 2)
    assert pred.notes[0].startswith("solver first declined (outside my tables)") and pred.notes[1] == "mine"
    monkeypatch.setattr(S, "SOLVERS", (_row("first", None),))
    with pytest.raises(TheoryDeclined, match="first: outside my tables"):
        S.solve(SPEC, "quartic")


def test_a_numerical_row_is_announced_reports_progress_and_stops_at_its_budget() -> None:
    """A dot-InfoNCE landscape with a data mean and non-commuting C, S has no closed form: the polynomial minimiser
    answers (D = 12, milliseconds per evaluation), said first with its estimate, stopped by a tiny budget."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    spec = parse_spec({"objective": "infonce", "weight_decay": 0.2,
                       "data": {"cov": np.geomspace(4, 0.1, 12).tolist(), "mean": rng.standard_normal(12).tolist()},
                       "augmentation": {"noise_cov": (q @ np.diag(np.geomspace(0.1, 2, 12)) @ q.T).tolist()}})
    chosen = S.plan(spec)
    assert chosen.solver == "quartic_numerical" and chosen.numerical
    assert 0 < S.estimate_seconds(spec, chosen) < 60
    said, seen = [], []
    pred = S.solve(spec, budget=S.Budget(max_seconds=1e-4, progress=lambda a, b: seen.append((a, b)),
                                         say=said.append))
    assert len(said) == 1 and "solving numerically (solver quartic_numerical" in said[0] and ", about " in said[0]
    assert "quartic_closed_form: no closed form" in said[0]  # why the faster row declined
    assert pred.cost == "numerical" and not pred.converged and seen
    assert any("not converged" in n for n in pred.notes)
    assert S.cell_limit(chosen, spec) >= 4
