"""sslscape.io: every supported format loads, arrays are chosen by role; every bad file is one UserError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sslscape.errors import UserError
from sslscape.io import load_embeddings, load_labels, load_views


def _npy_bytes(a: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()

Z = np.arange(40, dtype=np.float32).reshape(10, 4) % 7


def test_every_format_loads(tmp_path):
    np.save(tmp_path / "a.npy", Z)
    np.savez(tmp_path / "b.npz", embeddings=Z, labels=np.zeros(10))
    torch.save({"z": torch.from_numpy(Z)}, tmp_path / "c.pt")
    torch.save(torch.from_numpy(Z).bfloat16(), tmp_path / "d.pt")
    (tmp_path / "e.csv").write_text("a,b,c,d\n" + "\n".join(",".join(map(str, r)) for r in Z))
    for name in ("a.npy", "b.npz", "c.pt", "d.pt", "e.csv"):
        np.testing.assert_allclose(load_embeddings(tmp_path / name), Z)
    assert load_embeddings(tmp_path / "a.npy").dtype == np.float32  # no float64 copy


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: np.save(p, np.zeros((0, 3))), "empty array"),
        (lambda p: np.save(p, np.zeros(5)), r"shape \(5,\), need \(N, d\)"),
        (lambda p: np.save(p, np.zeros((1, 8))), "single row"),
        (lambda p: np.save(p, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True), "Python objects"),
        (lambda p: np.save(p, np.array([["a", "b"]] * 4)), "dtype"),
        (lambda p: p.write_bytes(b"not numpy at all"), "not a .npy file"),
        (lambda p: p.write_bytes(_npy_bytes(np.ones((50, 4)))[:-40]), "truncated"),
    ],
)
def test_bad_embedding_files(tmp_path, make, message):
    path = tmp_path / "z.npy"
    make(path)
    with pytest.raises(UserError, match=message):
        load_embeddings(path)


def test_wrong_suffix_and_ambiguous_npz(tmp_path):
    (tmp_path / "z.txt").write_text("1,2\n")
    with pytest.raises(UserError, match=r".npy, .npz, .pt, .pth, .csv or .tsv"):
        load_embeddings(tmp_path / "z.txt")
    np.savez(tmp_path / "m.npz", a=Z, b=Z)
    with pytest.raises(UserError, match=r"holds 2 arrays — 'a' \(10, 4\), 'b' \(10, 4\) — .*--key NAME"):
        load_embeddings(tmp_path / "m.npz")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "m.npz", key="b"), Z)


def test_views_shapes(tmp_path):
    v = np.arange(2 * 3 * 4, dtype=np.float32).reshape(6, 4)
    np.save(tmp_path / "v.npy", v)
    np.testing.assert_array_equal(load_views(tmp_path / "v.npy", 3)[1], v[3:6])  # grouped by sample
    with pytest.raises(UserError, match="--n-views"):
        load_views(tmp_path / "v.npy", None)
    with pytest.raises(UserError, match="does not divide"):
        load_views(tmp_path / "v.npy", 4)


def test_labels(tmp_path):
    np.save(tmp_path / "y.npy", np.arange(10)[:, None])
    assert load_labels(tmp_path / "y.npy", 10).shape == (10,)
    (tmp_path / "y.csv").write_text("\n".join(["cat", "dog"] * 5))
    assert list(load_labels(tmp_path / "y.csv", 10)[:2]) == ["cat", "dog"]
    with pytest.raises(UserError, match=r"need \(11,\)"):
        load_labels(tmp_path / "y.npy", 11)


# ---- arrays chosen by role, never by position or guess ---------------------------------------------------------

F = (np.arange(64, dtype=np.float32).reshape(16, 4) % 5) + 0.5
Y = np.arange(16) % 3


@pytest.mark.parametrize("save", [
    lambda p: np.savez(p.with_suffix(".npz"), features=F, labels=Y),
    lambda p: np.savez(p.with_suffix(".npz"), X=F, y=Y),
    lambda p: np.savez(p.with_suffix(".npz"), y=np.eye(3, dtype=np.float32)[Y], embeddings=F),
    lambda p: np.savez(p.with_suffix(".npz"), feats_v2=F, targets=Y),  # unknown name + a label name
    lambda p: torch.save({"features": torch.from_numpy(F), "labels": torch.from_numpy(Y)}, p.with_suffix(".pt")),
    lambda p: torch.save({"Z": torch.from_numpy(F), "meta": "run 3"}, p.with_suffix(".pt")),
])
def test_embeddings_are_chosen_by_role_not_by_position(tmp_path, save):
    save(tmp_path / "f")
    path = next(tmp_path.glob("f.*"))
    np.testing.assert_array_equal(load_embeddings(path), F)


def test_labels_from_the_same_file_and_one_hot(tmp_path):
    np.savez(tmp_path / "a.npz", features=F, labels=Y)
    np.testing.assert_array_equal(load_labels(tmp_path / "a.npz", 16), Y)
    np.savez(tmp_path / "b.npz", features=F, y=np.eye(3)[Y])
    np.testing.assert_array_equal(load_labels(tmp_path / "b.npz", 16), Y)


@pytest.mark.parametrize("save, message", [
    (lambda p: np.savez(p, a=F, b=F), "none is clearly the embeddings"),
    (lambda p: np.savez(p, x=F, features=F), "none is clearly the embeddings"),  # two embedding names
])
def test_ambiguous_dicts_are_refused_listing_the_keys(tmp_path, save, message):
    save(tmp_path / "m.npz")
    with pytest.raises(UserError, match=message) as info:
        load_embeddings(tmp_path / "m.npz")
    assert "(16, 4)" in str(info.value) and "\n" not in str(info.value)


def test_tuple_in_a_pt_file_is_refused(tmp_path):
    torch.save((torch.from_numpy(F), torch.from_numpy(Y)), tmp_path / "t.pt")
    with pytest.raises(UserError, match="cannot be told from positions"):
        load_embeddings(tmp_path / "t.pt")


def _write(path, header, rows, sep=","):
    lines = ([sep.join(header)] if header else []) + [sep.join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("layout", ["plain", "header", "pandas_index", "index_named", "names_column",
                                    "label_column", "tsv", "semicolon", "whitespace", "bom_and_comment"])
def test_csv_layouts_as_tools_write_them(tmp_path, layout):
    cols = [f"f{j}" for j in range(4)]
    rows = [list(map(float, r)) for r in F]
    path = tmp_path / ("z.tsv" if layout == "tsv" else "z.csv")
    if layout == "plain":
        _write(path, None, rows)
    elif layout == "header":
        _write(path, cols, rows)
    elif layout == "pandas_index":  # DataFrame.to_csv(): an unnamed index column
        _write(path, [""] + cols, [[i] + r for i, r in enumerate(rows)])
    elif layout == "index_named":
        _write(path, ["index"] + cols, [[i + 1] + r for i, r in enumerate(rows)])
    elif layout == "names_column":  # file names beside the embedding columns
        _write(path, ["file"] + cols, [[f"img_{i}.png"] + r for i, r in enumerate(rows)])
    elif layout == "label_column":
        _write(path, cols + ["label"], [r + [int(Y[i])] for i, r in enumerate(rows)])
    elif layout == "tsv":
        _write(path, cols, rows, sep="\t")
    elif layout == "semicolon":
        _write(path, cols, rows, sep=";")
    elif layout == "whitespace":
        np.savetxt(path, F)
    else:
        path.write_text("\ufeff# exported embeddings\n" + ",".join(cols) + "\n"
                        + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    np.testing.assert_allclose(load_embeddings(path), F)


def test_csv_with_an_unnamed_integer_column_is_refused_saying_what_it_would_take(tmp_path):
    _write(tmp_path / "z.csv", None, [[int(Y[i])] + list(map(float, r)) for i, r in enumerate(F)])
    with pytest.raises(UserError, match=r"column 1 holds integers .* would be column 2 … column 5"):
        load_embeddings(tmp_path / "z.csv")


def test_csv_labels_by_header_and_ragged_rows(tmp_path):
    _write(tmp_path / "z.csv", ["f0", "f1", "label"], [[1.0, 2.0, "cat"], [3.0, 4.0, "dog"]])
    assert list(load_labels(tmp_path / "z.csv", 2)) == ["cat", "dog"]
    (tmp_path / "r.csv").write_text("1,2,3\n4,5\n")
    with pytest.raises(UserError, match="row 2 has 2 fields"):
        load_embeddings(tmp_path / "r.csv")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"PK\x03\x04garbage"), "not a valid .npz"),
    (lambda p: np.savez(p), "holds no arrays"),
])
def test_corrupt_npz(tmp_path, make, message):
    path = tmp_path / "c.npz"
    make(path)
    with pytest.raises(UserError, match=message):
        load_embeddings(path)


def test_pt_with_pickled_code_is_not_loaded(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "e.pt", "wb") as fh:
        pickle.dump({"z": Evil()}, fh)
    with pytest.raises(UserError, match="torch.save file of tensors"):
        load_embeddings(tmp_path / "e.pt")


# ---- issue 19: files as tools export them ---------------------------------------------------------------------

def _lightly_csv(path, f, extra=("selected", "masked"), prefix="embedding_"):
    rng = np.random.default_rng(1)
    header = ["filenames"] + [f"{prefix}{j}" for j in range(f.shape[1])] + ["labels", *extra]
    rows = [[f"img_{i}.png", *map(float, r), int(rng.integers(0, 3)), *(int(rng.random() < 0.3) for _ in extra)]
            for i, r in enumerate(f)]
    _write(path, header, rows)


def test_lightly_csv_reads_the_embedding_columns_only(tmp_path):
    _lightly_csv(tmp_path / "embeddings.csv", F)
    np.testing.assert_allclose(load_embeddings(tmp_path / "embeddings.csv"), F)


def test_metadata_columns_beside_an_unnamed_series_are_refused_naming_them(tmp_path):
    _lightly_csv(tmp_path / "z.csv", F, prefix="f")
    with pytest.raises(UserError, match=r"\['selected', 'masked'\] sit beside the series f0 … f3.*--key f"):
        load_embeddings(tmp_path / "z.csv")
    np.testing.assert_allclose(load_embeddings(tmp_path / "z.csv", key="f"), F)


@pytest.mark.parametrize("hole, message", [
    ((3, 2), r"1 empty/NaN cell in 1 of 16 rows and 1 of 4 embeddings columns \(first on line 5 of the "
              r"file, column 'f2'\)"),
    ((7, None), r"4 empty/NaN cells in 1 of 16 rows .* 1 row \(line 9\) entirely empty"),
])
def test_nan_cells_of_a_pandas_csv_are_refused_with_counts_never_dropped(tmp_path, hole, message):
    row, col = hole
    lines = [",f0,f1,f2,f3"] + [",".join([str(i)] + ["" if i == row and (col is None or j == col) else str(v)
                                                        for j, v in enumerate(r)]) for i, r in enumerate(F)]
    (tmp_path / "z.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=message) as info:
        load_embeddings(tmp_path / "z.csv")
    assert "never dropped" in str(info.value)


def test_a_column_of_bracketed_vectors(tmp_path):
    lines = ["id,text,embedding"] + [f'{i},"a caption, {i}","[{", ".join(map(str, r))}]"' for i, r in enumerate(F)]
    (tmp_path / "v.csv").write_text("\n".join(lines) + "\n")
    np.testing.assert_allclose(load_embeddings(tmp_path / "v.csv"), F)


def test_pth_and_a_list_of_batch_tensors_are_concatenated_and_said(tmp_path):
    batches = [torch.from_numpy(F[:6]), torch.from_numpy(F[6:12]), torch.from_numpy(F[12:])]
    torch.save(batches, tmp_path / "z.pth")
    notes: list[str] = []
    np.testing.assert_array_equal(load_embeddings(tmp_path / "z.pth", notes=notes), F)
    assert len(notes) == 1 and "list of 3 batches" in notes[0] and "torch.cat" in notes[0]
    torch.save({"embeddings": batches}, tmp_path / "d.pt")  # a dict holding the list
    np.testing.assert_array_equal(load_embeddings(tmp_path / "d.pt"), F)
    torch.save([torch.from_numpy(F), torch.ones(16, 3)], tmp_path / "bad.pt")
    with pytest.raises(UserError, match=r"torch\.cat\(batches\)"):
        load_embeddings(tmp_path / "bad.pt")


@pytest.mark.parametrize("save", [
    lambda p: torch.save({"step": 10, "model": {"w": torch.ones(3)}, "optimizer": {}, "window": torch.zeros(())},
                         p / "checkpoint.pt"),
    lambda p: torch.save({"state_dict": {"w": torch.ones(3)}, "epoch": 3}, p / "last.ckpt"),
])
def test_a_training_checkpoint_is_named_as_such(tmp_path, save):
    save(tmp_path)
    with pytest.raises(UserError, match="is a training checkpoint .*embeddings.npy"):
        load_embeddings(next(tmp_path.iterdir()))


def test_a_directory_is_named_as_such(tmp_path):
    np.save(tmp_path / "embeddings.npy", F)
    with pytest.raises(UserError, match=r"is a directory, not a file .*it holds embeddings.npy"):
        load_embeddings(tmp_path)


def test_messages_are_plain_text_without_terminal_codes(tmp_path):
    import argparse

    torch.save({"args": argparse.Namespace(a=1), "z": torch.from_numpy(F)}, tmp_path / "ns.pt")  # torch's own
    with pytest.raises(UserError) as info:  # unpickler error carries bold escape codes
        load_embeddings(tmp_path / "ns.pt")
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)


def test_yaml_exponents_without_a_dot_are_numbers(tmp_path):
    from sslscape.io import read_mapping_file

    (tmp_path / "s.yaml").write_text("weight_decay: 1e-6\ntemperature: 5E-1\nname: '1e-6'\n")
    assert read_mapping_file(tmp_path / "s.yaml", "spec") == {"weight_decay": 1e-6, "temperature": 0.5,
                                                             "name": "1e-6"}
