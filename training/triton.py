"""``xscreen export BUNDLE --triton DIR``: a Triton Inference Server model repository for a bundle.

Triton serves a model from ``DIR/<name>/config.pbtxt`` and ``DIR/<name>/<version>/model.onnx``.
The ONNX file is the bundle's, copied byte for byte (its sha256 is checked against the card first);
the config is written from the graph itself (input and output names, data types, shapes as
ONNX Runtime reads them), so it cannot disagree with the model. The card travels beside the
config as ``model.json`` (Triton ignores files it does not know): a client calling Triton directly
reads the classes, input size, padding and per-class thresholds there.

Batching: Triton's dynamic batcher stacks requests along a first, batch dimension, so the config
asks for it (``max_batch_size`` > 0, shapes written without that dimension) only when every input
and output of the graph has a dynamic first dimension. xscreen's graphs do: non-maximum
suppression runs per image inside the graph, and the service already batches them. A graph with
a fixed first dimension gets ``max_batch_size: 0`` (full shapes, no dynamic batching), which is
what Triton requires for it, and the reason is returned in ``TritonRepository.batching_note``.

Needs ONNX Runtime only (the ``serve`` install): no torch, no onnx.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xscreen.errors import ModelBundleError, UsageError
from xscreen.models.card import (
    CARD_FILE,
    MODEL_FILE,
    Bundle,
    file_sha256,
    load_bundle,
    save_card,
)

CONFIG_FILE = "config.pbtxt"
DEFAULT_MAX_BATCH = 8            # the service's own default (serving/settings.py max_batch)
DEFAULT_QUEUE_DELAY_US = 2000    # ... and its max_wait_ms of 2.0
KINDS = {"auto": "KIND_AUTO", "cpu": "KIND_CPU", "gpu": "KIND_GPU"}

# ONNX Runtime's type strings to Triton's (model_config.proto, enum DataType)
TRITON_TYPES = {
    "tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16", "tensor(double)": "TYPE_FP64",
    "tensor(bfloat16)": "TYPE_BF16", "tensor(int8)": "TYPE_INT8", "tensor(int16)": "TYPE_INT16",
    "tensor(int32)": "TYPE_INT32", "tensor(int64)": "TYPE_INT64", "tensor(uint8)": "TYPE_UINT8",
    "tensor(uint16)": "TYPE_UINT16", "tensor(uint32)": "TYPE_UINT32",
    "tensor(uint64)": "TYPE_UINT64", "tensor(bool)": "TYPE_BOOL", "tensor(string)": "TYPE_STRING",
}


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: its name, ONNX Runtime type and shape (-1 where dynamic)."""

    name: str
    onnx_type: str
    shape: tuple[int, ...]

    @property
    def triton_type(self) -> str:
        if self.onnx_type not in TRITON_TYPES:
            raise ModelBundleError(f"tensor {self.name!r} has type {self.onnx_type}, which "
                                   f"Triton cannot take; expected one of {sorted(TRITON_TYPES)}")
        return TRITON_TYPES[self.onnx_type]


@dataclass(frozen=True)
class TritonRepository:
    """What :func:`write_triton_repository` wrote."""

    root: Path
    model_name: str
    config_path: Path
    model_path: Path
    max_batch_size: int
    batching_note: str


