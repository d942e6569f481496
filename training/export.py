"""Export a run's best weights to a bundle: ONNX graph, checks, parity with PyTorch, model card.

The ONNX graph is :class:`~xscreen.models.detector.ExportableDetector`, NMS included, with the
contract's input ``images`` [N, 3, H, W] and output ``detections`` [N, K, 6]. The TorchScript
exporter (``dynamo=False``) is the default. The dynamo exporter needs ``onnxscript`` (not a
dependency) and, tried with onnxscript 0.7.2, fails on this graph: torch.export stops at
torchvision's ``batched_nms`` size check (``Sym(4*u0) > 4000``, a data-dependent guard), as
../shared/FIELD-NOTES.md reports for torchvision's detectors.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from xscreen.errors import ModelBundleError, UsageError
from xscreen.models.card import (
    CARD_FILE,
    MODEL_FILE,
    WEIGHTS_FILE,
    ModelCard,
    file_sha256,
    save_card,
)
from xscreen.models.detector import Detector, ExportableDetector, build_model
from xscreen.models.preprocess import STRIDE, letterbox
from xscreen.models.runtime import INPUT_NAME, OUTPUT_NAME, create_session
from xscreen.training.checkpoint import load_checkpoint

OPSET = 17
MAX_BOX_DIFFERENCE = 0.5     # input pixels
MAX_SCORE_DIFFERENCE = 1e-3


def load_best(run_dir: str | Path) -> tuple[Detector, dict[str, Any]]:
    """The EMA model of ``RUN/best.pt`` in eval mode, and the checkpoint's metadata."""
    path = Path(run_dir) / "best.pt"
    if not Path(run_dir).is_dir():
        raise UsageError(f"run folder {run_dir} does not exist; train one with 'xscreen train'")
    if not path.is_file():
        raise UsageError(f"{path} is missing: the run has not finished an epoch or a time "
                         "budget yet; resume it with 'xscreen train --out RUN ...'")
    state = load_checkpoint(path)
    return model_from_checkpoint(state), state


def model_from_checkpoint(state: dict[str, Any]) -> Detector:
    """The detector that a ``best.pt`` (or a bundle's ``weights.pt``) holds, in eval mode."""
    # pretrained=False: the checkpoint's weights replace any pretrained ones
    model = build_model(state["model_name"], num_classes=len(state["classes"]), pretrained=False)
    model.load_state_dict(state["model"])
    return model.eval()


def export_onnx(model: Detector, path: str | Path, input_size: int, dynamo: bool = False) -> None:
    """Write the detector with its postprocessing as ONNX (dynamic batch, height and width)."""
    graph = ExportableDetector(model.to(memory_format=torch.contiguous_format)).eval()
    example = torch.full((1, 3, input_size, input_size), 1.0)
    if dynamo:
        _export_dynamo(graph, example, path)
        return
    with warnings.catch_warnings():
        # The TorchScript exporter announces its deprecation and traces torchvision's NMS
        # size check; neither changes the graph, which check_graph and the parity test verify.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(graph, (example,), str(path), input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], opset_version=OPSET, dynamo=False,
                          dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                                        OUTPUT_NAME: {0: "batch"}})


def _export_dynamo(graph: torch.nn.Module, example: torch.Tensor, path: str | Path) -> None:
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        raise UsageError("the dynamo exporter needs the onnxscript package; install it or "
                         "use the default TorchScript exporter") from None
    dims = {0: torch.export.Dim("batch"), 2: torch.export.Dim("height"),
            3: torch.export.Dim("width")}
    try:
        program = torch.onnx.export(graph, (example,), input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], opset_version=max(OPSET, 18),
                                    dynamic_shapes={"images": dims}, dynamo=True)
    except Exception as error:  # the dynamo exporter's failures come in many types
        raise UsageError(f"the dynamo exporter failed ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:200]}); use the default exporter") from None
    if program is None:
        raise UsageError("the dynamo exporter returned no program; use the default exporter")
    program.save(str(path))


