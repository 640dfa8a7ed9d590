"""The explorer's data: every precomputed value equals what `predict` / `advise` say at that setting; the storage
round-trips; the page is one self-contained file; the live server answers with the theory's own results."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from sslscape.errors import UserError
from sslscape.report import explorer as E
from sslscape.spec import parse_spec
from sslscape.theory.advise import advise
from sslscape.theory.predict import predict

SLIDER_FIELDS = {"noise_scale": "augmentation.noise_scale"}
PHASES = {0: "complete", 1: "dimensional", 2: "none"}


def small_spec(**over):
    raw = {"objective": "infonce", "similarity": "euclidean", "protocol": "clean_negatives",
           "data": {"cov": [3.0, 2.0, 1.0, 0.5]}, "augmentation": {"noise_cov": [0.5, 0.5, 0.5, 0.5]},
           "weight_decay": 0.3, "embed_dim": 4}
    raw.update(over)
    return parse_spec(raw)


def rotated_spec():
    """Full (non-diagonal) data and noise covariances that do not commute: no basis makes the problem diagonal."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    b = rng.standard_normal((4, 4))
    return small_spec(data={"cov": (a @ a.T / 4 + 0.1 * np.eye(4)).tolist()},
                      augmentation={"noise_cov": (b @ b.T / 8).tolist()})


# γ stops 1.0, 2.0, 4.0, 6.0 sit exactly on critical values of the spectral loss (2 c_k): ties must agree too
STOPS = E.Stops(weight_decay=(0.0, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0), noise_scale=(0.0, 3.0),
                temperature=(0.5, 2.0), batch_size=(None,), embed_dim=(1, 2, 4))


def at_stop(spec, stops, idx):
    values = {k: getattr(stops, k)[i] for k, i in zip(E.SLIDERS, idx, strict=True)}
    return spec.with_updates(**{SLIDER_FIELDS.get(k, k): v for k, v in values.items()})


def check_point(spec, grid, stops, idx):
    pred = predict(at_stop(spec, stops, idx), order="quartic")  # the page's order (its notes say so)
    assert grid.rank[idx] == pred.rank, (idx, grid.rank[idx], pred.rank)
    assert PHASES[int(grid.phase[idx])] == pred.phase
    d = stops.embed_dim[idx[4]]
    np.testing.assert_allclose(grid.spectra[idx][:d], pred.spectrum, rtol=1e-9, atol=1e-12)
    assert not np.any(grid.spectra[idx][d:])
    np.testing.assert_allclose(grid.weight_decay_critical[idx[1], idx[2], idx[3]], pred.thresholds.weight_decay,
                               rtol=1e-12, atol=1e-12)
    assert grid.max_rank[idx[4]] == pred.max_rank


@pytest.mark.parametrize("spec_fn", [small_spec, rotated_spec], ids=["diagonal", "rotated"])
def test_every_stop_equals_predict(spec_fn):
    """The batched closed form against `predict` at every stop of every precomputed choice (N → ∞)."""
    spec = spec_fn()
    choices = [c for c in E.combos(spec) if c["grid"]]
    assert len(choices) == 6  # InfoNCE dot/euclidean × two protocols, spectral × two protocols
    for c in choices:
        point = spec.with_updates(**{k: c[k] for k in E.CHOICES})
        grid = E.combo_grid(point, STOPS)
        assert grid is not None
        for idx in np.ndindex(*STOPS.shape):
            check_point(point, grid, STOPS, idx)


def test_finite_batch_points_equal_predict():
    """With finite batches (the (1 − 1/N) factor), on a random sample of stops."""
    spec = small_spec()
    stops = E.Stops(weight_decay=(0.0, 0.4, 0.9, 1.2), noise_scale=(0.0, 2.0), temperature=(0.5, 1.0),
                    batch_size=(4, 64, None), embed_dim=(2, 4))
    rng = np.random.default_rng(0)
    for c in [c for c in E.combos(spec) if c["grid"]]:
        point = spec.with_updates(**{k: c[k] for k in E.CHOICES})
        grid = E.combo_grid(point, stops)
        for _ in range(4):
            idx = tuple(int(rng.integers(n)) for n in stops.shape)
            check_point(point, grid, stops, idx)


