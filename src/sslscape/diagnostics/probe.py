"""Is the collapse hurting? Downstream accuracy of frozen embeddings on a held-out split (fixed seed).

- kNN: k = 20 nearest training embeddings by cosine similarity, majority vote (ties → smallest class index),
  as in the usual SSL kNN monitor (without the temperature-weighted vote of Wu et al. 2018);
- linear probe: scikit-learn LogisticRegression (lbfgs, L2, C = 1) on standardised embeddings.
The split is stratified when every class has ≥ 2 members. Above `max_samples` rows a seeded subsample is used
(the probe, not the spectrum, would dominate the run time: LogisticRegression on 100k × 2,048 takes minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..result import Result
from .spectrum import EmbeddingError, check_shape

KNN_K = 20
TEST_FRACTION = 0.2
MAX_SAMPLES = 20_000
PROBE_MAX_ITER = 1000


@dataclass(frozen=True)
class ProbeResult(Result):
    knn_accuracy: float
    linear_accuracy: float
    n_train: int
    n_test: int
    n_classes: int
    k: int
    seed: int


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_predict(
    train: np.ndarray, train_y: np.ndarray, test: np.ndarray, k: int = KNN_K, chunk: int = 1024
) -> np.ndarray:
    """Majority vote of the k most cosine-similar training rows; `train_y` are class indices 0 … C−1."""
    tr, te = _unit_rows(train.astype(np.float32)), _unit_rows(test.astype(np.float32))
    k = min(k, tr.shape[0])
    n_classes = int(train_y.max()) + 1
    out = np.empty(te.shape[0], dtype=np.int64)
    for s in range(0, te.shape[0], chunk):  # chunks of test rows bound the (chunk, n_train) similarity matrix
        sim = te[s : s + chunk] @ tr.T
        nn = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (chunk, k) indices of the k largest
        votes = np.zeros((nn.shape[0], n_classes), dtype=np.int64)
        np.add.at(votes, (np.arange(nn.shape[0])[:, None], train_y[nn]), 1)
        out[s : s + chunk] = votes.argmax(axis=1)
    return out


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().to("cpu")
        x = x.float() if x.is_floating_point() else x
        return x.numpy()
    return np.asarray(x)


def knn_accuracy(train: Any, train_y: Any, test: Any, test_y: Any, k: int = KNN_K) -> float:
    """Fraction of test rows whose k most cosine-similar training rows vote for the right label (numpy/torch)."""
    classes, y = np.unique(np.r_[_numpy(train_y).reshape(-1), _numpy(test_y).reshape(-1)], return_inverse=True)
    n_tr = len(_numpy(train_y).reshape(-1))
    pred = knn_predict(_numpy(train), y[:n_tr], _numpy(test), k=k)
    return float(np.mean(pred == y[n_tr:]))


def linear_probe_accuracy(train: Any, train_y: Any, test: Any, test_y: Any, seed: int = 0) -> float:
    """Logistic regression (scikit-learn, lbfgs, C = 1, `PROBE_MAX_ITER`) on standardised features (numpy/torch)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x_tr, x_te = _numpy(train).astype(np.float64), _numpy(test).astype(np.float64)
    scaler = StandardScaler().fit(x_tr)
    clf = LogisticRegression(max_iter=PROBE_MAX_ITER, random_state=seed).fit(scaler.transform(x_tr),
                                                                             _numpy(train_y).reshape(-1))
    return float(clf.score(scaler.transform(x_te), _numpy(test_y).reshape(-1)))


def probe_accuracies(
    z: Any,
    labels: Any,
    *,
    seed: int = 0,
    k: int = KNN_K,
    test_fraction: float = TEST_FRACTION,
    max_samples: int = MAX_SAMPLES,
) -> ProbeResult:
    """kNN (k = 20, cosine) and linear-probe accuracy on a seeded held-out split of (z, labels)."""
    from sklearn.model_selection import train_test_split

    x = _numpy(z)
    n, _ = check_shape(x)
    y_raw = np.asarray(labels).reshape(-1)
    if y_raw.shape[0] != n:
        raise EmbeddingError(f"got {y_raw.shape[0]} labels for {n} embeddings; give one label per row")
    classes, y = np.unique(y_raw, return_inverse=True)
    if classes.size < 2:
        raise EmbeddingError("labels hold a single class; a probe needs at least 2 classes")
    rng = np.random.default_rng(seed)
    idx = np.arange(n) if n <= max_samples else np.sort(rng.choice(n, size=max_samples, replace=False))
    counts = np.bincount(y[idx], minlength=classes.size)
    stratify = y[idx] if counts[counts > 0].min() >= 2 else None
    tr, te = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=stratify)
    x_tr, x_te = x[tr].astype(np.float64), x[te].astype(np.float64)

    knn = float(np.mean(knn_predict(x_tr, y[tr], x_te, k=k) == y[te]))
    linear = linear_probe_accuracy(x_tr, y[tr], x_te, y[te], seed=seed)
    return ProbeResult(
        knn_accuracy=knn,
        linear_accuracy=linear,
        n_train=len(tr),
        n_test=len(te),
        n_classes=int(classes.size),
        k=k,
        seed=seed,
    )
