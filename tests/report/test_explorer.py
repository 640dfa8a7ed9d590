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
from sslscape.theory.predict import phase_of, predict

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
    pred = predict(at_stop(spec, stops, idx))  # the default order, as the page (a 'grid' choice: the closed form)
    assert pred.solver == "quartic_closed_form"
    assert grid.alive[idx] == pred.alive, (idx, grid.alive[idx], pred.alive)
    assert PHASES[int(grid.phase[idx])] == phase_of(pred.alive, pred.capacity)
    d = stops.embed_dim[idx[4]]
    np.testing.assert_allclose(grid.spectra[idx][:d], pred.spectrum, rtol=1e-9, atol=1e-12)
    assert not np.any(grid.spectra[idx][d:])
    np.testing.assert_allclose(grid.critical_weight_decay[idx[1], idx[2], idx[3]],
                               pred.thresholds.critical_weight_decay, rtol=1e-12, atol=1e-12)
    assert grid.capacity[idx[4]] == pred.capacity


@pytest.mark.parametrize("spec_fn", [small_spec, rotated_spec], ids=["diagonal", "rotated"])
def test_every_stop_equals_predict(spec_fn):
    """The batched closed form against `predict` at every stop of every precomputed choice (N → ∞)."""
    spec = spec_fn()
    choices = [c for c in E.combos(spec, STOPS) if c["grid"]]
    # N → ∞ only: InfoNCE dot/euclidean × two protocols, spectral × two protocols, NT-Xent dot
    assert {c["key"].split("|", 1)[0] for c in choices} == {"infonce", "spectral", "ntxent"} and len(choices) == 7
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
    for c in [c for c in E.combos(spec, stops) if c["grid"]]:
        point = spec.with_updates(**{k: c[k] for k in E.CHOICES})
        grid = E.combo_grid(point, stops)
        for _ in range(4):
            idx = tuple(int(rng.integers(n)) for n in stops.shape)
            check_point(point, grid, stops, idx)


def test_every_loss_predict_answers_fast_has_values_on_the_static_page():
    """The page's modes follow the solver table: a closed form precomputed everywhere, the learned point and the
    per-direction solvers (cosine InfoNCE, SimSiam, BYOL, VICReg, standardised Barlow) along each slider, and only
    numerical solvers left to --serve, each saying why."""
    spec = small_spec(batch_size=64)
    by_key = {c["key"]: c for c in E.combos(spec, SMALL_STOPS)}
    for key, mode, solver in (("spectral|dot|augmented_negatives|none", "grid", "quartic_closed_form"),
                              ("infonce|dot|augmented_negatives|none", "lines", "learned_point_dot"),
                              ("infonce|cosine|augmented_negatives|none", "lines", "learned_point_cosine"),
                              ("simsiam|dot|augmented_negatives|none", "lines", "stop_gradient"),
                              ("byol|cosine|augmented_negatives|none", "lines", "stop_gradient"),
                              ("vicreg|dot|augmented_negatives|none", "lines", "population"),
                              ("barlow|dot|augmented_negatives|batch", "lines", "population"),
                              ("infonce|dot|augmented_negatives|l2", "serve", "exact_lbfgs"),
                              ("simsiam|cosine|clean_negatives|none", "serve", "exact_dynamics")):
        c = by_key[key]
        assert (c["mode"], c["solver"]) == (mode, solver), (key, c)
        assert c["why"] or mode == "grid"
    assert "spectral|euclidean|augmented_negatives|none" not in by_key  # not a valid spec: dot products only
    for c in by_key.values():
        parse_spec({**spec.model_dump(mode="json"), **{k: c[k] for k in E.CHOICES}})
    deep = E.combos(small_spec(depth=2), SMALL_STOPS)
    assert not any(c["grid"] for c in deep)


def test_lines_hold_predicts_answer_at_every_stop_of_each_slider():
    spec = small_spec(objective="simsiam", similarity="cosine", protocol="augmented_negatives", batch_size=64)
    lines = E.combo_lines(spec, SMALL_STOPS)
    assert lines["home"]["rank"] == predict(spec).rank and lines["home"]["solver"] == "stop_gradient"
    for name in E.SLIDERS:
        for i, v in enumerate(getattr(SMALL_STOPS, name)):
            pred = predict(E._at(spec, name, v))
            got = lines[name][i]
            assert (got["rank"], got["alive"], got["solver"]) == (pred.rank, pred.alive, pred.solver), (name, v)
            np.testing.assert_allclose(got["spectrum"], pred.spectrum, rtol=1e-4, atol=1e-12)