def check_graph(path: str | Path) -> None:
    """``onnx.checker`` plus the contract: float32 ``images`` [N, 3, H, W] with dynamic N, H, W
    and float32 ``detections`` [N, K, 6]."""
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    inputs, outputs = model.graph.input, model.graph.output
    if [i.name for i in inputs] != [INPUT_NAME] or [o.name for o in outputs] != [OUTPUT_NAME]:
        raise ModelBundleError(f"graph has inputs {[i.name for i in inputs]} and outputs "
                               f"{[o.name for o in outputs]}; expected ['images'], ['detections']")
    image_dims = _dims(inputs[0])
    if len(image_dims) != 4 or image_dims[1] != 3 or any(isinstance(d, int)
                                                         for d in (image_dims[0], *image_dims[2:])):
        raise ModelBundleError(f"input 'images' has shape {image_dims}; expected [N, 3, H, W] "
                               "with N, H and W dynamic")
    output_dims = _dims(outputs[0])
    if len(output_dims) != 3 or output_dims[2] != 6:
        raise ModelBundleError(f"output 'detections' has shape {output_dims}; expected [N, K, 6]")
    float_type = onnx.TensorProto.FLOAT
    element_types = {inputs[0].type.tensor_type.elem_type, outputs[0].type.tensor_type.elem_type}
    if element_types != {float_type}:
        raise ModelBundleError("input and output must both be float32")


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    dims = value.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]


@dataclass
class Parity:
    """Largest differences between PyTorch and ONNX Runtime over the fixture images."""

    max_box_difference: float
    max_score_difference: float
    images: int
    compared_detections: int

    @property
    def ok(self) -> bool:
        return (self.max_box_difference <= MAX_BOX_DIFFERENCE
                and self.max_score_difference <= MAX_SCORE_DIFFERENCE)


def check_parity(model: Detector, onnx_path: str | Path, images: list[np.ndarray],
                 input_size: int, min_score: float = 0.05) -> Parity:
    """Run both on each image (letterboxed as serving does) and match detections row by row."""
    from xscreen.training.data import letterbox_stride

    stride = letterbox_stride(model)
    graph = ExportableDetector(model).eval()
    session = create_session(onnx_path, threads=2)
    box_difference, score_difference, compared = 0.0, 0.0, 0
    for image in images:
        array, _ = letterbox(image, input_size, stride=stride)
        with torch.no_grad():
            expected = graph(torch.from_numpy(array)[None])[0].numpy()
        actual = session.run([OUTPUT_NAME], {INPUT_NAME: array[None]})[0][0]
        boxes, scores, count = row_differences(expected, actual, min_score)
        box_difference = max(box_difference, boxes)
        score_difference = max(score_difference, scores)
        compared += count
    return Parity(box_difference, score_difference, len(images), compared)


def row_differences(expected: np.ndarray, actual: np.ndarray,
                     min_score: float) -> tuple[float, float, int]:
    """For each expected row above ``min_score``, the closest actual row of the same class.

    Matching rather than comparing by position: two near-equal scores may swap places. When all
    K rows are used, rows scoring near the K-th score may fall either side of the cut, so only
    rows clearly above it are compared.
    """
    box_difference, score_difference, count = 0.0, 0.0, 0
    cutoff = max(min_score, float(actual[-1, 4]) + 1e-3 if actual[-1, 4] > 0 else 0.0)
    for row in expected[expected[:, 4] > cutoff]:
        same_class = actual[actual[:, 5] == row[5]]
        if len(same_class) == 0:
            return float("inf"), float("inf"), count
        distance = np.abs(same_class[:, :4] - row[:4]).max(axis=1)
        best = same_class[int(distance.argmin())]
        box_difference = max(box_difference, float(distance.min()))
        score_difference = max(score_difference, float(abs(best[4] - row[4])))
        count += 1
    return box_difference, score_difference, count


