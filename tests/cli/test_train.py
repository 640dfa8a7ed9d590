import json

import pytest

from sslscape.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_train_command_writes_outputs(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("spec: {objective: spectral, data: {cov: [2.0, 1.0]}, weight_decay: 0.1}\n"
                   "schedule: {steps: 20, batch_size: 32, log_every: 10}\ndata: {eval_size: 16}\n")
    code, out, err = run(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 0, err
    for name in ("metrics.jsonl", "embeddings.npy", "summary.json", "checkpoint.pt"):
        assert (tmp_path / "run" / name).is_file()
    code, out, err = run(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet", "--resume"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("text, message", [
    ("spec: {objective: spectral, data: {cov: [1.0]}}\nschedul: {steps: 3}\n", "unknown key 'schedul'"),
    ("spec: {objective: vicreg}\ndata: {source: file, path: x.npy}\n", "x.npy' does not exist"),
    ("spec: {objective: vicreg}\ndata: {source: fashion_mnist, path: nowhere}\n",
     "apt-get install -y dataset-fashion-mnist"),
    ("spec: [\n", "not valid YAML"),
])
def test_bad_input_is_one_line_with_exit_2(tmp_path, capsys, text, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    code, out, err = run(["train", str(cfg), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_checkpoint_of_another_config_exits_2(tmp_path, capsys):
    base = "spec: {objective: spectral, data: {cov: [2.0, 1.0]}, weight_decay: %s}\nschedule: {steps: 10}\n"
    (tmp_path / "a.yaml").write_text(base % 0.1)
    (tmp_path / "b.yaml").write_text(base % 0.2)
    assert run(["train", str(tmp_path / "a.yaml"), "--out", str(tmp_path / "o"), "--quiet"], capsys)[0] == 0
    code, _, err = run(["train", str(tmp_path / "b.yaml"), "--out", str(tmp_path / "o"), "--resume"], capsys)
    assert code == 2 and "different config" in err


def test_compare_command(tmp_path, capsys):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"objective": "spectral", "data": {"cov": [4.0, 2.0, 0.2]}, "weight_decay": 1.0,
                                "batch_size": 128}))
    code, out, err = run(["compare", str(spec), "--seeds", "1", "--steps", "600", "--out", str(tmp_path / "c")],
                         capsys)
    assert code == 0, err
    data = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert data["predicted_rank"] == 2 and data["trained_ranks"] == [2] and data["agree"] is True
    assert (tmp_path / "c" / "compare.png").is_file()


def test_compare_says_which_seeds_were_trained_longer(tmp_path, capsys):
    spec = tmp_path / "s.json"  # 2 c₃ = 3.2 just below γ = 3.3: direction 3 still dying after 150 steps
    spec.write_text(json.dumps({"objective": "spectral", "data": {"cov": [3.0, 2.5, 1.6, 0.2]}, "weight_decay": 3.3,
                                "batch_size": 256}))
    code, out, err = run(["compare", str(spec), "--seeds", "1", "--steps", "150", "--out", str(tmp_path / "c")],
                         capsys)
    assert code == 0, err
    assert "still moving at 150 steps, trained longer: seed 0:" in " ".join(out.split())
    data = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert data["steps"] == 150 and data["trained_steps"][0] > 150 and len(data["settled"]) == 1
