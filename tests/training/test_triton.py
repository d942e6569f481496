"""``xscreen export BUNDLE --triton DIR``: the repository Triton would load, checked against
Triton's own ``ModelConfig`` protobuf (shipped by ``tritonclient``) and against the ONNX graph
read with ``onnx`` (not ONNX Runtime, which the exporter itself uses)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import onnx
import pytest
import tritonclient
from conftest import write_fake_bundle, write_tiny_dataset
from google.protobuf import text_format

from xscreen.cli import main as cli_main
from xscreen.errors import ModelBundleError, OutputExistsError, UsageError
from xscreen.models.card import load_card
from xscreen.models.preprocess import letterbox
from xscreen.training.triton import TensorSpec, batch_layout, config_text, write_triton_repository

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "default"
ONNX_TO_TRITON = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16",
                  onnx.TensorProto.INT64: "TYPE_INT64", onnx.TensorProto.UINT8: "TYPE_UINT8"}


def triton_model_config() -> ModuleType:
    """Triton's ``model_config_pb2``, loaded from its file: ``tritonclient.grpc``'s package
    imports grpcio, which the plain ``tritonclient`` install (all the test needs) leaves out."""
    path = Path(tritonclient.__file__).parent / "grpc" / "model_config_pb2.py"
    spec = importlib.util.spec_from_file_location("triton_model_config_pb2", path)
    assert spec is not None and spec.loader is not None, f"tritonclient lacks {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_config(path: Path) -> Any:
    """The config as Triton reads it: text format into ``inference.ModelConfig``, where an
    unknown field or a bad enum value is an error."""
    pb2 = triton_model_config()
    return text_format.Parse(path.read_text(), pb2.ModelConfig()), pb2


def graph_dims(value: onnx.ValueInfoProto) -> list[int]:
    return [d.dim_value if d.HasField("dim_value") else -1
            for d in value.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("triton") / "repo"
    assert cli_main(["export", str(DEFAULT_BUNDLE), "--triton", str(out)]) == 0
    return out


def test_the_config_parses_as_tritons_model_config_and_matches_the_graph(
        repository: Path) -> None:
    card = load_card(DEFAULT_BUNDLE / "model.json")
    config, pb2 = parse_config(repository / card.name / "config.pbtxt")
    graph = onnx.load(DEFAULT_BUNDLE / "model.onnx").graph
    assert config.name == card.name and config.backend == "onnxruntime"
    assert config.max_batch_size == 8
    for written, declared in [(config.input, graph.input), (config.output, graph.output)]:
        assert [t.name for t in written] == [v.name for v in declared]
        for tensor, value in zip(written, declared, strict=True):
            assert pb2.DataType.Name(tensor.data_type) == ONNX_TO_TRITON[
                value.type.tensor_type.elem_type]
            assert graph_dims(value)[0] == -1                 # the batch Triton adds back
            assert list(tensor.dims) == graph_dims(value)[1:]
    assert [(g.count, pb2.ModelInstanceGroup.Kind.Name(g.kind))
            for g in config.instance_group] == [(1, "KIND_AUTO")]
    assert config.HasField("dynamic_batching")
    assert config.dynamic_batching.max_queue_delay_microseconds == 2000


def test_the_version_folder_holds_the_bundles_onnx_byte_for_byte_and_the_card(
        repository: Path) -> None:
    card = load_card(DEFAULT_BUNDLE / "model.json")
    model_dir = repository / card.name
    assert (model_dir / "1" / "model.onnx").read_bytes() == (
        DEFAULT_BUNDLE / "model.onnx").read_bytes()
    assert load_card(model_dir / "model.json") == card
    assert sorted(p.name for p in model_dir.iterdir()) == ["1", "config.pbtxt", "model.json"]


def test_the_graph_batches_images_independently(tmp_path: Path) -> None:
    """max_batch_size > 0 is honest only if NMS inside the graph keeps images apart: two scans
    run together give the rows each gives alone."""
    import onnxruntime as ort

    data = write_tiny_dataset(tmp_path / "data", count=2, seed=3)
    images = [letterbox(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), 128,
                        square=True)[0] for p in sorted((data / "images").glob("*.png"))]
    session = ort.InferenceSession(str(DEFAULT_BUNDLE / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    together = session.run(None, {"images": np.stack(images)})[0]
    alone = [session.run(None, {"images": image[None]})[0][0] for image in images]
    assert not np.allclose(alone[0], alone[1])              # two different answers to keep apart
    for index, rows in enumerate(alone):
        np.testing.assert_allclose(together[index], rows, atol=1e-4)


@pytest.mark.parametrize(("shapes", "expected_batch"), [
    ([(-1, 3, -1, -1), (-1, 100, 6)], 8),
    ([(1, 3, 512, 512), (1, 100, 6)], 0),      # exported with a fixed batch of one
    ([(-1, 3, -1, -1), (100, 6)], 0),          # an output without a batch dimension
    ([(-1, 3, -1, -1), ()], 0),                # a scalar output
])
def test_batching_needs_a_dynamic_first_dimension_everywhere(
        shapes: list[tuple[int, ...]], expected_batch: int, tmp_path: Path) -> None:
    inputs = [TensorSpec("images", "tensor(float)", shapes[0])]
    outputs = [TensorSpec("detections", "tensor(float)", shapes[1])]
    max_batch, note = batch_layout([*inputs, *outputs], 8)
    assert max_batch == expected_batch
    assert f"max_batch_size {expected_batch}" in note
    path = tmp_path / "config.pbtxt"
    path.write_text(config_text("m", inputs, outputs, max_batch, 2, "gpu"))
    config, pb2 = parse_config(path)
    assert config.max_batch_size == expected_batch
    dims = [list(s[1:]) if expected_batch else list(s) for s in shapes]
    assert [list(config.input[0].dims), list(config.output[0].dims)] == dims
    assert config.HasField("dynamic_batching") == (expected_batch > 0)
    assert pb2.ModelInstanceGroup.Kind.Name(config.instance_group[0].kind) == "KIND_GPU"


def damaged_bundle(tmp_path: Path) -> Path:
    bundle = write_fake_bundle(tmp_path / "damaged", [[1, 2, 3, 4, 0.9, 0]])
    with (bundle / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    return bundle


def training_run(tmp_path: Path) -> Path:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "best.pt").write_bytes(b"")
    return tmp_path / "run"


def full_folder(tmp_path: Path) -> Path:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("someone's file")
    return tmp_path / "full"


def a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("")
    return tmp_path / "file"


@pytest.mark.parametrize(("bundle", "out", "options", "error", "words"), [
    (lambda t: t / "missing", None, {}, ModelBundleError, "does not exist"),
    (lambda t: t, None, {}, ModelBundleError, "model.json is missing"),
    (damaged_bundle, None, {}, ModelBundleError, "does not match its card"),
    (training_run, None, {}, UsageError, "export it first"),
    (None, full_folder, {}, OutputExistsError, "not empty"),
    (None, a_file, {}, OutputExistsError, "not a folder"),
    (None, None, {"model_name": "bad name/.."}, UsageError, "--triton-name"),
    (None, None, {"max_batch": 0}, UsageError, "--max-batch"),
    (None, None, {"instances": 0}, UsageError, "--instances"),
    (None, None, {"version": 0}, UsageError, "--triton-version"),
    (None, None, {"kind": "tpu"}, UsageError, "--kind"),
])
def test_bad_input_names_the_fix(bundle: Any, out: Any, options: dict[str, Any],
                                 error: type[Exception], words: str, tmp_path: Path) -> None:
    source = bundle(tmp_path) if bundle else write_fake_bundle(tmp_path / "ok", [])
    target = out(tmp_path) if out else tmp_path / "repo"
    with pytest.raises(error, match=words):
        write_triton_repository(source, target, **options)
    if out is None:
        assert not target.exists()                 # nothing half-written for a bad bundle


@pytest.mark.parametrize(("args", "words"), [
    (["{bundle}"], "needs --out BUNDLE"),
    (["{bundle}", "--triton", "{tmp}/t", "--out", "{tmp}/b"], "drop --out"),
    (["{bundle}", "--triton", "{tmp}/t", "--dynamo"], "drop --dynamo"),
])
def test_the_cli_refuses_mixed_options(args: list[str], words: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_fake_bundle(tmp_path / "bundle", [])
    argv = ["export", *[a.format(bundle=bundle, tmp=tmp_path) for a in args]]
    assert cli_main(argv) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


# the CLI with the training packages unimportable, as on a `serve` install (the container)
BLOCKED_RUN = """
import importlib.abc, sys
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {"torch", "torchvision", "onnx", "albumentations"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from xscreen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_export_runs_on_the_serve_install(tmp_path: Path) -> None:
    bundle = write_fake_bundle(tmp_path / "bundle", [[1, 2, 3, 4, 0.9, 0]])
    done = subprocess.run([sys.executable, "-c", BLOCKED_RUN, "export", str(bundle),
                           "--triton", str(tmp_path / "repo"), "--triton-name", "xs"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    config, _ = parse_config(tmp_path / "repo" / "xs" / "config.pbtxt")
    assert config.name == "xs" and config.max_batch_size == 8
    assert [list(o.dims) for o in config.output] == [[10, 6]]


def test_the_client_recipe_of_docs_deploy_gives_the_services_detections(tmp_path: Path) -> None:
    """docs/deploy.md's direct-Triton client (square letterbox, rows back to the scan, card
    thresholds), with ONNX Runtime standing in for Triton, against the service's own detector."""
    import onnxruntime as ort

    from xscreen.models.runtime import OnnxDetector, apply_thresholds, rows_to_detections

    data = write_tiny_dataset(tmp_path / "data", count=1, seed=5, width=160, height=96)
    rgb = cv2.cvtColor(cv2.imread(str(next((data / "images").glob("*.png")))),
                       cv2.COLOR_BGR2RGB)
    card = load_card(DEFAULT_BUNDLE / "model.json")
    # below the card's thresholds, to have boxes to compare; not lower: the square padding
    # moves the scores of faint detections by up to 0.01 against the service's rectangular one
    low = dict.fromkeys(card.classes, 0.25)
    session = ort.InferenceSession(str(DEFAULT_BUNDLE / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    array, placed = letterbox(rgb, card.input_size, square=True)
    rows = session.run(None, {"images": array[None]})[0][0]
    client = apply_thresholds(rows_to_detections(rows, placed, rgb.shape[1], rgb.shape[0]),
                              [low[name] for name in card.classes])
    service = OnnxDetector(DEFAULT_BUNDLE).detect_all(rgb)
    service = apply_thresholds(service, [low[name] for name in card.classes])
    assert len(client) > 0 and len(client) == len(service)
    # the same detections, matched one to one (near-equal scores may come in another order)
    unmatched = list(range(len(service)))
    for box, score, label in zip(client.boxes, client.scores, client.labels, strict=True):
        match = next((j for j in unmatched if service.labels[j] == label
                      and np.abs(service.boxes[j] - box).max() <= 0.5
                      and abs(service.scores[j] - score) <= 5e-3), None)
        assert match is not None, (box, score, label)
        unmatched.remove(match)