def test_choices_without_a_closed_form_say_why():
    spec = small_spec()
    by_key = {c["key"]: c for c in E.combos(spec)}
    for key in ("vicreg|dot|augmented_negatives|none", "simsiam|cosine|clean_negatives|none",
                "infonce|cosine|augmented_negatives|none", "infonce|dot|augmented_negatives|l2",
                "barlow|dot|augmented_negatives|none"):
        assert not by_key[key]["grid"] and by_key[key]["why"]
    assert "spectral|euclidean|augmented_negatives|none" not in by_key  # not a valid spec: dot products only
    for c in by_key.values():
        parse_spec({**spec.model_dump(mode="json"), **{k: c[k] for k in E.CHOICES}})
    deep = E.combos(small_spec(depth=2))
    assert not any(c["grid"] for c in deep) and "depth 2" in deep[0]["why"] + deep[1]["why"] + deep[3]["why"]


def test_default_stops_hold_the_spec_and_span_the_thresholds():
    spec = small_spec(batch_size=512, temperature=0.7, augmentation={"noise_cov": [0.5] * 4, "noise_scale": 1.3})
    stops = E.default_stops(spec)
    assert spec.weight_decay in stops.weight_decay and stops.weight_decay[0] == 0.0
    assert 1.3 in stops.noise_scale and 0.7 in stops.temperature and 512 in stops.batch_size
    assert stops.batch_size[-1] is None and stops.embed_dim == (1, 2, 3, 4)
    assert list(stops.weight_decay) == sorted(stops.weight_decay)
    top = max(predict(spec.with_updates(objective="spectral", similarity="dot")).thresholds.weight_decay)
    assert stops.weight_decay[-1] > top  # the largest critical value of every precomputed loss is on the slider
    no_noise = E.default_stops(small_spec(augmentation={}))
    assert no_noise.noise_scale == (1.0,)


def test_pack_round_trips_and_drops_constant_axes():
    rng = np.random.default_rng(1)
    a = np.broadcast_to(rng.integers(0, 9, (3, 1, 4)), (3, 5, 4)).copy()
    p = E.pack(a, "uint8")
    assert p["strides"][1] == 0 and p["size"] == 12
    np.testing.assert_array_equal(E.unpack(p), a)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(E.unpack(E.pack(b, "float32")), b)
    c = np.full((2, 2), 7)
    assert E.pack(c, "uint16")["size"] == 1 and (E.unpack(E.pack(c, "uint16")) == 7).all()


def test_spectra_quantised_to_four_parts_in_ten_thousand():
    rng = np.random.default_rng(2)
    values = 10.0 ** rng.uniform(-11.2, 0.7, 500)
    values[:7] = 0.0
    codes, lo, hi = E.quantise_spectra(values)
    back = E.dequantise_spectra(codes, lo, hi)
    assert (back[:7] == 0).all() and (codes[7:] > 0).all()
    np.testing.assert_allclose(back[7:], values[7:], rtol=4e-4)
    codes, lo, hi = E.quantise_spectra(np.array([1.0, 1e-13, 0.0]))
    assert list(codes[1:]) == [0, 0]  # more than 12 decades below the top: shown as 0 (collapsed)


@pytest.fixture(scope="module")
def data():
    spec = small_spec(batch_size=64)
    stops = E.Stops(weight_decay=(0.0, 0.3, 0.9), noise_scale=(0.0, 1.0), temperature=(1.0, 2.0),
                    batch_size=(64, None), embed_dim=(2, 4))
    return spec, stops, E.explorer_data(spec, stops, advise_knobs=("weight_decay", "noise_scale"))


def test_data_holds_every_grid_and_the_home_advice(data):
    spec, stops, d = data
    keys = {c["key"] for c in d.combos if c["grid"]}
    assert set(d.grids) == keys and len(keys) == 6
    own = E._combo_key(spec)
    grid = E.combo_grid(spec, stops)
    np.testing.assert_array_equal(E.unpack(d.grids[own]["rank"]), grid.rank)
    codes = E.unpack(d.grids[own]["spectra"])
    np.testing.assert_allclose(E.dequantise_spectra(codes, *d.grids[own]["spectra_log10"]), grid.spectra, rtol=4e-4)
    assert {k.rsplit("|", 2)[0] for k in d.advice} == {own}
    assert len(d.advice) == 2 * (4 + 1)  # two knobs, K = 0 … max rank 4
    want = advise(spec, 2, "weight_decay").to_dict()
    got = d.advice[f"{own}|weight_decay|2"]
    assert got["interval"] == want["interval"] and got["reason"] == want["reason"]
    assert d.spec["embed_dim"] == 4 and parse_spec(d.spec) == spec
    json.loads(d.to_json())


