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
    with pytest.raises(UserError, match=".npy, .npz, .pt or .csv"):
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
