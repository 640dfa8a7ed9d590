"""Downstream evaluation of frozen representations: kNN (k = 20, cosine) and a linear probe.

    kNN      each test feature votes with the labels of its k most cosine-similar training features
             (majority vote, ties to the smaller label) — the standard SSL monitor (Wu et al. 2018 use a
             weighted vote; the unweighted one is simpler and within ~1 point on Fashion-MNIST)
    probe    multinomial logistic regression (scikit-learn, L-BFGS) on standardised features
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def knn_accuracy(train: Tensor, train_y: Tensor, test: Tensor, test_y: Tensor, k: int = 20,
                 chunk: int = 1024) -> float:
    """Fraction of test points whose k nearest (cosine) training points' majority label is right."""
    train, test = F.normalize(train.float(), dim=1), F.normalize(test.float(), dim=1)
    k = min(k, train.shape[0])
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    correct = 0
    for i in range(0, test.shape[0], chunk):  # chunks bound the (chunk, n_train) similarity matrix in memory
        sims = test[i:i + chunk] @ train.T
        idx = sims.topk(k, dim=1).indices  # (c, k)
        votes = F.one_hot(train_y[idx], n_classes).sum(1)  # (c, n_classes)
        correct += int((votes.argmax(1) == test_y[i:i + chunk]).sum())
    return correct / test.shape[0]


def linear_probe_accuracy(train: Tensor, train_y: Tensor, test: Tensor, test_y: Tensor,
                          max_iter: int = 500, seed: int = 0) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xtr, xte = train.detach().cpu().double().numpy(), test.detach().cpu().double().numpy()
    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(max_iter=max_iter, random_state=seed)
    clf.fit(scaler.transform(xtr), train_y.cpu().numpy())
    return float(np.mean(clf.predict(scaler.transform(xte)) == test_y.cpu().numpy()))
