import torch

from sslscape.training.models import (
    DeepLinearEncoder,
    EMATarget,
    LinearEncoder,
    MLPBackbone,
    ResNet18,
    SSLModel,
    linear_predictor,
    projector,
)


def test_linear_encoder_is_wx_plus_b():
    enc = LinearEncoder(5, 3, bias=True)
    with torch.no_grad():
        enc.bias.fill_(0.5)
    x = torch.randn(7, 5)
    assert enc.weight.shape == (3, 5)
    torch.testing.assert_close(enc(x), x @ enc.weight.T + 0.5)


def test_deep_linear_effective_weight_is_the_product():
    enc = DeepLinearEncoder(6, 4, depth=3, width=5)
    x = torch.randn(9, 6)
    w = enc.weights[2] @ enc.weights[1] @ enc.weights[0]
    torch.testing.assert_close(enc.effective_weight(), w)
    torch.testing.assert_close(enc(x), x @ w.T)
    assert [tuple(p.shape) for p in enc.weights] == [(5, 6), (5, 5), (4, 5)]


def test_images_are_flattened_for_linear_encoders():
    enc = LinearEncoder(16, 2)
    x = torch.randn(3, 1, 4, 4)
    torch.testing.assert_close(enc(x), x.flatten(1) @ enc.weight.T)


def test_resnet18_cifar_stem_keeps_resolution_and_gives_512_features():
    net = ResNet18(in_channels=1)
    assert net.stem[0].kernel_size == (3, 3) and net.stem[0].stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 512)
    n_params = sum(p.numel() for p in net.parameters())
    assert 11.0e6 < n_params < 11.3e6  # ResNet-18 has ~11.2 M parameters


def test_mlp_with_projector_and_decayed_parameters():
    model = SSLModel(MLPBackbone(10, [8, 8]), projector(8, 16, 4))
    x = torch.randn(5, 10)
    assert model.represent(x).shape == (5, 8) and model.embed(x).shape == (5, 4)
    assert all(p.ndim >= 2 for p in model.decayed_parameters())
    assert model.effective_weight() is None


def test_ema_target_update_is_a_lerp():
    model = SSLModel(LinearEncoder(3, 3), predictor=linear_predictor(3))
    target = EMATarget(model, decay=0.9)
    assert target.model.predictor is None
    before = target.model.backbone.weight.clone()
    with torch.no_grad():
        model.backbone.weight.add_(1.0)
    target.update(model)
    torch.testing.assert_close(target.model.backbone.weight, 0.9 * before + 0.1 * model.backbone.weight)
    assert not any(p.requires_grad for p in target.parameters())
