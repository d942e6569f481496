"""``xscreen quantize``: an int8 bundle that serving loads unchanged, close to its fp32 parent.

The parent is a tiny detector trained for a few seconds on the tiny shapes dataset (it finds those
shapes: mAP50 about 0.9 on them), so that "close" has a meaning: the int8 model's best box on each
image overlaps the fp32 model's (IoU > 0.5, same class, scores within 0.15), and the scores of the
matched detections move together. A tiny model's 8-bit rounding is coarse; these are the
tolerances it meets, not the real model's accuracy cost, which ``xscreen eval`` measures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import train_tiny
from onnx import numpy_helper

from xscreen.cli import main
from xscreen.errors import ModelBundleError
from xscreen.models.card import card_from_dict, load_bundle
from xscreen.models.runtime import OnnxDetector
from xscreen.training.data import read_rgb
from xscreen.training.quantize import calibration_images

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_threads_restored")]


@pytest.fixture(scope="module")
def fp32_bundle(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = train_tiny(tmp_path_factory.mktemp("quantize") / "run", tiny_dataset, epochs=30)
    out = run.parent / "fp32"
    assert main(["export", str(run), "--out", str(out), "--version", "t1"]) == 0
    return out


@pytest.fixture(scope="module")
def int8_bundle(fp32_bundle: Path, tiny_dataset: Path) -> Path:
    out = fp32_bundle.parent / "int8"
    assert main(["quantize", str(fp32_bundle), "--calibration", str(tiny_dataset),
                 "--out", str(out)]) == 0
    return out


def test_card_says_int8_and_verifies(fp32_bundle: Path, int8_bundle: Path,
                                     tiny_dataset: Path) -> None:
    parent, child = load_bundle(fp32_bundle).card, load_bundle(int8_bundle).card  # sha256 checked
    assert {p.name for p in int8_bundle.iterdir()} == {"model.onnx", "model.json"}
    assert (parent.precision, child.precision) == ("fp32", "int8")
    assert child.sha256 != parent.sha256
    assert child.quantization["parent"] == {"name": parent.name, "version": parent.version,
                                            "sha256": parent.sha256}
    # the dataset holds fewer than the default 100 images: all of them calibrate
    assert child.quantization["calibration"]["images"] == len(list(
        (tiny_dataset / "images").iterdir()))
    assert child.quantization["calibration"]["data"] == str(tiny_dataset.resolve())
    assert "--write-thresholds" in child.quantization["note"]
    assert (child.thresholds, child.classes, child.input_size, child.letterbox_stride) == (
        parent.thresholds, parent.classes, parent.input_size, parent.letterbox_stride)
    assert child.version == "t1-int8" and child.metrics == {}


def test_graph_is_qdq_with_float_detections(int8_bundle: Path) -> None:
    graph = onnx.load(str(int8_bundle / "model.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("QuantizeLinear") > 0 and ops.count("DequantizeLinear") > 0
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    producers = {output: node for node in graph.node for output in node.output}
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    predictions = [c for c in convs if any(part in c.name for part in
                                           ("class_logits", "box_distances", "centerness"))]
    assert len(predictions) == 9      # three 1x1 predictions at each of three levels
    for conv in convs:
        weight_from = producers.get(conv.input[1])
        if conv in predictions:       # the last predictions stay float: boxes are decoded from them
            assert weight_from is None
            assert initializers[conv.input[1]].data_type == onnx.TensorProto.FLOAT
        else:                          # every other convolution runs on int8 weights
            assert weight_from is not None and weight_from.op_type == "DequantizeLinear"
            int8_weight = initializers[weight_from.input[0]]
            assert int8_weight.data_type == onnx.TensorProto.INT8
    # nothing of the decoding and NMS is rounded to 8 bits, on its way in or out
    decoding = {"Exp", "Sigmoid", "Sqrt", "TopK", "NonMaxSuppression", "GatherElements"}
    for node in graph.node:
        sources = {producers[name].op_type for name in node.input if name in producers}
        if node.op_type == "QuantizeLinear":
            assert not sources & decoding
        if node.op_type in decoding:
            assert "DequantizeLinear" not in sources


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    left_top = np.maximum(box[:2], boxes[:, :2])
    right_bottom = np.minimum(box[2:], boxes[:, 2:])
    inter = np.clip(right_bottom - left_top, 0, None).prod(axis=1)
    union = (box[2:] - box[:2]).prod() + (boxes[:, 2:] - boxes[:, :2]).prod(axis=1) - inter
    return np.asarray(inter / union)


def test_detections_are_close_to_fp32(fp32_bundle: Path, int8_bundle: Path,
                                      tiny_dataset: Path) -> None:
    fp32, int8 = OnnxDetector(fp32_bundle, threads=1), OnnxDetector(int8_bundle, threads=1)
    matched_scores = []
    for path in sorted((tiny_dataset / "images").iterdir()):
        image = read_rgb(path)
        expected, actual = fp32.detect_all(image), int8.detect_all(image)
        assert actual.boxes.dtype == np.float32
        assert expected.scores[0] > 0.3              # a clear object: the parent finds it
        same_class = actual.labels == expected.labels[0]
        overlaps = _iou(expected.boxes[0], actual.boxes[same_class])
        best = int(overlaps.argmax())
        assert overlaps[best] > 0.5
        assert abs(actual.scores[same_class][best] - expected.scores[0]) < 0.15
        for box, score, label in zip(expected.boxes, expected.scores, expected.labels,
                                     strict=True):
            if score < 0.1:
                break
            same = actual.labels == label
            if same.any():
                overlaps = _iou(box, actual.boxes[same])
                if overlaps.max() > 0.5:
                    matched_scores.append((score, actual.scores[same][overlaps.argmax()]))
    scores = np.asarray(matched_scores)
    assert len(scores) >= 8 and np.corrcoef(scores[:, 0], scores[:, 1])[0, 1] > 0.9


def test_per_tensor_weights_on_request(fp32_bundle: Path, tiny_dataset: Path,
                                       tmp_path: Path) -> None:
    out = tmp_path / "int8"
    assert main(["quantize", str(fp32_bundle), "--calibration", str(tiny_dataset), "--out",
                 str(out), "--images", "3", "--no-per-channel"]) == 0
    card = load_bundle(out).card
    assert card.quantization["per_channel"] is False and card.quantization["calibration"][
        "images"] == 3
    graph = onnx.load(str(out / "model.onnx")).graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    weight_scales = [numpy_helper.to_array(initializers[node.input[1]]).size
                     for node in graph.node if node.op_type == "DequantizeLinear"
                     and initializers.get(node.input[0]) is not None
                     and initializers[node.input[0]].data_type == onnx.TensorProto.INT8]
    assert weight_scales and set(weight_scales) == {1}


@pytest.mark.parametrize(("count", "names", "expected"), [
    (2, 5, ["i0", "i4"]),                   # spread over the sorted names
    (3, 5, ["i0", "i2", "i4"]),
    (100, 2, ["i0", "i1"]),                 # fewer than asked: all of them
])
def test_calibration_images_spread(tmp_path: Path, count: int, names: int,
                                   expected: list[str]) -> None:
    (tmp_path / "images").mkdir()
    for index in range(names):
        (tmp_path / "images" / f"i{index}.png").write_bytes(b"")
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    assert [p.stem for p in calibration_images(tmp_path, count)] == expected


def _empty_images(tmp: Path) -> list[str]:
    (tmp / "empty" / "images").mkdir(parents=True)
    return ["--calibration", str(tmp / "empty")]


@pytest.mark.parametrize(("arguments", "message"), [
    (lambda tmp, fp32, data: [str(tmp / "absent"), "--calibration", str(data)],
     "does not exist"),
    (lambda tmp, fp32, data: [str(fp32), "--calibration", str(tmp / "nothing")],
     "images does not exist"),
    (lambda tmp, fp32, data: [str(fp32), *_empty_images(tmp)], "holds no images"),
    (lambda tmp, fp32, data: [str(fp32), "--calibration", str(data), "--images", "0"],
     "--images must be a positive number"),
])
def test_bad_input_is_refused(tmp_path: Path, fp32_bundle: Path, tiny_dataset: Path,
                              arguments: object, message: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = arguments(tmp_path, fp32_bundle, tiny_dataset)  # type: ignore[operator]
    assert main(["quantize", *argv, "--out", str(out)]) != 0
    assert message in capsys.readouterr().err
    assert not out.exists()        # nothing half-made is left behind


def test_existing_output_and_int8_parent_are_refused(fp32_bundle: Path, int8_bundle: Path,
                                                     tiny_dataset: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = (int8_bundle / "model.json").read_text()
    assert main(["quantize", str(fp32_bundle), "--calibration", str(tiny_dataset), "--out",
                 str(int8_bundle)]) != 0
    assert "not empty" in capsys.readouterr().err
    assert (int8_bundle / "model.json").read_text() == before
    assert main(["quantize", str(int8_bundle), "--calibration", str(tiny_dataset), "--out",
                 str(tmp_path / "again")]) != 0
    assert "already int8" in capsys.readouterr().err


def test_old_cards_are_fp32_and_bad_precision_is_refused(
        fp32_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = json.loads((fp32_bundle / "model.json").read_text())
    old = {k: v for k, v in values.items() if k not in ("precision", "quantization")}
    assert card_from_dict(old).precision == "fp32"    # cards written before the field still load
    with pytest.raises(ModelBundleError, match="precision: must be one of"):
        card_from_dict({**values, "precision": "int4"})
    damaged = tmp_path / "damaged"
    shutil.copytree(fp32_bundle, damaged)
    (damaged / "model.json").write_text(json.dumps({**values, "quantization": [1]}))
    assert main(["quantize", str(damaged), "--calibration", str(damaged), "--out",
                 str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err
    assert "quantization" in err and "valid dictionary" in err, err


@pytest.mark.parametrize("stride", [None, 64])
def test_int8_cards_keep_the_parents_letterbox_stride(stride: int | None) -> None:
    from xscreen.models.card import ModelCard
    from xscreen.training.quantize import int8_card

    values = {"name": "m", "version": "1", "classes": ["firearm"], "input_size": 128,
              "sha256": "0" * 64, "lineage": {"gate": {"passed": True}}}
    parent = ModelCard(**values, **({} if stride is None else {"letterbox_stride": stride}))
    child = int8_card(parent, "1" * 64, {"format": "QDQ"}, None)
    assert (child.precision, child.version, child.lineage) == ("int8", "1-int8", {})
    assert child.letterbox_stride == (stride or 32)
    assert ("letterbox_stride" in child.to_dict()) == (stride is not None)  # old cards stay so


def test_calibration_scans_are_letterboxed_to_the_cards_stride(tiny_dataset: Path) -> None:
    from xscreen.training.quantize import letterboxed

    scans = calibration_images(tiny_dataset, 3)
    for stride in (32, 64):
        shapes = [batch.shape for batch in letterboxed(scans, 128, stride)]
        assert len(shapes) == 3 and all(shape[:2] == (1, 3) and max(shape[2:]) == 128
                                        and shape[2] % stride == shape[3] % stride == 0
                                        for shape in shapes)
