"""`advise` (sslscape.theory.advise): the intervals it returns end at the default order's critical values
(quartic, learned point, per-direction), `predict` (default order) gives the requested rank inside them and not
just outside, and impossible requests say why."""

from __future__ import annotations

import numpy as np
import pytest

from sslscape.errors import UserError
from sslscape.knobs import KNOBS as KNOB_ROWS
from sslscape.spec import parse_spec
from sslscape.theory import predict
from sslscape.theory.advise import advise, advise_region

COV = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5]
NOISE = [1.0, 0.8, 0.6, 0.4, 0.3, 0.2]
SPECS = {
    "spectral": {"objective": "spectral", "weight_decay": 1.0},
    "spectral-bias-mean": {"objective": "spectral", "weight_decay": 1.0, "bias": True,
                           "data": {"cov": COV, "mean": [1.0, 0, 0, 0, 0, 0]}},
    "infonce-dot-aug": {"objective": "infonce", "weight_decay": 0.5, "temperature": 0.7, "batch_size": 256},
    "infonce-dot-clean": {"objective": "infonce", "protocol": "clean_negatives", "weight_decay": 0.5},
    "infonce-euc-aug": {"objective": "infonce", "similarity": "euclidean", "weight_decay": 0.5},
    "infonce-euc-clean": {"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives",
                          "weight_decay": 0.3, "batch_size": 128},
    "barlow-raw-lam1": {"objective": "barlow", "barlow_lambda": 1.0, "weight_decay": 1.0},
    "spectral-depth2": {"objective": "spectral", "depth": 2, "weight_decay": 0.3},
}
KNOBS = {"spectral": ["weight_decay", "batch_size"], "spectral-bias-mean": ["weight_decay"],
         "infonce-dot-aug": ["weight_decay", "temperature", "batch_size", "noise_scale"],
         "infonce-dot-clean": ["weight_decay", "temperature"], "infonce-euc-aug": ["weight_decay"],
         "infonce-euc-clean": ["weight_decay", "noise_scale", "temperature", "batch_size"],
         "barlow-raw-lam1": ["weight_decay"], "spectral-depth2": ["weight_decay"]}
CASES = [(name, knob) for name, knobs in KNOBS.items() for knob in knobs]
# depth ≥ 2: the default order answers from the trainer's start (docs/theory.md §6.1) and `advise` scans it; the
# closed-form critical values are the quartic order's (its global minimum)
ORDER = {"spectral-depth2": "quartic"}


def spec_of(name: str):
    raw = {"data": {"cov": COV}, "augmentation": {"noise_cov": NOISE}, "embed_dim": 6, **SPECS[name]}
    return parse_spec(raw)


def rank_at(spec, knob: str, value: float, order: str = "auto") -> int:
    v = int(round(value)) if knob == "batch_size" else float(value)
    return predict(spec.with_updates(**{KNOB_ROWS[knob].field: v}), order).alive