def test_default_stops_hold_the_spec_and_span_the_thresholds():
    spec = small_spec(batch_size=512, temperature=0.7, augmentation={"noise_cov": [0.5] * 4, "noise_scale": 1.3})
    stops = E.default_stops(spec)
    assert spec.weight_decay in stops.weight_decay and stops.weight_decay[0] == 0.0
    assert 1.3 in stops.noise_scale and 0.7 in stops.temperature and 512 in stops.batch_size
    assert stops.batch_size[-1] is None and stops.embed_dim == (1, 2, 3, 4)
    assert list(stops.weight_decay) == sorted(stops.weight_decay)
    top = max(predict(spec.with_updates(objective="spectral", similarity="dot")).thresholds.critical_weight_decay)
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


SMALL_STOPS = E.Stops(weight_decay=(0.0, 0.3, 0.9), noise_scale=(0.0, 1.0), temperature=(1.0, 2.0),
                      batch_size=(64, None), embed_dim=(2, 4))


@pytest.fixture(scope="module")
def data():
    spec = small_spec(batch_size=64, similarity="dot", protocol="augmented_negatives")
    return spec, SMALL_STOPS, E.explorer_data(spec, SMALL_STOPS, advise_knobs=("weight_decay", "noise_scale"))


def test_data_holds_every_grid_and_line_and_the_home_advice(data):
    spec, stops, d = data
    assert set(d.grids) == {c["key"] for c in d.combos if c["mode"] == "grid"} and len(d.grids) == 3
    assert set(d.lines) == {c["key"] for c in d.combos if c["mode"] == "lines"}
    own = E._combo_key(spec)  # finite-batch dot InfoNCE: the learned point, along the sliders
    assert own in d.lines and d.lines[own]["home"]["rank"] == predict(spec).rank
    grid_key = "spectral|dot|augmented_negatives|none"
    point = spec.with_updates(objective="spectral", similarity="dot")
    grid = E.combo_grid(point, stops)
    np.testing.assert_array_equal(E.unpack(d.grids[grid_key]["alive"]), grid.alive)
    codes = E.unpack(d.grids[grid_key]["spectra"])
    np.testing.assert_allclose(E.dequantise_spectra(codes, *d.grids[grid_key]["spectra_log10"]), grid.spectra,
                               rtol=4e-4)
    assert {k.rsplit("|", 2)[0] for k in d.advice} == {own}
    assert len(d.advice) == 2 * (4 + 1)  # two knobs, K = 0 … capacity 4
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