def test_page_is_one_self_contained_file(data, tmp_path):
    _, _, d = data
    page = E.render_page(d)
    assert page.count("<script") == 3  # plotly (gzipped data), the explorer's data, the explorer's code
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"'](?!data:)", page)  # nothing fetched
    meta = json.loads(re.search(r'id="sslscape-data">(.*?)</script>', page, re.S).group(1))
    assert meta["live"] is False and meta["phase_names"] == ["complete", "dimensional", "none"]
    assert meta["grids"].keys() == d.grids.keys()
    with pytest.raises(UserError, match=r"\.html"):
        E.write_explorer(small_spec(), tmp_path / "page.png")


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_live_server_answers_with_predict_and_advise(data):
    spec, _, d = data
    server = E.make_server(E.render_page(d, live=True), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, body = _get(base + "/")
        assert status == 200 and b'"live":true' in body
        other = spec.with_updates(objective="spectral", similarity="dot", normalization="l2")  # no closed form
        q = urllib.parse.quote(json.dumps(spec.model_dump(mode="json")))
        status, body = _get(f"{base}/api/predict?spec={q}")
        assert status == 200 and json.loads(body) == predict(spec).to_dict()
        status, body = _get(f"{base}/api/advise?keep=2&knob=weight_decay&spec={q}")
        assert json.loads(body)["interval"] == list(advise(spec, 2, "weight_decay").interval)
        assert E.answer("predict", {"spec": [json.dumps(other.model_dump(mode="json"))]})["order"] == "exact"
        status, body = _get(f"{base}/api/predict?spec=" + urllib.parse.quote('{"objective": "nope"}'))
        assert status == 400 and "objective" in json.loads(body)["error"]
        status, body = _get(f"{base}/api/advise?keep=x&spec={q}")
        assert status == 400 and "keep" in json.loads(body)["error"]
        assert _get(base + "/elsewhere")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_cli_command_writes_the_page(tmp_path):
    import typer

    from sslscape.cli import explore

    app = typer.Typer()
    explore.register(app)
    assert [c.name for c in app.registered_commands] == ["explore"]
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({"objective": "spectral", "data": {"cov": [2.0, 1.0]}, "weight_decay": 0.5}))
    out = tmp_path / "page.html"
    explore.explore_command(spec_path=spec_file, out=out, serve=False, port=0, advise_for="none")
    assert out.stat().st_size < 5_000_000 and b"sslscape-data" in out.read_bytes()
    with pytest.raises(UserError, match=r"\.html"):
        explore.explore_command(spec_path=spec_file, out=tmp_path / "page.txt", serve=False, port=0,
                                advise_for="none")


def test_phase_plot_marks_the_point_and_keeps_the_legend_off_the_data(tmp_path, saved_figures):
    """The static figure of the same diagram (sslscape.report.phase_plot): rank regions filled between the exact
    threshold curves (no staircase), the spec's point marked, the legend below the axes, the format from the
    extension."""
    from matplotlib.collections import PolyCollection, QuadMesh

    from sslscape.report import phase_plot
    from sslscape.theory.phase import Axis, phase_diagram

    spec = small_spec(weight_decay=0.5)
    diagram = phase_diagram(spec, Axis("weight_decay", 0, 3, 24), Axis("noise_scale", 0, 4, 16))
    out = phase_plot.plot_phase_diagram(diagram, tmp_path / "phase.svg")
    assert out.read_text().lstrip().startswith("<?xml")
    ax = saved_figures[-1].axes[0]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # filled between the curves
    assert not any(isinstance(c, QuadMesh) for c in ax.collections)  # not a staircase of cells
    star = [line for line in ax.get_lines() if line.get_label() == "this spec"]
    assert star and tuple(star[0].get_xydata()[0]) == (0.5, 1.0)
    renderer = saved_figures[-1].canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 < ax.get_window_extent(renderer).y0  # below the axes, over no data
    with pytest.raises(UserError, match="png, .pdf or .svg"):
        phase_plot.plot_phase_diagram(diagram, tmp_path / "phase.jpg")