def graph_tensors(model_path: str | Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The graph's inputs and outputs as ONNX Runtime reads them (symbolic dimensions -> -1)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])

    def spec(value: ort.NodeArg) -> TensorSpec:
        dims = tuple(d if isinstance(d, int) and d > 0 else -1 for d in value.shape)
        return TensorSpec(value.name, value.type, dims)

    return [spec(v) for v in session.get_inputs()], [spec(v) for v in session.get_outputs()]


def batch_layout(tensors: Sequence[TensorSpec], max_batch: int) -> tuple[int, str]:
    """``(max_batch_size, why)``: ``max_batch`` when every tensor's first dimension is dynamic
    (Triton may then stack requests along it), else 0."""
    fixed = [t.name for t in tensors if not t.shape or t.shape[0] != -1]
    if fixed:
        return 0, (f"max_batch_size 0: {', '.join(fixed)} {'has' if len(fixed) == 1 else 'have'}"
                   " no dynamic first (batch) dimension, so Triton sends one request per run")
    return max_batch, (f"max_batch_size {max_batch}: every input and output has a dynamic batch "
                       "dimension; Triton batches requests whose other dimensions match")


def config_text(model_name: str, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                max_batch_size: int, instances: int, kind: str,
                queue_delay_us: int = DEFAULT_QUEUE_DELAY_US) -> str:
    """The ``config.pbtxt`` (protobuf text format of Triton's ``inference.ModelConfig``)."""
    lines = [f'name: "{model_name}"', 'backend: "onnxruntime"',
             f"max_batch_size: {max_batch_size}"]
    lines += _tensor_blocks("input", inputs, max_batch_size > 0)
    lines += _tensor_blocks("output", outputs, max_batch_size > 0)
    lines += ["instance_group [", f"  {{ count: {instances} kind: {KINDS[kind]} }}", "]"]
    if max_batch_size > 0:
        lines += ["dynamic_batching {", f"  max_queue_delay_microseconds: {queue_delay_us}", "}"]
    return "\n".join(lines) + "\n"


def _tensor_blocks(field: str, tensors: Sequence[TensorSpec], batched: bool) -> list[str]:
    # With batching on, Triton's dims leave out the batch dimension (it adds it itself).
    blocks = []
    for tensor in tensors:
        dims = tensor.shape[1:] if batched else tensor.shape
        blocks.append(f'  {{ name: "{tensor.name}" data_type: {tensor.triton_type} '
                      f"dims: [ {', '.join(str(d) for d in dims)} ] }}")
    return [f"{field} [", ",\n".join(blocks), "]"]


def triton_model_name(name: str) -> str:
    """A model folder name Triton and URLs accept: letters, digits, ``-``, ``_`` and ``.``."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", name):
        raise UsageError(f"Triton model name {name!r} must be 1-128 letters, digits, '-', '_' "
                         "or '.', starting with a letter or digit; pass --triton-name NAME")
    return name


def open_bundle(path: str | Path) -> Bundle:
    """The bundle at ``path``; a training run passed by mistake gets the command that fixes it."""
    path = Path(path)
    if (path / "best.pt").is_file() and not (path / CARD_FILE).exists():
        raise UsageError(f"{path} is a training run, not a bundle; export it first with "
                         f"'xscreen export {path} --out BUNDLE', then 'xscreen export BUNDLE "
                         "--triton DIR'")
    return load_bundle(path)


def write_triton_repository(bundle_path: str | Path, out: str | Path,
                            model_name: str | None = None, max_batch: int = DEFAULT_MAX_BATCH,
                            instances: int = 1, kind: str = "auto",
                            version: int = 1) -> TritonRepository:
    """Write a Triton model repository for the bundle at ``bundle_path`` into the new or empty
    folder ``out``: ``out/<name>/config.pbtxt``, ``out/<name>/model.json`` (the card) and
    ``out/<name>/<version>/model.onnx`` (the bundle's file, byte for byte)."""
    _check_numbers(max_batch, instances, version, kind)
    bundle = open_bundle(bundle_path)
    name = triton_model_name(model_name or bundle.card.name)
    inputs, outputs = graph_tensors(bundle.model_path)
    max_batch_size, note = batch_layout([*inputs, *outputs], max_batch)
    text = config_text(name, inputs, outputs, max_batch_size, instances, kind)

    from xscreen.datasets.coco import prepare_output_folder

    model_dir = prepare_output_folder(out) / name
    (model_dir / str(version)).mkdir(parents=True)
    model_path = model_dir / str(version) / MODEL_FILE
    shutil.copyfile(bundle.model_path, model_path)
    if file_sha256(model_path) != bundle.card.sha256:   # a full disk or a file changed mid-copy
        raise ModelBundleError(f"the copy {model_path} does not match the card's sha256; "
                               "check the free space in DIR and export again")
    save_card(bundle.card, model_dir / CARD_FILE)
    config_path = model_dir / CONFIG_FILE
    config_path.write_text(text)
    return TritonRepository(Path(out), name, config_path, model_path, max_batch_size, note)


def _check_numbers(max_batch: int, instances: int, version: int, kind: str) -> None:
    if max_batch < 1:
        raise UsageError(f"--max-batch must be at least 1, got {max_batch}")
    if instances < 1:
        raise UsageError(f"--instances must be at least 1, got {instances}")
    if version < 1:
        raise UsageError(f"--triton-version must be a positive integer, got {version}")
    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