def test_live_server_answers_any_failure_with_one_json_line(data, monkeypatch):
    """A failure that is not a user error (a bug, a solver that raised) still gets an answer: status 500 and one
    line of JSON, never a dropped connection."""
    _, _, d = data

    def broken(route, query):
        raise RuntimeError("a solver fell over\nwith two lines")

    monkeypatch.setattr(E, "answer", broken)
    server = E.make_server(E.render_page(d, live=True), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, body = _get(f"http://127.0.0.1:{server.server_address[1]}/api/predict?spec=%7B%7D")
        assert status == 500 and json.loads(body) == {"error": "RuntimeError: a solver fell over with two lines"}
    finally:
        server.shutdown()
        server.server_close()


def test_cli_command_writes_the_page(tmp_path, capsys):
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
    err = capsys.readouterr().err  # not a terminal here: plain progress lines, the last one at the end of the work
    assert err.splitlines()[-1].startswith("explorer: computing the theory's values: 100 % (") and "done" in err
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


# ---- the build's cost: lines at fewer stops, shared points, progress -------------------------------------------------

WIDE_STOPS = E.Stops(weight_decay=(0.0, 0.1, 0.3, 0.6, 0.9, 1.2, 1.5), noise_scale=(0.0, 0.5, 1.0, 2.0),
                     temperature=(0.5, 1.0, 2.0), batch_size=(16, 64, None), embed_dim=(1, 2, 3, 4))


def test_line_indices_keep_the_ends_and_the_spec_and_thin_the_rest():
    assert E.line_indices(5, 2, None) == (0, 1, 2, 3, 4) and E.line_indices(5, 2, 7) == (0, 1, 2, 3, 4)
    assert E.line_indices(49, 2, 7) == (0, 2, 8, 16, 24, 32, 40, 48)
    assert E.line_indices(49, None, 2) == (0, 48)


def test_lines_at_fewer_stops_hold_predicts_answer_there_and_nothing_elsewhere():
    spec = small_spec(objective="infonce", similarity="cosine", protocol="augmented_negatives", batch_size=64,
                      weight_decay=0.1)
    lines = E.combo_lines(spec, WIDE_STOPS, most=3)
    for name in E.SLIDERS:
        values = getattr(WIDE_STOPS, name)
        own = E._home_index(spec, WIDE_STOPS, name)
        held = E.line_indices(len(values), own, 3)
        assert [i for i, q in enumerate(lines[name]) if q is not None] == list(held), name
        assert lines[name][own] is lines["home"]  # the spec's own point, solved once for all five lines
        for i in held:
            pred = predict(E._at(spec, name, values[i]))
            got = lines[name][i]
            assert (got["rank"], got["alive"], got["solver"]) == (pred.rank, pred.alive, pred.solver), (name, i)
            np.testing.assert_allclose(got["spectrum"], pred.spectrum, rtol=1e-4, atol=1e-12)


def test_a_numerical_point_is_refused_before_it_is_solved(monkeypatch):
    """A 'lines' choice with a numerical solve at some stop goes to --serve without running that solve (raw Barlow
    Twins of the default spec at embedding size 3: the closed form declines while solving, the numerical quartic
    would take over)."""
    from sslscape.spec import DEFAULT_SPEC, load_spec
    from sslscape.theory import solve as quartic

    monkeypatch.setattr(quartic, "prediction_numerical", lambda *a: pytest.fail("the numerical solve ran"))
    spec = load_spec(DEFAULT_SPEC).with_updates(
        objective="barlow", similarity="dot", protocol="augmented_negatives")
    stops = E.Stops(weight_decay=(spec.weight_decay,), noise_scale=(1.0,), temperature=(1.0,), batch_size=(512,),
                    embed_dim=(3, 8))
    with pytest.raises(UserError, match="quartic_numerical answers some settings numerically"):
        E.combo_lines(spec, stops)


def test_the_spec_s_own_loss_has_every_stop_the_others_fewer_and_progress_is_told():
    spec = small_spec(batch_size=64, similarity="dot", protocol="augmented_negatives", weight_decay=0.1)
    told = []
    d = E.explorer_data(spec, WIDE_STOPS, advise_knobs=("weight_decay",), line_stops=3,
                        progress=lambda done, total, info: told.append((done, total, info)))
    own = E._combo_key(spec)
    assert all(q is not None for name in E.SLIDERS for q in d.lines[own][name])
    cosine = "infonce|cosine|augmented_negatives|none"
    assert [q is None for q in d.lines[cosine]["weight_decay"]] == [False, False, True, False, True, True, False]
    assert "at up to 3 stops" in next(c["why"] for c in d.combos if c["key"] == cosine)
    dones = [t[0] for t in told]
    assert dones == sorted(dones) and told[-1][0] == told[-1][1] > 0 and len({t[1] for t in told}) == 1
    assert told[0][2].startswith(own + ": lines")  # the spec's own loss first
    assert any(t[2].startswith("advise weight_decay") for t in told)
    # every K's advice is advise's own answer (one scan per knob serves every K)
    for keep in range(5):
        assert d.advice[f"{own}|weight_decay|{keep}"] == E._advice_dict(advise(spec, keep, "weight_decay"))
    with pytest.raises(UserError, match="line_stops"):
        E.explorer_data(spec, WIDE_STOPS, line_stops=1)


def test_the_augmentation_of_a_moments_file_moves_with_its_slider(tmp_path):
    """A spec whose data is a moments file (S = noise_scale · (B − A)): the slider's stops scale that S, and the grid
    equals predict there."""
    from sslscape.moments import dataset_moments, save_moments

    rng = np.random.default_rng(0)
    np.save(tmp_path / "img.npy", rng.standard_normal((40, 16)))
    path = save_moments(dataset_moments(str(tmp_path / "img.npy"), "flip+noise:0.1"), tmp_path / "m.npz")
    spec = parse_spec({"objective": "spectral", "data": {"moments": str(path)}, "weight_decay": 0.05,
                       "embed_dim": 16})
    assert len(E.default_stops(spec).noise_scale) > 1
    stops = E.Stops(weight_decay=(0.0, 0.05), noise_scale=(0.5, 1.0, 3.0), temperature=(1.0,), batch_size=(None,),
                    embed_dim=(16,))
    grid = E.combo_grid(spec, stops)
    for idx in [(1, 2, 0, 0, 0), (1, 0, 0, 0, 0)]:
        pred = predict(at_stop(spec, stops, idx))
        assert grid.alive[idx] == pred.alive
        np.testing.assert_allclose(grid.spectra[idx], pred.spectrum, rtol=1e-9, atol=1e-12)


def test_progress_lines_off_a_terminal_carry_an_estimate(capsys):
    from sslscape.cli.progress import lines

    now = [0.0]
    update = lines("explorer", 100, every=3.0, clock=lambda: now[0])
    for done, t in ((10, 1.0), (25, 2.5), (40, 4.0), (70, 7.0), (100, 10.0)):
        now[0] = t
        update(done, 100, "infonce|cosine: lines")
    err = capsys.readouterr().err.splitlines()
    assert err == ["explorer: 40 % (infonce|cosine: lines), 4 s elapsed, about 6 s left",
                   "explorer: 70 % (infonce|cosine: lines), 7 s elapsed, about 3 s left",
                   "explorer: 100 % (infonce|cosine: lines), 10 s elapsed, done"]
