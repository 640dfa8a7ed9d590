"""Untrusted input, fuzzed (hypothesis, ≥ 1,000 examples per parser): every input ends in a result or a one-line
UserError — never a traceback, a hang or a silent wrong type. Parsers: the spec (mapping and file), the training
config (mapping and file), the phase-diagram axis, the augmentation pipeline, and every array-file loader (.npy,
.npz, .pt, .csv, .tsv by role; sample files; moments files; checkpoints) on random structures, wrong types, ragged
and extreme numbers, random bytes and truncated files. The CLI turns the UserError into one line and exit 2
(`test_cli_*`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sslscape.augment import Pipeline, parse_pipeline
from sslscape.cli import main
from sslscape.cli.predict import parse_axis
from sslscape.errors import UserError
from sslscape.io import load_array, load_embeddings, load_labels, load_samples, load_views, read_mapping_file
from sslscape.moments import AugmentationMoments, load_moments_file, save_moments
from sslscape.spec import OBJECTIVES, Spec, load_spec, parse_spec
from sslscape.training.checkpoint import CorruptCheckpoint, read_checkpoint
from sslscape.training.config import TrainConfig, load_config, parse_config

pytestmark = pytest.mark.slow

# ≥ 1,000 examples per parser (the floor); the command-line tests check the last step only (UserError → one
# line, exit 2) and each runs the whole CLI, so fewer. No example database: nothing is written into the checkout.
MANY = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SOME = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WORK = Path(tempfile.mkdtemp(prefix="sslscape-fuzz-"))  # one folder for the files of every example

# ---- strategies -------------------------------------------------------------------------------------------------

EXTREMES = [0, 1, -1, 0.5, 1e308, -1e308, 5e-324, 1e-300, float("nan"), float("inf"), float("-inf"), 2**63, -2**63,
            10**400]
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                    st.sampled_from(EXTREMES))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=6))
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
vectors = st.lists(st.one_of(numbers, st.sampled_from([1.0, 2.0, 0.5])), max_size=5)
matrices = st.lists(st.lists(numbers, max_size=4), max_size=4)  # ragged by construction
psd = st.integers(1, 4).flatmap(lambda d: st.lists(st.floats(0, 10), min_size=d * d, max_size=d * d).map(
    lambda v, d=d: (np.array(v).reshape(d, d) @ np.array(v).reshape(d, d).T).tolist()))
covs = st.one_of(vectors, matrices, psd, anything)


def maybe(strategy):
    return st.one_of(strategy, anything)


spec_dicts = st.fixed_dictionaries(
    {"objective": st.one_of(st.sampled_from(OBJECTIVES), anything)},
    optional={
        "data": st.one_of(st.fixed_dictionaries({}, optional={"cov": covs, "mean": maybe(vectors),
                                                             "samples": maybe(st.text(max_size=12))}), anything),
        "augmentation": st.one_of(st.fixed_dictionaries({}, optional={"noise_cov": covs,
                                                                     "noise_scale": maybe(numbers)}), anything),
        "weight_decay": maybe(numbers), "temperature": maybe(numbers), "embed_dim": maybe(st.integers(-3, 10**13)),
        "depth": maybe(st.integers(-2, 40)), "bias": maybe(st.booleans()), "similarity": maybe(st.sampled_from(
            ["dot", "cosine", "euclidean"])), "normalization": maybe(st.sampled_from(["none", "l2", "batch"])),
        "protocol": maybe(st.sampled_from(["augmented_negatives", "clean_negatives"])),
        "batch_size": maybe(st.integers(-5, 10**9)), "barlow_lambda": maybe(numbers), "ema_decay": maybe(numbers),
        "vicreg": maybe(st.fixed_dictionaries({}, optional={"invariance": maybe(numbers)})),
        "seed": maybe(st.integers()), "weigth_decay": numbers, "symmetric": maybe(st.booleans()),
    })

config_dicts = st.fixed_dictionaries(
    {"spec": st.one_of(spec_dicts, st.text(max_size=12), anything)},
    optional={
        "model": maybe(st.fixed_dictionaries({}, optional={"kind": maybe(st.sampled_from(
            ["auto", "linear", "deep_linear", "mlp", "resnet18"])), "hidden": maybe(st.lists(st.integers(-2, 99))),
            "width": maybe(st.integers(-2, 99)), "init_scale": maybe(numbers)})),
        "optimizer": maybe(st.fixed_dictionaries({}, optional={"name": maybe(st.sampled_from(
            ["sgd", "adam", "adamw", "lars"])), "momentum": maybe(numbers), "betas": maybe(vectors)})),
        "data": maybe(st.fixed_dictionaries({}, optional={"source": maybe(st.sampled_from(
            ["spec", "mixture", "fashion_mnist", "digits", "file", "folder"])), "path": maybe(st.text(max_size=8)),
            "class_weights": maybe(vectors), "class_means": maybe(matrices), "subset": maybe(st.integers(-1, 10**6)),
            "augment": maybe(st.sampled_from(["auto", "noise", "image", "none"]))})),
        "schedule": maybe(st.fixed_dictionaries({}, optional={"steps": maybe(st.integers(-1, 10**12)),
                                                              "lr": maybe(numbers), "batch_size": maybe(numbers),
                                                              "log_every": maybe(st.integers(-1, 9))})),
        "eval": maybe(anything), "seed": maybe(st.integers()), "device": maybe(st.text(max_size=5)),
        "schedul": anything,
    })


def one_line(err: Exception) -> None:
    text = str(err)
    assert text and "\n" not in text, repr(text)


def write(name: str, data: bytes | str) -> Path:
    path = WORK / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


def yaml_text(obj) -> str:
    import yaml

    try:
        return yaml.dump(obj, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True)
    except Exception:
        return json.dumps(obj, default=str)


# ---- the spec ----------------------------------------------------------------------------------------------------

@MANY
@given(raw=st.one_of(spec_dicts, anything))
def test_spec_parser(raw):
    try:
        spec = parse_spec(raw)
    except UserError as err:
        one_line(err)
        return
    assert isinstance(spec, Spec)
    from sslscape.moments import moments_of

    try:
        m = moments_of(spec)  # what every command does next: finite, symmetric PSD matrices or a one-line error
    except UserError as err:
        one_line(err)
        return
    for mat in (m.cov, m.noise_cov):
        assert mat.shape == (m.dim, m.dim) and np.all(np.isfinite(mat)) and np.array_equal(mat, mat.T)
    assert m.mean.shape == (m.dim,) and np.all(np.isfinite(m.mean))


@MANY
@given(text=st.one_of(st.text(max_size=200), spec_dicts.map(yaml_text), st.binary(max_size=200)),
       suffix=st.sampled_from([".json", ".yaml", ".yml"]))
def test_spec_file_loader(text, suffix):
    path = write(f"spec{suffix}", text)
    try:
        assert isinstance(load_spec(path), Spec)
    except UserError as err:
        one_line(err)


# ---- the training config -------------------------------------------------------------------------------------------

@MANY
@given(raw=st.one_of(config_dicts, anything))
def test_training_config_parser(raw):
    try:
        assert isinstance(parse_config(raw), TrainConfig)
    except UserError as err:
        one_line(err)


@MANY
@given(text=st.one_of(config_dicts.map(yaml_text), st.text(max_size=200), st.binary(max_size=100)))
def test_training_config_file_loader(text):
    path = write("config.yaml", text)
    try:
        assert isinstance(load_config(path), TrainConfig)
    except UserError as err:
        one_line(err)


def test_yaml_is_read_with_the_safe_loader(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("spec: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UserError, match="not valid YAML"):
        read_mapping_file(path, "config")
    with pytest.raises(UserError):
        load_config(path)


# ---- the axis and pipeline parsers --------------------------------------------------------------------------------

axis_texts = st.one_of(
    st.text(max_size=40),
    st.tuples(st.one_of(st.sampled_from(["weight_decay", "noise_scale", "temperature", "batch_size", "embed_dim"]),
                        st.text(max_size=6)),
              st.one_of(numbers.map(str), st.text(max_size=5)), st.one_of(numbers.map(str), st.text(max_size=5)),
              st.one_of(st.integers(-5, 10**6).map(str), st.text(max_size=4))).map(":".join))


@MANY
@given(text=axis_texts)
def test_axis_parser(text):
    try:
        axis = parse_axis(text)
    except UserError as err:
        one_line(err)
        return
    assert axis.n >= 2 and math.isfinite(axis.lo) and math.isfinite(axis.hi) and axis.hi > axis.lo


pipeline_steps = st.one_of(st.sampled_from(["flip", "shift", "noise", "crop", ""]), st.text(max_size=6))
pipeline_texts = st.one_of(st.text(max_size=30), st.lists(st.tuples(pipeline_steps, st.one_of(
    numbers.map(str), st.text(max_size=4), st.just(""))).map(lambda t: f"{t[0]}:{t[1]}" if t[1] else t[0]),
    max_size=4).map("+".join))


@MANY
@given(text=pipeline_texts)
def test_pipeline_parser(text):
    try:
        pipe = parse_pipeline(text)
    except UserError as err:
        one_line(err)
        return
    assert isinstance(pipe, Pipeline) and parse_pipeline(pipe.text) == pipe  # the canonical text round-trips
    assert all(math.isfinite(v.noise) and v.noise >= 0 for v in pipe.views)


# ---- array files ----------------------------------------------------------------------------------------------------

dtypes = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex64,
                          "U3", "S2", "datetime64[s]", "timedelta64[s]", [("a", "f4"), ("b", "i2")]])
shapes = st.lists(st.integers(0, 5), max_size=4).map(tuple)


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(dtypes))
    shape = draw(shapes)
    n = int(np.prod(shape)) if shape else 1
    raw = draw(st.lists(st.one_of(numbers, st.just(0)), min_size=n, max_size=n))
    with np.errstate(all="ignore"):
        try:
            if dtype.kind in "fc":
                arr = np.array([complex(v) if isinstance(v, int) and abs(v) > 1e300 else v for v in raw],
                               dtype=np.complex128 if dtype.kind == "c" else np.float64)
                arr = arr.astype(dtype)
            elif dtype.kind in "iub":
                arr = np.array([int(v) % 256 if isinstance(v, int) else 0 for v in raw]).astype(dtype)
            else:
                arr = np.zeros(n, dtype=dtype)
        except (OverflowError, ValueError, TypeError):
            arr = np.zeros(n, dtype=dtype)
    return arr.reshape(shape)


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def npz_bytes(arrays_: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays_)
    return buf.getvalue()


def pt_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def as_tensor(arr):
    try:
        return torch.from_numpy(np.ascontiguousarray(arr))
    except TypeError:
        return torch.zeros(arr.shape)


keys = st.sampled_from(["embeddings", "z", "labels", "y", "x", "views", "samples", "data", "other", "a"])
csv_cells = st.one_of(numbers.map(str), st.text(max_size=5), st.sampled_from(["", "nan", "inf", "1e999", "label",
                                                                              "id", "#", "\x00"]))
csv_texts = st.lists(st.lists(csv_cells, max_size=4), max_size=6).flatmap(lambda rows: st.sampled_from(
    [",", "\t", ";", " "]).map(lambda sep, rows=rows: "\n".join(sep.join(r) for r in rows)))


@st.composite
def array_files(draw):
    """(suffix, bytes): a valid file of a random array / dict, maybe truncated, or random bytes under a suffix."""
    kind = draw(st.sampled_from(["npy", "npz", "pt", "pth", "ckpt", "csv", "tsv", "bytes"]))
    if kind == "npy":
        data = npy_bytes(draw(arrays()))
    elif kind == "npz":
        data = npz_bytes(draw(st.dictionaries(keys, arrays(), max_size=3)))
    elif kind in ("pt", "pth", "ckpt"):  # .pth is a .pt; a .ckpt (Lightning) is refused as a checkpoint
        inner = st.one_of(arrays().map(as_tensor), st.integers(), st.text(max_size=4), st.none())
        batches = st.lists(arrays().map(as_tensor), max_size=3)  # a list of per-batch tensors, maybe ragged
        obj = draw(st.one_of(inner, st.dictionaries(keys, st.one_of(inner, batches), max_size=3),
                             st.lists(inner, max_size=3), batches))
        data = pt_bytes(obj)
    elif kind in ("csv", "tsv"):
        data = draw(csv_texts).encode("utf-8", "surrogatepass")
    else:
        kind = draw(st.sampled_from(["npy", "npz", "pt", "pth", "csv", "tsv"]))
        prefix = draw(st.sampled_from([b"", b"\x93NUMPY", b"PK\x03\x04", b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', "
                                                                          b"'fortran_order': False, 'shape': (10000000"
                                                                          b"00000,), }"]))
        data = prefix + draw(st.binary(max_size=120))
    if draw(st.booleans()) and len(data) > 1:
        data = data[: draw(st.integers(0, len(data) - 1))]  # truncated
    return kind, data


LOADERS = {
    "embeddings": lambda p: load_embeddings(p), "views": lambda p: load_views(p, 2), "labels": lambda p: load_labels(
        p, 4), "samples": load_samples, "data": lambda p: load_array(p, "data", mmap=True)}


@MANY
@given(file=array_files(), role=st.sampled_from(sorted(LOADERS)))
def test_array_file_loaders(file, role):
    suffix, data = file
    path = write(f"arr.{suffix}", data)
    try:
        arr = LOADERS[role](path)
    except UserError as err:
        one_line(err)
        return
    assert isinstance(arr, np.ndarray)
    if role != "labels":
        assert arr.dtype.kind in "biuf", arr.dtype
    if role == "samples":
        assert arr.ndim == 2 and np.all(np.isfinite(arr))


def moments_of_size(d: int) -> AugmentationMoments:
    eye = np.eye(d)
    return AugmentationMoments(dataset="x", pipeline="flip", n_images=3, dim=d, method="exact", mean=np.zeros(d),
                               cross_cov=eye, view_cov=2 * eye, noise_floor=0.0, eigenvalues=np.ones(d),
                               below_floor=0)


@functools.cache
def _moments_file_bytes(d: int) -> bytes:
    """A valid moments file of dimension d, as `save_moments` writes it (once per d: its fsync is slow)."""
    path = WORK / f"valid-{d}.npz"
    save_moments(moments_of_size(d), path, key={"k": 1})
    return path.read_bytes()


@MANY
@given(d=st.integers(1, 4), cut=st.floats(0, 1), replace=st.dictionaries(st.sampled_from(
    ["mean", "cross_cov", "view_cov", "eigenvalues", "meta"]), arrays(), max_size=2), junk=st.binary(max_size=40))
def test_moments_file_loader(d, cut, replace, junk):
    path = WORK / "m.npz"
    data = _moments_file_bytes(d)
    if replace:  # a file with the right names and wrong contents
        with np.load(io.BytesIO(data)) as z:
            content = {k: z[k] for k in z.files}
        content.update(replace)
        data = npz_bytes(content)
    path.write_bytes(data[: int(len(data) * cut)] + junk if cut < 1 else data)
    try:
        est = load_moments_file(path)
    except UserError as err:
        one_line(err)
        return
    assert est.cross_cov.shape == (est.dim, est.dim) and np.all(np.isfinite(est.cross_cov))


@MANY
@given(cut=st.floats(0, 1), flip=st.integers(0, 10**9), junk=st.binary(max_size=30))
def test_checkpoint_reader(cut, flip, junk):
    from sslscape.training.checkpoint import save_checkpoint

    path = WORK / "checkpoint.pt"
    if not path.exists() or cut == 0:
        path.unlink(missing_ok=True)
        save_checkpoint(path, {"config_hash": "abc", "step": 3, "model": {"w": torch.arange(6.0).reshape(2, 3)},
                               "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": []},
                               "rng": {"generator": torch.Generator().get_state()}, "window": torch.zeros(()),
                               "window_n": 0, "last_loss": 0.5, "wall_s": 1.0, "config": {}})
    data = bytearray((WORK / "checkpoint.pt").read_bytes())
    bad = WORK / "bad.pt"
    if cut < 0.5:
        data[flip % len(data)] ^= 1 + flip % 255
        bad.write_bytes(bytes(data))
    else:
        bad.write_bytes(bytes(data[: int(len(data) * cut)]) + junk)
    try:
        ckpt = read_checkpoint(bad)
    except UserError as err:  # CorruptCheckpoint included
        one_line(err)
        return
    assert ckpt["step"] == 3 and torch.equal(ckpt["model"]["w"], torch.arange(6.0).reshape(2, 3))


# ---- untrusted formats: nothing in a file runs code ---------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_pt_with_pickled_code_is_refused(tmp_path):
    path = tmp_path / "z.pt"
    torch.save({"embeddings": _Evil()}, path)
    with pytest.raises(UserError, match="cannot read"):
        load_array(path)
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"version": 3, "evil": _Evil()}, ckpt)
    with pytest.raises(CorruptCheckpoint):
        read_checkpoint(ckpt)


def test_npy_and_npz_with_objects_are_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="Python objects"):
        load_array(tmp_path / "o.npy")
    np.savez(tmp_path / "o.npz", embeddings=np.array([_Evil()], dtype=object))
    with pytest.raises(UserError):
        load_array(tmp_path / "o.npz")


def test_a_tiny_npy_declaring_a_huge_array_is_refused_without_allocating(tmp_path):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 1000), }"
    header += b" " * (118 - len(header)) + b"\n"
    (tmp_path / "big.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 64)
    for mmap in (False, True):
        with pytest.raises(UserError, match="truncated"):
            load_array(tmp_path / "big.npy", mmap=mmap)


# ---- the command line: one line on stderr, exit 2 -----------------------------------------------------------------

def _cli(argv):
    """Run `sslscape ARGV` in this process; (exit code, stderr). Captured here, not with pytest's capsys: a
    function-scoped fixture is not reset between hypothesis examples."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
            pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, err.getvalue()


@SOME
@given(raw=st.one_of(spec_dicts.filter(lambda d: d.get("objective") in ("spectral", "barlow")), anything))
def test_cli_predict_on_fuzzed_specs(raw):
    path = write("cli_spec.json", json.dumps(raw, default=str, allow_nan=True))
    code, err = _cli(["predict", str(path), "--json"])
    if code != 0:
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err


@SOME
@given(x=axis_texts, augment=pipeline_texts)
def test_cli_axis_and_pipeline_errors(x, augment):
    code, err = _cli(["estimate", str(WORK / "missing.npy"), "--augment", augment, "--no-cache"])
    assert code == 2 and err.count("\n") == 1, err
    spec = write("ok.json", json.dumps({"objective": "spectral", "data": {"cov": [2, 1]}, "weight_decay": 0.5}))
    try:
        parse_axis(x)
    except UserError:
        code, err = _cli(["phase", str(spec), "--x", x, "--out", str(WORK / "phase")])
        assert code == 2 and err.count("\n") == 1, err
