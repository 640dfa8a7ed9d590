import math

import torch

from sslscape.training.config import ScheduleConfig
from sslscape.training.optim import LARS, add_l2_grad, decoupled_decay, lr_at


def test_cosine_schedule_with_warmup():
    s = ScheduleConfig(steps=110, lr=1.0, warmup_steps=10, kind="cosine")
    assert lr_at(0, s) == 0.1 and lr_at(9, s) == 1.0
    assert lr_at(10, s) == 1.0 and math.isclose(lr_at(60, s), 0.5) and lr_at(110, s) < 1e-12
    assert lr_at(50, ScheduleConfig(steps=100, lr=0.3, kind="constant")) == 0.3


def test_l2_gradient_equals_autograd_of_the_penalty():
    w = torch.randn(3, 4, requires_grad=True)
    (w.sum() ** 2).backward()
    manual = w.grad.clone()
    add_l2_grad([w], 0.25)
    w2 = w.detach().clone().requires_grad_(True)
    (w2.sum() ** 2 + 0.25 * w2.pow(2).sum()).backward()
    torch.testing.assert_close(w.grad, w2.grad)
    assert not torch.equal(manual, w.grad)


def test_decoupled_decay_shrinks():
    w = torch.nn.Parameter(torch.ones(2, 2))
    decoupled_decay([w], 0.1, lr=0.5)
    torch.testing.assert_close(w.data, torch.full((2, 2), 0.9))


def test_lars_trust_ratio():
    w = torch.nn.Parameter(torch.full((2, 2), 3.0))  # ‖w‖ = 6
    w.grad = torch.full((2, 2), 0.5)  # ‖g‖ = 1
    LARS([w], lr=1.0, momentum=0.0, eta=0.1).step()
    torch.testing.assert_close(w.data, torch.full((2, 2), 3.0 - 0.1 * 6 * 0.5))
