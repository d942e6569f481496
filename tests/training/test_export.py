"""``xscreen export``: the ONNX graph meets the contract and agrees with PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import yaml
from conftest import train_tiny

from xscreen.cli import main
from xscreen.models.card import load_bundle
from xscreen.models.detector import Detector, ExportableDetector, build_model
from xscreen.training.export import check_graph, export_onnx, row_differences

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_threads_restored")]


@pytest.fixture(scope="module")
def trained_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("export") / "run", tiny_dataset, epochs=1,
                      config="augment: {zoom: 0.25}\n")


@pytest.fixture(scope="module")
def bundle(trained_run: Path) -> Path:
    out = trained_run.parent / "bundle"
    assert main(["export", str(trained_run), "--out", str(out), "--version", "t1"]) == 0
    return out


def test_bundle_files_and_card(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {p.name for p in bundle.iterdir()} == {"model.onnx", "model.json", "weights.pt"}
    card = load_bundle(bundle).card
    assert (card.name, card.version, card.input_size) == ("xscreen-tiny", "t1", 128)
    assert card.training["model"] == "xscreen_tiny" and card.training["seed"] == 0
    assert "xscreen train" in card.training["command"]
    # the whole configuration, YAML overlay included, so the card says how to repeat the run
    assert card.training["config"]["augment"]["zoom"] == 0.25
    assert card.training["config"]["warmup_steps"] == 2
    assert set(card.thresholds) == set(card.classes)
    # the detector's coarsest stride, written into the card for serving's letterbox
    assert card.letterbox_stride == max(build_model("xscreen_tiny").strides)
    assert json.loads((bundle / "model.json").read_text())["letterbox_stride"] == 32


def test_graph_has_the_contract_io(bundle: Path) -> None:
    model = onnx.load(str(bundle / "model.onnx"))
    (images,), (detections,) = model.graph.input, model.graph.output
    assert (images.name, detections.name) == ("images", "detections")
    assert images.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = images.type.tensor_type.shape.dim
    assert dims[1].dim_value == 3
    assert all(d.dim_param and not d.dim_value for d in (dims[0], dims[2], dims[3]))
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= 17


@pytest.fixture(scope="module")
def spread_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Detector, Path]:
    """A tiny detector whose scores spread widely (random convolutions, std 0.2: scores from
    about 0.2 to 1 over the top 100), and its ONNX file. An untrained model's near-equal scores
    would make a row-by-row comparison meaningless."""
    torch.manual_seed(0)
    model = build_model("xscreen_tiny").eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.ndim == 4:
                parameter.normal_(0, 0.2)
    path = tmp_path_factory.mktemp("spread") / "model.onnx"
    export_onnx(model, path, input_size=128)
    check_graph(path)
    return model, path


@pytest.mark.parametrize(("batch", "height", "width"), [(1, 128, 128), (2, 96, 128),
                                                         (1, 64, 160)])
def test_dynamic_shapes_and_parity(spread_model: tuple[Detector, Path], batch: int, height: int,
                                   width: int) -> None:
    model, path = spread_model
    images = np.random.default_rng(batch).random((batch, 3, height, width), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(["detections"], {"images": images})[0]
    with torch.no_grad():
        expected = ExportableDetector(model).eval()(torch.from_numpy(images)).numpy()
    assert actual.shape == (batch, 100, 6) and actual.dtype == np.float32
    for expected_rows, actual_rows in zip(expected, actual, strict=True):
        # rows are matched, not compared by position: near-equal scores may swap places
        boxes, scores, compared = row_differences(expected_rows, actual_rows, min_score=0.05)
        # random weights make huge boxes: float32 rounding grows with the coordinates
        scale = max(1.0, float(np.abs(expected_rows[:, :4]).max()))
        assert compared >= 10 and boxes < 1e-5 * scale and scores < 1e-4
    assert (np.diff(actual[..., 4], axis=1) <= 1e-6).all()      # sorted by score


def test_export_prints_parity(trained_run: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(trained_run), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "max box difference" in out and "max score difference" in out


def test_init_from_bundle_fine_tunes(bundle: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("warmup_steps: 2\nworkers: 0\nthreads: 1\naugment: {zoom: 0.25}\n")
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "ft"),
                 "--model", "xscreen_tiny", "--input-size", "128", "--batch", "4", "--epochs", "1",
                 "--init", str(bundle), "--config", str(config)]) == 0


def test_init_trains_the_parents_architecture_unless_told_otherwise(
        bundle: Path, tiny_dataset: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`xscreen train --init models/default` (as docs/retraining.md says) fine-tunes whatever the
    default is: the parent here is xscreen_tiny at 128 px, the defaults xscreen_s at 512."""
    config = tmp_path / "c.yaml"
    config.write_text("warmup_steps: 2\nworkers: 0\nthreads: 1\n")
    run = tmp_path / "ft"
    assert main(["train", "--data", str(tiny_dataset), "--out", str(run), "--batch", "4",
                 "--epochs", "1", "--init", str(bundle), "--config", str(config)]) == 0
    assert "training its architecture, model xscreen_tiny, input_size 128" in \
        capsys.readouterr().err
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"] == "xscreen_tiny" and saved["input_size"] == 128
    # naming another architecture is refused with what to do, not a bare state-dict dump
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "other"),
                 "--model", "xscreen_s", "--batch", "4", "--epochs", "1", "--init", str(bundle),
                 "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert "its weights (xscreen_tiny) do not fit xscreen_s" in err
    assert "leave out --model" in err and ("Missing key" in err or "size mismatch" in err)
    # a model named in the YAML file is the user's choice too: refused, not silently replaced
    (tmp_path / "s.yaml").write_text(config.read_text() + "model: xscreen_s\n")
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "yaml"),
                 "--batch", "4", "--epochs", "1", "--init", str(bundle),
                 "--config", str(tmp_path / "s.yaml")]) != 0
    assert "its weights (xscreen_tiny) do not fit xscreen_s" in capsys.readouterr().err


def test_dynamo_exporter(trained_run: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """The dynamo exporter either works or fails with a clear message (it needs onnxscript)."""
    code = main(["export", str(trained_run), "--out", str(tmp_path / "d"), "--dynamo"])
    if code != 0:
        assert "dynamo exporter" in capsys.readouterr().err
    else:
        assert load_bundle(tmp_path / "d").card.input_size == 128


@pytest.mark.parametrize(("make_run", "message"), [
    (lambda tmp: tmp / "absent", "does not exist"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "best.pt is missing"),
])
def test_bad_runs_are_refused(tmp_path: Path, make_run: object, message: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path)  # type: ignore[operator]
    assert main(["export", str(run), "--out", str(tmp_path / "b")]) != 0
    assert message in capsys.readouterr().err


def test_existing_bundle_folder_is_not_overwritten(trained_run: Path, bundle: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = json.loads((bundle / "model.json").read_text())
    assert main(["export", str(trained_run), "--out", str(bundle)]) != 0
    assert "not empty" in capsys.readouterr().err
    assert json.loads((bundle / "model.json").read_text()) == before