@pytest.mark.parametrize("name, knob", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_intervals_end_at_the_thresholds_and_hold_the_rank(name, knob):
    spec, order = spec_of(name), ORDER.get(name, "auto")
    pred = predict(spec, order)
    for keep in range(pred.capacity + 1):
        adv = advise(spec, keep, knob, order=order)
        if adv.interval is None:
            continue
        assert adv.method == "thresholds"
        for lo, hi in adv.intervals:
            ends = [e for e in (lo, hi) if e is not None and e > (2.0 if knob == "batch_size" else 0.0)]
            for e in ends:  # every finite end is a closed-form critical value
                assert min(abs(e - c) for c in adv.critical_values) <= 1e-9 * max(1.0, e)
            inside = [lo + f * ((hi if hi is not None else 3 * lo + 1) - lo) for f in (0.05, 0.5, 0.95)]
            if knob == "batch_size":
                inside = sorted({max(int(np.ceil(lo + 1e-9)), 2), int((lo + (hi or 4 * lo)) // 2)})
                inside = [v for v in inside if hi is None or v < hi]
            for v in inside:
                assert rank_at(spec, knob, v, order) == keep, (keep, lo, hi, v)
            if hi is not None and knob != "batch_size":
                assert rank_at(spec, knob, hi * (1 + 1e-6), order) != keep  # just past the critical value


def test_at_least_is_the_union_of_intervals_with_rank_at_least_k():
    spec = spec_of("spectral")
    adv = advise(spec, 3, "weight_decay", at_least=True)
    assert adv.interval == (0.0, 4.0)  # 2c_k > γ: the third largest 2c is 4
    assert all(rank_at(spec, "weight_decay", v) >= 3 for v in (0.0, 1.0, 3.99))
    assert rank_at(spec, "weight_decay", 4.0) == 2


@pytest.mark.parametrize("knob, needle", [("noise_scale", "augmentation never changes the rank"),
                                          ("temperature", "infonce")])
def test_impossible_requests_say_why(knob, needle):
    spec = parse_spec({"objective": "infonce" if knob == "noise_scale" else "spectral", "data": {"cov": COV},
                       "augmentation": {"noise_cov": NOISE}, "weight_decay": 0.5})
    adv = advise(spec, 2, knob)
    assert adv.interval is None and not adv.possible
    assert needle in adv.reason or "has no temperature" in adv.reason


def test_more_directions_than_the_embedding_holds():
    adv = advise(parse_spec({"objective": "spectral", "data": {"cov": COV}, "embed_dim": 3}), 4)
    assert adv.interval is None and "at most 3" in adv.reason


def test_directions_that_die_together_cannot_be_kept_one_at_a_time():
    adv = advise(parse_spec({"objective": "spectral", "data": {"cov": [2.0, 2.0, 1.0]}}), 1)
    assert adv.interval is None and "die together" in adv.reason


def test_without_closed_form_the_knob_is_scanned_and_predict_agrees():
    spec = parse_spec({"objective": "barlow", "barlow_lambda": 0.3, "data": {"cov": [3.0, 1.0]},
                       "weight_decay": 0.5})
    adv = advise(spec, 1, "weight_decay", budget=10)
    assert adv.method == "scan" and adv.interval is not None
    lo, hi = adv.interval
    assert rank_at(spec, "weight_decay", lo + 0.5 * ((hi or 2 * lo + 1) - lo)) == 1


def test_region_bounds_hold_the_rank():
    spec = spec_of("infonce-euc-clean")
    region = advise_region(spec, 3, ("weight_decay", "noise_scale"), n=24)
    assert any(lo is not None for lo in region.y_lo)
    for x, lo in zip(region.x, region.y_lo, strict=True):
        if lo is not None:
            s = spec.with_updates(weight_decay=x, **{"augmentation.noise_scale": lo})
            assert predict(s).rank == 3


def test_bad_requests_are_user_errors():
    spec = spec_of("spectral")
    with pytest.raises(UserError, match="unknown knob"):
        advise(spec, 2, "learning_rate")
    with pytest.raises(UserError, match="--keep"):
        advise(spec, -1)
    with pytest.raises(UserError, match="two different"):
        advise_region(spec, 2, ("weight_decay", "weight_decay"))


# ---- the learned point (finite-batch dot InfoNCE with a large p̄) and the per-direction closed form ----------------
LP = {"objective": "infonce", "data": {"cov": [4.0, 4.0, 4.0, 0.12]}, "augmentation": {"noise_cov": [0.01] * 4},
      "weight_decay": 0.1, "batch_size": 16}


def test_learned_point_weight_decay_interval_ends_where_the_default_rank_changes_not_the_quartic():
    """The quartic keeps the weak direction up to γ = (1 − 1/N)·0.12 = 0.1125; at the learned point p̄ ≈ 0.35 kills
    it above the self-consistent γ* ≈ 0.078: advise's interval must end there, with predict agreeing on both
    sides (the interval is the default order's, not the quartic's)."""
    spec = parse_spec(LP)
    assert predict(spec).order == "learned_point" and predict(spec).rank == 3
    assert predict(spec, "quartic").rank == 4
    adv = advise(spec, 4, "weight_decay")
    assert adv.method == "thresholds" and adv.order == "learned_point"
    lo, hi = adv.interval
    assert lo == 0.0 and 0.06 < hi < 0.1  # below the spec's γ and well below the quartic's 0.1125
    assert min(abs(hi - c) for c in adv.critical_values) <= 1e-12 * hi
    for v in (0.3 * hi, 0.9 * hi, hi * (1 - 1e-5)):
        assert rank_at(spec, "weight_decay", v) == 4
    assert rank_at(spec, "weight_decay", hi * (1 + 1e-5)) == 3
    # the local value printed by predict (p̄_{−k} frozen at the spec's γ) is within a few percent of it
    local = min(predict(spec).thresholds.critical_weight_decay)
    assert abs(local - hi) < 0.05 * hi


def test_learned_point_noise_interval_starts_where_noise_revives_the_direction():
    spec = parse_spec(LP)
    adv = advise(spec, 4, "noise_scale")
    assert adv.method == "thresholds" and adv.interval is not None
    lo, hi = adv.interval
    assert lo > 1.0 and hi is None  # the spec's noise (scale 1) is too weak: move it up
    assert rank_at(spec, "noise_scale", lo * (1 + 1e-5)) == 4 and rank_at(spec, "noise_scale", 3 * lo) == 4
    assert rank_at(spec, "noise_scale", lo * (1 - 1e-5)) == 3


def test_per_direction_weight_decay_intervals_are_the_escape_thresholds():
    """Dot SimSiam from the trainer's balanced start: direction k escapes iff γ < γ*_k = λ_k/2."""
    spec = parse_spec({"objective": "simsiam", "data": {"cov": COV}, "weight_decay": 1.0})
    for keep in range(len(COV) + 1):
        adv = advise(spec, keep, "weight_decay")
        assert adv.method == "thresholds" and adv.interval is not None
        lo, hi = adv.interval
        for e in (lo, hi):
            if e:
                assert min(abs(e - c / 2) for c in COV) <= 1e-12
        for v in (lo + 0.05 * ((hi or lo + 1) - lo), lo + 0.95 * ((hi or lo + 1) - lo)):
            assert rank_at(spec, "weight_decay", v) == keep
    cosine = advise(parse_spec({"objective": "simsiam", "similarity": "cosine", "data": {"cov": COV},
                                "weight_decay": 0.1}), 3, "weight_decay")
    assert cosine.interval is None and "rescales the time" in cosine.reason


def test_cosine_infonce_weight_decay_never_acts_but_the_temperature_is_scanned():
    spec = parse_spec({"objective": "infonce", "similarity": "cosine", "temperature": 0.5, "weight_decay": 0.01,
                       "data": {"cov": [4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]},
                       "augmentation": {"noise_cov": [0.5] * 8}})
    adv = advise(spec, 5, "weight_decay")
    assert adv.interval is None and "InfoNCE with cosine similarity is scale-invariant" in adv.reason
    adv = advise(spec, 5, "temperature", budget=24)  # ρ_c rises with τ: fewer directions at a higher temperature
    assert adv.method == "scan" and adv.interval is not None and adv.interval[0] > 0.5
    assert rank_at(spec, "temperature", adv.interval[0] * 1.05) == 5
