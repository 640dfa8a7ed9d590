"""sslscape.diagnose.io: every supported format loads; every bad file is one UserError naming the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sslscape.diagnose.io import load_embeddings, load_labels, load_views
from sslscape.errors import UserError


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
