"""Static int8 quantisation of a bundle for CPU speed: a new bundle, same contract, int8 inside.

``bundle -> quant_pre_process -> quantize_static (QDQ, calibrated on letterboxed scans) -> checks
-> model.onnx + model.json (precision "int8")``.

Why these settings (ONNX Runtime 1.32's ``quantize_static`` guidance for x86 CPUs with VNNI, as
customs sites' servers and this machine have): QDQ format, unsigned 8-bit activations, signed
8-bit weights per output channel, no range reduction (``--reduce-range`` for CPUs without VNNI,
where 8-bit products can saturate). ``quant_pre_process`` first folds and fuses the graph; without
it int8 was 2-3x slower than fp32 here (../shared/FIELD-NOTES.md). Its symbolic shape inference
cannot follow the data-dependent sizes of the NMS, so only that step is skipped.

What stays float: every node from which no convolution can be reached, i.e. the head's last 1x1
predictions and all the postprocessing after them (box decoding, scores, top-k, NMS). Rounding
log-distances to 8 bits before ``exp`` would move box edges by a few per cent, and the contract's
``detections`` are float32 coordinates; those nodes cost little time anyway.

The calibration scans are read and letterboxed exactly as serving does (``models/preprocess``), at
the parent card's input size. Thresholds are copied from the parent and should be re-chosen on a
validation set (``xscreen eval BUNDLE VAL --write-thresholds``): int8 shifts scores a little.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xscreen.errors import DatasetError, ModelBundleError, UsageError
from xscreen.models.boxes import box_iou
from xscreen.models.card import (
    CARD_FILE,
    MODEL_FILE,
    Bundle,
    ModelCard,
    file_sha256,
    load_bundle,
    save_card,
)
from xscreen.models.preprocess import STRIDE, letterbox
from xscreen.models.runtime import INPUT_NAME, OUTPUT_NAME, create_session

if TYPE_CHECKING:   # onnx is the train install's; the CLI's parser must load without it
    import onnx

DEFAULT_IMAGES = 100
AGREEMENT_IMAGES = 8          # calibration scans on which int8 and fp32 outputs are compared
AGREEMENT_MIN_SCORE = 0.3     # fp32 detections compared: those an operator might see
THRESHOLD_NOTE = ("thresholds copied from the parent's card; re-choose them for this model with "
                  "'xscreen eval BUNDLE VAL --write-thresholds'")


@dataclass(frozen=True)
class QuantizeResult:
    """What :func:`quantize_bundle` made: the new card, and how much of the graph stayed float."""

    card: ModelCard
    float_nodes: int
    quantize_nodes: int


def calibration_images(data: str | Path, count: int) -> list[Path]:
    """``count`` image files of ``DATA/images``, spread evenly over its sorted names (all of
    them when it holds fewer)."""
    from xscreen.datasets.importers import IMAGE_SUFFIXES

    if count <= 0:
        raise UsageError(f"--images must be a positive number of calibration scans, got {count}")
    folder = Path(data) / "images"
    if not folder.is_dir():
        raise DatasetError(f"{folder} does not exist; pass a COCO dataset folder whose images/ "
                           "holds scans like those served (e.g. one made by 'xscreen synth')")
    paths = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise DatasetError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                           "calibration needs scans like those served")
    picks = np.linspace(0, len(paths) - 1, min(count, len(paths))).round().astype(int)
    return [paths[i] for i in picks]


def letterboxed(paths: list[Path], input_size: int,
                stride: int = STRIDE) -> Iterator[np.ndarray]:
    """Each scan as serving feeds it to the graph (``stride``: the card's letterbox stride):
    ``[1, 3, H, W]`` float32 in 0-1."""
    from xscreen.models.imageio import read_dataset_rgb as read_rgb

    for path in paths:
        array, _ = letterbox(read_rgb(path), input_size, stride=stride)
        yield array[None]


def float_tail_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes from which no ``Conv`` can be reached: the last predictions and the
    postprocessing. Found by the graph's shape, not by names, so any backbone and head qualify.

    ONNX lists nodes in topological order, so one backward pass sees each node's consumers first.
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    reaches_conv: dict[int, bool] = {}
    for node in reversed(model.graph.node):
        following = [c for output in node.output for c in consumers.get(output, [])]
        reaches_conv[id(node)] = any(c.op_type == "Conv" or reaches_conv.get(id(c), False)
                                     for c in following)
    return [node.name for node in model.graph.node if not reaches_conv[id(node)]]


def name_nodes(model: onnx.ModelProto) -> None:
    """Give every unnamed node a unique name: quantisation excludes nodes by name."""
    taken = {node.name for node in model.graph.node}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_unnamed_{index}"
            while node.name in taken:
                node.name += "_"
            taken.add(node.name)


def prepare_graph(source: Path, target: Path) -> onnx.ModelProto:
    """``quant_pre_process`` (graph optimisation and ONNX shape inference) into ``target``."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        # The symbolic pass stops at the NMS's data-dependent sizes; the other two still run.
        quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    except Exception as error:  # ORT's tools raise bare Exceptions
        raise ModelBundleError(f"ONNX Runtime's quant_pre_process failed on {source}: "
                               f"{error}") from None
    model = onnx.load(str(target))
    name_nodes(model)
    onnx.save(model, str(target))
    return model


def quantize_graph(source: Path, target: Path, scans: list[Path], input_size: int,
                   per_channel: bool, reduce_range: bool,
                   stride: int = STRIDE) -> tuple[int, int]:
    """Prepare and quantise ``source`` into ``target``, calibrated on ``scans`` letterboxed
    to ``input_size`` and multiples of ``stride``; the number of nodes left float and the
    number of ``QuantizeLinear`` nodes inserted."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class ScanReader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = letterboxed(scans, input_size, stride)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    with tempfile.TemporaryDirectory(prefix="xscreen-quantize-") as scratch:
        prepared_path = Path(scratch) / "prepared.onnx"
        float_nodes = float_tail_nodes(prepare_graph(source, prepared_path))
        quantize_static(str(prepared_path), str(target), ScanReader(),
                        quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=float_nodes,
                        calibrate_method=CalibrationMethod.MinMax)
    inserted = sum(node.op_type == "QuantizeLinear" for node in onnx.load(str(target)).graph.node)
    if inserted == 0:
        raise ModelBundleError(f"quantisation of {source} inserted no QuantizeLinear node; the "
                               "graph has no convolution ONNX Runtime can quantise")
    return len(float_nodes), inserted


def agreement(parent: Path, quantized: Path, batches: list[np.ndarray]) -> dict[str, Any]:
    """How closely the int8 graph reproduces the fp32 one: for each fp32 detection scoring at
    least :data:`AGREEMENT_MIN_SCORE`, the best IoU of an int8 detection of the same class, and
    the score difference to it."""
    sessions = [create_session(path, threads=2) for path in (parent, quantized)]
    ious, score_differences = [], []
    for batch in batches:
        expected, actual = (s.run([OUTPUT_NAME], {INPUT_NAME: batch})[0][0] for s in sessions)
        for row in expected[expected[:, 4] >= AGREEMENT_MIN_SCORE]:
            same_class = actual[(actual[:, 5] == row[5]) & (actual[:, 4] > 0)]
            overlaps = box_iou(row[:4], same_class[:, :4])
            best = int(overlaps.argmax()) if len(overlaps) else -1
            ious.append(float(overlaps[best]) if best >= 0 else 0.0)
            score_differences.append(abs(float(same_class[best, 4] - row[4])) if best >= 0
                                     else float(row[4]))
    return {"images": len(batches), "detections": len(ious), "min_score": AGREEMENT_MIN_SCORE,
            "mean_iou": float(np.mean(ious)) if ious else None,
            "max_score_difference": max(score_differences, default=None)}


def int8_card(parent: ModelCard, sha256: str, quantization: dict[str, Any],
              version: str | None) -> ModelCard:
    """The parent's card for the int8 graph: same classes, input size, letterbox stride and
    thresholds; no metrics (the parent's do not describe this model); the lineage without the
    parent's gate, which judged the fp32 graph."""
    lineage = {key: value for key, value in parent.lineage.items() if key != "gate"}
    return parent.replace(
        version=version or f"{parent.version}-int8", sha256=sha256, metrics={},
        lineage=lineage, precision="int8", quantization=quantization,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"))


def quantize_bundle(bundle: str | Path, calibration: str | Path, out: str | Path,
                    images: int = DEFAULT_IMAGES, per_channel: bool = True,
                    reduce_range: bool = False, version: str | None = None) -> QuantizeResult:
    """Quantise ``bundle`` into the new (or empty) bundle folder ``out``, calibrated on up to
    ``images`` scans of the COCO dataset ``calibration``."""
    import onnxruntime

    from xscreen.datasets.coco import prepare_output_folder

    parent = load_bundle(bundle)
    if parent.card.precision != "fp32":
        raise UsageError(f"{bundle} is already {parent.card.precision}; quantise its fp32 "
                         f"parent ({parent.card.quantization.get('parent', {}).get('version')})")
    scans = calibration_images(calibration, images)
    folder = prepare_output_folder(out)
    try:
        return _write_bundle(parent, scans, Path(calibration), folder, per_channel, reduce_range,
                             version, onnxruntime.__version__)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)   # never leave a half-made bundle behind
        raise


def _write_bundle(parent: Bundle, scans: list[Path], calibration: Path, out: Path,
                  per_channel: bool, reduce_range: bool, version: str | None,
                  runtime_version: str) -> QuantizeResult:
    from xscreen.training.export import check_graph

    model_path = out / MODEL_FILE
    input_size, stride = parent.card.input_size, parent.card.letterbox_stride
    float_nodes, inserted = quantize_graph(parent.model_path, model_path, scans, input_size,
                                           per_channel, reduce_range, stride)
    check_graph(model_path)
    compared = list(letterboxed(scans[:AGREEMENT_IMAGES], input_size, stride))
    quantization = {
        "parent": {"name": parent.card.name, "version": parent.card.version,
                   "sha256": parent.card.sha256},
        "calibration": {"data": str(calibration.resolve()), "images": len(scans)},
        "format": "QDQ", "activations": "uint8", "weights": "int8", "per_channel": per_channel,
        "reduce_range": reduce_range, "calibrate_method": "MinMax",
        "float_nodes": float_nodes, "quantize_nodes": inserted,
        "onnxruntime": runtime_version,
        "agreement_on_calibration_scans": agreement(parent.model_path, model_path, compared),
        "note": THRESHOLD_NOTE,
    }
    card = int8_card(parent.card, file_sha256(model_path), quantization, version)
    save_card(card, out / CARD_FILE)
    return QuantizeResult(card, float_nodes, inserted)