def fixture_images(state: dict[str, Any], count: int = 4) -> list[np.ndarray]:
    """A few images of the run's own data (as validation reads them), else seeded noise."""
    from xscreen.datasets.coco import load_dataset
    from xscreen.errors import DatasetError
    from xscreen.training.data import read_rgb

    config = state.get("config", {})
    for folder in (config.get("val"), config.get("data")):
        if not folder:
            continue
        try:
            dataset = load_dataset(folder)
        except DatasetError:
            continue
        return [read_rgb(dataset.image_path(r)) for r in dataset.images[:count]]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (300, 400, 3), dtype=np.uint8) for _ in range(count)]


def make_card(state: dict[str, Any], sha256: str, version: str | None = None,
              letterbox_stride: int = STRIDE) -> ModelCard:
    """The bundle's card from the checkpoint's metadata and the model's letterbox stride
    (:func:`xscreen.training.data.letterbox_stride`). Thresholds start at 0.5, or at the
    parent's for a fine-tuned model (recalibrate with ``xscreen eval --write-thresholds``); a
    fine-tuned model's card carries its lineage (parent, data), and a model whose backbone
    started from pretrained weights their provenance (``pretrained``)."""
    config = state.get("config", {})
    classes = tuple(state["classes"])
    lineage = {key: dict(value) if isinstance(value, dict) else value
               for key, value in (state.get("lineage") or {}).items()}
    parent_thresholds = (lineage.get("parent") or {}).pop("thresholds", None) or {}
    thresholds = {name: float(parent_thresholds.get(name, 0.5)) for name in classes}
    training = {"model": state["model_name"], "data": config.get("data"), "val": config.get("val"),
                "seed": config.get("seed"), "epochs": config.get("epochs"),
                "minutes": config.get("minutes"), "steps": state.get("step"),
                "command": state.get("command"), "data_info": state.get("data_info"),
                "device": state.get("device", "cpu"), "ranks": state.get("ranks", 1),
                "replay": config.get("replay"), "init": config.get("init"),
                "config": config}   # everything else (augmentations, learning rate, ...)
    metrics = {"val_map50": state["val_map50"]} if state.get("val_map50") is not None else {}
    return ModelCard(name=state["model_name"].replace("_", "-"),
                     version=version or datetime.now(UTC).strftime("%Y.%m.%d-%H%M%S"),
                     classes=classes, input_size=int(state["input_size"]), sha256=sha256,
                     letterbox_stride=letterbox_stride,
                     thresholds=thresholds, metrics=metrics, training=training, lineage=lineage,
                     pretrained=dict(state.get("pretrained") or {}))


def export_run(run_dir: str | Path, out: str | Path, version: str | None = None,
               dynamo: bool = False) -> tuple[ModelCard, Parity]:
    """Export ``RUN/best.pt`` into the (new or empty) bundle folder ``out``."""
    from xscreen.datasets.coco import prepare_output_folder
    from xscreen.training.data import letterbox_stride

    model, state = load_best(run_dir)
    out = prepare_output_folder(out)
    onnx_path = out / MODEL_FILE
    export_onnx(model, onnx_path, int(state["input_size"]), dynamo=dynamo)
    check_graph(onnx_path)
    parity = check_parity(model, onnx_path, fixture_images(state), int(state["input_size"]))
    if not parity.ok:
        shutil.rmtree(out)
        raise ModelBundleError(f"ONNX Runtime and PyTorch disagree: max box difference "
                               f"{parity.max_box_difference:.4g} px, max score difference "
                               f"{parity.max_score_difference:.4g}; the export is not usable")
    card = make_card(state, file_sha256(onnx_path), version, letterbox_stride(model))
    save_card(card, out / CARD_FILE)
    torch.save({k: state[k] for k in ("model", "model_name", "input_size", "classes")},
               out / WEIGHTS_FILE)
    return card, parity
